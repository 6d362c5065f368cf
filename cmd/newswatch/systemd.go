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

// watchdog pings systemd's watchdog at half its interval while healthy reports no error, until ctx
// is done. An unhealthy daemon stops pinging, and systemd restarts it.
func (s sdNotifier) watchdog(ctx context.Context, healthy func(context.Context) error) {
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
		}
		hctx, cancel := context.WithTimeout(ctx, interval/4)
		err := healthy(hctx)
		cancel()
		if err != nil {
			s.log.Warn("not pinging the systemd watchdog", zap.Error(err))
			continue
		}
		s.notify(sd.SdNotifyWatchdog)
	}
}
