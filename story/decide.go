package story

import (
	"math"
	"math/bits"
	"slices"
)

// wfeat is a key of the item being assigned, with its weight in the window.
type wfeat struct {
	h     uint32
	w     float32
	indep bool
	weak  bool
	keep  bool   // posted even beyond the item's quota of keys
	has   uint32 // the chosen story's posting of this key, 0 when it has none
	// head is the key's newest posting as the item is decided (0: none), taken with its weight so
	// that the decision reads the keys' table once per key.
	head uint32
}

// cand is a story that shares keys with the item being assigned.
type cand struct {
	slot      uint32
	dot       float32 // the dot product of the item's and the story's weighed keys
	n, nIndep int32   // the keys in common, and the language-independent ones among them
	nStrong   int32   // the language-independent keys in common that are not dates or years
	keys      uint32  // bit i: the story has the item's key a.top[i] (the first 32, not weak)
	cos       float32 // the decayed cosine when the story passes the cosine rule, else 0
}

// The decision's thresholds, chosen on the development corpora (BENCHMARKS.md, "Stories").
const (
	// joinShare is the cosine between the item's weighed keys and the story's (each key's
	// weight times the number of the story's items that had it) a story must reach, with at
	// least minShared keys in common, minSharedYoung while the story has fewer than youngSize
	// items: a story of one or two items has not shown yet which of its words make it, and the
	// stories that went wrong on the development corpora mostly went wrong there.
	joinShare      = 0.23
	minShared      = 3
	minSharedYoung = 4
	youngSize      = 5
	// An item whose cosine passes mergeShare with two stories that share mergeKeys of its keys
	// or more ties them: the younger story merges into the older, which takes its later items
	// (two copies of one event that opened apart, typically while both were young, come
	// together instead of splitting the event's later items between them).
	mergeShare = 0.48
	mergeKeys  = 3
	// A story in another language must hold crossShare of the item's language-independent
	// keys (names, numbers, dates, concepts), a story in the item's language and others
	// sameShare of those that are not dates or years (a day's news shares those), with at
	// least two in common and three in the item. A story in the item's language alone has
	// words in common with it, and only the cosine rule joins it: names and numbers alone
	// tied the different events of one company or one day on the development corpora.
	crossShare   = 0.35
	sameShare    = 0.8
	minIndep     = 2
	minItemIndep = 3
	// decay is the share of its score a story loses over one window since its latest item: all
	// of it, so that a story fades as it nears the window's edge (better on every order of the
	// news-aggregator sample that was tried than 0.3: BENCHMARKS.md).
	decay = 1.0
	// commonShare: a key in more than this share of the window's items says too little to be
	// weighed (once the window holds commonFloor items).
	commonShare = 0.05
	commonFloor = 100
)

// decide returns the slot of the story the item joins, or first when it opens one. a.top holds
// the item's weighed keys afterwards, with has set for the keys the chosen story has.
func (a *Assigner) decide(t int64, lang uint32) (slot uint32, first bool) {
	since := a.now - a.window
	a.weigh()
	for _, k := range [2]uint64{a.link, a.title} {
		if k == 0 {
			continue
		}
		if s, ok := a.ix.exact.get(k); ok {
			if s = a.ix.root(s); a.ix.liveAt(s, since) {
				a.markHas(s)
				return s, false
			}
		}
	}
	var norm2 float32
	var nIndep, nStrong int32
	budget := walkBudget
	for _, h := range a.candUsed {
		a.candTab[h] = 0
	}
	a.candUsed = a.candUsed[:0]
	a.cands = a.cands[:0]
	for ki, f := range a.top {
		if !f.weak {
			norm2 += f.w * f.w
		}
		if f.indep {
			nIndep++
			if !f.weak {
				nStrong++
			}
		}
		var bit uint32
		if !f.weak && ki < 32 {
			bit = 1 << ki
		}
		// Walk the newest postings only: a key that many stories share says little, and the
		// recent stories are the likely ones. Liveness is checked once per candidate below.
		walked := 0
		for p := f.head; p != 0 && walked < maxWalk && budget > 0; p = a.ix.nodes[p].next {
			walked++
			budget--
			// A posting of a story that merged into another counts for that one.
			s := a.ix.root(a.ix.nodes[p].story)
			i := a.candIndex(s)
			cd := &a.cands[i]
			if !f.weak {
				cd.dot += f.w * f.w * float32(a.ix.counts[p])
				cd.n++
				cd.keys |= bit
			}
			if f.indep {
				cd.nIndep++
				if !f.weak {
					cd.nStrong++
				}
			}
		}
	}
	best, bestScore := -1, float32(0)
	for i := range a.cands {
		cd := &a.cands[i]
		if !a.ix.liveAt(cd.slot, since) {
			continue
		}
		r := &a.ix.stories[cd.slot]
		gap := float32(t-r.last) / float32(a.window)
		if gap < 0 {
			gap = 0
		}
		d := 1 - decay*min(gap, 1)
		score := float32(0)
		shared := int32(minShared)
		if r.size < youngSize {
			shared = minSharedYoung
		}
		if cd.n >= shared && norm2 > 0 {
			s := d * cd.dot / float32(math.Sqrt(float64(norm2)*float64(max(r.norm2, 0.01))))
			if s >= joinShare {
				score, cd.cos = s, s
			}
		}
		// Words of one language rarely meet another's: across languages, the
		// language-independent keys decide; in a story that has the item's language among
		// others, only names and numbers.
		need, in, all := float32(sameShare), cd.nStrong, nStrong
		if lang != 0 && r.langs != 0 && lang&r.langs == 0 {
			need, in, all = crossShare, cd.nIndep, nIndep
		}
		if r.langs&^lang != 0 && in >= minIndep && all >= minItemIndep {
			if s := d * float32(in) / float32(all); s >= need && s > score {
				score = s
			}
		}
		if score == 0 {
			continue
		}
		if best < 0 || score > bestScore || score == bestScore && a.older(cd.slot, a.cands[best].slot) {
			best, bestScore = i, score
		}
	}
	if best < 0 {
		return 0, true
	}
	s := a.cands[best].slot
	if b := &a.cands[best]; b.cos >= mergeShare {
		s = a.mergeTies(b)
	}
	a.markHas(s)
	return s, false
}

// mergeTies merges the stories that the item ties to the best candidate b into one, the
// oldest, and returns its slot: those whose cosine with the item passes mergeShare as b's does
// and that hold mergeKeys or more of the item's keys that b holds.
func (a *Assigner) mergeTies(b *cand) uint32 {
	s := b.slot
	for i := range a.cands {
		cd := &a.cands[i]
		if cd == b || cd.cos < mergeShare || bits.OnesCount32(cd.keys&b.keys) < mergeKeys {
			continue
		}
		o := cd.slot
		if a.ix.root(o) != o || o == s {
			continue
		}
		if a.older(o, s) {
			s, o = o, s
		}
		a.ix.merge(s, o)
	}
	return s
}

// older breaks ties between stories deterministically: the older story, then the smaller id.
func (a *Assigner) older(x, y uint32) bool {
	rx, ry := &a.ix.stories[x], &a.ix.stories[y]
	if rx.first != ry.first {
		return rx.first < ry.first
	}
	return rx.id < ry.id
}

// weigh fills a.top with the item's keys, rarest first, at most topScoring of them. A key's
// weight is its inverse document frequency over the stories of the window; a key no story has
// weighs most. A key that more than maxChain stories have, or too many of the window's items, is
// too common: it is neither scored nor posted.
func (a *Assigner) weigh() {
	a.top = a.top[:0]
	a.rank = a.rank[:0]
	docs := float64(a.ix.docs)
	logDocs := math.Log(max(docs, commonFloor) + 1)
	for _, f := range a.feats {
		c := a.ix.keys.ref(f.h)
		df := float64(c.df)
		common := c.n > maxChain || docs >= commonFloor && df > docs*commonShare
		w := float32(logDocs - logHalf(c.df))
		if w < 0.1 {
			w = 0.1
		}
		// Count the item in the key's document frequency now that its weight is taken.
		c.df++
		if common {
			continue
		}
		// A story keeps its language-independent keys whatever their rank: they are few,
		// and all that ties languages.
		a.top = append(a.top, wfeat{h: f.h, w: w, indep: f.indep, weak: f.weak, keep: f.indep && !f.weak, head: c.head})
		a.rank = append(a.rank, rankOf(w, f.h))
	}
	a.ix.docs++
	// Keep the rarest topScoring keys, and the language-independent keys (up to topIndep more)
	// whatever their weight: concepts are common on a busy day but are all that ties languages.
	a.order()
	n, extra := 0, 0
	for _, r := range a.sorted {
		f := a.top[a.find(r)]
		switch {
		case n < topScoring && !f.weak:
			n++
		case f.indep && extra < topIndep:
			extra++
		default:
			continue
		}
		a.kept = append(a.kept, f)
		if n == topScoring && extra == topIndep {
			break
		}
	}
	a.top, a.kept = a.kept, a.top[:0]
}

// rankOf orders keys by weight, heaviest first, then by hash: a weight is positive, so its bits
// order as the weights do.
func rankOf(w float32, h uint32) uint64 {
	return uint64(^math.Float32bits(w))<<32 | uint64(h)
}

// order sorts the ranks of a.top into a.sorted and indexes a.top by rank for find. Sorting the
// ranks as integers and finding each key again costs a fraction of sorting the keys themselves
// with a comparison function.
func (a *Assigner) order() {
	a.sorted = append(a.sorted[:0], a.rank...)
	slices.Sort(a.sorted)
	a.kept = a.kept[:0]
	size := 64
	for size < 2*len(a.rank) {
		size *= 2
	}
	if cap(a.ordTab) < size {
		a.ordTab = make([]uint32, size)
	}
	a.ordTab = a.ordTab[:size]
	clear(a.ordTab)
	mask := uint32(size - 1)
	for i, r := range a.rank {
		j := uint32(r) * 2654435761 & mask
		for a.ordTab[j] != 0 {
			j = (j + 1) & mask
		}
		a.ordTab[j] = uint32(i + 1)
	}
}

// find returns the index in a.top of the key of rank r, once for each key of that rank.
func (a *Assigner) find(r uint64) int {
	const taken = ^uint32(0)
	mask := uint32(len(a.ordTab) - 1)
	for j := uint32(r) * 2654435761 & mask; ; j = (j + 1) & mask {
		e := a.ordTab[j]
		if e != taken && a.rank[e-1] == r {
			a.ordTab[j] = taken
			return int(e - 1)
		}
	}
}

// markHas sets has on the keys the story already has, so join posts only the others.
func (a *Assigner) markHas(slot uint32) {
	for i := range a.top {
		f := &a.top[i]
		for p := f.head; p != 0; p = a.ix.nodes[p].next {
			if a.ix.root(a.ix.nodes[p].story) == slot {
				f.has = p
				break
			}
		}
	}
}

// candTabSize is the size of the table of candidates, a power of two above twice walkBudget so
// that probes stay short.
const candTabSize = 512

// candIndex returns the index in a.cands of the story in the slot, adding it when new. The
// table maps slot+1 to index+1 by open addressing; only the used entries are cleared.
func (a *Assigner) candIndex(slot uint32) int32 {
	h := (slot * 2654435761) >> 23 // Fibonacci hashing to 9 bits
	for {
		e := a.candTab[h]
		if e == 0 {
			a.cands = append(a.cands, cand{slot: slot})
			a.candTab[h] = uint64(slot+1)<<32 | uint64(len(a.cands))
			a.candUsed = append(a.candUsed, h)
			return int32(len(a.cands) - 1)
		}
		if uint32(e>>32) == slot+1 {
			return int32(uint32(e)) - 1
		}
		h = (h + 1) & (candTabSize - 1)
	}
}

// logTable holds log(n+0.5) for the small document frequencies, which most keys have.
var logTable = func() (t [4096]float64) {
	for i := range t {
		t[i] = math.Log(float64(i) + 0.5)
	}
	return t
}()

func logHalf(n uint32) float64 {
	if n < uint32(len(logTable)) {
		return logTable[n]
	}
	return math.Log(float64(n) + 0.5)
}
