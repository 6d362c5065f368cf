//go:build scale

package main

import (
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"syscall"
	"testing"
	"time"
)

// TestScaleDaemon runs the daemon in this process on $NEWSWATCH_SCALE_CONFIG until SIGTERM, so
// that the scale harness (internal/scalebench --pprof) gets Go profiles of it without a pprof
// endpoint in the product: SIGUSR2 starts a new CPU profile cpu-<n>.pprof (ending the previous
// one), SIGUSR1 writes a heap profile heap-<n>.pprof after a GC, both into
// $NEWSWATCH_SCALE_PROFILES. Build it with `go test -c -tags scale`; it is never part of
// `go test ./...`.
func TestScaleDaemon(t *testing.T) {
	cfg, dir := os.Getenv("NEWSWATCH_SCALE_CONFIG"), os.Getenv("NEWSWATCH_SCALE_PROFILES")
	if cfg == "" || dir == "" {
		t.Fatal("set NEWSWATCH_SCALE_CONFIG (a configuration) and NEWSWATCH_SCALE_PROFILES (a directory)")
	}
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGUSR1, syscall.SIGUSR2)
	defer signal.Stop(sigs)
	var cpu *os.File
	stopCPU := func() {
		if cpu != nil {
			pprof.StopCPUProfile()
			cpu.Close()
			cpu = nil
		}
	}
	defer stopCPU()
	done := make(chan struct{})
	profiled := make(chan struct{})
	go func() {
		defer close(profiled)
		var cpus, heaps int
		for {
			select {
			case <-done:
				return
			case s := <-sigs:
				if s == syscall.SIGUSR2 {
					stopCPU()
					cpus++
					f, err := os.Create(filepath.Join(dir, fmt.Sprintf("cpu-%d.pprof", cpus)))
					if err == nil && pprof.StartCPUProfile(f) == nil {
						cpu = f
					}
					continue
				}
				heaps++
				runtime.GC()
				if f, err := os.Create(filepath.Join(dir, fmt.Sprintf("heap-%d.pprof", heaps))); err == nil {
					_ = pprof.Lookup("heap").WriteTo(f, 0)
					f.Close()
				}
			}
		}
	}()
	args := []string{"--log-level", "warn", "run", "-c", cfg}
	if w := os.Getenv("NEWSWATCH_SCALE_WORKERS"); w != "" {
		args = append(args, "--workers", w)
	}
	start := time.Now()
	code := run(args, os.Stdin, os.Stdout, os.Stderr)
	close(done)
	<-profiled
	if code != 0 {
		t.Fatalf("newswatch run exited %d after %s", code, time.Since(start))
	}
}
