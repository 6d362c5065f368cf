package watcher

import (
	"compress/gzip"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/newswatch/newswatch/event"
	"github.com/newswatch/newswatch/matcher"
)

// recallItem is an item of the recall set: a headline alone in its feed, the article it links
// to, and the rules a reader of the article would match it with (none for a decoy, whose
// page names the rules' terms only in its list of most-read headlines).
type recallItem struct {
	page     string // under testdata/recall, or aeb/<id prefix> of the article benchmark's sample
	headline string
	rules    []string
}

// recallRules are the example configuration's rules (its lists cut to their English terms),
// and for each page of the article benchmark's sample, a rule of a term its article says and
// its headline does not.
var recallRules = []matcher.Rule{
	{ID: "dprk-troops", Query: `@dprk NEAR/15 @troops`},
	{ID: "kursk", Query: `kursk* OR курск*`},
	{ID: "aeb-vw", Query: `meb NEAR/3 platform`},
	{ID: "aeb-senate", Query: `yobe`},
	{ID: "aeb-entermedia", Query: `사생활`},
	{ID: "aeb-europa", Query: `goddard`},
	{ID: "aeb-syria", Query: `pentagon`},
	{ID: "aeb-serelepe", Query: `"belo horizonte"`},
	{ID: "aeb-light", Query: `artwork*`},
	{ID: "aeb-titan", Query: `cassini OR methane`},
	{ID: "aeb-audi", Query: `quattro`},
	{ID: "aeb-sentra", Query: `juke`},
}

var recallLists = map[string][]string{
	"dprk":   {`"north korea*"`, "dprk", "pyongyang", `"kim jong un"`},
	"troops": {"troop*", "soldier*", `"armed forces"`, "army", "military"},
}

var recallSet = []recallItem{
	{"w01.html", "Pyongyang confirms deployment", []string{"dprk-troops", "kursk"}},
	{"w02.html", "Kim visits frontline units in the west", []string{"dprk-troops"}},
	{"w03.html", "Ukraine says it captured two soldiers", []string{"dprk-troops", "kursk"}},
	{"w04.html", "Village evacuated after overnight drone attack", []string{"kursk"}},
	{"w05.html", "Seoul summons Russian ambassador", []string{"dprk-troops"}},
	{"w06.html", "Nuclear plant staff rotated amid shelling", []string{"kursk"}},
	{"w07.html", "Satellite images show new camp", []string{"dprk-troops"}},
	{"w08.html", "Parliament debates aid package", []string{"dprk-troops"}},
	{"d01.html", "Harvest festival draws record crowds", nil},
	{"d02.html", "City council approves new tram line", nil},
	{"d03.html", "Chess champion retains title", nil},
	{"aeb/06ee193d", "The VW ID. SPACE VIZZION is a weird EV sports wagon with a secret message", []string{"aeb-vw"}},
	{"aeb/0dd13570", "BREAKING: Lawan moves motion for Senate’s adjournment over Nzeribe, Adedoyin’s deaths", []string{"aeb-senate"}},
	{"aeb/0ec95c72", "엘제이-류화영 진흙탕 싸움, 공적인 사안으로 봐야하는 이유", []string{"aeb-entermedia"}},
	{"aeb/14cc2a0c", "NASA Just Confirmed There Are Water Plumes Above The Surface of Jupiter's Moon Europa", []string{"aeb-europa"}},
	{"aeb/1ee91d1f", "Russia and Syria: U.S.-backed Syrian Forces Blocking Refugee Return", []string{"aeb-syria"}},
	{"aeb/23aaecd1", "Uma palinha das brincadeiras musicais do grupo Serelepe", []string{"aeb-serelepe"}},
	{"aeb/33fe2471", "'The Medium is the Message': the 7th Amsterdam Light Festival", []string{"aeb-light"}},
	{"aeb/359fee22", "The First Map of Saturn's Moon Titan Just Revealed Some Tantalising Features", []string{"aeb-titan"}},
	{"aeb/3cb22bfa", "2020 Audi e-tron Sportback revealed as electric 4-door coupe", []string{"aeb-audi"}},
	{"aeb/3cb5e2f4", "All-new 2020 Sentra is what we really want from Nissan PH", []string{"aeb-sentra"}},
}

// recallPage reads a page of the recall set.
func recallPage(t *testing.T, page string) []byte {
	t.Helper()
	if id, ok := strings.CutPrefix(page, "aeb/"); ok {
		matches, err := filepath.Glob(filepath.Join("article", "testdata", "aeb", "html", id+"*.html.gz"))
		if err != nil || len(matches) != 1 {
			t.Fatalf("page %s: %v %v", id, matches, err)
		}
		f, err := os.Open(matches[0])
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		z, err := gzip.NewReader(f)
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(z)
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
	data, err := os.ReadFile(filepath.Join("testdata", "recall", page))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// TestFullTextRecall measures what full text gains on a labelled set of headline-only items
// (see BENCHMARKS.md): the share of the (item, rule) pairs a reader of the articles would
// match that alert, with fulltext never and with fulltext auto, and the alerts no reader would
// make. The goal is 0.9 with auto, and no false alert from the pages' boilerplate.
func TestFullTextRecall(t *testing.T) {
	pages := map[string][]byte{}
	for i, it := range recallSet {
		pages[fmt.Sprintf("/a/%d", i)] = recallPage(t, it.page)
	}
	site := serverOn(t, "127.0.0.1", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, ok := pages[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html")
		_, _ = w.Write(body)
	}))
	want := map[string]bool{} // rule + " " + guid
	for i, it := range recallSet {
		for _, r := range it.rules {
			want[fmt.Sprintf("%s %d", r, i)] = true
		}
	}
	ix, err := matcher.Compile(recallRules, recallLists)
	if err != nil {
		t.Fatal(err)
	}
	share := map[FullTextMode]float64{}
	for _, mode := range []FullTextMode{FullTextNever, FullTextAuto} {
		as := newArticleSetup(t, mode, func(_ *Feed, c *Config) { c.Rules, c.Index = recallRules, ix })
		var items []rssItem
		for i, it := range recallSet {
			items = append(items, rssItem{GUID: fmt.Sprint(i), Title: it.headline, Link: fmt.Sprintf("%s/a/%d", site.URL, i)})
			if len(items)%MaxArticlesPerPoll == 0 || i == len(recallSet)-1 {
				// Newest first, as feeds are; at most the articles one poll reads.
				newest := slices.Clone(items)
				slices.Reverse(newest)
				as.publish(t, 2+i, newest...)
			}
		}
		got, wrong := 0, []string{}
		for _, a := range as.pub.published() {
			k := a.RuleID + " " + a.Item.GUID
			if want[k] {
				got++
			} else {
				wrong = append(wrong, k)
			}
		}
		share[mode] = float64(got) / float64(len(want))
		var missed []string
		for k := range want {
			if !slices.ContainsFunc(as.pub.published(), func(a event.Alert) bool { return a.RuleID+" "+a.Item.GUID == k }) {
				missed = append(missed, k)
			}
		}
		slices.Sort(missed)
		t.Logf("fulltext %s: %d of %d matched (%.2f); missed %v; alerts no reader would make: %v; articles %v",
			mode, got, len(want), share[mode], missed, wrong, as.results())
		if len(wrong) > 0 {
			t.Errorf("fulltext %s: alerts no reader would make: %v", mode, wrong)
		}
	}
	if share[FullTextAuto] < 0.9 {
		t.Errorf("recall with fulltext auto %.2f, want at least 0.9", share[FullTextAuto])
	}
}
