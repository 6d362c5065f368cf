package watcher

// FullTextMode says when a feed's items are read from their articles.
type FullTextMode string

// Full text modes. The zero value means FullTextNever.
const (
	// FullTextNever matches what the feed carries.
	FullTextNever FullTextMode = "never"
	// FullTextAuto fetches the article of a new item whose title, summary and content are
	// short together (under FullTextShort characters).
	FullTextAuto FullTextMode = "auto"
	// FullTextAlways fetches the article of every new item.
	FullTextAlways FullTextMode = "always"
)
