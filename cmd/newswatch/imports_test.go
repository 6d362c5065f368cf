package main

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// TestImportDirection holds the package graph of DESIGN.md: cmd imports everything; console imports
// watcher (and so matcher), and its web pages the pure delivery policy too (the playground's
// preview); watcher imports matcher and story, which imports matcher; delivery
// imports nothing of ours; config, matcher and notifier import nothing of
// ours but leaf packages that import nothing of ours either (internal/redact, and event, the
// vocabulary of plain types); only notifier imports NATS.
func TestImportDirection(t *testing.T) {
	const mod = "github.com/newswatch/newswatch/"
	tests := []struct {
		pkg       string
		allowOurs []string
		allowNATS bool
	}{
		{pkg: "config", allowOurs: []string{"internal/redact"}},
		{pkg: "matcher"},
		{pkg: "notifier", allowOurs: []string{"event", "internal/redact"}, allowNATS: true},
		{pkg: "watcher", allowOurs: []string{"event", "matcher", "story", "internal/redact", "watcher/source", "watcher/article"}},
		{pkg: "story", allowOurs: []string{"matcher"}},
		{pkg: "delivery"},
		// The pure pieces of the sources: the watcher imports them, so they import nothing of ours.
		{pkg: "watcher/source"},
		{pkg: "watcher/article"},
		{pkg: "watcher/discover"},
		{pkg: "internal/redact"},
		{pkg: "event"},
		{pkg: "console", allowOurs: []string{"watcher", "event", "matcher", "story", "internal/redact", "watcher/source", "watcher/article"}},
		{pkg: "console/web", allowOurs: []string{"console", "delivery", "watcher", "event", "matcher", "story", "internal/redact", "watcher/source", "watcher/article"}},
	}
	for _, tt := range tests {
		t.Run(tt.pkg, func(t *testing.T) {
			out, err := exec.Command("go", "list", "-deps", mod+tt.pkg).CombinedOutput()
			if err != nil {
				t.Fatalf("go list -deps %s: %v\n%s", tt.pkg, err, out)
			}
			deps := strings.Fields(string(out))
			if !slices.Contains(deps, mod+tt.pkg) {
				t.Fatalf("go list -deps %s did not list the package itself:\n%s", tt.pkg, out)
			}
			for _, d := range deps {
				if ours, ok := strings.CutPrefix(d, mod); ok && ours != tt.pkg && !slices.Contains(tt.allowOurs, ours) {
					t.Errorf("%s imports %s; allowed: %v", tt.pkg, d, tt.allowOurs)
				}
				if strings.HasPrefix(d, "github.com/nats-io/") && !tt.allowNATS {
					t.Errorf("%s imports %s; only notifier may", tt.pkg, d)
				}
			}
		})
	}
}
