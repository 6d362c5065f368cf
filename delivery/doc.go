// Package delivery decides how the alerts of one rule reach their readers: at once (immediate),
// gathered into one digest a period (digest), or at once up to a budget an hour and the rest in
// the hour's digest (budget). It also tells when a rule's topic surges: a spike is many new
// stories from several publishers in a recent window against the rule's own baseline of the
// same hours on the previous days.
//
// It is pure policy: counts in, decisions out. No I/O, no logger, no clock (every time is passed
// in), no goroutines, no retries. A *Policy is built once per rule by New, is immutable and safe
// for concurrent use; the mutable part is a *State, one per rule, that the caller loads, passes
// to Policy.Decide and Policy.Due, and persists (it marshals to compact JSON), for example in a
// JetStream KV bucket written with compare-and-swap so that every replica agrees. A State is not
// safe for concurrent use: each replica works on its own copy and the compare-and-swap picks one.
//
// Every decision is a function of the state and the event alone, so a caller that replays events
// after a crash gets the same decisions with the same ids: an event already decided is reported
// as a Duplicate, and digests, notices and spikes carry deterministic ids (rule and period, rule
// and window, rule and time) for the de-duplication of the bus. The order the caller keeps:
// publish what Decide returns, then commit the state; commit the state that Due froze, then
// publish its digests, then mark them Done and commit again (see Policy.Due).
package delivery
