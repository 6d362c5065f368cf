package slack

import (
	"context"
	"errors"
	"testing"
	"time"
)

// Turns of a lane run one at a time by stream sequence, whatever order they were taken in once
// the first started; a turn given up before it started leaves the lane; after stop, no turn
// starts; lanes of different channels do not wait for each other.
func TestLanes(t *testing.T) {
	ls := newLanes()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	stop, stopNow := context.WithCancelCause(ctx)
	defer stopNow(nil)

	first := ls.enqueue("#a", 5)
	t9, t7, t8 := ls.enqueue("#a", 9), ls.enqueue("#a", 7), ls.enqueue("#a", 8)
	other := ls.enqueue("#b", 10)
	started := func(tr *turn) bool {
		select {
		case <-tr.ready:
			return true
		default:
			return false
		}
	}
	if !started(first) || !started(other) {
		t.Fatalf("the first turn of each lane: started %v and %v, want both", started(first), started(other))
	}
	if started(t7) || started(t8) || started(t9) {
		t.Fatal("a second turn started while the first runs")
	}
	ls.done(first)
	if !started(t7) || started(t8) || started(t9) {
		t.Fatalf("after seq 5: started 7 %v, 8 %v, 9 %v; want 7 alone", started(t7), started(t8), started(t9))
	}
	ls.done(t8) // given up before it started
	ls.done(t7)
	if !started(t9) {
		t.Fatal("seq 9 did not start after 7, with 8 given up")
	}
	late := ls.enqueue("#a", 11)
	stopNow(errors.New("stopping"))
	ls.done(t9)
	if err := ls.wait(stop, ctx, late); err == nil {
		t.Error("wait after stop: got nil, want the stop's cause")
	}
	ls.done(late)
	ls.done(other)
	if len(ls.lanes) != 0 {
		t.Errorf("lanes left: got %d, want 0", len(ls.lanes))
	}
}
