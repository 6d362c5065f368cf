package matcher

import (
	"regexp"
	"sync"
)

// Node kinds of a compiled query.
const (
	nWord uint8 = iota
	nPrefix
	nPhrase
	nAnd
	nOr
	nNot
	nNear
	nRegex
	nFeed
	nTag
)

// node is one operator or term of a compiled query. Queries share one flat array of nodes.
type node struct {
	kind    uint8
	fields  uint8 // fields of a term, phrase or regex
	ordered bool  // ONEAR
	n       uint8 // NEAR distance
	key     int32 // word, prefix or attribute key; first element of a phrase; regexp index
	a, b    int32 // AND/OR: kids[a:b]; NOT: a; NEAR: a and b; phrase: a elements
	exact   int32 // index+1 into Index.exacts for =Word; 0 otherwise
}

// elem is one word of a phrase.
type elem struct {
	key    int32
	prefix bool  // a wildcard: key is a prefix key
	exact  int32 // as in node
	bigram int32 // key of this character and the next as a pair (Han, Kana), or -1
}

type compiledRule struct {
	id    string
	root  int32
	feeds []string // scope: feed ids
	tags  []string // scope: tags
}

// Index is a compiled set of rules. It is immutable and safe for concurrent use.
type Index struct {
	rules   []compiledRule
	roots   []int32  // by rule: root node, apart from rules for the cache's sake
	ids     []string // by rule: Rule.ID
	scoped  []uint64 // by rule, a bit: the rule has a feed scope
	bare    []uint64 // by rule, a bit: an OR of words and phrases, which matches iff it has a hit
	nodes   []node
	kids    []int32
	elems   []elem
	exacts  []string
	regexps []*regexp.Regexp

	keyText  []string // by key: the word, prefix or attribute value
	words    table    // word -> key
	prefixes table    // prefix -> key
	bigrams  table    // two adjacent Han or Kana characters -> key
	// prefLens, by the first two bytes of a word (see prefSlot): bit L set when some wildcard
	// prefix that starts so is L bytes long. Most words start as no prefix does, and cost no
	// probe.
	prefLens [2048]uint64
	feedKeys map[string]int32
	tagKeys  map[string]int32

	// The presearcher: for each key, the rules that need it (postings[postStart[k]:postStart[k+1]]),
	// each as rule<<2 | clause<<1 | 1 when the rule needs two clauses.
	postStart []uint32
	postings  []uint32
	always    []int32    // rules that no word can anchor: evaluated for every item
	pre       *prefilter // nil: every item is tokenized

	fields uint8 // every field some rule reads
	pool   sync.Pool
}

// prefSlot hashes the first two bytes of s, which has at least two.
func prefSlot(s string) int {
	return int((uint32(s[0])<<8|uint32(s[1]))*0x9e3779b1>>21) & 2047
}

// Stats describes an index, for benchmarks and diagnostics.
type Stats struct {
	Rules    int // rules compiled
	Always   int // rules evaluated for every item because no word anchors them
	Keys     int // distinct words, prefixes and attributes the rules need
	Postings int // entries of the presearcher
}

// Stats returns the size of the index.
func (ix *Index) Stats() Stats {
	return Stats{Rules: len(ix.rules), Always: len(ix.always), Keys: len(ix.keyText), Postings: len(ix.postings)}
}
