package main

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"net/http"
	"sort"
	"strconv"
	"strings"
)

// sample is one scrape of the daemon's /metrics: every series by its name and labels as the
// text exposition writes them ("name" or "name{a=\"b\"}").
type sample map[string]float64

// scrape reads the Prometheus text exposition of url. It reads only what this harness uses, so
// that the per-feed series of 100,000 feeds are not kept; size is the body's length in bytes.
func scrape(url string) (s sample, size int64, err error) {
	resp, err := http.Get(url)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, 0, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	cr := &countingReader{r: resp.Body}
	s = sample{}
	sc := bufio.NewScanner(cr)
	sc.Buffer(make([]byte, 1<<16), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' || strings.HasPrefix(line, "newswatch_feed_last_success") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			continue
		}
		s[line[:i]] = v
	}
	if err := sc.Err(); err != nil {
		return nil, 0, err
	}
	return s, cr.n, nil
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// sum adds the series of name whose labels contain every one of match (`result="ok"`).
func (s sample) sum(name string, match ...string) float64 {
	var t float64
	for k, v := range s {
		base, labels, _ := strings.Cut(k, "{")
		if base != name {
			continue
		}
		ok := true
		for _, m := range match {
			ok = ok && strings.Contains(labels, m)
		}
		if ok {
			t += v
		}
	}
	return t
}

// byLabel returns the series of name by the value of one label.
func (s sample) byLabel(name, label string) map[string]float64 {
	out := map[string]float64{}
	for k, v := range s {
		base, labels, _ := strings.Cut(k, "{")
		if base != name {
			continue
		}
		_, rest, ok := strings.Cut(labels, label+`="`)
		if !ok {
			continue
		}
		val, _, _ := strings.Cut(rest, `"`)
		out[val] += v
	}
	return out
}

// histogram is the change of a Prometheus histogram between two scrapes: cumulative counts by
// upper bound, +Inf last.
type histogram struct {
	bounds []float64
	counts []float64
	sum    float64
}

// histDelta is the histogram name (restricted to the series whose labels contain match)
// between scrapes a and b.
func histDelta(a, b sample, name string, match ...string) histogram {
	byLE := map[float64]float64{}
	for k, v := range b {
		base, labels, _ := strings.Cut(k, "{")
		if base != name+"_bucket" {
			continue
		}
		ok := true
		for _, m := range match {
			ok = ok && strings.Contains(labels, m)
		}
		if !ok {
			continue
		}
		_, rest, _ := strings.Cut(labels, `le="`)
		leText, _, _ := strings.Cut(rest, `"`)
		le, err := strconv.ParseFloat(leText, 64)
		if err != nil {
			continue
		}
		byLE[le] += v - a[k]
	}
	var h histogram
	for le := range byLE {
		h.bounds = append(h.bounds, le)
	}
	sort.Float64s(h.bounds)
	for _, le := range h.bounds {
		h.counts = append(h.counts, byLE[le])
	}
	h.sum = b.sum(name+"_sum", match...) - a.sum(name+"_sum", match...)
	return h
}

func (h histogram) count() float64 {
	if len(h.counts) == 0 {
		return 0
	}
	return h.counts[len(h.counts)-1]
}

// quantile estimates the q-quantile as Prometheus's histogram_quantile does (linear within the
// bucket), and returns with it the upper bound of the bucket that holds it: the true quantile
// is at most that. NaN when the histogram is empty.
func (h histogram) quantile(q float64) (est, bound float64) {
	n := h.count()
	if n == 0 {
		return math.NaN(), math.NaN()
	}
	rank := q * n
	lo, prev := 0.0, 0.0
	for i, c := range h.counts {
		if c >= rank {
			hi := h.bounds[i]
			if math.IsInf(hi, 1) {
				return lo, hi
			}
			if c == prev {
				return hi, hi
			}
			return lo + (hi-lo)*(rank-prev)/(c-prev), hi
		}
		lo, prev = h.bounds[i], c
	}
	return math.NaN(), math.NaN()
}

// maxBucket is the range of the highest non-empty bucket: the largest observation lies in it.
func (h histogram) maxBucket() (lo, hi float64) {
	prev := 0.0
	for i, c := range h.counts {
		if c > prev {
			hi = h.bounds[i]
			if i > 0 {
				lo = h.bounds[i-1]
			} else {
				lo = 0
			}
		}
		prev = c
	}
	return lo, hi
}
