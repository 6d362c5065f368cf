package matcher

import "regexp"

type astKind uint8

const (
	aTerm   astKind = iota // a bare term: one word, several words (a phrase), maybe a wildcard
	aPhrase                // a quoted phrase
	aRegex
	aList
	aAttr
	aField // kids[0] restricted to fields
	aAnd
	aOr
	aNot
	aNear
)

// ast is a parsed query.
type ast struct {
	kind    astKind
	pos     int
	text    string
	exact   bool
	attr    string
	fields  uint8
	n       int
	ordered bool
	re      *regexp.Regexp
	kids    []*ast
}

// parse parses one query (or, with noLists, one list term) into its syntax tree. Errors that do
// not stop parsing (a NEAR distance out of range, an invalid regular expression) are returned in
// soft, found before the syntax error that stops it, if any; the tree is nil only when err is
// set. A regular expression in error has a nil re.
func parse(q string, noLists bool) (a *ast, soft []*syntaxError, err error) {
	p := &parser{lex: lexer{q: q}, noLists: noLists}
	a, err = p.query()
	if err != nil {
		a = nil
	}
	return a, p.lex.soft, err
}

func (p *parser) query() (*ast, error) {
	t, err := p.lex.peekTok()
	if err != nil {
		return nil, err
	}
	if t.kind == tEOF {
		return nil, errAt(0, "empty query")
	}
	a, err := p.or()
	if err != nil {
		return nil, err
	}
	end, err := p.lex.take()
	if err != nil {
		return nil, err
	}
	switch end.kind {
	case tEOF:
		return a, nil
	case tRParen:
		return nil, errAt(end.pos, "unexpected ): no ( to close")
	}
	return nil, errAt(end.pos, "unexpected %s", describe(end))
}

type parser struct {
	lex     lexer
	noLists bool
	depth   int
}

// maxDepth bounds the nesting of a query, so that a hostile one cannot exhaust the stack.
const maxDepth = 100

func describe(t lexeme) string {
	switch t.kind {
	case tEOF:
		return "end of query"
	case tAnd:
		return "AND"
	case tOr:
		return "OR"
	case tNot:
		return "NOT"
	case tNear:
		if t.ordered {
			return "ONEAR"
		}
		return "NEAR"
	case tRParen:
		return ")"
	}
	return "term"
}

func (p *parser) or() (*ast, error) {
	first, err := p.and()
	if err != nil {
		return nil, err
	}
	kids := []*ast{first}
	for {
		t, err := p.lex.peekTok()
		if err != nil {
			return nil, err
		}
		if t.kind != tOr {
			break
		}
		op, _ := p.lex.take()
		next, err := p.operand(op, "OR")
		if err != nil {
			return nil, err
		}
		b, err := p.and2(next)
		if err != nil {
			return nil, err
		}
		kids = append(kids, b)
	}
	if len(kids) == 1 {
		return first, nil
	}
	return &ast{kind: aOr, pos: first.pos, kids: kids}, nil
}

// operand checks that something follows the binary operator op.
func (p *parser) operand(op lexeme, name string) (*ast, error) {
	t, err := p.lex.peekTok()
	if err != nil {
		return nil, err
	}
	switch t.kind {
	case tEOF, tRParen, tAnd, tOr, tNear:
		return nil, errAt(op.pos, "dangling operator %s: it needs a term after it", name)
	}
	return p.near()
}

func (p *parser) and() (*ast, error) {
	t, err := p.lex.peekTok()
	if err != nil {
		return nil, err
	}
	switch t.kind {
	case tAnd, tOr, tNear:
		return nil, errAt(t.pos, "dangling operator %s: it needs a term before it", describe(*t))
	}
	first, err := p.near()
	if err != nil {
		return nil, err
	}
	return p.and2(first)
}

// and2 parses the rest of an AND group whose first operand is first.
func (p *parser) and2(first *ast) (*ast, error) {
	kids := []*ast{first}
	for {
		t, err := p.lex.peekTok()
		if err != nil {
			return nil, err
		}
		var next *ast
		switch t.kind {
		case tEOF, tRParen, tOr:
			if len(kids) == 1 {
				return first, nil
			}
			return &ast{kind: aAnd, pos: first.pos, kids: kids}, nil
		case tAnd:
			op, _ := p.lex.take()
			next, err = p.operand(op, "AND")
		case tNear:
			return nil, errAt(t.pos, "dangling operator %s: it needs a term before it", describe(*t))
		default:
			next, err = p.near()
		}
		if err != nil {
			return nil, err
		}
		kids = append(kids, next)
	}
}

func (p *parser) near() (*ast, error) {
	a, err := p.unary()
	if err != nil {
		return nil, err
	}
	for {
		t, err := p.lex.peekTok()
		if err != nil {
			return nil, err
		}
		if t.kind != tNear {
			return a, nil
		}
		op, _ := p.lex.take()
		nt, err := p.lex.peekTok()
		if err != nil {
			return nil, err
		}
		switch nt.kind {
		case tEOF, tRParen, tAnd, tOr, tNear:
			return nil, errAt(op.pos, "dangling operator %s: it needs a term after it", describe(op))
		}
		b, err := p.unary()
		if err != nil {
			return nil, err
		}
		a = &ast{kind: aNear, pos: op.pos, n: op.n, ordered: op.ordered, kids: []*ast{a, b}}
	}
}

func (p *parser) unary() (*ast, error) {
	t, err := p.lex.peekTok()
	if err != nil {
		return nil, err
	}
	if t.kind != tNot && t.kind != tMinus {
		return p.primary()
	}
	op, _ := p.lex.take()
	nt, err := p.lex.peekTok()
	if err != nil {
		return nil, err
	}
	switch nt.kind {
	case tEOF, tRParen, tAnd, tOr, tNear:
		return nil, errAt(op.pos, "dangling operator NOT: it needs a term after it")
	}
	if err := p.enter(op.pos); err != nil {
		return nil, err
	}
	defer p.leave()
	k, err := p.unary()
	if err != nil {
		return nil, err
	}
	return &ast{kind: aNot, pos: op.pos, kids: []*ast{k}}, nil
}

func (p *parser) enter(pos int) error {
	p.depth++
	if p.depth > maxDepth {
		return errAt(pos, "query nested too deeply (more than %d levels)", maxDepth)
	}
	return nil
}

func (p *parser) leave() { p.depth-- }

func (p *parser) primary() (*ast, error) {
	t, err := p.lex.take()
	if err != nil {
		return nil, err
	}
	switch t.kind {
	case tLParen:
		if err := p.enter(t.pos); err != nil {
			return nil, err
		}
		defer p.leave()
		nt, err := p.lex.peekTok()
		if err != nil {
			return nil, err
		}
		if nt.kind == tRParen {
			return nil, errAt(t.pos, "empty parentheses")
		}
		if nt.kind == tEOF {
			return nil, errAt(t.pos, "unclosed parenthesis")
		}
		a, err := p.or()
		if err != nil {
			return nil, err
		}
		c, err := p.lex.take()
		if err != nil {
			return nil, err
		}
		if c.kind != tRParen {
			if c.kind == tEOF {
				return nil, errAt(t.pos, "unclosed parenthesis")
			}
			return nil, errAt(c.pos, "unexpected %s", describe(c))
		}
		return a, nil
	case tWord:
		return &ast{kind: aTerm, pos: t.pos, text: t.text, exact: t.exact}, nil
	case tPhrase:
		return &ast{kind: aPhrase, pos: t.pos, text: t.text, exact: t.exact}, nil
	case tRegex:
		// An invalid pattern is reported and parsing goes on, to find the query's other errors.
		var re *regexp.Regexp
		if _, err := regexp.Compile(t.text); err != nil {
			p.lex.soft = append(p.lex.soft, errAt(t.pos, "invalid regular expression: %v", err))
		} else if re, err = regexp.Compile("(?i)" + t.text); err != nil {
			p.lex.soft = append(p.lex.soft, errAt(t.pos, "invalid regular expression: %v", err))
		}
		return &ast{kind: aRegex, pos: t.pos, text: t.text, re: re}, nil
	case tList:
		if p.noLists {
			return nil, errAt(t.pos, "a list term cannot refer to a list")
		}
		return &ast{kind: aList, pos: t.pos, text: t.text}, nil
	case tAttr:
		return &ast{kind: aAttr, pos: t.pos, attr: t.attr, text: t.text}, nil
	case tField:
		if err := p.enter(t.pos); err != nil {
			return nil, err
		}
		defer p.leave()
		nt, err := p.lex.peekTok()
		if err != nil {
			return nil, err
		}
		switch nt.kind {
		case tEOF, tRParen, tAnd, tOr, tNear:
			return nil, errAt(t.pos, "%s: needs a term after it", t.text)
		}
		k, err := p.unary()
		if err != nil {
			return nil, err
		}
		return &ast{kind: aField, pos: t.pos, fields: fieldBits[t.text], text: t.text, kids: []*ast{k}}, nil
	case tEOF:
		return nil, errAt(t.pos, "unexpected end of query")
	case tRParen:
		return nil, errAt(t.pos, "unexpected ): no ( to close")
	}
	return nil, errAt(t.pos, "dangling operator %s", describe(t))
}
