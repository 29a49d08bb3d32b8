package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/lockbox-dev/lockbox"
)

// testRevocationFeed checks the revocation feed enforcement points follow:
// increasing numbers in commit order (a rolled-back append leaves no item;
// PostgreSQL may skip its number), concurrent appends all succeed with
// distinct numbers, every field survives, a request appears once, and
// listing pages after a cursor.
func testRevocationFeed(t *testing.T, s lockbox.Store) {
	ctx := context.Background()
	head := func() int64 {
		t.Helper()
		var h int64
		if err := s.View(ctx, func(r lockbox.Reader) error {
			var err error
			h, err = r.RevocationHead(ctx)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return h
	}
	list := func(after int64, limit int) []lockbox.Revocation {
		t.Helper()
		var out []lockbox.Revocation
		if err := s.View(ctx, func(r lockbox.Reader) error {
			var err error
			out, err = r.ListRevocations(ctx, after, limit)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return out
	}
	if h := head(); h != 0 {
		t.Fatalf("empty feed has head %d", h)
	}
	if got := list(0, 10); len(got) != 0 {
		t.Fatalf("empty feed lists %v", got)
	}
	ended := time.Date(2030, 5, 1, 9, 30, 0, 123000, time.UTC)
	add := func(id string) (*lockbox.Revocation, error) {
		r := &lockbox.Revocation{RequestID: lockbox.RequestID(id), TenantID: "ten_a", Status: lockbox.StatusRevoked, EndedAt: ended}
		err := s.Update(ctx, func(tx lockbox.Tx) error { return tx.AppendRevocation(ctx, r) })
		return r, err
	}
	first, err := add("req_1")
	if err != nil || first.Seq < 1 {
		t.Fatalf("first append: seq %d, %v", first.Seq, err)
	}
	// A rolled-back append leaves no item.
	boom := errors.New("boom")
	err = s.Update(ctx, func(tx lockbox.Tx) error {
		if err := tx.AppendRevocation(ctx, &lockbox.Revocation{RequestID: "req_rolled", TenantID: "ten_a", Status: lockbox.StatusCompleted, EndedAt: ended}); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("rolled-back append: %v", err)
	}
	if _, err := add("req_1"); !errors.Is(err, lockbox.ErrConflict) {
		t.Fatalf("the same request twice: %v, want ErrConflict", err)
	}
	second, err := add("req_2")
	if err != nil || second.Seq <= first.Seq {
		t.Fatalf("after a rollback: seq %d, %v, want more than %d", second.Seq, err, first.Seq)
	}
	// Concurrent appends all succeed, with distinct numbers.
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := add(fmt.Sprintf("req_c%d", i))
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	all := list(0, 100)
	if len(all) != 10 {
		t.Fatalf("listed %d items, want 10", len(all))
	}
	for i, r := range all {
		if r.RequestID == "req_rolled" {
			t.Fatal("a rolled-back append is in the feed")
		}
		if i > 0 && r.Seq <= all[i-1].Seq {
			t.Fatalf("item %d has seq %d after %d: disorder", i, r.Seq, all[i-1].Seq)
		}
	}
	if h := head(); h != all[9].Seq {
		t.Fatalf("head %d, want the last seq %d", h, all[9].Seq)
	}
	if r := all[0]; r.RequestID != "req_1" || r.TenantID != "ten_a" || r.Status != lockbox.StatusRevoked || !r.EndedAt.Equal(ended) {
		t.Fatalf("round trip: %+v", r)
	}
	page := list(all[1].Seq, 3)
	if len(page) != 3 || page[0].Seq != all[2].Seq || page[2].Seq != all[4].Seq {
		t.Fatalf("page after the second item, of 3: %+v", page)
	}
	if got := list(all[9].Seq, 5); len(got) != 0 {
		t.Fatalf("after the head: %+v", got)
	}

	// Access records: new once, then known.
	for i, want := range []bool{true, false} {
		var isNew bool
		if err := s.Update(ctx, func(tx lockbox.Tx) error {
			var err error
			isNew, err = tx.MarkAccessRecord(ctx, "acc_1", "ten_a")
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if isNew != want {
			t.Fatalf("mark %d: new=%v, want %v", i, isNew, want)
		}
	}
}
