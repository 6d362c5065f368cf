package story

import (
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
)

var idPattern = regexp.MustCompile(`^[0-9a-f]{16}$`)

// FuzzAssign feeds arbitrary items (any bytes, any times, in any order) and wants no panic and
// a well-formed story for each.
func FuzzAssign(f *testing.F) {
	f.Add("feed", "key", "en", "North Korea's troops in Kursk", "Курск 3,25% 11月4日 북한군", "https://www.x.example/a#b", int64(0), "ru", "Пентагон", int64(60_000))
	f.Add("", "", "", "", "", "", int64(-1<<62), "", "", int64(1<<62))
	f.Add("\xff", "\x00", "ZZ", "1 2 3 4 5", "Ǆ ǅ ǆ ﬀ İ ß", "://", int64(1), "uk", "ґ є", int64(1))
	f.Fuzz(func(t *testing.T, feed, key, lang, title, text, link string, ms1 int64, lang2, title2 string, ms2 int64) {
		a, err := New(Options{Window: time.Hour, Lists: map[string][]string{"dprk": {`"north korea*"`, "кндр"}}})
		if err != nil {
			t.Fatal(err)
		}
		items := []Item{
			{FeedID: feed, Key: key, Language: lang, Title: title, Text: text, Link: link, Time: time.UnixMilli(ms1)},
			{FeedID: feed + "2", Key: key, Language: lang2, Title: title2, Text: title, Link: link, Time: time.UnixMilli(ms2)},
			{FeedID: feed, Key: key + "3", Language: lang, Title: title, Text: text, Time: time.UnixMilli(ms1)},
		}
		// Restore takes any story id without panicking, and an id it made.
		if err := a.Restore(items[2], Story{ID: key, FirstSeen: time.UnixMilli(ms2)}); err == nil && !idPattern.MatchString(key) {
			t.Fatalf("Restore accepted story id %q", key)
		}
		for i, it := range items {
			s := a.Assign(it)
			if !idPattern.MatchString(s.ID) {
				t.Fatalf("item %d: id %q is not 16 hex digits", i, s.ID)
			}
			if s.Size < 1 || s.First != (s.Size == 1) && s.First {
				t.Fatalf("item %d: First %v with size %d", i, s.First, s.Size)
			}
			if len(s.Feeds) > MaxSources || len(s.Publishers) > MaxSources {
				t.Fatalf("item %d: %d feeds, %d publishers, want at most %d", i, len(s.Feeds), len(s.Publishers), MaxSources)
			}
		}
	})
}

// FuzzHost holds the publisher read from a link without url.Parse to url.Parse's answer.
func FuzzHost(f *testing.F) {
	for _, link := range []string{
		"https://feed1.example/a/1", "http://www.bbc.co.uk/news?x=1#top", "https://a.example", "https://a.example?q",
		"https://a.example#f", "https://a-b.c9.example/", "https://www.example/", "https://www./", "https://", "http:///a",
		"https://a..b/", "https://-a.example/", "https://a.example:8080/", "https://A.example/", "https://user@a.example/",
		"https://a.example/%zz", "https://a.example/%41", "https://a.example/a b", "https://a.example/\x7f", "https://a.example/\n",
		"https://a.example/é", "https://a.example#%zz", "https://a.example?%zz", "https://[::1]/", "https://a_b.example/",
		"HTTPS://a.example/", "https:/a.example/", "ftp://a.example/", "https://a.example\\b", "https://www.www.example/",
	} {
		f.Add(link)
	}
	f.Fuzz(func(t *testing.T, link string) {
		h, ok := plainHost(link)
		if !ok {
			return
		}
		u, err := url.Parse(link)
		if err != nil {
			t.Fatalf("plainHost(%q) = %q, but url.Parse fails: %v", link, h, err)
		}
		if want := strings.ToLower(u.Hostname()); h != want || u.Host == "" {
			t.Fatalf("plainHost(%q) = %q, url.Parse gives host %q", link, h, want)
		}
	})
}
