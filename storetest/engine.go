package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/lockbox-dev/lockbox"
)

// Raw is an engine's own access to a store's database, outside the store:
// to look under it or tamper with it.
type Raw struct {
	// Exec runs one statement.
	Exec func(ctx context.Context, query string) error
	// QueryRow runs a query returning one row and scans it into dest.
	QueryRow func(ctx context.Context, query string, dest ...any) error
}

// Engine is what the engine-level cases need from an engine's tests.
type Engine struct {
	// Open returns a fresh, empty, migrated store, closed when the test
	// ends, and raw access to its database.
	Open func(t *testing.T) (lockbox.Store, Raw)
	// Tamper are statements beyond UPDATE and DELETE that the append-only
	// triggers must also refuse (PostgreSQL's TRUNCATE).
	Tamper []string
	// Retryable is an example of an error on which Update runs its function
	// again (PostgreSQL's serialisation failure), or nil for an engine whose
	// Update never retries.
	Retryable error
}

// Engines runs the cases every engine shares below the Store interface:
// how it treats contexts, transactions, and SQL that bypasses the store.
// Each runs in its own subtest on a fresh store.
func Engines(t *testing.T, e Engine) {
	tests := []struct {
		name string
		run  func(t *testing.T, e Engine)
	}{
		{"CanceledContext", testCanceledContext},
		{"ViewDuringUpdate", testViewDuringUpdate},
		{"ViewIsReadOnly", testViewIsReadOnly},
		{"EventLeafStored", testEventLeafStored},
		{"EventRejectsInvalidData", testEventRejectsInvalidData},
		{"AppendOnlyTriggers", testAppendOnlyTriggers},
		{"UpdateRetries", testUpdateRetries},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.run(t, e) })
	}
}

func engineTenant(id lockbox.TenantID) *lockbox.Tenant {
	return &lockbox.Tenant{ID: id, Name: "acme", Lockbox: lockbox.DefaultLockboxSettings(), CreatedAt: lockbox.SystemClock()}
}

// A canceled context leaves the store usable.
func testCanceledContext(t *testing.T, e Engine) {
	s, _ := e.Open(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	err := s.Update(ctx, func(tx lockbox.Tx) error { return nil })
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Update with a canceled context = %v", err)
	}
	if err := s.Update(t.Context(), func(tx lockbox.Tx) error { return nil }); err != nil {
		t.Fatalf("Update after a canceled one: %v", err)
	}
}

// View never sees an Update's uncommitted work, and does not wait for it.
func testViewDuringUpdate(t *testing.T, e Engine) {
	s, _ := e.Open(t)
	ctx := t.Context()
	tn := engineTenant("ten_1")
	err := s.Update(ctx, func(tx lockbox.Tx) error {
		if err := tx.CreateTenant(ctx, tn); err != nil {
			return err
		}
		err := s.View(ctx, func(r lockbox.Reader) error {
			_, err := r.GetTenant(ctx, tn.ID)
			return err
		})
		if !errors.Is(err, lockbox.ErrNotFound) {
			t.Errorf("View during the Update saw its uncommitted tenant: %v", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// View is read-only even for a caller that asserts its Reader to a Tx.
func testViewIsReadOnly(t *testing.T, e Engine) {
	s, _ := e.Open(t)
	ctx := t.Context()
	err := s.View(ctx, func(r lockbox.Reader) error {
		tx, ok := r.(lockbox.Tx)
		if !ok {
			return nil
		}
		return tx.CreateTenant(ctx, engineTenant("ten_1"))
	})
	if err == nil {
		t.Fatal("a write inside View succeeded")
	}
}

// The stored leaf is the event's canonical JSON, and equals the canonical
// JSON of the event as ListEvents returns it, even when the appended event's
// time had nanoseconds and another zone.
func testEventLeafStored(t *testing.T, e Engine) {
	s, raw := e.Open(t)
	ctx := t.Context()
	zone := time.FixedZone("CET", 3600)
	ev := lockbox.NewEvent("ten_1", lockbox.EventRequestApproved, "usr_1",
		time.Date(2025, 6, 1, 12, 0, 0, 123456789, zone), map[string]any{"b": "<&>", "a": 1})
	ev.RequestID, ev.TicketID = "req_1", "tkt_1"
	if err := s.Update(ctx, func(tx lockbox.Tx) error { return tx.AppendEvent(ctx, ev) }); err != nil {
		t.Fatal(err)
	}
	if ev.Time.Location() != time.UTC || ev.Time.Nanosecond() != 123456000 {
		t.Errorf("AppendEvent did not normalise the time to UTC microseconds: %s", ev.Time.Format(time.RFC3339Nano))
	}
	var leaf []byte
	if err := raw.QueryRow(ctx, `SELECT leaf FROM events WHERE tenant_id = 'ten_1' AND idx = 0`, &leaf); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(leaf, ev.LeafBytes()) {
		t.Fatalf("stored leaf %s, want %s", leaf, ev.LeafBytes())
	}
	var evs []*lockbox.Event
	if err := s.View(ctx, func(r lockbox.Reader) (err error) {
		evs, err = r.ListEvents(ctx, lockbox.EventFilter{TenantID: "ten_1", After: -1})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if len(evs) != 1 || !bytes.Equal(evs[0].LeafBytes(), leaf) {
		t.Fatalf("leaf of the read event differs from the stored leaf %s", leaf)
	}
}

func testEventRejectsInvalidData(t *testing.T, e Engine) {
	s, _ := e.Open(t)
	ctx := t.Context()
	ev := lockbox.NewEvent("ten_1", lockbox.EventUserCreated, "", lockbox.SystemClock(), nil)
	ev.Data = []byte(`{"unterminated"`)
	if err := s.Update(ctx, func(tx lockbox.Tx) error { return tx.AppendEvent(ctx, ev) }); err == nil {
		t.Fatal("an event with invalid JSON data was appended")
	}
}

// Reviews and events cannot be changed even by SQL that bypasses the store.
func testAppendOnlyTriggers(t *testing.T, e Engine) {
	s, raw := e.Open(t)
	ctx := t.Context()
	now := lockbox.SystemClock()
	tn := engineTenant("ten_1")
	eng := &lockbox.User{ID: "usr_eng", Kind: lockbox.KindOperator, Email: "eng@op.example", Roles: []lockbox.Role{lockbox.RoleEngineer}, CreatedAt: now, UpdatedAt: now}
	lead := &lockbox.User{ID: "usr_lead", Kind: lockbox.KindOperator, Email: "lead@op.example", Roles: []lockbox.Role{lockbox.RoleEngineer}, CreatedAt: now, UpdatedAt: now}
	tk := &lockbox.Ticket{ID: "tkt_1", TenantID: tn.ID, Title: "t", Severity: 3, Status: lockbox.TicketOpen, CreatedBy: eng.ID, CreatedAt: now, UpdatedAt: now}
	r := &lockbox.AccessRequest{ID: "req_1", TenantID: tn.ID, TicketID: tk.ID, RequesterID: eng.ID, Status: lockbox.StatusPendingInternal,
		CreatedAt: now, UpdatedAt: now, DecisionDeadline: now.Add(time.Hour),
		Reviews: []lockbox.Review{{ReviewerID: lead.ID, Stage: lockbox.StageInternal, Decision: lockbox.DecisionApprove, CreatedAt: now}}}
	err := s.Update(ctx, func(tx lockbox.Tx) error {
		return errors.Join(tx.CreateTenant(ctx, tn), tx.CreateUser(ctx, eng), tx.CreateUser(ctx, lead),
			tx.CreateTicket(ctx, tk), tx.CreateRequest(ctx, r),
			tx.AppendEvent(ctx, lockbox.NewEvent(tn.ID, lockbox.EventRequestCreated, eng.ID, now, nil)))
	})
	if err != nil {
		t.Fatal(err)
	}
	tamper := append([]string{
		`UPDATE events SET type = 'x'`,
		`DELETE FROM events`,
		`UPDATE reviews SET reason = 'x'`,
		`DELETE FROM reviews`,
	}, e.Tamper...)
	for _, q := range tamper {
		if err := raw.Exec(ctx, q); err == nil {
			t.Errorf("%s succeeded", q)
		} else if !strings.Contains(err.Error(), "append-only") {
			t.Errorf("%s: %v, want the append-only trigger's error", q, err)
		}
	}
	var events, reviews int
	if err := raw.QueryRow(ctx, `SELECT (SELECT COUNT(*) FROM events), (SELECT COUNT(*) FROM reviews WHERE reason = '')`,
		&events, &reviews); err != nil {
		t.Fatal(err)
	}
	if events != 1 || reviews != 1 {
		t.Fatalf("after tampering: %d events, %d untouched reviews; want 1 and 1", events, reviews)
	}
}

// Update runs its function again after a retryable error, on a fresh
// transaction (the failed attempt's writes are gone), and returns any
// other error after one attempt.
func testUpdateRetries(t *testing.T, e Engine) {
	s, _ := e.Open(t)
	ctx := t.Context()
	if e.Retryable != nil {
		attempts := 0
		err := s.Update(ctx, func(tx lockbox.Tx) error {
			attempts++
			if err := tx.CreateTenant(ctx, engineTenant("ten_1")); err != nil {
				return err
			}
			if attempts == 1 {
				return fmt.Errorf("some use case: %w", e.Retryable)
			}
			return nil
		})
		if err != nil || attempts != 2 {
			t.Fatalf("Update after one retryable error = %v after %d attempts, want success after 2", err, attempts)
		}
		if err := s.View(ctx, func(r lockbox.Reader) error {
			_, err := r.GetTenant(ctx, "ten_1")
			return err
		}); err != nil {
			t.Fatalf("the retried Update's tenant: %v", err)
		}
	}
	attempts := 0
	boom := errors.New("boom")
	err := s.Update(ctx, func(tx lockbox.Tx) error {
		attempts++
		if err := tx.CreateTenant(ctx, engineTenant("ten_2")); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) || attempts != 1 {
		t.Errorf("Update of a failing fn = %v after %d attempts, want boom after 1", err, attempts)
	}
	err = s.View(ctx, func(r lockbox.Reader) error {
		_, err := r.GetTenant(ctx, "ten_2")
		return err
	})
	if !errors.Is(err, lockbox.ErrNotFound) {
		t.Errorf("the failed Update's tenant: %v, want it not found", err)
	}
}
