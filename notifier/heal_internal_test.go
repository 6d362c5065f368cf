package notifier

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

func TestMayBeMissing(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"stream not found", fmt.Errorf("stream X: %w", jetstream.ErrStreamNotFound), true},
		{"bucket not found", jetstream.ErrBucketNotFound, true},
		{"no response from stream", fmt.Errorf("enqueue: %w", jetstream.ErrNoStreamResponse), true},
		{"no responders", fmt.Errorf("load: %w", nats.ErrNoResponders), true},
		{"timeout", context.DeadlineExceeded, false},
		{"consumer not found", jetstream.ErrConsumerNotFound, false},
		{"stale revision", jetstream.ErrKeyExists, false},
		{"reconnecting", nats.ErrConnectionReconnecting, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := mayBeMissing(tt.err); got != tt.want {
				t.Errorf("mayBeMissing(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}

// TestHealLeavesExistingResourcesAlone: a failure that may mean a missing resource, while the
// resource is there (a server starting, a leader moving), re-creates nothing and logs nothing;
// a failure of another kind does not even look.
func TestHealLeavesExistingResourcesAlone(t *testing.T) {
	core, logs := observer.New(zap.DebugLevel)
	cfg := Config{
		Embedded:        EmbeddedConfig{StoreDir: t.TempDir()},
		SubjectPrefix:   "newswatch",
		AlertStream:     "NEWSWATCH_ALERTS",
		DuplicateWindow: time.Minute,
		Name:            "newswatch-test",
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	n, err := Open(ctx, cfg, zap.New(core))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer n.Close(context.Background())
	for _, r := range resources(n.store.cfg) {
		before, err := n.js.Stream(ctx, n.store.stream(r))
		if err != nil {
			t.Fatalf("%s: %v", n.store.describe(r), err)
		}
		if !n.store.heal(ctx, r, nats.ErrNoResponders) {
			t.Errorf("heal(%s, no responders) with the resource there: got false, want true", n.store.describe(r))
		}
		if n.store.heal(ctx, r, errors.New("something else")) {
			t.Errorf("heal(%s, another error): got true, want false", n.store.describe(r))
		}
		after, err := n.js.Stream(ctx, n.store.stream(r))
		if err != nil {
			t.Fatalf("%s: %v", n.store.describe(r), err)
		}
		if !after.CachedInfo().Created.Equal(before.CachedInfo().Created) {
			t.Errorf("%s re-created, want it left alone", n.store.describe(r))
		}
	}
	if c := logs.FilterLevelExact(zap.ErrorLevel).Len(); c != 0 {
		t.Errorf("%d error-level lines, want none: %v", c, logs.FilterLevelExact(zap.ErrorLevel).All())
	}
}
