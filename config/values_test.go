package config

import (
	"testing"
	"time"
)

func TestParseSize(t *testing.T) {
	tests := []struct {
		in      string
		want    int64
		wantErr bool
	}{
		{in: "10MiB", want: 10 << 20},
		{in: "512KiB", want: 512 << 10},
		{in: "1MB", want: 1_000_000},
		{in: "2 GiB", want: 2 << 30},
		{in: "1kB", want: 1000},
		{in: "1TiB", want: 1 << 40},
		{in: "4096", want: 4096},
		{in: "7B", want: 7},
		{in: "0", wantErr: true},
		{in: "", wantErr: true},
		{in: "MiB", wantErr: true},
		{in: "-1MiB", wantErr: true},
		{in: "1.5MiB", wantErr: true},
		{in: "10mib", wantErr: true},
		{in: "9223372036854775807", want: 1<<63 - 1},
		{in: "9223372036854775808", wantErr: true},
		{in: "8388608TiB", wantErr: true},
	}
	for _, tt := range tests {
		got, err := parseSize("max_body", tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("parseSize(%q): got %d, %v; want %d, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestParseFirstPoll(t *testing.T) {
	tests := []struct {
		in      string
		want    FirstPoll
		wantErr bool
	}{
		{in: "baseline", want: FirstPoll{Mode: FirstPollBaseline}},
		{in: "all", want: FirstPoll{Mode: FirstPollAll}},
		{in: "24h", want: FirstPoll{Mode: FirstPollWindow, Window: 24 * time.Hour}},
		{in: "90m", want: FirstPoll{Mode: FirstPollWindow, Window: 90 * time.Minute}},
		{in: "0s", wantErr: true},
		{in: "Baseline", wantErr: true},
		{in: "window", wantErr: true},
		{in: "", wantErr: true},
	}
	for _, tt := range tests {
		got, err := parseFirstPoll(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("parseFirstPoll(%q): got %+v, %v; want %+v, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestCheckSchedule(t *testing.T) {
	valid := []string{
		"*/2 * * * *", "0 9 * * MON-FRI", "@hourly", "@daily", "@weekly", "@monthly", "@yearly",
		"@every 90s", "@every 1s", "@every 1h30m", "CRON_TZ=UTC 0 6 * * *", "auto",
	}
	for _, s := range valid {
		if err := checkSchedule(s); err != nil {
			t.Errorf("checkSchedule(%q): got %v, want nil", s, err)
		}
	}
	invalid := []string{"", " auto", "* * * *", "@every 0s", "@every -5s", "@every 999ms", "@every 2.5s", "@often", "60 * * * *", "* 24 * * *"}
	for _, s := range invalid {
		if err := checkSchedule(s); err == nil {
			t.Errorf("checkSchedule(%q): got nil, want an error", s)
		}
	}
}

func TestCheckListen(t *testing.T) {
	for _, s := range []string{"127.0.0.1:9780", ":0", "[::1]:4222", "localhost:65535"} {
		if err := checkListen("http.listen", s); err != nil {
			t.Errorf("checkListen(%q): got %v, want nil", s, err)
		}
	}
	for _, s := range []string{"localhost", "127.0.0.1:65536", "127.0.0.1:http", "::1:80"} {
		if err := checkListen("http.listen", s); err == nil {
			t.Errorf("checkListen(%q): got nil, want an error", s)
		}
	}
}

func TestCheckNames(t *testing.T) {
	tests := []struct {
		name  string
		check func(string) error
		ok    []string
		bad   []string
	}{
		{
			name: "subject_prefix", check: checkSubjectPrefix,
			ok:  []string{"newswatch", "acme.news", "a-b_c"},
			bad: []string{"", "a..b", ".a", "a.", "a b", "a.>", "*", "a\tb"},
		},
		{
			name: "alert_stream", check: checkStreamName("alert_stream"),
			ok:  []string{"NEWSWATCH_ALERTS", "alerts-1"},
			bad: []string{"", "a.b", "a b", "a/b", `a\b`, "a*", "a>"},
		},
		{
			name: "nats url", check: checkNATSURL,
			ok:  []string{"", "nats://127.0.0.1:4222", "tls://a:4222,nats://b:4222", "localhost:4222", "wss://n.example"},
			bad: []string{"http://a:4222", "nats://", "nats://a:4222,,nats://b:4222"},
		},
		{
			name: "id", check: func(s string) error { return checkID("feed id", s) },
			ok:  []string{"a", "0", "world-news_2", "a123456789012345678901234567890123456789012345678901234567890123"},
			bad: []string{"", "-a", "_a", "A", "a.b", "a b", "ä", "a1234567890123456789012345678901234567890123456789012345678901234"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, s := range tt.ok {
				if err := tt.check(s); err != nil {
					t.Errorf("%q: got %v, want nil", s, err)
				}
			}
			for _, s := range tt.bad {
				if err := tt.check(s); err == nil {
					t.Errorf("%q: got nil, want an error", s)
				}
			}
		})
	}
}
