package slack

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	slackapi "github.com/slack-go/slack"

	"github.com/newswatch/newswatch/notifier"
)

// Message is what is posted for one alert: Block Kit blocks and the plain-text fallback that
// notifications and clients without blocks show.
type Message struct {
	Text    string
	Blocks  []slackapi.Block
	EventID string // the alert's event id, attached as metadata where the transport allows
	Feed    string // the feed id and the item key, attached as metadata with the event id
	ItemKey string
	Story   string // the story id, attached as metadata with the event id, when the message is a story's
	// ThreadTS is the ts of the message this one replies to in its thread; "" for a message of
	// the channel. A transport without threads (a webhook) posts nothing in threads.
	ThreadTS string
}

// Limits of Block Kit for a message, in characters as textLen counts them.
const (
	maxBlocks  = 50   // blocks in a message
	maxHeader  = 150  // a header block's text
	maxSection = 3000 // a section's text, and any text object (a context element's)
)

// Bounds of our own on the parts of a message, in characters (textLen), that keep every part
// within Block Kit's limits whatever a feed sends, and the whole message a few thousand
// characters: Slack also refuses, as msg_blocks_too_long, blocks whose texts add up to more than
// about 12,000 characters, a bound it does not document exactly.
const (
	maxSnippet  = 2000 // the quoted snippet
	maxBold     = 50   // bold spans in the snippet; the hits beyond are not bold
	maxTerms    = 10   // matched terms listed
	maxTerm     = 100  // one matched term, escaped
	maxFeedName = 300  // the feed's title or id, escaped
	maxFeedID   = 200  // the feed id after its title, and the rule id
	maxAuthor   = 100  // one author, escaped
	maxAuthors  = 500  // the line of authors
	maxLink     = 1500 // a link longer than this is not shown
	maxTitle    = 300  // the title in the fallback text
	maxFallback = 3000 // the fallback text (Slack would cut it at 40,000)
	maxRules    = 10   // rules named; the others are counted
)

// Format builds the message of an alert: a header with the item's title; a section with the
// link, the feed and the authors; the snippet with the matched words in bold; a context line with
// the rule, the matched terms and the publication time. Every piece of text that comes from a
// feed is escaped: the header is plain text, the snippet is rich text whose styles are data, and
// the mrkdwn parts have &, < and > escaped, so a feed cannot mention @channel or forge links.
// Every part is within Block Kit's limits, cut where it must be with "…", never inside a link, an
// entity or a character, and with a span in bold or in code closed.
func Format(ev notifier.Event) Message {
	return FormatRules(ev, nil)
}

// FormatRules is Format naming the rules that matched the item, the event's own rule among
// them: the message of an item that several rules matched. The snippet and the matched terms
// are the event's. Rules are named in the order given, the event's added last if missing; nil
// names the event's rule alone.
func FormatRules(ev notifier.Event, rules []string) Message {
	d := ev.Data
	if !slices.Contains(rules, d.Rule.ID) {
		rules = append(slices.Clip(rules), d.Rule.ID)
	}
	title := strings.TrimSpace(d.Item.Title)
	if title == "" {
		title = "New item in " + feedName(d.Feed)
	}
	blocks := []slackapi.Block{
		slackapi.NewHeaderBlock(slackapi.NewTextBlockObject(slackapi.PlainTextType, truncate(title, maxHeader), false, false),
			slackapi.HeaderBlockOptionBlockID("header")),
		slackapi.NewSectionBlock(slackapi.NewTextBlockObject(slackapi.MarkdownType, itemLine(d), false, true),
			nil, nil, slackapi.SectionBlockOptionBlockID("item")),
	}
	if text, spans := snippet(d); text != "" {
		blocks = append(blocks, snippetBlock(text, spans))
	}
	blocks = append(blocks, slackapi.NewContextBlock("context", contextElements(ev, rules)...))
	return Message{Text: fallback(ev, title, rules), Blocks: blocks, EventID: ev.ID, Feed: d.Feed.ID, ItemKey: d.Item.Key}
}

// itemLine is the section's mrkdwn: the link, the feed and the authors. Each part has its own
// bound, and the bounds add up to less than a section's limit.
func itemLine(d notifier.EventData) string {
	var m mrkdwn
	switch u, ok := safeURL(d.Item.Link); {
	case ok && textLen(u) <= maxLink:
		m.markup("<" + u + "|Read the article>")
	case ok:
		m.markup(fmt.Sprintf("(a link of %d characters, not shown)", textLen(u)))
	case d.Item.Link != "":
		m.markup(cut(d.Item.Link, maxLink))
	default:
		m.markup("(no link)")
	}
	m.markup(" · Feed: ")
	var name mrkdwn
	name.styled("*", feedName(d.Feed))
	m.markup(name.fit(maxFeedName))
	if d.Feed.Title != "" {
		m.markup(" (" + code(d.Feed.ID, maxFeedID) + ")")
	}
	if line := authorLine(d.Item.Authors); line != "" {
		m.markup("\n" + line)
	}
	return m.fit(maxSection)
}

// authorLine is "By A, B and 3 more": as many authors as fit in maxAuthors, each cut to
// maxAuthor.
func authorLine(authors []string) string {
	var names []string
	for _, a := range authors {
		if a = strings.TrimSpace(a); a != "" {
			names = append(names, a)
		}
	}
	if len(names) == 0 {
		return ""
	}
	line := "By " + cut(names[0], maxAuthor)
	for i, name := range names[1:] {
		name = cut(name, maxAuthor)
		more := fmt.Sprintf(" and %d more", len(names)-1-i)
		// Room is kept for the " and N more" that would follow this name.
		if textLen(line)+textLen(", "+name)+textLen(more) > maxAuthors {
			return line + more
		}
		line += ", " + name
	}
	return line
}

// cut is feed text escaped for mrkdwn and cut to n characters.
func cut(s string, n int) string {
	var m mrkdwn
	m.text(s)
	return m.fit(n)
}

// code is feed text escaped in a code span, cut to n characters.
func code(s string, n int) string {
	var m mrkdwn
	m.styled("`", s)
	return m.fit(n)
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

// ruleList names rules, each written by one, at most maxRules, then "and N more".
func ruleList(rules []string, one func(string) string) string {
	return nameList(rules, maxRules, one)
}

// nameList names items, each written by one, at most n, then "and N more".
func nameList(items []string, n int, one func(string) string) string {
	var names []string
	for i, r := range items {
		if i == n {
			return strings.Join(names, ", ") + fmt.Sprintf(" and %d more", len(items)-i)
		}
		names = append(names, one(r))
	}
	return strings.Join(names, ", ")
}

// contextElements are the rules, the matched terms and the publication time.
func contextElements(ev notifier.Event, rules []string) []slackapi.MixedElement {
	d := ev.Data
	md := func(s string) slackapi.MixedElement {
		return slackapi.NewTextBlockObject(slackapi.MarkdownType, s, false, true)
	}
	label := "Rule "
	if len(rules) > 1 {
		label = "Rules "
	}
	elems := []slackapi.MixedElement{md(label + ruleList(rules, func(r string) string { return code(r, maxFeedID) }))}
	if terms := matchedTerms(d.Hits); len(terms) > 0 {
		quoted := make([]string, len(terms))
		for i, t := range terms {
			quoted[i] = "“" + cut(t, maxTerm) + "”"
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
		terms = append(terms, t)
		if len(terms) == maxTerms {
			break
		}
	}
	return terms
}

// fallback is the message's text: shown in notifications and where blocks are not. The link is
// written whole or left out.
func fallback(ev notifier.Event, title string, rules []string) string {
	return fallbackWith(ev, title, rules, "")
}

// fallbackWith is fallback followed by suffix, markup of our own, which is cut first.
func fallbackWith(ev notifier.Event, title string, rules []string, suffix string) string {
	d := ev.Data
	var m mrkdwn
	m.markup(cut(title, maxTitle))
	if u, ok := safeURL(d.Item.Link); ok && textLen(u) <= maxLink {
		m.markup(" " + u)
	}
	label := " (rule "
	if len(rules) > 1 {
		label = " (rules "
	}
	m.markup(label + ruleList(rules, func(r string) string { return cut(r, maxFeedID) }) + ", feed " + cut(d.Feed.ID, maxFeedID) + ")")
	m.markup(suffix)
	return m.fit(maxFallback)
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
