package config

import (
	"bytes"
	"fmt"
)

// The YAML parser's cost is not linear in the file. Every node keeps its path from the root
// ("$.lists.big[3]"), built afresh for each node, so its memory grows with the nesting depth
// times the number of nodes, and with the length of the keys above each node: 32 KB of nested
// flow sequences took 430 MB, and a 100 KB key above 10,000 items 1 GB. Parse therefore refuses,
// before the parser sees the text, a file larger than maxFileSize, nested deeper than maxDepth
// collections, or whose keys above a value add up to more than maxKeyPath bytes. Nothing an
// ordinary configuration does comes near these bounds: its deepest value is five levels down
// and the keys above it hold some thirty bytes.
const (
	maxFileSize = 32 << 20 // bytes
	maxDepth    = 64       // collections, flow and block, one inside another
	maxKeyPath  = 1024     // bytes of the keys above a value, its own included
	// aliasFloor is how many nodes the aliases of a file may stand for, in all, when the file
	// holds fewer itself: more would let a few lines cost the decoder minutes (see
	// collectAnchors).
	aliasFloor = 1_000_000
)

// tooLarge is the error for a file of size bytes (-1: unknown) over maxFileSize.
func tooLarge(file string, size int64) *Error {
	if size < 0 {
		return &Error{File: file, Msg: fmt.Sprintf("file too large: more than %d bytes (32 MiB), the most a configuration may hold", maxFileSize)}
	}
	return &Error{File: file, Msg: fmt.Sprintf("file too large: %d bytes, more than the %d (32 MiB) a configuration may hold", size, maxFileSize)}
}

// level is a collection that holds the text being scanned.
type level struct {
	indent int  // block: the column (0-based) of its entries; -1 in flow
	seq    bool // a block sequence (a flow level does not care)
	key    int  // bytes of the key of the entry being scanned
	// qstart is, in a block mapping whose entry has an explicit key (?), where that key
	// starts, until its value indicator (:) is found; -1 otherwise. item is where the entry of
	// a flow collection being scanned starts, -1 before its first character. qline is the line
	// of either, which starts at qlineStart.
	qstart, item, qline, qlineStart int
}

// nestScan checks the nesting of a YAML text in one pass, without parsing it: it follows block
// collections by their indentation and compact indicators (- ? and key:) and flow collections
// by their brackets, and skips comments, quoted scalars, block scalars and the continuation
// lines of plain scalars, where brackets and colons mean nothing. It errs on the side of
// counting: where the text is not valid YAML it may count a level the parser would not.
type nestScan struct {
	data      []byte
	i         int // offset being scanned
	line      int // 1-based line of offset i
	lineStart int // offset of that line
	block     []level
	flow      []level
	keys      int // the sum of key over block and flow
	cont      int // a plain scalar may continue on lines indented more than this; -2: none
	err       *Error
	file      string
}

// checkNesting returns the error for the first place in data nested deeper than maxDepth or
// under keys longer than maxKeyPath, or nil.
func checkNesting(file string, data []byte) *Error {
	s := &nestScan{data: data, line: 1, cont: -2, file: file}
	for s.i < len(s.data) && s.err == nil {
		s.scanLine()
	}
	return s.err
}

// fail records an error at offset off, on the current line.
func (s *nestScan) fail(off int, format string, args ...any) {
	s.failAt(s.line, s.lineStart, off, format, args...)
}

// failAt records an error at offset off, on line line, which starts at offset start.
func (s *nestScan) failAt(line, start, off int, format string, args ...any) {
	if s.err != nil {
		return
	}
	end := bytes.IndexByte(s.data[start:], '\n')
	if end < 0 {
		end = len(s.data) - start
	}
	text := string(bytes.TrimSuffix(s.data[start:start+end], []byte("\r")))
	s.err = &Error{File: s.file, Line: line, Column: off - start + 1, Msg: fmt.Sprintf(format, args...), Source: maskUserinfo(text)}
}

func (s *nestScan) depth() int { return len(s.block) + len(s.flow) }

// at reports whether offset i holds c.
func (s *nestScan) at(i int, c byte) bool { return i < len(s.data) && s.data[i] == c }

// blankAt reports whether offset i is the end of the text, a line break or a blank.
func (s *nestScan) blankAt(i int) bool {
	return i >= len(s.data) || s.data[i] == ' ' || s.data[i] == '\t' || s.data[i] == '\r' || s.data[i] == '\n'
}

// flowBreak reports whether offset i ends a plain scalar in a flow collection.
func (s *nestScan) flowBreak(i int) bool {
	return s.blankAt(i) || bytes.IndexByte([]byte(",[]{}"), s.data[i]) >= 0
}

// skipBlanks moves past spaces and tabs on the current line.
func (s *nestScan) skipBlanks() {
	for s.i < len(s.data) && (s.data[s.i] == ' ' || s.data[s.i] == '\t') {
		s.i++
	}
}

// lineEnd reports whether the rest of the line holds nothing but a comment.
func (s *nestScan) lineEnd() bool {
	return s.i >= len(s.data) || s.data[s.i] == '\n' || s.data[s.i] == '\r' || s.data[s.i] == '#'
}

// nextLine moves to the start of the next line.
func (s *nestScan) nextLine() {
	if s.i >= len(s.data) {
		s.i = len(s.data)
		return
	}
	if n := bytes.IndexByte(s.data[s.i:], '\n'); n >= 0 {
		s.i += n
		s.newline()
		return
	}
	s.i = len(s.data)
}

// newline is called with offset i at a line break; it moves past it.
func (s *nestScan) newline() {
	s.i++
	s.line++
	s.lineStart = s.i
}

// indentOf returns the indentation, in spaces, of the line at offset start, and whether the
// line holds nothing but blanks or a comment.
func (s *nestScan) indentOf(start int) (int, bool) {
	n := 0
	for start+n < len(s.data) && s.data[start+n] == ' ' {
		n++
	}
	i := start + n
	for i < len(s.data) && (s.data[i] == ' ' || s.data[i] == '\t') {
		i++
	}
	return n, i >= len(s.data) || s.data[i] == '\n' || s.data[i] == '\r' || s.data[i] == '#'
}

// scanLine scans the line at offset i in block context.
func (s *nestScan) scanLine() {
	n, empty := s.indentOf(s.i)
	if empty {
		if t := bytes.TrimLeft(s.data[s.i:], " \t"); len(t) > 0 && t[0] == '#' {
			s.cont = -2 // a comment ends a plain scalar
		}
		s.nextLine()
		return
	}
	marker := n == 0 && (bytes.HasPrefix(s.data[s.i:], []byte("---")) || bytes.HasPrefix(s.data[s.i:], []byte("..."))) && s.blankAt(s.i+3)
	if s.cont > -2 && n > s.cont && !marker && !s.holdsKey(s.i+n) {
		s.nextLine() // the plain scalar of the line before goes on
		return
	}
	s.cont = -2
	s.i += n
	if marker {
		s.popBlock(-1) // a new document
		s.i += 3
		s.skipBlanks()
		if s.lineEnd() {
			s.nextLine()
			return
		}
	} else {
		s.popBlock(n)
	}
	s.scanNode()
}

// holdsKey reports whether the line from offset i holds a value indicator (": ") before any
// comment. The continuation of a plain scalar cannot, and the parser takes such a line for a key.
func (s *nestScan) holdsKey(i int) bool {
	for ; i < len(s.data) && s.data[i] != '\n'; i++ {
		switch s.data[i] {
		case ':':
			if s.blankAt(i + 1) {
				return true
			}
		case '#':
			if s.data[i-1] == ' ' || s.data[i-1] == '\t' {
				return false
			}
		}
	}
	return false
}

// popBlock closes the block collections indented more than n.
func (s *nestScan) popBlock(n int) {
	for len(s.block) > 0 && s.block[len(s.block)-1].indent > n {
		s.keys -= s.block[len(s.block)-1].key
		s.block = s.block[:len(s.block)-1]
	}
}

// open notes an entry of a block collection (a sequence when seq) at offset i, and returns
// its level, or nil after an error.
func (s *nestScan) open(seq bool) *level {
	c := s.i - s.lineStart
	if k := len(s.block); k > 0 && s.block[k-1].indent == c {
		top := &s.block[k-1]
		switch {
		case top.seq == seq:
		case top.seq && k > 1 && s.block[k-2].indent == c:
			// A key after a sequence written at the indentation of its own key.
			s.keys -= top.key
			s.block = s.block[:k-1]
			top = &s.block[k-2]
		case !top.seq:
			// A sequence at the indentation of the key it is the value of.
			return s.push(c, seq)
		default:
			top.seq = seq // not valid YAML; the parser will say so
		}
		s.keys -= top.key
		top.key, top.qstart = 0, -1
		return top
	}
	return s.push(c, seq)
}

// push opens a block collection at column c.
func (s *nestScan) push(c int, seq bool) *level {
	if s.depth() >= maxDepth {
		s.fail(s.i, "nested deeper than %d levels", maxDepth)
		return nil
	}
	s.block = append(s.block, level{indent: c, seq: seq, qstart: -1, item: -1})
	return &s.block[len(s.block)-1]
}

const keyTooLong = "key too long: %d bytes with the keys it is nested under, more than %d"

// setKey records that the entry of lv has a key of n bytes that starts at offset start, on
// line line, which starts at offset lineStart.
func (s *nestScan) setKey(lv *level, n, start, line, lineStart int) {
	s.keys += n - lv.key
	lv.key = n
	if s.keys > maxKeyPath {
		s.failAt(line, lineStart, start, keyTooLong, s.keys, maxKeyPath)
	}
}

// scanNode scans the rest of the line from offset i, where a node starts, in block context.
func (s *nestScan) scanNode() {
	for s.err == nil {
		if s.lineEnd() {
			s.nextLine()
			return
		}
		start, line, lineStart := s.i, s.line, s.lineStart
		switch c := s.data[s.i]; {
		case c == ':' && s.blankAt(s.i+1) && s.explicitKey():
			// The value of an explicit key: the key is all that came between.
			lv := &s.block[len(s.block)-1]
			s.setKey(lv, s.i-lv.qstart, lv.qstart, lv.qline, lv.qlineStart)
			lv.qstart = -1
			s.i++
			s.skipBlanks()
		case (c == '-' || c == '?' || c == ':') && s.blankAt(s.i+1):
			lv := s.open(c == '-')
			if lv == nil {
				return
			}
			if c == '?' {
				lv.qstart, lv.qline, lv.qlineStart = s.i+1, s.line, s.lineStart
			}
			s.i++
			s.skipBlanks()
		case c == '&' || c == '!':
			for !s.blankAt(s.i) {
				s.i++
			}
			s.skipBlanks()
		case c == '|' || c == '>':
			s.blockScalar()
			return
		case c == '[' || c == '{' || c == '"' || c == '\'':
			if c == '"' || c == '\'' {
				s.quoted()
			} else {
				s.flowCollection()
			}
			if s.err != nil {
				return
			}
			s.skipBlanks()
			if s.at(s.i, ':') && s.blankAt(s.i+1) {
				s.key(start, line, lineStart) // a quoted or flow key
				continue
			}
			s.nextLine()
			return
		default:
			// A plain scalar: a key if a value indicator follows on the line.
			for s.i < len(s.data) && s.data[s.i] != '\n' {
				if s.data[s.i] == ':' && s.blankAt(s.i+1) {
					break
				}
				if s.data[s.i] == '#' && (s.data[s.i-1] == ' ' || s.data[s.i-1] == '\t') {
					break
				}
				s.i++
			}
			if s.at(s.i, ':') {
				s.key(start, line, lineStart)
				continue
			}
			if len(s.block) > 0 {
				s.cont = s.block[len(s.block)-1].indent
			} else {
				s.cont = -1
			}
			s.nextLine()
			return
		}
	}
}

// explicitKey reports whether the block mapping at the column of offset i waits for the value of
// an explicit key.
func (s *nestScan) explicitKey() bool {
	k := len(s.block)
	return k > 0 && s.block[k-1].indent == s.i-s.lineStart && !s.block[k-1].seq && s.block[k-1].qstart >= 0
}

// key notes the implicit key that starts at offset start, on line line, which starts at offset
// lineStart, and ends before the value indicator at offset i, and moves past the indicator.
func (s *nestScan) key(start, line, lineStart int) {
	end, endLine, endLineStart := s.i, s.line, s.lineStart
	// The key's collection is where the key starts.
	s.i, s.line, s.lineStart = start, line, lineStart
	lv := s.open(false)
	s.i, s.line, s.lineStart = end, endLine, endLineStart
	if lv == nil {
		return
	}
	s.setKey(lv, end-start, start, line, lineStart)
	s.i = end + 1
	s.skipBlanks()
}

// blockScalar skips a literal or folded scalar whose header is at offset i: its content is
// every line indented at least as much as its first non-empty line, which is indented more than
// the collection that holds the scalar.
func (s *nestScan) blockScalar() {
	parent := -1
	if len(s.block) > 0 {
		parent = s.block[len(s.block)-1].indent
	}
	explicit := 0
	for j := s.i + 1; j < len(s.data) && j <= s.i+2; j++ {
		if c := s.data[j]; c >= '1' && c <= '9' {
			explicit = int(c - '0')
		}
	}
	s.nextLine()
	m := -1
	for s.i < len(s.data) {
		n, _ := s.indentOf(s.i)
		blank := true
		for j := s.i + n; j < len(s.data) && s.data[j] != '\n'; j++ {
			if s.data[j] != ' ' && s.data[j] != '\t' && s.data[j] != '\r' {
				blank = false
				break
			}
		}
		if !blank {
			if m < 0 {
				m = n
				if explicit > 0 {
					m = min(m, max(parent, 0)+explicit)
				}
			}
			if n < m || n <= parent {
				return
			}
		}
		s.nextLine()
	}
}

// quoted skips the single- or double-quoted scalar at offset i, which may span lines.
func (s *nestScan) quoted() {
	q := s.data[s.i]
	s.i++
	for s.i < len(s.data) {
		switch c := s.data[s.i]; {
		case c == '\n':
			s.newline()
			continue
		case c == '\\' && q == '"':
			s.i++
			if s.i == len(s.data) {
				return
			}
			if s.at(s.i, '\n') {
				s.newline()
				continue
			}
		case c == q:
			if q == '\'' && s.at(s.i+1, '\'') {
				s.i++
			} else {
				s.i++
				return
			}
		}
		s.i++
	}
}

// flowCollection scans the flow collection that opens at offset i, to its end, which may be on
// a later line.
func (s *nestScan) flowCollection() {
	atStart := true // where a scalar may start: a quote opens a quoted one
	for s.i < len(s.data) && s.err == nil {
		c := s.data[s.i]
		top := len(s.flow) - 1
		if c != ' ' && c != '\t' && c != '\r' && c != '\n' && top >= 0 && s.flow[top].item < 0 {
			s.flow[top].item, s.flow[top].qline, s.flow[top].qlineStart = s.i, s.line, s.lineStart
		}
		switch {
		case c == '\n':
			s.newline()
			continue
		case c == ' ' || c == '\t' || c == '\r':
		case c == '#' && (s.i == s.lineStart || s.data[s.i-1] == ' ' || s.data[s.i-1] == '\t'):
			s.i = s.lineStart + bytes.IndexByte(s.data[s.lineStart:], '\n')
			if s.i < s.lineStart {
				s.i = len(s.data)
			}
			continue
		case c == '[' || c == '{':
			if s.depth() >= maxDepth {
				s.fail(s.i, "nested deeper than %d levels", maxDepth)
				return
			}
			s.flow = append(s.flow, level{indent: -1, qstart: -1, item: -1})
			atStart = true
		case c == ']' || c == '}':
			if top >= 0 {
				s.keys -= s.flow[top].key
				s.flow = s.flow[:top]
			}
			s.i++
			if len(s.flow) == 0 {
				return
			}
			atStart = false
			continue
		case c == ',':
			if top >= 0 {
				s.keys -= s.flow[top].key
				s.flow[top].key, s.flow[top].item = 0, -1
			}
			atStart = true
		case c == ':' && (s.flowBreak(s.i+1) || !atStart && (s.data[s.i-1] == '"' || s.data[s.i-1] == '\'')):
			if top >= 0 && s.flow[top].item >= 0 {
				lv := &s.flow[top]
				s.setKey(lv, s.i-lv.item, lv.item, lv.qline, lv.qlineStart)
			}
			atStart = true
		case (c == '"' || c == '\'') && atStart:
			s.quoted()
			atStart = false
			continue
		case (c == '&' || c == '!' || c == '?') && atStart:
			for !s.flowBreak(s.i) {
				s.i++
			}
			continue
		default:
			atStart = false
		}
		s.i++
	}
}
