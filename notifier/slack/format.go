package slack

import (
	"fmt"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	slackapi "github.com/slack-go/slack"

	"github.com/newswatch/newswatch/notifier"
)

// Message is what is posted for one alert: Block Kit blocks and the plain-text fallback that
// notifications and clients without blocks show.
type Message struct {
	Text    string
	Blocks  []slackapi.Block
	EventID string // the alert's event id, attached as metadata where the transport allows
}

// Limits of Block Kit, in characters.
const (
	maxHeader  = 150
	maxSection = 3000
	maxSnippet = 2000
	maxTerms   = 10
)

// Format builds the message of an alert: a header with the item's title; a section with the
// link, the feed and the authors; the snippet with the matched words in bold; a context line with
// the rule, the matched terms and the publication time. Every piece of text that comes from a
// feed is escaped: the header is plain text, the snippet is rich text whose styles are data, and
// the mrkdwn parts have &, < and > escaped, so a feed cannot mention @channel or forge links.
func Format(ev notifier.Event) Message {
	d := ev.Data
	title := strings.TrimSpace(d.Item.Title)
	if title == "" {
		title = "New item in " + feedName(d.Feed)
	}
	blocks := []slackapi.Block{
		slackapi.NewHeaderBlock(slackapi.NewTextBlockObject(slackapi.PlainTextType, truncate(title, maxHeader), false, false),
			slackapi.HeaderBlockOptionBlockID("header")),
		slackapi.NewSectionBlock(slackapi.NewTextBlockObject(slackapi.MarkdownType, truncate(itemLine(d), maxSection), false, true),
			nil, nil, slackapi.SectionBlockOptionBlockID("item")),
	}
	if text, spans := snippet(d); text != "" {
		blocks = append(blocks, snippetBlock(text, spans))
	}
	blocks = append(blocks, slackapi.NewContextBlock("context", contextElements(ev)...))
	return Message{Text: fallback(ev, title), Blocks: blocks, EventID: ev.ID}
}

// itemLine is the section's mrkdwn: the link, the feed and the authors.
func itemLine(d notifier.EventData) string {
	var b strings.Builder
	if u, ok := safeURL(d.Item.Link); ok {
		fmt.Fprintf(&b, "<%s|Read the article>", u)
	} else if d.Item.Link != "" {
		b.WriteString(escape(d.Item.Link))
	} else {
		b.WriteString("(no link)")
	}
	fmt.Fprintf(&b, " · Feed: *%s*", escape(feedName(d.Feed)))
	if d.Feed.Title != "" {
		fmt.Fprintf(&b, " (`%s`)", escape(d.Feed.ID))
	}
	if len(d.Item.Authors) > 0 {
		fmt.Fprintf(&b, "\nBy %s", escape(strings.Join(d.Item.Authors, ", ")))
	}
	return b.String()
}

// snippetBlock is the snippet as rich text, the spans in bold.
func snippetBlock(text string, spans []span) slackapi.Block {
	var elems []slackapi.RichTextSectionElement
	pos := 0
	for _, s := range spans {
		if s.start > pos {
			elems = append(elems, slackapi.NewRichTextSectionTextElement(text[pos:s.start], nil))
		}
		elems = append(elems, slackapi.NewRichTextSectionTextElement(text[s.start:s.end],
			&slackapi.RichTextSectionTextStyle{Bold: true}))
		pos = s.end
	}
	if pos < len(text) {
		elems = append(elems, slackapi.NewRichTextSectionTextElement(text[pos:], nil))
	}
	return slackapi.NewRichTextBlock("snippet", slackapi.NewRichTextSection(elems...))
}

// contextElements are the rule, the matched terms and the publication time.
func contextElements(ev notifier.Event) []slackapi.MixedElement {
	d := ev.Data
	md := func(s string) slackapi.MixedElement {
		return slackapi.NewTextBlockObject(slackapi.MarkdownType, truncate(s, maxSection), false, true)
	}
	elems := []slackapi.MixedElement{md(fmt.Sprintf("Rule `%s`", escape(d.Rule.ID)))}
	if terms := matchedTerms(d.Hits); len(terms) > 0 {
		quoted := make([]string, len(terms))
		for i, t := range terms {
			quoted[i] = "“" + escape(t) + "”"
		}
		elems = append(elems, md("Matched "+strings.Join(quoted, ", ")))
	}
	label, stamp := "Published", d.Item.Published
	if stamp == "" {
		label, stamp = "Updated", d.Item.Updated
	}
	if stamp == "" {
		label, stamp = "Matched", ev.Time
	}
	if t, err := time.Parse(time.RFC3339, stamp); err == nil {
		// Slack shows the date in each reader's time zone; the fallback after "|" is UTC.
		elems = append(elems, md(fmt.Sprintf("%s <!date^%d^{date_short_pretty} {time}|%s>", label, t.Unix(), t.UTC().Format(time.RFC3339))))
	}
	return elems
}

// matchedTerms are the distinct texts of the hits, in order, case-insensitively, at most maxTerms.
func matchedTerms(hits []notifier.EventHit) []string {
	var terms []string
	seen := map[string]bool{}
	for _, h := range hits {
		t := strings.TrimSpace(h.Text)
		if t == "" || seen[strings.ToLower(t)] {
			continue
		}
		seen[strings.ToLower(t)] = true
		terms = append(terms, truncate(t, 80))
		if len(terms) == maxTerms {
			break
		}
	}
	return terms
}

// fallback is the message's text: shown in notifications and where blocks are not.
func fallback(ev notifier.Event, title string) string {
	d := ev.Data
	var b strings.Builder
	b.WriteString(escape(title))
	if u, ok := safeURL(d.Item.Link); ok {
		b.WriteString(" " + u)
	}
	fmt.Fprintf(&b, " (rule %s, feed %s)", escape(d.Rule.ID), escape(d.Feed.ID))
	return truncate(b.String(), maxSection)
}

func feedName(f notifier.EventFeed) string {
	if t := strings.TrimSpace(f.Title); t != "" {
		return t
	}
	return f.ID
}

// escape makes text safe inside mrkdwn: Slack reads "<…>" as links and mentions and requires
// &, < and > as entities.
func escape(s string) string {
	return mrkdwnEscaper.Replace(s)
}

var mrkdwnEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

// safeURL returns an http or https link ready to go inside "<…|…>", or false.
func safeURL(raw string) (string, bool) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", false
	}
	return strings.ReplaceAll(escape(u.String()), "|", "%7C"), true
}

// truncate cuts s to at most n characters, ending with "…" when it cut.
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	i, count := 0, 0
	for i = range s {
		if count == n-1 {
			break
		}
		count++
	}
	return s[:i] + "…"
}
