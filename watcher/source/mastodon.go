package source

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"strings"

	"github.com/mmcdole/gofeed"
)

// mastodonTag is a hashtag as Mastodon allows it, without its #.
var mastodonTag = regexp.MustCompile(`^[\p{L}\p{N}_]{1,100}$`)

// mastodonAcct is a local account name (user) or a remote one (user@domain).
var mastodonAcct = regexp.MustCompile(`^[A-Za-z0-9_]{1,30}(@[A-Za-z0-9.-]{1,253})?$`)

// mastodonLimit is the page size asked of a timeline: the API's maximum.
const mastodonLimit = "40"

// MastodonTagURL is the public timeline of a hashtag on a Mastodon server
// (GET /api/v1/timelines/tag/:hashtag).
func MastodonTagURL(instance *url.URL, tag string) (string, error) {
	tag = strings.TrimPrefix(strings.TrimSpace(tag), "#")
	if !mastodonTag.MatchString(tag) {
		return "", fmt.Errorf("%w: mastodon tag %q: want letters, digits or _", ErrOptions, tag)
	}
	u, err := apiBase(instance)
	if err != nil {
		return "", err
	}
	u.Path = "/api/v1/timelines/tag/" + tag
	u.RawQuery = url.Values{"limit": {mastodonLimit}}.Encode()
	return u.String(), nil
}

// MastodonLookupURL is the lookup of an account by its name (GET /api/v1/accounts/lookup),
// whose answer MastodonAccountID reads.
func MastodonLookupURL(instance *url.URL, acct string) (string, error) {
	acct = strings.TrimPrefix(strings.TrimSpace(acct), "@")
	if !mastodonAcct.MatchString(acct) {
		return "", fmt.Errorf("%w: mastodon account %q: want user or user@domain", ErrOptions, acct)
	}
	u, err := apiBase(instance)
	if err != nil {
		return "", err
	}
	u.Path = "/api/v1/accounts/lookup"
	u.RawQuery = url.Values{"acct": {acct}}.Encode()
	return u.String(), nil
}

// MastodonAccountURL is the statuses of the account id (GET /api/v1/accounts/:id/statuses),
// replies left out when excludeReplies.
func MastodonAccountURL(instance *url.URL, id string, excludeReplies bool) (string, error) {
	if !isDigits(id) {
		return "", fmt.Errorf("%w: mastodon account id %q: want digits", ErrOptions, id)
	}
	u, err := apiBase(instance)
	if err != nil {
		return "", err
	}
	u.Path = "/api/v1/accounts/" + id + "/statuses"
	q := url.Values{"limit": {mastodonLimit}}
	if excludeReplies {
		q.Set("exclude_replies", "true")
	}
	u.RawQuery = q.Encode()
	return u.String(), nil
}

func apiBase(instance *url.URL) (*url.URL, error) {
	if instance == nil || (instance.Scheme != "https" && instance.Scheme != "http") || instance.Host == "" {
		return nil, fmt.Errorf("%w: instance %v: want an http(s) address", ErrOptions, instance)
	}
	return &url.URL{Scheme: instance.Scheme, Host: instance.Host}, nil
}

func isDigits(s string) bool {
	if s == "" || len(s) > 32 {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

type mastodonAccount struct {
	ID          json.RawMessage `json:"id"` // a string; some servers send a number
	Acct        string          `json:"acct"`
	DisplayName string          `json:"display_name"`
	URL         string          `json:"url"`
}

type mastodonStatus struct {
	ID          string          `json:"id"`
	CreatedAt   string          `json:"created_at"`
	EditedAt    *string         `json:"edited_at"`
	URL         *string         `json:"url"`
	URI         string          `json:"uri"`
	Content     string          `json:"content"`
	SpoilerText string          `json:"spoiler_text"`
	Account     mastodonAccount `json:"account"`
	Tags        []struct {
		Name string `json:"name"`
	} `json:"tags"`
	Reblog *mastodonStatus `json:"reblog"`
}

// MastodonAccountID reads the id out of an account lookup's answer.
func MastodonAccountID(data []byte) (string, error) {
	if err := checkSize(data); err != nil {
		return "", err
	}
	var a mastodonAccount
	if err := decodeJSON(TypeMastodon, data, '{', &a); err != nil {
		return "", err
	}
	id := strings.Trim(string(a.ID), `"`)
	if !isDigits(id) {
		return "", fmt.Errorf("%w: account without an id of digits", ErrMalformed)
	}
	return id, nil
}

// Mastodon reads a list of statuses (a tag or account timeline of the Mastodon API, fetched
// from page): one item per status in the API's order (newest first), with the status's web
// address (its uri when it has none) as link, its uri as GUID, its HTML content as content
// (the matcher reads it as text), its content warning or else its first line as title, its
// creation time as publication date, its edit time as update date, its author and hashtags. A
// boost is read as the status it boosts. A status without an address is skipped.
//
// An error object ({"error": ...}) is an *APIError; anything but a list of statuses
// ErrWrongType or ErrMalformed.
func Mastodon(data []byte, page *url.URL) (*gofeed.Feed, error) {
	if err := checkSize(data); err != nil {
		return nil, err
	}
	var statuses []*mastodonStatus
	if err := decodeJSON(TypeMastodon, data, '[', &statuses); err != nil {
		return nil, err
	}
	feed := newFeed(TypeMastodon, "", page, len(statuses))
	for _, s := range statuses {
		if s == nil {
			continue
		}
		if s.Reblog != nil {
			s = s.Reblog
		}
		if it := mastodonItem(s); it != nil {
			feed.Items = append(feed.Items, it)
		}
		if len(feed.Items) == MaxItems {
			break
		}
	}
	return feed, nil
}

func mastodonItem(s *mastodonStatus) *gofeed.Item {
	link := ""
	if s.URL != nil {
		link = resolve(nil, *s.URL)
	}
	if link == "" {
		link = resolve(nil, s.URI)
	}
	if link == "" {
		return nil
	}
	guid := strings.TrimSpace(s.URI)
	if guid == "" || len(guid) > 2048 {
		guid = link
	}
	it := &gofeed.Item{Link: link, GUID: guid, Content: cut(s.Content)}
	if w := strings.TrimSpace(s.SpoilerText); w != "" {
		it.Title = cut(titleFrom(w))
	} else {
		it.Title = titleFrom(textOf(s.Content, 64<<10))
	}
	setPublished(&it.Published, &it.PublishedParsed, s.CreatedAt)
	if s.EditedAt != nil {
		setPublished(&it.Updated, &it.UpdatedParsed, *s.EditedAt)
	}
	name := strings.TrimSpace(s.Account.DisplayName)
	if name == "" {
		name = s.Account.Acct
	}
	if name = strings.TrimSpace(name); name != "" {
		it.Authors = []*gofeed.Person{{Name: cutTo(htmlEscapeText(name), 1024)}}
	}
	for _, t := range s.Tags {
		if n := strings.TrimSpace(t.Name); n != "" && len(it.Categories) < 100 {
			it.Categories = append(it.Categories, cutTo(htmlEscapeText(n), 1024))
		}
	}
	return it
}

// decodeJSON decodes data, whose first non-blank byte must be open ('[' or '{'), into v. An
// object where a list was expected is an *APIError when it has an "error" member, otherwise
// ErrWrongType.
func decodeJSON(src string, data []byte, open byte, v any) error {
	trimmed := bytes.TrimLeft(data, " \t\r\n\xef\xbb\xbf")
	if len(trimmed) == 0 {
		return ErrEmpty
	}
	if trimmed[0] == '{' {
		var e struct {
			Error   any    `json:"error"`
			Message string `json:"message"`
		}
		if json.Unmarshal(trimmed, &e) == nil && e.Error != nil {
			ae := &APIError{Source: src, Message: cutTo(e.Message, 1024)}
			code, _ := e.Error.(string)
			if src == TypeMastodon {
				ae.Message = cutTo(code, 1024)
			} else {
				ae.Code = cutTo(code, 256)
			}
			return ae
		}
	}
	if trimmed[0] != open {
		want := "a JSON list"
		if open == '{' {
			want = "a JSON object"
		}
		if trimmed[0] == '<' {
			return fmt.Errorf("%w: want %s, got markup", ErrWrongType, want)
		}
		return fmt.Errorf("%w: want %s", ErrWrongType, want)
	}
	if err := json.Unmarshal(trimmed, v); err != nil {
		return fmt.Errorf("%w: %s: %w", ErrMalformed, src, err)
	}
	return nil
}
