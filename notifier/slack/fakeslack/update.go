package fakeslack

import (
	"encoding/json"
	"net/http"
)

// update is chat.update: it replaces the text, the blocks and, when given, the metadata of a
// message of the bot, known by its channel id and ts. The blocks are checked against Block
// Kit's limits as chat.postMessage's are. Slack has no per-channel pace for updates (it is a
// tier 3 method), so none is applied; Fail applies.
func (s *Server) update(w http.ResponseWriter, r *http.Request) {
	if !s.authorized(w, r) {
		return
	}
	id, ts := r.PostForm.Get("channel"), r.PostForm.Get("ts")
	if !s.isChannelID(id) {
		writeJSON(w, http.StatusOK, map[string]any{"ok": false, "error": "channel_not_found"})
		return
	}
	if ts == "" {
		writeJSON(w, http.StatusOK, map[string]any{"ok": false, "error": "invalid_arguments"})
		return
	}
	if r.PostForm.Get("text") == "" && r.PostForm.Get("blocks") == "" {
		writeJSON(w, http.StatusOK, map[string]any{"ok": false, "error": "no_text"})
		return
	}
	text, truncated := cutText(r.PostForm.Get("text"))
	var upd Post
	b := r.PostForm.Get("blocks")
	if b != "" {
		if refusal := CheckBlocks([]byte(b)); refusal != nil {
			s.refuse(refusal)
			writeJSON(w, http.StatusOK, refusalAnswer(refusal))
			return
		}
	}
	if !readMetadata(w, r, &upd) {
		return
	}

	s.mu.Lock()
	var status int
	if f := s.failures[id]; len(f) > 0 {
		s.failures[id], status = f[1:], f[0]
	}
	found := false
	if status == 0 {
		for i := range s.posts {
			p := &s.posts[i]
			if p.Channel != id || p.TS != ts || p.Webhook {
				continue
			}
			found = true
			p.Text, p.Updates = text, p.Updates+1
			if b != "" {
				p.Blocks = json.RawMessage(b)
			}
			if upd.EventType != "" {
				p.EventType, p.EventID, p.Payload = upd.EventType, upd.EventID, upd.Payload
			}
			s.updates++
			break
		}
	}
	s.mu.Unlock()
	switch {
	case status != 0:
		http.Error(w, http.StatusText(status), status)
	case !found:
		writeJSON(w, http.StatusOK, map[string]any{"ok": false, "error": "message_not_found"})
	case truncated:
		writeJSON(w, http.StatusOK, map[string]any{"ok": true, "channel": id, "ts": ts, "text": text, "warning": "message_truncated"})
	default:
		writeJSON(w, http.StatusOK, map[string]any{"ok": true, "channel": id, "ts": ts, "text": text})
	}
}

// Updates is the number of chat.update requests that changed a message.
func (s *Server) Updates() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.updates
}
