package config

import (
	"strings"
	"testing"
)

// TestExampleFile keeps the shipped example loadable.
func TestExampleFile(t *testing.T) {
	cfg, err := Load("../examples/newswatch.yaml")
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if len(cfg.Feeds) == 0 || len(cfg.Rules) == 0 {
		t.Fatalf("got %d feeds and %d rules, want some of each", len(cfg.Feeds), len(cfg.Rules))
	}
	for i, r := range cfg.Rules {
		e := cfg.QueryError(i, 1, "x")
		if !strings.Contains(e.Source, "query:") {
			t.Errorf("rules[%d] (%s): position %d:%d on %q, want the query's line", i, r.ID, e.Line, e.Column, e.Source)
		}
	}
	for _, f := range cfg.Feeds {
		if f.Schedule == "" || f.Timeout <= 0 || f.MaxBody <= 0 || f.FirstPoll.Mode == "" {
			t.Errorf("feed %s: got %+v, want every field resolved", f.ID, f)
		}
	}
}
