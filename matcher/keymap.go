package matcher

import "math/bits"

// keyMap maps the keys present in the current item to their slots. It is a small
// open-addressing table, a few kilobytes that stay in the first-level cache, where an array
// over all the index's keys would miss the cache on every word with 100,000 rules.
type keyMap struct {
	ents  []keyEnt // a power of two long
	gen   uint32   // entries of other generations are empty
	n     int
	shift uint
}

type keyEnt struct {
	gen  uint32
	key  int32
	slot int32
}

const keyMapMin = 256

// reset empties the map in O(1).
func (km *keyMap) reset() {
	if km.ents == nil {
		km.ents = make([]keyEnt, keyMapMin)
		km.shift = uint(32 - bits.TrailingZeros(keyMapMin))
	}
	km.gen++
	if km.gen == 0 { // wrapped: entries of long ago would look current
		clear(km.ents)
		km.gen = 1
	}
	km.n = 0
}

func (km *keyMap) home(k int32) int { return int(uint32(k) * 0x9e3779b1 >> km.shift) }

// find returns the slot of key k, or -1.
func (km *keyMap) find(k int32) int32 {
	mask := len(km.ents) - 1
	for i := km.home(k); ; i = (i + 1) & mask {
		e := &km.ents[i]
		if e.gen != km.gen {
			return -1
		}
		if e.key == k {
			return e.slot
		}
	}
}

// findOrAdd returns the slot of key k; when k is absent it adds it with slot and returns -1.
func (km *keyMap) findOrAdd(k, slot int32) int32 {
	mask := len(km.ents) - 1
	for i := km.home(k); ; i = (i + 1) & mask {
		e := &km.ents[i]
		if e.gen != km.gen {
			*e = keyEnt{gen: km.gen, key: k, slot: slot}
			km.n++
			if 2*km.n > len(km.ents) {
				km.grow()
			}
			return -1
		}
		if e.key == k {
			return e.slot
		}
	}
}

func (km *keyMap) grow() {
	old := km.ents
	km.ents = make([]keyEnt, 2*len(old))
	km.shift--
	mask := len(km.ents) - 1
	for _, e := range old {
		if e.gen != km.gen {
			continue
		}
		i := km.home(e.key)
		for km.ents[i].gen == km.gen {
			i = (i + 1) & mask
		}
		km.ents[i] = e
	}
}
