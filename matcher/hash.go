package matcher

import "math/bits"

// Words are hashed eight bytes at a time. The hash of a prefix of up to eight bytes is a mask
// of the word's first eight bytes and one multiplication, so that wildcard prefixes cost one
// filter probe each, not a second pass over the word.
const (
	hashMul = 0x9e3779b97f4a7c15
	hashLen = 0xc2b2ae3d27d4eb4f
	mixMul  = 0x9e3779b97f4a7c15
)

// load8 returns the first min(len(s), 8) bytes of s, little-endian.
func load8(s string) uint64 {
	if len(s) >= 8 {
		return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
			uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
	}
	var v uint64
	for i := len(s) - 1; i >= 0; i-- {
		v = v<<8 | uint64(s[i])
	}
	return v
}

func hashMix(h uint64) uint64 {
	h ^= h >> 32
	h *= hashMul
	h ^= h >> 29
	return h
}

// hashShort is hashString of a string of n <= 8 bytes whose bytes, little-endian, are v.
func hashShort(v uint64, n int) uint64 {
	return hashMix((v ^ uint64(n)*hashLen) * hashMul)
}

func hashString(s string) uint64 {
	if len(s) <= 8 {
		return hashShort(load8(s), len(s))
	}
	h := uint64(len(s)) * hashLen
	for len(s) > 8 {
		h = (h ^ load8(s)) * hashMul
		h ^= h >> 31
		s = s[8:]
	}
	return hashMix((h ^ load8(s)) * hashMul)
}

// lowMask[n] keeps the first n bytes of a little-endian word.
var lowMask = func() (m [9]uint64) {
	for n := 1; n < 8; n++ {
		m[n] = 1<<(8*n) - 1
	}
	m[8] = ^uint64(0)
	return m
}()

// table is an open-addressing hash set of strings, each with a key and the range of the key's
// postings. It is built once and read concurrently. A slot holds a string of up to inlineLen
// bytes itself and the postings' range, so that a lookup that finds its string reads one cache
// line and the presearcher goes straight to the postings.
//
// A blocked Bloom filter (one 64-bit word, two bits a string, eight bits per string) sits in
// front of it: most words of an item are in no rule, and the filter, small enough for the
// first-level cache, turns them away without touching the table.
type table struct {
	slots  []tslot
	long   []string // by key, for strings longer than inlineLen
	shift  uint
	filter []uint64
	fshift uint
	n      int // strings held
}

const inlineLen = 17

type tslot struct {
	h   uint32 // 0 marks an empty slot
	key int32
	off uint32 // the key's postings are postings[off:off+cnt]
	cnt uint16 // postings, or manyPostings
	n   uint8  // length of the string, or 255 when longer than inlineLen
	w   [inlineLen]byte
}

// manyPostings in tslot.cnt sends the reader to Index.postStart.
const manyPostings = 0xffff

func filterBits(h uint64) (word uint64, mask uint64) {
	x := h ^ h>>31
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 29
	return x, 1<<(x&63) | 1<<(x>>6&63)
}

// mayHave reports whether a string with hashString h may be in the table.
func (t *table) mayHave(h uint64) bool {
	x, m := filterBits(h)
	return t.filter[x>>t.fshift]&m == m
}

func slotHash(h uint64) uint32 { return uint32(h>>32) | 1 }

// newTable indexes texts[i] under keys[i]; long holds the text of every key, by key, and
// postStart the postings of every key.
func newTable(texts []string, keys []int32, long []string, postStart []uint32) table {
	size := 16
	for size*3 < 5*len(texts) { // load factor at most 0.6
		size <<= 1
	}
	t := table{
		n:     len(texts),
		slots: make([]tslot, size),
		long:  long,
		shift: uint(64 - bits.TrailingZeros(uint(size))),
	}
	fsize := 2
	for fsize*64 < 8*len(texts) {
		fsize <<= 1
	}
	t.filter = make([]uint64, fsize)
	t.fshift = uint(64 - bits.TrailingZeros(uint(fsize)))
	mask := size - 1
	for i, s := range texts {
		h := hashString(s)
		x, m := filterBits(h)
		t.filter[x>>t.fshift] |= m
		j := int((h * mixMul) >> t.shift)
		for t.slots[j].h != 0 {
			j = (j + 1) & mask
		}
		k := keys[i]
		sl := &t.slots[j]
		sl.h, sl.key, sl.n = slotHash(h), k, 255
		sl.off, sl.cnt = postStart[k], manyPostings
		if c := postStart[k+1] - postStart[k]; c < manyPostings {
			sl.cnt = uint16(c)
		}
		if len(s) <= inlineLen {
			sl.n = uint8(copy(sl.w[:], s))
		}
	}
	return t
}

// find returns the slot of s, whose hashString is h, or nil.
func (t *table) find(h uint64, s string) *tslot {
	mask := len(t.slots) - 1
	j := int((h * mixMul) >> t.shift)
	sh := slotHash(h)
	for {
		sl := &t.slots[j]
		if sl.h == sh {
			if sl.n == 255 {
				if t.long[sl.key] == s {
					return sl
				}
			} else if int(sl.n) == len(s) && string(sl.w[:sl.n]) == s {
				return sl
			}
		}
		if sl.h == 0 {
			return nil
		}
		j = (j + 1) & mask
	}
}

// find2 returns the slot of a+b, whose hashString is h, or nil.
func (t *table) find2(h uint64, a, b string) *tslot {
	mask := len(t.slots) - 1
	j := int((h * mixMul) >> t.shift)
	sh := slotHash(h)
	for {
		sl := &t.slots[j]
		if sl.h == sh {
			var s string
			if sl.n == 255 {
				s = t.long[sl.key]
			} else {
				s = string(sl.w[:sl.n])
			}
			if len(s) == len(a)+len(b) && s[:len(a)] == a && s[len(a):] == b {
				return sl
			}
		}
		if sl.h == 0 {
			return nil
		}
		j = (j + 1) & mask
	}
}
