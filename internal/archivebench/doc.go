// Package archivebench holds the benchmark of the item archive end to end: items archived by
// the embedded NATS server, read back through an ordered consumer, decoded and matched by
// watcher.Backtest, as `newswatch backtest` does; and the benchmark of the web console's
// playground over the same archive. It has no code of its own; see archive_bench_test.go,
// playground_bench_test.go and BENCHMARKS.md.
package archivebench
