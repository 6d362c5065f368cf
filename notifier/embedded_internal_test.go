package notifier

import (
	"testing"
	"time"

	"go.uber.org/zap/zaptest"
)

// TestEmbeddedSyncAlways checks that sync_always reaches the server's JetStream, and that it is
// off unless asked for.
func TestEmbeddedSyncAlways(t *testing.T) {
	for _, want := range []bool{false, true} {
		cfg := EmbeddedConfig{Listen: "", StoreDir: t.TempDir(), SyncAlways: want, ReadyTimeout: 30 * time.Second}
		a, err := loadAuth(CredentialsDir(cfg.StoreDir), newNames(Config{SubjectPrefix: "newswatch", AlertStream: "NEWSWATCH_ALERTS"}))
		if err != nil {
			t.Fatal(err)
		}
		srv, err := startEmbedded(t.Context(), cfg, a, zaptest.NewLogger(t))
		if err != nil {
			t.Fatal(err)
		}
		got := srv.JetStreamConfig().SyncAlways
		srv.Shutdown()
		srv.WaitForShutdown()
		if got != want {
			t.Errorf("SyncAlways %v: server's JetStream has sync_always %v", want, got)
		}
	}
}
