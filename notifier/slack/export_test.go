package slack

// LedgerKey is the ledger's key of (event id, channel), for tests that plant records.
var LedgerKey = ledgerKey
