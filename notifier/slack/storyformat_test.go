package slack

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	slackapi "github.com/slack-go/slack"

	"github.com/newswatch/newswatch/notifier"
	"github.com/newswatch/newswatch/notifier/slack/fakeslack"
)

// A story's message stays within Block Kit's limits, and under 11,000 characters of blocks,
// with 50 hostile sources, 40 languages and a hostile first item; it lists the sources that fit
// and counts the others. So does a thread reply with a hostile item.
func TestStoryMessagesStayWithinBlockKitLimits(t *testing.T) {
	hostile := baseEvent()
	hostile.Data.Item.Title = repeat("Войска КНДР 🇰🇷 & <troops> ", 10_000)
	hostile.Data.Item.Link = "https://example.org/" + repeat("<&>|", 400)
	hostile.Data.Feed = notifier.EventFeed{ID: repeat("feed<&>", 2000), Title: repeat("Мировые новости & <co> ", 10_000)}
	hostile.Data.Rule.ID = repeat("rule&", 2000)
	hostile.Data.Snippet = repeat("<!channel> North Korea & troops ", 10_000)
	for i := range 1000 {
		hostile.Data.Item.Authors = append(hostile.Data.Item.Authors, repeat(fmt.Sprintf("Автор %d & <Co> ", i), 200))
	}

	rec := storyRecord{Story: "a1b2c3d4e5f60718", First: trimmed(hostile), Size: 500, Feeds: 64}
	rec.Sources = []string{"first"}
	for i := range 50 {
		rec.Rules = append(rec.Rules, fmt.Sprintf("%s-%d", repeat("rule<&>", 300), i))
		d := hostile.Data
		d.Item.Title = fmt.Sprintf("%d %s", i, repeat("Курск | <b> & 북한군 ", 1000))
		d.Item.Link = fmt.Sprintf("https://example.org/%d/%s", i, repeat("a&b", 50))
		rec.addSource(fmt.Sprint(i), d)
	}
	for i := range 40 {
		rec.Langs = append(rec.Langs, fmt.Sprintf("l%d<&>", i))
	}
	for _, threads := range []bool{false, true} {
		t.Run(fmt.Sprintf("threads %v", threads), func(t *testing.T) {
			checkMessage(t, formatStory(rec, threads))
		})
	}
	t.Run("reply", func(t *testing.T) { checkMessage(t, formatSource(hostile, rec.Story, "1.000001")) })

	var raw strings.Builder
	enc := json.NewEncoder(&raw)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(formatStory(rec, false).Blocks); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"+499 sources in 40 languages", "…and 46 more routed here", "500 items from 64 feeds", "l9&lt;&amp;&gt; and 30 more"} {
		// slack-go escapes & in its own marshalling.
		if !strings.Contains(strings.ReplaceAll(raw.String(), `\u0026`, "&"), want) {
			t.Errorf("story message: want it to contain %q", want)
		}
	}
}

func checkMessage(t *testing.T, m Message) {
	t.Helper()
	raw, err := json.Marshal(m.Blocks)
	if err != nil {
		t.Fatal(err)
	}
	if refusal := fakeslack.CheckBlocks(raw); refusal != nil {
		t.Fatalf("the test Slack refuses the blocks: %v", refusal)
	}
	if n := blocksTextLen(t, raw); n > 11_000 {
		t.Errorf("texts of the blocks: got %d characters, want at most 11,000", n)
	}
	if n := textLen(m.Text); n > maxFallback || n == 0 {
		t.Errorf("text: got %d characters, want 1 to %d", n, maxFallback)
	}
	if err := checkMrkdwn(m.Text); err != nil {
		t.Errorf("text %q: %v", m.Text, err)
	}
	for _, b := range m.Blocks {
		switch b := b.(type) {
		case *slackapi.SectionBlock:
			if err := checkMrkdwn(b.Text.Text); err != nil {
				t.Errorf("section %q: %v", b.Text.Text, err)
			}
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
}
