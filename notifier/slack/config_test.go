package slack

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"go.uber.org/zap"
)

func TestNewValidates(t *testing.T) {
	valid := func() Config {
		return Config{Conn: &nats.Conn{}, SubjectPrefix: "newswatch", AlertStream: "NEWSWATCH_ALERTS",
			Poster: &WebhookPoster{}, DefaultChannel: "#news"}
	}
	tests := []struct {
		name   string
		change func(*Config)
		want   string
	}{
		{"no connection", func(c *Config) { c.Conn = nil }, "Conn"},
		{"no poster", func(c *Config) { c.Poster = nil }, "Poster"},
		{"bad prefix", func(c *Config) { c.SubjectPrefix = "news.*" }, "SubjectPrefix"},
		{"bad stream", func(c *Config) { c.AlertStream = "A.B" }, "AlertStream"},
		{"no route", func(c *Config) { c.DefaultChannel = "" }, "Routes"},
		{"bad route", func(c *Config) { c.Routes = []Route{{Rule: "x"}} }, "Routes[0]"},
		{"negative rate", func(c *Config) { c.Rate = -1 }, "Rate"},
		{"short ack wait", func(c *Config) { c.AckWait = time.Millisecond }, "AckWait"},
		{"retry max below min", func(c *Config) { c.RetryMin, c.RetryMax = time.Minute, time.Second }, "RetryMax"},
		{"dead letters among alerts", func(c *Config) { c.DeadLetterSubject = "newswatch.alert.dead" }, "DeadLetterSubject"},
		{"channel with a space", func(c *Config) { c.DefaultChannel = "#a b" }, "DefaultChannel"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := valid()
			tt.change(&cfg)
			_, err := New(cfg, zap.NewNop())
			if !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want an ErrInvalidConfig naming %s", err, tt.want)
			}
			if ce, ok := errors.AsType[*ConfigError](err); !ok || ce.Field != tt.want {
				t.Errorf("got %#v, want a *ConfigError of field %s", err, tt.want)
			}
		})
	}
	if _, err := New(valid(), nil); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("nil logger: got %v, want ErrInvalidConfig", err)
	}
	cfg := valid().withDefaults()
	if cfg.DeadLetterSubject != "newswatch.slack.dead" || cfg.DeadLetterStream != "NEWSWATCH_SLACK_DEAD" || cfg.PostedBucket != "newswatch_slack_posted" {
		t.Errorf("defaults: got %q %q %q", cfg.DeadLetterSubject, cfg.DeadLetterStream, cfg.PostedBucket)
	}
}

func TestPostersValidate(t *testing.T) {
	if _, err := NewBotPoster(BotConfig{Token: " "}); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("empty token: got %v, want ErrInvalidConfig", err)
	}
	if _, err := NewBotPoster(BotConfig{Token: "x", APIURL: "ftp://x"}); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("ftp API URL: got %v, want ErrInvalidConfig", err)
	}
	_, err := NewWebhookPoster(WebhookConfig{URL: "hooks.slack.com/services/SECRET"})
	if !errors.Is(err, ErrInvalidConfig) || strings.Contains(err.Error(), "SECRET") {
		t.Errorf("webhook URL without a scheme: got %v, want ErrInvalidConfig that does not quote it", err)
	}
}
