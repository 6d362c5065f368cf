package watcher

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

func keys(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s%d", prefix, i)
	}
	return out
}

func set(ks ...[]string) map[string]bool {
	m := map[string]bool{}
	for _, k := range ks {
		for _, s := range k {
			m[s] = true
		}
	}
	return m
}

func TestBoundSeen(t *testing.T) {
	tests := []struct {
		name    string
		seen    []string
		added   []string
		current map[string]bool
		want    []string
	}{
		{
			name: "under the floor keeps all", seen: keys("o", 80), added: keys("n", 10),
			current: set(keys("n", 10)), want: slices.Concat(keys("o", 80), keys("n", 10)),
		},
		{
			name: "floor of 100 drops the oldest", seen: keys("o", 100), added: keys("n", 5),
			current: set(keys("n", 5)), want: slices.Concat(keys("o", 100)[5:], keys("n", 5)),
		},
		{
			name: "three times a big feed", seen: keys("o", 400), added: keys("n", 100),
			current: set(keys("n", 100)), want: slices.Concat(keys("o", 400)[200:], keys("n", 100)),
		},
		{
			name: "never drops an item still in the feed", seen: keys("o", 105), added: nil,
			current: set(keys("o", 3)), // the three oldest keys are still in the feed
			want:    slices.Concat(keys("o", 3), keys("o", 105)[8:]),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			orig := slices.Clone(tt.seen)
			got := boundSeen(tt.seen, tt.added, tt.current)
			if !slices.Equal(got, tt.want) {
				t.Errorf("got %d keys %v…, want %d keys %v…", len(got), head(got), len(tt.want), head(tt.want))
			}
			if !slices.Equal(tt.seen, orig) {
				t.Errorf("boundSeen modified its input")
			}
		})
	}
}

func head(s []string) []string { return s[:min(len(s), 6)] }

// seenOf is the seen set of the identities ids, in their order.
func seenOf(ids ...string) seenIDs {
	s := make(seenIDs, len(ids))
	for i, id := range ids {
		s[i] = idHash(id)
	}
	return s
}

func TestSeenIDsEncoding(t *testing.T) {
	// 8 bytes an identity, as one base64 string; the identities' hashes are stable across
	// versions, since the stored state outlives them.
	data, err := feedState{SeenIDs: seenOf("a", "https://example.org/b")}.encode()
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"seen_ids":"ypeBEsobvcqMrl6/I7sXMw=="}`; string(data) != want {
		t.Errorf("encoded %s, want %s", data, want)
	}
	got, err := decodeState(data)
	if err != nil || !slices.Equal(got.SeenIDs, seenOf("a", "https://example.org/b")) {
		t.Errorf("decoded %v, %v, want the two hashes back", got.SeenIDs, err)
	}
	for _, bad := range []string{`{"seen_ids":"AAAA"}`, `{"seen_ids":"not base64!"}`, `{"seen_ids":7}`} {
		if _, err := decodeState([]byte(bad)); err == nil {
			t.Errorf("decodeState(%s): got nil error, want one", bad)
		}
	}
}

func TestLegacySeenMoved(t *testing.T) {
	// A state written before seen_ids holds the identities themselves: they are read as
	// hashes ahead of any hashes, and the next encoding holds only the hashes.
	st, err := decodeState([]byte(`{"seen":["a","b"],"seen_ids":"ypeBEsobvco=","baselined":true}`))
	if err != nil {
		t.Fatal(err)
	}
	if want := seenOf("a", "b", "a"); !slices.Equal(st.SeenIDs, want) || st.Seen != nil || !st.Baselined {
		t.Errorf("got seen %v, legacy %v, baselined %v, want %v, none, true", st.SeenIDs, st.Seen, st.Baselined, want)
	}
	data, err := st.encode()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(data), `"seen"`) {
		t.Errorf("encoded %s, want no legacy seen key", data)
	}
}

func TestStateRoundTrip(t *testing.T) {
	st := feedState{URL: "https://example.org/f", ETag: `"v1"`, SeenIDs: seenOf("a", "b"), LastSlot: utc("2026-01-01T00:00:00Z"),
		Baselined: true, ConsecutiveFailures: 2, LastError: "boom"}
	data, err := st.encode()
	if err != nil {
		t.Fatal(err)
	}
	got, err := decodeState(data)
	if err != nil {
		t.Fatal(err)
	}
	if !got.LastSlot.Equal(st.LastSlot) || got.ETag != st.ETag || !slices.Equal(got.SeenIDs, st.SeenIDs) || !got.Baselined ||
		got.ConsecutiveFailures != 2 || got.LastError != "boom" || got.URL != st.URL {
		t.Errorf("got %+v, want %+v", got, st)
	}
	if _, err := decodeState([]byte("{")); err == nil {
		t.Errorf("decodeState of broken JSON: got nil error, want one")
	}
	if empty, err := decodeState(nil); err != nil || empty.Baselined || len(empty.SeenIDs) != 0 {
		t.Errorf("decodeState(nil) = %+v, %v, want the zero state", empty, err)
	}
}

func TestValidatorsOnlyForTheirURL(t *testing.T) {
	st := feedState{URL: "https://example.org/f", ETag: `"v1"`, LastModified: "Mon, 02 Jan 2006 15:04:05 GMT"}
	if got := st.validatorsFor("https://user:pw@example.org/f"); got.ETag != `"v1"` {
		t.Errorf("same URL with credentials: got %+v, want the stored validators", got)
	}
	if got := st.validatorsFor("https://example.org/other"); got != (validators{}) {
		t.Errorf("other URL: got %+v, want none", got)
	}
}
