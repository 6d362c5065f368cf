package main

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"
)

// feedID is the id of simulated feed n in the written configuration.
func feedID(n int) string { return "f" + strconv.Itoa(n) }

// exampleListsAndRules are the lists and rules of examples/newswatch.yaml, which the matching
// stories of feedsim are written for.
const exampleListsAndRules = `lists:
  dprk:
    - '"north korea*"'
    - dprk
    - pyongyang
    - '"kim jong un"'
    - nordkorea*
    - '"corée du nord"'
    - nord-coréen*
    - кндр
    - северокоре*
    - '"северной кореи"'
    - північнокоре*
    - '"північної кореї"'
    - 북한*
    - 北朝鮮
  troops:
    - troop*
    - soldier*
    - '"armed forces"'
    - army
    - military
    - truppen
    - soldaten
    - troupe*
    - soldat*
    - военн*
    - войск*
    - солдат*
    - військов*
    - війсь*
    - 군인
    - 병력
    - 파병
    - 兵士
    - 部隊

rules:
  - id: dprk-troops
    query: '@dprk NEAR/15 @troops'
  - id: kursk
    query: 'kursk* OR курск* OR курськ* OR 쿠르스크* OR クルスク'
`

// configOptions are what the written configuration says beyond its feeds' addresses.
type configOptions struct {
	feeds            int
	schedule         string
	storeDir         string
	archive, stories bool
	fullText         []bool // feeds written with `fulltext: auto` (nil: none)
}

// writeConfig writes a newswatch configuration that polls every simulated feed, feed n on
// addrs[n mod len(addrs)], the headline-only ones with `fulltext: auto`, and returns the addresses it chose for http.listen and the embedded
// NATS server: free ports at the time of writing.
func writeConfig(path string, o configOptions, addrs []string) (httpAddr, natsAddr string, err error) {
	feeds, schedule, storeDir := o.feeds, o.schedule, o.storeDir
	if httpAddr, err = freePort(); err != nil {
		return "", "", err
	}
	if natsAddr, err = freePort(); err != nil {
		return "", "", err
	}
	f, err := os.Create(path)
	if err != nil {
		return "", "", err
	}
	defer f.Close()
	w := bufio.NewWriterSize(f, 1<<16)
	fmt.Fprintf(w, "# Written by newswatch-feedsim: %d simulated feeds on %s.\n", feeds, strings.Join(addrs, " "))
	fmt.Fprintf(w, "nats:\n  url: \"\"\n  embedded:\n    listen: %s\n    store_dir: %s\n", natsAddr, strconv.Quote(storeDir))
	fmt.Fprintf(w, "http:\n  listen: %s\n", httpAddr)
	if !o.archive {
		fmt.Fprintf(w, "archive:\n  enabled: false\n")
	}
	if !o.stories {
		fmt.Fprintf(w, "stories:\n  enabled: false\n")
	}
	fmt.Fprintf(w, "defaults:\n  schedule: %s\n  timeout: 30s\n  max_body: 10MiB\n  first_poll: baseline\n  flood_guard: 10\n  allow_private: true\n", strconv.Quote(schedule))
	fmt.Fprintf(w, "feeds:\n")
	for n := range feeds {
		ft := ""
		if n < len(o.fullText) && o.fullText[n] {
			ft = ", fulltext: auto"
		}
		fmt.Fprintf(w, "  - {id: %s, url: \"http://%s/feeds/%d.xml\"%s}\n", feedID(n), addrs[n%len(addrs)], n, ft)
	}
	w.WriteString(exampleListsAndRules)
	if err := w.Flush(); err != nil {
		return "", "", err
	}
	return httpAddr, natsAddr, f.Close()
}

// freePort returns a loopback address with a port free at the time of the call.
func freePort() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// everyOf returns D of an "@every D" schedule, 0 for any other schedule.
func everyOf(schedule string) (time.Duration, error) {
	rest, ok := strings.CutPrefix(strings.TrimSpace(schedule), "@every")
	if !ok {
		return 0, nil
	}
	d, err := time.ParseDuration(strings.TrimSpace(rest))
	if err != nil || d < time.Second {
		return 0, fmt.Errorf("--schedule %q: want @every with a duration of at least 1s", schedule)
	}
	return d, nil
}
