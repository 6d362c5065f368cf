package story

import (
	"math"
	"math/bits"
	"slices"
)

// wfeat is a key of the item being assigned, with its weight in the window.
type wfeat struct {
	h       uint32
	w       float32
	indep   bool
	weak    bool
	concept bool
	common  bool   // more than maxChain stories have it: neither scored nor posted
	has     uint32 // the chosen story's posting of this key, 0 when it has none
}

// cand is a story that shares keys with the item being assigned.
type cand struct {
	slot          uint32
	shared, indep float32 // the weight of the shared keys, and of the shared language-independent ones
	dot           float32 // the dot product of the item's and the story's weighed keys
	n, nIndep     int32
}

// Thresholds of the decision, chosen on the development corpora (see BENCHMARKS.md): a story
// must hold this share of the weight of the item's keys, or of its language-independent keys,
// and at least two of them.
var (
	joinShare    float32 = 0.30
	indepShare   float32 = 0.35
	minIndep     float32 = 2.5 // the language-independent weight an item needs before it can join on it alone
	decay        float32 = 0.3 // how much of its score a story loses over one window since its last item
	scoreMode            = 3
	minShared    int32   = 3
	minIndepN    int32   = 2
	indepMode            = 1
	keepIndep            = true
	minItemIndep int32   = 3
	pairShare    float32
	tfMode       = 0
	commonShare  = 0.05 // a key in more than this share of the window's items is too common to weigh
	debugCand    func(slot uint32, shared, mass, smass float32, n int32, d float32)
)

// decide returns the slot of the story the item joins, or first when it opens one. a.top holds
// the item's weighed keys afterwards, with has set for the keys the chosen story has.
func (a *Assigner) decide(t int64, lang uint64) (slot uint32, first bool) {
	since := a.now - a.window
	a.weigh()
	if k := a.link; k != 0 {
		if s, ok := a.ix.exact[k]; ok && a.ix.liveAt(s, since) {
			a.markHas(s)
			return s, false
		}
	}
	if k := a.title; k != 0 {
		if s, ok := a.ix.exact[k]; ok && a.ix.liveAt(s, since) {
			a.markHas(s)
			return s, false
		}
	}
	var mass, massIndep, norm2 float32
	var nIndep int32
	budget := walkBudget
	clear(a.cand)
	a.cands = a.cands[:0]
	for _, f := range a.top {
		if f.common {
			continue
		}
		if !f.weak {
			mass += f.w
			norm2 += f.w * f.w
		}
		if f.indep {
			nIndep++
			massIndep += f.w
		}
		c, ok := a.ix.keys[f.h]
		if !ok {
			continue
		}
		// Walk the newest postings only: a key that many stories share says little, and the
		// recent stories are the likely ones. Liveness is checked once per candidate below.
		walked := 0
		for p := c.head; p != 0 && walked < maxWalk && budget > 0; p = a.ix.nodes[p].next {
			walked++
			budget--
			s := a.ix.nodes[p].story
			i, ok := a.cand[s]
			if !ok {
				i = int32(len(a.cands))
				a.cand[s] = i
				a.cands = append(a.cands, cand{slot: s})
			}
			cd := &a.cands[i]
			if !f.weak {
				cd.shared += f.w
				cd.dot += f.w * f.w * tf(a.ix.counts[p])
				cd.n++
			}
			if f.indep {
				cd.indep += f.w
				cd.nIndep++
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
		if (cd.n >= minShared || cd.n >= 2 && pairShare > 0) && mass > 0 {
			var s float32
			switch scoreMode {
			case 0:
				s = cd.shared / mass
			case 1:
				s = cd.shared / float32(math.Sqrt(float64(mass*max(r.mass, 0.1))))
			case 2:
				s = cd.shared / max(mass, r.mass)
			case 3:
				s = cd.dot / float32(math.Sqrt(float64(norm2)*float64(max(r.norm2, 0.01))))
			}
			if s *= d; s >= joinShare && (cd.n >= minShared || s >= pairShare) {
				score = s
			}
		}
		// Keys of one language's words rarely meet across languages: there, the
		// language-independent keys alone decide.
		cross := lang != 0 && r.langs != 0 && lang&r.langs == 0
		if cross && cd.nIndep >= 2 && (indepMode == 1 && nIndep >= minItemIndep || indepMode == 0 && massIndep >= minIndep) {
			s := d * cd.indep / massIndep
			if indepMode == 1 {
				s = d * float32(cd.nIndep) / float32(nIndep)
			}
			if s >= indepShare && cd.nIndep >= minIndepN && s > score {
				score = s
			}
		}
		if debugCand != nil {
			debugCand(cd.slot, cd.indep, massIndep, float32(cd.nIndep), cd.n, d)
		}
		if score == 0 {
			continue
		}
		if best < 0 || score > bestScore || score == bestScore && a.older(cd.slot, a.cands[best].slot) {
			best, bestScore = i, score
		}
	}
	a.mass = mass
	if best < 0 {
		return 0, true
	}
	s := a.cands[best].slot
	a.markHas(s)
	return s, false
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
// weighs most.
func (a *Assigner) weigh() {
	a.top = a.top[:0]
	docs := float64(a.ix.docs)
	for _, f := range a.x.feats {
		c := a.ix.keys[f.h]
		df := float64(c.df)
		w := wfeat{h: f.h, indep: f.indep, weak: f.weak, concept: f.concept || keepIndep && f.indep && !f.weak}
		w.common = c.n > maxChain || docs >= 100 && df > docs*commonShare
		w.w = float32(math.Log((docs + 1) / (df + 0.5)))
		if w.w < 0.1 {
			w.w = 0.1
		}
		a.top = append(a.top, w)
	}
	slices.SortStableFunc(a.top, func(x, y wfeat) int {
		switch {
		case x.common != y.common:
			if x.common {
				return 1
			}
			return -1
		case x.w > y.w:
			return -1
		case x.w < y.w:
			return 1
		case x.h < y.h:
			return -1
		case x.h > y.h:
			return 1
		}
		return 0
	})
	// Keep the rarest topScoring keys, and the language-independent keys (up to topIndep more)
	// whatever their weight: concepts are common on a busy day but are all that ties languages.
	n, extra := 0, 0
	for _, f := range a.top {
		if f.common {
			break
		}
		switch {
		case n < topScoring && !f.weak:
			n++
		case f.indep && extra < topIndep:
			extra++
		default:
			continue
		}
		a.top[n+extra-1] = f
	}
	a.top = a.top[:n+extra]
}

// markHas sets has on the keys the story already has, so join posts only the others.
func (a *Assigner) markHas(slot uint32) {
	for i := range a.top {
		f := &a.top[i]
		if f.common {
			continue
		}
		c, ok := a.ix.keys[f.h]
		if !ok {
			continue
		}
		for p := c.head; p != 0; p = a.ix.nodes[p].next {
			if a.ix.nodes[p].story == slot {
				f.has = p
				break
			}
		}
	}
}

func trailingZeros(x uint64) int { return bits.TrailingZeros64(x) }

// tf is the weight of a key's count in a story.
func tf(c uint16) float32 {
	switch tfMode {
	case 1:
		return float32(math.Sqrt(float64(c)))
	case 2:
		return 1 + float32(math.Log(float64(c)))
	}
	return float32(c)
}
