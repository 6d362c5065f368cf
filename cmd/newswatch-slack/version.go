package main

import (
	"fmt"
	"runtime"

	"github.com/newswatch/newswatch/internal/buildinfo"
)

type versionCmd struct{}

func (versionCmd) Run(e *env) error {
	v, c := buildinfo.Version()
	fmt.Fprintf(e.stdout, "newswatch-slack %s", v)
	if c != "" {
		fmt.Fprintf(e.stdout, " (commit %s)", c)
	}
	fmt.Fprintf(e.stdout, " %s %s/%s\n", runtime.Version(), runtime.GOOS, runtime.GOARCH)
	return nil
}
