package watcher

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"golang.org/x/text/encoding/htmlindex"

	"github.com/newswatch/newswatch/matcher"
)

// encode returns s in the charset named label.
func encode(t *testing.T, label, s string) []byte {
	t.Helper()
	enc, err := htmlindex.Get(label)
	if err != nil {
		t.Fatal(err)
	}
	out, err := enc.NewEncoder().Bytes([]byte(s))
	if err != nil {
		t.Fatalf("encode %q as %s: %v", s, label, err)
	}
	return out
}

// bodyServer answers every request with body under contentType.
func bodyServer(t *testing.T, contentType string, body []byte) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", contentType)
		_, _ = w.Write(body)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// rssIn renders an RSS document with one item titled title, declared in the prolog as label.
func rssIn(label, title string) string {
	return strings.Replace(rss("Feed", rssItem{GUID: "1", Title: title}), `encoding="UTF-8"`, fmt.Sprintf(`encoding=%q`, label), 1)
}

func TestFetchCharsets(t *testing.T) {
	tests := []struct {
		name        string
		label       string // the document's charset
		prolog      bool   // declared in the XML prolog (else only in Content-Type)
		contentType string
		title       string
	}{
		{"windows-1251 prolog", "windows-1251", true, "application/rss+xml", "Бои под Курском"},
		{"windows-1251 header", "windows-1251", false, "text/xml; charset=windows-1251", "Бои под Курском"},
		{"KOI8-R", "koi8-r", true, "text/xml", "Бои под Курском"},
		{"EUC-KR", "euc-kr", true, "application/xml", "북한 군대"},
		{"EUC-KR header", "euc-kr", false, "application/xml; charset=EUC-KR", "북한 군대"},
		{"Shift_JIS", "shift_jis", true, "text/xml", "北朝鮮の部隊"},
		{"ISO-8859-2", "iso-8859-2", true, "text/xml", "Łódź, Kraków"},
		{"ISO-8859-1 header", "iso-8859-1", false, "text/xml; charset=ISO-8859-1", "Café Zürich"},
		{"header says UTF-8, prolog lies", "utf-8", false, "text/xml; charset=utf-8", "Курск"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := rss("Feed", rssItem{GUID: "1", Title: tt.title})
			if tt.prolog {
				doc = rssIn(tt.label, tt.title)
			}
			body := encode(t, tt.label, doc)
			if tt.name == "header says UTF-8, prolog lies" {
				body = []byte(rssIn("windows-1251", tt.title))
			}
			srv := bodyServer(t, tt.contentType, body)
			data, err := FetchOnce(t.Context(), srv.URL, fetchOpts())
			if err != nil {
				t.Fatal(err)
			}
			if !utf8.Valid(data) {
				t.Fatalf("fetched body is not UTF-8")
			}
			_, items, err := ParseItems(data)
			if err != nil {
				t.Fatal(err)
			}
			if len(items) != 1 || items[0].Title != tt.title {
				t.Errorf("got %+v, want one item titled %q", items, tt.title)
			}
		})
	}
}

func TestParseItemsBOMAndUTF16(t *testing.T) {
	doc := rss("Feed", rssItem{GUID: "1", Title: "Курск"})
	utf16 := encode(t, "utf-16le", doc)
	tests := map[string][]byte{
		"UTF-8 BOM":   append([]byte{0xEF, 0xBB, 0xBF}, doc...),
		"UTF-16 BOM":  append([]byte{0xFF, 0xFE}, utf16...),
		"BOM and ws":  append([]byte{0xEF, 0xBB, 0xBF}, "\n  "+strings.TrimPrefix(doc, "")...),
		"no BOM, UTF": []byte(doc),
	}
	for name, body := range tests {
		t.Run(name, func(t *testing.T) {
			_, items, err := ParseItems(body)
			if err != nil || len(items) != 1 || items[0].Title != "Курск" {
				t.Errorf("got %+v, %v, want one item titled Курск", items, err)
			}
		})
	}
}

// TestPollCyrillicAndHangulFeeds polls feeds in windows-1251 and EUC-KR whose items match rules
// written in Cyrillic and Hangul.
func TestPollCyrillicAndHangulFeeds(t *testing.T) {
	ru := encode(t, "windows-1251", rssIn("windows-1251", "Бои под Курском продолжаются"))
	ko := encode(t, "euc-kr", rss("Feed", rssItem{GUID: "k1", Title: "북한 군대 이동"}))
	ruSrv := bodyServer(t, "application/rss+xml", ru)
	koSrv := bodyServer(t, "application/rss+xml; charset=euc-kr", ko)
	rules := []matcher.Rule{{ID: "kursk", Query: "курск*"}, {ID: "dprk", Query: "북한"}}
	all := FirstPoll{Mode: FirstPollAll}
	fru, fko := testFeed("ru", ruSrv.URL, "@every 5m"), testFeed("ko", koSrv.URL, "@every 5m")
	fru.FirstPoll, fko.FirstPoll = all, all
	pub := &memPublisher{}
	w := testWatcher(t, Config{Feeds: []Feed{fru, fko}, Rules: rules, Publisher: pub}, nil)
	for _, id := range []string{"ru", "ko"} {
		if err := w.Poll(t.Context(), id, slot(1)); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	for _, a := range pub.published() {
		got = append(got, a.FeedID+":"+a.RuleID+":"+a.Hits[0].Text)
	}
	slices.Sort(got)
	if want := []string{"ko:dprk:북한", "ru:kursk:Курском"}; !slices.Equal(got, want) {
		t.Errorf("alerts %v, want %v", got, want)
	}
}

func TestParseItemsRepairsInvalidUTF8(t *testing.T) {
	doc := rss("Feed",
		rssItem{GUID: "bad", Title: "broken \xff\xfe bytes \xc3 and a \x01 control"},
		rssItem{GUID: "good", Title: "Troops near Kursk"},
	)
	_, items, err := ParseItems([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != 2 {
		t.Fatalf("got %d items, want 2", len(items))
	}
	for _, it := range items {
		if !utf8.ValidString(it.Title) {
			t.Errorf("title %q is not valid UTF-8", it.Title)
		}
	}
	ix := compile(t, kurskRule)
	mi := items[1].MatcherItem("world", nil)
	if m := ix.Match(&mi); len(m) != 1 {
		t.Errorf("valid item: got %d matches, want 1", len(m))
	}
}

func TestParseItemsTypedErrors(t *testing.T) {
	tests := []struct {
		name  string
		body  string
		want  error
		class ErrorClass
	}{
		{"html", "<!DOCTYPE html>\n<html><head><title>Login</title></head><body><p>Sign in</p></body></html>", ErrNotAFeed, ClassNotAFeed},
		{"empty", "", ErrEmptyBody, ClassEmptyBody},
		{"BOM only", "\xEF\xBB\xBF \n", ErrEmptyBody, ClassEmptyBody},
		{"truncated", rss("Feed", rssItem{GUID: "1", Title: "a"}, rssItem{GUID: "2", Title: "b"})[:150], ErrMalformedFeed, ClassMalformedFeed},
		{"malformed", `<rss version="2.0"><channel><item <title>a</title></item></channel></rss>`, ErrMalformedFeed, ClassMalformedFeed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Through a poll: the class lands in the feed's state.
			srv := bodyServer(t, "text/html", []byte(tt.body))
			state := newMemState()
			w := testWatcher(t, Config{Feeds: []Feed{testFeed("world", srv.URL, "@every 5m")}, State: state}, nil)
			if err := w.Poll(t.Context(), "world", slot(1)); err != nil {
				t.Fatal(err)
			}
			if st := state.state(t, "world"); st.LastErrorClass != tt.class || !strings.Contains(st.LastError, tt.want.Error()) {
				t.Errorf("state: class %q error %q, want %q and %v", st.LastErrorClass, st.LastError, tt.class, tt.want)
			}
			if _, _, err := ParseItems([]byte(tt.body)); !errors.Is(err, tt.want) {
				t.Errorf("ParseItems: got %v, want %v", err, tt.want)
			}
		})
	}
}

const billionLaughs = `<?xml version="1.0"?>
<!DOCTYPE rss [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<rss version="2.0"><channel><title>&lol9;</title>
<item><guid>1</guid><title>&lol9; Kursk</title><description>&lol9;</description></item>
</channel></rss>`

// TestBillionLaughs feeds an entity bomb through fetch and parse: it must finish without
// expanding anything (a gigabyte if it did), well within the test's bound.
func TestBillionLaughs(t *testing.T) {
	srv := bodyServer(t, "application/rss+xml", []byte(billionLaughs))
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	done := make(chan error, 1)
	var items []Item
	go func() {
		data, err := FetchOnce(t.Context(), srv.URL, fetchOpts())
		if err == nil {
			_, items, err = ParseItems(data)
		}
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil && !errors.Is(err, ErrMalformedFeed) {
			t.Fatalf("got %v, want items or ErrMalformedFeed", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("fetch and parse of an entity bomb did not finish within 30s")
	}
	runtime.ReadMemStats(&after)
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 64<<20 {
		t.Errorf("allocated %d MiB, want entities not expanded", alloc>>20)
	}
	for _, it := range items {
		if len(it.Title) > 1000 {
			t.Errorf("title of %d bytes, want entities not expanded", len(it.Title))
		}
	}
}

func TestParseItemsCaps(t *testing.T) {
	var its []rssItem
	for i := range MaxItems + 500 {
		its = append(its, rssItem{GUID: fmt.Sprint(i), Title: "t"})
	}
	_, items, err := ParseItems([]byte(rss("Feed", its...)))
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != MaxItems || items[0].Key != "0" {
		t.Errorf("got %d items starting with %q, want the first %d", len(items), items[0].Key, MaxItems)
	}

	long := strings.Repeat("Курск ", 3*MaxFieldBytes/len("Курск "))
	_, items, err = ParseItems([]byte(rss("Feed", rssItem{GUID: "1", Title: "x" + long, Description: long})))
	if err != nil {
		t.Fatal(err)
	}
	for name, s := range map[string]string{"title": items[0].Title, "summary": items[0].Summary} {
		if len(s) > MaxFieldBytes || len(s) < MaxFieldBytes-utf8.UTFMax || !utf8.ValidString(s) {
			t.Errorf("%s: %d bytes (valid UTF-8: %v), want at most %d, cut at a rune", name, len(s), utf8.ValidString(s), MaxFieldBytes)
		}
	}
}

func TestToUTF8Idempotent(t *testing.T) {
	for _, body := range [][]byte{
		encode(t, "windows-1251", rssIn("windows-1251", "Курск")),
		[]byte("\xEF\xBB\xBF" + rss("x")),
		[]byte("a\xffb"),
	} {
		once := toUTF8(body, "")
		if twice := toUTF8(once, ""); !bytes.Equal(once, twice) {
			t.Errorf("toUTF8 not idempotent: %q then %q", once, twice)
		}
	}
}
