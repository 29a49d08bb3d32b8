// Package backoff is the one retry pacing of lockbox: delays that double
// from a minimum to a maximum, with jitter so that many retrying parties
// (gateways, replicas, delivery workers) spread out instead of retrying in
// step.
package backoff

import (
	"math/rand/v2"
	"time"
)

// Policy is a doubling delay from Min to Max. Jitter is the fraction of a
// delay taken off at random (0: none; 0.2: up to a fifth).
type Policy struct {
	Min, Max time.Duration
	Jitter   float64
}

// Delay is the pause after the attempt-th consecutive failure (1: the
// first): Min doubled attempt-1 times, at most Max, less the jitter.
func (p Policy) Delay(attempt int) time.Duration {
	d := p.Min
	for i := 1; i < attempt && d < p.Max; i++ {
		d *= 2
	}
	d = min(d, p.Max)
	if p.Jitter > 0 && d > 0 {
		d -= time.Duration(rand.Int64N(int64(float64(d)*p.Jitter) + 1))
	}
	return d
}

// Backoff counts consecutive failures under a Policy.
type Backoff struct {
	Policy
	failures int
}

// Next records a failure and returns the pause before the next try.
func (b *Backoff) Next() time.Duration {
	b.failures++
	return b.Delay(b.failures)
}

// Reset forgets the failures after a success: the next pause is Min again.
func (b *Backoff) Reset() { b.failures = 0 }
