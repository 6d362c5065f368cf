package main

import (
	"fmt"
	"math"
	"strings"
)

// fullTextInfo says, with --fulltext, how many feeds the simulator serves headline-only and how
// many articles a second the live phase should ask for, against the hosts that serve them.
func (b *bench) fullTextInfo() {
	if b.o.fullText <= 0 {
		return
	}
	st, err := b.simStats()
	if err != nil {
		b.printf("full text: simulator stats: %v\n", err)
		return
	}
	// A feed's period is uniform in [P/2, 3P/2): its mean rate of new items is ln 3 / P.
	rate := float64(st.FullTextFeeds) * math.Log(3) / b.o.period.Seconds()
	b.printf("full text: %d feeds (--fulltext %g) carry headlines alone and have fulltext: auto; the live phase brings about %.2f of their items a second, "+
		"whose articles are on the feeds' own %d simulator host(s): %.3f a second a host, against the daemon's pace of one request a second a host\n",
		st.FullTextFeeds, b.o.fullText, rate, b.o.hosts, rate/float64(b.o.hosts))
	if rate/float64(b.o.hosts) > 0.25 {
		// A poll waits for its articles, holding its worker, while their host's turns come.
		b.printf("full text: WARNING: at %.2f articles a second a host, polls wait for their hosts' turns and hold the daemon's workers: this measures the pace, not the cost (raise --hosts)\n",
			rate/float64(b.o.hosts))
	}
}

// fullTextReport reports the articles the daemon read in a phase: its own counts by result
// (newswatch_fulltext_articles_total) and what the simulator served.
func (b *bench) fullTextReport(s0, s1 snapshot, dt float64) {
	if b.o.fullText <= 0 {
		return
	}
	after := s1.m.byLabel("newswatch_fulltext_articles_total", "result")
	before := s0.m.byLabel("newswatch_fulltext_articles_total", "result")
	var parts []string
	for _, r := range []string{"fetched", "cached", "denied", "failed"} {
		parts = append(parts, fmt.Sprintf("%s %.0f", r, after[r]-before[r]))
	}
	fetched := after["fetched"] - before["fetched"]
	b.printf("full text: articles %s (newswatch_fulltext_articles_total): %.2f fetched a second; new items %.0f\n",
		strings.Join(parts, ", "), fetched/dt, s1.m["newswatch_items_new_total"]-s0.m["newswatch_items_new_total"])
	b.printf("full text at the simulator: %d article pages served, %d article 404s, %d robots.txt\n",
		s1.sim.Articles-s0.sim.Articles, s1.sim.ArticlesNotFound-s0.sim.ArticlesNotFound, s1.sim.Robots-s0.sim.Robots)
}
