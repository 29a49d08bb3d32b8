package notify_test

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lockbox-dev/lockbox/notify"
)

// FuzzVerify: any header and body are checked without a panic, and only a
// signature made with the secret over the body verifies.
func FuzzVerify(f *testing.F) {
	now := time.Unix(1_800_000_000, 0)
	f.Add("t=1800000000,v1=00", []byte(`{}`))
	f.Add(notify.Sign("s", now, []byte(`{"a":1}`)), []byte(`{"a":1}`))
	f.Add("t=,v1=,v1=zz", []byte(nil))
	f.Fuzz(func(t *testing.T, header string, body []byte) {
		if err := notify.Verify("whsec_fuzz", header, body, now, time.Hour); err == nil {
			// It verified: the header must carry the secret's own
			// signature for its timestamp.
			var ts string
			for _, part := range strings.Split(header, ",") {
				if k, v, _ := strings.Cut(strings.TrimSpace(part), "="); k == "t" {
					ts = v
				}
			}
			sec, _ := strconv.ParseInt(ts, 10, 64)
			_, want, _ := strings.Cut(notify.Sign("whsec_fuzz", time.Unix(sec, 0), body), ",v1=")
			if !strings.Contains(header, want) {
				t.Fatalf("a forged signature verified: %q", header)
			}
		}
		h := notify.Sign("whsec_fuzz", now, body)
		if err := notify.Verify("whsec_fuzz", h, body, now, time.Minute); err != nil {
			t.Fatalf("own signature refused: %v", err)
		}
	})
}

// FuzzParseSMTPURL: any --smtp-url is parsed or refused without a panic,
// and an error never repeats the password.
func FuzzParseSMTPURL(f *testing.F) {
	f.Add("smtp://user:hunter2@mail.example.com:587")
	f.Add("smtps://u:hunter2@[::1]:465?starttls=maybe")
	f.Add("smtp://u:hunter2@host:99999")
	f.Fuzz(func(t *testing.T, raw string) {
		c, err := notify.ParseSMTPURL(raw, "lockbox@example.com")
		if err != nil {
			if strings.Contains(raw, ":hunter2@") && strings.Contains(err.Error(), "hunter2") {
				t.Fatalf("the error repeats the password: %v", err)
			}
			return
		}
		// String shows the password if it changes with the password (a
		// short password may also stand in the host or port by chance).
		other := c
		other.Password += "-another"
		if c.Password != "" && c.String() != other.String() {
			t.Fatalf("String() shows the password: %s", c)
		}
	})
}
