package notifier

import (
	"bytes"
	"encoding/binary"
	"strings"
	"unicode/utf8"
	"unsafe"

	gojson "github.com/goccy/go-json"

	"github.com/newswatch/newswatch/event"
)

// readItemEvent decodes an item event as ParseItemEvent does, without copying: each string of
// the item that body holds as it is (no escape) points into body. So body must not change while
// the item lives, and any string of the item kept keeps all of body. The archive's reads decode
// so, a copy of each text fewer: the plain form of the events the archive writes is read here,
// and anything else (escaped or case-folded keys, invalid UTF-8, values of other types, other
// fields than the envelope's strings, syntax errors) by ParseItemEvent, which gives the same
// item or the same error (FuzzReadItemEvent holds the two together).
func readItemEvent(body []byte) (event.Archived, error) {
	d := itemDecoder{b: body}
	var ev itemEnvelope
	if d.envelope(&ev) {
		return ev.archived()
	}
	return ParseItemEvent(body)
}

// itemDecoder reads the plain form of an item event from b; each of its methods reports false
// on anything else, and the caller then lets ParseItemEvent decode the event.
type itemDecoder struct {
	b []byte
	i int // the next byte to read
}

func (d *itemDecoder) envelope(ev *itemEnvelope) bool {
	ok := d.object(func(key string) bool {
		switch key {
		case "type":
			return d.str(&ev.Type)
		case "id":
			return d.str(&ev.ID)
		case "data":
			return d.data(&ev.Data)
		}
		return d.other(key, "type", "id", "data")
	})
	d.space()
	return ok && d.i == len(d.b)
}

func (d *itemDecoder) data(data *ItemData) bool {
	return d.object(func(key string) bool {
		switch key {
		case "feed":
			return d.feed(&data.Feed)
		case "item":
			return d.item(&data.Item)
		case "first_seen":
			return d.str(&data.FirstSeen)
		case "muted":
			return d.str(&data.Muted)
		}
		return d.other(key, "feed", "item", "first_seen", "muted")
	})
}

func (d *itemDecoder) feed(f *ItemFeed) bool {
	return d.object(func(key string) bool {
		switch key {
		case "id":
			return d.str(&f.ID)
		case "url":
			return d.str(&f.URL)
		case "title":
			return d.str(&f.Title)
		case "tags":
			return d.strs(&f.Tags)
		}
		return d.other(key, "id", "url", "title", "tags")
	})
}

func (d *itemDecoder) item(it *ArchiveItem) bool {
	return d.object(func(key string) bool {
		switch key {
		case "key":
			return d.str(&it.Key)
		case "guid":
			return d.str(&it.GUID)
		case "link":
			return d.str(&it.Link)
		case "title":
			return d.str(&it.Title)
		case "summary":
			return d.str(&it.Summary)
		case "published":
			return d.str(&it.Published)
		case "updated":
			return d.str(&it.Updated)
		case "authors":
			return d.strs(&it.Authors)
		case "categories":
			return d.strs(&it.Categories)
		case "content":
			return d.str(&it.Content)
		}
		return d.other(key, "key", "guid", "link", "title", "summary", "published", "updated", "authors", "categories", "content")
	})
}

// other reads the value of a key that is none of known: a string, which is skipped. A key that
// equals one of known but for case is decoded into it by ParseItemEvent: false.
func (d *itemDecoder) other(key string, known ...string) bool {
	for _, k := range known {
		if strings.EqualFold(key, k) {
			return false
		}
	}
	var skip string
	return d.str(&skip)
}

// object reads an object, or null, calling field for each key with the reader at its value.
// A second object for the same field is read into it, as encoding/json does.
func (d *itemDecoder) object(field func(key string) bool) bool {
	if d.null() {
		return true
	}
	if !d.byte('{') {
		return false
	}
	if d.byte('}') {
		return true
	}
	for {
		var key string
		if !d.plain(&key) || !d.byte(':') || !field(key) {
			return false
		}
		if d.byte('}') {
			return true
		}
		if !d.byte(',') {
			return false
		}
	}
}

// strs reads an array of strings, or null. An element null is "", as encoding/json gives it.
func (d *itemDecoder) strs(v *[]string) bool {
	if d.null() {
		*v = nil
		return true
	}
	if !d.byte('[') {
		return false
	}
	out := []string{}
	if !d.byte(']') {
		for {
			var s string
			if !d.str(&s) {
				return false
			}
			out = append(out, s)
			if d.byte(']') {
				break
			}
			if !d.byte(',') {
				return false
			}
		}
	}
	*v = out
	return true
}

// str reads a string, or null, which leaves v as it was.
func (d *itemDecoder) str(v *string) bool {
	if d.null() {
		return true
	}
	d.space()
	if d.i >= len(d.b) || d.b[d.i] != '"' {
		return false
	}
	start := d.i + 1
	end, special, high := scanString(d.b, start)
	switch {
	case special:
		return d.unescape(v, start, end)
	case end < 0 || high && !utf8.Valid(d.b[start:end]):
		return false
	}
	*v = unsafe.String(unsafe.SliceData(d.b[start:]), end-start)
	d.i = end + 1
	return true
}

// plain reads a key: a short string of ASCII without escapes, as the archive writes every key.
func (d *itemDecoder) plain(v *string) bool {
	d.space()
	if d.i >= len(d.b) || d.b[d.i] != '"' {
		return false
	}
	start := d.i + 1
	for j := start; j < len(d.b); j++ {
		switch c := d.b[j]; {
		case c == '"':
			*v = unsafe.String(unsafe.SliceData(d.b[start:]), j-start)
			d.i = j + 1
			return true
		case c == '\\' || c < 0x20 || c >= 0x80:
			return false
		}
	}
	return false
}

// unescape reads the string whose text starts at b[start], and whose first escape or control
// character is at b[special], with go-json, as ParseItemEvent would: into a new string.
func (d *itemDecoder) unescape(v *string, start, special int) bool {
	end := special
	for {
		k := bytes.IndexByte(d.b[end:], '"')
		if k < 0 {
			return false
		}
		end += k
		// The quote ends the string unless an odd number of backslashes escapes it.
		n := 0
		for p := end - 1; p >= special && d.b[p] == '\\'; p-- {
			n++
		}
		if n%2 == 0 {
			break
		}
		end++
	}
	var u string // apart from v, which then stays on the caller's stack
	if gojson.Unmarshal(d.b[start-1:end+1], &u) != nil {
		return false
	}
	*v, d.i = u, end+1
	return true
}

// null reads a null, if one comes next.
func (d *itemDecoder) null() bool {
	d.space()
	if len(d.b)-d.i >= 4 && string(d.b[d.i:d.i+4]) == "null" {
		d.i += 4
		return true
	}
	return false
}

// byte reads c, if it comes next after white space.
func (d *itemDecoder) byte(c byte) bool {
	d.space()
	if d.i < len(d.b) && d.b[d.i] == c {
		d.i++
		return true
	}
	return false
}

func (d *itemDecoder) space() {
	for d.i < len(d.b) {
		switch d.b[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

// Bytes repeated in every byte of a word, for scanString.
const (
	ones  = 0x0101010101010101
	highs = 0x8080808080808080
)

// scanString finds the end of the string whose text starts at b[start]: the index of its
// closing quote, or -1 when none comes; or of the first backslash or control character before
// it, with special set. high is set when a byte above 0x7f comes before the index.
func scanString(b []byte, start int) (end int, special, high bool) {
	q := bytes.IndexByte(b[start:], '"')
	if q < 0 {
		return -1, false, false
	}
	end = start + q
	if k := bytes.IndexByte(b[start:end], '\\'); k >= 0 {
		end, special = start+k, true
	}
	// Eight bytes at a time: a byte below 0x20 borrows from w-0x20 into its top bit, a byte
	// above 0x7f has it already; the test may flag a byte above a flagged one, never miss one.
	i := start
	for ; i+8 <= end; i += 8 {
		w := binary.LittleEndian.Uint64(b[i:])
		if ((w-ones*0x20)|w)&highs == 0 {
			continue
		}
		high = high || w&highs != 0
		if (w-ones*0x20)&^w&highs != 0 {
			break // a control character, or a flag above a high byte: see byte by byte
		}
	}
	for ; i < end; i++ {
		switch c := b[i]; {
		case c < 0x20:
			return i, true, high
		case c >= 0x80:
			high = true
		}
	}
	return end, special, high
}
