package delivery

import (
	"cmp"
	"slices"
	"time"
)

// Spike says that a rule's topic surges: many new stories from several publishers in the recent
// window, against the rule's baseline for the same hours of the previous days.
type Spike struct {
	// ID is the rule and the time of the story that made the spike
	// ("kursk.spike.20260312T094512Z"): a replay names it the same.
	ID   string `json:"id"`
	Rule string `json:"rule"`
	// Start and End bound the window counted; End is the time of the story that made the spike.
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
	// Count is the number of new stories in the window, Publishers their distinct publishers.
	Count      int `json:"count"`
	Publishers int `json:"publishers"`
	// Baseline is the mean number of new stories in the same window of the previous days
	// (BaselineDays of them, fewer while the rule is young: at least one); Ratio is Count over the larger of
	// Baseline and the floor.
	Baseline     float64 `json:"baseline"`
	BaselineDays int     `json:"baseline_days"`
	Ratio        float64 `json:"ratio"`
	// Stories are the new stories of the window, oldest first (at most recentCap).
	Stories []SpikeStory `json:"stories"`
}

// SpikeStory is one story behind a spike.
type SpikeStory struct {
	ID        string    `json:"id"`
	Title     string    `json:"title"`
	Publisher string    `json:"publisher"`
	FirstSeen time.Time `json:"first_seen"`
}

// spikeState is the spike detection's memory of one rule.
type spikeState struct {
	Since   int64         `json:"since"`          // first event seen (Unix seconds)
	Last    int64         `json:"last,omitempty"` // time of the latest spike
	Buckets [][2]int64    `json:"b,omitempty"`    // [bucket number, new stories], ascending
	Known   hashes        `json:"known,omitempty"`
	Recent  []recentStory `json:"recent,omitempty"`
}

type recentStory struct {
	ID        string `json:"id"`
	Title     string `json:"title,omitempty"`
	Publisher string `json:"pub,omitempty"`
	T         int64  `json:"t"`
}

// recentCap bounds the stories of one window kept for a spike's list.
const recentCap = 256

func bucketOf(unix int64) int64 {
	n := int64(Bucket / time.Second)
	q := unix / n
	if unix%n < 0 {
		q--
	}
	return q
}

const bucketsPerDay = int64(24 * time.Hour / Bucket)

// observe counts the event's story if it is new, and says whether the rule spikes now.
func (p *Policy) observe(st *State, ev Event) *Spike {
	o := p.opts.Spike
	t := ev.Time.Unix()
	ss := st.Spike
	if ss == nil {
		ss = &spikeState{Since: t}
		st.Spike = ss
	}
	ss.Since = min(ss.Since, t)
	h := hash(ev.story())
	if ss.Known.has(h) {
		return nil
	}
	ss.Known = ss.Known.add(h, knownCap)

	n := int64(o.Window / Bucket)
	b := bucketOf(t)
	now := b
	if l := len(ss.Buckets); l > 0 {
		now = max(now, ss.Buckets[l-1][0])
	}
	horizon := now - int64(o.BaselineDays)*bucketsPerDay - n + 1
	ss.Buckets = slices.DeleteFunc(ss.Buckets, func(x [2]int64) bool { return x[0] < horizon })
	if b < horizon {
		return nil // older than any window still counted
	}
	i, found := slices.BinarySearchFunc(ss.Buckets, b, func(x [2]int64, b int64) int { return cmp.Compare(x[0], b) })
	if found {
		ss.Buckets[i][1]++
	} else {
		ss.Buckets = slices.Insert(ss.Buckets, i, [2]int64{b, 1})
	}

	first := now - n + 1 // the window is the buckets first..now
	ss.Recent = slices.DeleteFunc(ss.Recent, func(r recentStory) bool { return bucketOf(r.T) < first })
	if b >= first && len(ss.Recent) < recentCap {
		r := recentStory{ID: ev.story(), Title: ev.Title, Publisher: ev.Publisher, T: t}
		j, _ := slices.BinarySearchFunc(ss.Recent, r, func(a, b recentStory) int {
			return cmp.Or(cmp.Compare(a.T, b.T), cmp.Compare(a.ID, b.ID))
		})
		ss.Recent = slices.Insert(ss.Recent, j, r)
	}

	if ss.Last != 0 && t < ss.Last+int64(o.Cooldown/time.Second) {
		return nil
	}
	count := ss.sum(first, now)
	if count < o.MinStories {
		return nil
	}
	if publishers(ss.Recent, o.MinPublishers) < o.MinPublishers {
		return nil
	}
	sinceBucket := bucketOf(ss.Since)
	var total, days int
	for d := int64(1); d <= int64(o.BaselineDays); d++ {
		lo := first - d*bucketsPerDay
		if lo < sinceBucket {
			break // the rule was not watched yet then
		}
		total += ss.sum(lo, now-d*bucketsPerDay)
		days++
	}
	if days == 0 {
		return nil // no baseline yet: a young rule cannot tell a surge from its usual rate
	}
	baseline := float64(total) / float64(days)
	ratio := float64(count) / max(baseline, o.Floor)
	if ratio < o.Factor {
		return nil
	}
	ss.Last = t
	sp := &Spike{
		ID: p.rule + ".spike." + periodID(ev.Time), Rule: p.rule,
		Start: time.Unix(first*int64(Bucket/time.Second), 0).UTC(), End: time.Unix(t, 0).UTC(),
		Count: count, Publishers: publishers(ss.Recent, len(ss.Recent)), Baseline: baseline, BaselineDays: days, Ratio: ratio,
	}
	for _, r := range ss.Recent {
		sp.Stories = append(sp.Stories, SpikeStory{ID: r.ID, Title: r.Title, Publisher: r.Publisher, FirstSeen: time.Unix(r.T, 0).UTC()})
	}
	return sp
}

// sum is the number of new stories in the buckets lo..hi.
func (ss *spikeState) sum(lo, hi int64) int {
	var n int64
	for _, x := range ss.Buckets {
		if x[0] >= lo && x[0] <= hi {
			n += x[1]
		}
	}
	return int(n)
}

// publishers counts the distinct publishers of the recent stories, up to enough: a rule of many
// matches asks before each of its new stories whether they come from enough publishers yet.
func publishers(recent []recentStory, enough int) int {
	seen := make(map[string]struct{}, min(enough, len(recent)))
	for _, r := range recent {
		if len(seen) >= enough {
			break
		}
		seen[r.Publisher] = struct{}{}
	}
	return len(seen)
}
