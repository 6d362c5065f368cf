package main

import (
	"errors"
	"math"

	"github.com/KimMachineGun/automemlimit/memlimit"
	"go.uber.org/zap"
)

// memoryLimitRatio is the share of the process's memory limit (its cgroup's: a container's
// limit, a systemd unit's MemoryMax=) that the Go runtime's soft limit takes, as Prometheus
// does: the rest is for what the runtime does not count and for a margin.
const memoryLimitRatio = 0.9

// limitMemory sets the Go runtime's soft memory limit from the memory limit that provider
// reports (memlimit.FromCgroup in the daemon), so that near that limit the garbage collector
// works harder instead of the kernel killing the process. GOMEMLIMIT, when set, is left alone,
// and AUTOMEMLIMIT (off, or another ratio) overrides the ratio. It returns the limit in force,
// math.MaxInt64 for none.
func limitMemory(log *zap.Logger, provider memlimit.Provider) int64 {
	limit, err := memlimit.Set(memlimit.WithProvider(provider), memlimit.WithRatio(memoryLimitRatio))
	switch {
	case errors.Is(err, memlimit.ErrCgroupsNotSupported) || errors.Is(err, memlimit.ErrNoCgroup):
		log.Debug("no cgroup memory limit to follow", zap.Error(err))
	case err != nil:
		log.Warn("memory limit not set", zap.Error(err))
	case limit == math.MaxInt64:
		log.Debug("no memory limit to follow")
	default:
		log.Info("go memory limit", zap.Int64("bytes", limit))
	}
	return limit
}
