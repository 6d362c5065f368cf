package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

type natsConn struct {
	nc  *nats.Conn // as the daemon: stream infos of every stream and bucket
	js  jetstream.JetStream
	sub *nats.Conn // as a subscriber: the alerts
}

// connectNATS connects to the embedded server's listener with the credentials the daemon wrote
// into its store: its own, to read the state of every stream (with the inbox prefix its role
// may receive on), and a subscriber's, to receive alerts.
func (b *bench) connectNATS() error {
	creds := filepath.Join(b.o.dir, "nats", "credentials")
	nc, err := nats.Connect("nats://"+b.natsAddr, nats.Name("scalebench"),
		nats.UserCredentials(filepath.Join(creds, "daemon.creds")), nats.CustomInboxPrefix("_INBOX_newswatch"))
	if err != nil {
		return err
	}
	sub, err := nats.Connect("nats://"+b.natsAddr, nats.Name("scalebench-subscriber"),
		nats.UserCredentials(filepath.Join(creds, "subscriber.creds")))
	if err != nil {
		nc.Close()
		return err
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		sub.Close()
		return err
	}
	b.nats = &natsConn{nc: nc, js: js, sub: sub}
	return nil
}

// feedsWithState is the number of feeds polled at least once: the keys of the state bucket.
func (b *bench) feedsWithState() (int, error) {
	return b.streamMsgs("KV_newswatch_feeds")
}

// pollBacklog is the number of poll jobs enqueued and not yet acknowledged.
func (b *bench) pollBacklog() (int, error) {
	return b.streamMsgs("NEWSWATCH_POLLS")
}

func (b *bench) streamMsgs(stream string) (int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := b.nats.js.Stream(ctx, stream)
	if err != nil {
		return 0, err
	}
	info, err := s.Info(ctx)
	if err != nil {
		return 0, err
	}
	return int(info.State.Msgs), nil
}

// streamDisk is the size of stream's directory in the embedded server's store (compressed
// when the stream is).
func (b *bench) streamDisk(stream string) int64 {
	dirs, _ := filepath.Glob(filepath.Join(b.o.dir, "nats", "jetstream", "*", "streams", stream))
	var total int64
	for _, d := range dirs {
		_ = filepath.WalkDir(d, func(_ string, e fs.DirEntry, err error) error {
			if err == nil && !e.IsDir() {
				if fi, err := e.Info(); err == nil {
					total += fi.Size()
				}
			}
			return nil
		})
	}
	return total
}

// streamInfo reports the messages and bytes of newswatch's streams, through the embedded
// server's listener: the feed-state bucket's bytes per feed is the size of a state document.
func (b *bench) streamInfo(ctx context.Context) error {
	js := b.nats.js
	for _, name := range []string{"KV_newswatch_feeds", "NEWSWATCH_POLLS", "NEWSWATCH_ALERTS", "NEWSWATCH_ITEMS"} {
		s, err := js.Stream(ctx, name)
		if errors.Is(err, jetstream.ErrStreamNotFound) {
			continue // the archive, turned off
		}
		if err != nil {
			return err
		}
		info, err := s.Info(ctx)
		if err != nil {
			return err
		}
		st := info.State
		per := 0.0
		if st.Msgs > 0 {
			per = float64(st.Bytes) / float64(st.Msgs)
		}
		b.printf("stream %s: %d messages, %s (%.0f B a message), %d deleted\n", name, st.Msgs, mib(int64(st.Bytes)), per, st.NumDeleted)
		if disk := b.streamDisk(name); disk > 0 && st.Msgs > 0 {
			b.printf("    on disk %s: %.0f B a message, %.2f of its stored size\n", mib(disk), float64(disk)/float64(st.Msgs), float64(disk)/float64(st.Bytes))
		}
	}
	return nil
}

// alertTimer times every alert from the start of the fetch that found its item (the request's
// arrival at the simulator, GET /-/last) to its delivery to a subscriber of the alert subjects:
// at least the poll's fetch, parse, matching and publishing to the PubAck, and the delivery.
type alertTimer struct {
	sub  *nats.Subscription
	seen chan alertSeen
	done chan struct{}
	ds   []time.Duration
	miss int

	mu      sync.Mutex // guards seen's closing against the subscription's callback
	stopped bool
	dropped int // alerts that found seen full
}

type alertSeen struct {
	at   time.Time
	feed int
}

func (b *bench) timeAlerts() (*alertTimer, error) {
	t := &alertTimer{seen: make(chan alertSeen, 1<<16), done: make(chan struct{})}
	sub, err := b.nats.sub.Subscribe("newswatch.alert.>", func(m *nats.Msg) {
		at := time.Now()
		var ev struct {
			Data struct {
				Feed struct {
					ID string `json:"id"`
				} `json:"feed"`
			} `json:"data"`
		}
		if json.Unmarshal(m.Data, &ev) != nil {
			return
		}
		n, err := strconv.Atoi(strings.TrimPrefix(ev.Data.Feed.ID, "f"))
		if err != nil {
			return
		}
		t.mu.Lock()
		defer t.mu.Unlock()
		if t.stopped {
			return
		}
		select {
		case t.seen <- alertSeen{at, n}:
		default:
			t.dropped++
		}
	})
	if err != nil {
		return nil, err
	}
	t.sub = sub
	go func() {
		defer close(t.done)
		for s := range t.seen {
			resp, err := http.Get(fmt.Sprintf("http://%s/-/last?feed=%d", b.simAddr, s.feed))
			if err != nil {
				t.miss++
				continue
			}
			var last int64
			_, err = fmt.Fscan(resp.Body, &last)
			resp.Body.Close()
			if err != nil || last == 0 || time.Unix(0, last).After(s.at) {
				t.miss++
				continue
			}
			t.ds = append(t.ds, s.at.Sub(time.Unix(0, last)))
		}
	}()
	return t, nil
}

// stop ends the timing and returns the times, sorted, and how many alerts could not be timed.
func (t *alertTimer) stop() ([]time.Duration, int) {
	_ = t.sub.Unsubscribe()
	t.mu.Lock() // a callback may still run after Unsubscribe
	t.stopped = true
	close(t.seen)
	t.mu.Unlock()
	<-t.done
	slices.Sort(t.ds)
	return t.ds, t.miss + t.dropped
}
