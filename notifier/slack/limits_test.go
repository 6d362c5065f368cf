package slack

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	slackapi "github.com/slack-go/slack"

	"github.com/newswatch/newswatch/notifier"
	"github.com/newswatch/newswatch/notifier/slack/fakeslack"
)

// repeat is s repeated up to at least n bytes.
func repeat(s string, n int) string { return strings.Repeat(s, n/len(s)+1) }

// hitsOf are the hits of every occurrence of each term in the summary, at their byte offsets.
func hitsOf(summary string, terms ...string) []notifier.EventHit {
	var hits []notifier.EventHit
	for _, term := range terms {
		for from := 0; ; {
			i := strings.Index(summary[from:], term)
			if i < 0 {
				break
			}
			start := from + i
			hits = append(hits, notifier.EventHit{Field: "summary", Start: start, End: start + len(term), Text: term})
			from = start + len(term)
		}
	}
	return hits
}

func eventData(snippet string, terms ...string) notifier.EventData {
	d := notifier.EventData{Snippet: snippet}
	for _, t := range terms {
		d.Hits = append(d.Hits, notifier.EventHit{Field: "summary", Text: t})
	}
	return d
}

// baseEvent is an ordinary alert, which each case below makes hostile in one way.
func baseEvent() notifier.Event {
	return notifier.Event{ID: "e1", Time: "2026-11-26T15:37:26Z", Data: notifier.EventData{
		Rule: notifier.EventRule{ID: "dprk-troops"},
		Feed: notifier.EventFeed{ID: "world", Title: "World News"},
		Item: notifier.EventItem{
			Title: "North Korea sends troops", Link: "https://example.org/world/1?a=1&b=2",
			Summary: "North Korea confirmed that its troops fight in Kursk.", Published: "2026-11-26T15:30:00Z",
			Authors: []string{"Jane Doe"},
		},
		Hits:    []notifier.EventHit{{Field: "title", Start: 0, End: 11, Text: "North Korea"}},
		Snippet: "… North Korea confirmed that its troops fight in Kursk …",
	}}
}

// Whatever a feed sends, the message is within Block Kit's limits, as the test Slack checks
// them, and no link, entity, span or character is cut in two.
func TestFormatStaysWithinBlockKitLimits(t *testing.T) {
	links := repeat(`<a href="https://example.org/?a=1&b=2">North Korea</a> &amp; <https://evil.example|click> <!channel> troops Войска КНДР 북한군 🇰🇷👍🏽 `, 10_000)
	tests := []struct {
		name   string
		change func(*notifier.Event)
		check  func(t *testing.T, m Message, section string)
	}{
		{name: "10 KB title", change: func(e *notifier.Event) { e.Data.Item.Title = repeat("North Korea sends troops & more ", 10_000) }},
		{name: "10 KB Russian title", change: func(e *notifier.Event) {
			e.Data.Item.Title = repeat("Войска КНДР в Курской области ", 10_000)
		}},
		{name: "10 KB Korean title", change: func(e *notifier.Event) { e.Data.Item.Title = repeat("북한군 쿠르스크 파병 ", 10_000) }},
		{name: "10 KB of emoji", change: func(e *notifier.Event) {
			e.Data.Item.Title = repeat("🇰🇷👨\u200d👩\u200d👧👍🏽❤\ufe0f", 10_000)
			e.Data.Snippet = e.Data.Item.Title
		}},
		{name: "title of markup", change: func(e *notifier.Event) { e.Data.Item.Title = repeat("<!channel>&<@U1>", 10_000) }},
		{name: "summary full of links, entities and 20+ hits", change: func(e *notifier.Event) {
			e.Data.Snippet = ""
			e.Data.Item.Summary = links
			e.Data.Hits = hitsOf(links, "North Korea", "troops", "КНДР", "북한군")
		}},
		{name: "snippet full of links, entities and 20+ hits", change: func(e *notifier.Event) {
			e.Data.Snippet = links
			e.Data.Hits = nil
			for i := range 30 {
				e.Data.Hits = append(e.Data.Hits, notifier.EventHit{Field: "summary", Text: []string{"North Korea", "troops", "КНДР", "<!channel>", "&amp;", "🇰🇷"}[i%6]})
			}
		}},
		{name: "25 distinct terms of 1 KB each", change: func(e *notifier.Event) {
			e.Data.Hits = nil
			for i := range 25 {
				e.Data.Hits = append(e.Data.Hits, notifier.EventHit{Field: "title", Text: fmt.Sprintf("%d %s", i, repeat("<&>Курск", 1000))})
			}
		}},
		{name: "5,000 authors and categories", change: func(e *notifier.Event) {
			e.Data.Item.Authors, e.Data.Item.Categories = nil, nil
			for i := range 5000 {
				e.Data.Item.Authors = append(e.Data.Item.Authors, fmt.Sprintf("Автор <%d> & Co", i))
				e.Data.Item.Categories = append(e.Data.Item.Categories, fmt.Sprintf("category %d", i))
			}
		}, check: func(t *testing.T, m Message, section string) {
			if !strings.Contains(section, "more") || !strings.Contains(section, "By Автор &lt;0&gt; &amp; Co, ") {
				t.Errorf("section: got %q, want the first authors and how many more", section)
			}
		}},
		{name: "three 10 KB authors", change: func(e *notifier.Event) {
			e.Data.Item.Authors = []string{repeat("Jane & <Doe> ", 10_000), repeat("이순신 ", 10_000), repeat("Пётр ", 10_000)}
		}},
		{name: "huge link", change: func(e *notifier.Event) { e.Data.Item.Link = "https://example.org/?q=" + repeat("a&b", 5000) },
			check: func(t *testing.T, m Message, section string) {
				if !strings.HasPrefix(section, "(a link of ") || strings.Contains(m.Text, "https://") {
					t.Errorf("section %q, text %q: want the link not shown, and not in the text", section[:50], m.Text)
				}
			}},
		{name: "link full of entities is kept whole", change: func(e *notifier.Event) {
			e.Data.Item.Link = "https://example.org/" + repeat("<&>|", 400)
		}, check: func(t *testing.T, m Message, section string) {
			u, _ := safeURL("https://example.org/" + repeat("<&>|", 400))
			if !strings.HasPrefix(section, "<"+u+"|Read the article>") || !strings.Contains(m.Text, " "+u+" ") {
				t.Errorf("section %.80q…: want the whole link first, and in the text", section)
			}
		}},
		{name: "not a link, 10 KB", change: func(e *notifier.Event) { e.Data.Item.Link = repeat("javascript:<&>", 10_000) }},
		{name: "huge feed title, feed id and rule id", change: func(e *notifier.Event) {
			e.Data.Feed = notifier.EventFeed{ID: repeat("feed<&>", 2000), Title: repeat("Мировые новости & <co> ", 10_000)}
			e.Data.Rule.ID = repeat("rule&", 2000)
		}},
		{name: "everything at once", change: func(e *notifier.Event) {
			e.Data.Item.Title = repeat("Войска КНДР 🇰🇷 & <troops> ", 10_000)
			e.Data.Item.Link = "https://example.org/" + repeat("<&>|", 400)
			e.Data.Feed = notifier.EventFeed{ID: repeat("feed<&>", 2000), Title: repeat("Мировые новости & <co> ", 10_000)}
			e.Data.Rule.ID = repeat("rule&", 2000)
			e.Data.Snippet = ""
			e.Data.Item.Summary = links
			e.Data.Hits = hitsOf(links, "North Korea", "troops", "КНДР", "북한군", "<!channel>")
			for i := range 1000 {
				e.Data.Item.Authors = append(e.Data.Item.Authors, repeat(fmt.Sprintf("Автор %d & <Co> ", i), 200))
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := baseEvent()
			tt.change(&ev)
			m := Format(ev)
			raw, err := json.Marshal(m.Blocks)
			if err != nil {
				t.Fatal(err)
			}
			if refusal := fakeslack.CheckBlocks(raw); refusal != nil {
				t.Fatalf("the test Slack refuses the blocks: %v", refusal)
			}
			if len(m.Blocks) > maxBlocks {
				t.Errorf("blocks: got %d, want at most %d", len(m.Blocks), maxBlocks)
			}
			if n := blocksTextLen(t, raw); n > 8000 {
				t.Errorf("texts of the blocks: got %d characters, want at most 8,000", n)
			}
			if n := textLen(m.Text); n > maxFallback || n == 0 {
				t.Errorf("text: got %d characters, want 1 to %d", n, maxFallback)
			}
			if err := checkMrkdwn(m.Text); err != nil {
				t.Errorf("text %q: %v", m.Text, err)
			}
			header := m.Blocks[0].(*slackapi.HeaderBlock).Text.Text
			if !utf8.ValidString(header) || textLen(header) > maxHeader || strings.ContainsRune(header, '\ufffd') {
				t.Errorf("header: got %q, want at most %d whole characters", header, maxHeader)
			}
			section := m.Blocks[1].(*slackapi.SectionBlock).Text.Text
			if err := checkMrkdwn(section); err != nil {
				t.Errorf("section %q: %v", section, err)
			}
			for _, b := range m.Blocks[2:] {
				switch b := b.(type) {
				case *slackapi.ContextBlock:
					for _, e := range b.ContextElements.Elements {
						if err := checkMrkdwn(e.(*slackapi.TextBlockObject).Text); err != nil {
							t.Errorf("context %q: %v", e.(*slackapi.TextBlockObject).Text, err)
						}
					}
				case *slackapi.RichTextBlock:
					checkSnippet(t, b)
				}
			}
			if tt.check != nil {
				tt.check(t, m, section)
			}
		})
	}
}

// checkSnippet checks the rich text of the snippet: whole characters, no empty element, at most
// maxBold bold ones.
func checkSnippet(t *testing.T, b *slackapi.RichTextBlock) {
	t.Helper()
	bold := 0
	for _, e := range b.Elements[0].(*slackapi.RichTextSection).Elements {
		te := e.(*slackapi.RichTextSectionTextElement)
		if te.Text == "" || !utf8.ValidString(te.Text) || strings.ContainsRune(te.Text, '\ufffd') {
			t.Errorf("snippet element %q: want whole characters", te.Text)
		}
		if te.Style != nil && te.Style.Bold {
			bold++
		}
	}
	if bold > maxBold {
		t.Errorf("snippet: got %d bold spans, want at most %d", bold, maxBold)
	}
}

// blocksTextLen is the length of every text in the blocks, as Slack adds them up.
func blocksTextLen(t *testing.T, raw []byte) int {
	t.Helper()
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	var walk func(v any) int
	walk = func(v any) int {
		n := 0
		switch v := v.(type) {
		case []any:
			for _, e := range v {
				n += walk(e)
			}
		case map[string]any:
			for k, e := range v {
				if s, ok := e.(string); ok && k == "text" {
					n += textLen(s)
				} else {
					n += walk(e)
				}
			}
		}
		return n
	}
	return walk(v)
}

// checkMrkdwn parses mrkdwn as Slack reads it and fails on anything cut in two: a link or date
// not closed, or not of our forms; an entity other than &amp; &lt; &gt;; a ">" outside a link; a
// span in bold or in code not closed; a broken character. (The feed text of these tests holds
// no "*" nor "`".)
func checkMrkdwn(s string) error {
	if !utf8.ValidString(s) || strings.ContainsRune(s, '\ufffd') {
		return errors.New("a broken character")
	}
	stars, ticks := 0, 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '<':
			end := strings.IndexByte(s[i:], '>')
			if end < 0 {
				return fmt.Errorf("a link cut at %d", i)
			}
			inner := s[i+1 : i+end]
			target, label, ok := strings.Cut(inner, "|")
			switch {
			case !ok || label == "" || strings.ContainsAny(inner, "<") || strings.Contains(label, "|"):
				return fmt.Errorf("a malformed link %q", inner)
			case !strings.HasPrefix(target, "https://") && !strings.HasPrefix(target, "http://") && !strings.HasPrefix(target, "!date^"):
				return fmt.Errorf("a link to %q: a mention or a forged link", target)
			}
			if err := checkEntities(inner); err != nil {
				return err
			}
			i += end
		case '>':
			return fmt.Errorf("a > outside a link at %d", i)
		case '&':
			if err := checkEntities(s[i:]); err != nil {
				return err
			}
		case '*':
			stars++
		case '`':
			ticks++
		}
	}
	if stars%2 != 0 || ticks%2 != 0 {
		return fmt.Errorf("a span not closed (%d *, %d `)", stars, ticks)
	}
	return nil
}

// checkEntities checks that every & in s starts &amp;, &lt; or &gt;.
func checkEntities(s string) error {
	for _, part := range strings.Split(s, "&")[1:] {
		if !strings.HasPrefix(part, "amp;") && !strings.HasPrefix(part, "lt;") && !strings.HasPrefix(part, "gt;") {
			return fmt.Errorf("an entity cut in two: &%q", part[:min(5, len(part))])
		}
	}
	return nil
}
