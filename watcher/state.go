package watcher

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"
)

// minSeen is the least number of identities the seen set keeps, however small the feed.
const minSeen = 100

// feedState is what the watcher remembers about a feed between polls, stored as JSON in the
// StateStore. Fields are only ever added, so that replicas of different versions can share it,
// with one exception: the seen set moved from Seen to SeenIDs (see there).
type feedState struct {
	// URL is the (redacted) URL the validators belong to; they are not sent to another URL.
	// Like Gone and MovedFrom, it names the configured URL's query values only by QueryHash.
	URL string `json:"url,omitempty"`
	// QueryHash is queryHash of the configured URL that URL, Gone and the moves were written
	// for; see forURL.
	QueryHash    string `json:"query_hash,omitempty"`
	ETag         string `json:"etag,omitempty"`
	LastModified string `json:"last_modified,omitempty"`
	// BodyHash identifies the body last parsed from URL; see Watcher.fetchAndParse.
	BodyHash string `json:"body_hash,omitempty"`
	// SeenIDs holds the hashes of the identities of the items already handled, oldest first.
	SeenIDs seenIDs `json:"seen_ids,omitempty"`
	// Seen is the seen set as versions before SeenIDs wrote it: the identities themselves.
	// decodeState moves it into SeenIDs, so it is never written again. A replica of such a
	// version reads no seen set from a state this version wrote: do not run the two side by side.
	Seen []string `json:"seen,omitempty"`
	// LastSlot is the latest slot polled; a job for this slot or an earlier one does nothing.
	LastSlot time.Time `json:"last_slot,omitzero"`
	// Baselined is set by the first successful poll, after which first_poll no longer applies.
	Baselined           bool      `json:"baselined,omitempty"`
	ConsecutiveFailures int       `json:"consecutive_failures,omitempty"`
	LastError           string    `json:"last_error,omitempty"`
	LastFailure         time.Time `json:"last_failure,omitzero"`
	LastSuccess         time.Time `json:"last_success,omitzero"`
	// LastErrorClass is the class of LastError.
	LastErrorClass ErrorClass `json:"last_error_class,omitempty"`
	// NextPoll is when a failing feed may be polled again: a job for an earlier slot is
	// acknowledged without fetching. Zero after a success.
	NextPoll time.Time `json:"next_poll,omitzero"`
	// Gone is the (redacted) configured URL that answered 410 Gone, or whose permanent new
	// URL did; the feed is not polled while it is configured with that URL.
	Gone string `json:"gone,omitempty"`
	// MovedFrom is the (redacted) configured URL that MovedTo and MoveCandidate belong to.
	MovedFrom string `json:"moved_from,omitempty"`
	// MoveCandidate is where the last poll was permanently redirected to; a second poll
	// redirected to the same URL confirms it, and it becomes MovedTo.
	MoveCandidate string `json:"move_candidate,omitempty"`
	// MovedTo is the confirmed new URL of the feed (redacted), polled instead of the
	// configured one. The configuration is never rewritten.
	MovedTo string `json:"moved_to,omitempty"`
	// LastNewItem is when a poll last found a new item (the first poll counts).
	LastNewItem time.Time `json:"last_new_item,omitzero"`
	// ItemGap is the median gap between the feed's item dates at its last parsed poll; 0 when
	// unknown.
	ItemGap time.Duration `json:"item_gap,omitempty"`
	// StaleSince is when the feed was found stale; zero while it is not.
	StaleSince time.Time `json:"stale_since,omitzero"`
	// NewItemsAvg is a moving average of the new items per parsed poll, for the flood guard.
	NewItemsAvg float64 `json:"new_items_avg,omitempty"`
	// Interval is the adapted interval of an "auto" feed, and NextDue when it is due again:
	// a job for an earlier slot is acknowledged without fetching.
	Interval time.Duration `json:"interval,omitempty"`
	NextDue  time.Time     `json:"next_due,omitzero"`
}

func decodeState(data []byte) (feedState, error) {
	var st feedState
	if len(data) == 0 {
		return st, nil
	}
	if err := json.Unmarshal(data, &st); err != nil {
		return feedState{}, fmt.Errorf("decode feed state: %w", err)
	}
	if len(st.Seen) > 0 {
		legacy := make(seenIDs, len(st.Seen))
		for i, k := range st.Seen {
			legacy[i] = idHash(k)
		}
		st.SeenIDs, st.Seen = slices.Concat(legacy, st.SeenIDs), nil
	}
	return st, nil
}

func (st feedState) encode() ([]byte, error) {
	data, err := json.Marshal(st)
	if err != nil {
		return nil, fmt.Errorf("encode feed state: %w", err)
	}
	return data, nil
}

// forURL returns st as it applies to the configured URL cfgURL: what it remembers of another URL
// (validators, the body hash, gone, moves) forgotten. The stored URLs are redacted, so a
// configured URL changed only in a query value is told from the one they were written for by
// QueryHash alone. A state written before QueryHash existed holds unredacted URLs; for a URL
// with a query it is forgotten the same way, and the next save leaves no query value in it.
func (st feedState) forURL(cfgURL string) feedState {
	if h := queryHash(cfgURL); st.QueryHash != h {
		st.QueryHash = h
		st.URL, st.ETag, st.LastModified, st.BodyHash = "", "", "", ""
		st.Gone, st.MovedFrom, st.MoveCandidate, st.MovedTo = "", "", "", ""
	}
	// A move recorded unredacted (by an earlier version, for a URL without a query: the
	// server's query values) is forgotten too, since trackMove would keep it as it is.
	if st.MovedTo != redactURL(st.MovedTo) {
		st.MovedTo = ""
	}
	if st.MoveCandidate != redactURL(st.MoveCandidate) {
		st.MoveCandidate = ""
	}
	return st
}

// fetchURL is the URL to poll for the configured URL cfgURL: the confirmed new URL when the feed
// moved, with cfgURL's query values and, on the same host, its userinfo; else cfgURL.
func (st feedState) fetchURL(cfgURL string) string {
	if st.MovedTo == "" || st.MovedFrom != redactURL(cfgURL) {
		return cfgURL
	}
	u, ok := rebuildURL(cfgURL, st.MovedTo)
	if !ok {
		return cfgURL
	}
	return u
}

// repairState repairs what no poll of f could have written, as of now, for it can only have
// come from someone else writing the state store, or a clock gone wrong: a state must not
// push the feed off its schedule or elsewhere. It returns the repaired state and what was
// repaired, one phrase each; none when st is sane. ceiling is the watcher's backoff ceiling.
//
//   - LastSlot after the latest slot a job may have (slotLimit) would make every real slot
//     one done already: it is cleared, and the next slot polls.
//   - Gone names a URL that is not the feed's, or a 410 that the state does not record: it
//     is cleared. (After the configured URL changes, a leftover is cleared this way too.)
//   - MovedTo and MoveCandidate on another host than the configured URL would send the
//     polls, and what they alert, to a host the configuration does not name: they are
//     dropped, and trackMove never records such a move (the fetcher follows it at every
//     poll). Only the ones that belong to the configured URL (MovedFrom) are looked at;
//     others are ignored by fetchURL and replaced by the next success.
//   - NextPoll later than the longest pause a failure sets (the backoff ceiling, or the
//     longest Retry-After honoured), and NextDue later than the feed's AutoMax, are
//     clamped to it.
//   - LastSuccess or LastNewItem in the future would make the flood guard count every
//     burst as old, or the feed never stale: they are cleared. A negative failure count,
//     item gap, or an average of new items outside [0, MaxItems] is clamped.
func repairState(st feedState, f *feedPlan, now time.Time, ceiling time.Duration) (feedState, []string) {
	var fixed []string
	fix := func(what string) { fixed = append(fixed, what) }
	if limit := slotLimit(f, now); st.LastSlot.After(limit) {
		fix("last_slot " + st.LastSlot.UTC().Format(time.RFC3339) + " beyond the schedule: cleared")
		st.LastSlot = time.Time{}
	}
	cfgURL := redactURL(f.URL)
	switch {
	case st.Gone == "":
	case st.Gone != cfgURL:
		fix("gone names another URL than the feed's: cleared")
		st.Gone = ""
	case st.LastErrorClass != ClassGone:
		fix("gone without a 410 recorded: cleared")
		st.Gone = ""
	}
	if st.MovedFrom == cfgURL {
		if st.MovedTo != "" && !sameHost(st.MovedTo, f.URL) {
			fix("moved_to on another host than the feed's: dropped")
			st.MovedTo = ""
		}
		if st.MoveCandidate != "" && !sameHost(st.MoveCandidate, f.URL) {
			fix("move_candidate on another host than the feed's: dropped")
			st.MoveCandidate = ""
		}
		if st.MovedTo == "" && st.MoveCandidate == "" {
			st.MovedFrom = ""
		}
	}
	if pause := max(ceiling, maxRetryAfter); st.NextPoll.After(now.Add(pause + maxClockSkew)) {
		fix("next_poll " + st.NextPoll.UTC().Format(time.RFC3339) + " beyond the longest backoff: clamped")
		st.NextPoll = now.Add(pause)
	}
	if _, hi := f.autoBounds(); st.NextDue.After(now.Add(hi + maxClockSkew)) {
		fix("next_due " + st.NextDue.UTC().Format(time.RFC3339) + " beyond auto_max: clamped")
		st.NextDue = now.Add(hi)
	}
	if st.LastSuccess.After(now.Add(maxClockSkew)) {
		fix("last_success in the future: cleared")
		st.LastSuccess = time.Time{}
	}
	if st.LastNewItem.After(now.Add(maxClockSkew)) {
		fix("last_new_item in the future: cleared")
		st.LastNewItem = time.Time{}
	}
	if st.ConsecutiveFailures < 0 {
		fix("negative consecutive_failures: zeroed")
		st.ConsecutiveFailures = 0
	}
	if st.ItemGap < 0 {
		fix("negative item_gap: zeroed")
		st.ItemGap = 0
	}
	if st.NewItemsAvg < 0 || st.NewItemsAvg > MaxItems {
		fix("new_items_avg out of range: clamped")
		st.NewItemsAvg = min(max(st.NewItemsAvg, 0), MaxItems)
	}
	return st, fixed
}

// sameHost reports whether two http(s) URLs name the same host, whatever their ports: a feed
// moved to https, or to another port of its server, stays on its host.
func sameHost(a, b string) bool {
	ua, err1 := url.Parse(a)
	ub, err2 := url.Parse(b)
	if err1 != nil || err2 != nil || ua.Host == "" || ub.Host == "" || !webScheme(ua) || !webScheme(ub) {
		return false
	}
	return strings.EqualFold(ua.Hostname(), ub.Hostname())
}

func webScheme(u *url.URL) bool {
	return strings.EqualFold(u.Scheme, "http") || strings.EqualFold(u.Scheme, "https")
}

// bodyHashFor returns the hash of the body last parsed from url; "" when it was another URL.
func (st feedState) bodyHashFor(url string) string {
	if st.URL != redactURL(url) {
		return ""
	}
	return st.BodyHash
}

// validatorsFor returns the validators to send to url: none when they were given for another.
func (st feedState) validatorsFor(url string) validators {
	if st.URL != redactURL(url) {
		return validators{}
	}
	return validators{ETag: st.ETag, LastModified: st.LastModified}
}

// idHash is the hash of an item identity kept in the seen set: the first 8 bytes of its SHA-256.
// Two identities of one feed's seen set, at most a few hundred, collide with a probability
// below 10^-14.
func idHash(id string) uint64 {
	sum := sha256.Sum256([]byte(id))
	return binary.BigEndian.Uint64(sum[:8])
}

// seenIDs is a seen set of identity hashes, oldest first. In JSON it is one base64 string of
// the hashes' big-endian bytes: 11 bytes an identity where the identity's text took 30 to 100,
// so that the states of 100,000 feeds of a hundred identities and more each stay small in the
// KV store (and in the embedded server's block cache) and quick to decode.
type seenIDs []uint64

func (s seenIDs) MarshalJSON() ([]byte, error) {
	b := make([]byte, 0, 8*len(s))
	for _, h := range s {
		b = binary.BigEndian.AppendUint64(b, h)
	}
	return json.Marshal(b)
}

func (s *seenIDs) UnmarshalJSON(data []byte) error {
	var b []byte
	if err := json.Unmarshal(data, &b); err != nil {
		return err
	}
	if len(b)%8 != 0 {
		return fmt.Errorf("seen_ids: %d bytes, not a whole number of 8-byte hashes", len(b))
	}
	*s = make(seenIDs, 0, len(b)/8)
	for i := 0; i < len(b); i += 8 {
		*s = append(*s, binary.BigEndian.Uint64(b[i:]))
	}
	return nil
}

// boundSeen returns seen with added appended, trimmed to max(3 x len(current), minSeen) keys by
// dropping the oldest keys that are not in current, the keys of the feed's present items. Since
// current is at most a third of the bound, the bound is always reached. seen is not modified.
func boundSeen[K comparable](seen, added []K, current map[K]bool) []K {
	all := slices.Concat(seen, added)
	limit := max(3*len(current), minSeen)
	drop := len(all) - limit
	if drop <= 0 {
		return all
	}
	out := make([]K, 0, limit)
	for _, k := range all {
		if drop > 0 && !current[k] {
			drop--
			continue
		}
		out = append(out, k)
	}
	return out
}
