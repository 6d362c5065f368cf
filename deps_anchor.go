//go:build deps_anchor

// Temporary: keeps the chosen module versions in go.mod until the packages import them.
package newswatch

import (
	_ "github.com/alecthomas/kong"
	_ "github.com/cloudevents/sdk-go/v2/event"
	_ "github.com/coreos/go-systemd/v22/daemon"
	_ "github.com/goccy/go-yaml"
	_ "github.com/mmcdole/gofeed"
	_ "github.com/nats-io/nats-server/v2/server"
	_ "github.com/nats-io/nats-server/v2/test"
	_ "github.com/nats-io/nats.go"
	_ "github.com/nats-io/nats.go/jetstream"
	_ "github.com/prometheus/client_golang/prometheus"
	_ "github.com/robfig/cron/v3"
	_ "github.com/slack-go/slack"
	_ "go.uber.org/goleak"
	_ "go.uber.org/zap"
	_ "golang.org/x/text/cases"
	_ "golang.org/x/text/unicode/norm"
	_ "golang.org/x/time/rate"
)
