package main

import (
	"context"
	"time"

	sd "github.com/coreos/go-systemd/v22/daemon"
	"go.uber.org/zap"
)

// sdNotifier tells systemd (Type=notify) how the daemon is doing. Without NOTIFY_SOCKET every call
// is a no-op.
type sdNotifier struct{ log *zap.Logger }

func (s sdNotifier) notify(state string) {
	if _, err := sd.SdNotify(false, state); err != nil {
		s.log.Warn("sd_notify", zap.String("state", state), zap.Error(err))
	}
}

func (s sdNotifier) ready()    { s.notify(sd.SdNotifyReady) }
func (s sdNotifier) stopping() { s.notify(sd.SdNotifyStopping) }

// reloading is sent before a reload; ready again after it.
func (s sdNotifier) reloading() {
	s.notify(sd.SdNotifyReloading + "\n" + sd.SdNotifyMonotonicUsec())
}

// watchdog pings systemd's watchdog at half its interval until ctx is done. It proves the process
// alive, not NATS reachable: an outage of an external NATS server is waited out (see /readyz), not
// answered by a restart.
func (s sdNotifier) watchdog(ctx context.Context) {
	interval, err := sd.SdWatchdogEnabled(false)
	if err != nil || interval == 0 {
		return
	}
	t := time.NewTicker(interval / 2)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.notify(sd.SdNotifyWatchdog)
		}
	}
}
