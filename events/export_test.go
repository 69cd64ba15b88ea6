package events

// LedgerQueued lets tests wait until commands are queued, so that a batch
// is known to hold them all.
func LedgerQueued[S any](l *Ledger[S]) int { return len(l.cmds) }
