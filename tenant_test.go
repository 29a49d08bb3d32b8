package lockbox_test

import (
	"testing"
	"time"

	"github.com/lockbox-dev/lockbox"
)

func TestHumanDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		5 * time.Minute:                 "5 min",
		30 * 24 * time.Hour:             "30 days",
		24 * time.Hour:                  "1 day",
		90 * time.Minute:                "1 h 30 min",
		45 * time.Second:                "45 s",
		time.Hour + 2*time.Second:       "1 h 2 s",
		1500 * time.Millisecond:         "1 s",
		0:                               "0s",
		time.Duration(-1) * time.Minute: "-1m0s",
	} {
		if got := lockbox.HumanDuration(d); got != want {
			t.Errorf("HumanDuration(%s) = %q, want %q", d, got, want)
		}
	}
}
