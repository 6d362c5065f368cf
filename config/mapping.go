package config

import (
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/token"
)

// entry is one key of a mapping with its (unresolved) value.
type entry struct {
	key    string
	keyTok *token.Token
	value  ast.Node
}

// mapping returns the entries of n in file order, with merge keys (<<)
// applied. It reports duplicate keys and, when n is not a mapping, reports
// "expected a mapping <where>, found ..." and returns false.
func (d *decoder) mapping(n ast.Node, where string) ([]entry, bool) {
	return d.mappingOf(n, where, "key")
}

// mappingOf is mapping with the keys called what in messages:
// `duplicate list "dprk"`.
func (d *decoder) mappingOf(n ast.Node, where, what string) ([]entry, bool) {
	n, _, ok := d.resolve(n)
	if !ok {
		return nil, false
	}
	var values []*ast.MappingValueNode
	switch m := n.(type) {
	case *ast.MappingNode:
		values = m.Values
	case *ast.MappingValueNode:
		values = []*ast.MappingValueNode{m}
	default:
		d.errorf(tokenOf(n), "expected a mapping %s, found %s", where, kind(n))
		return nil, false
	}
	return d.entries(values, what, map[ast.Node]bool{n: true}), true
}

// entries flattens mapping values. visited holds the mappings being merged,
// so that merging the same mapping again costs nothing.
func (d *decoder) entries(values []*ast.MappingValueNode, what string, visited map[ast.Node]bool) []entry {
	var (
		own    []entry
		merged []entry
		seen   = map[string]bool{}
	)
	for _, mv := range values {
		if _, ok := mv.Key.(*ast.MergeKeyNode); ok {
			merged = append(merged, d.merge(mv.Value, what, visited)...)
			continue
		}
		key, tk, ok := d.key(mv.Key)
		if !ok {
			continue
		}
		if seen[key] {
			d.errorf(tk, "duplicate %s %q", what, key)
			continue
		}
		seen[key] = true
		own = append(own, entry{key: key, keyTok: tk, value: mv.Value})
	}
	for _, e := range merged {
		if !seen[e.key] {
			seen[e.key] = true
			own = append(own, e)
		}
	}
	return own
}

// merge returns the entries that a merge key's value brings: one mapping or a
// sequence of mappings, the first taking precedence.
func (d *decoder) merge(n ast.Node, what string, visited map[ast.Node]bool) []entry {
	n, _, _ = d.resolve(n)
	var sources []ast.Node
	if s, ok := n.(*ast.SequenceNode); ok {
		for _, v := range s.Values {
			v, _, _ = d.resolve(v)
			sources = append(sources, v)
		}
	} else {
		sources = []ast.Node{n}
	}
	var out []entry
	for _, src := range sources {
		if isNil(src) || visited[src] {
			continue
		}
		var values []*ast.MappingValueNode
		switch m := src.(type) {
		case *ast.MappingNode:
			values = m.Values
		case *ast.MappingValueNode:
			values = []*ast.MappingValueNode{m}
		default:
			d.errorf(tokenOf(src), "expected a mapping to merge, found %s", kind(src))
			continue
		}
		visited[src] = true
		out = append(out, d.entries(values, what, visited)...)
	}
	return out
}

// key returns the text of a mapping key.
func (d *decoder) key(k ast.Node) (string, *token.Token, bool) {
	if mk, ok := k.(*ast.MappingKeyNode); ok {
		k = mk.Value
	}
	start := tokenOf(k)
	n, _, _ := d.resolve(k)
	if isNil(n) {
		return "", nil, false
	}
	switch n := n.(type) {
	case *ast.StringNode:
		return n.Value, start, true
	case *ast.IntegerNode, *ast.FloatNode, *ast.BoolNode, *ast.InfinityNode, *ast.NanNode, *ast.NullNode:
		return n.GetToken().Value, start, true
	}
	d.errorf(start, "expected a string as key, found %s", kind(n))
	return "", nil, false
}
