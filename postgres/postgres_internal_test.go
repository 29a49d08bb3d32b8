package postgres

import (
	"errors"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/lockbox-dev/lockbox"
	"github.com/lockbox-dev/lockbox/postgres/pgtest"
)

func TestNoticeRoundTrip(t *testing.T) {
	for _, n := range []lockbox.EventNotice{
		{TenantID: "ten_1", Index: 0, Type: lockbox.EventRequestApproved, RequestID: "req_1"},
		{TenantID: lockbox.SystemLog, Index: 1 << 40, Type: lockbox.EventOperatorUserChanged},
	} {
		payload := encodeNotice("public", n)
		got, ok := decodeNotice("public", payload)
		if !ok || got != n {
			t.Errorf("decode(encode(%+v)) = %+v, %v (payload %s)", n, got, ok, payload)
		}
		if _, ok := decodeNotice("other", payload); ok {
			t.Errorf("a notice of schema public was accepted in schema other")
		}
	}
	// A notice too long for NOTIFY goes as Lost.
	long := lockbox.EventNotice{TenantID: lockbox.TenantID(strings.Repeat("t", 9000)), Type: lockbox.EventUserCreated}
	payload := encodeNotice("public", long)
	if len(payload) > maxPayload {
		t.Fatalf("payload of %d bytes", len(payload))
	}
	if got, ok := decodeNotice("public", payload); !ok || !got.Lost {
		t.Errorf("oversized notice decoded as %+v, %v; want Lost", got, ok)
	}
	// What lockbox did not write is Lost: watchers re-read.
	for _, p := range []string{"", "garbage", `{"t":"ten_1"}`, `{"s":"public","t":"ten_1","i":-1,"y":"x"}`, `{"s":"public","i":3}`} {
		if got, ok := decodeNotice("public", p); !ok || !got.Lost {
			t.Errorf("decode(%q) = %+v, %v; want Lost", p, got, ok)
		}
	}
}

// decodeNotice reads payloads any program may send on the channel.
func FuzzDecodeNotice(f *testing.F) {
	f.Add(encodeNotice("public", lockbox.EventNotice{TenantID: "ten_1", Index: 3, Type: lockbox.EventRequestApproved, RequestID: "req_1"}))
	f.Add(`{"s":"public","lost":true}`)
	f.Add(`{"s":"public","i":1e30}`)
	f.Fuzz(func(t *testing.T, payload string) {
		n, ok := decodeNotice("public", payload)
		if !ok {
			return
		}
		if !n.Lost && (n.TenantID == "" || n.Type == "" || n.Index < 0) {
			t.Fatalf("decode(%q) = %+v: an incomplete notice that is not Lost", payload, n)
		}
		if !n.Lost {
			again, ok := decodeNotice("public", encodeNotice("public", n))
			if !ok || again != n {
				t.Fatalf("notice %+v does not survive a round trip: %+v", n, again)
			}
		}
	})
}

// fn that swallows a serialisation failure still gets re-run: the
// transaction was aborted whatever fn returned.
func TestSwallowedConflictRetried(t *testing.T) {
	s, err := Open(t.Context(), pgtest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	attempts := 0
	err = s.Update(t.Context(), func(ltx lockbox.Tx) error {
		attempts++
		if attempts == 1 {
			_ = ltx.(*tx).note(&pgconn.PgError{Code: codeSerializationFailure})
		}
		return nil
	})
	if err != nil || attempts != 2 {
		t.Fatalf("Update = %v after %d attempts, want success after 2", err, attempts)
	}
	// A swallowed error of another kind fails the Update, naming it.
	err = s.Update(t.Context(), func(ltx lockbox.Tx) error {
		_ = ltx.(*tx).note(&pgconn.PgError{Code: "23514", Message: "check violation"})
		return nil
	})
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "23514" {
		t.Fatalf("Update after a swallowed error = %v", err)
	}
}

func TestLockKeys(t *testing.T) {
	keys := map[int64]string{}
	for _, parts := range [][]string{
		{"lease", "public", "sweeper"}, {"lease", "other", "sweeper"}, {"lease", "public", "sweeper2"},
		{"migrate", "public"}, {"schema", "public"}, {"lease", "publicsweeper", ""},
	} {
		k := lockKey(parts...)
		if prev, ok := keys[k]; ok {
			t.Errorf("lock keys of %v and %s collide", parts, prev)
		}
		keys[k] = strings.Join(parts, "|")
	}
}
