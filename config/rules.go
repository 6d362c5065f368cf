package config

import (
	"fmt"
	"strings"
	"time"

	"github.com/goccy/go-yaml/token"
)

// lists decodes the named term lists.
func (d *decoder) lists(v value, cfg *Config) {
	entries, _ := d.mappingOf(v.node, `for "lists"`, "list")
	for _, e := range entries {
		if err := checkID("list name", e.key); err != nil {
			d.errorf(e.keyTok, "%v", err)
			continue
		}
		lv := d.value(e.value)
		if lv.absent() {
			d.errorf(e.keyTok, "empty list %q", e.key)
		}
		if lv.node == nil {
			continue
		}
		items, ok := d.sequence(lv, fmt.Sprintf("for list %q", e.key))
		if !ok {
			continue
		}
		if len(items) == 0 {
			d.errorf(lv.tok, "empty list %q", e.key)
			continue
		}
		terms := make([]string, 0, len(items))
		where := make([]scalar, 0, len(items))
		for _, item := range items {
			t, ok := d.item(item, fmt.Sprintf("in list %q", e.key))
			if !ok {
				continue
			}
			if strings.TrimSpace(t) == "" {
				d.errorf(item.tok, "empty term in list %q", e.key)
				continue
			}
			terms = append(terms, t)
			where = append(where, d.scalarOf(item, t))
		}
		cfg.Lists[e.key] = terms
		cfg.terms[e.key] = where
	}
}

// rules decodes the rules; scopes are checked against the feeds decoded
// before.
func (d *decoder) rules(v value, cfg *Config) {
	feedIDs := map[string]bool{}
	for _, f := range cfg.Feeds {
		feedIDs[f.ID] = true
	}
	items, _ := d.sequence(v, `for "rules"`)
	seen := map[string]bool{}
	for _, item := range items {
		r, query, idTok, ok := d.rule(item, feedIDs, cfg.Defaults)
		if !ok {
			continue
		}
		if seen[r.ID] {
			d.errorf(idTok, "duplicate rule id %q", r.ID)
			continue
		}
		seen[r.ID] = true
		cfg.Rules = append(cfg.Rules, r)
		cfg.queries = append(cfg.queries, query)
	}
}

// rule decodes one rule, where its query is written and where its id is.
func (d *decoder) rule(v value, feedIDs map[string]bool, def Defaults) (Rule, scalar, *token.Token, bool) {
	if v.absent() {
		d.errorf(v.tok, `expected a mapping in "rules", found null`)
	}
	if v.node == nil {
		return Rule{}, scalar{}, nil, false
	}
	entries, ok := d.mapping(v.node, `in "rules"`)
	if !ok {
		return Rule{}, scalar{}, nil, false
	}
	// A rule's spike keys each override defaults.spike's; its deliver mapping replaces
	// defaults.deliver whole, since its keys only make sense together (mode budget and max).
	r := Rule{Pos: d.position(v.tok), Spike: def.Spike, deliveryPos: deliveryPos{}}
	for k, p := range def.deliveryPos {
		if isSpikeField(k) {
			r.deliveryPos[k] = p
		}
	}
	ownDeliver := false
	var (
		query scalar
		idTok *token.Token
	)
	for _, e := range entries {
		switch e.key {
		case "id":
			idTok = d.value(e.value).tok
			d.stringField(e, &r.ID, func(s string) error { return checkID("rule id", s) })
		case "query":
			if d.stringField(e, &r.Query, checkQuery) {
				query = d.scalarOf(d.value(e.value), r.Query)
			}
		case "feeds":
			r.Feeds = d.scope(d.value(e.value), feedIDs)
		case "backfill":
			parsedField(d, e, &r.Backfill, func(s string) (time.Duration, error) { return parseDuration("backfill", s) })
		case "deliver":
			ownDeliver = true
			d.deliver(d.value(e.value), &r.Deliver, r.deliveryPos, "rules[].deliver")
		case "spike":
			d.spike(d.value(e.value), &r.Spike, r.deliveryPos, "rules[].spike")
		default:
			d.unknownKey(e, "rules[]")
		}
	}
	if !ownDeliver {
		r.Deliver = def.Deliver
		for k, p := range def.deliveryPos {
			if !isSpikeField(k) {
				r.deliveryPos[k] = p
			}
		}
	}
	if len(r.deliveryPos) == 0 {
		r.deliveryPos = nil
	}
	if r.ID == "" {
		d.missing(v, entries, "id", `rule has no "id"`)
	}
	if r.Query == "" {
		d.missing(v, entries, "query", `rule has no "query"`)
	}
	return r, query, idTok, r.ID != "" && r.Query != ""
}

func checkQuery(s string) error {
	if strings.TrimSpace(s) == "" {
		return fmt.Errorf("empty query")
	}
	return nil
}

// scope decodes a rule's feeds: feed ids and "tag:NAME" entries.
func (d *decoder) scope(v value, feedIDs map[string]bool) []string {
	if v.node == nil {
		return nil
	}
	items, ok := d.sequence(v, `for "feeds"`)
	if !ok {
		return nil
	}
	if len(items) == 0 {
		d.errorf(v.tok, "empty feeds scope matches nothing; leave it out to match every feed")
		return nil
	}
	var scope []string
	for _, item := range items {
		s, ok := d.item(item, `in "feeds"`)
		if !ok {
			continue
		}
		if tag, isTag := strings.CutPrefix(s, "tag:"); isTag {
			if tag == "" {
				d.errorf(item.tok, `empty tag in "tag:"`)
				continue
			}
			if err := checkID("tag", tag); err != nil {
				d.errorf(item.tok, "%v", err)
				continue
			}
		} else if !feedIDs[s] {
			d.errorf(item.tok, "unknown feed id %q", s)
			continue
		}
		scope = append(scope, s)
	}
	return scope
}
