package config

import "github.com/goccy/go-yaml/token"

// feeds decodes the feeds sequence; each feed starts from the defaults.
func (d *decoder) feeds(v value, def Defaults) []Feed {
	items, _ := d.sequence(v, `for "feeds"`)
	return d.feedItems(items, def, map[string]bool{}, make([]Feed, 0, len(items)))
}

// feedItems decodes items and appends their feeds to feeds; seen holds the ids met so far.
func (d *decoder) feedItems(items []value, def Defaults, seen map[string]bool, feeds []Feed) []Feed {
	for _, item := range items {
		f, idTok, ok := d.feed(item, def)
		if !ok {
			continue
		}
		if seen[f.ID] {
			d.errorf(idTok, "duplicate feed id %q", f.ID)
			continue
		}
		seen[f.ID] = true
		feeds = append(feeds, f)
	}
	return feeds
}

// feed decodes one feed and returns where its id is written. It returns false
// when the feed has no valid id, which leaves nothing to check duplicates or
// rule scopes against.
func (d *decoder) feed(v value, def Defaults) (Feed, *token.Token, bool) {
	if v.absent() {
		d.errorf(v.tok, `expected a mapping in "feeds", found null`)
	}
	if v.node == nil {
		return Feed{}, nil, false
	}
	entries, ok := d.mapping(v.node, `in "feeds"`)
	if !ok {
		return Feed{}, nil, false
	}
	f := Feed{Pos: d.position(v.tok), Reposts: true}
	p := def
	var idTok *token.Token
	for _, e := range entries {
		switch e.key {
		case "id":
			idTok = d.value(e.value).tok
			d.stringField(e, &f.ID, func(s string) error { return checkID("feed id", s) })
		case "url":
			d.stringField(e, &f.URL, checkFeedURL)
		case "tags":
			f.Tags = d.tags(d.value(e.value))
		default:
			if !d.sourceField(e, &f) && !d.pollField(e, &p) {
				d.unknownKey(e, "feeds[]")
			}
		}
	}
	if f.ID == "" {
		d.missing(v, entries, "id", `feed has no "id"`)
	}
	d.checkSource(v, entries, &f)
	f.Schedule, f.Timeout, f.MaxBody = p.Schedule, p.Timeout, p.MaxBody
	f.FirstPoll, f.AllowPrivate = p.FirstPoll, p.AllowPrivate
	f.AutoMin, f.AutoMax, f.FloodGuard = p.AutoMin, p.AutoMax, p.FloodGuard
	f.MaxAlertsPerPoll, f.FullText = p.MaxAlertsPerPoll, p.FullText
	d.checkAutoBounds(v, entries, f)
	return f, idTok, f.ID != ""
}

// missing reports a required key that is absent or null: at the key when it
// is written with a null value, else at the start of the mapping. A key with
// another value has been reported by its own check already.
func (d *decoder) missing(v value, entries []entry, key, msg string) {
	for _, e := range entries {
		if e.key == key {
			if d.value(e.value).absent() {
				d.errorf(e.keyTok, "%s", msg)
			}
			return
		}
	}
	d.errorf(v.tok, "%s", msg)
}

// tags decodes a feed's tags.
func (d *decoder) tags(v value) []string {
	if v.node == nil {
		return nil
	}
	items, _ := d.sequence(v, `for "tags"`)
	var tags []string
	for _, item := range items {
		if t, ok := d.item(item, `in "tags"`); ok {
			if err := checkID("tag", t); err != nil {
				d.errorf(item.tok, "%v", err)
				continue
			}
			tags = append(tags, t)
		}
	}
	return tags
}

// item returns the text of a sequence item that must be a string.
func (d *decoder) item(v value, where string) (string, bool) {
	if v.absent() {
		d.errorf(v.tok, "expected a string %s, found null", where)
	}
	if v.node == nil {
		return "", false
	}
	return d.text(v, where)
}

// checkAutoBounds reports a feed whose auto_min is above its auto_max, at the
// feed's own auto_max or auto_min when it sets one, else at the feed.
func (d *decoder) checkAutoBounds(v value, entries []entry, f Feed) {
	if f.AutoMin <= f.AutoMax {
		return
	}
	tok := v.tok
	for _, e := range entries {
		if e.key == "auto_max" || e.key == "auto_min" {
			tok = d.value(e.value).tok
		}
	}
	d.errorf(tok, "auto_min %s is above auto_max %s", f.AutoMin, f.AutoMax)
}
