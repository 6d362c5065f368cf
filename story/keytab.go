package story

// keyTable maps a key to its chain. It is an open-addressing table with linear probing over one
// array of pointer-free entries, so that the garbage collector never scans it and weigh reads a
// key and counts it in one probe (a Go map took two lookups, and most of weigh's time).
//
// An entry is empty when both its document frequency and its postings are zero: such a key says
// nothing, and the index drops it. Keys leave the table only when the whole table is rebuilt
// (halve, sweep), so there are no tombstones.
type keyTable struct {
	e     []keyEntry
	shift uint8 // 32 - log2(len(e))
	count int   // entries that are not empty
}

type keyEntry struct {
	h uint32
	chain
}

const minKeyTable = 1024

func (t *keyTable) init(capacity int) {
	n := minKeyTable
	for n*3/4 < capacity {
		n *= 2
	}
	t.e = make([]keyEntry, n)
	t.shift = uint8(32 - log2(n))
	t.count = 0
}

func log2(n int) int {
	k := 0
	for 1<<k < n {
		k++
	}
	return k
}

func (e *keyEntry) empty() bool { return e.df == 0 && e.n == 0 }

// ref returns the key's chain to update in place, adding the key when the table lacks it; the
// caller must then make it not empty before the next call. The pointer is valid until the next
// call of ref or init.
func (t *keyTable) ref(h uint32) *chain {
	mask := uint32(len(t.e) - 1)
	for i := (h * 2654435761) >> t.shift; ; i = (i + 1) & mask {
		e := &t.e[i]
		if e.empty() {
			if (t.count+1)*4 > len(t.e)*3 {
				t.grow()
				return t.ref(h)
			}
			e.h = h
			t.count++
			return &e.chain
		}
		if e.h == h {
			return &e.chain
		}
	}
}

// put adds a key the table lacks, with a chain that is not empty.
func (t *keyTable) put(h uint32, c chain) {
	*t.ref(h) = c
}

func (t *keyTable) grow() {
	old := t.e
	t.init(2 * t.count)
	for i := range old {
		if e := &old[i]; !e.empty() {
			t.put(e.h, e.chain)
		}
	}
}

// rebuild replaces each entry's chain by keep's answer, dropping the keys whose new chain is
// empty, and sizes the table to the keys that remain.
func (t *keyTable) rebuild(keep func(h uint32, c chain) chain) {
	old := t.e
	n := 0
	for i := range old {
		if e := &old[i]; !e.empty() {
			if e.chain = keep(e.h, e.chain); !e.empty() {
				n++
			}
		}
	}
	t.init(n)
	for i := range old {
		if e := &old[i]; !e.empty() {
			t.put(e.h, e.chain)
		}
	}
}

// exactTable maps the link and title keys of items to their stories, as keyTable does for keys:
// open addressing with linear probing over pointer-free arrays. A key is never 0 (linkKey and
// titleKey give 0 for none), so 0 marks an empty entry.
type exactTable struct {
	keys  []uint64
	slots []uint32
	shift uint8 // 64 - log2(len(keys))
	count int
}

func (t *exactTable) init(capacity int) {
	n := minKeyTable
	for n*3/4 < capacity {
		n *= 2
	}
	t.keys = make([]uint64, n)
	t.slots = make([]uint32, n)
	t.shift = uint8(64 - log2(n))
	t.count = 0
}

func (t *exactTable) get(k uint64) (uint32, bool) {
	mask := uint64(len(t.keys) - 1)
	for i := (k * 0x9E3779B97F4A7C15) >> t.shift; ; i = (i + 1) & mask {
		switch t.keys[i] {
		case k:
			return t.slots[i], true
		case 0:
			return 0, false
		}
	}
}

func (t *exactTable) set(k uint64, slot uint32) {
	mask := uint64(len(t.keys) - 1)
	for i := (k * 0x9E3779B97F4A7C15) >> t.shift; ; i = (i + 1) & mask {
		switch t.keys[i] {
		case k:
			t.slots[i] = slot
			return
		case 0:
			if (t.count+1)*4 > len(t.keys)*3 {
				t.rebuild(2*t.count, func(uint32) bool { return true })
				t.set(k, slot)
				return
			}
			t.keys[i], t.slots[i] = k, slot
			t.count++
			return
		}
	}
}

// rebuild keeps the keys whose stories keep accepts, in a table sized for at least capacity.
func (t *exactTable) rebuild(capacity int, keep func(slot uint32) bool) {
	keys, slots := t.keys, t.slots
	n := 0
	for i, k := range keys {
		if k != 0 && keep(slots[i]) {
			n++
		} else {
			keys[i] = 0
		}
	}
	t.init(max(n, capacity))
	for i, k := range keys {
		if k != 0 {
			t.set(k, slots[i])
		}
	}
}
