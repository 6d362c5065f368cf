package source

import (
	"bytes"
	"strconv"
	"strings"
	"testing"
)

// Documents near MaxDocBytes, the worst each parser reads, and a real-sized one.
func BenchmarkParsers(b *testing.B) {
	big := func(limit int, head, item, tail string) []byte {
		var buf bytes.Buffer
		buf.WriteString(head)
		for i := 0; buf.Len() < limit-len(item)-len(tail)-16; i++ {
			buf.WriteString(strings.ReplaceAll(item, "$", strconv.Itoa(i)))
		}
		buf.WriteString(tail)
		return buf.Bytes()
	}
	page := mustURL(b, "https://a.example/")
	sitemapFixture := fixture(b, "news-sitemap.xml")
	htmlFixture := fixture(b, "ministry.html")
	telegramFixture := fixture(b, "telegram.html")
	mastodonFixture := fixture(b, "mastodon-tag.json")
	blueskyFixture := fixture(b, "bluesky.json")
	sitemapHuge := big(MaxDocBytes, `<urlset>`, `<url><loc>/a/$</loc><news><title>t $</title></news></url>`, `</urlset>`)
	sitemapField := big(MaxDocBytes, `<urlset><url><loc>/a</loc><news><title>`, `x`, `</title></news></url></urlset>`)
	htmlHuge := big(MaxPageBytes, `<ul>`, `<li><a href="/a/$">t $</a></li>`, `</ul>`)
	mastodonHuge := big(MaxDocBytes, `[`, `{"uri":"https://m.example/s/$","content":"<p>x $</p>","account":{"acct":"a"}},`, `{}]`)
	benches := []struct {
		name  string
		data  []byte
		parse func([]byte) error
	}{
		{"sitemap/fixture", sitemapFixture, func(d []byte) error { _, _, err := Sitemap(d, page); return err }},
		{"sitemap/16MiB-of-urls", sitemapHuge, func(d []byte) error { _, _, err := Sitemap(d, page); return err }},
		{"sitemap/16MiB-title", sitemapField, func(d []byte) error { _, _, err := Sitemap(d, page); return err }},
		{"html/fixture", htmlFixture, func(d []byte) error { _, err := HTML(d, page, ministrySelectors); return err }},
		{"html/5MiB-of-items", htmlHuge, func(d []byte) error { _, err := HTML(d, page, Selectors{Item: "li"}); return err }},
		{"telegram/fixture", telegramFixture, func(d []byte) error { _, err := Telegram(d, page); return err }},
		{"mastodon/fixture", mastodonFixture, func(d []byte) error { _, err := Mastodon(d, page); return err }},
		{"mastodon/16MiB-of-statuses", mastodonHuge, func(d []byte) error { _, err := Mastodon(d, page); return err }},
		{"bluesky/fixture", blueskyFixture, func(d []byte) error { _, err := Bluesky(d, page, false); return err }},
	}
	for _, bb := range benches {
		b.Run(bb.name, func(b *testing.B) {
			b.SetBytes(int64(len(bb.data)))
			b.ReportAllocs()
			for b.Loop() {
				if err := bb.parse(bb.data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
