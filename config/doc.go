// Package config owns the newswatch configuration file: it reads the YAML of
// SPEC.md §2, decodes it strictly, applies the defaults and validates every
// value, and reports each problem as an *Error with the file, line, column and
// source line, so that `newswatch check` can point at it.
//
// Loading walks the YAML syntax tree itself instead of decoding into structs,
// because a decoder stops at the first problem while a user fixing a file wants
// all of them, each at its exact position. Errors found later by other packages
// (the rule compiler) are mapped back to the file with Config.QueryError and
// Config.ListTermError.
//
// Load and Parse are safe to call concurrently; a *Config is immutable after
// Parse returns and may be shared between goroutines. Nothing here is retried:
// the caller decides whether to keep a previous configuration.
package config
