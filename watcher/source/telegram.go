package source

import (
	"bytes"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"github.com/PuerkitoBio/goquery"
	"github.com/mmcdole/gofeed"
)

// telegramName is a public channel's name as t.me spells it.
var telegramName = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]{3,31}$`)

// dataPost is a message's data-post attribute: channel/id.
var dataPost = regexp.MustCompile(`^([A-Za-z][A-Za-z0-9_]{3,31})/([0-9]{1,12})$`)

// TelegramURL is the address of the web preview of the public channel name, "" and ErrOptions
// when the name is not one Telegram allows.
func TelegramURL(name string) (string, error) {
	name = strings.TrimPrefix(strings.TrimSpace(name), "@")
	if !telegramName.MatchString(name) {
		return "", fmt.Errorf("%w: telegram channel name %q: want 4 to 32 letters, digits or _", ErrOptions, name)
	}
	return "https://t.me/s/" + name, nil
}

// Telegram reads the web preview of a public Telegram channel (https://t.me/s/<name>), as
// served to a browser without JavaScript: one item per message, newest first, with its
// permalink https://t.me/<name>/<id> as link and GUID, the time of its <time datetime> as
// publication date, its text (HTML, line breaks kept) as content, its first line as title,
// and the channel (or the channel a message was forwarded from) as author.
//
// The preview shows only the latest messages (about twenty), needs no account, and is markup
// Telegram may change without notice: a page without message markup is ErrNoItems, so that a
// change shows as a failing feed rather than a silent one. Messages without text (a photo
// alone) keep their link and date, with an empty title.
func Telegram(data []byte, page *url.URL) (*gofeed.Feed, error) {
	if err := checkSizeOf(data, MaxPageBytes); err != nil {
		return nil, err
	}
	doc, err := goquery.NewDocumentFromReader(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	msgs := doc.Find(".tgme_widget_message[data-post]")
	title := strings.TrimSpace(doc.Find(".tgme_channel_info_header_title").First().Text())
	if title == "" {
		title, _ = doc.Find(`meta[property="og:title"]`).First().Attr("content")
	}
	feed := newFeed(TypeTelegram, htmlEscapeText(strings.TrimSpace(title)), page, msgs.Length())
	msgs.EachWithBreak(func(_ int, s *goquery.Selection) bool {
		if it := telegramItem(s); it != nil {
			feed.Items = append(feed.Items, it)
		}
		return len(feed.Items) < MaxItems
	})
	if len(feed.Items) == 0 {
		if doc.Find(".tgme_page, .tgme_channel_info").Length() > 0 && msgs.Length() == 0 {
			return nil, fmt.Errorf("%w: no message in the channel preview (a private channel, or no preview)", ErrNoItems)
		}
		return nil, fmt.Errorf("%w: no tgme_widget_message with a data-post of channel/id", ErrNoItems)
	}
	slices.Reverse(feed.Items) // the page lists the oldest first
	return feed, nil
}

func telegramItem(s *goquery.Selection) *gofeed.Item {
	post, _ := s.Attr("data-post")
	m := dataPost.FindStringSubmatch(strings.TrimSpace(post))
	if m == nil {
		return nil
	}
	link := "https://t.me/" + m[1] + "/" + m[2]
	it := &gofeed.Item{Link: link, GUID: link}
	text := s.Find(".tgme_widget_message_text").First()
	if h, err := text.Html(); err == nil && text.Length() > 0 {
		h = strings.TrimSpace(h)
		it.Content = cut(h)
		it.Title = titleFrom(textOf(h, 64<<10))
	}
	if dt, ok := s.Find(".tgme_widget_message_date time[datetime]").First().Attr("datetime"); ok {
		setPublished(&it.Published, &it.PublishedParsed, dt)
	} else if dt, ok := s.Find("time[datetime]").First().Attr("datetime"); ok {
		setPublished(&it.Published, &it.PublishedParsed, dt)
	}
	author := strings.TrimSpace(s.Find(".tgme_widget_message_forwarded_from_name").First().Text())
	if author == "" {
		author = strings.TrimSpace(s.Find(".tgme_widget_message_owner_name").First().Text())
	}
	if author != "" {
		it.Authors = []*gofeed.Person{{Name: cutTo(htmlEscapeText(author), 1024)}}
	}
	return it
}
