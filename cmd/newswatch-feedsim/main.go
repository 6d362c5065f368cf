// Command newswatch-feedsim serves simulated news feeds (internal/feedsim) on loopback, for
// measuring the daemon at scale (`make bench-scale`) and for trying it out by hand:
//
//	newswatch-feedsim --feeds 10000 --config /tmp/nw/newswatch.yaml
//	newswatch run -c /tmp/nw/newswatch.yaml
//
// It prints the address of each listener on a line of its own, then, with --config, the line
// "config FILE http ADDR nats ADDR" naming the configuration it wrote and the free ports it chose
// for the daemon. Feed n is /feeds/<n>.xml on listener n mod --hosts: the daemon limits the
// requests in flight to one host:port, and real feeds live on many hosts.
//
// Besides the feeds it answers, on every listener:
//   - POST /-/mode?set=live|unchanged|changed: live serves feedsim's feeds as they are;
//     unchanged answers 304 to every conditional request (no feed changes); changed ignores the
//     validators and stamps each document with the time as its lastBuildDate, so that every
//     request gets a whole document that differs from the last one (every feed changed).
//   - GET /-/stats: the answers given so far and, since the last POST /-/stats/reset, how many
//     requests each feed had (the feeds with none) and, for "@every" schedules, how late
//     requests came after their feed's slot, as JSON.
//   - GET /-/last?feed=N: when feed N was last requested, in Unix nanoseconds (0: never), so
//     that a subscriber can time an alert from the start of the fetch that found its item.
//   - GET /robots.txt, which allows everything but /-/, and GET /articles/<guid>: the article
//     page of an item (a few KB of HTML: navigation, a cookie notice, the article, a list of
//     related headlines, a footer), the same for the item every time.
//
// With --fulltext SHARE, that share of the feeds (picked by a hash of their numbers, so spread
// over the listeners) carry headlines alone: their items have no description, and their links
// point at their article pages on the host the feed was asked of, so that the daemon fetches
// articles from as many hosts as it polls feeds on. The written configuration gives those
// feeds `fulltext: auto`. The article's body holds the item's description (in its language)
// and paragraphs of generated English that no example rule matches.
package main

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/alecthomas/kong"

	"github.com/newswatch/newswatch/internal/feedsim"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

type cli struct {
	Listen     string        `default:"127.0.0.1:0" help:"Address of the first listener; port 0 takes a free one. Further listeners (--hosts) take free ports on the same host."`
	Hosts      int           `default:"1" help:"Listeners, each a host:port of its own to the daemon; feed n is served on listener n mod hosts."`
	Feeds      int           `default:"1000" help:"Simulated feeds."`
	Period     time.Duration `default:"5m" help:"Mean time between two new items of a feed."`
	Items      int           `default:"20" help:"Items in a feed document."`
	MatchEvery int           `default:"10" help:"Every n-th item is about Kursk or North Korean troops, so that the example rules match it."`
	Latency    time.Duration `help:"Added to every answer of the live and changed modes."`
	ErrorRate  float64       `help:"Fraction of requests answered 500 in the live and changed modes."`
	BurstEvery int           `help:"Every n-th period of a feed brings --burst-size items instead of one."`
	BurstSize  int           `help:"Items of a burst."`
	Config     string        `type:"path" help:"Write a newswatch configuration for the simulated feeds to this file, with free ports for http.listen and the embedded NATS server."`
	Schedule   string        `default:"@every 5m" help:"Schedule of every feed in the written configuration."`
	StoreDir   string        `type:"path" help:"JetStream store of the written configuration; default: nats beside --config."`
	Archive    bool          `default:"true" negatable:"" help:"Keep the item archive in the written configuration (--no-archive turns it off)."`
	Stories    bool          `default:"true" negatable:"" help:"Give items their stories in the written configuration (--no-stories turns them off)."`
	FullText   float64       `name:"fulltext" help:"Share of the feeds (0 to 1) that carry headlines alone, link their items to article pages of the simulator, and have fulltext: auto in the written configuration."`
}

func run(args []string, stdout, stderr io.Writer) int {
	var c cli
	exited := -1
	parser, err := kong.New(&c, kong.Name("newswatch-feedsim"),
		kong.Description("Serve simulated news feeds on loopback, and write a newswatch configuration that polls them."),
		kong.UsageOnError(), kong.Writers(stdout, stderr), kong.Exit(func(code int) { exited = code }))
	if err != nil {
		fmt.Fprintf(stderr, "newswatch-feedsim: %v\n", err)
		return 2
	}
	if _, err := parser.Parse(args); exited >= 0 || err != nil {
		if err != nil {
			fmt.Fprintf(stderr, "newswatch-feedsim: %v\n", err)
			return 2
		}
		return exited
	}
	if err := c.serve(stdout); err != nil {
		fmt.Fprintf(stderr, "newswatch-feedsim: %v\n", err)
		return 1
	}
	return 0
}

func (c cli) serve(stdout io.Writer) error {
	if c.Feeds < 1 || c.Hosts < 1 {
		return errors.New("--feeds and --hosts must be positive")
	}
	if c.FullText < 0 || c.FullText > 1 {
		return fmt.Errorf("--fulltext %v: want a share from 0 to 1", c.FullText)
	}
	every, err := everyOf(c.Schedule)
	if err != nil {
		return err
	}
	sim := feedsim.New(feedsim.Config{
		Feeds: c.Feeds, Period: c.Period, Items: c.Items, MatchEvery: c.MatchEvery,
		BurstEvery: c.BurstEvery, BurstSize: c.BurstSize, Latency: c.Latency, ErrorRate: c.ErrorRate,
	})
	fullText := fullTextFeeds(c.Feeds, c.FullText)
	ctl := newControl(sim, c.Feeds, every, fullText)
	host, _, err := net.SplitHostPort(c.Listen)
	if err != nil {
		return fmt.Errorf("--listen: %w", err)
	}
	var addrs []string
	srv := &http.Server{Handler: ctl, ReadHeaderTimeout: 10 * time.Second}
	for i := range c.Hosts {
		addr := c.Listen
		if i > 0 {
			addr = net.JoinHostPort(host, "0")
		}
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return err
		}
		addrs = append(addrs, ln.Addr().String())
		go func() { _ = srv.Serve(ln) }()
	}
	for _, a := range addrs {
		fmt.Fprintln(stdout, a)
	}
	if c.Config != "" {
		store := c.StoreDir
		if store == "" {
			store = filepath.Join(filepath.Dir(c.Config), "nats")
		}
		httpAddr, natsAddr, err := writeConfig(c.Config, configOptions{feeds: c.Feeds, schedule: c.Schedule, storeDir: store, archive: c.Archive, stories: c.Stories, fullText: fullText}, addrs)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "config %s http %s nats %s\n", c.Config, httpAddr, natsAddr)
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	<-sig
	return srv.Close()
}
