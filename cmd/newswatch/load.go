package main

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"net/url"
	"slices"
	"strings"

	"github.com/newswatch/newswatch/config"
	"github.com/newswatch/newswatch/delivery"
	"github.com/newswatch/newswatch/matcher"
	"github.com/newswatch/newswatch/watcher"
)

// loaded is a configuration that validated whole, with its rules compiled.
type loaded struct {
	cfg   *config.Config
	rules []matcher.Rule
	index *matcher.Index
}

// rulesOnly is l without its feeds and file: what the daemon keeps of a configuration for the
// API's backtests and the console's playground, which read its rules, lists and stories' window.
// A configuration of 100,000 feeds would otherwise stay in memory (70 MB) as long as it runs.
func (l *loaded) rulesOnly() *loaded {
	return &loaded{rules: l.rules, index: l.index, cfg: &config.Config{Lists: l.cfg.Lists, Stories: l.cfg.Stories}}
}

// load reads, validates and compiles the configuration. Its error is a config.Errors whose every
// entry names a line and column of the file, or an error reading the file.
func load(path string) (*loaded, error) {
	cfg, err := config.Load(path)
	if err != nil {
		return nil, err
	}
	rules := make([]matcher.Rule, len(cfg.Rules))
	for i, r := range cfg.Rules {
		rules[i] = matcher.Rule{ID: r.ID, Query: r.Query, Feeds: r.Feeds}
	}
	ix, err := matcher.Compile(rules, cfg.Lists)
	if err != nil {
		return nil, queryErrors(cfg, err)
	}
	if errs := append(attributeErrors(cfg), deliveryErrors(cfg)...); len(errs) > 0 {
		slices.SortStableFunc(errs, byPosition)
		return nil, errs
	}
	return &loaded{cfg: cfg, rules: rules, index: ix}, nil
}

// diagnose is load for check: it goes on after errors to report, in one pass and in file order,
// every error of the file (keys, values, schedules, ids, and the rules and lists that decoded in
// spite of them) and its warnings. err is an error reading the file or decoding none of it.
func diagnose(path string) (cfg *config.Config, errs, warnings config.Errors, err error) {
	cfg, err = config.LoadPartial(path)
	if cfg == nil {
		return nil, nil, nil, err
	}
	if err != nil {
		errs, _ = errors.AsType[config.Errors](err)
	}
	rules := make([]matcher.Rule, len(cfg.Rules))
	for i, r := range cfg.Rules {
		rules[i] = matcher.Rule{ID: r.ID, Query: r.Query, Feeds: r.Feeds}
	}
	if _, err := matcher.Compile(rules, cfg.Lists); err != nil {
		qerrs, ok := errors.AsType[config.Errors](queryErrors(cfg, err))
		if !ok {
			return nil, nil, nil, err
		}
		errs = append(errs, qerrs...)
	}
	errs = append(errs, attributeErrors(cfg)...)
	errs = append(errs, deliveryErrors(cfg)...)
	slices.SortStableFunc(errs, byPosition)
	return cfg, errs, configWarnings(cfg), nil
}

func byPosition(a, b *config.Error) int {
	return cmp.Or(cmp.Compare(a.Line, b.Line), cmp.Compare(a.Column, b.Column))
}

// configWarnings returns what is valid but likely not meant: no feed at all, and a feed whose
// host is written as a loopback or private address (or localhost), which the fetcher refuses
// unless the feed allows it. A host name that resolves to such an address is found only when
// it is polled.
func configWarnings(cfg *config.Config) config.Errors {
	var ws config.Errors
	if len(cfg.Feeds) == 0 {
		ws = append(ws, cfg.ErrorAt(config.Position{}, "no feeds: add feeds: [{id: …, url: …}]"))
	}
	for _, f := range cfg.Feeds {
		if f.AllowPrivate {
			continue
		}
		u, _ := watcher.SourceURL(f.URL, feedSource(f)) // derived from its options when not given
		if kind := privateHost(u); kind != "" {
			ws = append(ws, cfg.ErrorAt(f.Pos, fmt.Sprintf(
				"feed %s: %s is a %s address, which run refuses; add allow_private: true to the feed",
				f.ID, redactURL(u), kind)))
		}
	}
	return ws
}

// privateHost returns "loopback" or "private" when the host of rawURL is localhost or a literal
// address that watcher.PublicOnly refuses, else "".
func privateHost(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return ""
	}
	host := strings.TrimSuffix(strings.ToLower(u.Hostname()), ".")
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return "loopback"
	}
	a, err := netip.ParseAddr(host)
	if err != nil || watcher.PublicOnly(a) == nil {
		return ""
	}
	if a.Unmap().IsLoopback() {
		return "loopback"
	}
	return "private"
}

// redactURL hides the password of a URL written with one.
func redactURL(rawURL string) string {
	if u, err := url.Parse(rawURL); err == nil {
		return u.Redacted()
	}
	return rawURL
}

// attributeErrors refuses feed: and tag: tests that no feed of the configuration can pass: a typo
// there would make a rule that silently never matches.
func attributeErrors(cfg *config.Config) config.Errors {
	feeds, tags := map[string]bool{}, map[string]bool{}
	for _, f := range cfg.Feeds {
		feeds[f.ID] = true
		for _, t := range f.Tags {
			tags[t] = true
		}
	}
	var errs config.Errors
	for i, r := range cfg.Rules {
		for _, a := range matcher.Attributes(r.Query) {
			known := feeds
			if a.Name == "tag" {
				known = tags
			}
			if !known[a.Value] {
				msg := fmt.Sprintf("rule %q: no feed has %s %q", r.ID, map[string]string{"feed": "the id", "tag": "the tag"}[a.Name], a.Value)
				errs = append(errs, cfg.QueryError(i, a.Offset+1, msg))
			}
		}
	}
	return errs
}

// deliveryErrors validates the delivery of defaults and of each rule, and places an invalid
// option at the position of its field: in the rule, else in defaults. An invalid default is
// reported once, not again for each rule that inherits it.
func deliveryErrors(cfg *config.Config) config.Errors {
	var errs config.Errors
	seen := map[config.Position]bool{}
	report := func(who string, o delivery.Options, where func(string) config.Position) {
		oe, ok := errors.AsType[*delivery.OptionError](o.Validate())
		if !ok {
			return
		}
		field := oe.Field
		if !strings.HasPrefix(field, "spike.") {
			field = "deliver." + field
		}
		pos := where(strings.TrimPrefix(field, "deliver."))
		if seen[pos] && pos != (config.Position{}) {
			return
		}
		seen[pos] = true
		errs = append(errs, cfg.ErrorAt(pos, fmt.Sprintf("%s: %s", who, strings.Replace(oe.Error(), oe.Field, field, 1))))
	}
	d := cfg.Defaults
	report("defaults", deliveryOptions(config.Rule{Deliver: d.Deliver, Spike: d.Spike}), d.DeliveryPosition)
	for _, r := range cfg.Rules {
		report(fmt.Sprintf("rule %q", r.ID), deliveryOptions(r), r.DeliveryPosition)
	}
	return errs
}

// queryErrors places the rule compiler's errors at their positions in the configuration file.
func queryErrors(cfg *config.Config, err error) error {
	var errs config.Errors
	for _, e := range flatten(err) {
		qe, ok := errors.AsType[*matcher.QueryError](e)
		if !ok {
			return err
		}
		if qe.List != "" {
			msg := fmt.Sprintf("list %q: %s", qe.List, qe.Msg)
			errs = append(errs, cfg.ListTermError(qe.List, qe.Term, qe.Offset+1, msg))
			continue
		}
		msg := fmt.Sprintf("rule %q: %s", qe.RuleID, qe.Msg)
		errs = append(errs, cfg.QueryError(qe.Rule, qe.Offset+1, msg))
	}
	return errs
}

// flatten returns the errors joined in err, or err alone.
func flatten(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// printLoadError writes a load error as `newswatch check` shows it: each position, its message,
// the source line and a caret.
func printLoadError(w io.Writer, err error) {
	errs, ok := errors.AsType[config.Errors](err)
	if !ok {
		fmt.Fprintf(w, "newswatch: %v\n", err)
		return
	}
	printDiagnostics(w, errs, nil)
}

// printDiagnostics writes errors and warnings in file order, a warning as
// `FILE:LINE:COL: warning: message`, each with its source line and caret.
func printDiagnostics(w io.Writer, errs, warnings config.Errors) {
	type diag struct {
		e    *config.Error
		warn bool
	}
	all := make([]diag, 0, len(errs)+len(warnings))
	for _, e := range errs {
		all = append(all, diag{e, false})
	}
	for _, e := range warnings {
		all = append(all, diag{e, true})
	}
	slices.SortStableFunc(all, func(a, b diag) int { return byPosition(a.e, b.e) })
	for _, d := range all {
		if d.warn {
			warned := *d.e
			warned.Msg = "warning: " + d.e.Msg
			fmt.Fprintln(w, warned.Error())
		} else {
			fmt.Fprintln(w, d.e.Error())
		}
		if ex := d.e.Excerpt(); ex != "" {
			fmt.Fprintln(w, ex)
		}
	}
}
