package delivery

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/fnv"
)

// State is what one rule's delivery and spike detection remember between events. The caller
// keeps one per rule, passes it to Decide and Due, and persists it as JSON (MarshalJSON is
// compact: times are Unix seconds, ids of past events and stories are 64-bit hashes). Its size
// is bounded: at most seenCap event hashes, knownCap story hashes, the open digests (MaxStories
// stories each), the buckets of the baseline days and the stories of one spike window.
//
// The zero State is the state of a rule that has seen nothing.
type State struct {
	// Seen holds the hashes of the latest event ids, so that a replayed event is a Duplicate.
	Seen hashes `json:"seen,omitempty"`
	// Closed is the end (Unix seconds) of the latest period Due froze: an event older than it
	// joins the period that starts there.
	Closed int64 `json:"closed,omitempty"`
	// Digests are the digests being gathered (open) or frozen and not yet published.
	Digests []pending `json:"digests,omitempty"`
	// Budget is the window being counted in mode budget.
	Budget *budgetState `json:"budget,omitempty"`
	// Spike is the state of the spike detection.
	Spike *spikeState `json:"spike,omitempty"`
}

// budgetState counts one budget window.
type budgetState struct {
	Start   int64 `json:"start"`             // Unix seconds
	Sent    int   `json:"sent"`              // alerts delivered at once in the window
	Noticed bool  `json:"noticed,omitempty"` // the "budget reached" notice was given
}

// Limits of the remembered hashes. A replay after a crash re-feeds the events not yet
// committed, far fewer than seenCap; a story older than knownCap new stories counts as new
// again for spikes.
const (
	seenCap    = 1024
	knownCap   = 2048
	sourcesCap = 64
)

// hashes is a bounded ring of 64-bit hashes, oldest first, marshalled as base64 of their
// little-endian bytes (11 characters a hash, against 20 for a JSON number).
type hashes []uint64

func (h hashes) has(x uint64) bool {
	for _, y := range h {
		if y == x {
			return true
		}
	}
	return false
}

// add appends x, dropping the oldest past max.
func (h hashes) add(x uint64, max int) hashes {
	if len(h) >= max {
		n := copy(h, h[len(h)-max+1:])
		h = h[:n]
	}
	return append(h, x)
}

func (h hashes) MarshalJSON() ([]byte, error) {
	b := make([]byte, 8*len(h))
	for i, x := range h {
		binary.LittleEndian.PutUint64(b[8*i:], x)
	}
	return json.Marshal(base64.RawStdEncoding.EncodeToString(b))
}

func (h *hashes) UnmarshalJSON(data []byte) error {
	var s string
	if err := json.Unmarshal(data, &s); err != nil {
		return err
	}
	b, err := base64.RawStdEncoding.DecodeString(s)
	if err != nil || len(b)%8 != 0 {
		return fmt.Errorf("delivery: hashes: not base64 of 8-byte words")
	}
	out := make(hashes, len(b)/8)
	for i := range out {
		out[i] = binary.LittleEndian.Uint64(b[8*i:])
	}
	*h = out
	return nil
}

func hash(s string) uint64 {
	f := fnv.New64a()
	f.Write([]byte(s))
	return f.Sum64()
}

// Clone returns a deep copy, for a caller that decides on a copy and keeps the original until
// its compare-and-swap succeeds.
func (st *State) Clone() *State {
	b, err := json.Marshal(st)
	if err != nil {
		panic(fmt.Sprintf("delivery: state does not marshal: %v", err)) // only plain types inside
	}
	var c State
	if err := json.Unmarshal(b, &c); err != nil {
		panic(fmt.Sprintf("delivery: state does not unmarshal: %v", err))
	}
	return &c
}
