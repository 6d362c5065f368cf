package config

import (
	"fmt"
	"reflect"

	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/token"
)

// decoder walks the syntax tree of one file and collects every error.
type decoder struct {
	src     source
	errs    Errors
	anchors map[*ast.AliasNode]ast.Node // alias -> the anchored value it names
	// lineOffset is added to the lines of the parser's tokens: the line before the piece of
	// the file being decoded (see split.go).
	lineOffset int
	// feedBatches, when set, hold the feeds section, which the parsed document lacks; they are
	// cleared once decoded, and splitFailed is set if they could not be.
	feedBatches []feedBatch
	splitFailed bool
	// anchorSize holds how many nodes each anchored value holds; aliased counts the nodes
	// of the values that the aliases decoded so far name, and aliasErr is set at the alias at
	// which that count passed aliasBudget.
	anchorSize           map[ast.Node]int
	aliased, aliasBudget int
	aliasErr             *Error
}

// errorf records an error at the start of tk.
func (d *decoder) errorf(tk *token.Token, format string, args ...any) {
	line, col := d.pos(tk)
	d.errs = append(d.errs, d.src.errorAt(line, col, fmt.Sprintf(format, args...)))
}

// pos returns the 1-based line and byte column where tk starts.
func (d *decoder) pos(tk *token.Token) (line, col int) {
	if tk == nil || tk.Position == nil {
		return 0, 0
	}
	line = tk.Position.Line + d.lineOffset
	return line, d.src.byteColumn(line, tk.Position.Column)
}

// position is pos as a Position.
func (d *decoder) position(tk *token.Token) Position {
	line, col := d.pos(tk)
	return Position{Line: line, Column: col}
}

// tokenOf returns the token that marks where n starts in the file.
func tokenOf(n ast.Node) *token.Token {
	if isNil(n) {
		return nil
	}
	switch n := n.(type) {
	case *ast.MappingNode:
		if !n.IsFlowStyle && len(n.Values) > 0 {
			return tokenOf(n.Values[0].Key)
		}
	case *ast.MappingValueNode:
		return tokenOf(n.Key)
	case *ast.TagNode:
		return n.Start
	case *ast.AnchorNode:
		return n.Start
	case *ast.AliasNode:
		return n.Start
	case *ast.MappingKeyNode:
		return n.Start
	case *ast.LiteralNode:
		return n.Start
	}
	return n.GetToken()
}

// collectAnchors records, for every alias, the value of the last anchor of
// that name defined before it. An anchor is recorded after its own value, so
// an alias inside the value it names finds nothing and cannot recurse. It
// returns how many nodes n holds, and records that count for anchored values.
func (d *decoder) collectAnchors(n ast.Node, named map[string]ast.Node) int {
	if isNil(n) {
		return 0
	}
	size := 1
	switch n := n.(type) {
	case *ast.DocumentNode:
		size += d.collectAnchors(n.Body, named)
	case *ast.MappingNode:
		for _, v := range n.Values {
			size += d.collectAnchors(v, named)
		}
	case *ast.MappingValueNode:
		size += d.collectAnchors(n.Key, named)
		size += d.collectAnchors(n.Value, named)
	case *ast.MappingKeyNode:
		size += d.collectAnchors(n.Value, named)
	case *ast.SequenceNode:
		for _, v := range n.Values {
			size += d.collectAnchors(v, named)
		}
	case *ast.TagNode:
		size += d.collectAnchors(n.Value, named)
	case *ast.AnchorNode:
		inner := d.collectAnchors(n.Value, named)
		size += inner
		if !isNil(n.Name) {
			named[n.Name.GetToken().Value] = n.Value
			d.anchorSize[n.Value] = inner
		}
	case *ast.AliasNode:
		if isNil(n.Value) {
			return size
		}
		if v, ok := named[n.Value.GetToken().Value]; ok {
			d.anchors[n] = v
		}
	}
	return size
}

// followAlias counts the nodes of v, which an alias names, against the budget of the file, and
// reports whether they fit. Decoding walks the value an alias names each time the alias is
// decoded, so aliases of aliases multiply: ten anchors of ten aliases each make ten billion
// visits out of a few lines. The budget, as many nodes as the file holds (at least
// aliasFloor), lets aliases at most double the work of decoding.
func (d *decoder) followAlias(alias *ast.AliasNode, v ast.Node) bool {
	if d.aliasErr != nil {
		return false
	}
	d.aliased += d.anchorSize[v]
	if d.aliased > d.aliasBudget {
		line, col := d.pos(alias.Start)
		d.aliasErr = d.src.errorAt(line, col, fmt.Sprintf("too many aliases: the values they name add up to more than %d nodes", d.aliasBudget))
		return false
	}
	return true
}

// standardTags are the tags that change nothing for us once the value has the
// type the key expects; !!str also turns any scalar into a string.
var standardTags = map[string]bool{
	"!!str": true, "!!int": true, "!!float": true, "!!bool": true, "!!null": true,
	"!!map": true, "!!seq": true,
}

// resolve follows anchors, aliases and tags to the node that holds the value.
// It reports whether the value was tagged !!str, and returns ok false after
// recording an error.
func (d *decoder) resolve(n ast.Node) (node ast.Node, str, ok bool) {
	for hops := 0; ; hops++ {
		switch x := n.(type) {
		case *ast.AnchorNode:
			n = x.Value
		case *ast.TagNode:
			tag := x.Start.Value
			if !standardTags[tag] {
				d.errorf(x.Start, "unsupported tag %q", tag)
				return nil, false, false
			}
			str = str || tag == "!!str"
			n = x.Value
		case *ast.AliasNode:
			v, ok := d.anchors[x]
			if !ok {
				name := ""
				if !isNil(x.Value) {
					name = x.Value.GetToken().Value
				}
				d.errorf(x.Start, "unknown alias %q", name)
				return nil, false, false
			}
			if !d.followAlias(x, v) {
				return nil, false, false
			}
			n = v
		default:
			return n, str, true
		}
		if hops > 64 {
			d.errorf(tokenOf(n), "too many nested anchors, aliases and tags")
			return nil, false, false
		}
	}
}

// kind names the type of a resolved node for messages.
func kind(n ast.Node) string {
	switch n.(type) {
	case *ast.MappingNode, *ast.MappingValueNode:
		return "mapping"
	case *ast.SequenceNode:
		return "sequence"
	case *ast.StringNode, *ast.LiteralNode:
		return "string"
	case *ast.IntegerNode:
		return "integer"
	case *ast.FloatNode, *ast.InfinityNode, *ast.NanNode:
		return "number"
	case *ast.BoolNode:
		return "boolean"
	case nil, *ast.NullNode:
		return "null"
	}
	return n.Type().YAMLName()
}

// isNull reports whether a resolved node is absent or null.
func isNull(n ast.Node) bool {
	_, null := n.(*ast.NullNode)
	return null || isNil(n)
}

// isNil reports whether n is nil, including a nil pointer in the interface,
// which the parser leaves where a value is missing.
func isNil(n ast.Node) bool {
	if n == nil {
		return true
	}
	v := reflect.ValueOf(n)
	return v.Kind() == reflect.Pointer && v.IsNil()
}
