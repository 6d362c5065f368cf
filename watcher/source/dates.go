package source

import (
	"strconv"
	"strings"
	"time"
)

// dateLayouts are the formats a date of a page or an API is tried in, the most common first:
// W3C/ISO 8601 (sitemaps, <time datetime>, APIs), the e-mail forms of RSS, and what sites print.
var dateLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05Z0700",
	"2006-01-02T15:04:05",
	"2006-01-02T15:04Z07:00",
	"2006-01-02T15:04",
	"2006-01-02 15:04:05Z07:00",
	"2006-01-02 15:04:05 -0700",
	"2006-01-02 15:04:05 MST",
	"2006-01-02 15:04:05",
	"2006-01-02 15:04",
	"2006-01-02",
	time.RFC1123Z,
	time.RFC1123,
	"Mon, 2 Jan 2006 15:04:05 -0700",
	"Mon, 2 Jan 2006 15:04:05 MST",
	"2 Jan 2006 15:04:05 -0700",
	time.RFC850,
	time.ANSIC,
	"January 2, 2006 15:04",
	"January 2, 2006 3:04 PM",
	"January 2, 2006",
	"Jan 2, 2006 15:04",
	"Jan 2, 2006 3:04 PM",
	"Jan 2, 2006",
	"2 January 2006 15:04",
	"2 January 2006",
	"2 Jan 2006 15:04",
	"2 Jan 2006",
	"02.01.2006 15:04",
	"02.01.2006",
	"2006/01/02 15:04",
	"2006/01/02",
}

// parseDate reads s in one of dateLayouts (in UTC when it names no zone), or as Unix seconds;
// ok is false when none fits or the year is implausible.
func parseDate(s string) (t time.Time, ok bool) {
	s = strings.Join(strings.Fields(s), " ")
	if s == "" || len(s) > 64 {
		return time.Time{}, false
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil && len(s) >= 9 && len(s) <= 10 {
		t = time.Unix(n, 0).UTC()
		return t, true
	}
	for _, l := range dateLayouts {
		if t, err := time.Parse(l, s); err == nil {
			if t.Year() < 1990 || t.Year() > 2200 {
				return time.Time{}, false
			}
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

// setPublished sets the item's publication date from s, keeping s as written.
func setPublished(published *string, parsed **time.Time, s string) {
	s = strings.TrimSpace(s)
	if s == "" {
		return
	}
	*published = cutTo(s, 256)
	if t, ok := parseDate(s); ok {
		*parsed = &t
	}
}
