package watcher

import (
	"bytes"
	"mime"
	"regexp"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/htmlindex"
	"golang.org/x/text/encoding/unicode"
)

// prologEncoding finds the encoding declaration of an XML prolog at the start of a document.
var prologEncoding = regexp.MustCompile(`^\s*<\?xml[^>]*?\sencoding\s*=\s*["']([A-Za-z0-9._:-]+)["']`)

var (
	bomUTF8    = []byte{0xEF, 0xBB, 0xBF}
	bomUTF16LE = []byte{0xFF, 0xFE}
	bomUTF16BE = []byte{0xFE, 0xFF}
)

// toUTF8 returns body as UTF-8 that encoding/xml accepts: decoded from the charset its BOM, its
// XML prolog or contentType names (see declaredEncoding: servers that transcode seldom fix the
// prolog), without a BOM, with invalid sequences and characters XML forbids replaced by U+FFFD,
// and with the prolog's encoding declaration rewritten to UTF-8 so that the parser does not
// decode it again. An unknown charset is read as UTF-8. It is idempotent.
func toUTF8(body []byte, contentType string) []byte {
	var enc encoding.Encoding
	switch {
	case bytes.HasPrefix(body, bomUTF8):
		body = body[len(bomUTF8):]
	case bytes.HasPrefix(body, bomUTF16LE):
		enc = unicode.UTF16(unicode.LittleEndian, unicode.ExpectBOM)
	case bytes.HasPrefix(body, bomUTF16BE):
		enc = unicode.UTF16(unicode.BigEndian, unicode.ExpectBOM)
	default:
		enc = declaredEncoding(body, contentType)
	}
	if enc != nil {
		if out, err := enc.NewDecoder().Bytes(body); err == nil {
			body = out
		}
	}
	for bytes.HasPrefix(body, bomUTF8) { // a decoded BOM, or several
		body = body[len(bomUTF8):]
	}
	body = repairUTF8(body)
	if m := prologEncoding.FindSubmatchIndex(body); m != nil && !isUTF8Label(string(body[m[2]:m[3]])) {
		body = bytes.Join([][]byte{body[:m[2]], []byte("UTF-8"), body[m[3]:]}, nil)
	}
	return body
}

// declaredEncoding is the encoding a body without a BOM declares; nil means UTF-8. The prolog
// wins over contentType, except where the one says UTF-8 and the body is valid UTF-8, or the
// prolog says UTF-8 and the body is not.
func declaredEncoding(body []byte, contentType string) encoding.Encoding {
	var header, prolog string
	if _, params, err := mime.ParseMediaType(contentType); err == nil {
		header = params["charset"]
	}
	if m := prologEncoding.FindSubmatch(body); m != nil {
		prolog = string(m[1])
	}
	valid := utf8.Valid(body)
	var label string
	switch {
	case isUTF8Label(header) && valid:
		return nil
	case prolog != "" && (valid || !isUTF8Label(prolog)):
		label = prolog
	default:
		label = header
	}
	if label == "" || isUTF8Label(label) {
		return nil
	}
	enc, err := htmlindex.Get(label)
	if err != nil || enc == encoding.Nop {
		return nil
	}
	return enc
}

func isUTF8Label(label string) bool {
	l := strings.ToLower(strings.TrimSpace(label))
	return l == "utf-8" || l == "utf8"
}

// repairUTF8 replaces invalid UTF-8 and the characters XML 1.0 forbids (controls other than
// tab, newline and carriage return; U+FFFE, U+FFFF) with U+FFFD. It copies only when it must.
func repairUTF8(b []byte) []byte {
	clean := true
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if (r == utf8.RuneError && n == 1) || !xmlChar(r) {
			clean = false
			break
		}
		i += n
	}
	if clean {
		return b
	}
	out := make([]byte, 0, len(b)+16)
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if (r == utf8.RuneError && n == 1) || !xmlChar(r) {
			r = utf8.RuneError
		}
		out = utf8.AppendRune(out, r)
		i += n
	}
	return out
}

func xmlChar(r rune) bool {
	switch {
	case r == '\t' || r == '\n' || r == '\r':
		return true
	case r < 0x20, r == 0xFFFE, r == 0xFFFF:
		return false
	}
	return true
}
