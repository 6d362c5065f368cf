package main

import (
	"errors"
	"fmt"
	"io"

	"github.com/newswatch/newswatch/config"
	"github.com/newswatch/newswatch/matcher"
)

// loaded is a configuration that validated whole, with its rules compiled.
type loaded struct {
	cfg   *config.Config
	rules []matcher.Rule
	index *matcher.Index
}

// load reads, validates and compiles the configuration. Its error is a config.Errors whose every
// entry names a line and column of the file, or an error reading the file.
func load(path string) (*loaded, error) {
	cfg, err := config.Load(path)
	if err != nil {
		return nil, err
	}
	rules := make([]matcher.Rule, len(cfg.Rules))
	for i, r := range cfg.Rules {
		rules[i] = matcher.Rule{ID: r.ID, Query: r.Query, Feeds: r.Feeds}
	}
	ix, err := matcher.Compile(rules, cfg.Lists)
	if err != nil {
		return nil, queryErrors(cfg, err)
	}
	return &loaded{cfg: cfg, rules: rules, index: ix}, nil
}

// queryErrors places the rule compiler's errors at their positions in the configuration file.
func queryErrors(cfg *config.Config, err error) error {
	var errs config.Errors
	for _, e := range flatten(err) {
		qe, ok := errors.AsType[*matcher.QueryError](e)
		if !ok {
			return err
		}
		if qe.List != "" {
			msg := fmt.Sprintf("list %q: %s", qe.List, qe.Msg)
			errs = append(errs, cfg.ListTermError(qe.List, qe.Term, qe.Column, msg))
			continue
		}
		msg := fmt.Sprintf("rule %q: %s", qe.RuleID, qe.Msg)
		errs = append(errs, cfg.QueryError(qe.Rule, qe.Column, msg))
	}
	return errs
}

// flatten returns the errors joined in err, or err alone.
func flatten(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// printLoadError writes a load error as `newswatch check` shows it: each position, its message,
// the source line and a caret.
func printLoadError(w io.Writer, err error) {
	errs, ok := errors.AsType[config.Errors](err)
	if !ok {
		fmt.Fprintf(w, "newswatch: %v\n", err)
		return
	}
	for _, e := range errs {
		fmt.Fprintln(w, e.Error())
		if ex := e.Excerpt(); ex != "" {
			fmt.Fprintln(w, ex)
		}
	}
}
