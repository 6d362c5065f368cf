package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// Stamped at build time: -ldflags "-X main.version=v1.2.3 -X main.commit=abc1234".
var (
	version = ""
	commit  = ""
)

type versionCmd struct{}

func (versionCmd) Run(e *env) error {
	v, c := buildVersion()
	fmt.Fprintf(e.stdout, "newswatch-slack %s", v)
	if c != "" {
		fmt.Fprintf(e.stdout, " (commit %s)", c)
	}
	fmt.Fprintf(e.stdout, " %s %s/%s\n", runtime.Version(), runtime.GOOS, runtime.GOARCH)
	return nil
}

// buildVersion returns the stamped version and commit, else what the Go toolchain recorded.
func buildVersion() (ver, rev string) {
	ver, rev = version, commit
	if info, ok := debug.ReadBuildInfo(); ok {
		if ver == "" && info.Main.Version != "" && info.Main.Version != "(devel)" {
			ver = info.Main.Version
		}
		for _, s := range info.Settings {
			if s.Key == "vcs.revision" && rev == "" {
				rev = s.Value
			}
		}
	}
	if ver == "" {
		ver = "devel"
	}
	return ver, rev
}
