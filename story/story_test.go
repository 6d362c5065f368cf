package story

import (
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"sync"
	"testing"
	"time"
)

var t0 = time.Date(2024, 11, 4, 8, 0, 0, 0, time.UTC)

// seq is a sequence of items with the name of the story each must get: items with the same
// name share a story, items with different names do not.
type seq []struct {
	story string
	item  Item
}

func item(feed, key, lang, title, text string, minute int) Item {
	return Item{FeedID: feed, Key: key, Language: lang, Title: title, Text: text,
		Link: "https://" + feed + ".example/" + key, Time: t0.Add(time.Duration(minute) * time.Minute)}
}

func TestAssign(t *testing.T) {
	dprk := `The Pentagon said on Monday that North Korean soldiers had engaged Ukrainian forces in the Kursk region, the first confirmation of combat involving troops from Pyongyang.`
	tests := []struct {
		name  string
		items seq
	}{
		{name: "same link from two feeds", items: seq{
			{"a", Item{FeedID: "f1", Key: "1", Title: "Markets rally", Link: "https://www.wire.example/story/1/", Time: t0}},
			{"a", Item{FeedID: "f2", Key: "9", Title: "Stocks climb after jobs report", Link: "http://wire.example/story/1#top", Time: t0.Add(time.Minute)}},
		}},
		{name: "same normalised title", items: seq{
			{"a", item("f1", "1", "en", "Pentagon confirms North Korean troops in Kursk", "", 0)},
			{"a", item("f2", "2", "en", "PENTAGON CONFIRMS North-Korean troops in KURSK!", "", 5)},
		}},
		{name: "rewrite joins, another event does not", items: seq{
			{"a", item("f1", "1", "en", "Pentagon confirms North Korean troops are fighting in Russia's Kursk region", dprk, 0)},
			{"b", item("f2", "2", "en", "Drone strikes near Kursk nuclear power plant, Russia says", "A Ukrainian drone hit a building near the Kursk nuclear power plant in Kurchatov overnight, Russian officials said; radiation levels were normal.", 2)},
			{"a", item("f3", "3", "en", "North Korean soldiers in combat with Ukrainian forces in Kursk, Pentagon confirms", "US defence officials confirmed North Korean troops have been in combat with Ukrainian forces in the Kursk region, the Pentagon said on Monday.", 30)},
			{"c", item("f4", "4", "en", "Liverpool beat Chelsea 2-1 to stay top of the Premier League", "Mohamed Salah scored the winner as Liverpool beat Chelsea 2-1 at Anfield.", 40)},
		}},
		{name: "translation joins on names, numbers and concepts", items: seq{
			{"a", item("f1", "1", "en", "ECB cuts interest rates by 0.25 points to 3.25%", "The European Central Bank lowered its deposit rate by a quarter point to 3.25% on Monday.", 0)},
			{"a", item("f2", "2", "ru", "ЕЦБ снизил ставку на 0,25 п.п. до 3,25%", "Европейский центральный банк снизил депозитную ставку на четверть пункта до 3,25%.", 10)},
		}},
		{name: "a story leaves the window", items: seq{
			{"a", item("f1", "1", "en", "Pentagon confirms North Korean troops are fighting in Kursk", dprk, 0)},
			{"b", item("f2", "2", "en", "Pentagon confirms North Korean troops are fighting in Kursk", dprk, 49*60)},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := New(Options{Lists: testLists})
			if err != nil {
				t.Fatal(err)
			}
			ids := map[string]string{}
			for i, x := range tt.items {
				got := a.Assign(x.item)
				want, seen := ids[x.story]
				switch {
				case !seen:
					for name, id := range ids {
						if id == got.ID {
							t.Errorf("item %d (%q) joined story %q, want a story of its own", i, x.item.Title, name)
						}
					}
					if !got.First || got.Size != 1 {
						t.Errorf("item %d: got First %v Size %d, want a new story (true, 1)", i, got.First, got.Size)
					}
					ids[x.story] = got.ID
				case got.ID != want:
					t.Errorf("item %d (%q): got story %s, want %s (%q)", i, x.item.Title, got.ID, want, x.story)
				case got.First:
					t.Errorf("item %d: got First, want a later item of %q", i, x.story)
				}
			}
		})
	}
}

func TestStoryFields(t *testing.T) {
	a, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	first := Item{FeedID: "reuters", Key: "k1", Title: "One two three four", Link: "https://www.reuters.com/a", Time: t0}
	s1 := a.Assign(first)
	s2 := a.Assign(Item{FeedID: "ap", Key: "k2", Language: "EN", Title: "One two three four", Link: "https://apnews.com/b", Time: t0.Add(time.Hour)})
	s3 := a.Assign(Item{FeedID: "ap", Key: "k3", Publisher: "ap.org", Language: "de", Title: "One two three four", Time: t0.Add(2 * time.Hour)})
	if want := FormatID(hash64("reuters", "k1")); s1.ID != want || s2.ID != want || s3.ID != want {
		t.Fatalf("got ids %s %s %s, want all %s", s1.ID, s2.ID, s3.ID, want)
	}
	if !regexp.MustCompile(`^[0-9a-f]{16}$`).MatchString(s1.ID) {
		t.Errorf("got id %q, want 16 hex digits", s1.ID)
	}
	if !s1.First || s2.First || s3.First {
		t.Errorf("got First %v %v %v, want true false false", s1.First, s2.First, s3.First)
	}
	if s3.Size != 3 {
		t.Errorf("got size %d, want 3", s3.Size)
	}
	if want := []string{"reuters", "ap"}; !slices.Equal(s3.Feeds, want) {
		t.Errorf("got feeds %q, want %q", s3.Feeds, want)
	}
	if want := []string{"reuters.com", "apnews.com", "ap.org"}; !slices.Equal(s3.Publishers, want) {
		t.Errorf("got publishers %q, want %q", s3.Publishers, want)
	}
	if want := []string{"en", "de"}; !slices.Equal(s3.Languages, want) {
		t.Errorf("got languages %q, want %q", s3.Languages, want)
	}
	if !s3.FirstSeen.Equal(t0) {
		t.Errorf("got first seen %v, want %v", s3.FirstSeen, t0)
	}
}

func TestGuessLanguage(t *testing.T) {
	tests := []struct{ text, want string }{
		{"The troops of the north and the south", "en"},
		{"Die Truppen und der Norden sind nicht mit", "de"},
		{"Les troupes et la région pour les soldats", "fr"},
		{"Las tropas del norte y los soldados para", "es"},
		{"Войска КНДР в Курской области", "ru"},
		{"Війська КНДР у Курській області", "uk"},
		{"북한군 쿠르스크 교전", "ko"},
		{"北朝鮮兵士がクルスク州で戦闘", "ja"},
		{"朝鲜士兵在库尔斯克", "zh"},
		{"Οι στρατιώτες της Βόρειας Κορέας", "el"},
		{"Kursk Pyongyang", ""},
		{"", ""},
	}
	for _, tt := range tests {
		t.Run(tt.want+" "+tt.text, func(t *testing.T) {
			var e extractor
			if got := e.extract(tt.text); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

// TestKeys checks that spellings of one name, number or date in several languages and scripts
// give one key.
func TestKeys(t *testing.T) {
	tests := []struct {
		name string
		a, b string
	}{
		{"Cyrillic and Latin name", "troops near Kursk", "войска под Курском"},
		{"Ukrainian and Latin name", "troops near Kursk", "війська біля Курська"},
		{"decimal marks", "rate of 3.25%", "taux de 3,25 %"},
		{"dates", "on 4 November", "am 4. November"},
		{"dates across scripts", "on 4 November", "4 ноября"},
		{"CJK date", "on 4 November", "11月4日"},
		{"Hangul date", "on 4 November", "11월 4일"},
		{"accents", "Séisme à Noto", "seisme a noto"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var e extractor
			e.extract(tt.a)
			a := slices.Clone(e.feats)
			e.extract(tt.b)
			shared := 0
			for _, f := range e.feats {
				if slices.ContainsFunc(a, func(g feature) bool { return g.h == f.h }) {
					shared++
				}
			}
			if shared == 0 {
				t.Errorf("%q and %q share no key", tt.a, tt.b)
			}
		})
	}
}

// TestDeterministic assigns one stream twice, and once more in two halves with a sweep forced
// between them, and wants the same ids: replicas and replays agree.
func TestDeterministic(t *testing.T) {
	items := loadMultilingual(t)
	run := func(sweepAt int) []string {
		a, err := New(Options{Lists: testLists})
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for i, it := range items {
			if i == sweepAt {
				a.ix.sweep(a.now - a.window)
			}
			out = append(out, a.Assign(it.Item).ID)
		}
		return out
	}
	first := run(-1)
	if again := run(-1); !slices.Equal(first, again) {
		t.Fatalf("two runs differ:\n%v\n%v", first, again)
	}
	if swept := run(len(items) / 2); !slices.Equal(first, swept) {
		t.Fatalf("a sweep changed the stories:\n%v\n%v", first, swept)
	}
}

// TestBounded feeds five windows of items and wants the state to hold one window's: stories
// leave, their slots are reused and the postings are swept.
func TestBounded(t *testing.T) {
	a, err := New(Options{Window: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	const perWindow = 20_000
	var peak Stats
	for i := range 5 * perWindow {
		a.Assign(Item{FeedID: "f", Key: fmt.Sprint(i),
			Title: fmt.Sprintf("w%dx w%dy w%dz report %d", i, i%977, i%1013, i),
			Time:  t0.Add(time.Duration(i) * time.Hour / perWindow)})
		if i == perWindow {
			peak = a.Stats()
		}
	}
	end := a.Stats()
	if end.Items > perWindow+1 || end.Stories > perWindow+1 {
		t.Errorf("got %d items in %d stories in the window, want at most %d", end.Items, end.Stories, perWindow+1)
	}
	if len(a.ix.stories) > 3*perWindow {
		t.Errorf("got %d story slots, want at most %d (slots of stories that left are reused)", len(a.ix.stories), 3*perWindow)
	}
	if end.Postings > 3*peak.Postings {
		t.Errorf("got %d postings, want at most 3 x %d of the first window", end.Postings, peak.Postings)
	}
}

func TestNewErrors(t *testing.T) {
	tests := []struct {
		name string
		opts Options
	}{
		{"window too short", Options{Window: time.Millisecond}},
		{"negative window", Options{Window: -time.Hour}},
		{"list that does not compile", Options{Lists: map[string][]string{"x": {`"unclosed`}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := New(tt.opts)
			if !errors.Is(err, ErrOptions) {
				t.Errorf("got %v, want ErrOptions", err)
			}
			if a != nil {
				t.Errorf("got an Assigner with the error")
			}
		})
	}
}

// TestRestore records the stories of the first half of a stream, restores them into a new
// Assigner, and wants the second half to get the same stories from both.
func TestRestore(t *testing.T) {
	items := loadMultilingual(t)
	a, err := New(Options{Lists: testLists})
	if err != nil {
		t.Fatal(err)
	}
	b, err := New(Options{Lists: testLists})
	if err != nil {
		t.Fatal(err)
	}
	half := len(items) / 2
	for _, it := range items[:half] {
		if err := b.Restore(it.Item, a.Assign(it.Item)); err != nil {
			t.Fatal(err)
		}
	}
	for i, it := range items[half:] {
		sa, sb := a.Assign(it.Item), b.Assign(it.Item)
		if sa.ID != sb.ID || sa.Size != sb.Size || sa.First != sb.First || !sa.FirstSeen.Equal(sb.FirstSeen) ||
			!slices.Equal(sa.Feeds, sb.Feeds) || !slices.Equal(sa.Languages, sb.Languages) {
			t.Errorf("item %d: assigned %+v, after restore %+v", half+i, sa, sb)
		}
	}
	if err := b.Restore(items[0].Item, Story{ID: "not-an-id"}); !errors.Is(err, ErrStoryID) {
		t.Errorf("got %v, want ErrStoryID", err)
	}
}

// TestMaxStories: with MaxStories, the stories of the window stay within the bound however many
// items come, the oldest leaving first, and the stories of recent items are kept.
func TestMaxStories(t *testing.T) {
	a, err := New(Options{MaxStories: 100})
	if err != nil {
		t.Fatal(err)
	}
	base := time.Date(2026, 12, 3, 0, 0, 0, 0, time.UTC)
	var last Story
	for i := range 1000 {
		last = a.Assign(Item{FeedID: "f", Key: fmt.Sprint(i), Title: fmt.Sprintf("Unrelated report number %d about topic %d", i, i*7919),
			Time: base.Add(time.Duration(i) * time.Second)})
		if st := a.Stats(); st.Stories > 100 {
			t.Fatalf("after %d items: %d stories open, want at most 100", i+1, st.Stories)
		}
	}
	// A copy of the latest item joins its story: recent stories are kept.
	again := a.Assign(Item{FeedID: "g", Key: "copy", Title: fmt.Sprintf("Unrelated report number %d about topic %d", 999, 999*7919), Time: base.Add(1000 * time.Second)})
	if again.ID != last.ID {
		t.Errorf("a copy of the latest item opened story %s, want %s", again.ID, last.ID)
	}
	if _, err := New(Options{MaxStories: -1}); err == nil {
		t.Error("negative MaxStories: no error")
	}
}

// TestMerge: an item close to two stories that opened apart merges the younger into the older.
// The younger's items keep the id they were given; later items of either, copies included, get
// the older story's id, which counts the items and sources of both; both leave the window
// together.
func TestMerge(t *testing.T) {
	a, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	first := a.Assign(item("wire", "1", "en", "Chiquita and Fyffes agree merger to create largest banana company", "", 0))
	apart := a.Assign(item("paper", "2", "en", "Banana giants Chiquita, Fyffes combine in Dublin deal", "", 5))
	if !first.First || !apart.First || apart.ID == first.ID {
		t.Fatalf("got %+v and %+v, want two stories (a young story needs four keys in common)", first, apart)
	}
	tie := a.Assign(item("blog", "3", "en", "Chiquita, Fyffes merger creates largest banana company as giants combine in Dublin deal", "", 10))
	if tie.ID != first.ID || tie.Size != 3 {
		t.Errorf("the item that ties them: got story %s size %d, want %s (the older) size 3", tie.ID, tie.Size, first.ID)
	}
	copyOf := a.Assign(Item{FeedID: "radio", Key: "4", Title: "Fruit news", Link: "https://paper.example/2", Time: t0.Add(20 * time.Minute)})
	if copyOf.ID != first.ID || copyOf.Size != 4 {
		t.Errorf("a copy of the younger story's item: got story %s size %d, want %s size 4", copyOf.ID, copyOf.Size, first.ID)
	}
	if want := []string{"wire", "paper", "blog", "radio"}; !slices.Equal(copyOf.Feeds, want) {
		t.Errorf("got feeds %q, want %q", copyOf.Feeds, want)
	}
	if st := a.Stats(); st.Stories != 1 || st.Items != 4 {
		t.Errorf("got %d stories of %d items in the window, want 1 of 4", st.Stories, st.Items)
	}
	later := a.Assign(item("wire", "5", "en", "Something else entirely happened today", "", 50*60))
	a.ix.sweep(a.now - a.window)
	if len(a.ix.into) != 0 || a.Stats().Stories != 1 || len(a.ix.freed) != 2 {
		t.Errorf("after the window: %d merged stories, %d stories, %d freed slots; want 0, 1 (%s), 2",
			len(a.ix.into), a.Stats().Stories, len(a.ix.freed), later.ID)
	}
}

// TestPrepared assigns the same items with Assign, and with AssignPrepared after four Preparers
// read them side by side, a chunk each in turn, and wants the same story for every item: ids,
// sizes, sources, languages. The corpora are the multilingual set with its term lists, and the
// UCI sample, whose thousands of items merge stories; a small MaxStories sweeps the window on the
// way.
func TestPrepared(t *testing.T) {
	uci := interleave(loadUCI(t, *uciPath), 1)
	for _, c := range []struct {
		name  string
		items []labelled
		opts  Options
	}{
		{"multilingual", loadMultilingual(t), Options{Lists: testLists, MaxStories: 20}},
		{"uci", uci[:min(len(uci), 6000)], Options{MaxStories: 2000}},
	} {
		t.Run(c.name, func(t *testing.T) {
			direct, err := New(c.opts)
			if err != nil {
				t.Fatal(err)
			}
			var want []Story
			for _, it := range c.items {
				want = append(want, direct.Assign(it.Item))
			}

			a, err := New(c.opts)
			if err != nil {
				t.Fatal(err)
			}
			const chunk = 7
			prepared := make([]Prepared, len(c.items))
			preparers := make([]*Preparer, 4)
			for i := range preparers {
				preparers[i] = a.NewPreparer()
			}
			var wg sync.WaitGroup
			for w, p := range preparers {
				wg.Go(func() {
					for from := w * chunk; from < len(c.items); from += len(preparers) * chunk {
						for i := from; i < min(from+chunk, len(c.items)); i++ {
							prepared[i] = p.Prepare(c.items[i].Item)
						}
					}
				})
			}
			wg.Wait()
			for i := range prepared {
				if got := a.AssignPrepared(&prepared[i]); !reflect.DeepEqual(got, want[i]) {
					t.Fatalf("item %d (%s): AssignPrepared gives\n%+v\nAssign gives\n%+v", i, c.items[i].Item.Key, got, want[i])
				}
			}
		})
	}
}
