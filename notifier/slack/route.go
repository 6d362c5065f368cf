package slack

import (
	"errors"
	"fmt"
	"path"
	"slices"
	"strings"
	"unicode"
)

// Route sends the alerts of the rules matching Rule and the feeds matching Feed to Channels.
// Rule and Feed are exact ids or globs ("*" any run of characters, "?" one, "[a-c]" a class);
// "" means "*".
type Route struct {
	Rule     string
	Feed     string
	Channels []string // channel ids ("C0123ABC") or names ("#news")
}

// ParseRoute reads a route written RULE[/FEED]=CHANNEL[,CHANNEL…], for example
// "dprk-*/world=#dprk,C0123ABC" or "*=#everything".
func ParseRoute(s string) (Route, error) {
	match, channels, ok := strings.Cut(s, "=")
	if !ok {
		return Route{}, fmt.Errorf("route %q: want RULE[/FEED]=CHANNEL[,CHANNEL...]", s)
	}
	rule, feed, _ := strings.Cut(strings.TrimSpace(match), "/")
	r := Route{Rule: rule, Feed: feed}
	for c := range strings.SplitSeq(channels, ",") {
		r.Channels = append(r.Channels, strings.TrimSpace(c))
	}
	if err := r.validate(); err != nil {
		return Route{}, fmt.Errorf("route %q: %w", s, err)
	}
	return r, nil
}

func (r Route) String() string {
	s := r.Rule
	if s == "" {
		s = "*"
	}
	if r.Feed != "" && r.Feed != "*" {
		s += "/" + r.Feed
	}
	return s + "=" + strings.Join(r.Channels, ",")
}

func (r Route) validate() error {
	for _, g := range []struct{ what, pattern string }{{"rule", r.Rule}, {"feed", r.Feed}} {
		if _, err := path.Match(g.pattern, ""); err != nil {
			return fmt.Errorf("%s pattern %q: %w", g.what, g.pattern, err)
		}
		if strings.ContainsAny(g.pattern, "/= \t") {
			return fmt.Errorf("%s pattern %q: ids contain no '/', '=' or spaces", g.what, g.pattern)
		}
	}
	if len(r.Channels) == 0 {
		return errors.New("no channel")
	}
	for _, c := range r.Channels {
		if err := validChannel(c); err != nil {
			return err
		}
	}
	return nil
}

// matches reports whether the route applies to the alerts of ruleID for feedID.
func (r Route) matches(ruleID, feedID string) bool {
	return globMatch(r.Rule, ruleID) && globMatch(r.Feed, feedID)
}

func globMatch(pattern, s string) bool {
	if pattern == "" || pattern == "*" {
		return true
	}
	ok, _ := path.Match(pattern, s) // patterns were validated
	return ok
}

// maxChannelLen is more than Slack's 80-character channel names plus "#".
const maxChannelLen = 100

func validChannel(c string) error {
	if c == "" {
		return errors.New("empty channel")
	}
	if len(c) > maxChannelLen {
		return fmt.Errorf("channel %q: longer than %d bytes", c, maxChannelLen)
	}
	if strings.IndexFunc(c, func(r rune) bool { return unicode.IsSpace(r) || r == ',' || unicode.IsControl(r) }) >= 0 {
		return fmt.Errorf("channel %q: contains a space, a comma or a control character", c)
	}
	return nil
}

// router maps an alert to the channels it goes to.
type router struct {
	routes []Route
	def    string
}

// channels is the union, in route order and without repeats, of the channels of every route
// that matches; when none does, the default channel, if any.
func (r router) channels(ruleID, feedID string) []string {
	var out []string
	for _, rt := range r.routes {
		if !rt.matches(ruleID, feedID) {
			continue
		}
		for _, c := range rt.Channels {
			if !slices.Contains(out, c) {
				out = append(out, c)
			}
		}
	}
	if len(out) == 0 && r.def != "" {
		out = []string{r.def}
	}
	return out
}
