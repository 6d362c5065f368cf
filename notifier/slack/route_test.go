package slack

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseRoute(t *testing.T) {
	tests := []struct {
		in      string
		want    Route
		wantErr string
	}{
		{in: "dprk-*=#dprk", want: Route{Rule: "dprk-*", Channels: []string{"#dprk"}}},
		{in: "kursk/world=C01,#news", want: Route{Rule: "kursk", Feed: "world", Channels: []string{"C01", "#news"}}},
		{in: "*/tass-*=#ru", want: Route{Rule: "*", Feed: "tass-*", Channels: []string{"#ru"}}},
		{in: "kursk", wantErr: "want RULE[/FEED]=CHANNEL"},
		{in: "kursk=", wantErr: "empty channel"},
		{in: "kursk=#a,,#b", wantErr: "empty channel"},
		{in: "[kursk=#a", wantErr: "rule pattern"},
		{in: "kursk/a/b=#a", wantErr: "ids contain no '/'"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseRoute(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got error %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("got error %v, want none", err)
			}
			if got.Rule != tt.want.Rule || got.Feed != tt.want.Feed || !slices.Equal(got.Channels, tt.want.Channels) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestRouterChannels(t *testing.T) {
	r := router{
		routes: []Route{
			{Rule: "dprk-*", Channels: []string{"#dprk", "#news"}},
			{Rule: "kursk", Feed: "world", Channels: []string{"#kursk", "#news"}},
			{Rule: "*", Feed: "tass-?", Channels: []string{"#ru"}},
		},
		def: "#misc",
	}
	tests := []struct {
		rule, feed string
		want       []string
	}{
		{"dprk-troops", "world", []string{"#dprk", "#news"}},
		{"dprk", "world", []string{"#misc"}},
		{"kursk", "world", []string{"#kursk", "#news"}},
		{"kursk", "asia", []string{"#misc"}},
		{"dprk-troops", "tass-1", []string{"#dprk", "#news", "#ru"}},
		{"kursk", "tass-12", []string{"#misc"}},
	}
	for _, tt := range tests {
		if got := r.channels(tt.rule, tt.feed); !slices.Equal(got, tt.want) {
			t.Errorf("channels(%s, %s): got %v, want %v", tt.rule, tt.feed, got, tt.want)
		}
	}
	if got := (router{routes: r.routes}).channels("other", "x"); got != nil {
		t.Errorf("without a default: got %v, want none", got)
	}
}

func TestParseStart(t *testing.T) {
	tests := []struct {
		in      string
		want    Start
		wantErr bool
	}{
		{in: "", want: Start{Mode: StartNew}},
		{in: "new", want: Start{Mode: StartNew}},
		{in: "all", want: Start{Mode: StartAll}},
		{in: "24h", want: Start{Mode: StartSince, Since: 24 * time.Hour}},
		{in: "-1h", wantErr: true},
		{in: "yesterday", wantErr: true},
	}
	for _, tt := range tests {
		got, err := ParseStart(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("ParseStart(%q): got %+v, %v; want %+v, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}
