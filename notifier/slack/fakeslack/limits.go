package fakeslack

import (
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf16"
)

// Block Kit's documented limits for messages, and Slack's bound on the texts of all blocks.
const (
	MaxBlocks          = 50     // blocks in a message
	MaxHeader          = 150    // a header's plain_text
	MaxText            = 3000   // a section's text, a context element's, any text object
	MaxField           = 2000   // one of a section's fields
	MaxFields          = 10     // a section's fields
	MaxContextElements = 10     // a context block's elements
	MaxMessageText     = 40_000 // the top-level text; Slack cuts it, with a warning
	// MaxBlocksText bounds the texts of all blocks together: Slack answers msg_blocks_too_long
	// beyond about 12,000 characters, a bound it does not document exactly.
	MaxBlocksText = 12_000
)

// Len is the length of s as the server measures it against the limits: in UTF-16 code units,
// as JavaScript counts, which is never less than the count of code points.
func Len(s string) int {
	n := 0
	for _, r := range s {
		n += utf16.RuneLen(r)
	}
	return n
}

// Refusal is Slack's answer to blocks that break a limit: "error" is invalid_blocks (with the
// reasons and where, as chat.postMessage words them), invalid_blocks_format (not an array of
// objects) or msg_blocks_too_long.
type Refusal struct {
	Err    string
	Errors []string
}

func (r *Refusal) Error() string {
	if len(r.Errors) == 0 {
		return r.Err
	}
	return r.Err + ": " + strings.Join(r.Errors, "; ")
}

// CheckBlocks checks blocks, a JSON array, against the limits as Slack does for a message, and
// says why it refuses them, or returns nil.
func CheckBlocks(blocks []byte) *Refusal {
	var list []map[string]json.RawMessage
	if err := json.Unmarshal(blocks, &list); err != nil {
		return &Refusal{Err: "invalid_blocks_format"}
	}
	var c checker
	if len(list) > MaxBlocks {
		c.fail("/blocks", "no more than %d items allowed", MaxBlocks)
	}
	for i, b := range list {
		c.block(fmt.Sprintf("/blocks/%d", i), b)
	}
	if len(c.errs) > 0 {
		return &Refusal{Err: "invalid_blocks", Errors: c.errs}
	}
	if c.total > MaxBlocksText {
		return &Refusal{Err: "msg_blocks_too_long"}
	}
	return nil
}

type checker struct {
	errs  []string
	total int // length of every text met
}

func (c *checker) fail(pointer, format string, args ...any) {
	c.errs = append(c.errs, fmt.Sprintf(format, args...)+" [json-pointer:"+pointer+"]")
}

type textObject struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

// text checks a text object of at most most characters; kind is "" for either type.
func (c *checker) text(pointer string, raw json.RawMessage, kind string, most int) {
	var t textObject
	if err := json.Unmarshal(raw, &t); err != nil || (t.Type != "plain_text" && t.Type != "mrkdwn") {
		c.fail(pointer, "must be a text object")
		return
	}
	if kind != "" && t.Type != kind {
		c.fail(pointer+"/type", "must be %s", kind)
	}
	n := Len(t.Text)
	c.total += n
	switch {
	case n == 0:
		c.fail(pointer+"/text", "must be more than 0 characters")
	case n > most:
		c.fail(pointer+"/text", "must be less than %d characters", most+1)
	}
}

func (c *checker) block(pointer string, b map[string]json.RawMessage) {
	var typ string
	_ = json.Unmarshal(b["type"], &typ)
	switch typ {
	case "header":
		c.text(pointer+"/text", b["text"], "plain_text", MaxHeader)
	case "section":
		var fields []json.RawMessage
		_ = json.Unmarshal(b["fields"], &fields)
		if b["text"] == nil && len(fields) == 0 {
			c.fail(pointer, "must provide text or fields")
		}
		if b["text"] != nil {
			c.text(pointer+"/text", b["text"], "", MaxText)
		}
		if len(fields) > MaxFields {
			c.fail(pointer+"/fields", "no more than %d items allowed", MaxFields)
		}
		for i, f := range fields {
			c.text(fmt.Sprintf("%s/fields/%d", pointer, i), f, "", MaxField)
		}
	case "context":
		var elems []json.RawMessage
		_ = json.Unmarshal(b["elements"], &elems)
		switch {
		case len(elems) == 0:
			c.fail(pointer+"/elements", "must provide at least 1 item")
		case len(elems) > MaxContextElements:
			c.fail(pointer+"/elements", "no more than %d items allowed", MaxContextElements)
		}
		for i, e := range elems {
			var t textObject
			if json.Unmarshal(e, &t) == nil && t.Type == "image" {
				continue
			}
			c.text(fmt.Sprintf("%s/elements/%d", pointer, i), e, "", MaxText)
		}
	case "rich_text", "divider":
		// Rich text's elements have no documented limit of their own: their texts count
		// towards the message's total.
		var v any
		_ = json.Unmarshal(b["elements"], &v)
		c.total += richTextLen(v)
	default:
		c.fail(pointer+"/type", "unsupported type: %s", typ)
	}
}

// richTextLen is the length of every "text" in a rich text's elements.
func richTextLen(v any) int {
	n := 0
	switch v := v.(type) {
	case []any:
		for _, e := range v {
			n += richTextLen(e)
		}
	case map[string]any:
		for k, e := range v {
			if s, ok := e.(string); ok && k == "text" {
				n += Len(s)
			} else {
				n += richTextLen(e)
			}
		}
	}
	return n
}

// cutText is the top-level text as Slack keeps it: cut to MaxMessageText characters, and
// whether it was cut.
func cutText(s string) (string, bool) {
	if Len(s) <= MaxMessageText {
		return s, false
	}
	n := 0
	for i, r := range s {
		if n+utf16.RuneLen(r) > MaxMessageText {
			return s[:i], true
		}
		n += utf16.RuneLen(r)
	}
	return s, false
}
