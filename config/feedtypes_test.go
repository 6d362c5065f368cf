package config

import (
	"errors"
	"reflect"
	"testing"
)

func TestFeedTypes(t *testing.T) {
	cfg, err := Parse("nw.yaml", yamlLines(
		"defaults: {fulltext: auto}",
		"feeds:",
		"  - {id: plain, url: 'https://a.example/rss'}",
		"  - id: press",
		"    type: html",
		"    url: https://mod.example/press/",
		"    fulltext: always",
		"    selectors: {item: li.news, title: h3, link: 'h3 a'}",
		"  - {id: wire, type: telegram, channel: examplewire, fulltext: never}",
		"  - {id: tag, type: mastodon, instance: 'https://m.example', tag: kursk}",
		"  - {id: acct, type: mastodon, instance: 'https://m.example', account: 'desk@other.example', exclude_replies: true}",
		"  - {id: sky, type: bluesky, account: monitor.example.com, reposts: false}",
		"  - {id: news, type: sitemap, url: 'https://a.example/news-sitemap.xml'}",
	))
	if err != nil {
		t.Fatal(err)
	}
	type view struct {
		Type, FullText, Channel, Instance, Tag, Account string
		Selectors                                       Selectors
		ExcludeReplies, Reposts                         bool
	}
	want := []view{
		{FullText: "auto", Reposts: true},
		{Type: "html", FullText: "always", Selectors: Selectors{Item: "li.news", Title: "h3", Link: "h3 a"}, Reposts: true},
		{Type: "telegram", FullText: "never", Channel: "examplewire", Reposts: true},
		{Type: "mastodon", FullText: "auto", Instance: "https://m.example", Tag: "kursk", Reposts: true},
		{Type: "mastodon", FullText: "auto", Instance: "https://m.example", Account: "desk@other.example", ExcludeReplies: true, Reposts: true},
		{Type: "bluesky", FullText: "auto", Account: "monitor.example.com"},
		{Type: "sitemap", FullText: "auto", Reposts: true},
	}
	for i, f := range cfg.Feeds {
		got := view{f.Type, f.FullText, f.Channel, f.Instance, f.Tag, f.Account, f.Selectors, f.ExcludeReplies, f.Reposts}
		if got != want[i] {
			t.Errorf("feeds[%d] %s:\ngot  %+v\nwant %+v", i, f.ID, got, want[i])
		}
	}
}

func TestFeedTypeErrors(t *testing.T) {
	tests := []struct {
		name string
		data []byte
		want []string
	}{
		{
			name: "unknown type and fulltext",
			data: yamlLines("feeds: [{id: a, url: 'https://a.example', type: atom, fulltext: yes}]"),
			want: []string{
				`nw.yaml:1:49: invalid type "atom": want rss, sitemap, html, telegram, mastodon or bluesky`,
				`nw.yaml:1:65: invalid fulltext "yes": want never, auto or always`,
			},
		},
		{
			name: "html without selectors, and a selector that does not compile",
			data: yamlLines(
				"feeds:",
				"  - {id: a, url: 'https://a.example', type: html}",
				"  - {id: b, url: 'https://a.example', type: html, selectors: {item: 'li[', titel: h3}}",
			),
			want: []string{
				`nw.yaml:2:5: feed of type html has no "selectors" (item, and optionally title, link, date, summary)`,
				`nw.yaml:3:51: selectors has no "item"`,
				`nw.yaml:3:69: invalid selectors.item "li[": expected identifier, found EOF instead`,
				`nw.yaml:3:76: unknown key "titel"; did you mean "title"?`,
			},
		},
		{
			name: "options of another type",
			data: yamlLines("feeds: [{id: a, url: 'https://a.example', channel: wirewire}]"),
			want: []string{`nw.yaml:1:43: "channel" does not apply to a feed of type rss`},
		},
		{
			name: "telegram without a channel or with both",
			data: yamlLines(
				"feeds:",
				"  - {id: a, type: telegram}",
				"  - {id: b, type: telegram, channel: wirewire, url: 'https://t.me/s/wirewire'}",
				"  - {id: c, type: telegram, channel: 'no'}",
			),
			want: []string{
				`nw.yaml:2:5: feed of type telegram has no "channel" (or "url")`,
				`nw.yaml:3:48: give url or channel, not both`,
				`nw.yaml:4:38: invalid telegram channel "no": want 4 to 32 letters, digits or _, starting with a letter`,
			},
		},
		{
			name: "mastodon needs one of tag and account",
			data: yamlLines(
				"feeds:",
				"  - {id: a, type: mastodon, instance: 'https://m.example'}",
				"  - {id: b, type: mastodon, instance: 'https://m.example', tag: x, exclude_replies: true}",
				"  - {id: c, type: mastodon, instance: 'ftp://m.example', account: 'bad name'}",
			),
			want: []string{
				`nw.yaml:2:29: give tag or account (one of them) with instance`,
				`nw.yaml:3:68: "exclude_replies" applies to an account, not a tag`,
				`nw.yaml:4:39: invalid instance "ftp://m.example": want the server's address, such as https://mastodon.social`,
				`nw.yaml:4:58: invalid mastodon account "bad name": want user or user@domain`,
			},
		},
		{
			name: "bluesky account",
			data: yamlLines("feeds: [{id: a, type: bluesky, account: 'not a handle'}]"),
			want: []string{`nw.yaml:1:32: invalid bluesky account "not a handle": want a handle (name.bsky.social) or a did:plc:…`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("nw.yaml", tt.data)
			var errs Errors
			if !errors.As(err, &errs) {
				t.Fatalf("got error %T %v, want Errors", err, err)
			}
			got := make([]string, len(errs))
			for i, e := range errs {
				got[i] = e.Error()
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("errors:\ngot  %q\nwant %q", got, tt.want)
			}
		})
	}
}
