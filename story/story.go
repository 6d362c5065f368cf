// Package story groups news items into stories: the items of all feeds that report one event
// within a window of time, whatever their language.
//
// It is pure: no I/O, no clock, no logger, no retries, no goroutines. Time comes from the items:
// each carries the time it was first seen, and a story leaves the window when its latest item is
// older than the window before the latest time the Assigner has seen. An *Assigner is one
// goroutine's state and is not safe for concurrent use; given the same options and the same items
// in the same order, two Assigners give every item the same story, so replicas and a replay of
// the item archive agree.
//
// How an item finds its story: its title and text become keys (the first five letters of each
// word after folding case and marks and transliterating Cyrillic and Greek into Latin, numbers,
// day-and-month dates in several languages, pairs of Han or Kana characters, the start of Hangul
// words, and the configuration's term lists the item matches, each one concept in every
// language). A key weighs more the fewer items of the window had it (document frequencies halved
// every half window). An item joins at once the story of an item with the same canonical link or
// the same normalised title; otherwise the story whose keys, counted over its items, are closest
// to the item's rarest keys by cosine, or, across languages, the story that holds most of its
// language-independent keys (names, numbers, dates, concepts); the score falls with the time
// since the story's last item. Anything else opens a new story. An item close to two stories
// merges the younger into the older, which takes the later items of both (the items already
// given the younger's id keep it). The thresholds favour precision: merging two events hides an
// alert, splitting one only repeats it.
//
// The state is bounded by the window (stories that leave it are swept, their slots reused) and
// is not serialised: it is a function of the items in their order. Restore rebuilds it from
// recorded assignments, so a restarted process keeps the story ids it published.
package story

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/newswatch/newswatch/matcher"
)

// Item is one feed item as story assignment sees it.
type Item struct {
	FeedID string
	// Key identifies the item within its feed (its guid or link); with FeedID it names the
	// story the item opens.
	Key string
	// Publisher is the host that published the item; when empty, the host of Link.
	Publisher string
	// Language is the item's language when the feed or item states it (BCP 47); when empty, it
	// is guessed from the script and function words of the text, or left empty.
	Language string
	Title    string
	Text     string // the summary or content as plain text
	Link     string // the canonical link
	// Time is when the item was first seen (or published); it orders the window.
	Time time.Time
}

// Story is the story of an item, as it stands after the item joined it.
type Story struct {
	ID    string // 16 hex digits derived from the feed id and key of the story's first item
	First bool   // this item opened the story
	Size  int    // the story's items so far, this one included
	// Feeds and Publishers are the distinct sources in order of arrival, at most MaxSources of
	// each; Languages in the order the Assigner first saw them, at most 31 in all.
	Feeds      []string
	Publishers []string
	Languages  []string
	FirstSeen  time.Time // the time of the story's first item, to the millisecond
	// Language is this item's language: as its Item states it, else as guessed from its text,
	// else "".
	Language string
}

// MaxSources bounds the feeds and publishers a story lists, and so its memory.
const MaxSources = 64

// DefaultWindow is the window when Options.Window is zero.
const DefaultWindow = 48 * time.Hour

// Options configure an Assigner.
type Options struct {
	// Window is how long a story stays open after its latest item; zero means DefaultWindow.
	Window time.Duration
	// Lists are the configuration's term lists, in the rule language. Each list is one concept:
	// two items that match the same list share a key whatever their languages.
	Lists map[string][]string
	// MaxStories bounds the stories of the window, and so the Assigner's memory: when more are
	// open, the quarter whose latest items are oldest leave the window early. Zero: no bound.
	MaxStories int
}

// ErrOptions is the sentinel of invalid options.
var ErrOptions = errors.New("story: invalid options")

// Assigner gives each item its story. See the package comment.
type Assigner struct {
	maxStories int
	window     int64          // milliseconds
	now        int64          // the latest item time seen, milliseconds
	conceptIx  *matcher.Index // the term lists compiled, for the Preparers; nil without lists
	k          keyer          // reads Assign's items
	ix         index
	intern     interner
	top        []wfeat
	kept       []wfeat             // weigh's scratch
	rank       []uint64            // per key of top as weigh fills it, see rankOf
	sorted     []uint64            // rank, sorted
	ordTab     []uint32            // see order
	feats      []feature           // the keys of the item being assigned
	link       uint64              // the item's linkKey
	title      uint64              // the item's titleKey
	candTab    [candTabSize]uint64 // see candIndex
	candUsed   []uint32
	// restoring maps the ids of the stories Restore made to their slots, until the next Assign.
	restoring map[uint64]uint32
	cands     []cand
}

// New validates the options and returns an empty Assigner.
func New(opts Options) (*Assigner, error) {
	buildRuneTables()
	w := opts.Window
	if w == 0 {
		w = DefaultWindow
	}
	if w < time.Second {
		return nil, fmt.Errorf("%w: window %s is shorter than a second", ErrOptions, w)
	}
	if opts.MaxStories < 0 {
		return nil, fmt.Errorf("%w: max stories %d is negative", ErrOptions, opts.MaxStories)
	}
	a := &Assigner{window: w.Milliseconds(), now: minTime, maxStories: opts.MaxStories}
	a.ix.init()
	a.intern.init()
	if len(opts.Lists) > 0 {
		rules := make([]matcher.Rule, 0, len(opts.Lists))
		for name := range opts.Lists {
			rules = append(rules, matcher.Rule{ID: name, Query: "@" + name})
		}
		ix, err := matcher.Compile(rules, opts.Lists)
		if err != nil {
			return nil, fmt.Errorf("%w: lists: %w", ErrOptions, err)
		}
		a.conceptIx, a.k.concepts = ix, ix.NewMatcher()
	}
	return a, nil
}

const minTime = -1 << 62

// Assign gives the item its story, opening one when no live story holds the item, and
// updates the window. Items should come in the order they were first seen; an item older than
// the latest seen is assigned all the same, against the stories still in the window.
func (a *Assigner) Assign(it Item) Story {
	keys := a.k.read(&it)
	return a.assign(&it, keys, a.k.x.feats)
}

// Prepared is an item with the keys that Assign reads from its title, text and link, read by a
// Preparer ahead of AssignPrepared.
type Prepared struct {
	it    Item
	keys  itemKeys
	feats []feature
}

// Preparer reads the keys of items for AssignPrepared. Reading keys is most of the cost of
// Assign, and needs nothing of the window: a Preparer of each of several goroutines may read
// items side by side while their Assigner assigns the items read before, so that only the
// decision is serial. A Preparer is one goroutine's.
type Preparer struct{ k keyer }

// NewPreparer returns a Preparer of a's options (its term lists). It is safe for concurrent use
// with a's methods.
func (a *Assigner) NewPreparer() *Preparer {
	p := &Preparer{}
	if a.conceptIx != nil {
		p.k.concepts = a.conceptIx.NewMatcher()
	}
	return p
}

// Prepare reads the item's keys.
func (p *Preparer) Prepare(it Item) Prepared {
	keys := p.k.read(&it)
	return Prepared{it: it, keys: keys, feats: slices.Clone(p.k.x.feats)}
}

// AssignPrepared is Assign of an item that a Preparer of a read: it gives the item the story
// that Assign gives it, and prepared items must come in the order Assign asks for.
func (a *Assigner) AssignPrepared(p *Prepared) Story {
	return a.assign(&p.it, p.keys, p.feats)
}

// assign is Assign of an item whose keys are read.
func (a *Assigner) assign(it *Item, keys itemKeys, feats []feature) Story {
	a.restoring = nil
	tk := a.take(it, keys, feats)
	t, lang := tk.t, tk.lang
	slot, first := a.decide(t, a.intern.langBit(lang))
	if first {
		slot = a.ix.open(storyID(it), t)
	}
	a.put(it, slot, first, tk)
	st := a.intern.story(&a.ix, slot, first)
	st.Language = lang
	return st
}

// taken is what take read of an item: its time (milliseconds), publisher and language.
type taken struct {
	t         int64
	pub, lang string
}

// take takes an item whose keys are read for Assign or Restore: its time, which moves the
// window, and its keys and exact keys into a.
func (a *Assigner) take(it *Item, keys itemKeys, feats []feature) taken {
	tk := taken{t: it.Time.UnixMilli(), pub: keys.pub, lang: keys.lang}
	if tk.t > a.now {
		a.now = tk.t
	}
	a.feats, a.link, a.title = feats, keys.link, keys.title
	a.ix.halve(a.now, a.window)
	return tk
}

// keyer reads the keys of items: one goroutine's, its scratch space reused from item to item.
type keyer struct {
	x        extractor
	concepts *matcher.Matcher // the term lists; nil without
	mitem    matcher.Item
}

// itemKeys is what a keyer reads of an item besides its keys: its publisher, its language, and
// the keys of its link and title (0: none).
type itemKeys struct {
	pub, lang   string
	link, title uint64
}

// read reads the item's keys into k.x.feats, where they stay until the next read.
func (k *keyer) read(it *Item) itemKeys {
	keys := itemKeys{pub: it.Publisher}
	if keys.pub == "" {
		keys.pub = hostOf(it.Link)
	}
	keys.lang = k.features(it)
	if it.Language != "" {
		keys.lang = strings.ToLower(it.Language)
	}
	keys.link, keys.title = linkKey(it.Link), k.titleKey(it.Title)
	return keys
}

// put joins the item that take read to the story in slot (first: it opens it), records its
// sources and exact keys, and sweeps the window: by time, and by MaxStories.
func (a *Assigner) put(it *Item, slot uint32, first bool, tk taken) {
	a.ix.join(slot, tk.t, a.top, first)
	a.intern.addSources(&a.ix, slot, it.FeedID, tk.pub, tk.lang)
	if a.link != 0 {
		a.ix.exact.set(a.link, slot)
	}
	if a.title != 0 {
		a.ix.exact.set(a.title, slot)
	}
	a.ix.maybeSweep(a.now - a.window)
	if a.maxStories > 0 && a.ix.live > a.maxStories {
		a.ix.sweep(a.ix.keepNewest(a.maxStories - a.maxStories/4))
	}
}

// features extracts the item's keys into k.x.feats, adds the concepts of the term lists, and
// returns the guessed language.
func (k *keyer) features(it *Item) string {
	lang := k.x.extract(it.Title, it.Text)
	if k.concepts != nil {
		k.mitem = matcher.Item{FeedID: it.FeedID, Title: it.Title, Summary: it.Text}
		for _, m := range k.concepts.Match(&k.mitem) {
			k.x.feats = append(k.x.feats, feature{h: hash32(kindConcept, m.Rule), indep: true})
		}
	}
	return lang
}

// storyID derives the id of the story an item opens.
func storyID(it *Item) uint64 {
	key := it.Key
	if key == "" {
		key = it.Link
	}
	if key == "" {
		key = it.Title
	}
	return hash64(it.FeedID, key)
}

func hostOf(link string) string {
	if h, ok := plainHost(link); ok {
		return strings.TrimPrefix(h, "www.")
	}
	u, err := url.Parse(link)
	if err != nil || u.Host == "" {
		return ""
	}
	return strings.TrimPrefix(strings.ToLower(u.Hostname()), "www.")
}

// plainHost returns the host of a link of the common form that url.Parse takes as it is, with
// nothing to allocate: http or https, a host name of lower-case letters, digits, dots and hyphens,
// and no escape or control character anywhere. ok is false for any other link, which hostOf then
// gives to url.Parse (FuzzHost holds the two to the same answer).
func plainHost(link string) (host string, ok bool) {
	var rest string
	switch {
	case strings.HasPrefix(link, "https://"):
		rest = link[len("https://"):]
	case strings.HasPrefix(link, "http://"):
		rest = link[len("http://"):]
	default:
		return "", false
	}
	i := 0
	for i < len(rest) {
		c := rest[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '.' || c == '-') {
			break
		}
		i++
	}
	if i == 0 || i < len(rest) && rest[i] != '/' && rest[i] != '?' && rest[i] != '#' {
		return "", false
	}
	for j := i; j < len(rest); j++ {
		if c := rest[j]; c < 0x20 || c == 0x7f || c == '%' {
			return "", false
		}
	}
	return rest[:i], true
}

// linkKey is the hash of the link without scheme, "www.", fragment and trailing slash, or 0.
func linkKey(link string) uint64 {
	l := strings.TrimSpace(link)
	if l == "" {
		return 0
	}
	if i := strings.IndexByte(l, '#'); i >= 0 {
		l = l[:i]
	}
	if i := strings.Index(l, "://"); i >= 0 {
		l = l[i+3:]
	}
	l = strings.TrimPrefix(l, "www.")
	l = strings.TrimRight(l, "/")
	if l == "" {
		return 0
	}
	return hash64("link", l) | 1
}

// titleKey is the hash of the title's words, folded as keys are, or 0 for a title of fewer
// than four words ("Update", "Breaking news" are not copies of each other).
func (k *keyer) titleKey(title string) uint64 {
	h := uint64(14695981039346656037)
	words, in := 0, false
	for _, r := range title {
		if r < 0x80 && !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9') ||
			r >= 0x80 && !isWordRune(r) {
			in = false
			continue
		}
		if !in {
			words++
			in = true
			h ^= ' '
			h *= 1099511628211
		}
		k.x.buf = k.x.buf[:0]
		k.x.appendFolded(r)
		for _, c := range k.x.buf {
			h ^= uint64(c)
			h *= 1099511628211
		}
	}
	if words < 4 {
		return 0
	}
	return h &^ 1
}

// FormatID formats a story id as Story.ID does.
func FormatID(id uint64) string {
	const digits = "0123456789abcdef"
	var b [16]byte
	for i := len(b) - 1; i >= 0; i-- {
		b[i] = digits[id&0xf]
		id >>= 4
	}
	return string(b[:])
}

// Stats describe the window of an Assigner.
type Stats struct {
	Stories  int // stories in the window
	Items    int // items of those stories
	Keys     int // distinct keys with postings, live or not yet swept
	Postings int // postings, live or not yet swept
}

// Stats counts the stories and items in the window; it walks every story.
func (a *Assigner) Stats() Stats {
	var s Stats
	since := a.now - a.window
	for i := range a.ix.stories {
		if !a.ix.isMerged(uint32(i)) && a.ix.liveAt(uint32(i), since) {
			s.Stories++
			s.Items += int(a.ix.stories[i].size)
		}
	}
	s.Keys = a.ix.keys.count
	s.Postings = len(a.ix.nodes) - 1
	return s
}

// ErrStoryID is the sentinel of a story id that Restore cannot read.
var ErrStoryID = errors.New("story: invalid story id")

// Restore puts an item into the story an earlier Assign gave it, instead of deciding again, so
// that a restarted process can rebuild its window from the items of the archive with their
// recorded stories and keep every story id it published. Items must come in their original
// order, the window's worth before the first new item; the first item restored into a story
// that opened before them recreates the story with the recorded id and first_seen. Restoring the
// whole history gives the Assigner nearly the state it had: the keys posted by items older than
// those restored are missing, and stories that Assign merged stay apart (the items of the
// younger after the merge are restored into the older, but a later item may still join the
// younger).
func (a *Assigner) Restore(it Item, s Story) error {
	id, err := strconv.ParseUint(s.ID, 16, 64)
	if err != nil || len(s.ID) != 16 {
		return fmt.Errorf("%w: %q", ErrStoryID, s.ID)
	}
	if a.restoring == nil {
		a.restoring = map[uint64]uint32{}
	}
	keys := a.k.read(&it)
	tk := a.take(&it, keys, a.k.x.feats)
	a.weigh()
	slot, ok := a.restoring[id]
	first := !ok || a.ix.stories[slot].id != id || !a.ix.liveAt(slot, a.now-a.window)
	if first {
		slot = a.ix.open(id, tk.t)
		if !s.FirstSeen.IsZero() {
			a.ix.stories[slot].first = s.FirstSeen.UnixMilli()
		}
		a.restoring[id] = slot
	} else {
		a.markHas(slot)
	}
	a.put(&it, slot, first, tk)
	return nil
}
