package watcher

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.uber.org/zap"
)

var (
	errShuttingDown    = errors.New("watcher: shutting down")
	errShutdownTimeout = errors.New("watcher: shutdown timeout: poll abandoned")
)

// Run schedules and runs polls until ctx is done, then shuts down in order: it stops the
// schedule and waits for ticks in flight, stops taking jobs, and waits up to ShutdownTimeout for
// the polls in flight, cancelling them when it runs out. It returns nil after such a stop, and
// an error when the JobQueue stops consuming on its own or the shutdown could not finish. Run
// may be called once.
func (w *Watcher) Run(ctx context.Context) error {
	if !w.ran.CompareAndSwap(false, true) {
		return ErrRunning
	}
	defer w.fetcher.close()

	// The stories replay the archive's window before polls need them: a poll waits for the
	// stories of its new items, up to storyWait, so they stop only after the polls in flight.
	storiesCtx, stopStories := context.WithCancel(context.WithoutCancel(ctx))
	storied := make(chan struct{})
	go func() {
		defer close(storied)
		if w.stories != nil {
			w.stories.run(storiesCtx)
		}
	}()
	defer func() {
		stopStories()
		<-storied
	}()
	if w.stories != nil {
		w.stories.awaitReady(ctx, storyCatchUp)
	}

	// Polls outlive ctx by up to ShutdownTimeout, so they hang off a context of their own.
	pollCtx, abandon := context.WithCancelCause(context.WithoutCancel(ctx))
	defer abandon(errShuttingDown)
	consumeCtx, stopConsuming := context.WithCancel(context.WithoutCancel(ctx))
	defer stopConsuming()
	consumed := make(chan error, 1)
	go func() {
		consumed <- w.jobs.Consume(consumeCtx, w.workers, func(jctx context.Context, feedID string, slot time.Time) error {
			return w.pollUntilAbandoned(jctx, pollCtx, feedID, slot)
		})
	}()

	schedCtx, stopScheduling := context.WithCancel(ctx)
	defer stopScheduling()
	backfilled := make(chan struct{})
	go func() {
		defer close(backfilled)
		w.backfills(schedCtx)
	}()
	// A backfill stops with the schedule and is taken up again at the next start.
	defer func() {
		stopScheduling()
		<-backfilled
	}()
	s := newScheduler(w)
	s.start()
	s.apply(schedCtx, w.plan.Load())

	summaries := time.NewTicker(w.summaryInterval)
	defer summaries.Stop()
	var runErr error
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case <-summaries.C:
			w.logSummary(w.summaryInterval)
		case <-w.updated:
			s.apply(schedCtx, w.plan.Load())
		case err := <-consumed:
			consumed = nil
			if err == nil {
				err = errors.New("returned before it was stopped")
			}
			runErr = fmt.Errorf("watcher: job queue: %w", err)
			break loop
		}
	}
	stopScheduling()
	return errors.Join(runErr, w.shutdown(s, stopConsuming, abandon, consumed))
}

// LastTick is when the schedule last fired its heartbeat, once a second while Run runs; zero
// before Run. A LastTick far in the past means the schedule is stuck and polls are not being
// enqueued, which a liveness probe or a watchdog should report.
func (w *Watcher) LastTick() time.Time {
	n := w.lastTick.Load()
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n)
}

// shutdown runs the steps of Run's stop after the ticks' context is done. consumed is nil when
// the consumer has returned already.
func (w *Watcher) shutdown(s *scheduler, stopConsuming context.CancelFunc, abandon context.CancelCauseFunc, consumed <-chan error) error {
	bound := time.NewTimer(w.shutdownTimeout)
	defer bound.Stop()
	select {
	case <-s.cron.Stop().Done():
	case <-bound.C:
		return fmt.Errorf("watcher: schedule ticks still running after %s", w.shutdownTimeout)
	}

	stopConsuming()
	if consumed == nil {
		return nil
	}
	select {
	case err := <-consumed:
		return consumeError(err)
	case <-bound.C:
	}
	w.log.Warn("abandoning polls in flight", zap.Duration("shutdown_timeout", w.shutdownTimeout))
	abandon(errShutdownTimeout)
	grace := time.NewTimer(w.shutdownTimeout)
	defer grace.Stop()
	select {
	case err := <-consumed:
		return consumeError(err)
	case <-grace.C:
		return fmt.Errorf("watcher: job queue did not stop within %s after its polls were cancelled", w.shutdownTimeout)
	}
}

// consumeError is the consumer's error at a requested stop; cancellation is no error then.
func consumeError(err error) error {
	if err == nil || errors.Is(err, context.Canceled) {
		return nil
	}
	return fmt.Errorf("watcher: job queue: %w", err)
}

// pollUntilAbandoned runs Poll with jctx's values but not its cancellation, which the JobQueue
// may tie to its own stop: a poll in flight is cancelled only when Run abandons it.
func (w *Watcher) pollUntilAbandoned(jctx, pollCtx context.Context, feedID string, slot time.Time) error {
	ctx, cancel := context.WithCancelCause(context.WithoutCancel(jctx))
	defer cancel(nil)
	stop := context.AfterFunc(pollCtx, func() { cancel(context.Cause(pollCtx)) })
	defer stop()
	return w.Poll(ctx, feedID, slot)
}
