package tlog

// SetPrefixCheckInterval makes Verify check its prefix every n entries, so
// tests exercise the periodic checks on small logs. It returns the undo.
func SetPrefixCheckInterval(n uint64) (restore func()) {
	old := prefixCheckInterval
	prefixCheckInterval = n
	return func() { prefixCheckInterval = old }
}

// IntegrateBadLeaves makes Integrate accept leaves that are not events of
// their log at their index, as a broken or dishonest sequencer would, so
// tests can check that Verify catches them. It returns the undo.
func IntegrateBadLeaves() (restore func()) {
	checkLeaves = false
	return func() { checkLeaves = true }
}
