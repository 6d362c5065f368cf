package web

import (
	"context"
	"net/http"
	"time"
)

// StatusSource tells what the status page shows of the daemon and its NATS.
type StatusSource interface {
	// Status returns what it could learn; an error says what it could not (the page shows
	// both).
	Status(ctx context.Context) (Status, error)
}

// Status is the daemon's state as the status page shows it.
type Status struct {
	Version, Revision, Go string
	Started               time.Time
	NATS                  NATS
	Streams               []Stream
	Reload                Reload
}

// NATS is the daemon's connection and its server.
type NATS struct {
	Embedded      bool
	URL           string // redacted
	Connected     bool
	Server        string // the name of the server connected to
	ServerVersion string
	Cluster       string
	Servers       []string // every server the client knows of
	JetStream     JetStreamUsage
}

// JetStreamUsage is the account's use of JetStream; a negative maximum is unlimited.
type JetStreamUsage struct {
	Memory, Storage       uint64
	MaxMemory, MaxStorage int64
	Streams, Consumers    int
}

// Stream is one of the daemon's streams (key-value buckets included).
type Stream struct {
	Name      string
	Messages  uint64
	Bytes     uint64
	Consumers int
	Replicas  int
	Leader    string
	Peers     []Peer // the replicas seen besides the leader
}

// Peer is a replica of a stream.
type Peer struct {
	Name    string
	Current bool
	Lag     uint64
}

// Reload is the last load of the configuration file.
type Reload struct {
	Successful  bool
	LastSuccess time.Time
}

type statusData struct {
	Now    time.Time
	Status Status
	Uptime string
	Error  string
}

func (c *Console) statusPage(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	now := c.cfg.Now()
	st, err := c.cfg.Status.Status(ctx)
	d := statusData{Now: now, Status: st}
	if !st.Started.IsZero() {
		d.Uptime = roughly(now.Sub(st.Started))
	}
	if err != nil {
		d.Error = err.Error()
	}
	c.render(w, "status", "layout", page{Title: "Status", Nav: "status", Data: d})
}
