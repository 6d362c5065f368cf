package notifier

import (
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// KeepAlive tells the server every interval that msg is still being worked on, so that it is not
// delivered again while its handler runs, until stop is called. Use a third of the consumer's
// AckWait. A lost heartbeat at worst causes a redelivery, which handlers must bear anyway.
func KeepAlive(msg jetstream.Msg, interval time.Duration) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				_ = msg.InProgress()
			}
		}
	})
	return func() {
		close(done)
		wg.Wait()
	}
}
