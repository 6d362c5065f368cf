package config

import (
	"bytes"
	"errors"
	"regexp"

	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/token"
)

// A large file is parsed in pieces. The YAML parser holds about 190 bytes a token and more for
// the syntax tree, 47 times the file, for as long as the document is decoded: 300 MB for a
// list of 100,000 feeds, which a daemon with a memory limit cannot spare. When a large file's feeds are a block sequence under
// a top-level "feeds:" key (how a generated list is written), Parse hands the parser the rest
// of the file with those items blanked, then the items a batch at a time. Whatever the pieces
// cannot decode exactly as the whole would (a batch that does not parse, anchors and aliases
// that could cross a cut) sends the file to the parser whole, so the result is always the
// whole file's.
var (
	splitAbove     = 1 << 20 // bytes of file
	itemsPerBatch  = 1000
	errSplitFailed = errors.New("the feeds cannot be decoded in batches")
)

// topLevelKey is a line that starts a plain key of the top-level mapping.
var topLevelKey = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]*:( |$)`)

// feedBatch is a run of whole feed items, as written, from line line (1-based) on. It is
// parsed as a document of its own: "feeds:", lines, and after, what follows them.
type feedBatch struct {
	line  int
	lines [][]byte // of the file
	after []byte
	items int  // how many
	more  bool // an item that stands for the next batch's first follows them
	key   bool // a key that stands for the one after the feeds follows them
}

// splitFeeds returns data with the items of its top-level feeds sequence replaced by empty
// lines, those items in batches, and the line (1-based) of the feeds key; ok is false when the
// file does not have that shape.
func splitFeeds(data []byte) (rest []byte, batches []feedBatch, keyLine int, ok bool) {
	if bytes.IndexByte(data, '\r') >= 0 {
		// A CR alone breaks a line for the parser, not for us; and with CRLF the parser counts
		// lines after a comment or a multi-line scalar one too many, so that a batch, which
		// starts counting afresh, would place errors elsewhere than the whole file.
		return nil, nil, 0, false
	}
	lines := bytes.SplitAfter(data, []byte("\n"))
	key := -1 // the line of "feeds:"
	for i, l := range lines {
		t := bytes.TrimRight(l, "\r\n")
		if bytes.HasPrefix(t, []byte("---")) || bytes.HasPrefix(t, []byte("...")) {
			return nil, nil, 0, false // document markers: several documents, or one explicit one
		}
		if after, ok := bytes.CutPrefix(t, []byte("feeds:")); ok && (len(after) == 0 || after[0] == ' ' && blankOrComment(after)) {
			if key >= 0 {
				return nil, nil, 0, false // a duplicate key, reported by the whole parse
			}
			key = i
		}
	}
	if key < 0 {
		return nil, nil, 0, false
	}
	// The items start at the first line after the key that is not blank or a comment, at an
	// indent of their own, and end before the first line, other than a blank line or a comment,
	// that is indented less or, at the same indent, is not an item.
	indent := -1
	var starts []int            // the first line of each item
	end, next := len(lines), -1 // next: the line of the key after the items
	for i := key + 1; i < len(lines); i++ {
		t := bytes.TrimRight(lines[i], "\r\n")
		n := len(t) - len(bytes.TrimLeft(t, " "))
		if n < len(t) && t[n] == '\t' {
			return nil, nil, 0, false
		}
		if blankOrComment(t) {
			continue
		}
		item := n < len(t) && t[n] == '-' && (n+1 == len(t) || t[n+1] == ' ')
		if item && blankOrComment(t[n+1:]) {
			// An item whose content starts on a later line, if at all: where the parser ends
			// it, and where it puts an empty one, depend on what follows.
			return nil, nil, 0, false
		}
		if indent < 0 {
			if !item || n == 0 {
				// Not a block sequence, or one at column 0, where the parser may take a line
				// at column 0 after an item for part of it.
				return nil, nil, 0, false
			}
			indent = n
		}
		if n < indent || n == indent && !item {
			if n > 0 || !topLevelKey.Match(t) {
				return nil, nil, 0, false // what ends the items is not the next key
			}
			end, next = i, i
			break
		}
		if n == indent {
			starts = append(starts, i)
		}
	}
	if len(starts) == 0 {
		return nil, nil, 0, false
	}
	// Comments and blank lines before the next key stay in the rest.
	for end > starts[len(starts)-1]+1 && blankOrComment(bytes.TrimRight(lines[end-1], "\r\n")) {
		end--
	}
	// Each batch is parsed as a document of its own that puts its items where they are in the
	// file: under a top-level feeds key, and followed by what follows them there, another item
	// or a top-level key, since the parser places some values (a plain scalar over several
	// lines) by what comes next.
	nextItem := append(bytes.Repeat([]byte(" "), indent), "- next\n"...)
	for b := 0; b < len(starts); b += itemsPerBatch {
		fb := feedBatch{line: starts[b] + 1, items: min(itemsPerBatch, len(starts)-b)}
		to := end
		switch {
		case b+itemsPerBatch < len(starts):
			to, fb.after, fb.more = starts[b+itemsPerBatch], nextItem, true
		case next >= 0:
			fb.after, fb.key = append(bytes.Join(lines[end:next], nil), "next:\n"...), true
		default: // the blank lines and comments up to the end, which the parser does not always ignore
			fb.after = bytes.Join(lines[end:], nil)
		}
		fb.lines = lines[starts[b]:to]
		batches = append(batches, fb)
	}
	rest = make([]byte, 0, len(data))
	for i, l := range lines {
		if i >= starts[0] && i < end {
			rest = append(rest, '\n')
			continue
		}
		rest = append(rest, l...)
	}
	return rest, batches, key + 1, true
}

// blankOrComment tells a line that holds nothing for the parser.
func blankOrComment(t []byte) bool {
	t = bytes.TrimLeft(t, " \t")
	return len(t) == 0 || t[0] == '#'
}

// feedsInBatches decodes the feeds of batches as the feeds section would be decoded whole, or
// records that they cannot be.
func (d *decoder) feedsInBatches(batches []feedBatch, def Defaults) []Feed {
	var feeds []Feed
	seen := map[string]bool{}
	for _, b := range batches {
		seq, ok := parseBatch(b)
		if !ok {
			d.splitFailed = true
			return nil
		}
		d.lineOffset = b.line - 2 // the line of "feeds:"
		items, _ := d.sequence(d.value(seq), `for "feeds"`)
		feeds = d.feedItems(items, def, seen, feeds)
		d.lineOffset = 0
	}
	return feeds
}

// parseBatch parses a batch and returns its items, unless they cannot be decoded as part of
// the whole file.
func parseBatch(b feedBatch) (*ast.SequenceNode, bool) {
	text := append([]byte("feeds:\n"), bytes.Join(b.lines, nil)...)
	f, err := parse(append(text, b.after...))
	if err != nil || f == nil || len(f.Docs) != 1 || f.Docs[0] == nil {
		return nil, false
	}
	body := f.Docs[0].Body
	if len(ast.Filter(ast.AnchorType, body)) > 0 || len(ast.Filter(ast.AliasType, body)) > 0 {
		return nil, false
	}
	// The parser must have seen the items as they were cut: as many, and not one of them
	// taking in what follows (it does for some items that end in a tag).
	keys, want := 1, b.items
	if b.key {
		keys++
	}
	if b.more {
		want++
	}
	m, ok := body.(*ast.MappingNode)
	if !ok || len(m.Values) != keys || m.Values[0].Key.String() != "feeds" {
		return nil, false
	}
	seq, ok := m.Values[0].Value.(*ast.SequenceNode)
	if !ok || len(seq.Values) != want {
		return nil, false
	}
	if b.more {
		seq.Values = seq.Values[:len(seq.Values)-1]
	}
	return seq, true
}

// feedsKeyAt tells whether the top-level mapping body has one key named feeds, written on line
// line with nothing after it: the one whose items the batches hold.
func feedsKeyAt(body ast.Node, line int) bool {
	m, ok := body.(*ast.MappingNode)
	if !ok {
		return false
	}
	found := 0
	for _, mv := range m.Values {
		k := tokenOf(mv.Key)
		if k == nil || k.Value != "feeds" {
			continue
		}
		found++
		if k.Position == nil || k.Position.Line != line || k.Type != token.StringType {
			return false
		}
		if mv.Value != nil {
			if _, null := mv.Value.(*ast.NullNode); !null {
				return false
			}
		}
	}
	return found == 1
}
