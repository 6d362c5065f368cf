package watcher

import (
	"encoding/json"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"testing"
)

// gofeedTestdata returns the testdata directory of the gofeed module in the module cache, as
// `go mod download` reports it (offline when the module is in the cache).
func gofeedTestdata(t *testing.T) string {
	t.Helper()
	out, err := exec.CommandContext(t.Context(), "go", "mod", "download", "-json", "github.com/mmcdole/gofeed").Output()
	if err != nil {
		t.Fatalf("go mod download github.com/mmcdole/gofeed: %v", err)
	}
	var mod struct{ Dir, Error string }
	if err := json.Unmarshal(out, &mod); err != nil || mod.Dir == "" {
		t.Fatalf("go mod download: %s (%v), want the module's Dir", out, err)
	}
	return filepath.Join(mod.Dir, "testdata")
}

// TestGofeedCorpus runs every file of gofeed's own test data through fetch (from an httptest
// server) and ParseItems: none may panic or return both items and an error.
func TestGofeedCorpus(t *testing.T) {
	root := gofeedTestdata(t)
	srv := httptest.NewServer(http.FileServer(http.Dir(root)))
	t.Cleanup(srv.Close)
	f := newFetcher(nil, 0)
	defer f.close()

	var files, parsed, fetchFailed int
	failures := map[ErrorClass]int{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(root, path)
		if err != nil {
			return err
		}
		files++
		res, err := f.fetch(t.Context(), srv.URL+"/"+filepath.ToSlash(rel), fetchOpts(), validators{})
		if err != nil {
			fetchFailed++
			failures[ClassifyError(err)]++
			return nil
		}
		_, items, err := ParseItems(res.Body)
		switch {
		case err != nil && items != nil:
			t.Errorf("%s: got %d items and error %v, want one or the other", rel, len(items), err)
		case err != nil:
			failures[ClassifyError(err)]++
		default:
			parsed++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files == 0 {
		t.Fatalf("no files under %s", root)
	}
	t.Logf("gofeed testdata: %d files, %d parse as feeds, %d fetch failures; failures by class: %v", files, parsed, fetchFailed, failures)
}
