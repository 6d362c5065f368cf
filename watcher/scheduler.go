package watcher

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/robfig/cron/v3"
	"go.uber.org/zap"
)

// scheduler keeps one cron entry per group of feeds that fire at the same instants, and turns
// each tick into poll jobs. Only Run's goroutine calls apply; ticks run on cron's goroutines
// and read the current plan.
type scheduler struct {
	w       *Watcher
	cron    *cron.Cron
	entries map[string]cron.EntryID // by group key
	applied *plan
	ticking sync.Map // group key -> the slot its tick in flight enqueues
}

func newScheduler(w *Watcher) *scheduler {
	return &scheduler{
		w:       w,
		cron:    cron.New(cron.WithLocation(w.loc), cron.WithLogger(cronLogger{w.log})),
		entries: make(map[string]cron.EntryID),
	}
}

// heartbeat is how often the schedule records that it runs; see Watcher.LastTick.
const heartbeat = time.Second

// start starts the cron loop with a heartbeat entry of its own, so that a schedule that stops
// firing shows in LastTick.
func (s *scheduler) start() {
	s.w.lastTick.Store(time.Now().UnixNano())
	s.cron.Schedule(cron.Every(heartbeat), cron.FuncJob(func() { s.w.lastTick.Store(time.Now().UnixNano()) }))
	s.cron.Start()
}

// apply makes the cron entries those of p, and enqueues the most recent past slot of every feed
// that is new to the schedule (all of them at start) or changed its schedule, so that it is
// polled at once rather than at its next slot. Enqueueing a slot polled already costs nothing:
// the queue de-duplicates it and the poll acknowledges it without work.
func (s *scheduler) apply(ctx context.Context, p *plan) {
	for key, id := range s.entries {
		if _, ok := p.groups[key]; !ok {
			s.cron.Remove(id)
			delete(s.entries, key)
		}
	}
	for key, g := range p.groups {
		if _, ok := s.entries[key]; !ok {
			s.entries[key] = s.cron.Schedule(g.sched, cron.FuncJob(func() { s.tick(ctx, key) }))
		}
	}
	now := time.Now()
	var jobs []pollJob
	for _, id := range p.order {
		f := p.feeds[id]
		if s.applied != nil {
			if old := s.applied.feeds[id]; old != nil && old.group.key == f.group.key {
				continue
			}
		}
		if slot := f.group.sched.Prev(now); !slot.IsZero() {
			jobs = append(jobs, pollJob{feedID: id, slot: slot})
		}
	}
	// In slot order, as the ticks will: the first polls then write the feeds' states in the
	// order later polls read them, which keeps the state store's reads sequential.
	slices.SortStableFunc(jobs, func(a, b pollJob) int { return a.slot.Compare(b.slot) })
	s.applied = p
	s.enqueue(ctx, jobs)
}

// tick enqueues the feeds of a group for the slot that fired: the latest activation of the
// group's schedule, which is the same instant on every replica. A tick that finds the group's
// previous tick still enqueueing (the queue does not answer: no stream leader, say) does
// nothing, so that ticks do not pile up while the queue is away and flood it when it is back;
// the tick in flight stands for them.
func (s *scheduler) tick(ctx context.Context, key string) {
	g := s.w.plan.Load().groups[key]
	if g == nil {
		return // removed by an Update that apply has not seen yet
	}
	slot := g.sched.Prev(time.Now())
	if prev, busy := s.ticking.LoadOrStore(key, slot); busy {
		s.w.log.Debug("tick skipped: the previous one is still enqueueing", zap.String("group", key),
			zap.Time("slot", slot), zap.Time("enqueueing", prev.(time.Time)))
		return
	}
	defer s.ticking.Delete(key)
	jobs := make([]pollJob, len(g.feeds))
	for i, id := range g.feeds {
		jobs[i] = pollJob{feedID: id, slot: slot}
	}
	s.enqueue(ctx, jobs)
}

type pollJob struct {
	feedID string
	slot   time.Time
}

// enqueue submits jobs and logs their failures once, as one line, since they usually share a
// cause (the queue is unreachable). A missed job is not retried: the feed's next slot polls it.
func (s *scheduler) enqueue(ctx context.Context, jobs []pollJob) {
	var failed int
	var first error
	var firstJob pollJob
	for _, j := range jobs {
		if ctx.Err() != nil {
			return
		}
		if err := s.w.jobs.Enqueue(ctx, j.feedID, j.slot); err != nil {
			if failed == 0 {
				first, firstJob = err, j
			}
			failed++
		}
	}
	if failed > 0 && ctx.Err() == nil {
		s.w.log.Warn("enqueue poll jobs failed",
			zap.Int("failed", failed), zap.Int("jobs", len(jobs)),
			zap.String("feed", firstJob.feedID), zap.Time("slot", firstJob.slot), zap.Error(first))
	}
}

// cronLogger routes robfig/cron's errors to zap and drops its chatter: it logs every wake-up,
// once a second for the heartbeat, and the polls' own lines say what the schedule did.
type cronLogger struct{ log *zap.Logger }

func (cronLogger) Info(string, ...any) {}

func (l cronLogger) Error(err error, msg string, kv ...any) {
	l.log.Error("cron: "+msg, zap.Error(err), zap.Any("details", kv))
}

// maxClockSkew is how far ahead of this replica's clock another replica's may run: a job
// for a slot up to this much beyond the feed's next activation is still its schedule's.
const maxClockSkew = time.Minute

// slotLimit is the latest slot a job for f may have at now: the feed's next activation after
// now (within one interval of now; an auto feed's slots come every AutoMin), plus
// maxClockSkew. The schedule never enqueues a later one.
func slotLimit(f *feedPlan, now time.Time) time.Time {
	next := f.group.sched.Next(now)
	if next.IsZero() || next.Before(now) {
		next = now // a cron expression that never fires again
	}
	return next.Add(maxClockSkew)
}
