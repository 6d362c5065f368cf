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
	if errs := attributeErrors(cfg); len(errs) > 0 {
		return nil, errs
	}
	return &loaded{cfg: cfg, rules: rules, index: ix}, nil
}

// attributeErrors refuses feed: and tag: tests that no feed of the configuration can pass: a typo
// there would make a rule that silently never matches.
func attributeErrors(cfg *config.Config) config.Errors {
	feeds, tags := map[string]bool{}, map[string]bool{}
	for _, f := range cfg.Feeds {
		feeds[f.ID] = true
		for _, t := range f.Tags {
			tags[t] = true
		}
	}
	var errs config.Errors
	for i, r := range cfg.Rules {
		for _, a := range matcher.Attributes(r.Query) {
			known := feeds
			if a.Name == "tag" {
				known = tags
			}
			if !known[a.Value] {
				msg := fmt.Sprintf("rule %q: no feed has %s %q", r.ID, map[string]string{"feed": "the id", "tag": "the tag"}[a.Name], a.Value)
				errs = append(errs, cfg.QueryError(i, a.Offset+1, msg))
			}
		}
	}
	return errs
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
			errs = append(errs, cfg.ListTermError(qe.List, qe.Term, qe.Offset+1, msg))
			continue
		}
		msg := fmt.Sprintf("rule %q: %s", qe.RuleID, qe.Msg)
		errs = append(errs, cfg.QueryError(qe.Rule, qe.Offset+1, msg))
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
