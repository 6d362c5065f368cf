package archivebench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/newswatch/newswatch/event"
	"github.com/newswatch/newswatch/matcher"
	"github.com/newswatch/newswatch/notifier"
	"github.com/newswatch/newswatch/notifier/notifiertest"
	"github.com/newswatch/newswatch/watcher"
)

var (
	items   = flag.Int("archive.items", 20000, "how many items BenchmarkArchive archives (BENCHMARKS.md: 1000000)")
	cli     = flag.String("archive.cli", "", "a newswatch binary: BenchmarkArchive also times `newswatch backtest --query` with it")
	idsHeld = flag.Bool("archive.ids-held", false, "read while the server still holds the archived items' message ids in its duplicate window, as right after archiving them all within it (BENCHMARKS.md)")
)

// kurskRule is the one rule of the one-rule backtest: the example configuration's, in the
// corpus's scripts.
const kurskRule = "kursk* OR курск* OR Κουρσκ OR 쿠르스크 OR 库尔斯克 OR クルスク"

// BenchmarkArchive archives -archive.items items in an embedded server's archive (S2, as the
// daemon makes it), then reads them all, one op being one read of the whole archive:
//   - read-floor: an ordered consumer that takes every message with Consume and does nothing
//     (the floor), and read-floor-iterator the same through the Messages iterator;
//   - read-decoded: ReadArchive with work that does nothing (reading and decoding);
//   - backtest/rules=1 and rules=10000: watcher.Backtest, as `newswatch backtest` runs it.
//
// Each reports items/s; the backtests also their time per item over the floor's
// (x-floor) and over read-decoded's (x-decoded), measured in the same run.
func BenchmarkArchive(b *testing.B) {
	n := *items
	cfg, nf := openArchive(b)
	ctx := context.Background()
	var jsonBytes int64
	c, took := fillArchive(b, nf, n, func(it event.Archived) {
		ev, err := notifier.NewItemEvent(it)
		if err != nil {
			b.Fatal(err)
		}
		body, err := json.Marshal(ev)
		if err != nil {
			b.Fatal(err)
		}
		jsonBytes += int64(len(body))
	})

	nc := notifiertest.Connect(b, nf, notifier.RoleSubscriber)
	js, err := jetstream.New(nc)
	if err != nil {
		b.Fatal(err)
	}
	st, err := js.Stream(ctx, notifier.DefaultArchiveStream)
	if err != nil {
		b.Fatal(err)
	}
	state := st.CachedInfo().State
	if state.Msgs != uint64(n) {
		b.Fatalf("the archive holds %d items, want %d", state.Msgs, n)
	}
	disk := diskUsage(b, cfg.Embedded.StoreDir, notifier.DefaultArchiveStream)
	b.Logf("archived %d items in %s (%.0f items/s, generation included); item JSON %.0f bytes on average; stream state %.0f bytes/item; on disk %.0f bytes/item (%.2f of the JSON)",
		n, took.Round(time.Millisecond), float64(n)/took.Seconds(), float64(jsonBytes)/float64(n),
		float64(state.Bytes)/float64(n), float64(disk)/float64(n), float64(disk)/float64(jsonBytes))

	settle(b, js, n)
	r := notifier.ArchiveReader{JS: js, Prefix: cfg.SubjectPrefix, Stream: notifier.DefaultArchiveStream}
	perItem := func(b *testing.B, reads int) float64 { return nsPerItem(b, reads, n) }
	// Two floors: Consume with a callback that does nothing, as ReadArchive reads but without
	// its blocking callback, and the Messages iterator. The backtests are measured against the
	// faster of the two in this run: the first has been the faster in some runs and two to four
	// times the slower in others (BENCHMARKS.md).
	var floor, floorCPU, decoded float64 // ns per item; CPU µs per item
	b.Run("read-floor", func(b *testing.B) {
		floor, floorCPU = benchReads(b, n, func(b *testing.B) int { return readConsume(b, js, n) })
	})
	b.Run("read-floor-iterator", func(b *testing.B) {
		ns, cpu := benchReads(b, n, func(b *testing.B) int { return readRaw(b, js, n) })
		if floor == 0 || ns < floor {
			floor, floorCPU = ns, cpu
		}
	})
	b.Run("read-decoded", func(b *testing.B) {
		reads := 0
		report := cpuPerItem(b, n)
		for b.Loop() {
			got := 0
			err := r.ReadArchive(ctx, event.ArchiveQuery{}, func(items []event.Archived) func() error {
				k := len(items)
				return func() error { got += k; return nil }
			})
			if err != nil || got != n {
				b.Fatalf("read %d items, %v; want %d", got, err, n)
			}
			reads++
		}
		report(reads)
		decoded = perItem(b, reads)
		b.ReportMetric(1e9/decoded, "items/s")
	})
	for _, rules := range []int{1, 10000} {
		b.Run(fmt.Sprintf("backtest/rules=%d", rules), func(b *testing.B) {
			rs := []matcher.Rule{{ID: "kursk", Query: kurskRule}}
			if rules > 1 {
				rs = c.rules(rules)
			}
			ix, err := matcher.Compile(rs, nil)
			if err != nil {
				b.Fatal(err)
			}
			reads, matches := 0, 0
			report := cpuPerItem(b, n)
			for b.Loop() {
				st, err := watcher.Backtest(ctx, r, watcher.BacktestQuery{Index: ix}, func(watcher.BacktestFound) error { return nil })
				if err != nil || st.Items != n {
					b.Fatalf("backtest read %d items, %v; want %d", st.Items, err, n)
				}
				matches += st.Matches
				reads++
			}
			us := report(reads)
			t := perItem(b, reads)
			b.ReportMetric(1e9/t, "items/s")
			b.ReportMetric(float64(matches)/float64(reads*n), "matches/item")
			if floor > 0 {
				b.ReportMetric(t/floor, "x-floor")
				b.ReportMetric(us/floorCPU, "x-floor-cpu")
			}
			if decoded > 0 {
				b.ReportMetric(t/decoded, "x-decoded")
			}
		})
	}
	if *cli != "" {
		// The command end to end: a process that connects, reads, decodes, matches, counts and
		// prints, its start and its exit included.
		b.Run("cli/rules=1", func(b *testing.B) {
			reads := 0
			for b.Loop() {
				if scanned, _ := runCLI(b, *cli, nf.ClientURL(), nf.CredsFile(notifier.RoleSubscriber)); scanned != n {
					b.Fatalf("newswatch backtest scanned %d items, want %d", scanned, n)
				}
				reads++
			}
			t := perItem(b, reads)
			b.ReportMetric(1e9/t, "items/s")
			if floor > 0 {
				b.ReportMetric(t/floor, "x-floor")
			}
		})
	}
}

// runCLI runs `newswatch backtest` of the one rule over the whole archive and returns what its
// JSON summary says it read and found.
func runCLI(b *testing.B, bin, url, creds string) (scanned, matches int) {
	var out, errOut bytes.Buffer
	cmd := exec.Command(bin, "backtest", "--query", kurskRule, "-s", url, "--creds", creds, "--json")
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		b.Fatalf("newswatch backtest: %v\n%s", err, errOut.Bytes())
	}
	b.Logf("newswatch backtest: %s user and %s system CPU", cmd.ProcessState.UserTime().Round(time.Millisecond), cmd.ProcessState.SystemTime().Round(time.Millisecond))
	var sum struct {
		ItemsScanned int `json:"items_scanned"`
		Matches      int `json:"matches"`
	}
	if err := json.Unmarshal(errOut.Bytes(), &sum); err != nil {
		b.Fatalf("newswatch backtest summary: %v\n%s", err, errOut.Bytes())
	}
	return sum.ItemsScanned, sum.Matches
}

// readRaw reads every message of the archive through an ordered consumer and does nothing with
// them: the floor of any read.
func readRaw(b *testing.B, js jetstream.JetStream, n int) int {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cons, err := js.OrderedConsumer(ctx, notifier.DefaultArchiveStream, jetstream.OrderedConsumerConfig{})
	if err != nil {
		b.Fatal(err)
	}
	it, err := cons.Messages(jetstream.PullMaxMessages(2048))
	if err != nil {
		b.Fatal(err)
	}
	defer it.Stop()
	got := 0
	for got < n {
		if _, err := it.Next(); err != nil {
			b.Fatalf("after %d messages: %v", got, err)
		}
		got++
	}
	return got
}

// readConsume is readRaw with a callback (Consume) instead of the iterator's Next.
func readConsume(b *testing.B, js jetstream.JetStream, n int) int {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cons, err := js.OrderedConsumer(ctx, notifier.DefaultArchiveStream, jetstream.OrderedConsumerConfig{})
	if err != nil {
		b.Fatal(err)
	}
	done := make(chan struct{})
	got := 0
	cc, err := cons.Consume(func(jetstream.Msg) {
		if got++; got == n {
			close(done)
		}
	}, jetstream.PullMaxMessages(2048))
	if err != nil {
		b.Fatal(err)
	}
	defer cc.Stop()
	select {
	case <-done:
	case <-ctx.Done():
		b.Fatalf("after %d messages: %v", got, ctx.Err())
	}
	return got
}

// settle reads the whole archive once, untimed, so that no timed case is the first read of a
// store just written, which an archive written over days never is.
func settle(b *testing.B, js jetstream.JetStream, n int) {
	start := time.Now()
	readConsume(b, js, n)
	b.Logf("the first read of the archive, untimed, took %s", time.Since(start).Round(time.Millisecond))
}

// diskUsage is the space the stream's files take on disk under dir (blocks allocated, not
// lengths).
func diskUsage(b *testing.B, dir, stream string) int64 {
	var total int64
	found := false
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.Contains(path, string(filepath.Separator)+stream+string(filepath.Separator)) {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		st, ok := info.Sys().(*syscall.Stat_t)
		if !ok {
			return errors.New("no block count on this system")
		}
		found = true
		total += st.Blocks * 512
		return nil
	})
	if err != nil || !found {
		b.Fatalf("disk usage of stream %s under %s: %v (found: %v)", stream, dir, err, found)
	}
	return total
}

// expiredWindow is the duplicate window the benchmarks archive with, unless -archive.ids-held.
// The server keeps each message id of the window in its memory, a pointer-rich map that every
// garbage collection of the process marks: 110 MB for 1,000,000 items. A daemon's archive of a
// million items was written over days and holds only the ids of its last window, so the
// benchmarks archive with a window of a second and read once the server has dropped the ids.
const expiredWindow = time.Second

// openArchive opens a notifier with an embedded server for the archive benchmarks.
func openArchive(b testing.TB) (notifier.Config, *notifier.Notifier) {
	cfg := notifiertest.Config(b)
	if !*idsHeld {
		cfg.DuplicateWindow = expiredWindow
	}
	return cfg, notifiertest.Open(b, cfg)
}

// fillArchive archives n items of the corpus in nf's archive, first seen a millisecond apart
// and ending an hour ago, 1,000 a publish, calls each (when not nil) with every item, and
// returns the corpus and the time it took, generation included.
func fillArchive(b testing.TB, nf *notifier.Notifier, n int, each func(event.Archived)) (*corpus, time.Duration) {
	c := newCorpus(time.Now().Add(-time.Duration(n)*time.Millisecond - time.Hour).UTC())
	start := time.Now()
	batch := make([]event.Archived, 0, 1000)
	for i := range n {
		it := c.item(i)
		if each != nil {
			each(it)
		}
		if batch = append(batch, it); len(batch) == cap(batch) || i == n-1 {
			if err := nf.Archive().Publish(context.Background(), batch); err != nil {
				b.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	took := time.Since(start)
	if !*idsHeld {
		// The server drops the ids of a window past on a timer, which nothing shows: the last
		// one is gone within 50 ms of its window's end (stream.purgeMsgIds).
		time.Sleep(expiredWindow + time.Second)
	}
	return c, took
}

// benchReads times b.N reads of all n items of the archive by read, reports their CPU and
// items/s, and returns the wall time (ns) and the CPU (µs) per item.
func benchReads(b *testing.B, n int, read func(b *testing.B) int) (ns, cpuUS float64) {
	reads := 0
	report := cpuPerItem(b, n)
	for b.Loop() {
		if got := read(b); got != n {
			b.Fatalf("read %d messages, want %d", got, n)
		}
		reads++
	}
	cpuUS = report(reads)
	ns = nsPerItem(b, reads, n)
	b.ReportMetric(1e9/ns, "items/s")
	return ns, cpuUS
}

// nsPerItem is b's time so far per item of reads reads of n items.
func nsPerItem(b *testing.B, reads, n int) float64 {
	return float64(b.Elapsed().Nanoseconds()) / float64(reads*n)
}

// cpuPerItem reports the CPU time (user and system, of the client and the embedded server
// alike) per item of n of what runs after it is called, when the returned function is called
// with the reads of the n items done, and returns it in µs.
func cpuPerItem(b *testing.B, n int) func(reads int) float64 {
	start := cpuTime(b)
	return func(reads int) float64 {
		us := float64((cpuTime(b) - start).Nanoseconds()) / float64(reads*n) / 1000
		b.ReportMetric(us, "cpu-µs/item")
		return us
	}
}

// cpuTime is the CPU time the process has taken so far, user and system.
func cpuTime(b testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkParseItemEvent decodes archived item events of the corpus, one op being one item.
func BenchmarkParseItemEvent(b *testing.B) {
	c := newCorpus(time.Now().UTC())
	bodies := make([][]byte, 1000)
	size := 0
	for i := range bodies {
		ev, err := notifier.NewItemEvent(c.item(i))
		if err != nil {
			b.Fatal(err)
		}
		if bodies[i], err = json.Marshal(ev); err != nil {
			b.Fatal(err)
		}
		size += len(bodies[i])
	}
	b.SetBytes(int64(size / len(bodies)))
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := notifier.ParseItemEvent(bodies[i%len(bodies)]); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
