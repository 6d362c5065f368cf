package story

import (
	"math"
	"math/bits"
	"slices"
	"strings"
	"time"
)

// record is one story of the window, in 48 bytes. Its keys live in the index's chains; the
// first feed and publisher are kept inline because most stories have one item, the others in
// index.more.
type record struct {
	id    uint64
	first int64 // milliseconds
	last  int64 // milliseconds; the story is live while now-last <= window
	size  int32
	nkeys uint16 // keys posted for this story
	free  bool
	norm2 float32 // the squared norm of the story's vector: each key's weight times its count
	langs uint32  // bit i: language i of the interner
	feed  uint32  // interned, +1; 0 none
	pub   uint32
}

// sources are the feeds and publishers of a story after its first.
type sources struct {
	feeds, pubs []uint32
}

// node is one posting: a story that has a key, and the next posting of that key.
type node struct {
	story uint32
	next  uint32 // index into nodes; 0 ends the chain
}

// chain is the newest posting of a key, the number of postings (live or not yet swept), and
// the key's document frequency: the items of the window that had it, halved every half window.
type chain struct {
	head uint32
	n    uint32
	df   uint32
}

// index holds the stories of the window and, for each key, the stories that have it. Postings
// of stories that left the window stay until the next sweep, which rebuilds the chains without
// them and frees the stories' slots; lookups skip them meanwhile, so when a sweep runs changes
// nothing that Assign returns.
type index struct {
	stories []record
	freed   []uint32
	keys    keyTable
	nodes   []node
	counts  []uint16            // per node: how many of the story's items had the key
	exact   exactTable          // link and title keys → story
	more    map[uint32]*sources // the feeds and publishers after the first, of the stories that have them
	// into maps the slot of each story that merged into another to that story's slot, which
	// took its items, keys and sources; its postings and exact keys count for that story.
	// merged has a bit per slot, set for those in into: decide reads it for every posting it
	// walks, and a bit per story stays in the processor's cache where the stories do not.
	into   map[uint32]uint32
	merged []uint64
	// docs counts the items, halved with the keys' document frequencies every half window of
	// item time, so that both follow the window without remembering each item.
	docs  uint32
	epoch int64 // the item time of the next halving
	live  int   // stories not freed
	added int   // postings since the last sweep
	swept int   // postings after the last sweep
}

// Bounds of the index. maxChain treats keys that more stories hold as too common to say
// anything; maxKeys bounds the keys of one story.
const (
	maxChain   = 32  // a key more stories hold is too common to say anything
	maxKeys    = 100 // keys of one story
	topNew     = 8   // keys posted by the item that opens a story, besides its kept ones
	topJoin    = 8   // keys a later item may add
	topScoring = 12  // the rarest keys of an item that are scored
	topIndep   = 8   // the language-independent keys scored besides
	maxWalk    = 32  // postings of a key looked at, newest first
	walkBudget = 160 // postings of all the item's keys looked at
)

const minSweep = 1 << 14

func (ix *index) init() {
	ix.stories = make([]record, 0, 1024)
	ix.keys.init(0)
	ix.nodes = make([]node, 1, 1024) // node 0 is the end of every chain
	ix.counts = make([]uint16, 1, 1024)
	ix.exact.init(0)
	ix.more = map[uint32]*sources{}
	ix.into = map[uint32]uint32{}
	ix.epoch = minTime
}

// halve halves the document frequencies and the count of items once the item time has passed
// the epoch, so that they follow the window; weigh counts each item's keys.
func (ix *index) halve(now, window int64) {
	if ix.epoch == minTime {
		ix.epoch = now + window/2
	}
	if now < ix.epoch {
		return
	}
	ix.keys.rebuild(func(_ uint32, c chain) chain {
		c.df /= 2
		return c
	})
	ix.docs /= 2
	ix.epoch = now + window/2
}

// root returns the slot of the story that the story in slot merged into, or slot.
func (ix *index) root(slot uint32) uint32 {
	for ix.isMerged(slot) {
		slot = ix.into[slot]
	}
	return slot
}

func (ix *index) isMerged(slot uint32) bool {
	return ix.merged[slot>>6]&(1<<(slot&63)) != 0
}

// merge merges the story in slot y into the story in slot x, which takes its items, keys and
// sources. x's vector becomes the sum of both; its squared norm is estimated as if the two
// vectors' cosine were one half, about what two stories that passed mergeShare with one item
// have (the exact cross term would need every key of both).
func (ix *index) merge(x, y uint32) {
	rx, ry := &ix.stories[x], &ix.stories[y]
	ix.merged[y>>6] |= 1 << (y & 63)
	ix.into[y] = x
	rx.size += ry.size
	rx.first = min(rx.first, ry.first)
	rx.last = max(rx.last, ry.last)
	rx.nkeys = min(rx.nkeys+ry.nkeys, maxKeys)
	rx.norm2 += ry.norm2 + float32(math.Sqrt(float64(rx.norm2)*float64(ry.norm2)))
	rx.langs |= ry.langs
	ix.addSource(x, ry.feed, ry.pub)
	if more := ix.more[y]; more != nil {
		for _, f := range more.feeds {
			ix.addSource(x, f, 0)
		}
		for _, p := range more.pubs {
			ix.addSource(x, 0, p)
		}
	}
}

func (ix *index) liveAt(slot uint32, since int64) bool {
	r := &ix.stories[slot]
	return !r.free && r.last >= since
}

// open makes a new story and returns its slot.
func (ix *index) open(id uint64, t int64) uint32 {
	r := record{id: id, first: t, last: t}
	ix.live++
	if n := len(ix.freed); n > 0 {
		slot := ix.freed[n-1]
		ix.freed = ix.freed[:n-1]
		ix.stories[slot] = r
		return slot
	}
	ix.stories = append(ix.stories, r)
	slot := uint32(len(ix.stories) - 1)
	if int(slot>>6) >= len(ix.merged) {
		ix.merged = append(ix.merged, 0)
	}
	return slot
}

// join counts the item in the story and posts its keys that the story lacks: up to topNew for a
// new story, topJoin for a later item, maxKeys in all.
func (ix *index) join(slot uint32, t int64, top []wfeat, first bool) {
	r := &ix.stories[slot]
	r.size++
	if t > r.last {
		r.last = t
	}
	limit := topJoin
	if first {
		limit = topNew
	}
	for _, f := range top {
		if f.has != 0 {
			if c := ix.counts[f.has]; c < 1<<16-1 {
				ix.counts[f.has] = c + 1
				r.norm2 += f.w * f.w * float32(2*c+1) // (c+1)² - c²
			}
			continue
		}
		if !f.keep && limit == 0 || r.nkeys >= maxKeys {
			continue
		}
		c := ix.keys.ref(f.h)
		ix.nodes = append(ix.nodes, node{story: slot, next: c.head})
		ix.counts = append(ix.counts, 1)
		c.head = uint32(len(ix.nodes) - 1)
		c.n++
		r.nkeys++
		r.norm2 += f.w * f.w
		ix.added++
		if !f.keep {
			limit--
		}
	}
}

// maybeSweep rebuilds the chains without the stories that left the window once the postings
// added since the last sweep outnumber those it kept, so the work is amortised over the items
// and the memory stays within twice the live postings.
func (ix *index) maybeSweep(since int64) {
	if ix.added < minSweep || ix.added < ix.swept {
		return
	}
	ix.sweep(since)
}

// keepNewest is the time before which the stories are swept to keep the n whose latest items
// are the newest (more on ties).
func (ix *index) keepNewest(n int) int64 {
	lasts := make([]int64, 0, ix.live)
	for i := range ix.stories {
		if r := &ix.stories[i]; !r.free && !ix.isMerged(uint32(i)) {
			lasts = append(lasts, r.last)
		}
	}
	if n <= 0 || len(lasts) <= n {
		return minTime
	}
	slices.Sort(lasts)
	return lasts[len(lasts)-n]
}

func (ix *index) sweep(since int64) {
	// A merged story leaves the window with the story it merged into.
	dead := make([]bool, len(ix.stories))
	for i := range ix.stories {
		r := &ix.stories[i]
		if !r.free && ix.stories[ix.root(uint32(i))].last < since {
			dead[i] = true
		}
	}
	nodes := make([]node, 1, len(ix.nodes)/2+1024)
	counts := make([]uint16, 1, len(ix.nodes)/2+1024)
	var buf, cbuf []uint32
	ix.keys.rebuild(func(_ uint32, c chain) chain {
		buf, cbuf = buf[:0], cbuf[:0]
		for p := c.head; p != 0; p = ix.nodes[p].next {
			if s := ix.nodes[p].story; !dead[s] && !ix.stories[s].free {
				buf = append(buf, s)
				cbuf = append(cbuf, uint32(ix.counts[p]))
			}
		}
		if len(buf) == 0 {
			return chain{df: c.df}
		}
		// Rebuild the chain in the same order, newest first.
		head := uint32(0)
		for i := len(buf) - 1; i >= 0; i-- {
			nodes = append(nodes, node{story: buf[i], next: head})
			counts = append(counts, uint16(cbuf[i]))
			head = uint32(len(nodes) - 1)
		}
		return chain{head: head, n: uint32(len(buf)), df: c.df}
	})
	ix.exact.rebuild(0, func(s uint32) bool { return !dead[s] && !ix.stories[s].free })
	for s := range ix.more {
		if dead[s] {
			delete(ix.more, s)
		}
	}
	for s := range ix.into {
		if dead[s] {
			delete(ix.into, s)
			ix.merged[s>>6] &^= 1 << (s & 63)
		}
	}
	for i := range ix.stories {
		if dead[i] {
			ix.stories[i] = record{free: true}
			ix.freed = append(ix.freed, uint32(i))
			ix.live--
		}
	}
	// Reuse the lowest slots first, so the order of slots does not depend on when sweeps ran
	// more than it must; slots only break ties between stories of equal score and age.
	slices.SortFunc(ix.freed, func(a, b uint32) int { return int(b) - int(a) })
	ix.nodes = slices.Clip(nodes)
	ix.counts = slices.Clip(counts)
	ix.swept = len(nodes) - 1
	ix.added = 0
}

// interner maps feed ids, publishers and languages to small numbers, so a story's sources cost
// four bytes each.
type interner struct {
	ids   map[string]uint32
	names []string
	langs map[string]uint8
	lang  []string
}

// maxLangs is the number of distinct languages a story can record (a bit each; the last bit
// stands for a language not yet seen).
const maxLangs = 31

func (in *interner) init() {
	in.ids = map[string]uint32{}
	in.langs = map[string]uint8{}
}

// langBit is the bit of a language in a story's langs: 0 when unknown, and for a language no
// story has yet, a bit no story has.
func (in *interner) langBit(lang string) uint32 {
	if lang == "" {
		return 0
	}
	if l, ok := in.langs[lang]; ok {
		return 1 << l
	}
	return 1 << maxLangs
}

func (in *interner) id(s string) uint32 {
	if s == "" {
		return 0
	}
	if v, ok := in.ids[s]; ok {
		return v
	}
	s = strings.Clone(s) // not the item's, which may keep a larger buffer alive
	in.names = append(in.names, s)
	v := uint32(len(in.names))
	in.ids[s] = v
	return v
}

// addSource adds an interned feed and publisher (0: none) to the story's sources.
func (ix *index) addSource(slot, f, p uint32) {
	r := &ix.stories[slot]
	if r.feed == 0 && r.pub == 0 {
		r.feed, r.pub = f, p
		return
	}
	if r.feed == 0 {
		r.feed, f = f, 0
	}
	if r.pub == 0 {
		r.pub, p = p, 0
	}
	more := ix.more[slot]
	if more == nil && (f != 0 && f != r.feed || p != 0 && p != r.pub) {
		more = &sources{}
		ix.more[slot] = more
	}
	if more != nil {
		if f != 0 && f != r.feed && !slices.Contains(more.feeds, f) && len(more.feeds) < MaxSources-1 {
			more.feeds = append(more.feeds, f)
		}
		if p != 0 && p != r.pub && !slices.Contains(more.pubs, p) && len(more.pubs) < MaxSources-1 {
			more.pubs = append(more.pubs, p)
		}
	}
}

func (in *interner) addSources(ix *index, slot uint32, feed, pub, lang string) {
	r := &ix.stories[slot]
	ix.addSource(slot, in.id(feed), in.id(pub))
	if lang == "" {
		return
	}
	l, ok := in.langs[lang]
	if !ok {
		if len(in.lang) >= maxLangs {
			return
		}
		l = uint8(len(in.lang))
		lang = strings.Clone(lang)
		in.lang = append(in.lang, lang)
		in.langs[lang] = l
	}
	r.langs |= 1 << l
}

func (in *interner) story(ix *index, slot uint32, first bool) Story {
	r := &ix.stories[slot]
	s := Story{ID: FormatID(r.id), First: first, Size: int(r.size), FirstSeen: time.UnixMilli(r.first).UTC()}
	more := ix.more[slot]
	nf, np := 0, 0
	if r.feed != 0 {
		nf++
	}
	if r.pub != 0 {
		np++
	}
	if more != nil {
		nf += len(more.feeds)
		np += len(more.pubs)
	}
	nl := bits.OnesCount32(r.langs)
	if nf+np+nl == 0 {
		return s
	}
	// One array holds the three lists; a list that is empty stays nil.
	names := make([]string, 0, nf+np+nl)
	if r.feed != 0 {
		names = append(names, in.names[r.feed-1])
	}
	if more != nil {
		for _, f := range more.feeds {
			names = append(names, in.names[f-1])
		}
	}
	if r.pub != 0 {
		names = append(names, in.names[r.pub-1])
	}
	if more != nil {
		for _, p := range more.pubs {
			names = append(names, in.names[p-1])
		}
	}
	for l := r.langs; l != 0; l &= l - 1 {
		names = append(names, in.lang[bits.TrailingZeros32(l)])
	}
	if nf > 0 {
		s.Feeds = names[:nf:nf]
	}
	if np > 0 {
		s.Publishers = names[nf : nf+np : nf+np]
	}
	if nl > 0 {
		s.Languages = names[nf+np:]
	}
	return s
}
