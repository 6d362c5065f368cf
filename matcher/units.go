package matcher

import "unicode/utf8"

// Units sets the offsets of each hit in UTF-16 code units (Start16, End16) and in code points
// (StartCP, EndCP) beside its byte offsets, for consumers whose strings are indexed so: JavaScript,
// Java and C# by UTF-16 units, Python by code points. It reads each hit's field text from it, in
// one pass over a field value for hits that come in order of offset, as Match returns them.
func Units(hits []Hit, it *Item) {
	var (
		field, text string
		index       int
		c           unitCursor
	)
	for i := range hits {
		h := &hits[i]
		if h.Field != field || h.Index != index || h.Start < c.bytes {
			field, index = h.Field, h.Index
			text = it.Field(field, index)
			c = unitCursor{}
		}
		h.Start16, h.StartCP = c.advance(text, h.Start)
		h.End16, h.EndCP = c.advance(text, h.End)
	}
}

// unitCursor is a position in a text counted in bytes, UTF-16 units and code points.
type unitCursor struct {
	bytes, utf16, cps int
}

// advance moves c forward to the byte offset off (at most the end of text) and returns it in
// UTF-16 units and code points. An offset inside a multi-byte character counts that character.
func (c *unitCursor) advance(text string, off int) (utf16, cps int) {
	off = min(off, len(text))
	for c.bytes < off {
		r, size := utf8.DecodeRuneInString(text[c.bytes:])
		c.bytes += size
		c.cps++
		c.utf16++
		if r >= 0x10000 {
			c.utf16++ // a surrogate pair
		}
	}
	return c.utf16, c.cps
}
