package source

import (
	"fmt"
	"html"
	"net/url"
	"regexp"
	"strings"

	"github.com/mmcdole/gofeed"
)

// BlueskyAppView is the public AppView of the Bluesky network: it answers without an account.
const BlueskyAppView = "https://public.api.bsky.app"

// blueskyActor is a handle (a domain name) or a DID.
var blueskyActor = regexp.MustCompile(`^([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$|^did:(plc|web):[A-Za-z0-9._:%-]{1,1000}$`)

// postURI is the at:// address of a post: at://<did>/app.bsky.feed.post/<rkey>.
var postURI = regexp.MustCompile(`^at://([^/]{1,1000})/app\.bsky\.feed\.post/([A-Za-z0-9._:~-]{1,512})$`)

// BlueskyURL is the getAuthorFeed address of an account on appView (BlueskyAppView when
// empty): its own posts and reposts, replies included when withReplies.
func BlueskyURL(appView, actor string, withReplies bool) (string, error) {
	actor = strings.TrimPrefix(strings.TrimSpace(actor), "@")
	if !blueskyActor.MatchString(actor) {
		return "", fmt.Errorf("%w: bluesky account %q: want a handle (name.bsky.social) or a did", ErrOptions, actor)
	}
	if appView == "" {
		appView = BlueskyAppView
	}
	base, err := url.Parse(appView)
	if err != nil {
		return "", fmt.Errorf("%w: appview %q: %w", ErrOptions, appView, err)
	}
	u, err := apiBase(base)
	if err != nil {
		return "", err
	}
	u.Path = "/xrpc/app.bsky.feed.getAuthorFeed"
	filter := "posts_no_replies"
	if withReplies {
		filter = "posts_with_replies"
	}
	u.RawQuery = url.Values{"actor": {actor}, "limit": {"50"}, "filter": {filter}}.Encode()
	return u.String(), nil
}

type blueskyFeed struct {
	Feed *[]*struct {
		Post   *blueskyPost `json:"post"`
		Reason *struct {
			Type string `json:"$type"`
		} `json:"reason"`
	} `json:"feed"`
}

type blueskyPost struct {
	URI    string `json:"uri"`
	Author struct {
		DID         string `json:"did"`
		Handle      string `json:"handle"`
		DisplayName string `json:"displayName"`
	} `json:"author"`
	Record struct {
		Type      string   `json:"$type"`
		Text      string   `json:"text"`
		CreatedAt string   `json:"createdAt"`
		Tags      []string `json:"tags"`
	} `json:"record"`
	IndexedAt string `json:"indexedAt"`
}

// Bluesky reads an author feed of the Bluesky API (app.bsky.feed.getAuthorFeed, fetched from
// page): one item per post in the API's order (newest first), reposts included unless
// skipReposts, with https://bsky.app/profile/<handle>/post/<rkey> as link (the DID in place of
// a handle that does not resolve), the post's at:// address as GUID, its text (escaped: posts
// are plain text) as content, its first line as title, the time it was indexed as publication
// date (the time the post claims for itself, createdAt, is the author's to set), its author
// and its tags.
//
// An error object ({"error": ..., "message": ...}) is an *APIError; a document without a
// "feed" list is ErrWrongType.
func Bluesky(data []byte, page *url.URL, skipReposts bool) (*gofeed.Feed, error) {
	if err := checkSize(data); err != nil {
		return nil, err
	}
	var doc blueskyFeed
	if err := decodeJSON(TypeBluesky, data, '{', &doc); err != nil {
		return nil, err
	}
	if doc.Feed == nil {
		return nil, fmt.Errorf("%w: no \"feed\" list", ErrWrongType)
	}
	feed := newFeed(TypeBluesky, "", page, len(*doc.Feed))
	for _, e := range *doc.Feed {
		if e == nil || e.Post == nil {
			continue
		}
		repost := e.Reason != nil && strings.HasSuffix(e.Reason.Type, "#reasonRepost")
		if skipReposts && repost {
			continue
		}
		if it := blueskyItem(e.Post); it != nil {
			feed.Items = append(feed.Items, it)
			if feed.Title == "" && !repost {
				feed.Title = it.Authors[0].Name // the account's own name
			}
		}
		if len(feed.Items) == MaxItems {
			break
		}
	}
	return feed, nil
}

func blueskyItem(p *blueskyPost) *gofeed.Item {
	m := postURI.FindStringSubmatch(p.URI)
	if m == nil || (p.Record.Type != "" && p.Record.Type != "app.bsky.feed.post") {
		return nil
	}
	profile := strings.TrimSpace(p.Author.Handle)
	if profile == "" || profile == "handle.invalid" || !blueskyActor.MatchString(profile) {
		profile = m[1]
	}
	link := "https://bsky.app/profile/" + url.PathEscape(profile) + "/post/" + m[2]
	text := html.EscapeString(cut(p.Record.Text))
	text = strings.ReplaceAll(text, "\n", "<br>")
	it := &gofeed.Item{
		Link:    link,
		GUID:    p.URI,
		Content: cut(text),
		Title:   titleFrom(cutTo(p.Record.Text, 64<<10)),
	}
	setPublished(&it.Published, &it.PublishedParsed, p.IndexedAt)
	if it.PublishedParsed == nil {
		setPublished(&it.Published, &it.PublishedParsed, p.Record.CreatedAt)
	}
	name := strings.TrimSpace(p.Author.DisplayName)
	if name == "" {
		name = profile
	}
	it.Authors = []*gofeed.Person{{Name: cutTo(html.EscapeString(name), 1024)}}
	for _, t := range p.Record.Tags {
		if t = strings.TrimSpace(t); t != "" && len(it.Categories) < 100 {
			it.Categories = append(it.Categories, cutTo(html.EscapeString(t), 1024))
		}
	}
	return it
}
