package article

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
	deps := strings.Fields(string(out))
	if len(deps) < 10 {
		t.Fatalf("go list -deps lists %d packages; got:\n%s", len(deps), out)
	}
	for _, dep := range deps {
		if strings.HasPrefix(dep, "github.com/newswatch/newswatch/") && dep != "github.com/newswatch/newswatch/watcher/article" {
			t.Errorf("article depends on %s", dep)
		}
	}
}
