package backoff_test

import (
	"testing"
	"time"

	"github.com/lockbox-dev/lockbox/internal/backoff"
)

func TestDelayDoublesToTheMaximum(t *testing.T) {
	p := backoff.Policy{Min: 100 * time.Millisecond, Max: time.Second}
	want := []time.Duration{100, 200, 400, 800, 1000, 1000}
	for i, w := range want {
		if got := p.Delay(i + 1); got != w*time.Millisecond {
			t.Errorf("attempt %d: %s, want %s", i+1, got, w*time.Millisecond)
		}
	}
}

func TestJitterTakesOffAtMostItsFraction(t *testing.T) {
	p := backoff.Policy{Min: time.Second, Max: time.Second, Jitter: 0.2}
	seen := map[time.Duration]bool{}
	for range 200 {
		d := p.Delay(1)
		if d > time.Second || d < 800*time.Millisecond {
			t.Fatalf("jittered delay %s outside [800ms, 1s]", d)
		}
		seen[d] = true
	}
	if len(seen) < 10 {
		t.Errorf("only %d distinct delays in 200: no jitter", len(seen))
	}
}

func TestBackoffResets(t *testing.T) {
	b := backoff.Backoff{Policy: backoff.Policy{Min: time.Millisecond, Max: time.Hour}}
	b.Next()
	b.Next()
	if got := b.Next(); got != 4*time.Millisecond {
		t.Fatalf("third failure: %s, want 4ms", got)
	}
	b.Reset()
	if got := b.Next(); got != time.Millisecond {
		t.Fatalf("after a reset: %s, want 1ms", got)
	}
}
