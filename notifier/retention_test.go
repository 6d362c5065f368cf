package notifier_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/newswatch/newswatch/event"
	"github.com/newswatch/newswatch/notifier/notifiertest"
)

// TestAlertStreamRetention: the alert stream keeps at most AlertMaxBytes, dropping the oldest
// alerts first, and its configuration carries AlertMaxAge.
func TestAlertStreamRetention(t *testing.T) {
	const maxBytes = 64 << 10
	cfg := notifiertest.Config(t)
	cfg.AlertMaxAge = 30 * 24 * time.Hour
	cfg.AlertMaxBytes = maxBytes
	n := notifiertest.Open(t, cfg)

	const count = 100 // about 2 KB each: three times the limit
	alerts := make([]event.Alert, count)
	for i := range alerts {
		a := sampleAlert()
		a.Item.Key = fmt.Sprintf("urn:example:item:%d", i)
		a.Item.Summary = strings.Repeat("Kursk ", 300)
		alerts[i] = a
	}
	if err := n.Alerts().Publish(testContext(t), alerts); err != nil {
		t.Fatalf("Publish: %v", err)
	}
	js, err := jetstream.New(n.Conn())
	if err != nil {
		t.Fatal(err)
	}
	s, err := js.Stream(testContext(t), cfg.AlertStream)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(testContext(t))
	if err != nil {
		t.Fatal(err)
	}
	if info.Config.MaxBytes != maxBytes || info.Config.MaxAge != cfg.AlertMaxAge {
		t.Errorf("stream limits: got max_bytes %d max_age %s, want %d and %s", info.Config.MaxBytes, info.Config.MaxAge, maxBytes, cfg.AlertMaxAge)
	}
	st := info.State
	if st.Bytes > maxBytes {
		t.Errorf("stream holds %d bytes, want at most %d", st.Bytes, maxBytes)
	}
	if st.LastSeq != count || st.FirstSeq <= 1 || st.Msgs >= count {
		t.Errorf("stream state: first %d last %d msgs %d; want the last of %d kept and the oldest dropped", st.FirstSeq, st.LastSeq, st.Msgs, count)
	}
}
