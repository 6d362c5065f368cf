// Package fakeslack is a local HTTP server that behaves like the parts of Slack the bridge uses:
// chat.postMessage (also in threads, with thread_ts), chat.update, conversations.history,
// conversations.replies and conversations.list with a bot token, and incoming webhooks. It checks the token; refuses blocks that break Block Kit's limits as Slack does
// (invalid_blocks with the reasons, msg_blocks_too_long; see CheckBlocks) and cuts a text over
// 40,000 characters, with the warning message_truncated; knows a fixed set of channels
// (answering {"ok":false,"error":"channel_not_found"} for any other); answers 429 with
// Retry-After when a channel gets more than one message a second; can be told to fail with a
// status or to accept a message and lose the answer; and records every message it accepted,
// every refusal, and every request that came while a Retry-After it gave was still running.
// conversations.history takes channel ids only, honours oldest, latest, inclusive, limit and
// cursor, answers newest first without the replies in threads, and includes the messages'
// metadata only when asked to with include_all_metadata; conversations.replies answers a
// thread's parent and then its replies, oldest first, paged by limit and cursor. It is for tests, and safe for concurrent use.
package fakeslack

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Config configures a Server.
type Config struct {
	// Token is the bot token chat.postMessage must carry as "Authorization: Bearer".
	Token string
	// Channels maps every channel name or id a client may use ("#news", "C0NEWS") to the
	// channel's id. Any other channel is not found.
	Channels map[string]string
	// WebhookChannel is the channel id of the incoming webhook at WebhookURL; "" for none.
	WebhookChannel string
	// Interval is the least time between two messages to one channel; optional, 1s.
	Interval time.Duration
}

// Post is one message Slack accepted.
type Post struct {
	Channel   string          // the channel id
	AsGiven   string          // the channel as the client named it; for a webhook, its "channel" field
	TS        string          // the message's ts
	Text      string          // the fallback text
	Blocks    json.RawMessage // the blocks, as sent
	EventType string          // metadata event_type
	EventID   string          // metadata event_payload.event_id
	Payload   map[string]any  // metadata event_payload, whole
	ThreadTS  string          // the ts of the message it replies to in its thread; "" for none
	Webhook   bool            // posted through the webhook
	At        time.Time
	Updates   int // how many times chat.update changed it
}

// Server is the fake Slack.
type Server struct {
	cfg     Config
	srv     *httptest.Server
	webhook string // path of the webhook

	mu         sync.Mutex
	posts      []Post
	requests   int
	updates    int                  // chat.update requests that changed a message
	limited    int                  // 429s answered
	early      int                  // requests within a Retry-After
	lastPost   map[string]time.Time // channel id -> when its last message was accepted
	retryUntil map[string]time.Time // channel id -> end of the Retry-After last given
	failures   map[string][]int     // channel id -> statuses to answer next
	drops      map[string]int       // channel id -> accepted messages whose answer is lost
	lookups    int                  // conversations.history and conversations.list requests
	seq        int64                // the last ts given, in microseconds
	postedCh   chan struct{}        // signalled after every accepted post
	refusals   []Refusal            // messages refused for breaking Block Kit's limits
}

// New starts the server on a random loopback port; Close stops it.
func New(cfg Config) *Server {
	if cfg.Interval == 0 {
		cfg.Interval = time.Second
	}
	s := &Server{
		cfg:        cfg,
		webhook:    "/services/T000/B000/" + strconv.FormatInt(time.Now().UnixNano(), 36),
		lastPost:   map[string]time.Time{},
		retryUntil: map[string]time.Time{},
		failures:   map[string][]int{},
		drops:      map[string]int{},
		postedCh:   make(chan struct{}, 1),
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/chat.postMessage", s.postMessage)
	mux.HandleFunc("POST /api/chat.update", s.update)
	mux.HandleFunc("POST /api/conversations.history", s.history)
	mux.HandleFunc("POST /api/conversations.replies", s.replies)
	mux.HandleFunc("POST /api/conversations.list", s.list)
	mux.HandleFunc("POST "+s.webhook, s.postWebhook)
	s.srv = httptest.NewServer(mux)
	return s
}

// APIURL is the base URL of the Web API, for slack.OptionAPIURL and the bridge's --api-url.
func (s *Server) APIURL() string { return s.srv.URL + "/api/" }

// WebhookURL is the URL of the incoming webhook.
func (s *Server) WebhookURL() string { return s.srv.URL + s.webhook }

// Close stops the server.
func (s *Server) Close() { s.srv.Close() }

// Fail makes the next requests for channel (an id) answer the given HTTP statuses, in order.
func (s *Server) Fail(channelID string, statuses ...int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failures[channelID] = append(s.failures[channelID], statuses...)
}

// DropAnswers makes the next n messages accepted for channel (an id) lose their answer: the
// message is posted, and the connection is closed before the client hears so, as when the
// network fails or the client is killed at that moment.
func (s *Server) DropAnswers(channelID string, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.drops[channelID] += n
}

// Lookups is the number of conversations.history and conversations.list requests answered.
func (s *Server) Lookups() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lookups
}

// Refusals are the refusals of messages that broke Block Kit's limits, in order.
func (s *Server) Refusals() []Refusal {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Refusal(nil), s.refusals...)
}

func (s *Server) refuse(r *Refusal) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests++
	s.refusals = append(s.refusals, *r)
}

// isThread reports whether channel id has a message at ts that is not itself a reply.
func (s *Server) isThread(id, ts string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range s.posts {
		if p.Channel == id && p.TS == ts && p.ThreadTS == "" && !p.Webhook {
			return true
		}
	}
	return false
}

// Posts is a copy of the messages accepted so far.
func (s *Server) Posts() []Post {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Post(nil), s.posts...)
}

// Stats are the counts of requests to post (chat.postMessage and the webhook), 429 answers, and requests that came while a Retry-After
// given for their channel was still running.
func (s *Server) Stats() (requests, rateLimited, early int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests, s.limited, s.early
}

// WaitPosts waits until at least n messages were accepted, at most timeout, and returns them.
func (s *Server) WaitPosts(n int, timeout time.Duration) ([]Post, error) {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		if p := s.Posts(); len(p) >= n {
			return p, nil
		}
		select {
		case <-s.postedCh:
		case <-deadline.C:
			return s.Posts(), fmt.Errorf("fakeslack: %d messages posted within %s, want %d", len(s.Posts()), timeout, n)
		}
	}
}

// admit applies the failures and the rate limit to a request for a known channel. It returns
// the status to answer (0: accept) and, for 429, the Retry-After in seconds.
func (s *Server) admit(ch string, now time.Time) (status, retryAfter int) {
	s.requests++
	if until, ok := s.retryUntil[ch]; ok && now.Before(until) {
		s.early++
	}
	if f := s.failures[ch]; len(f) > 0 {
		s.failures[ch] = f[1:]
		return f[0], 0
	}
	if last, ok := s.lastPost[ch]; ok && now.Sub(last) < s.cfg.Interval {
		wait := last.Add(s.cfg.Interval).Sub(now)
		secs := max(1, int(math.Ceil(wait.Seconds())))
		s.retryUntil[ch] = now.Add(time.Duration(secs) * time.Second)
		s.limited++
		return http.StatusTooManyRequests, secs
	}
	s.lastPost[ch] = now
	return 0, 0
}

// accept records p, which admit let through.
func (s *Server) accept(p Post) Post {
	// The ts is the time in microseconds, made unique and increasing as Slack's are.
	s.seq = max(s.seq+1, p.At.UnixMicro())
	p.TS = fmt.Sprintf("%d.%06d", s.seq/1e6, s.seq%1e6)
	s.posts = append(s.posts, p)
	select {
	case s.postedCh <- struct{}{}:
	default:
	}
	return p
}

// authorized parses the form and checks the bearer token, answering the error itself when it
// fails.
func (s *Server) authorized(w http.ResponseWriter, r *http.Request) bool {
	auth := r.Header.Get("Authorization")
	if err := r.ParseForm(); err != nil {
		writeJSON(w, http.StatusOK, map[string]any{"ok": false, "error": "invalid_form_data"})
		return false
	}
	switch {
	case auth == "":
		writeJSON(w, http.StatusOK, map[string]any{"ok": false, "error": "not_authed"})
		return false
	case auth != "Bearer "+s.cfg.Token:
		writeJSON(w, http.StatusOK, map[string]any{"ok": false, "error": "invalid_auth"})
		return false
	}
	return true
}

func (s *Server) postMessage(w http.ResponseWriter, r *http.Request) {
	if !s.authorized(w, r) {
		return
	}
	given := r.PostForm.Get("channel")
	id, ok := s.cfg.Channels[given]
	if !ok {
		writeJSON(w, http.StatusOK, map[string]any{"ok": false, "error": "channel_not_found"})
		return
	}
	if r.PostForm.Get("text") == "" && r.PostForm.Get("blocks") == "" {
		writeJSON(w, http.StatusOK, map[string]any{"ok": false, "error": "no_text"})
		return
	}
	text, truncated := cutText(r.PostForm.Get("text"))
	p := Post{Channel: id, AsGiven: given, Text: text, ThreadTS: r.PostForm.Get("thread_ts"), At: time.Now()}
	if p.ThreadTS != "" && !s.isThread(id, p.ThreadTS) {
		writeJSON(w, http.StatusOK, map[string]any{"ok": false, "error": "thread_not_found"})
		return
	}
	if b := r.PostForm.Get("blocks"); b != "" {
		if refusal := CheckBlocks([]byte(b)); refusal != nil {
			s.refuse(refusal)
			writeJSON(w, http.StatusOK, refusalAnswer(refusal))
			return
		}
		p.Blocks = json.RawMessage(b)
	}
	if !readMetadata(w, r, &p) {
		return
	}

	s.mu.Lock()
	status, retry := s.admit(id, p.At)
	drop := false
	if status == 0 {
		p = s.accept(p)
		if s.drops[id] > 0 {
			s.drops[id]--
			drop = true
		}
	}
	s.mu.Unlock()
	switch {
	case drop:
		loseAnswer(w)
	case status == http.StatusTooManyRequests:
		w.Header().Set("Retry-After", strconv.Itoa(retry))
		writeJSON(w, status, map[string]any{"ok": false, "error": "ratelimited"})
	case status != 0:
		http.Error(w, http.StatusText(status), status)
	case truncated:
		writeJSON(w, http.StatusOK, map[string]any{"ok": true, "channel": id, "ts": p.TS, "warning": "message_truncated",
			"response_metadata": map[string]any{"warnings": []string{"message_truncated"}}})
	default:
		writeJSON(w, http.StatusOK, map[string]any{"ok": true, "channel": id, "ts": p.TS})
	}
}

func (s *Server) postWebhook(w http.ResponseWriter, r *http.Request) {
	if s.cfg.WebhookChannel == "" {
		http.Error(w, "no_service", http.StatusNotFound)
		return
	}
	var msg struct {
		Channel string          `json:"channel"`
		Text    string          `json:"text"`
		Blocks  json.RawMessage `json:"blocks"`
	}
	if err := json.NewDecoder(r.Body).Decode(&msg); err != nil || (msg.Text == "" && len(msg.Blocks) == 0) {
		http.Error(w, "invalid_payload", http.StatusBadRequest)
		return
	}
	if len(msg.Blocks) > 0 && string(msg.Blocks) != "null" {
		if refusal := CheckBlocks(msg.Blocks); refusal != nil {
			// A webhook answers 400 with the error alone, as text.
			s.refuse(refusal)
			http.Error(w, refusal.Err, http.StatusBadRequest)
			return
		}
	}
	msg.Text, _ = cutText(msg.Text)
	// A webhook posts to its own channel; the channel the client named is kept in AsGiven.
	p := Post{Channel: s.cfg.WebhookChannel, AsGiven: msg.Channel, Text: msg.Text, Blocks: msg.Blocks, Webhook: true, At: time.Now()}
	s.mu.Lock()
	status, retry := s.admit(s.cfg.WebhookChannel, p.At)
	drop := false
	if status == 0 {
		s.accept(p)
		if s.drops[s.cfg.WebhookChannel] > 0 {
			s.drops[s.cfg.WebhookChannel]--
			drop = true
		}
	}
	s.mu.Unlock()
	switch {
	case drop:
		loseAnswer(w)
	case status == http.StatusTooManyRequests:
		w.Header().Set("Retry-After", strconv.Itoa(retry))
		http.Error(w, "rate_limited", status)
	case status != 0:
		http.Error(w, strings.ToLower(strings.ReplaceAll(http.StatusText(status), " ", "_")), status)
	default:
		w.Header().Set("Content-Type", "text/plain")
		_, _ = w.Write([]byte("ok"))
	}
}

// refusalAnswer is the Web API's answer to blocks over the limits.
func refusalAnswer(refusal *Refusal) map[string]any {
	answer := map[string]any{"ok": false, "error": refusal.Err}
	if len(refusal.Errors) > 0 {
		msgs := make([]string, len(refusal.Errors))
		for i, e := range refusal.Errors {
			msgs[i] = "[ERROR] " + e
		}
		answer["errors"] = refusal.Errors
		answer["response_metadata"] = map[string]any{"messages": msgs}
	}
	return answer
}

// readMetadata reads the form's metadata into p, answering the error itself when it is invalid.
func readMetadata(w http.ResponseWriter, r *http.Request, p *Post) bool {
	m := r.PostForm.Get("metadata")
	if m == "" {
		return true
	}
	var md struct {
		EventType    string         `json:"event_type"`
		EventPayload map[string]any `json:"event_payload"`
	}
	if err := json.Unmarshal([]byte(m), &md); err != nil || md.EventType == "" {
		writeJSON(w, http.StatusOK, map[string]any{"ok": false, "error": "invalid_metadata_format"})
		return false
	}
	p.EventType, p.Payload = md.EventType, md.EventPayload
	p.EventID, _ = md.EventPayload["event_id"].(string)
	return true
}

// loseAnswer closes the connection without an answer.
func loseAnswer(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			_ = conn.Close()
			return
		}
	}
	panic(http.ErrAbortHandler) // net/http closes the connection
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
