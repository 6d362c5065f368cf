package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/newswatch/newswatch/console"
	"github.com/newswatch/newswatch/watcher"
)

// apiFlag is the daemon's HTTP address, shared by status and poll. It is not --server: that
// names a NATS server in the commands that talk to NATS.
type apiFlag struct {
	API string `name:"api" short:"s" default:"http://127.0.0.1:9780" help:"The daemon's HTTP address (its http.listen; https:// when the web configuration file sets TLS)."`
}

type statusCmd struct {
	apiFlag
	Feed     string `env:"NEWSWATCH_STATUS_FEED" help:"Only this feed."`
	Problems bool   `help:"Only the feeds failing, backing off, gone or stale."`
	JSON     bool   `name:"json" help:"Print each feed's status as one JSON object a line."`
	webClient
}

// apiTimeout bounds each request of status and poll.
const apiTimeout = 30 * time.Second

// Run prints the feeds' status, problems first.
func (c statusCmd) Run(e *env) error {
	client, err := c.client()
	if err != nil {
		fmt.Fprintf(e.stderr, "newswatch: status: %v\n", err)
		return exitError{1}
	}
	feeds, err := c.fetch(client)
	if err != nil {
		fmt.Fprintf(e.stderr, "newswatch: status: %v\n", err)
		return exitError{1}
	}
	// Problems first, the worst first; configuration order within each.
	slices.SortStableFunc(feeds, func(a, b watcher.FeedStatus) int { return cmp.Compare(problemRank(a), problemRank(b)) })
	if c.JSON {
		enc := json.NewEncoder(e.stdout)
		for _, f := range feeds {
			if err := enc.Encode(f); err != nil {
				return err
			}
		}
		return nil
	}
	return printStatus(e.stdout, feeds, time.Now())
}

func problemRank(s watcher.FeedStatus) int {
	switch s.Problem {
	case "gone":
		return 0
	case "backing_off":
		return 1
	case "failing":
		return 2
	case "stale":
		return 3
	}
	return 4
}

// fetch reads the feed asked for, or every page of the list.
func (c statusCmd) fetch(client *http.Client) ([]watcher.FeedStatus, error) {
	base := strings.TrimSuffix(c.API, "/")
	if c.Feed != "" {
		var s watcher.FeedStatus
		if err := c.get(client, base+"/api/v1/feeds/"+url.PathEscape(c.Feed), &s); err != nil {
			return nil, err
		}
		return []watcher.FeedStatus{s}, nil
	}
	var all []watcher.FeedStatus
	after := ""
	for {
		q := url.Values{"limit": {fmt.Sprint(console.MaxLimit)}}
		if after != "" {
			q.Set("after", after)
		}
		if c.Problems {
			q.Set("problems", "true")
		}
		var page console.FeedPage
		if err := c.get(client, base+"/api/v1/feeds?"+q.Encode(), &page); err != nil {
			return nil, err
		}
		all = append(all, page.Feeds...)
		if page.Next == "" {
			return all, nil
		}
		after = page.Next
	}
}

// get decodes the JSON answer of a GET of u into v.
func (c webClient) get(client *http.Client, u string, v any) error {
	ctx, cancel := context.WithTimeout(context.Background(), apiTimeout)
	defer cancel()
	return c.do(ctx, client, http.MethodGet, u, v)
}

// do sends a request to the API and decodes its JSON answer into v; an error answer is an
// error that says what the daemon said.
func (c webClient) do(ctx context.Context, client *http.Client, method, u string, v any) error {
	req, err := c.newRequest(ctx, method, u)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("cannot reach the daemon: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, u, err)
	}
	if resp.StatusCode/100 != 2 {
		var apiErr struct {
			Error string `json:"error"`
		}
		msg := strings.TrimSpace(string(body))
		if json.Unmarshal(body, &apiErr) == nil && apiErr.Error != "" {
			msg = apiErr.Error
		}
		return fmt.Errorf("%s %s answered %s: %s", method, u, resp.Status, msg)
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("%s %s: decode answer: %w", method, u, err)
	}
	return nil
}

// printStatus prints one line a feed: what a person checks first, left to right.
func printStatus(w io.Writer, feeds []watcher.FeedStatus, now time.Time) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "FEED\tSTATE\tLAST POLL\tRESULT\tLAST NEW ITEM\tNEXT POLL\tFAILURES\tBACKOFF UNTIL\tLAST ERROR")
	for _, f := range feeds {
		state := cmp.Or(f.Problem, "ok")
		if !f.Polled {
			state = "new"
		}
		lastErr := "-"
		if f.LastError != "" && f.LastResult == "error" {
			lastErr = fmt.Sprintf("[%s] %s", f.LastErrorClass, clip(f.LastError, 100))
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\n", f.ID, state, ago(f.LastPoll, now), cmp.Or(f.LastResult, "-"),
			ago(f.LastNewItem, now), ago(f.NextPoll, now), f.ConsecutiveFailures, ago(f.BackoffUntil, now), lastErr)
	}
	return tw.Flush()
}

// ago says when t is relative to now, to the second: "3m10s ago", "in 42s"; "-" for zero.
func ago(t, now time.Time) string {
	if t.IsZero() {
		return "-"
	}
	d := now.Sub(t).Round(time.Second)
	switch {
	case d == 0:
		return "now"
	case d < 0:
		return "in " + (-d).String()
	}
	return d.String() + " ago"
}

// clip is s on one line, cut to n characters.
func clip(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

type pollCmd struct {
	apiFlag
	Feeds []string `arg:"" name:"feed" help:"Ids of the feeds to poll now."`
	webClient
}

// Run asks the daemon to poll each feed now; it fails when one of them was not queued.
func (c pollCmd) Run(e *env) error {
	client, err := c.client()
	if err != nil {
		fmt.Fprintf(e.stderr, "newswatch: poll: %v\n", err)
		return exitError{1}
	}
	base := strings.TrimSuffix(c.API, "/")
	var failed error
	for _, id := range c.Feeds {
		ctx, cancel := context.WithTimeout(context.Background(), apiTimeout)
		var ans map[string]string
		err := c.do(ctx, client, http.MethodPost, base+"/api/v1/feeds/"+url.PathEscape(id)+"/poll", &ans)
		cancel()
		if err != nil {
			fmt.Fprintf(e.stderr, "newswatch: poll %s: %v\n", id, err)
			failed = errors.Join(failed, err)
			continue
		}
		fmt.Fprintf(e.stdout, "%s: poll queued\n", id)
	}
	if failed != nil {
		return exitError{1}
	}
	return nil
}
