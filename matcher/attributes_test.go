package matcher

import (
	"slices"
	"testing"
)

func TestAttributes(t *testing.T) {
	tests := []struct {
		name  string
		query string
		want  []Attribute
	}{
		{name: "none", query: "kursk OR курск*"},
		{name: "feed and tag", query: "kursk feed:world (tag:en OR -tag:ru)", want: []Attribute{
			{Name: "feed", Value: "world", Offset: 6},
			{Name: "tag", Value: "en", Offset: 18},
			{Name: "tag", Value: "ru", Offset: 29},
		}},
		{name: "does not parse", query: "kursk feed:world (", want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Attributes(tt.query); !slices.Equal(got, tt.want) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}
