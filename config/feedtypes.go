package config

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"

	"github.com/andybalholm/cascadia"
	"github.com/goccy/go-yaml/token"
)

// Feed types: the kind of document a feed's URL serves.
const (
	TypeRSS      = "rss" // RSS, Atom or JSON Feed: the default
	TypeSitemap  = "sitemap"
	TypeHTML     = "html"
	TypeTelegram = "telegram"
	TypeMastodon = "mastodon"
	TypeBluesky  = "bluesky"
)

// Full text modes of a feed.
const (
	FullTextNever  = "never"
	FullTextAuto   = "auto"
	FullTextAlways = "always"
)

// Selectors say where the items of a web page (type html) are, in CSS selector syntax.
type Selectors struct {
	Item, Title, Link, Date, Summary string
}

// Names as Telegram, Mastodon and Bluesky allow them; the parsers check them again.
var (
	telegramChannel = regexp.MustCompile(`^@?[A-Za-z][A-Za-z0-9_]{3,31}$`)
	mastodonTag     = regexp.MustCompile(`^#?[\p{L}\p{N}_]{1,100}$`)
	mastodonAccount = regexp.MustCompile(`^@?[A-Za-z0-9_]{1,30}(@[A-Za-z0-9.-]{1,253})?$`)
	blueskyActor    = regexp.MustCompile(`^@?(([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}|did:(plc|web):[A-Za-z0-9._:%-]{1,1000})$`)
)

// sourceField decodes one of the keys of a feed's type and reports whether e was one.
func (d *decoder) sourceField(e entry, f *Feed) bool {
	switch e.key {
	case "type":
		d.stringField(e, &f.Type, checkFeedType)
	case "selectors":
		d.selectors(d.value(e.value), &f.Selectors)
	case "channel":
		d.stringField(e, &f.Channel, checkName("telegram channel", telegramChannel, "4 to 32 letters, digits or _, starting with a letter"))
	case "instance":
		d.stringField(e, &f.Instance, checkInstance)
	case "tag":
		d.stringField(e, &f.Tag, checkName("mastodon tag", mastodonTag, "letters, digits or _"))
	case "account":
		d.stringField(e, &f.Account, nil) // checked by type below
	case "exclude_replies":
		d.boolField(e, &f.ExcludeReplies)
	case "replies":
		d.boolField(e, &f.Replies)
	case "reposts":
		d.boolField(e, &f.Reposts)
	default:
		return false
	}
	return true
}

// selectors decodes the selectors of a page of type html, each compiled.
func (d *decoder) selectors(v value, s *Selectors) {
	if v.node == nil {
		return
	}
	entries, _ := d.mapping(v.node, `for "selectors"`)
	for _, e := range entries {
		switch e.key {
		case "item":
			d.stringField(e, &s.Item, checkSelector("item"))
		case "title":
			d.stringField(e, &s.Title, checkSelector("title"))
		case "link":
			d.stringField(e, &s.Link, checkSelector("link"))
		case "date":
			d.stringField(e, &s.Date, checkSelector("date"))
		case "summary":
			d.stringField(e, &s.Summary, checkSelector("summary"))
		default:
			d.unknownKey(e, "feeds[].selectors")
		}
	}
}

func checkFeedType(s string) error {
	switch s {
	case TypeRSS, TypeSitemap, TypeHTML, TypeTelegram, TypeMastodon, TypeBluesky:
		return nil
	}
	return fmt.Errorf("invalid type %q: want rss, sitemap, html, telegram, mastodon or bluesky", s)
}

func parseFullText(s string) (string, error) {
	switch s {
	case FullTextNever, FullTextAuto, FullTextAlways:
		return s, nil
	}
	return "", fmt.Errorf("invalid fulltext %q: want never, auto or always", s)
}

func checkSelector(name string) func(string) error {
	return func(s string) error {
		if strings.TrimSpace(s) == "" {
			return fmt.Errorf("selectors.%s is empty", name)
		}
		if _, err := cascadia.ParseGroup(s); err != nil {
			return fmt.Errorf("invalid selectors.%s %q: %v", name, s, err)
		}
		return nil
	}
}

func checkName(what string, re *regexp.Regexp, want string) func(string) error {
	return func(s string) error {
		if !re.MatchString(strings.TrimSpace(s)) {
			return fmt.Errorf("invalid %s %q: want %s", what, s, want)
		}
		return nil
	}
}

func checkInstance(s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("invalid instance %q: want the server's address, such as https://mastodon.social", s)
	}
	return nil
}

// checkSource reports the keys a feed's type needs and lacks, and those it does not take, at
// the key (or at the feed when it is missing). A feed of type telegram, mastodon or bluesky
// may leave out its url, which is derived from its options.
func (d *decoder) checkSource(v value, entries []entry, f *Feed) {
	at := func(key string) *token.Token {
		for _, e := range entries {
			if e.key == key {
				return e.keyTok
			}
		}
		return nil
	}
	typ := f.Type
	if typ == "" {
		typ = TypeRSS
	}
	// The keys each type takes beyond the common ones.
	takes := map[string][]string{
		TypeHTML:     {"selectors"},
		TypeTelegram: {"channel"},
		TypeMastodon: {"instance", "tag", "account", "exclude_replies"},
		TypeBluesky:  {"account", "replies", "reposts"},
	}
	for _, key := range []string{"selectors", "channel", "instance", "tag", "account", "exclude_replies", "replies", "reposts"} {
		if tok := at(key); tok != nil && !contains(takes[typ], key) {
			d.errorf(tok, "%q does not apply to a feed of type %s", key, typ)
		}
	}
	derives := false
	switch typ {
	case TypeHTML:
		if f.Selectors.Item == "" && at("selectors") == nil {
			d.errorf(v.tok, `feed of type html has no "selectors" (item, and optionally title, link, date, summary)`)
		} else if f.Selectors.Item == "" {
			d.errorf(at("selectors"), `selectors has no "item"`)
		}
	case TypeTelegram:
		derives = at("channel") != nil
	case TypeMastodon:
		derives = at("instance") != nil
		if f.URL != "" && (f.Instance != "" || f.Tag != "" || f.Account != "") {
			d.errorf(at("url"), "give url (a timeline of the API) or instance with tag or account, not both")
		}
		if f.URL == "" && derives && (at("tag") == nil) == (at("account") == nil) {
			d.errorf(at("instance"), "give tag or account (one of them) with instance")
		}
		if f.URL == "" && !derives && (at("tag") != nil || at("account") != nil) {
			d.errorf(v.tok, `feed of type mastodon has no "instance"`)
			derives = true
		}
		if f.Account != "" {
			if err := checkName("mastodon account", mastodonAccount, "user or user@domain")(f.Account); err != nil {
				d.errorf(at("account"), "%v", err)
			}
		} else if tok := at("exclude_replies"); tok != nil {
			d.errorf(tok, `"exclude_replies" applies to an account, not a tag`)
		}
	case TypeBluesky:
		derives = at("account") != nil
		if f.Account != "" {
			if err := checkName("bluesky account", blueskyActor, "a handle (name.bsky.social) or a did:plc:…")(f.Account); err != nil {
				d.errorf(at("account"), "%v", err)
			}
		}
	}
	if derives && f.URL != "" && typ != TypeMastodon {
		d.errorf(at("url"), "give url or %s, not both", map[string]string{TypeTelegram: "channel", TypeBluesky: "account"}[typ])
	}
	if f.URL == "" && !derives {
		msg := `feed has no "url"`
		switch typ {
		case TypeTelegram:
			msg = `feed of type telegram has no "channel" (or "url")`
		case TypeMastodon:
			msg = `feed of type mastodon has no "instance" with "tag" or "account" (or "url")`
		case TypeBluesky:
			msg = `feed of type bluesky has no "account" (or "url")`
		}
		d.missing(v, entries, "url", msg)
	}
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}
