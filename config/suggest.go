package config

import (
	"slices"
	"strings"
	"sync"
	"unicode/utf8"
)

// unknownKey reports e, a key that the mapping at path does not have ("" for the top level,
// "nats.tls", "feeds[]" for a feed, as in the schema), with the known key it was likely meant
// to be.
func (d *decoder) unknownKey(e entry, path string) {
	if s := suggest(e.key, sectionKeys()[path]); s != "" {
		d.errorf(e.keyTok, "unknown key %q; did you mean %q?", e.key, s)
		return
	}
	d.errorf(e.keyTok, "unknown key %q", e.key)
}

// sectionKeys returns the keys of every mapping of the file, taken from the schema, which a test
// keeps equal to what the loader decodes.
var sectionKeys = sync.OnceValue(func() map[string][]string {
	doc := schema()
	out := map[string][]string{}
	for _, path := range []string{"", "nats", "nats.embedded", "nats.tls", "http", "archive", "stories", "defaults", "feeds[]", "feeds[].selectors", "rules[]", "defaults.deliver", "defaults.spike", "rules[].deliver", "rules[].spike"} {
		s := doc
		if path != "" {
			for part := range strings.SplitSeq(path, ".") {
				name, items := strings.CutSuffix(part, "[]")
				s = s["properties"].(obj)[name].(obj)
				if items {
					s = s["items"].(obj)
				}
			}
		}
		var keys []string
		for k := range s["properties"].(obj) {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		out[path] = keys
	}
	return out
})

// maxSuggestKey bounds the keys a suggestion is looked for, so that a hostile file's long keys
// cost nothing.
const maxSuggestKey = 64

// suggest returns the known key closest to key: at most two edits away (and fewer edits than
// key has characters), or made of the same letters; "" when none is.
func suggest(key string, known []string) string {
	if len(key) > maxSuggestKey {
		return ""
	}
	lower := strings.ToLower(key)
	best, bestDist := "", 3
	for _, k := range known {
		dist := editDistance(lower, k)
		if dist > 2 || dist >= utf8.RuneCountInString(key) {
			if !sameLetters(lower, k) {
				continue
			}
			dist = 2
		}
		if dist < bestDist {
			best, bestDist = k, dist
		}
	}
	return best
}

// editDistance is the Damerau-Levenshtein distance (optimal string alignment) of a and b, in
// runes: an insertion, a deletion, a substitution or a swap of two neighbours is one edit.
func editDistance(a, b string) int {
	x, y := []rune(a), []rune(b)
	prev2 := make([]int, len(y)+1)
	prev := make([]int, len(y)+1)
	cur := make([]int, len(y)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(x); i++ {
		cur[0] = i
		for j := 1; j <= len(y); j++ {
			cost := 1
			if x[i-1] == y[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && x[i-1] == y[j-2] && x[i-2] == y[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(y)]
}

// sameLetters reports whether a and b are made of the same characters in another order.
func sameLetters(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	x, y := []rune(a), []rune(b)
	slices.Sort(x)
	slices.Sort(y)
	return slices.Equal(x, y)
}
