package config

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
)

// lookupEnv reads the environment; tests set it with t.Setenv.
var lookupEnv = os.LookupEnv

// Load reads the file at path and parses it. An invalid file gives Errors.
// A file larger than 32 MiB is refused before it is read whole.
func Load(path string) (*Config, error) {
	return load(path, Parse)
}

// LoadPartial is Load for a checker that goes on after errors: with the Errors
// of an invalid file it returns what could be decoded, as ParsePartial does.
func LoadPartial(path string) (*Config, error) {
	return load(path, ParsePartial)
}

func load(path string, parse func(string, []byte) (*Config, error)) (*Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	if len(data) > maxFileSize {
		size := int64(-1)
		if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() {
			size = fi.Size()
		}
		return nil, Errors{tooLarge(path, size)}
	}
	return parse(path, data)
}

// Parse decodes, defaults and validates the configuration in data; file names
// it in errors. When data is invalid it returns a nil *Config and Errors,
// every problem found, in file order. Data over 32 MiB, or nested too deep for
// the YAML parser to handle in bounded time and memory (see limits.go), is
// refused with one error before it is parsed.
func Parse(file string, data []byte) (*Config, error) {
	cfg, err := ParsePartial(file, data)
	if err != nil {
		return nil, err
	}
	return cfg, nil
}

// ParsePartial is Parse that, when data is invalid, returns with the Errors
// the *Config decoded in spite of them, so that a checker can go on (compile
// the rules, look at the feeds): values in error keep their defaults, and a
// feed, list or rule is left out when its id or query is missing or invalid,
// or its id repeats another's. Its positions (QueryError, ListTermError) work.
// The *Config is nil when nothing could be decoded: a YAML syntax error, a
// file too large or nested too deep, too many aliases.
func ParsePartial(file string, data []byte) (*Config, error) {
	if len(data) > maxFileSize {
		return nil, Errors{tooLarge(file, int64(len(data)))}
	}
	// Editors count no column for a byte order mark, and the parser would
	// take it for part of the first key.
	data = bytes.TrimPrefix(data, []byte("\ufeff"))
	if err := checkNesting(file, data); err != nil {
		return nil, Errors{err}
	}
	if len(data) > splitAbove {
		if rest, batches, keyLine, ok := splitFeeds(data); ok {
			cfg, err := decode(file, data, rest, batches, keyLine)
			if !errors.Is(err, errSplitFailed) {
				return cfg, err
			}
		}
	}
	return decode(file, data, data, nil, 0)
}

// decode parses doc, which is data or, with feed batches, data without the items of the feeds
// key on line keyLine, and decodes it. It returns errSplitFailed when the batches cannot be
// decoded on their own.
func decode(file string, data, doc []byte, batches []feedBatch, keyLine int) (*Config, error) {
	d := &decoder{src: newSource(file, data), anchors: map[*ast.AliasNode]ast.Node{}, anchorSize: map[ast.Node]int{}, feedBatches: batches}
	f, err := parse(doc)
	if err == nil && f == nil {
		err = errors.New("yaml parser returned nothing")
	}
	if err != nil {
		if batches != nil {
			return nil, errSplitFailed
		}
		return nil, Errors{d.syntaxError(err)}
	}
	// One document. A second one is an error even when empty: the parser
	// can drop a document that follows an empty one.
	docs := slices.DeleteFunc(f.Docs, func(doc *ast.DocumentNode) bool { return doc == nil })
	var body ast.Node
	if len(docs) > 0 {
		d.aliasBudget = max(aliasFloor, d.collectAnchors(docs[0], map[string]ast.Node{}))
		body = docs[0].Body
	}
	if batches != nil && (len(docs) != 1 || len(ast.Filter(ast.AliasType, body)) > len(d.anchors) || !feedsKeyAt(body, keyLine)) {
		// An alias of an anchor among the feeds, say, or a "feeds:" line that is not the key
		// (inside a quoted scalar).
		return nil, errSplitFailed
	}
	if len(docs) > 1 {
		start := docs[1].Start
		if start == nil {
			start = tokenOf(docs[1].Body)
		}
		d.errorf(start, "expected one YAML document, found %d", len(docs))
	}
	cfg := d.config(body)
	if d.feedBatches != nil || d.splitFailed {
		// The batches were not decoded (the file's top level is not what it seems), or could
		// not be.
		return nil, errSplitFailed
	}
	if d.aliasErr != nil {
		// The aliases after it were left undecoded: what follows from that is not worth
		// reporting.
		return nil, Errors{d.aliasErr}
	}
	cfg.File = file
	cfg.src = d.src
	if len(d.errs) > 0 {
		return cfg, sortErrors(d.errs)
	}
	return cfg, nil
}

// parse runs the YAML parser. Duplicate keys are left to the decoder, which
// reports them all with its own words.
func parse(data []byte) (f *ast.File, err error) {
	defer func() {
		// The parser must not take the process down with it on hostile input.
		if r := recover(); r != nil {
			f, err = nil, fmt.Errorf("yaml parser failed: %v", r)
		}
	}()
	return parser.ParseBytes(data, 0, parser.AllowDuplicateMapKey())
}

// syntaxError turns a parser error into an *Error at its position, without
// the parser's multi-line rendering.
func (d *decoder) syntaxError(err error) *Error {
	var ye yaml.Error
	if errors.As(err, &ye) {
		line, col := d.pos(ye.GetToken())
		return d.src.errorAt(line, col, ye.GetMessage())
	}
	return d.src.errorAt(0, 0, err.Error())
}

// sortErrors puts errors in file order and drops repeats, which aliases and
// merge keys can cause.
func sortErrors(errs Errors) Errors {
	slices.SortStableFunc(errs, func(a, b *Error) int {
		return cmp.Or(cmp.Compare(a.Line, b.Line), cmp.Compare(a.Column, b.Column))
	})
	return slices.CompactFunc(errs, func(a, b *Error) bool {
		return a.Line == b.Line && a.Column == b.Column && a.Msg == b.Msg
	})
}

// defaultStoreDir is $STATE_DIRECTORY/nats (the first directory when systemd
// gives several), else DefaultStoreDir.
func defaultStoreDir() string {
	dirs, ok := lookupEnv("STATE_DIRECTORY")
	first, _, _ := strings.Cut(dirs, ":")
	if !ok || first == "" {
		return DefaultStoreDir
	}
	return filepath.Join(first, "nats")
}
