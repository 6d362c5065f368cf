package notifier_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/newswatch/newswatch/event"
	"github.com/newswatch/newswatch/notifier"
	"github.com/newswatch/newswatch/notifier/notifiertest"
)

func TestRecentAlerts(t *testing.T) {
	n := notifiertest.Open(t, notifiertest.Config(t))
	ctx := testContext(t)
	before := time.Now().Add(-time.Second)
	for i := range 5 {
		a := sampleAlert()
		a.Item.Key = fmt.Sprintf("urn:example:item:%d", i)
		a.Item.Title = fmt.Sprintf("item %d", i)
		if i == 4 {
			a.RuleID = "kursk"
		}
		if err := n.Alerts().Publish(ctx, []event.Alert{a}); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name string
		q    notifier.AlertQuery
		want []string // titles, oldest first
	}{
		{"all", notifier.AlertQuery{Since: before, Limit: 100}, []string{"item 0", "item 1", "item 2", "item 3", "item 4"}},
		{"last two", notifier.AlertQuery{Since: before, Limit: 2}, []string{"item 3", "item 4"}},
		{"one rule", notifier.AlertQuery{Rule: "dprk-troops", Since: before, Limit: 3}, []string{"item 1", "item 2", "item 3"}},
		{"other feed", notifier.AlertQuery{Feed: "other", Since: before, Limit: 10}, nil},
		{"since later", notifier.AlertQuery{Since: time.Now().Add(time.Minute), Limit: 10}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := n.RecentAlerts(ctx, tt.q)
			if err != nil {
				t.Fatal(err)
			}
			var titles []string
			for _, a := range got {
				titles = append(titles, a.Event.Data.Item.Title)
			}
			if fmt.Sprint(titles) != fmt.Sprint(tt.want) {
				t.Errorf("got %q, want %q", titles, tt.want)
			}
		})
	}
	if _, err := n.RecentAlerts(ctx, notifier.AlertQuery{Rule: "a.b", Limit: 1}); err == nil {
		t.Error("a rule that is no subject token: no error")
	}
}

func TestStateWatch(t *testing.T) {
	n := notifiertest.Open(t, notifiertest.Config(t))
	ctx := testContext(t)
	if _, err := n.State().Save(ctx, "a", []byte(`{"a":1}`), 0); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	seen := map[string]string{}
	ready := make(chan struct{})
	done := make(chan error, 1)
	wctx, cancel := context.WithCancel(ctx)
	go func() {
		done <- n.State().Watch(wctx, func(c notifier.StateChange) {
			mu.Lock()
			defer mu.Unlock()
			if c.Value == nil {
				delete(seen, c.Key)
				return
			}
			seen[c.Key] = string(c.Value)
		}, func() { close(ready) })
	}()
	select {
	case <-ready:
	case <-time.After(60 * time.Second):
		t.Fatal("Watch did not call ready within 60 s")
	}
	mu.Lock()
	if seen["a"] != `{"a":1}` {
		t.Errorf("after ready: %v, want a", seen)
	}
	mu.Unlock()
	if _, err := n.State().Save(ctx, "b", []byte(`{"b":1}`), 0); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		mu.Lock()
		got := seen["b"]
		mu.Unlock()
		if got == `{"b":1}` {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the change of b not seen within 60 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Watch after its context ended: %v, want nil", err)
	}
}
