package postgres_test

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/lockbox-dev/lockbox"
	"github.com/lockbox-dev/lockbox/postgres"
	"github.com/lockbox-dev/lockbox/postgres/pgtest"
	"github.com/lockbox-dev/lockbox/storetest"
	"github.com/lockbox-dev/lockbox/tlog"
)

// The store passes tlog's storage suite with leaves committed through
// Update and AppendEvent's steps.
func TestTLogStorage(t *testing.T) {
	storetest.TLogStorage(t, func(t *testing.T) tlog.Storage { return open(t, pgtest.URL(t)) },
		func(ctx context.Context, st tlog.Storage, log string, leaves ...[]byte) error {
			return postgres.AppendLeaves(ctx, st.(*postgres.Store), log, leaves...)
		})
}

func TestLogs(t *testing.T) {
	storetest.Logs(t, func(t *testing.T) storetest.LogStore { return open(t, pgtest.URL(t)) })
}

// The sequencer and the appenders of one log neither wait for nor fail each
// other: while a transaction that appended to a log is open (holding the
// log's log_heads row), the log's committed events integrate, and the
// transaction then commits at its first attempt.
func TestIntegrateBesideAppenders(t *testing.T) {
	s := open(t, pgtest.URL(t))
	ctx := t.Context()
	const log = "ten_1"
	for i := range 3 {
		if err := s.Update(ctx, func(tx lockbox.Tx) error {
			return tx.AppendEvent(ctx, lockbox.NewEvent(log, lockbox.EventUserCreated, "", lockbox.SystemClock(), map[string]int{"i": i}))
		}); err != nil {
			t.Fatal(err)
		}
	}
	appended, release := make(chan struct{}), make(chan struct{})
	attempts := 0
	done := make(chan error, 1)
	go func() {
		done <- s.Update(ctx, func(tx lockbox.Tx) error {
			attempts++
			if err := tx.AppendEvent(ctx, lockbox.NewEvent(log, lockbox.EventUserUpdated, "", lockbox.SystemClock(), nil)); err != nil {
				return err
			}
			if attempts == 1 {
				close(appended)
				<-release
			}
			return nil
		})
	}()
	<-appended
	ictx, cancel := context.WithTimeout(ctx, 5*time.Second)
	head, err := tlog.Integrate(ictx, s, log, 10)
	cancel()
	close(release)
	if err != nil || head.Size != 3 {
		t.Fatalf("Integrate beside an open append = %+v, %v; want the 3 committed events", head, err)
	}
	if err := <-done; err != nil || attempts != 1 {
		t.Fatalf("the append beside the sequencer: %v after %d attempts, want success at the first", err, attempts)
	}
	if head, err := tlog.Integrate(ctx, s, log, 10); err != nil || head.Size != 4 {
		t.Fatalf("Integrate after the append = %+v, %v; want size 4", head, err)
	}
}

// Two replicas integrating the same logs at once build one tree.
func TestIntegrateAcrossStores(t *testing.T) {
	url := pgtest.URL(t)
	a, b := open(t, url), open(t, url)
	ctx := t.Context()
	const log = "ten_1"
	for i := range 60 {
		s := []*postgres.Store{a, b}[i%2]
		if err := s.Update(ctx, func(tx lockbox.Tx) error {
			return tx.AppendEvent(ctx, lockbox.NewEvent(log, lockbox.EventUserCreated, "", lockbox.SystemClock(), map[string]int{"i": i}))
		}); err != nil {
			t.Fatal(err)
		}
	}
	errs := make(chan error, 2)
	for _, s := range []*postgres.Store{a, b} {
		go func() {
			for {
				head, err := tlog.Integrate(ctx, s, log, 3)
				if errors.Is(err, tlog.ErrHeadMoved) {
					continue // lost every race of this call: the other moves on
				}
				if err != nil || head.Size == 60 {
					errs <- err
					return
				}
			}
		}()
	}
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	leaves, err := a.Leaves(ctx, log, 0, 60)
	if err != nil {
		t.Fatal(err)
	}
	ref := tlog.NewMemStorage()
	ref.Append(log, leaves...)
	want, err := tlog.Integrate(ctx, ref, log, 60)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []*postgres.Store{a, b} {
		if head, err := s.TreeHead(ctx, log); err != nil || head.Size != 60 || !bytes.Equal(head.Root, want.Root) {
			t.Fatalf("head = %+v, %v; want size 60 root %x", head, err, want.Root)
		}
	}
}
