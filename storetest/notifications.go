package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/lockbox-dev/lockbox"
)

// newNotification builds a pending notification due at due, with every
// field set.
func newNotification(tenant lockbox.TenantID, req lockbox.RequestID, key string, due time.Time) *lockbox.Notification {
	return &lockbox.Notification{
		ID: lockbox.NewID("ntf"), Key: key, TenantID: tenant, RequestID: req, EventID: lockbox.NewID("evt"),
		Kind: lockbox.NotifyApprovalNeeded, Channel: lockbox.ChannelEmail, Recipient: key + "@customer.example",
		Payload: json.RawMessage(`{"request":{"id":"` + string(req) + `","resources":["mailbox:alice"]},"z":1,"a":2}`),
		Status:  lockbox.NotificationPending, CreatedAt: due.Add(-time.Second), NextAttemptAt: ptr(due),
		History: []lockbox.NotificationAttempt{},
	}
}

func notificationQueue(t *testing.T, s lockbox.Store) lockbox.NotificationQueue {
	t.Helper()
	q, ok := s.(lockbox.NotificationQueue)
	if !ok {
		t.Fatalf("%T does not implement lockbox.NotificationQueue", s)
	}
	return q
}

func enqueue(t *testing.T, s lockbox.Store, ns ...*lockbox.Notification) {
	t.Helper()
	update(t, s, func(ctx context.Context, tx lockbox.Tx) error {
		for _, n := range ns {
			if ok, err := tx.EnqueueNotification(ctx, n); err != nil || !ok {
				return fmt.Errorf("enqueue %s: new=%v err=%v", n.Key, ok, err)
			}
		}
		return nil
	})
}

// testNotificationOutbox checks the outbox: rows round-trip, enqueueing is
// idempotent by key and rolls back with its transaction, claims are leases,
// and an outcome is stored only by the claim that holds the row.
func testNotificationOutbox(t *testing.T, s lockbox.Store) {
	ctx := t.Context()
	q := notificationQueue(t, s)
	tn := lockbox.TenantID("ten_outbox")
	req := lockbox.RequestID("req_outbox")
	a := newNotification(tn, req, "a", at(1))
	b := newNotification(tn, req, "b", at(5)) // due later
	enqueue(t, s, a, b)

	// Same key again: not stored, the first row unchanged.
	dup := newNotification(tn, req, "a", at(0))
	update(t, s, func(ctx context.Context, tx lockbox.Tx) error {
		ok, err := tx.EnqueueNotification(ctx, dup)
		if err == nil && ok {
			err = errors.New("a second notification with the same key was stored")
		}
		return err
	})
	// A rolled-back enqueue leaves nothing.
	boom := errors.New("boom")
	err := s.Update(ctx, func(tx lockbox.Tx) error {
		if _, err := tx.EnqueueNotification(ctx, newNotification(tn, req, "c", at(1))); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Update: %v, want boom", err)
	}
	got := read(t, s, func(ctx context.Context, r lockbox.Reader) ([]*lockbox.Notification, error) {
		return r.ListNotifications(ctx, lockbox.NotificationFilter{RequestID: req})
	})
	if len(got) != 2 {
		t.Fatalf("listed %d notifications, want 2 (a, b)", len(got))
	}
	for i, want := range []*lockbox.Notification{a, b} {
		if d := cmp.Diff(want, got[i], equal); d != "" {
			t.Errorf("round trip (-want +got):\n%s", d)
		}
	}
	if other := read(t, s, func(ctx context.Context, r lockbox.Reader) ([]*lockbox.Notification, error) {
		return r.ListNotifications(ctx, lockbox.NotificationFilter{RequestID: "req_other"})
	}); len(other) != 0 {
		t.Errorf("another request lists %d notifications", len(other))
	}

	// At at(2) only a is due; it is leased for a minute.
	claimed, err := q.ClaimNotifications(ctx, at(2), time.Minute, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(claimed) != 1 || claimed[0].ID != a.ID || claimed[0].Claim == "" {
		t.Fatalf("claimed %+v, want a with a claim", claimed)
	}
	first := claimed[0]
	if again, err := q.ClaimNotifications(ctx, at(2).Add(30*time.Second), time.Minute, 10); err != nil || len(again) != 0 {
		t.Fatalf("claim during the lease: %d rows, %v; want none", len(again), err)
	}
	// The lease passed: another worker takes a (and b, now due).
	later := at(6)
	second, err := q.ClaimNotifications(ctx, later, time.Minute, 10)
	if err != nil || len(second) != 2 {
		t.Fatalf("claim after the lease: %d rows, %v; want 2", len(second), err)
	}
	if second[0].Claim == first.Claim {
		t.Fatal("a new claim reused the old claim's token")
	}
	// The first worker's outcome is refused; the second's is stored.
	first.Status, first.Attempts = lockbox.NotificationDelivered, 1
	if err := q.FinishNotification(ctx, first); !errors.Is(err, lockbox.ErrConflict) {
		t.Fatalf("finish with a lost lease: %v, want ErrConflict", err)
	}
	var na *lockbox.Notification
	for _, n := range second {
		if n.ID == a.ID {
			na = n
		}
	}
	retry := later.Add(10 * time.Second)
	na.Attempts, na.LastError, na.NextAttemptAt = 1, "dial tcp: connection refused", &retry
	na.History = append(na.History, lockbox.NotificationAttempt{At: later, Error: na.LastError})
	if err := q.FinishNotification(ctx, na); err != nil {
		t.Fatal(err)
	}
	if err := q.FinishNotification(ctx, na); !errors.Is(err, lockbox.ErrConflict) {
		t.Fatalf("finish twice: %v, want ErrConflict (the lease was released)", err)
	}
	// Released: due again at retry, not before.
	if n, err := q.ClaimNotifications(ctx, retry.Add(-time.Second), time.Minute, 10); err != nil || len(n) != 0 {
		t.Fatalf("claim before the retry time: %d rows, %v", len(n), err)
	}
	third, err := q.ClaimNotifications(ctx, retry, time.Minute, 10)
	if err != nil || len(third) != 1 || third[0].ID != a.ID {
		t.Fatalf("claim at the retry time: %+v, %v", third, err)
	}
	n := third[0]
	delivered := retry.Add(time.Second)
	n.Status, n.Attempts, n.LastError, n.NextAttemptAt, n.DeliveredAt = lockbox.NotificationDelivered, 2, "", nil, &delivered
	n.History = append(n.History, lockbox.NotificationAttempt{At: delivered})
	if err := q.FinishNotification(ctx, n); err != nil {
		t.Fatal(err)
	}
	got = read(t, s, func(ctx context.Context, r lockbox.Reader) ([]*lockbox.Notification, error) {
		return r.ListNotifications(ctx, lockbox.NotificationFilter{RequestID: req, TenantID: tn})
	})
	want := *a
	want.Status, want.Attempts, want.LastError, want.NextAttemptAt, want.DeliveredAt = lockbox.NotificationDelivered, 2, "", nil, &delivered
	want.History = []lockbox.NotificationAttempt{{At: later, Error: "dial tcp: connection refused"}, {At: delivered}}
	if d := cmp.Diff(&want, got[0], equal); d != "" {
		t.Errorf("after delivery (-want +got):\n%s", d)
	}
	// Delivered rows are never claimed again.
	if n, err := q.ClaimNotifications(ctx, at(100), time.Minute, 10); err != nil || len(n) != 1 || n[0].ID != b.ID {
		t.Fatalf("claim after delivery: %d rows, %v; want b only", len(n), err)
	}
}

// testNotificationClaimsConcurrent runs workers claiming at once, as
// replicas do: every notification is claimed by exactly one of them.
func testNotificationClaimsConcurrent(t *testing.T, s lockbox.Store) {
	ctx := t.Context()
	q := notificationQueue(t, s)
	const total = 120
	var ns []*lockbox.Notification
	for i := range total {
		ns = append(ns, newNotification("ten_claims", "req_claims", fmt.Sprintf("k%03d", i), at(1)))
	}
	enqueue(t, s, ns...)
	var mu sync.Mutex
	seen := map[string]int{}
	var wg sync.WaitGroup
	errc := make(chan error, 4)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				got, err := q.ClaimNotifications(ctx, at(2), time.Hour, 7)
				if err != nil {
					errc <- err
					return
				}
				if len(got) == 0 {
					return
				}
				for _, n := range got {
					mu.Lock()
					seen[n.ID]++
					mu.Unlock()
					d := at(3)
					n.Status, n.Attempts, n.DeliveredAt, n.NextAttemptAt = lockbox.NotificationDelivered, 1, &d, nil
					if err := q.FinishNotification(ctx, n); err != nil {
						errc <- err
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Fatal(err)
	}
	if len(seen) != total {
		t.Errorf("%d of %d notifications claimed", len(seen), total)
	}
	for id, k := range seen {
		if k != 1 {
			t.Errorf("notification %s claimed %d times", id, k)
		}
	}
}
