package main

import (
	"fmt"

	"github.com/newswatch/newswatch/internal/webserve"
)

type checkCmd struct {
	Config string `short:"c" required:"" type:"path" help:"Configuration file."`
}

// Run reports every error and warning of the file in one pass; only errors fail it.
func (c checkCmd) Run(e *env) error {
	cfg, errs, warnings, err := diagnose(c.Config)
	if cfg == nil {
		printLoadError(e.stderr, err)
		return exitError{1}
	}
	printDiagnostics(e.stderr, errs, warnings)
	failed := len(errs) > 0
	if err := webserve.Validate(cfg.HTTP.WebConfigFile); err != nil {
		fmt.Fprintf(e.stderr, "%s: http.web_config_file: %v\n", c.Config, err)
		failed = true
	}
	if failed {
		return exitError{1}
	}
	fmt.Fprintf(e.stdout, "%s: valid: %d feeds, %d lists, %d rules\n",
		c.Config, len(cfg.Feeds), len(cfg.Lists), len(cfg.Rules))
	return nil
}
