package slack

// LedgerKey is the ledger's key of (event id, channel), for tests that plant records.
var LedgerKey = ledgerKey

// ItemLedgerKey is the ledger's key of (feed, item key, channel), for tests that plant records.
var ItemLedgerKey = itemLedgerKey

// StoryLedgerKey is the ledger's key of (story id, channel), for tests that plant records.
var StoryLedgerKey = storyLedgerKey

// SourceKey names an item among a story's sources in its ledger record.
var SourceKey = sourceKey
