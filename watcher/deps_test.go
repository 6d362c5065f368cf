package watcher

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDependencies keeps the arrows of DESIGN.md: watcher uses matcher, never NATS or notifier.
func TestDependencies(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	var sawMatcher bool
	for _, dep := range strings.Fields(string(out)) {
		switch {
		case dep == "github.com/newswatch/newswatch/matcher":
			sawMatcher = true
		case strings.HasPrefix(dep, "github.com/nats-io/"),
			strings.HasPrefix(dep, "github.com/newswatch/newswatch/notifier"),
			strings.HasPrefix(dep, "github.com/newswatch/newswatch/config"),
			strings.HasPrefix(dep, "github.com/newswatch/newswatch/cmd"):
			t.Errorf("watcher depends on %s", dep)
		}
	}
	if !sawMatcher {
		t.Errorf("go list -deps does not list the matcher; got:\n%s", out)
	}
}
