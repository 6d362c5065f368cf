package source

import (
	"errors"
	"net/url"
	"strings"
	"testing"
)

func TestTelegram(t *testing.T) {
	page := mustURL(t, "https://t.me/s/examplewire")
	f, err := Telegram(fixture(t, "telegram.html"), page)
	if err != nil {
		t.Fatal(err)
	}
	if f.Title != "Example War Wire" {
		t.Errorf("feed title %q", f.Title)
	}
	checkItems(t, f, []want{
		// newest first; the photo-only message keeps its link and date
		{Link: "https://t.me/examplewire/48213", GUID: "https://t.me/examplewire/48213", Published: "2026-12-03T08:31:00Z", Authors: nil},
		{
			Title:     "The General Staff reports DPRK troops seen near Kursk &amp; Belgorod; losses confirmed by two sources. This message is long enough that its…",
			Link:      "https://t.me/examplewire/48212",
			Published: "2026-12-03T08:20:45Z",
			Authors:   []string{"General Staff (example)"},
		},
		{
			Title:     "⚡️Air-raid alert in Kharkiv and Sumy regions.",
			Link:      "https://t.me/examplewire/48211",
			Published: "2026-12-03T07:58:12Z",
			Authors:   []string{"Example War Wire"},
			Content:   `⚡️<b>Air-raid alert</b> in Kharkiv and Sumy regions.<br/><br/>Residents are urged to go to shelters. <a href="https://t.me/examplewire" target="_blank">@examplewire</a>`,
		},
		// the forged data-post is skipped
	})
	if f.Items[0].Title != "" {
		t.Errorf("photo-only message: title %q, want none", f.Items[0].Title)
	}
}

func TestTelegramURL(t *testing.T) {
	tests := []struct{ in, want string }{
		{"examplewire", "https://t.me/s/examplewire"},
		{"@Example_Wire", "https://t.me/s/Example_Wire"},
		{"abc", ""},
		{"ex/../s", ""},
		{"1wire", ""},
	}
	for _, tt := range tests {
		got, err := TelegramURL(tt.in)
		if got != tt.want || (tt.want == "") != errors.Is(err, ErrOptions) {
			t.Errorf("TelegramURL(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestTelegramHostile(t *testing.T) {
	page := mustURL(t, "https://t.me/s/examplewire")
	msg := `<div class="tgme_widget_message" data-post="examplewire/1"><div class="tgme_widget_message_text">x</div></div>`
	tests := []struct {
		name    string
		data    string
		wantErr error
		items   int
	}{
		{"empty", "", ErrEmpty, 0},
		{"too large", strings.Repeat("\n", MaxPageBytes+1), ErrTooLarge, 0},
		{"private channel page", `<html><body><div class="tgme_page"><div class="tgme_page_title">Private</div></div></body></html>`, ErrNoItems, 0},
		{"markup changed", `<html><body><div class="message" data-post="a/1">x</div></body></html>`, ErrNoItems, 0},
		{"json", `{"ok":false}`, ErrNoItems, 0},
		{"too deep", strings.Repeat("<div>", 1000) + msg, ErrMalformed, 0},
		{"many messages", strings.Repeat(msg, MaxItems+5), nil, MaxItems},
		{"huge text", `<div class="tgme_widget_message" data-post="examplewire/1"><div class="tgme_widget_message_text">` + strings.Repeat("a<br>", MaxFieldBytes) + `</div></div>`, nil, 1},
		{"bad date", `<div class="tgme_widget_message" data-post="examplewire/2"><a class="tgme_widget_message_date"><time datetime="soon">x</time></a></div>`, nil, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Telegram([]byte(tt.data), page)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) || f != nil {
					t.Fatalf("got %v (feed %v), want %v", err, f != nil, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("got error %v", err)
			}
			if len(f.Items) != tt.items {
				t.Fatalf("got %d items, want %d", len(f.Items), tt.items)
			}
			checkFeed(t, f)
		})
	}
}

func TestMastodon(t *testing.T) {
	page := mustURL(t, "https://mastodon.example/api/v1/timelines/tag/kursk?limit=40")
	f, err := Mastodon(fixture(t, "mastodon-tag.json"), page)
	if err != nil {
		t.Fatal(err)
	}
	checkItems(t, f, []want{
		{
			Title:      "Satellite images show new #Kursk trenches &amp; vehicles.",
			Link:       "https://mastodon.example/@osintdesk/113598231405123456",
			GUID:       "https://mastodon.example/users/osintdesk/statuses/113598231405123456",
			Content:    `<p>Satellite images show new <a href="https://mastodon.example/tags/Kursk" class="mention hashtag" rel="tag">#<span>Kursk</span></a> trenches &amp; vehicles.</p><p>Thread below.</p>`,
			Published:  "2026-12-03T09:30:12Z",
			Authors:    []string{"OSINT Desk"},
			Categories: []string{"kursk"},
		},
		{
			Title:      "war, casualties", // the content warning
			Link:       "https://other.example/@reporter/77",
			Published:  "2026-12-03T09:20:00Z",
			Authors:    []string{"reporter@other.example"},
			Categories: []string{"Kursk", "Ukraine"},
		},
		{
			// a boost is the boosted status
			Title:     "Boosted: ceasefire talks resume in Istanbul",
			Link:      "https://news.example/@desk/99",
			GUID:      "https://news.example/users/desk/statuses/99",
			Published: "2026-12-03T08:00:00Z",
			Authors:   []string{"News Desk"},
		},
		// the status without an address is skipped
	})
	if u := f.Items[1].UpdatedParsed; u == nil || u.Format("15:04") != "09:25" {
		t.Errorf("edited status: updated %v, want 09:25", u)
	}
}

func TestMastodonAccount(t *testing.T) {
	id, err := MastodonAccountID(fixture(t, "mastodon-lookup.json"))
	if err != nil || id != "109876543210" {
		t.Fatalf("got %q, %v; want 109876543210", id, err)
	}
	inst := mustURL(t, "https://mastodon.example/some/path")
	tests := []struct {
		name string
		got  func() (string, error)
		want string
	}{
		{"lookup", func() (string, error) { return MastodonLookupURL(inst, "@osintdesk@other.example") }, "https://mastodon.example/api/v1/accounts/lookup?acct=osintdesk%40other.example"},
		{"statuses", func() (string, error) { return MastodonAccountURL(inst, id, true) }, "https://mastodon.example/api/v1/accounts/109876543210/statuses?exclude_replies=true&limit=40"},
		{"tag", func() (string, error) { return MastodonTagURL(inst, "#Курск") }, "https://mastodon.example/api/v1/timelines/tag/%D0%9A%D1%83%D1%80%D1%81%D0%BA?limit=40"},
		{"bad tag", func() (string, error) { return MastodonTagURL(inst, "a/../b") }, ""},
		{"bad acct", func() (string, error) { return MastodonLookupURL(inst, "a b") }, ""},
		{"bad id", func() (string, error) { return MastodonAccountURL(inst, "../1", false) }, ""},
		{"no instance", func() (string, error) { return MastodonTagURL(mustURL(t, "mastodon.example"), "a") }, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.got()
			if got != tt.want || (tt.want == "") != errors.Is(err, ErrOptions) {
				t.Fatalf("got %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestBluesky(t *testing.T) {
	page := mustURL(t, "https://public.api.bsky.app/xrpc/app.bsky.feed.getAuthorFeed?actor=warmonitor.example.com")
	f, err := Bluesky(fixture(t, "bluesky.json"), page, false)
	if err != nil {
		t.Fatal(err)
	}
	checkItems(t, f, []want{
		{
			Title:      "Explosions reported in Belgorod &lt;3 km from the border.",
			Link:       "https://bsky.app/profile/warmonitor.example.com/post/3lcxyzabc2k2a",
			GUID:       "at://did:plc:z72i7hdynmk6r22z27h6tvur/app.bsky.feed.post/3lcxyzabc2k2a",
			Content:    "Explosions reported in Belgorod &lt;3 km from the border.<br>Local officials confirm air defence activity.",
			Published:  "2026-12-03T09:44:11Z",
			Authors:    []string{"War Monitor"},
			Categories: []string{"Belgorod"},
		},
		{
			// a repost; its author's handle does not resolve: the DID stands in
			Link:    "https://bsky.app/profile/did:plc:other00000000000000000000/post/3lcxyzdef7a2b",
			Authors: []string{"did:plc:other00000000000000000000"},
		},
		// the like record is no post: skipped
	})
	if f.Title != "War Monitor" {
		t.Errorf("feed title %q", f.Title)
	}
	f, err = Bluesky(fixture(t, "bluesky.json"), page, true)
	if err != nil || len(f.Items) != 1 {
		t.Fatalf("skipping reposts: got %v, %v; want 1 item", f, err)
	}
}

func TestBlueskyURL(t *testing.T) {
	tests := []struct {
		actor string
		repl  bool
		want  string
	}{
		{"warmonitor.example.com", false, "https://public.api.bsky.app/xrpc/app.bsky.feed.getAuthorFeed?actor=warmonitor.example.com&filter=posts_no_replies&limit=50"},
		{"@did:plc:z72i7hdynmk6r22z27h6tvur", true, "https://public.api.bsky.app/xrpc/app.bsky.feed.getAuthorFeed?actor=did%3Aplc%3Az72i7hdynmk6r22z27h6tvur&filter=posts_with_replies&limit=50"},
		{"nodot", false, ""},
		{"a.b/../c", false, ""},
	}
	for _, tt := range tests {
		got, err := BlueskyURL("", tt.actor, tt.repl)
		if got != tt.want || (tt.want == "") != errors.Is(err, ErrOptions) {
			t.Errorf("BlueskyURL(%q) = %q, %v; want %q", tt.actor, got, err, tt.want)
		}
	}
}

func TestAPIHostile(t *testing.T) {
	page := mustURL(t, "https://api.example/x")
	status := `{"id":"1","uri":"https://m.example/s/1","url":"https://m.example/@a/1","content":"<p>x</p>","created_at":"2026-12-03T00:00:00Z","account":{"id":"1","acct":"a"}}`
	post := `{"post":{"uri":"at://did:plc:abc/app.bsky.feed.post/1","author":{"handle":"a.example"},"record":{"text":"x"},"indexedAt":"2026-12-03T00:00:00Z"}}`
	deep := strings.Repeat("[", 20000) + strings.Repeat("]", 20000)
	var apiErr *APIError
	tests := []struct {
		name    string
		parse   func([]byte) (any, error)
		data    string
		wantErr error
		wantAPI string
		items   int
	}{
		{"mastodon empty", mastodon(page), "", ErrEmpty, "", 0},
		{"mastodon too large", mastodon(page), "[" + strings.Repeat(" ", MaxDocBytes) + "]", ErrTooLarge, "", 0},
		{"mastodon error object", mastodon(page), `{"error":"Record not found"}`, nil, "mastodon api error: Record not found", 0},
		{"mastodon object", mastodon(page), `{"id":"1"}`, ErrWrongType, "", 0},
		{"mastodon html", mastodon(page), `<html><body>Cloudflare</body></html>`, ErrWrongType, "", 0},
		{"mastodon wrong type", mastodon(page), `[{"id":"1","content":7}]`, ErrMalformed, "", 0},
		{"mastodon cut", mastodon(page), `[` + status + `,{"id":`, ErrMalformed, "", 0},
		{"mastodon deep", mastodon(page), deep, ErrMalformed, "", 0},
		{"mastodon nulls", mastodon(page), `[null, {}, {"reblog":null,"url":null}]`, nil, "", 0},
		{"mastodon many", mastodon(page), "[" + strings.TrimSuffix(strings.Repeat(status+",", MaxItems+10), ",") + "]", nil, "", MaxItems},
		{"mastodon huge content", mastodon(page), `[{"uri":"https://m.example/s/1","content":"` + strings.Repeat("<p>a</p>", MaxFieldBytes) + `"}]`, nil, "", 1},
		{"lookup not found", lookup, `{"error":"Record not found"}`, nil, "mastodon api error: Record not found", 0},
		{"lookup list", lookup, `[]`, ErrWrongType, "", 0},
		{"lookup no id", lookup, `{"acct":"a"}`, ErrMalformed, "", 0},
		{"lookup id injection", lookup, `{"id":"1/../../admin"}`, ErrMalformed, "", 0},
		{"bluesky empty", bluesky(page), "\n", ErrEmpty, "", 0},
		{"bluesky error", bluesky(page), `{"error":"InvalidRequest","message":"Profile not found"}`, nil, "bluesky api error InvalidRequest: Profile not found", 0},
		{"bluesky list", bluesky(page), `[]`, ErrWrongType, "", 0},
		{"bluesky no feed", bluesky(page), `{"cursor":"x"}`, ErrWrongType, "", 0},
		{"bluesky feed wrong type", bluesky(page), `{"feed":{"post":1}}`, ErrMalformed, "", 0},
		{"bluesky deep", bluesky(page), `{"feed":` + deep + `}`, ErrMalformed, "", 0},
		{"bluesky nulls", bluesky(page), `{"feed":[null,{},{"post":null},{"post":{}}]}`, nil, "", 0},
		{"bluesky forged uri", bluesky(page), `{"feed":[{"post":{"uri":"at://x/app.bsky.feed.post/1/../../evil","author":{"handle":"a.example"}}}]}`, nil, "", 0},
		{"bluesky many", bluesky(page), `{"feed":[` + strings.TrimSuffix(strings.Repeat(post+",", MaxItems+3), ",") + `]}`, nil, "", MaxItems},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.parse([]byte(tt.data))
			switch {
			case tt.wantAPI != "":
				if !errors.As(err, &apiErr) || err.Error() != tt.wantAPI {
					t.Fatalf("got %v, want APIError %q", err, tt.wantAPI)
				}
			case tt.wantErr != nil:
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("got %v, want %v", err, tt.wantErr)
				}
			case err != nil:
				t.Fatalf("got error %v", err)
			}
			if err != nil {
				if got != nil {
					t.Fatalf("got %v with error %v", got, err)
				}
				return
			}
			if n, ok := got.(int); ok && n != tt.items {
				t.Fatalf("got %d items, want %d", n, tt.items)
			}
		})
	}
}

// mastodon, lookup and bluesky adapt each parser to one signature: the number of items (or the
// id), nil with an error.
func mastodon(page *url.URL) func([]byte) (any, error) {
	return func(b []byte) (any, error) {
		f, err := Mastodon(b, page)
		if err != nil {
			if f != nil {
				return f, err
			}
			return nil, err
		}
		return len(f.Items), nil
	}
}

func bluesky(page *url.URL) func([]byte) (any, error) {
	return func(b []byte) (any, error) {
		f, err := Bluesky(b, page, false)
		if err != nil {
			if f != nil {
				return f, err
			}
			return nil, err
		}
		return len(f.Items), nil
	}
}

func lookup(b []byte) (any, error) {
	id, err := MastodonAccountID(b)
	if err != nil {
		if id != "" {
			return id, err
		}
		return nil, err
	}
	return 0, nil
}

func FuzzTelegram(f *testing.F) {
	f.Add(fixtureF(f, "telegram.html"))
	f.Add([]byte(`<div class="tgme_widget_message" data-post="abcd/1"><time datetime="x"></time></div>`))
	page := mustURL(f, "https://t.me/s/examplewire")
	f.Fuzz(func(t *testing.T, data []byte) {
		feed, err := Telegram(data, page)
		if err != nil {
			if feed != nil {
				t.Fatalf("got a feed with error %v", err)
			}
			return
		}
		checkFeed(t, feed)
		for _, it := range feed.Items {
			if !strings.HasPrefix(it.Link, "https://t.me/") {
				t.Fatalf("link %q off t.me", it.Link)
			}
		}
	})
}

func FuzzMastodon(f *testing.F) {
	f.Add(fixtureF(f, "mastodon-tag.json"))
	f.Add([]byte(`{"error":"x"}`))
	f.Add([]byte(`[{"reblog":{"reblog":{}}}]`))
	page := mustURL(f, "https://m.example/api/v1/timelines/tag/a")
	f.Fuzz(func(t *testing.T, data []byte) {
		feed, err := Mastodon(data, page)
		if err != nil {
			if feed != nil {
				t.Fatalf("got a feed with error %v", err)
			}
			return
		}
		checkFeed(t, feed)
		id, err := MastodonAccountID(data)
		if (err == nil) != isDigits(id) {
			t.Fatalf("got id %q with error %v", id, err)
		}
	})
}

func FuzzBluesky(f *testing.F) {
	f.Add(fixtureF(f, "bluesky.json"))
	f.Add([]byte(`{"feed":[{"post":{"uri":"at://a/app.bsky.feed.post/b"}}]}`))
	page := mustURL(f, "https://public.api.bsky.app/xrpc/app.bsky.feed.getAuthorFeed")
	f.Fuzz(func(t *testing.T, data []byte) {
		feed, err := Bluesky(data, page, false)
		if err != nil {
			if feed != nil {
				t.Fatalf("got a feed with error %v", err)
			}
			return
		}
		checkFeed(t, feed)
		for _, it := range feed.Items {
			if !strings.HasPrefix(it.Link, "https://bsky.app/profile/") {
				t.Fatalf("link %q off bsky.app", it.Link)
			}
		}
	})
}
