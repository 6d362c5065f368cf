package watcher

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// A document is bounded before gofeed parses it. gofeed builds the whole feed in memory, every
// item of it, and for Atom parses and re-renders the HTML of every text field (twice when an
// xml:base is in scope, to resolve its links); a 10 MB document could take seconds and a
// gigabyte. The bounded document is the original's bytes, copied through, with three cuts:
//
//   - it ends after the MaxItems-th item: the containers still open are closed and the rest is
//     never read (an element of the channel after the items, a late <ttl> say, is lost with it);
//   - a field, any child element of an item or of the channel, that runs past fieldBudget bytes
//     or nests deeper than fieldDepth is cut there, its open elements closed: the matcher reads
//     at most MaxFieldBytes of its plain text, so gofeed need not see more;
//   - text between the fields of the channel, which gofeed skips, is dropped.
//
// The scan uses encoding/xml with gofeed's settings (not strict, no entity table), so it sees
// the elements gofeed would; a document that does not scan is ErrMalformedFeed, as gofeed would
// have found. Streaming the document ourselves and building items from the tokens would save
// the second pass, but would give up gofeed's translation (dates in their many formats,
// authors, extensions such as dc: and content:) that the keys and alerts rely on; the scan
// costs a fraction of what gofeed spends on the same bytes.

const (
	// fieldBudget is the bytes of a field's XML that gofeed gets: what plain cuts the field's
	// text to anyway (4 × MaxFieldBytes), and room for its tags and CDATA markers, so that a
	// field of up to 256 KiB of text or CDATA reads as before. A field of escaped HTML, whose
	// markup costs several bytes a character, keeps less HTML, seldom less than MaxFieldBytes
	// of its plain text.
	fieldBudget = 4*MaxFieldBytes + 1024
	// fieldDepth is how deep elements nest inside a field before the field is cut. Real
	// XHTML content nests a dozen deep; the HTML parser gofeed runs on it costs the depth
	// for every tag.
	fieldDepth = 32
	// checkEvery is how many tokens are scanned between looks at the deadline.
	checkEvery = 1024
)

// boundXML returns the bounded form of an RSS or Atom document (see above). data is UTF-8
// (toUTF8). A scan error is ErrMalformedFeed; a done ctx its cause.
func boundXML(ctx context.Context, data []byte) ([]byte, error) {
	b := xmlBounder{data: data, d: xml.NewDecoder(bytes.NewReader(data))}
	b.d.Strict = false
	// toUTF8 has decoded the document and relabelled its prolog; a label it kept is
	// one gofeed will judge.
	b.d.CharsetReader = func(_ string, r io.Reader) (io.Reader, error) { return r, nil }
	b.out.Grow(min(len(data), 1<<20))
	if err := b.scan(ctx); err != nil {
		return nil, err
	}
	return b.out.Bytes(), nil
}

type xmlBounder struct {
	data   []byte
	d      *xml.Decoder
	out    bytes.Buffer
	copied int // data[:copied] is written to out, or dropped

	stack []openElem
	items int
	field int // index in stack of the field being scanned; -1 when none
}

type openElem struct {
	raw   string // the name as written, prefix included, for closing it
	local string // lower-cased local name
	space string // namespace URI
	kind  elemKind
	start int // offset of its start tag
}

type elemKind uint8

const (
	kindOther     elemKind = iota
	kindContainer          // the root, or an RSS channel: items and fields live in it
	kindItem               // an RSS item or an Atom entry
)

// nativeSpaces are the namespaces of RSS, RDF and Atom elements; gofeed reads an element of
// another namespace as an extension, never as an item or a channel.
var nativeSpaces = map[string]bool{
	"": true, "rss": true, "rdf": true,
	"http://www.w3.org/1999/02/22-rdf-syntax-ns#": true,
	"http://purl.org/rss/1.0/":                    true,
	"http://channel.netscape.com/rdf/simple/0.9/": true,
	"http://my.netscape.com/rdf/simple/0.9/":      true,
	"http://www.w3.org/2005/Atom":                 true,
	"http://purl.org/atom/ns#":                    true,
}

func (b *xmlBounder) scan(ctx context.Context) error {
	b.field = -1
	for n := 0; ; n++ {
		tok, start, err := b.next(ctx, n)
		if err != nil {
			return err
		}
		end := int(b.d.InputOffset())
		over := b.field >= 0 && end-b.stack[b.field].start > fieldBudget
		switch t := tok.(type) {
		case xml.StartElement:
			b.open(t, start)
			top := len(b.stack) - 1
			switch {
			case b.field < 0 && b.stack[top].kind == kindOther && top > 0:
				b.field = top
				if end-start > fieldBudget { // a start tag of huge attributes: the field goes
					b.stack = b.stack[:top]
					b.write(start)
					if err := b.skipTo(ctx, top+1, top+1); err != nil {
						return err
					}
					b.copied = int(b.d.InputOffset())
					b.field = -1
				}
			case b.field >= 0 && (over || top-b.field > fieldDepth):
				b.stack = b.stack[:top]
				b.write(start)
				if err := b.cutField(ctx, top+1); err != nil {
					return err
				}
			}
		case xml.EndElement:
			e := b.stack[len(b.stack)-1]
			b.stack = b.stack[:len(b.stack)-1]
			if len(b.stack) == b.field {
				b.field = -1
			}
			switch {
			case len(b.stack) == 0: // the root: what follows it gofeed never reads
				b.write(end)
				return nil
			case e.kind == kindItem:
				b.items++
				if b.items == MaxItems {
					b.write(end)
					b.closeAll(0)
					return nil
				}
			}
		default: // text, comments, processing instructions, directives
			switch {
			case b.field < 0 && len(b.stack) > 0: // between fields: gofeed skips it
				b.write(start)
				b.copied = end
			case over:
				b.write(start)
				if _, ok := tok.(xml.CharData); ok {
					b.writeCut(start, end, b.stack[b.field].start+fieldBudget-start)
				}
				if err := b.cutField(ctx, len(b.stack)); err != nil {
					return err
				}
			}
		}
	}
}

func scanError(err error) error {
	if errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF // no root, or one never closed
	}
	return fmt.Errorf("%w: %w", ErrMalformedFeed, err)
}

// open pushes the element t, which starts at offset start.
func (b *xmlBounder) open(t xml.StartElement, start int) {
	e := openElem{raw: rawName(b.data, start, t.Name), local: strings.ToLower(t.Name.Local), space: t.Name.Space, start: start}
	n := len(b.stack)
	if n == 0 {
		e.kind = kindContainer
		b.stack = append(b.stack, e)
		return
	}
	root := b.stack[0]
	native := nativeSpaces[e.space] || e.space == root.space
	item := "item"
	if root.local == "feed" {
		item = "entry"
	}
	switch {
	case b.field >= 0 || !native || b.stack[n-1].kind != kindContainer:
	case e.local == item:
		e.kind = kindItem
	case e.local == "channel" && n == 1 && item == "item":
		e.kind = kindContainer
	}
	b.stack = append(b.stack, e)
}

// rawName is the name of the start tag at data[start:] as written; name when the token was
// not read from there.
func rawName(data []byte, start int, name xml.Name) string {
	if start < len(data) && data[start] == '<' {
		rest := data[start+1:]
		if i := bytes.IndexAny(rest, " \t\r\n/>"); i > 0 {
			return string(rest[:i])
		}
	}
	return name.Local
}

// write copies the document up to offset to.
func (b *xmlBounder) write(to int) {
	if to > b.copied {
		b.out.Write(b.data[b.copied:to])
		b.copied = to
	}
}

// writeCut writes at most keep bytes of the text token data[start:end], cut where its text
// stays whole: at a rune, before an entity reference, inside a CDATA section that it closes.
func (b *xmlBounder) writeCut(start, end, keep int) {
	tok := b.data[start:end]
	b.copied = end
	const cdata = "<![CDATA["
	if bytes.HasPrefix(tok, []byte(cdata)) {
		inner := tok[len(cdata) : len(tok)-len("]]>")]
		b.out.WriteString(cdata)
		b.out.Write(cutRunes(inner, keep-len(cdata)))
		b.out.WriteString("]]>")
		return
	}
	s := cutRunes(tok, keep)
	if amp := bytes.LastIndexByte(s, '&'); amp >= 0 && !bytes.Contains(s[amp:], []byte(";")) {
		s = s[:amp]
	}
	b.out.Write(s)
}

// cutRunes is s cut to at most n bytes without splitting a rune.
func cutRunes(s []byte, n int) []byte {
	if n <= 0 {
		return nil
	}
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// cutField ends the field being scanned where the output stands, the decoder having open
// elements open: it closes the elements open inside the field and skips the document to the
// field's own end tag, which is copied as written.
func (b *xmlBounder) cutField(ctx context.Context, open int) error {
	field := b.field
	b.closeAll(field + 1)
	if err := b.skipTo(ctx, open, field+1); err != nil {
		return err
	}
	b.write(int(b.d.InputOffset()))
	b.stack = b.stack[:field]
	b.field = -1
	return nil
}

// next reads the n-th token of a loop and the offset where it starts; every checkEvery tokens
// it first looks whether ctx is done.
func (b *xmlBounder) next(ctx context.Context, n int) (xml.Token, int, error) {
	if n%checkEvery == 0 && ctx.Err() != nil {
		return nil, 0, context.Cause(ctx)
	}
	start := int(b.d.InputOffset())
	tok, err := b.d.Token()
	if err != nil {
		return nil, 0, scanError(err)
	}
	return tok, start, nil
}

// skipTo reads tokens, the decoder having open elements open, up to the end tag of the
// depth-th of them, and leaves b.copied at the start of that end tag.
func (b *xmlBounder) skipTo(ctx context.Context, open, depth int) error {
	for n := 1; ; n++ {
		tok, start, err := b.next(ctx, n)
		if err != nil {
			return err
		}
		switch tok.(type) {
		case xml.StartElement:
			open++
		case xml.EndElement:
			if open == depth {
				b.copied = start
				return nil
			}
			open--
		}
	}
}

// closeAll writes the end tags of the open elements from stack[from:], innermost first, and
// forgets them.
func (b *xmlBounder) closeAll(from int) {
	for i := len(b.stack) - 1; i >= from; i-- {
		b.out.WriteString("</")
		b.out.WriteString(b.stack[i].raw)
		b.out.WriteByte('>')
	}
	b.stack = b.stack[:from]
}

// boundJSON returns a JSON Feed with the members of data and its first MaxItems items, read as
// a stream: the items after them are scanned, never kept. A document that does not scan is
// ErrMalformedFeed; a done ctx its cause.
func boundJSON(ctx context.Context, data []byte) ([]byte, error) {
	d := json.NewDecoder(bytes.NewReader(data))
	var out bytes.Buffer
	out.Grow(min(len(data), 1<<20))
	malformed := func(err error) error { return fmt.Errorf("%w: %w", ErrMalformedFeed, err) }
	if err := expectDelim(d, '{'); err != nil {
		return nil, malformed(err)
	}
	out.WriteByte('{')
	for first := true; d.More(); first = false {
		if ctx.Err() != nil {
			return nil, context.Cause(ctx)
		}
		tok, err := d.Token()
		if err != nil {
			return nil, malformed(err)
		}
		key, _ := tok.(string)
		if !first {
			out.WriteByte(',')
		}
		name, _ := json.Marshal(key)
		out.Write(name)
		out.WriteByte(':')
		var raw json.RawMessage
		if !strings.EqualFold(key, "items") {
			if err := d.Decode(&raw); err != nil {
				return nil, malformed(err)
			}
			out.Write(raw)
			continue
		}
		if err := boundJSONItems(ctx, d, &out); err != nil {
			return nil, err
		}
	}
	if err := expectDelim(d, '}'); err != nil {
		return nil, malformed(err)
	}
	if _, err := d.Token(); !errors.Is(err, io.EOF) {
		return nil, malformed(fmt.Errorf("data after the feed's object (%v)", err))
	}
	out.WriteByte('}')
	return out.Bytes(), nil
}

// boundJSONItems copies the items array at the decoder's position, up to MaxItems of its
// elements.
func boundJSONItems(ctx context.Context, d *json.Decoder, out *bytes.Buffer) error {
	malformed := func(err error) error { return fmt.Errorf("%w: %w", ErrMalformedFeed, err) }
	tok, err := d.Token()
	switch {
	case err != nil:
		return malformed(err)
	case tok == nil: // null: no items, as gofeed reads it
		out.WriteString("null")
		return nil
	case tok != json.Delim('['):
		return malformed(fmt.Errorf("items: got %v, want an array", tok))
	}
	out.WriteByte('[')
	for n := 0; d.More(); n++ {
		if n%checkEvery == 0 && ctx.Err() != nil {
			return context.Cause(ctx)
		}
		if n >= MaxItems {
			if err := d.Decode(&skipJSON{}); err != nil {
				return malformed(err)
			}
			continue
		}
		var raw json.RawMessage
		if err := d.Decode(&raw); err != nil {
			return malformed(err)
		}
		if n > 0 {
			out.WriteByte(',')
		}
		out.Write(raw)
	}
	if err := expectDelim(d, ']'); err != nil {
		return malformed(err)
	}
	out.WriteByte(']')
	return nil
}

// skipJSON is a value scanned and dropped.
type skipJSON struct{}

func (*skipJSON) UnmarshalJSON([]byte) error { return nil }

func expectDelim(d *json.Decoder, want json.Delim) error {
	tok, err := d.Token()
	if err != nil {
		return err
	}
	if tok != want {
		return fmt.Errorf("got %v, want %v", tok, want)
	}
	return nil
}
