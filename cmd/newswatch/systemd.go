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

// watchdog pings systemd's watchdog at half its interval until ctx is done, but only while alive
// says the daemon is (see liveness): a stuck schedule stops the pings, and systemd restarts the
// service once WatchdogSec passes without one.
func (s sdNotifier) watchdog(ctx context.Context, alive func() error) {
	interval, err := sd.SdWatchdogEnabled(false)
	if err != nil || interval == 0 {
		return
	}
	s.pingWhileAlive(ctx, interval/2, alive, func() { s.notify(sd.SdNotifyWatchdog) })
}

// pingWhileAlive calls ping every period while alive returns nil, until ctx is done. It logs when
// the pings stop and when they resume, not at every period.
func (s sdNotifier) pingWhileAlive(ctx context.Context, period time.Duration, alive func() error, ping func()) {
	t := time.NewTicker(period)
	defer t.Stop()
	stuck := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		err := alive()
		switch {
		case err != nil && !stuck:
			s.log.Error("not alive; the systemd watchdog is no longer pinged", zap.Error(err))
		case err == nil && stuck:
			s.log.Info("alive again; pinging the systemd watchdog")
		}
		stuck = err != nil
		if !stuck {
			ping()
		}
	}
}
