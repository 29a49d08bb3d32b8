package storetest

import (
	"sync"
	"testing"

	"github.com/lockbox-dev/lockbox"
)

// countAttempt counts on s and fails the test on an error.
func countAttempt(t *testing.T, s lockbox.Store, key string, window int64, delta int, expired int64) int {
	t.Helper()
	n, err := s.CountAttempt(t.Context(), key, window, delta, expired)
	if err != nil {
		t.Fatalf("CountAttempt(%s, %d, %+d): %v", key, window, delta, err)
	}
	return n
}

// testThrottle checks the throttle's counters: per key and window, given
// back without going below zero, and forgotten once their window expired.
func testThrottle(t *testing.T, s lockbox.Store) {
	const w = 1_700_000_000
	for i := 1; i <= 3; i++ {
		if n := countAttempt(t, s, "a", w, 1, 0); n != i {
			t.Fatalf("attempt %d on a: count %d", i, n)
		}
	}
	if n := countAttempt(t, s, "b", w, 1, 0); n != 1 {
		t.Fatalf("another key shares a's counter: count %d, want 1", n)
	}
	if n := countAttempt(t, s, "a", w+600, 1, 0); n != 1 {
		t.Fatalf("the next window starts at %d, want 1", n)
	}
	if n := countAttempt(t, s, "a", w, -1, 0); n != 2 {
		t.Fatalf("giving one back: count %d, want 2", n)
	}
	if n := countAttempt(t, s, "c", w, -1, 0); n != 0 {
		t.Fatalf("giving back on a new counter: count %d, want 0", n)
	}
	for range 3 {
		countAttempt(t, s, "b", w, -1, 0)
	}
	if n := countAttempt(t, s, "b", w, 1, 0); n != 1 {
		t.Fatalf("a counter went below zero: count %d after one attempt, want 1", n)
	}
	// Expiring the first window forgets its counters.
	countAttempt(t, s, "d", w+600, 1, w+600)
	if n := countAttempt(t, s, "a", w, 1, 0); n != 1 {
		t.Fatalf("an expired window kept its count: %d, want 1", n)
	}
}

// testSharedThrottle checks that two stores on one database count
// against one counter, with no attempt lost when they race.
func testSharedThrottle(t *testing.T, a, b lockbox.Store) {
	const w, per = 1_700_000_000, 20
	var wg sync.WaitGroup
	for _, s := range []lockbox.Store{a, b} {
		for range per {
			wg.Go(func() {
				if _, err := s.CountAttempt(t.Context(), "shared", w, 1, 0); err != nil {
					t.Error(err)
				}
			})
		}
	}
	wg.Wait()
	if n := countAttempt(t, a, "shared", w, 0, 0); n != 2*per {
		t.Fatalf("after %d attempts through two stores: count %d", 2*per, n)
	}
}
