// Package aeb scores article extraction the way the ScrapingHub article-extraction benchmark
// (https://github.com/scrapinghub/article-extraction-benchmark, MIT) does in its evaluate.py:
// per page, true and false positives and false negatives over shingles of 4 tokens (\w+),
// normalised so that long pages weigh no more than short ones; precision and recall are the
// means over pages, F1 their harmonic mean.
package aeb

import (
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"time"
)

// Page is one page of the benchmark: its HTML, address and ground-truth body.
type Page struct {
	ID, URL, Truth string
	HTML           []byte
}

// Load reads the benchmark's layout under dir: ground-truth.json and html/<id>.html.gz.
func Load(dir string) ([]Page, error) {
	b, err := os.ReadFile(filepath.Join(dir, "ground-truth.json"))
	if err != nil {
		return nil, err
	}
	var gt map[string]struct {
		ArticleBody string `json:"articleBody"`
		URL         string `json:"url"`
	}
	if err := json.Unmarshal(b, &gt); err != nil {
		return nil, fmt.Errorf("ground-truth.json: %w", err)
	}
	var pages []Page
	for id, g := range gt {
		f, err := os.Open(filepath.Join(dir, "html", id+".html.gz"))
		if err != nil {
			return nil, err
		}
		z, err := gzip.NewReader(f)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("%s: %w", id, err)
		}
		h, err := io.ReadAll(z)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", id, err)
		}
		pages = append(pages, Page{ID: id, URL: g.URL, Truth: g.ArticleBody, HTML: h})
	}
	slices.SortFunc(pages, func(a, b Page) int { return strings.Compare(a.ID, b.ID) })
	return pages, nil
}

var token = regexp.MustCompile(`\w+`)

func shingles(s string) map[string]int {
	t := token.FindAllString(s, -1)
	m := map[string]int{}
	for i := 0; i < max(1, len(t)-3); i++ {
		if i >= len(t) {
			break
		}
		m[strings.Join(t[i:min(len(t), i+4)], " ")]++
	}
	return m
}

// Match is the normalised true positives, false positives and false negatives of one page.
type Match struct{ TP, FP, FN float64 }

// Compare matches a prediction against the truth.
func Compare(truth, pred string) Match {
	a, b := shingles(truth), shingles(pred)
	var m Match
	for k, tc := range a {
		pc := b[k]
		m.TP += float64(min(tc, pc))
		m.FN += float64(max(0, tc-pc))
	}
	for k, pc := range b {
		m.FP += float64(max(0, pc-a[k]))
	}
	if s := m.TP + m.FP + m.FN; s > 0 {
		m.TP, m.FP, m.FN = m.TP/s, m.FP/s, m.FN/s
	}
	return m
}

// Result is the score of a run over pages.
type Result struct {
	F1, Precision, Recall float64
	// CPUMedian and CPUP90 are the process CPU (user and system) of one extraction.
	CPUMedian, CPUP90 time.Duration
	Pages             int
}

// Run extracts every page with extract and scores it. Its CPU figures are the process's
// rusage around each call: run it with GOMAXPROCS=1 and nothing else in the process.
func Run(pages []Page, extract func(Page) string) Result {
	var ps, rs []float64
	var cpus []time.Duration
	for _, p := range pages {
		c0 := cpu()
		out := extract(p)
		cpus = append(cpus, cpu()-c0)
		m := Compare(p.Truth, out)
		if m.TP+m.FP > 0 {
			ps = append(ps, precision(m))
		}
		if m.TP+m.FN > 0 {
			rs = append(rs, recall(m))
		}
	}
	r := Result{Precision: mean(ps), Recall: mean(rs), Pages: len(pages)}
	if r.Precision+r.Recall > 0 {
		r.F1 = 2 * r.Precision * r.Recall / (r.Precision + r.Recall)
	}
	slices.Sort(cpus)
	if len(cpus) > 0 {
		r.CPUMedian, r.CPUP90 = cpus[len(cpus)/2], cpus[len(cpus)*9/10]
	}
	return r
}

func precision(m Match) float64 {
	if m.FP == 0 && m.FN == 0 {
		return 1
	}
	return m.TP / (m.TP + m.FP)
}

func recall(m Match) float64 {
	if m.FP == 0 && m.FN == 0 {
		return 1
	}
	return m.TP / (m.TP + m.FN)
}

func mean(x []float64) float64 {
	if len(x) == 0 {
		return 0
	}
	s := 0.0
	for _, v := range x {
		s += v
	}
	return s / float64(len(x))
}

func cpu() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
