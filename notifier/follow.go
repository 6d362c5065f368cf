package notifier

import (
	"context"
	"errors"

	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"
)

// streamFollow reads a stream in order through ordered consumers, which need no state on the
// server: from where first says, then each new message as it is stored, until ctx is done.
type streamFollow struct {
	js     jetstream.JetStream
	log    *zap.Logger
	stream string
	what   string // names the stream in logs: "the item archive"
	first  jetstream.OrderedConsumerConfig
	pull   int // messages a pull asks for
}

// run passes each message and its metadata to fn on the calling goroutine until ctx is done (it
// returns nil then) or fn fails (it returns fn's error). caughtUp, when not nil, is called once,
// after the last message stored when the follow began (at once for none). A connection lost or a
// consumer gone is logged and retried, with a growing pause, from the message after the last one
// passed on.
func (f streamFollow) run(ctx context.Context, fn func(jetstream.Msg, *jetstream.MsgMetadata) error, caughtUp func()) error {
	occ := f.first
	var last uint64 // the stream sequence of the last message passed on
	wait := retryFirst
	for ctx.Err() == nil {
		if last > 0 {
			occ.DeliverPolicy, occ.OptStartTime, occ.OptStartSeq = jetstream.DeliverByStartSequencePolicy, nil, last+1
		}
		err := f.once(ctx, occ, &last, fn, &caughtUp)
		if ctx.Err() != nil {
			return nil
		}
		var fnErr followError
		if errors.As(err, &fnErr) {
			return fnErr.err
		}
		f.log.Warn("following "+f.what+"; retrying", zap.String("stream", f.stream), zap.Error(err), zap.Duration("retry_in", wait))
		pause(ctx, wait)
		wait = min(2*wait, retryMax)
	}
	return nil
}

// followError is an error of a follow's fn, which ends the follow.
type followError struct{ err error }

func (e followError) Error() string { return e.err.Error() }

// once runs one ordered consumer of run until an error.
func (f streamFollow) once(ctx context.Context, occ jetstream.OrderedConsumerConfig, last *uint64, fn func(jetstream.Msg, *jetstream.MsgMetadata) error, caughtUp *func()) error {
	cons, err := f.js.OrderedConsumer(ctx, f.stream, occ)
	if err != nil {
		return err
	}
	info, err := cons.Info(ctx)
	if err != nil {
		return err
	}
	pending := info.NumPending
	done := func() {
		if *caughtUp != nil {
			(*caughtUp)()
			*caughtUp = nil
		}
	}
	if pending == 0 {
		done()
	}
	it, err := cons.Messages(jetstream.PullMaxMessages(f.pull))
	if err != nil {
		return err
	}
	defer it.Stop()
	stop := context.AfterFunc(ctx, it.Stop)
	defer stop()
	for {
		m, err := it.Next()
		if err != nil {
			return err
		}
		md, err := m.Metadata()
		if err != nil {
			return err
		}
		*last = md.Sequence.Stream
		if err := fn(m, md); err != nil {
			return followError{err}
		}
		if pending > 0 {
			if pending--; pending == 0 || md.NumPending == 0 {
				pending = 0
				done()
			}
		}
	}
}
