package config

import (
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/token"
)

// value is a resolved node with the place to report problems with it.
type value struct {
	node   ast.Node     // resolved; nil when null, absent or failed
	str    bool         // tagged !!str
	tok    *token.Token // where it is written (an alias points at its use)
	failed bool         // an error about it has been reported
}

// absent reports whether the value is null or missing (and not failed).
func (v value) absent() bool { return v.node == nil && !v.failed }

// value resolves n. Null becomes a value with a nil node: an absent key.
func (d *decoder) value(n ast.Node) value {
	tok := tokenOf(n)
	r, str, ok := d.resolve(n)
	if !ok {
		return value{tok: tok, failed: true}
	}
	if isNull(r) {
		return value{tok: tok}
	}
	if _, alias := n.(*ast.AliasNode); !alias {
		tok = tokenOf(r)
	}
	return value{node: r, str: str, tok: tok}
}

// text returns the text of a scalar. Numbers are taken as written; booleans
// only when tagged !!str, because `no` or `true` for a string is a mistake.
func (d *decoder) text(v value, where string) (string, bool) {
	switch n := v.node.(type) {
	case *ast.StringNode:
		return n.Value, true
	case *ast.LiteralNode:
		if n.Value == nil {
			return "", true
		}
		return n.Value.Value, true
	case *ast.IntegerNode, *ast.FloatNode, *ast.InfinityNode, *ast.NanNode:
		return n.GetToken().Value, true
	case *ast.BoolNode:
		if v.str {
			return n.GetToken().Value, true
		}
	}
	d.errorf(v.tok, "expected a string %s, found %s", where, kind(v.node))
	return "", false
}

// boolean returns the value of a boolean.
func (d *decoder) boolean(v value, where string) (bool, bool) {
	if b, ok := v.node.(*ast.BoolNode); ok && !v.str {
		return b.Value, true
	}
	found := kind(v.node)
	if v.str {
		found = "string"
	}
	d.errorf(v.tok, "expected a boolean %s, found %s", where, found)
	return false, false
}

// sequence returns the items of a sequence, resolved.
func (d *decoder) sequence(v value, where string) ([]value, bool) {
	s, ok := v.node.(*ast.SequenceNode)
	if !ok {
		d.errorf(v.tok, "expected a sequence %s, found %s", where, kind(v.node))
		return nil, false
	}
	items := make([]value, 0, len(s.Values))
	for _, n := range s.Values {
		items = append(items, d.value(n))
	}
	return items, true
}

// quoting is how a scalar is written in the file.
type quoting int

const (
	unmappable quoting = iota // block scalars, or anything else not mapped exactly
	plain
	singleQuoted
	doubleQuoted
)

// scalar remembers where a string value is written, to map a column inside
// the value to the file later.
type scalar struct {
	line, col int // 1-based; col in bytes, where the scalar (or its quote) starts
	quoting   quoting
	value     string
}

// scalarOf records where a string value is written.
func (d *decoder) scalarOf(v value, text string) scalar {
	line, col := d.pos(v.tok)
	s := scalar{line: line, col: col, value: text}
	switch n := v.node.(type) {
	case *ast.StringNode:
		switch n.GetToken().Type {
		case token.SingleQuoteType:
			s.quoting = singleQuoted
		case token.DoubleQuoteType:
			s.quoting = doubleQuoted
		default:
			s.quoting = plain
		}
	case *ast.IntegerNode, *ast.FloatNode, *ast.InfinityNode, *ast.NanNode, *ast.BoolNode:
		s.quoting = plain
	}
	// An alias is written elsewhere than its value: point at the alias.
	if v.tok != tokenOf(v.node) {
		s.quoting = unmappable
	}
	return s
}
