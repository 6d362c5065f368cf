package notifier

import (
	"fmt"
	"testing"

	"github.com/nats-io/nats.go/jetstream"
)

func TestAtLeast(t *testing.T) {
	tests := []struct {
		version string
		want    bool
	}{
		{"2.10.0", true},
		{"2.10.22", true},
		{"2.15.2", true},
		{"3.0.0", true},
		{"2.11.0-beta.1", true},
		{"2.9.25", false},
		{"2.2.6", false},
		{"1.4.1", false},
		{"dev", true}, // an odd build is given the benefit of the doubt
	}
	for _, tt := range tests {
		if got := atLeast(tt.version, minServerVersion); got != tt.want {
			t.Errorf("atLeast(%q, %q) = %v, want %v", tt.version, minServerVersion, got, tt.want)
		}
	}
}

func TestTransientAnswers(t *testing.T) {
	noPeers := &jetstream.APIError{Code: 400, ErrorCode: 10005, Description: "no suitable peers for placement"}
	badConfig := &jetstream.APIError{Code: 400, ErrorCode: 10052, Description: "stream configuration invalid"}
	inProcess := &jetstream.APIError{Code: 409, ErrorCode: 10158, Description: "duplicate message id is in process"}
	if permanent(fmt.Errorf("stream X: %w", noPeers)) {
		t.Errorf("no suitable peers (a cluster still forming) is permanent, want transient")
	}
	if !permanent(fmt.Errorf("stream X: %w", badConfig)) {
		t.Errorf("an invalid configuration is transient, want permanent")
	}
	if !permanent(fmt.Errorf("%w: version 2.9.0", errServer)) {
		t.Errorf("an unsuitable server is transient, want permanent")
	}
	if !duplicateInProcess(fmt.Errorf("publish: %w", inProcess)) || duplicateInProcess(badConfig) {
		t.Errorf("duplicateInProcess: want true only for err_code 10158")
	}
}
