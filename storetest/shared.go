package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lockbox-dev/lockbox"
)

// Shared runs the conformance tests of engines that several processes share
// (PostgreSQL, not SQLite): what docs/design.md §7 promises replicas of `lockbox
// serve`. open returns two Stores on the same empty, migrated database, as
// two replicas would hold them, and closes them when the test ends. A test
// may close one of them itself first, to stand for a replica that dies, so
// Close must be safe to call twice.
//
// The tests check that a watcher of one store hears events committed through
// the other, within a second and only once they commit; that appends through
// both to one log are numbered without gaps; that concurrent
// compare-and-set updates of a request through both lose no update; that
// a lease is held by one store at a time and passes to the other when its
// holder closes; and that of two stores creating or updating the same
// secret at once, exactly one wins.
func Shared(t *testing.T, open func(t *testing.T) (a, b lockbox.Store)) {
	tests := []struct {
		name string
		run  func(t *testing.T, a, b lockbox.Store)
	}{
		{"WatchAcrossStores", testSharedWatch},
		{"AppendsAcrossStores", testSharedAppends},
		{"CompareAndSetAcrossStores", testSharedCompareAndSet},
		{"ReadModifyWriteAcrossStores", testSharedReadModifyWrite},
		{"ExclusiveAcrossStores", testSharedExclusive},
		{"NoWriteSkewAcrossStores", testSharedNoWriteSkew},
		{"ConcurrentEndingsAcrossStores", testSharedConcurrentEndings},
		{"SecretsAcrossStores", testSharedSecrets},
		{"ThrottleAcrossStores", testSharedThrottle},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, b := open(t)
			tc.run(t, a, b)
		})
	}
}

// noticeDelay is how soon a watcher must hear of an event committed by
// another store: "well under a second" (lockbox.Store.Watch).
const noticeDelay = time.Second

// testSharedWatch checks that events committed through one store reach the
// watchers of both, in commit order, and rolled-back ones reach neither.
func testSharedWatch(t *testing.T, a, b lockbox.Store) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	chA, err := a.Watch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	chB, err := b.Watch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	tn := lockbox.TenantID(lockbox.NewID("ten"))

	// next waits for the next notice of tn on ch, at most noticeDelay after
	// the commit.
	next := func(who string, ch <-chan lockbox.EventNotice, committed time.Time) lockbox.EventNotice {
		t.Helper()
		timeout := time.NewTimer(noticeDelay - time.Since(committed))
		defer timeout.Stop()
		for {
			select {
			case n, ok := <-ch:
				if !ok {
					t.Fatalf("watcher %s: channel closed", who)
				}
				if n.Lost {
					t.Fatalf("watcher %s: unexpected Lost notice", who)
				}
				if n.TenantID == tn {
					return n
				}
			case <-timeout.C:
				t.Fatalf("watcher %s heard nothing within %s of the commit", who, noticeDelay)
			}
		}
	}

	for round, s := range []lockbox.Store{a, b, a} {
		// A rolled-back append first: nobody may hear it.
		if err := writeErr(t, s, func(ctx context.Context, tx lockbox.Tx) error {
			if err := tx.AppendEvent(ctx, newEventAt(tn, lockbox.EventRequestDenied, at(round))); err != nil {
				return err
			}
			return errors.New("roll back")
		}); err == nil {
			t.Fatal("the failing Update succeeded")
		}
		e := newEventAt(tn, lockbox.EventRequestApproved, at(round))
		update(t, s, func(ctx context.Context, tx lockbox.Tx) error { return tx.AppendEvent(ctx, e) })
		committed := time.Now()
		want := lockbox.EventNotice{TenantID: tn, Index: int64(round), Type: e.Type, RequestID: e.RequestID}
		wantEqual(t, fmt.Sprintf("round %d: notice heard through a", round), next("a", chA, committed), want)
		wantEqual(t, fmt.Sprintf("round %d: notice heard through b", round), next("b", chB, committed), want)
	}
}

// testSharedAppends checks that concurrent appends to one log through both
// stores get the indexes 0..n-1, each once.
func testSharedAppends(t *testing.T, a, b lockbox.Store) {
	const perStore = 8
	tn := lockbox.TenantID(lockbox.NewID("ten"))
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		appended []string
	)
	for _, s := range []lockbox.Store{a, b} {
		for i := range perStore {
			wg.Go(func() {
				e := lockbox.NewEvent(tn, lockbox.EventUserCreated, "", at(i), map[string]int{"i": i})
				err := s.Update(t.Context(), func(tx lockbox.Tx) error {
					// Read the log first, as use cases do: the read must
					// not let two transactions take the same index.
					if _, err := tx.ListEvents(t.Context(), lockbox.EventFilter{TenantID: tn, After: -1}); err != nil {
						return err
					}
					return tx.AppendEvent(t.Context(), e)
				})
				if err != nil {
					t.Errorf("concurrent Update: %v (the store must serialise writers, not fail them)", err)
					return
				}
				mu.Lock()
				appended = append(appended, e.ID)
				mu.Unlock()
			})
		}
	}
	wg.Wait()
	for _, s := range []lockbox.Store{a, b} {
		got := listEvents(t, s, lockbox.EventFilter{TenantID: tn, After: -1})
		for i, e := range got {
			if e.Index != int64(i) {
				t.Fatalf("indexes after concurrent appends through two stores: %v, want 0..%d without gaps", eventIndexes(got), len(got)-1)
			}
		}
		wantEqual(t, "events after concurrent appends", sortedIDs(ids(got, func(e *lockbox.Event) string { return e.ID })...), sortedIDs(appended...))
	}
}

// testSharedCompareAndSet races two updates of the same version of a
// request, one through each store: exactly one may win.
func testSharedCompareAndSet(t *testing.T, a, b lockbox.Store) {
	f := newFixture(t, a)
	r := f.request(t, a, at(3), nil)
	for round := range 5 {
		ra, rb := getRequest(t, a, r.ID), getRequest(t, b, r.ID)
		read := ra.Version
		ra.EndComment, rb.EndComment = fmt.Sprintf("a%d", round), fmt.Sprintf("b%d", round)
		ra.UpdatedAt, rb.UpdatedAt = at(10+round), at(10+round)
		var (
			start = make(chan struct{})
			wg    sync.WaitGroup
			errs  [2]error
		)
		for i, pair := range []struct {
			s lockbox.Store
			r *lockbox.AccessRequest
		}{{a, ra}, {b, rb}} {
			wg.Go(func() {
				<-start
				errs[i] = pair.s.Update(t.Context(), func(tx lockbox.Tx) error { return tx.UpdateRequest(t.Context(), pair.r) })
			})
		}
		close(start)
		wg.Wait()
		var winner *lockbox.AccessRequest
		for i, err := range errs {
			switch {
			case err == nil:
				if winner != nil {
					t.Fatalf("round %d: both updates of version %d succeeded", round, read)
				}
				winner = []*lockbox.AccessRequest{ra, rb}[i]
			case lockbox.ErrorCodeOf(err) != lockbox.CodeConflict:
				t.Fatalf("round %d: the losing update failed with %q, want a conflict", round, err)
			}
		}
		if winner == nil {
			t.Fatalf("round %d: both updates failed: %v", round, errs)
		}
		wantEqual(t, fmt.Sprintf("round %d: stored request", round), getRequest(t, b, r.ID), winner)
	}
}

// testSharedReadModifyWrite has writers through both stores each read the
// request in its transaction and add its own review: none may be lost.
func testSharedReadModifyWrite(t *testing.T, a, b lockbox.Store) {
	f := newFixture(t, a)
	r := f.request(t, a, at(3), nil)
	const perStore = 4
	var reviewers []*lockbox.User
	for i := range 2 * perStore {
		reviewers = append(reviewers, newOperator(fmt.Sprintf("rev%d", i), at(2)))
	}
	update(t, a, func(ctx context.Context, tx lockbox.Tx) error {
		for _, u := range reviewers {
			if err := tx.CreateUser(ctx, u); err != nil {
				return err
			}
		}
		return nil
	})
	var (
		wg        sync.WaitGroup
		mu        sync.Mutex
		succeeded []string
	)
	for i, u := range reviewers {
		s := []lockbox.Store{a, b}[i%2]
		wg.Go(func() {
			err := s.Update(t.Context(), func(tx lockbox.Tx) error {
				cur, err := tx.GetRequest(t.Context(), r.ID)
				if err != nil {
					return err
				}
				cur.Reviews = append(cur.Reviews, lockbox.Review{ReviewerID: u.ID, Stage: lockbox.StageInternal,
					Decision: lockbox.DecisionApprove, Reason: string(u.ID), CreatedAt: at(4)})
				cur.UpdatedAt = at(4 + i)
				return tx.UpdateRequest(t.Context(), cur)
			})
			switch {
			case err == nil:
				mu.Lock()
				succeeded = append(succeeded, string(u.ID))
				mu.Unlock()
			case lockbox.ErrorCodeOf(err) != lockbox.CodeConflict:
				t.Errorf("read-modify-write of a request: %v (want success, or a conflict)", err)
			}
		})
	}
	wg.Wait()
	if len(succeeded) == 0 {
		t.Fatal("no read-modify-write succeeded")
	}
	got := getRequest(t, b, r.ID)
	if got.Version != int64(len(succeeded))+1 {
		t.Errorf("version after %d successful updates = %d, want %d: an update was lost", len(succeeded), got.Version, len(succeeded)+1)
	}
	var reviewed []string
	for _, v := range got.Reviews {
		reviewed = append(reviewed, string(v.ReviewerID))
	}
	wantEqual(t, "reviewers stored (those whose update succeeded)", sortedIDs(reviewed...), sortedIDs(succeeded...))
}

// testSharedExclusive checks that one store at a time holds a lease, that
// leases of other names are independent, and that when the holder closes
// (as a dying replica's connections drop) the other store takes over.
func testSharedExclusive(t *testing.T, a, b lockbox.Store) {
	const takeover = 5 * time.Second
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var (
		holders  atomic.Int32
		overlaps atomic.Int32
		acquired = make(chan int, 10) // index of the store that took the lease
		returned = make(chan int, 2)
	)
	stores := []lockbox.Store{a, b}
	for i, s := range stores {
		go func() {
			_ = s.RunExclusive(ctx, "storetest-shared", func(ctx context.Context) {
				if holders.Add(1) > 1 {
					overlaps.Add(1)
				}
				acquired <- i
				<-ctx.Done()
				holders.Add(-1)
			})
			returned <- i
		}()
	}
	var first int
	select {
	case first = <-acquired:
	case <-time.After(takeover):
		t.Fatalf("neither store took the lease within %s", takeover)
	}
	other := 1 - first

	// While the first holds the lease, the other runs a lease of another
	// name, and does not get this one.
	otherRan := make(chan struct{})
	otherCtx, stopOther := context.WithCancel(ctx)
	otherDone := make(chan error, 1)
	go func() {
		otherDone <- stores[other].RunExclusive(otherCtx, "storetest-other", func(ctx context.Context) {
			close(otherRan)
			<-ctx.Done()
		})
	}()
	select {
	case <-otherRan:
	case <-time.After(takeover):
		t.Fatalf("store %d did not get a free lease of another name within %s", other, takeover)
	}
	stopOther()
	if err := <-otherDone; err != nil && !errors.Is(err, context.Canceled) {
		t.Errorf("RunExclusive of the other lease: %v", err)
	}
	select {
	case i := <-acquired:
		t.Fatalf("store %d took the lease store %d holds", i, first)
	case <-time.After(2500 * time.Millisecond): // more than two polls of the waiting store
	}

	// The holder dies: the other takes over.
	closed := time.Now()
	if err := stores[first].Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	select {
	case i := <-returned:
		if i != first {
			t.Fatalf("store %d's RunExclusive returned when store %d closed", i, first)
		}
	case <-time.After(takeover):
		t.Fatalf("RunExclusive of the closed store did not return within %s", takeover)
	}
	select {
	case i := <-acquired:
		if i != other {
			t.Fatalf("store %d took the lease again after it closed", i)
		}
		t.Logf("store %d took over %s after store %d closed", other, time.Since(closed).Round(time.Millisecond), first)
	case <-time.After(takeover):
		t.Fatalf("store %d did not take over the lease within %s of store %d closing", other, takeover, first)
	}
	cancel()
	select {
	case <-returned:
	case <-time.After(takeover):
		t.Fatalf("RunExclusive did not return within %s of its context ending", takeover)
	}
	if n := overlaps.Load(); n > 0 {
		t.Fatalf("the lease was held by both stores at once (%d times)", n)
	}
}

// testSharedNoWriteSkew checks the property use cases rely on: two Updates
// that append to one log never both commit on the same reads. Here two
// replicas each demote a different one of a tenant's two admins, each only
// if it still sees another admin (the service's "keep one admin" rule):
// run serially, the second must see one admin and refuse. Repeated, since a
// race may or may not overlap.
func testSharedNoWriteSkew(t *testing.T, a, b lockbox.Store) {
	f := newFixture(t, a)
	for round := range 10 {
		second := newCustomer(f.tenant.ID, fmt.Sprintf("adm%d", round), at(2), lockbox.RoleTenantAdmin)
		update(t, a, func(ctx context.Context, tx lockbox.Tx) error { return tx.CreateUser(ctx, second) })
		admins := []*lockbox.User{getUser(t, a, f.admin.ID), second}
		var (
			start   = make(chan struct{})
			wg      sync.WaitGroup
			demoted atomic.Int32
		)
		for i, s := range []lockbox.Store{a, b} {
			wg.Go(func() {
				<-start
				err := s.Update(t.Context(), func(tx lockbox.Tx) error {
					n, err := tx.CountTenantAdmins(t.Context(), f.tenant.ID)
					if err != nil || n < 2 {
						return err
					}
					u, err := tx.GetUser(t.Context(), admins[i].ID)
					if err != nil {
						return err
					}
					u.Roles = []lockbox.Role{lockbox.RoleMember}
					if err := tx.UpdateUser(t.Context(), u); err != nil {
						return err
					}
					demoted.Add(1)
					return tx.AppendEvent(t.Context(), newEventAt(f.tenant.ID, lockbox.EventUserUpdated, at(3)))
				})
				if err != nil {
					t.Errorf("round %d: %v", round, err)
				}
			})
		}
		close(start)
		wg.Wait()
		n := read(t, a, func(ctx context.Context, r lockbox.Reader) (int, error) { return r.CountTenantAdmins(ctx, f.tenant.ID) })
		if n != 1 {
			t.Fatalf("round %d: %d tenant admins left after two racing demotions, want 1 (write skew)", round, n)
		}
		// Restore the fixture's admin for the next round.
		update(t, a, func(ctx context.Context, tx lockbox.Tx) error {
			u, err := tx.GetUser(ctx, f.admin.ID)
			if err != nil {
				return err
			}
			u.Roles = []lockbox.Role{lockbox.RoleTenantAdmin}
			if err := tx.UpdateUser(ctx, u); err != nil {
				return err
			}
			u2, err := tx.GetUser(ctx, second.ID)
			if err != nil {
				return err
			}
			u2.Roles = []lockbox.Role{lockbox.RoleMember}
			return tx.UpdateUser(ctx, u2)
		})
	}
}

func getUser(t *testing.T, s lockbox.Store, id lockbox.UserID) *lockbox.User {
	t.Helper()
	return read(t, s, func(ctx context.Context, r lockbox.Reader) (*lockbox.User, error) { return r.GetUser(ctx, id) })
}

// testSharedConcurrentEndings checks that many requests of different
// tenants ending at once through two stores all commit (they queue for
// their feed numbers; none runs out of retries) and get distinct numbers in
// increasing order.
func testSharedConcurrentEndings(t *testing.T, a, b lockbox.Store) {
	const n = 24
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		s := []lockbox.Store{a, b}[i%2]
		wg.Go(func() {
			tn := lockbox.TenantID(fmt.Sprintf("ten_end%d", i))
			errs <- s.Update(t.Context(), func(tx lockbox.Tx) error {
				r := &lockbox.Revocation{RequestID: lockbox.RequestID(fmt.Sprintf("req_end%d", i)), TenantID: tn,
					Status: lockbox.StatusCompleted, EndedAt: at(i)}
				if err := tx.AppendRevocation(t.Context(), r); err != nil {
					return err
				}
				return tx.AppendEvent(t.Context(), newEventAt(tn, lockbox.EventRequestCompleted, at(i)))
			})
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("a request ending concurrently failed: %v", err)
		}
	}
	items := read(t, a, func(ctx context.Context, r lockbox.Reader) ([]lockbox.Revocation, error) {
		return r.ListRevocations(ctx, 0, 100)
	})
	if len(items) != n {
		t.Fatalf("%d items in the feed, want %d", len(items), n)
	}
	for i := 1; i < len(items); i++ {
		if items[i].Seq <= items[i-1].Seq {
			t.Fatalf("feed numbers out of order: %d after %d", items[i].Seq, items[i-1].Seq)
		}
	}
}
