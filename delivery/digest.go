package delivery

import (
	"cmp"
	"slices"
	"time"
)

// DigestKind tells why a digest was gathered.
type DigestKind string

// The kinds of digest.
const (
	// KindDigest is the digest of a period of mode digest.
	KindDigest DigestKind = "digest"
	// KindBudget is the digest of the alerts past the budget of a window of mode budget.
	KindBudget DigestKind = "budget"
)

// Digest is one rule's digest of one period: the stories held for it.
type Digest struct {
	// ID is the rule and the period ("kursk.20260312T090000Z"): the same on every replica and
	// after every replay, for the de-duplication of the bus.
	ID     string     `json:"id"`
	Rule   string     `json:"rule"`
	Kind   DigestKind `json:"kind"`
	Period Period     `json:"period"`
	// Stories are the period's stories, the most widely covered first, at most MaxStories.
	Stories []DigestStory `json:"stories"`
	// Items is the number of alerts held for the period; MoreItems of them belong to stories
	// past MaxStories and are not listed.
	Items     int `json:"items"`
	MoreItems int `json:"more_items"`
}

// DigestStory is one story of a digest.
type DigestStory struct {
	ID        string    `json:"id"`
	Title     string    `json:"title"`
	Link      string    `json:"link"`
	Sources   int       `json:"sources"` // distinct publishers of its items in the period (counted up to 64)
	Items     int       `json:"items"`   // its alerts in the period
	FirstSeen time.Time `json:"first_seen"`
}

// pending is a digest being gathered (or frozen, waiting to be published), in State.
type pending struct {
	Kind      DigestKind     `json:"kind"`
	Start     int64          `json:"start"`
	End       int64          `json:"end"`
	Frozen    bool           `json:"frozen,omitempty"`
	Items     int            `json:"items"`
	MoreItems int            `json:"more,omitempty"`
	Stories   []pendingStory `json:"stories,omitempty"`
}

type pendingStory struct {
	ID      string `json:"id"`
	Title   string `json:"title,omitempty"`
	Link    string `json:"link,omitempty"`
	First   int64  `json:"first"`
	Items   int    `json:"items"`
	Sources hashes `json:"src,omitempty"`
}

// hold adds the event to the open digest of period p, creating it.
func (st *State) hold(kind DigestKind, p Period, ev Event, maxStories int) {
	start, end := p.Start.Unix(), p.End.Unix()
	i := slices.IndexFunc(st.Digests, func(d pending) bool { return d.Start == start && !d.Frozen })
	if i < 0 {
		st.Digests = append(st.Digests, pending{Kind: kind, Start: start, End: end})
		slices.SortStableFunc(st.Digests, func(a, b pending) int { return cmp.Compare(a.Start, b.Start) })
		i = slices.IndexFunc(st.Digests, func(d pending) bool { return d.Start == start && !d.Frozen })
	}
	d := &st.Digests[i]
	d.Items++
	story := ev.story()
	j := slices.IndexFunc(d.Stories, func(s pendingStory) bool { return s.ID == story })
	if j < 0 {
		if len(d.Stories) >= maxStories {
			d.MoreItems++
			return
		}
		d.Stories = append(d.Stories, pendingStory{ID: story, Title: ev.Title, Link: ev.Link, First: ev.Time.Unix()})
		j = len(d.Stories) - 1
	}
	s := &d.Stories[j]
	s.Items++
	if t := ev.Time.Unix(); t < s.First {
		s.First, s.Title, s.Link = t, ev.Title, ev.Link
	}
	if p := hash(ev.Publisher); !s.Sources.has(p) && len(s.Sources) < sourcesCap {
		s.Sources = append(s.Sources, p)
	}
}

// id is the digest's id: the rule and the period.
func (d pending) id(rule string) string {
	return rule + "." + periodID(time.Unix(d.Start, 0))
}

// digest builds the published form of a pending digest.
func (d pending) digest(rule string) Digest {
	start := time.Unix(d.Start, 0).UTC()
	p := Period{ID: periodID(start), Start: start, End: time.Unix(d.End, 0).UTC()}
	out := Digest{ID: d.id(rule), Rule: rule, Kind: d.Kind, Period: p, Items: d.Items, MoreItems: d.MoreItems}
	for _, s := range d.Stories {
		out.Stories = append(out.Stories, DigestStory{
			ID: s.ID, Title: s.Title, Link: s.Link, Sources: len(s.Sources), Items: s.Items,
			FirstSeen: time.Unix(s.First, 0).UTC(),
		})
	}
	slices.SortFunc(out.Stories, func(a, b DigestStory) int {
		switch {
		case a.Sources != b.Sources:
			return b.Sources - a.Sources
		case !a.FirstSeen.Equal(b.FirstSeen):
			return a.FirstSeen.Compare(b.FirstSeen)
		}
		return compareStrings(a.ID, b.ID)
	})
	return out
}

func compareStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
