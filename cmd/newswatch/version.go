package main

import (
	"fmt"

	"github.com/newswatch/newswatch/internal/buildinfo"
)

type versionCmd struct{}

func (versionCmd) Run(e *env) error {
	_, err := fmt.Fprintln(e.stdout, buildinfo.Line("newswatch"))
	return err
}
