package notifier

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/newswatch/newswatch/event"
)

// archiveChunk is how many messages are decoded by one worker at a time, and the size of the
// consumer's pull requests.
const archiveChunk = 512

// archiveIdle is how long a read waits for a message it counted as pending before it takes the
// archive's end as reached: the stream's limits may remove messages while they are read.
const archiveIdle = 10 * time.Second

// ReadArchive reads the archived items that q selects, oldest first, a chunk at a time, until
// the archive's end as the read began, an error of work's, or ctx is done. The items are read
// through an ordered consumer that starts at q.From. Each chunk is decoded and passed to work
// on one of as many goroutines as there are CPUs, chunks side by side; the function work
// returns is then called on the calling goroutine, in the archive's order, and its error ends
// the read. So work does what may run in parallel (matching), and what it returns what must run
// in order (printing, publishing).
func (n *Notifier) ReadArchive(ctx context.Context, q event.ArchiveQuery, work func([]event.Archived) func() error) error {
	if n.archive == nil {
		return ErrArchiveDisabled
	}
	return ReadArchive(ctx, n.js, n.cfg.SubjectPrefix, n.names.itemStream, q, work)
}

// ArchiveReader reads the archive of prefix in stream over any JetStream connection that may
// read it (a subscriber's).
type ArchiveReader struct {
	JS     jetstream.JetStream
	Prefix string
	Stream string
}

// ReadArchive is Notifier.ReadArchive over r's connection.
func (r ArchiveReader) ReadArchive(ctx context.Context, q event.ArchiveQuery, work func([]event.Archived) func() error) error {
	return ReadArchive(ctx, r.JS, r.Prefix, r.Stream, q, work)
}

// ReadArchive is Notifier.ReadArchive over any JetStream connection that may read the stream,
// for the archive of prefix in stream.
func ReadArchive(ctx context.Context, js jetstream.JetStream, prefix, stream string, q event.ArchiveQuery, work func([]event.Archived) func() error) error {
	fail := func(err error) error {
		return fmt.Errorf("read item archive %s: %w", stream, err)
	}
	occ := jetstream.OrderedConsumerConfig{DeliverPolicy: jetstream.DeliverAllPolicy}
	for _, f := range q.Feeds {
		if !validToken(f) {
			return fail(fmt.Errorf("%w: feed %q is not a subject token", ErrInvalidConfig, f))
		}
		occ.FilterSubjects = append(occ.FilterSubjects, ItemSubject(prefix, f))
	}
	if !q.From.IsZero() {
		from := q.From
		occ.DeliverPolicy, occ.OptStartTime = jetstream.DeliverByStartTimePolicy, &from
	}
	cons, err := js.OrderedConsumer(ctx, stream, occ)
	if err != nil {
		return fail(err)
	}
	info, err := cons.Info(ctx)
	if err != nil {
		return fail(err)
	}
	pending := info.NumPending
	if pending == 0 {
		return nil
	}

	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() {
		cancel() // the puller stops, and the workers when they have done what they hold
		wg.Wait()
	}()
	chunks := make(chan *archiveChunkWork, 2*runtime.GOMAXPROCS(0))
	todo := make(chan *archiveChunkWork, cap(chunks))
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for c := range todo {
				c.decode(q.To)
				c.then = work(c.items)
				close(c.done)
			}
		})
	}
	var readErr error
	wg.Go(func() {
		defer close(chunks)
		defer close(todo)
		readErr = pull(ctx, cons, pending, func(c *archiveChunkWork) bool {
			select {
			case chunks <- c:
			case <-ctx.Done():
				return false
			}
			todo <- c
			return true
		})
	})
	for c := range chunks {
		select {
		case <-c.done:
		case <-ctx.Done():
			return fail(context.Cause(ctx))
		}
		if c.then != nil {
			if err := c.then(); err != nil {
				return err
			}
		}
		if c.past {
			return nil
		}
	}
	if readErr != nil {
		return fail(readErr)
	}
	if ctx.Err() != nil {
		return fail(context.Cause(ctx))
	}
	return nil
}

// archiveChunkWork is a chunk of messages on its way: pulled, then decoded and worked on by a
// worker, which closes done.
type archiveChunkWork struct {
	msgs  []jetstream.Msg
	items []event.Archived
	then  func() error // what work returned for items
	past  bool         // an item first seen at or after the read's To was met: the read ends here
	done  chan struct{}
}

// decode parses the chunk's messages into items, up to the first one seen at or after to. A
// message that is no item event (written by hand, of a later type) is skipped. The items'
// strings point into the messages' bodies (readItemEvent), which nothing changes.
func (c *archiveChunkWork) decode(to time.Time) {
	c.items = make([]event.Archived, 0, len(c.msgs))
	for _, m := range c.msgs {
		a, err := readItemEvent(m.Data())
		if err != nil {
			continue
		}
		if !to.IsZero() && !a.FirstSeen.Before(to) {
			c.past = true
			break
		}
		c.items = append(c.items, a)
	}
	c.msgs = nil
}

// pull takes pending messages from cons in chunks of archiveChunk and hands each to emit, until
// they are all taken, emit returns false, or ctx is done. It reads with Consume and a callback
// rather than the Messages iterator, whose Next arms a timer per message: a quarter of the read's
// CPU (BENCHMARKS.md). When no message comes for archiveIdle while some are still counted as
// pending, the stream's limits removed them meanwhile: the chunk at hand is emitted and the read
// ends.
func pull(ctx context.Context, cons jetstream.Consumer, pending uint64, emit func(*archiveChunkWork) bool) error {
	var (
		// mu is held by the callback while it takes a message or emits a chunk, so that the idle
		// check and the end of the read see the chunk whole and no emit is left running.
		mu       sync.Mutex
		c        *archiveChunkWork
		progress uint64 // messages taken and chunks emitted
		over     bool   // every pending message was taken, emit refused a chunk, or the read ended
		emitting atomic.Bool
	)
	fresh := func() *archiveChunkWork {
		return &archiveChunkWork{msgs: make([]jetstream.Msg, 0, min(pending, archiveChunk)), done: make(chan struct{})}
	}
	c = fresh()
	ended := make(chan error, 1)
	end := func(err error) {
		select {
		case ended <- err:
		default:
		}
	}
	cc, err := cons.Consume(func(m jetstream.Msg) {
		mu.Lock()
		defer mu.Unlock()
		if over {
			return
		}
		progress++
		c.msgs = append(c.msgs, m)
		if uint64(len(c.msgs)) < min(pending, archiveChunk) {
			return
		}
		pending -= uint64(len(c.msgs))
		// emit blocks while the workers are behind (or a paced reader waits), which holds back
		// the consumer's next pulls; that is no idleness.
		emitting.Store(true)
		ok := emit(c)
		emitting.Store(false)
		progress++
		if !ok || pending == 0 {
			over = true
			end(nil)
			return
		}
		c = fresh()
	}, jetstream.PullMaxMessages(4*archiveChunk), jetstream.ConsumeErrHandler(func(_ jetstream.ConsumeContext, err error) {
		if errors.Is(err, nats.ErrConnectionClosed) {
			end(err)
		}
	}))
	if err != nil {
		return err
	}
	defer func() {
		cc.Stop()
		mu.Lock() // waits for a callback emitting: its emit returns once ctx is done
		over = true
		mu.Unlock()
	}()

	tick := time.NewTicker(archiveIdle / 10)
	defer tick.Stop()
	var seen uint64
	quiet := time.Now() // since when progress has stayed at seen
	for {
		select {
		case err := <-ended:
			return err
		case <-ctx.Done():
			return context.Cause(ctx)
		case now := <-tick.C:
			if emitting.Load() {
				quiet = now
				continue
			}
		}
		mu.Lock()
		if progress != seen {
			seen, quiet = progress, time.Now()
		}
		stalled := !over && time.Since(quiet) >= archiveIdle
		if stalled {
			// Fewer messages than were pending: the stream's limits removed some meanwhile.
			over = true
			if len(c.msgs) > 0 {
				emit(c)
			}
		}
		mu.Unlock()
		if stalled {
			return nil
		}
	}
}

// FollowArchive calls fn with every archived item first seen at from or later, in the archive's
// order, and then with each new item as it is archived, until ctx is done (it returns nil then)
// or fn fails. fn runs on the calling goroutine. caughtUp is called once, after the last item
// archived when the follow began (at once for an empty archive). A connection lost or a consumer
// gone is retried from the item after the last one passed on. A message that is no item event is
// skipped.
func (n *Notifier) FollowArchive(ctx context.Context, from time.Time, fn func(event.Archived) error, caughtUp func()) error {
	if n.archive == nil {
		return ErrArchiveDisabled
	}
	occ := jetstream.OrderedConsumerConfig{DeliverPolicy: jetstream.DeliverAllPolicy}
	if !from.IsZero() {
		occ.DeliverPolicy, occ.OptStartTime = jetstream.DeliverByStartTimePolicy, &from
	}
	f := streamFollow{js: n.js, log: n.log, stream: n.names.itemStream, what: "the item archive", first: occ, pull: archiveChunk}
	return f.run(ctx, func(m jetstream.Msg, _ *jetstream.MsgMetadata) error {
		a, err := ParseItemEvent(m.Data())
		if err != nil {
			return nil
		}
		return fn(a)
	}, caughtUp)
}
