package feedsim

// StatsDoc is the answer of newswatch-feedsim's GET /-/stats, counted since the last
// POST /-/stats/reset; internal/scalebench reads it.
type StatsDoc struct {
	Mode        string      `json:"mode"`
	Requests    int64       `json:"requests"`
	OK          int64       `json:"ok"`
	NotModified int64       `json:"not_modified"`
	Errors      int64       `json:"errors"`
	Unchanged   int64       `json:"unchanged_304"` // answered 304 by the unchanged mode
	Lateness    LatenessDoc `json:"lateness"`
	// FullTextFeeds are the headline-only feeds; Articles, ArticlesNotFound and Robots the
	// article pages, the 404s of /articles/ and the robots.txt answered so far.
	FullTextFeeds    int   `json:"fulltext_feeds,omitempty"`
	Articles         int64 `json:"articles"`
	ArticlesNotFound int64 `json:"articles_not_found"`
	Robots           int64 `json:"robots"`
	// PerFeed is the spread of the requests of each feed.
	PerFeed struct {
		Zero          int   `json:"zero"` // feeds not requested at all
		Min, P50, Max int32 // requests of one feed
	} `json:"per_feed"`
}

// LatenessDoc summarises the lateness of requests against their feeds' slots, in
// milliseconds; a quantile beyond the histogram's range is -1.
type LatenessDoc struct {
	Count int64   `json:"count"`
	P50   float64 `json:"p50_ms"`
	P90   float64 `json:"p90_ms"`
	P99   float64 `json:"p99_ms"`
	P999  float64 `json:"p999_ms"`
	Max   float64 `json:"max_ms"`
}
