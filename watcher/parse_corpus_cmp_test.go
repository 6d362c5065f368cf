package watcher

import (
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func TestCmpCorpus(t *testing.T) {
	root := gofeedTestdata(t)
	same, diff := 0, 0
	filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, _ := os.ReadFile(path)
		data = toUTF8(data, "")
		o, oerr := parseDocumentGofeed(data)
		n, nerr := ParseDocument(t.Context(), data)
		if ClassifyError(oerr) != ClassifyError(nerr) || !reflect.DeepEqual(o, n) {
			diff++
			t.Logf("%s: old %v (%d items) new %v (%d items)", path[len(root):], oerr, len(o.Items), nerr, len(n.Items))
			if oerr == nil && nerr == nil {
				for i := range o.Items {
					if i < len(n.Items) && !reflect.DeepEqual(o.Items[i], n.Items[i]) {
						t.Logf("  item %d:\n old %+v\n new %+v", i, o.Items[i], n.Items[i])
						break
					}
				}
			}
		} else {
			same++
		}
		return nil
	})
	t.Logf("same %d diff %d", same, diff)
}
