package fakeslack

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// message is a message as conversations.history answers it.
type message struct {
	Type     string          `json:"type"`
	Subtype  string          `json:"subtype,omitempty"`
	TS       string          `json:"ts"`
	ThreadTS string          `json:"thread_ts,omitempty"`
	Text     string          `json:"text"`
	Blocks   json.RawMessage `json:"blocks,omitempty"`
	Metadata *metadata       `json:"metadata,omitempty"`
}

type metadata struct {
	EventType    string         `json:"event_type"`
	EventPayload map[string]any `json:"event_payload"`
}

// history is conversations.history: the messages of one channel, given by id, newest first.
func (s *Server) history(w http.ResponseWriter, r *http.Request) {
	if !s.authorized(w, r) {
		return
	}
	f := r.PostForm
	id := f.Get("channel")
	if !s.isChannelID(id) {
		writeJSON(w, http.StatusOK, map[string]any{"ok": false, "error": "channel_not_found"})
		return
	}
	oldest, ok1 := parseTS(f.Get("oldest"), ts{})
	latest, ok2 := parseTS(f.Get("latest"), ts{sec: 1 << 40})
	limit, ok3 := pageLimit(f.Get("limit"), 100, 999)
	offset, ok4 := cursorOffset(f.Get("cursor"))
	if !ok1 || !ok2 || !ok3 || !ok4 {
		writeJSON(w, http.StatusOK, map[string]any{"ok": false, "error": "invalid_arguments"})
		return
	}
	inclusive := f.Get("inclusive") == "1" || f.Get("inclusive") == "true"
	withMetadata := f.Get("include_all_metadata") == "1" || f.Get("include_all_metadata") == "true"

	s.mu.Lock()
	s.lookups++
	var msgs []message
	for _, p := range slices.Backward(s.posts) {
		t, _ := parseTS(p.TS, ts{})
		if p.Channel != id || p.ThreadTS != "" || t.before(oldest) || latest.before(t) || (!inclusive && (t == oldest || t == latest)) {
			continue
		}
		m := message{Type: "message", TS: p.TS, Text: p.Text, Blocks: p.Blocks}
		if p.Webhook {
			m.Subtype = "bot_message"
		}
		if withMetadata && p.EventType != "" {
			m.Metadata = &metadata{EventType: p.EventType, EventPayload: p.Payload}
		}
		msgs = append(msgs, m)
	}
	s.mu.Unlock()

	page, next := paginate(msgs, offset, limit)
	writeJSON(w, http.StatusOK, map[string]any{
		"ok": true, "messages": page, "has_more": next != "",
		"response_metadata": map[string]any{"next_cursor": next},
	})
}

// replies is conversations.replies: the parent message at ts in a channel given by id, then
// its replies, oldest first.
func (s *Server) replies(w http.ResponseWriter, r *http.Request) {
	if !s.authorized(w, r) {
		return
	}
	f := r.PostForm
	id, parent := f.Get("channel"), f.Get("ts")
	if !s.isChannelID(id) {
		writeJSON(w, http.StatusOK, map[string]any{"ok": false, "error": "channel_not_found"})
		return
	}
	limit, ok1 := pageLimit(f.Get("limit"), 100, 1000)
	offset, ok2 := cursorOffset(f.Get("cursor"))
	if !ok1 || !ok2 || parent == "" {
		writeJSON(w, http.StatusOK, map[string]any{"ok": false, "error": "invalid_arguments"})
		return
	}
	withMetadata := f.Get("include_all_metadata") == "1" || f.Get("include_all_metadata") == "true"
	s.mu.Lock()
	s.lookups++
	var msgs []message
	for _, p := range s.posts {
		if p.Channel != id || !(p.TS == parent && p.ThreadTS == "" || p.ThreadTS == parent) {
			continue
		}
		m := message{Type: "message", TS: p.TS, Text: p.Text, Blocks: p.Blocks, ThreadTS: parent}
		if withMetadata && p.EventType != "" {
			m.Metadata = &metadata{EventType: p.EventType, EventPayload: p.Payload}
		}
		msgs = append(msgs, m)
	}
	s.mu.Unlock()
	if len(msgs) == 0 || msgs[0].TS != parent {
		writeJSON(w, http.StatusOK, map[string]any{"ok": false, "error": "thread_not_found"})
		return
	}
	page, next := paginate(msgs, offset, limit)
	writeJSON(w, http.StatusOK, map[string]any{
		"ok": true, "messages": page, "has_more": next != "",
		"response_metadata": map[string]any{"next_cursor": next},
	})
}

// list is conversations.list: the channels the configuration names with a "#".
func (s *Server) list(w http.ResponseWriter, r *http.Request) {
	if !s.authorized(w, r) {
		return
	}
	limit, ok1 := pageLimit(r.PostForm.Get("limit"), 100, 1000)
	offset, ok2 := cursorOffset(r.PostForm.Get("cursor"))
	if !ok1 || !ok2 {
		writeJSON(w, http.StatusOK, map[string]any{"ok": false, "error": "invalid_arguments"})
		return
	}
	type channel struct {
		ID        string `json:"id"`
		Name      string `json:"name"`
		IsChannel bool   `json:"is_channel"`
	}
	var chans []channel
	for name, id := range s.cfg.Channels {
		if n, ok := strings.CutPrefix(name, "#"); ok {
			chans = append(chans, channel{ID: id, Name: n, IsChannel: true})
		}
	}
	slices.SortFunc(chans, func(a, b channel) int { return strings.Compare(a.ID, b.ID) })
	s.mu.Lock()
	s.lookups++
	s.mu.Unlock()
	page, next := paginate(chans, offset, limit)
	writeJSON(w, http.StatusOK, map[string]any{
		"ok": true, "channels": page,
		"response_metadata": map[string]any{"next_cursor": next},
	})
}

// isChannelID reports whether id is the id of a known channel.
func (s *Server) isChannelID(id string) bool {
	for _, v := range s.cfg.Channels {
		if v == id {
			return true
		}
	}
	return id != "" && id == s.cfg.WebhookChannel
}

// ts is a message timestamp, "<seconds>.<microseconds>".
type ts struct{ sec, usec int64 }

func (t ts) before(u ts) bool { return t.sec < u.sec || t.sec == u.sec && t.usec < u.usec }

// parseTS reads a timestamp; "" is def.
func parseTS(s string, def ts) (ts, bool) {
	if s == "" {
		return def, true
	}
	secs, frac, _ := strings.Cut(s, ".")
	sec, err := strconv.ParseInt(secs, 10, 64)
	if err != nil || len(frac) > 6 {
		return ts{}, false
	}
	var usec int64
	if frac != "" {
		frac += strings.Repeat("0", 6-len(frac))
		if usec, err = strconv.ParseInt(frac, 10, 64); err != nil {
			return ts{}, false
		}
	}
	return ts{sec: sec, usec: usec}, true
}

func pageLimit(s string, def, most int) (int, bool) {
	if s == "" {
		return def, true
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0, false
	}
	if n == 0 {
		return def, true
	}
	return min(n, most), true
}

// cursorOffset reads a cursor of this server: "offset:<n>".
func cursorOffset(c string) (int, bool) {
	if c == "" {
		return 0, true
	}
	n, err := strconv.Atoi(strings.TrimPrefix(c, "offset:"))
	return n, err == nil && n >= 0 && strings.HasPrefix(c, "offset:")
}

// paginate is the page of items at offset, and the cursor of the next page, "" at the end.
func paginate[T any](items []T, offset, limit int) ([]T, string) {
	if offset >= len(items) {
		return []T{}, ""
	}
	end := min(offset+limit, len(items))
	next := ""
	if end < len(items) {
		next = "offset:" + strconv.Itoa(end)
	}
	return items[offset:end], next
}
