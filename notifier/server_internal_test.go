package notifier

import "testing"

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
