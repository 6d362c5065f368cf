package source

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDependencies keeps the package pure: it imports nothing of newswatch, so that the
// watcher can import it.
func TestDependencies(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	var sawGofeed bool
	for _, dep := range strings.Fields(string(out)) {
		if dep == "github.com/mmcdole/gofeed" {
			sawGofeed = true
		}
		if strings.HasPrefix(dep, "github.com/newswatch/newswatch/") && dep != "github.com/newswatch/newswatch/watcher/source" {
			t.Errorf("source depends on %s", dep)
		}
	}
	if !sawGofeed {
		t.Errorf("go list -deps does not list gofeed; got:\n%s", out)
	}
}
