package delivery

import (
	"encoding/json"
	"fmt"
	"reflect"
	"testing"
	"time"
)

var t0 = time.Date(2026, 3, 12, 9, 0, 0, 0, time.UTC)

func at(d time.Duration) time.Time { return t0.Add(d) }

func ev(id, story, pub string, t time.Time) Event {
	return Event{ID: id, Story: story, Title: "title of " + story, Link: "https://example.org/" + id, Publisher: pub, Time: t}
}

func newPolicy(t *testing.T, o Options) *Policy {
	t.Helper()
	o.Spike.Off = true // these tests look at delivery alone
	p, err := New("kursk", o)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// roundTrip stores and loads the state as the caller's KV bucket would.
func roundTrip(t *testing.T, st *State) *State {
	t.Helper()
	b, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	var out State
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("unmarshal %s: %v", b, err)
	}
	return &out
}

func TestImmediate(t *testing.T) {
	p := newPolicy(t, Options{})
	st := &State{}
	for i := range 5 {
		d := p.Decide(st, ev(fmt.Sprint("a", i), "s", "pub", at(time.Duration(i)*time.Minute)))
		if d.Action != Deliver {
			t.Fatalf("event %d: got %s, want deliver", i, d.Action)
		}
	}
	if d := p.Decide(st, ev("a3", "s", "pub", at(3*time.Minute))); d.Action != Duplicate {
		t.Errorf("replayed event: got %s, want duplicate", d.Action)
	}
	if got := p.Due(st, at(48*time.Hour)); len(got) != 0 {
		t.Errorf("immediate mode: got digests %+v, want none", got)
	}
}

// TestDigestPerPeriod: one digest per period with exactly its stories; a period without events
// has no digest.
func TestDigestPerPeriod(t *testing.T) {
	p := newPolicy(t, Options{Mode: ModeDigest, Every: time.Hour})
	st := &State{}
	events := []Event{
		ev("a1", "s1", "reuters", at(5*time.Minute)),
		ev("a2", "s1", "bbc", at(6*time.Minute)),
		ev("a3", "s1", "bbc", at(7*time.Minute)), // a second item of bbc: one source more? no
		ev("a4", "s2", "afp", at(59*time.Minute+59*time.Second)),
		ev("a5", "s3", "afp", at(time.Hour)), // the next period
		// nothing from 10:00 to 12:00 but a5; then 12:xx
		ev("a6", "s1", "dw", at(3*time.Hour+time.Minute)),
	}
	wantPeriod := []string{"20260312T090000Z", "20260312T090000Z", "20260312T090000Z", "20260312T090000Z", "20260312T100000Z", "20260312T120000Z"}
	for i, e := range events {
		d := p.Decide(st, e)
		if d.Action != Hold || d.Period.ID != wantPeriod[i] {
			t.Fatalf("event %s: got %s %s, want hold %s", e.ID, d.Action, d.Period.ID, wantPeriod[i])
		}
		st = roundTrip(t, st)
	}
	if got := p.Due(st, at(59*time.Minute)); len(got) != 0 {
		t.Fatalf("before the end of the first period: got %d digests, want none", len(got))
	}
	got := p.Due(st, at(4*time.Hour))
	if len(got) != 3 {
		t.Fatalf("got %d digests, want 3 (09h, 10h, 12h; 11h was empty): %+v", len(got), got)
	}
	first := got[0]
	want := Digest{
		ID: "kursk.20260312T090000Z", Rule: "kursk", Kind: KindDigest,
		Period: Period{ID: "20260312T090000Z", Start: t0, End: at(time.Hour)},
		Items:  4,
		Stories: []DigestStory{
			{ID: "s1", Title: "title of s1", Link: "https://example.org/a1", Sources: 2, Items: 3, FirstSeen: at(5 * time.Minute)},
			{ID: "s2", Title: "title of s2", Link: "https://example.org/a4", Sources: 1, Items: 1, FirstSeen: at(59*time.Minute + 59*time.Second)},
		},
	}
	if !reflect.DeepEqual(first, want) {
		t.Errorf("first digest:\n got %+v\nwant %+v", first, want)
	}
	if got[1].ID != "kursk.20260312T100000Z" || len(got[1].Stories) != 1 || got[1].Stories[0].ID != "s3" {
		t.Errorf("second digest: got %+v", got[1])
	}
	if got[2].ID != "kursk.20260312T120000Z" || len(got[2].Stories) != 1 || got[2].Stories[0].ID != "s1" {
		t.Errorf("third digest: got %+v", got[2])
	}
	for _, d := range got {
		if !p.Done(st, d.ID) {
			t.Errorf("Done(%s): not held", d.ID)
		}
	}
	if got := p.Due(st, at(10*time.Hour)); len(got) != 0 {
		t.Errorf("after Done: got %d digests, want none", len(got))
	}
	if len(st.Digests) != 0 {
		t.Errorf("state still holds %d digests", len(st.Digests))
	}
}

// TestReplayIsIdempotent: the caller may crash between publishing and committing, and replay
// events and Due on the old state; nothing is published twice with different ids or contents.
func TestReplayIsIdempotent(t *testing.T) {
	for _, mode := range []Options{
		{Mode: ModeDigest, Every: time.Hour},
		{Mode: ModeBudget, Max: 2},
		{Mode: ModeImmediate},
	} {
		t.Run(string(mode.Mode), func(t *testing.T) {
			p, err := New("kursk", mode) // spikes on: their decisions must replay too
			if err != nil {
				t.Fatal(err)
			}
			var events []Event
			for i := range 40 {
				events = append(events, ev(fmt.Sprint("a", i), fmt.Sprint("s", i%9), fmt.Sprint("p", i%5), at(time.Duration(i)*4*time.Minute)))
			}
			committed := &State{}
			var published []string
			for i, e := range events {
				// A first attempt that crashes after publishing, before its commit.
				crashed := committed.Clone()
				d1 := p.Decide(crashed, e)
				// The replay on the committed state decides the same.
				d2 := p.Decide(committed, e)
				if !reflect.DeepEqual(d1, d2) {
					t.Fatalf("event %d: replay decided %+v, first attempt %+v", i, d2, d1)
				}
				if d := p.Decide(committed, e); d.Action != Duplicate {
					t.Fatalf("event %d fed twice: got %s, want duplicate", i, d.Action)
				}
				if d1.Notice != nil {
					published = append(published, d1.Notice.ID)
				}
				committed = roundTrip(t, committed)
			}
			// Due, crash before Done: the same digests again, then Done forgets them.
			now := at(5 * time.Hour)
			a := p.Due(committed, now)
			committed = roundTrip(t, committed)
			b := p.Due(committed, now)
			if !reflect.DeepEqual(a, b) {
				t.Fatalf("Due after a crash:\n got %+v\nwant %+v", b, a)
			}
			for _, d := range a {
				published = append(published, d.ID)
				p.Done(committed, d.ID)
			}
			// Every event fed again, after the digests: all duplicates, nothing new to publish.
			for _, e := range events {
				if d := p.Decide(committed, e); d.Action != Duplicate {
					t.Fatalf("event %s replayed after its digest: got %s, want duplicate", e.ID, d.Action)
				}
			}
			if got := p.Due(committed, now.Add(24*time.Hour)); len(got) != 0 {
				t.Errorf("after replaying everything: got %d digests, want none", len(got))
			}
			seen := map[string]bool{}
			for _, id := range published {
				if seen[id] {
					t.Errorf("published %s twice", id)
				}
				seen[id] = true
			}
		})
	}
}

// TestFrozenDigestNeverChanges: an event decided after Due froze its period joins the next
// period, so the frozen digest (perhaps published already) stays as it was.
func TestFrozenDigestNeverChanges(t *testing.T) {
	p := newPolicy(t, Options{Mode: ModeDigest, Every: time.Hour})
	st := &State{}
	p.Decide(st, ev("a1", "s1", "reuters", at(10*time.Minute)))
	frozen := p.Due(st, at(time.Hour+time.Second))
	if len(frozen) != 1 {
		t.Fatalf("got %d digests, want 1", len(frozen))
	}
	// A late alert of 09:59, decided by a slow replica after the freeze was committed.
	d := p.Decide(st, ev("a2", "s2", "bbc", at(59*time.Minute)))
	if d.Action != Hold || d.Period.ID != "20260312T100000Z" {
		t.Fatalf("late event: got %s %s, want hold 20260312T100000Z", d.Action, d.Period.ID)
	}
	again := p.Due(st, at(time.Hour+2*time.Second))
	if !reflect.DeepEqual(again, frozen) {
		t.Fatalf("frozen digest changed:\n got %+v\nwant %+v", again, frozen)
	}
	p.Done(st, frozen[0].ID)
	next := p.Due(st, at(2*time.Hour))
	if len(next) != 1 || next[0].Stories[0].ID != "s2" {
		t.Fatalf("next period: got %+v, want the late story s2", next)
	}
}

// TestBudget: at most Max alerts an hour at once; past it, one notice and the rest in the hour's
// digest; the next hour delivers at once again.
func TestBudget(t *testing.T) {
	p := newPolicy(t, Options{Mode: ModeBudget, Max: 3})
	st := &State{}
	type step struct {
		at     time.Duration
		action Action
		notice bool
		sent   int // the place of a delivered alert in its window
	}
	steps := []step{
		{1 * time.Minute, Deliver, false, 1},
		{2 * time.Minute, Deliver, false, 2},
		{3 * time.Minute, Deliver, false, 3},
		{4 * time.Minute, Hold, true, 0},
		{5 * time.Minute, Hold, false, 0},
		{59 * time.Minute, Hold, false, 0},
		{61 * time.Minute, Deliver, false, 1}, // back to immediate in the next hour
		{62 * time.Minute, Deliver, false, 2},
		{63 * time.Minute, Deliver, false, 3},
		{64 * time.Minute, Hold, true, 0}, // one notice an hour
		{200 * time.Minute, Deliver, false, 1},
	}
	var notices []Notice
	for i, s := range steps {
		d := p.Decide(st, ev(fmt.Sprint("a", i), fmt.Sprint("s", i), "pub", at(s.at)))
		if d.Action != s.action || (d.Notice != nil) != s.notice {
			t.Fatalf("step %d at +%s: got %s notice=%v, want %s notice=%v", i, s.at, d.Action, d.Notice != nil, s.action, s.notice)
		}
		if d.Action == Deliver {
			if w := at(s.at).Truncate(time.Hour); d.Sent != s.sent || !d.Period.Start.Equal(w) || !d.Period.End.Equal(w.Add(time.Hour)) {
				t.Errorf("step %d at +%s: delivered as %d of window %s–%s, want %d of %s–%s", i, s.at, d.Sent, d.Period.Start, d.Period.End, s.sent, w, w.Add(time.Hour))
			}
		}
		if d.Notice != nil {
			notices = append(notices, *d.Notice)
		}
		st = roundTrip(t, st)
	}
	if notices[0].ID != "kursk.budget.20260312T090000Z" || notices[1].ID != "kursk.budget.20260312T100000Z" || notices[0].Max != 3 {
		t.Errorf("notices: got %+v", notices)
	}
	got := p.Due(st, at(5*time.Hour))
	if len(got) != 2 {
		t.Fatalf("got %d digests, want 2", len(got))
	}
	if got[0].Kind != KindBudget || got[0].ID != "kursk.20260312T090000Z" || got[0].Items != 3 {
		t.Errorf("first budget digest: got %+v, want the 3 held alerts of 09h", got[0])
	}
	if got[1].Items != 1 || got[1].Stories[0].ID != "s9" {
		t.Errorf("second budget digest: got %+v, want s9", got[1])
	}
}

func TestDigestCapsStories(t *testing.T) {
	p := newPolicy(t, Options{Mode: ModeDigest, Every: time.Hour, MaxStories: 2})
	st := &State{}
	for i := range 5 {
		p.Decide(st, ev(fmt.Sprint("a", i), fmt.Sprint("s", i), "pub", at(time.Duration(i)*time.Minute)))
	}
	p.Decide(st, ev("a9", "s0", "other", at(10*time.Minute)))
	got := p.Due(st, at(time.Hour))
	if len(got) != 1 || len(got[0].Stories) != 2 || got[0].Items != 6 || got[0].MoreItems != 3 {
		t.Fatalf("got %+v, want 2 stories listed, 6 items, 3 more", got)
	}
	if got[0].Stories[0].ID != "s0" || got[0].Stories[0].Sources != 2 {
		t.Errorf("most covered story first: got %+v", got[0].Stories[0])
	}
}

// TestStateBounded: a rule that matches all day for weeks keeps a state of bounded size.
func TestStateBounded(t *testing.T) {
	p, err := New("busy", Options{Mode: ModeDigest, Cron: "0 8 * * *", TimeZone: "Europe/Paris"})
	if err != nil {
		t.Fatal(err)
	}
	st := &State{}
	var maxSize int
	for i := range 12000 { // an alert every three minutes for 25 days, a new story every 3 alerts
		e := ev(fmt.Sprint("a", i), fmt.Sprint("s", i/3), fmt.Sprint("p", i%40), at(time.Duration(i)*3*time.Minute))
		p.Decide(st, e)
		for _, d := range p.Due(st, e.Time) {
			p.Done(st, d.ID)
		}
		if i%500 == 0 {
			b, _ := json.Marshal(st)
			maxSize = max(maxSize, len(b))
		}
	}
	if maxSize > 256<<10 {
		t.Errorf("state grew to %d bytes, want at most 256 KiB", maxSize)
	}
	t.Logf("largest state: %d bytes", maxSize)
}
