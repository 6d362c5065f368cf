package main

import (
	"fmt"

	"github.com/newswatch/newswatch/internal/webserve"
)

type checkCmd struct {
	Config string `short:"c" required:"" type:"path" help:"Configuration file."`
}

func (c checkCmd) Run(e *env) error {
	l, err := load(c.Config)
	if err != nil {
		printLoadError(e.stderr, err)
		return exitError{1}
	}
	if err := webserve.Validate(l.cfg.HTTP.WebConfigFile); err != nil {
		fmt.Fprintf(e.stderr, "%s: http.web_config_file: %v\n", c.Config, err)
		return exitError{1}
	}
	fmt.Fprintf(e.stdout, "%s: valid: %d feeds, %d lists, %d rules\n",
		c.Config, len(l.cfg.Feeds), len(l.cfg.Lists), len(l.rules))
	return nil
}
