package slack

import (
	"fmt"
	"strings"

	slackapi "github.com/slack-go/slack"

	"github.com/newswatch/newswatch/notifier"
)

// Bounds of a story's message, in characters (textLen), on top of an item's: with the story's
// section and context line, a message stays within Block Kit's limits and under 11,000
// characters, however many sources the story has.
const (
	maxListed       = 10   // later sources listed in the message; the others are counted
	maxListedTitle  = 200  // a listed source's title, escaped
	maxListedLink   = 300  // a listed source's link; a longer one is not shown
	maxListedFeed   = 100  // a listed source's feed
	maxStorySection = 2000 // the section of the story's sources
	maxLangs        = 10   // languages named; the others are counted
	maxLang         = 20   // one language tag
)

// formatStory is the message of a story in a channel: the item of the alert that posted it,
// as Format makes it, naming every rule whose alerts of the story came to the channel; a
// section that says how many more sources the story has and in how many languages, and lists
// those that came to the channel (or, with threads, says that they are in the thread); and a
// context line with the story's id, items, feeds and languages.
func formatStory(rec storyRecord, threads bool) Message {
	m := FormatRules(rec.First, rec.Rules)
	ctx := m.Blocks[len(m.Blocks)-1]
	blocks := append([]slackapi.Block(nil), m.Blocks[:len(m.Blocks)-1]...)
	summary := storySummary(rec)
	if text := storySection(rec, summary, threads); text != "" {
		blocks = append(blocks, slackapi.NewSectionBlock(slackapi.NewTextBlockObject(slackapi.MarkdownType, text, false, true),
			nil, nil, slackapi.SectionBlockOptionBlockID("story")))
	}
	blocks = append(blocks, ctx, slackapi.NewContextBlock("story_context",
		slackapi.NewTextBlockObject(slackapi.MarkdownType, storyContext(rec), false, true)))
	m.Blocks = blocks
	if summary != "" {
		title := strings.TrimSpace(rec.First.Data.Item.Title)
		if title == "" {
			title = "New item in " + feedName(rec.First.Data.Feed)
		}
		m.Text = fallbackWith(rec.First, title, rec.Rules, " · "+summary)
	}
	m.Story = rec.Story
	return m
}

// laterSources is how many sources the story has besides the message's item: as the latest
// alert counted the story's items, and never fewer than the channel got.
func laterSources(rec storyRecord) int {
	return max(rec.Size-1, len(rec.Sources)-1, 0)
}

// storySummary is "+19 sources in 6 languages", or "" for a story of one item.
func storySummary(rec storyRecord) string {
	n := laterSources(rec)
	if n == 0 {
		return ""
	}
	s := fmt.Sprintf("+%d %s", n, plural(n, "source", "sources"))
	if l := len(rec.Langs); l > 0 {
		s += fmt.Sprintf(" in %d %s", l, plural(l, "language", "languages"))
	}
	return s
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// storySection is the summary in bold, then the later sources the channel got: in the thread,
// or listed as links with their feeds, as many as fit, and how many more.
func storySection(rec storyRecord, summary string, threads bool) string {
	later := len(rec.Sources) - 1
	if summary == "" && later <= 0 {
		return ""
	}
	var m mrkdwn
	if summary != "" {
		m.markup("*" + summary + "*")
	}
	if later <= 0 {
		return m.fit(maxStorySection)
	}
	if threads {
		m.markup(fmt.Sprintf("\n%d %s in the thread", rec.Replies, plural(rec.Replies, "source routed here is", "sources routed here are")))
		return m.fit(maxStorySection)
	}
	head := m.fit(maxStorySection)
	n := textLen(head)
	var lines []string
	for i, s := range rec.Listed {
		line := "\n• " + listedSource(s)
		more := fmt.Sprintf("\n…and %d more routed here", later-i)
		if n+textLen(line)+textLen(more) > maxStorySection {
			break
		}
		lines = append(lines, line)
		n += textLen(line)
	}
	out := head + strings.Join(lines, "")
	if rest := later - len(lines); rest > 0 {
		out += fmt.Sprintf("\n…and %d more routed here", rest)
	}
	return out
}

// listedSource is a later source as one line: its title, linked, and its feed.
func listedSource(s storySource) string {
	title := strings.TrimSpace(s.Title)
	if title == "" {
		title = "(no title)"
	}
	// A link's label ends at "|" or ">": the title is escaped and has no "|".
	label := cut(strings.ReplaceAll(title, "|", "¦"), maxListedTitle)
	line := label
	if u, ok := safeURL(s.Link); ok && textLen(u) <= maxListedLink {
		line = "<" + u + "|" + label + ">"
	}
	return line + " · " + cut(s.Feed, maxListedFeed)
}

// storyContext is "Story `id` · 20 items from 11 feeds · en, ru, ko".
func storyContext(rec storyRecord) string {
	var b strings.Builder
	b.WriteString("Story " + code(rec.Story, maxFeedID))
	if rec.Size > 0 {
		fmt.Fprintf(&b, " · %d %s", rec.Size, plural(rec.Size, "item", "items"))
		if rec.Feeds > 0 {
			fmt.Fprintf(&b, " from %d %s", rec.Feeds, plural(rec.Feeds, "feed", "feeds"))
		}
	}
	if len(rec.Langs) > 0 {
		b.WriteString(" · " + nameList(rec.Langs, maxLangs, func(l string) string { return cut(l, maxLang) }))
	}
	return b.String()
}

// formatSource is a thread reply under a story's message for a later source: its title in
// bold, its link and feed, the snippet with the matched words in bold, and its rule, matched
// terms and publication time.
func formatSource(ev notifier.Event, story, threadTS string) Message {
	d := ev.Data
	title := strings.TrimSpace(d.Item.Title)
	if title == "" {
		title = "New item in " + feedName(d.Feed)
	}
	var t mrkdwn
	t.styled("*", title)
	blocks := []slackapi.Block{
		slackapi.NewSectionBlock(slackapi.NewTextBlockObject(slackapi.MarkdownType, t.fit(maxTitle), false, true),
			nil, nil, slackapi.SectionBlockOptionBlockID("title")),
		slackapi.NewSectionBlock(slackapi.NewTextBlockObject(slackapi.MarkdownType, itemLine(d), false, true),
			nil, nil, slackapi.SectionBlockOptionBlockID("item")),
	}
	if text, spans := snippet(d); text != "" {
		blocks = append(blocks, snippetBlock(text, spans))
	}
	rules := []string{d.Rule.ID}
	blocks = append(blocks, slackapi.NewContextBlock("context", contextElements(ev, rules)...))
	return Message{Text: fallback(ev, title, rules), Blocks: blocks, EventID: ev.ID, Feed: d.Feed.ID, ItemKey: d.Item.Key,
		Story: story, ThreadTS: threadTS}
}
