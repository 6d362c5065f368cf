package slack

import (
	"context"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// gates hold one gate per channel, created on first use.
type gates struct {
	limit rate.Limit
	burst int

	mu    sync.Mutex
	gates map[string]*gate
}

func newGates(perSecond float64, burst int) *gates {
	return &gates{limit: rate.Limit(perSecond), burst: burst, gates: map[string]*gate{}}
}

func (g *gates) get(channel string) *gate {
	g.mu.Lock()
	defer g.mu.Unlock()
	gt, ok := g.gates[channel]
	if !ok {
		gt = &gate{lim: rate.NewLimiter(g.limit, g.burst)}
		g.gates[channel] = gt
	}
	return gt
}

// gate paces the messages to one channel: a token bucket, and a pause after a 429 during which
// nothing is sent to it.
type gate struct {
	lim *rate.Limiter

	mu          sync.Mutex
	pausedUntil time.Time
}

// wait blocks until a message may be sent, or ctx is done. A pause that began while it waited
// for a token is waited out too.
func (g *gate) wait(ctx context.Context) error {
	for {
		if err := g.waitPause(ctx); err != nil {
			return err
		}
		if err := g.lim.Wait(ctx); err != nil {
			return err
		}
		if g.pausedFor() <= 0 {
			return nil
		}
	}
}

func (g *gate) waitPause(ctx context.Context) error {
	for d := g.pausedFor(); d > 0; d = g.pausedFor() {
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return context.Cause(ctx)
		case <-t.C:
		}
	}
	return nil
}

func (g *gate) pausedFor() time.Duration {
	g.mu.Lock()
	defer g.mu.Unlock()
	return time.Until(g.pausedUntil)
}

// pause keeps every message away from the channel for d.
func (g *gate) pause(d time.Duration) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if until := time.Now().Add(d); until.After(g.pausedUntil) {
		g.pausedUntil = until
	}
}
