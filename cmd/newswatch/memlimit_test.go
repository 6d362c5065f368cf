package main

import (
	"math"
	"os"
	"runtime/debug"
	"testing"

	"github.com/KimMachineGun/automemlimit/memlimit"
	"go.uber.org/zap"
)

// TestLimitMemory: the Go memory limit follows 90% of the process's memory limit, unless
// GOMEMLIMIT or AUTOMEMLIMIT=off says otherwise; no limit leaves none.
func TestLimitMemory(t *testing.T) {
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(-1))
	const mib = 1 << 20
	unset := func(name string) {
		t.Setenv(name, "") // restored at the end of the test
		os.Unsetenv(name)
	}
	for _, tt := range []struct {
		name     string
		env      map[string]string
		provider memlimit.Provider
		want     int64
	}{
		{"a limit of 256 MiB", nil, memlimit.Limit(256 * mib), 256 * mib * 9 / 10},
		{"no limit", nil, func() (uint64, error) { return 0, memlimit.ErrNoLimit }, math.MaxInt64},
		{"GOMEMLIMIT set", map[string]string{"GOMEMLIMIT": "100MiB"}, nil, 100 * mib},
		{"AUTOMEMLIMIT=off", map[string]string{"AUTOMEMLIMIT": "off"}, nil, 100 * mib},
		{"AUTOMEMLIMIT=0.5", map[string]string{"AUTOMEMLIMIT": "0.5"}, memlimit.Limit(256 * mib), 128 * mib},
	} {
		t.Run(tt.name, func(t *testing.T) {
			unset("GOMEMLIMIT")
			unset("AUTOMEMLIMIT")
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			debug.SetMemoryLimit(100 * mib) // what GOMEMLIMIT=100MiB set at start
			provider := tt.provider
			if provider == nil {
				provider = func() (uint64, error) {
					t.Error("the provider was asked although the environment decides")
					return 0, memlimit.ErrNoLimit
				}
			}
			if got := limitMemory(zap.NewNop(), provider); got != tt.want {
				t.Errorf("limitMemory = %d, want %d", got, tt.want)
			}
			if got := debug.SetMemoryLimit(-1); got != tt.want {
				t.Errorf("the runtime's memory limit is %d, want %d", got, tt.want)
			}
		})
	}
}
