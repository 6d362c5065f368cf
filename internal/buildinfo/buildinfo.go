// Package buildinfo tells which build of newswatch is running, for both of its commands.
package buildinfo

import (
	"runtime"
	"runtime/debug"
)

// Stamped at build time:
// -ldflags "-X github.com/newswatch/newswatch/internal/buildinfo.version=v1.2.3 -X github.com/newswatch/newswatch/internal/buildinfo.commit=abc1234".
var (
	version = ""
	commit  = ""
)

// Version returns the stamped version and commit, else what the Go toolchain recorded; the
// version is "devel" when nothing says otherwise.
func Version() (ver, rev string) {
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

// Line is what `<command> version` prints: the command, the version, the commit when known, and
// the Go version and platform.
func Line(command string) string {
	ver, rev := Version()
	s := command + " " + ver
	if rev != "" {
		s += " (commit " + rev + ")"
	}
	return s + " " + runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH
}
