package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/newswatch/newswatch/config"
)

// TestImportExportOPML: the feeds of a reader's export become a feeds list that the
// configuration accepts (ids valid and unique, folders and categories as tags, titles as
// comments), and exporting that configuration and importing it again gives the same feeds.
func TestImportExportOPML(t *testing.T) {
	tests := []struct {
		file     string
		wantIDs  []string
		wantTags [][]string
		comment  string // a title kept as a comment
	}{
		{
			file:     "miniflux.opml",
			wantIDs:  []string{"example-wire-top-stories", "cafe-economics", "kursk-example-ru-rss"},
			wantTags: [][]string{{"all", "europe-russia"}, {"all"}, {"europe-russia"}},
			comment:  "# Новости Курска",
		},
		{
			file:     "freshrss.opml",
			wantIDs:  []string{"example-daily", "nk-example-kr-rss-xml", "example-daily-2", "example-daily-3"},
			wantTags: [][]string{{"uncategorized"}, {"asia"}, {"asia"}, {"asia"}},
			comment:  "# 북한 뉴스",
		},
		{
			file:     "feedly.opml",
			wantIDs:  []string{"example-times-world", "example-news-com-feeds-all-atom", "example-security-blog", "loose-feed"},
			wantTags: [][]string{{"world"}, {"world"}, {"tech", "security", "infosec"}, nil},
			comment:  "# Example Times - World",
		},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			path := filepath.Join("..", "..", "internal", "opml", "testdata", tt.file)
			imported := newswatchOutput(t, "import", "opml", path)
			if !strings.Contains(imported, tt.comment+"\n") {
				t.Errorf("import: no comment %q in\n%s", tt.comment, imported)
			}
			cfgPath := filepath.Join(t.TempDir(), "nw.yaml")
			if err := os.WriteFile(cfgPath, []byte(imported), 0o600); err != nil {
				t.Fatal(err)
			}
			cfg, err := config.Load(cfgPath)
			if err != nil {
				t.Fatalf("the imported feeds do not load: %v\n%s", err, imported)
			}
			var ids []string
			var tags [][]string
			for _, f := range cfg.Feeds {
				ids = append(ids, f.ID)
				tags = append(tags, f.Tags)
			}
			if !reflect.DeepEqual(ids, tt.wantIDs) {
				t.Errorf("ids: got %q, want %q", ids, tt.wantIDs)
			}
			for i := range tags {
				if len(tags[i]) == 0 && len(tt.wantTags[i]) == 0 {
					continue
				}
				if !reflect.DeepEqual(tags[i], tt.wantTags[i]) {
					t.Errorf("tags of %s: got %q, want %q", ids[i], tags[i], tt.wantTags[i])
				}
			}

			exported := newswatchOutput(t, "export", "opml", "-c", cfgPath)
			again := runImport(t, exported)
			cfg2Path := filepath.Join(t.TempDir(), "nw.yaml")
			if err := os.WriteFile(cfg2Path, []byte(again), 0o600); err != nil {
				t.Fatal(err)
			}
			cfg2, err := config.Load(cfg2Path)
			if err != nil {
				t.Fatalf("the round trip does not load: %v\n%s", err, again)
			}
			if len(cfg2.Feeds) != len(cfg.Feeds) {
				t.Fatalf("round trip: got %d feeds, want %d", len(cfg2.Feeds), len(cfg.Feeds))
			}
			for i, f := range cfg.Feeds {
				g := cfg2.Feeds[i]
				if g.ID != f.ID || g.URL != f.URL || !reflect.DeepEqual(g.Tags, f.Tags) {
					t.Errorf("round trip: got %s %s %q, want %s %s %q", g.ID, g.URL, g.Tags, f.ID, f.URL, f.Tags)
				}
			}
		})
	}
}

func TestImportOPMLRefusesWhatIsNotAFeedList(t *testing.T) {
	path := writeFile(t, "list.opml", `<opml version="2.0"><body><outline text="News"/></body></opml>`)
	code, stdout, stderr := runCLI(t, "", "import", "opml", path)
	if code != 1 || stdout != "" || !strings.Contains(stderr, "no feed") {
		t.Errorf("import of a list without feeds: exit %d, stdout %q, stderr %q; want 1, nothing, a message saying there is no feed", code, stdout, stderr)
	}
	code, _, stderr = runCLI(t, "not xml", "import", "opml", "-")
	if code != 1 || !strings.Contains(stderr, "opml") {
		t.Errorf("import of standard input that is not OPML: exit %d, stderr %q; want 1 and an OPML error", code, stderr)
	}
}

func TestSlug(t *testing.T) {
	tests := []struct{ name, want string }{
		{"BBC News - World", "bbc-news-world"},
		{"Café Économie", "cafe-economie"},
		{"world_news", "world_news"}, // an id already: kept as it is
		{"  --Tech & Science!  ", "tech-science"},
		{"Новости", ""},
		{strings.Repeat("long title ", 10), "long-title-long-title-long-title-long-title-long-title-long-titl"},
	}
	for _, tt := range tests {
		if got := slug(tt.name); got != tt.want {
			t.Errorf("slug(%q) = %q, want %q", tt.name, got, tt.want)
		}
	}
	taken := map[string]bool{}
	long := strings.Repeat("a", maxIDLen)
	for _, want := range []string{long, long[:maxIDLen-2] + "-2", long[:maxIDLen-2] + "-3"} {
		if got := uniqueID(long, taken); got != want {
			t.Errorf("uniqueID: got %q, want %q", got, want)
		}
	}
}

// newswatchOutput runs the built binary and returns its standard output, failing the test when
// it does not exit 0.
func newswatchOutput(t *testing.T, args ...string) string {
	t.Helper()
	var stderr bytes.Buffer
	cmd := exec.Command(binary, args...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("newswatch %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return string(out)
}

// runImport imports the OPML document doc from standard input.
func runImport(t *testing.T, doc string) string {
	t.Helper()
	cmd := exec.Command(binary, "import", "opml", "-")
	cmd.Stdin = strings.NewReader(doc)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("newswatch import opml -: %v", err)
	}
	return string(out)
}
