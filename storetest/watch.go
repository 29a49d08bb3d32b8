package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/lockbox-dev/lockbox"
)

// testWatch checks that watchers hear of committed events, in order, and
// never of rolled-back ones.
func testWatch(t *testing.T, s lockbox.Store) {
	ctx, cancel := context.WithCancel(t.Context())
	ch, err := s.Watch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	tn := lockbox.TenantID(lockbox.NewID("ten"))
	e1 := newEventAt(tn, lockbox.EventRequestApproved, at(1))
	e1.RequestID = "req_1"
	e2 := newEventAt(tn, lockbox.EventRequestRevoked, at(2))
	e2.RequestID = "req_1"
	update(t, s, func(ctx context.Context, tx lockbox.Tx) error {
		if err := tx.AppendEvent(ctx, e1); err != nil {
			return err
		}
		return tx.AppendEvent(ctx, e2)
	})
	failed := newEventAt(tn, lockbox.EventRequestApproved, at(3))
	if err := writeErr(t, s, func(ctx context.Context, tx lockbox.Tx) error {
		if err := tx.AppendEvent(ctx, failed); err != nil {
			return err
		}
		return errors.New("roll back")
	}); err == nil {
		t.Fatal("the failing Update succeeded")
	}
	e3 := newEventAt(tn, lockbox.EventRequestCreated, at(4))
	e3.RequestID = ""
	update(t, s, func(ctx context.Context, tx lockbox.Tx) error { return tx.AppendEvent(ctx, e3) })

	want := []lockbox.EventNotice{
		{TenantID: tn, Index: 0, Type: lockbox.EventRequestApproved, RequestID: "req_1"},
		{TenantID: tn, Index: 1, Type: lockbox.EventRequestRevoked, RequestID: "req_1"},
		{TenantID: tn, Index: 2, Type: lockbox.EventRequestCreated},
	}
	var got []lockbox.EventNotice
	timeout := time.After(5 * time.Second)
	for len(got) < len(want) {
		select {
		case n := <-ch:
			if n.TenantID == tn || n.Lost {
				got = append(got, n)
			}
		case <-timeout:
			t.Fatalf("after 5s the watcher heard %v, want %v", got, want)
		}
	}
	wantEqual(t, "notices", got, want)
	cancel()
	for range ch { // the channel closes when the context ends
	}
}

// testRunExclusive checks that the lease's function runs and stops with
// its context.
func testRunExclusive(t *testing.T, s lockbox.Store) {
	ctx, cancel := context.WithCancel(t.Context())
	started := make(chan struct{})
	stopped := make(chan struct{})
	done := make(chan error)
	go func() {
		done <- s.RunExclusive(ctx, "storetest", func(ctx context.Context) {
			close(started)
			<-ctx.Done()
			close(stopped)
		})
	}()
	select {
	case <-started:
	case <-time.After(10 * time.Second):
		t.Fatal("RunExclusive did not run fn within 10s")
	}
	cancel()
	select {
	case <-stopped:
	case <-time.After(10 * time.Second):
		t.Fatal("fn's context did not end with RunExclusive's")
	}
	if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
		t.Fatalf("RunExclusive: %v", err)
	}
}
