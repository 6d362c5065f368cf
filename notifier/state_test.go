package notifier_test

import (
	"context"
	"errors"
	"testing"

	"github.com/newswatch/newswatch/event"
	"github.com/newswatch/newswatch/notifier"
	"github.com/newswatch/newswatch/notifier/notifiertest"
)

func TestStateStoreCompareAndSwap(t *testing.T) {
	n := notifiertest.Open(t, notifiertest.Config(t))
	ctx := testContext(t)
	st := n.State()

	data, rev, err := st.Load(ctx, "world")
	if data != nil || rev != 0 || err != nil {
		t.Fatalf("Load of a new feed: got %q, %d, %v, want nil, 0, nil", data, rev, err)
	}
	r1, err := st.Save(ctx, "world", []byte("v1"), 0)
	if err != nil || r1 == 0 {
		t.Fatalf("Save new: got %d, %v, want a revision", r1, err)
	}

	steps := []struct {
		name     string
		data     string
		revision uint64
		conflict bool
	}{
		{name: "create again", data: "other", revision: 0, conflict: true},
		{name: "update at current revision", data: "v2", revision: r1},
		{name: "update at stale revision", data: "stale", revision: r1, conflict: true},
		{name: "update at future revision", data: "future", revision: r1 + 100, conflict: true},
	}
	want, wantRev := "v1", r1
	for _, s := range steps {
		rev, err := st.Save(ctx, "world", []byte(s.data), s.revision)
		switch {
		case s.conflict && !errors.Is(err, notifier.ErrConflict):
			t.Errorf("%s: Save: got %d, %v, want ErrConflict", s.name, rev, err)
		case !s.conflict && err != nil:
			t.Errorf("%s: Save: %v", s.name, err)
		case !s.conflict:
			if rev <= wantRev {
				t.Errorf("%s: Save: got revision %d, want one above %d", s.name, rev, wantRev)
			}
			want, wantRev = s.data, rev
		}
		data, rev, err := st.Load(ctx, "world")
		if err != nil || string(data) != want || rev != wantRev {
			t.Errorf("%s: Load: got %q, %d, %v, want %q, %d, nil", s.name, data, rev, err, want, wantRev)
		}
	}

	// Feeds are independent keys.
	if rev, err := st.Save(ctx, "bbc", []byte("b1"), 0); err != nil || rev == 0 {
		t.Errorf("Save other feed: got %d, %v, want a revision", rev, err)
	}
	for _, bad := range []string{"", "a.b", "a*", "a b"} {
		if _, err := st.Save(ctx, bad, []byte("x"), 0); err == nil {
			t.Errorf("Save(%q): got nil error, want one", bad)
		}
		if _, _, err := st.Load(ctx, bad); err == nil {
			t.Errorf("Load(%q): got nil error, want one", bad)
		}
	}
}

func TestStateAndAlertsSurviveReopen(t *testing.T) {
	cfg := notifiertest.Config(t)
	ctx := testContext(t)
	log := testLogger(t)

	n, err := notifier.Open(ctx, cfg, log)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	rev, err := n.State().Save(ctx, "world", []byte("seen: a b c"), 0)
	if err != nil {
		t.Fatalf("Save: %v", err)
	}
	if err := n.Alerts().Publish(ctx, []event.Alert{sampleAlert()}); err != nil {
		t.Fatalf("Publish: %v", err)
	}
	if err := n.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}

	n2 := notifiertest.Open(t, cfg)
	data, gotRev, err := n2.State().Load(ctx, "world")
	if err != nil || string(data) != "seen: a b c" || gotRev != rev {
		t.Errorf("Load after reopen: got %q, %d, %v, want %q, %d, nil", data, gotRev, err, "seen: a b c", rev)
	}
	// The de-duplication window outlives the restart: nothing is alerted twice.
	if err := n2.Alerts().Publish(ctx, []event.Alert{sampleAlert()}); err != nil {
		t.Fatalf("Publish after reopen: %v", err)
	}
	if got := streamMsgs(t, n2, "NEWSWATCH_ALERTS"); got != 1 {
		t.Errorf("stream holds %d alerts after reopen, want 1", got)
	}
	if _, err := n2.State().Save(context.Background(), "world", []byte("x"), rev+1); !errors.Is(err, notifier.ErrConflict) {
		t.Errorf("Save at a wrong revision after reopen: got %v, want ErrConflict", err)
	}
}
