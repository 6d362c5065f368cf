package slack

import (
	"context"
	"slices"
	"sync"
)

// lanes keep each channel's messages in stream order. Every delivery to a channel takes a turn
// in the channel's lane when its alert is received, in the order the consumer hands alerts out;
// the turns that wait are kept by stream sequence (an alert delivered again takes its place
// among them), and one turn of a lane runs at a time. Lanes of different channels do not wait
// for each other.
type lanes struct {
	mu    sync.Mutex
	lanes map[string]*lane
}

type lane struct {
	running bool
	waiting []*turn // by stream sequence
}

// turn is one delivery's place in its channel's lane.
type turn struct {
	channel string
	seq     uint64
	ready   chan struct{} // closed when the turn starts
}

func newLanes() *lanes { return &lanes{lanes: map[string]*lane{}} }

// enqueue takes a turn in channel's lane for the alert at stream sequence seq.
func (ls *lanes) enqueue(channel string, seq uint64) *turn {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	l, ok := ls.lanes[channel]
	if !ok {
		l = &lane{}
		ls.lanes[channel] = l
	}
	t := &turn{channel: channel, seq: seq, ready: make(chan struct{})}
	i := slices.IndexFunc(l.waiting, func(w *turn) bool { return w.seq > seq })
	if i < 0 {
		i = len(l.waiting)
	}
	l.waiting = slices.Insert(l.waiting, i, t)
	ls.next(channel, l)
	return t
}

// wait blocks until t's turn starts, or stop or ctx is done. A turn that started after stop is
// not taken: no message begins once the bridge stops. done must follow, whatever wait returns.
func (ls *lanes) wait(stop, ctx context.Context, t *turn) error {
	select {
	case <-t.ready:
	case <-stop.Done():
		return context.Cause(stop)
	case <-ctx.Done():
		return context.Cause(ctx)
	}
	if stop.Err() != nil {
		return context.Cause(stop)
	}
	return nil
}

// done ends t's turn and starts the next, or takes t out of the lane if it did not start.
func (ls *lanes) done(t *turn) {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	l := ls.lanes[t.channel]
	select {
	case <-t.ready:
		l.running = false
	default:
		l.waiting = slices.DeleteFunc(l.waiting, func(w *turn) bool { return w == t })
	}
	ls.next(t.channel, l)
}

// next starts the first waiting turn of an idle lane, and forgets an idle lane with none.
func (ls *lanes) next(channel string, l *lane) {
	if l.running {
		return
	}
	if len(l.waiting) == 0 {
		delete(ls.lanes, channel)
		return
	}
	t := l.waiting[0]
	l.waiting = l.waiting[1:]
	l.running = true
	close(t.ready)
}
