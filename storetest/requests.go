package storetest

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/lockbox-dev/lockbox"
)

func getRequest(t *testing.T, s lockbox.Store, id lockbox.RequestID) *lockbox.AccessRequest {
	t.Helper()
	return read(t, s, func(ctx context.Context, r lockbox.Reader) (*lockbox.AccessRequest, error) {
		return r.GetRequest(ctx, id)
	})
}

func testRequestRoundTrip(t *testing.T, s lockbox.Store) {
	f := newFixture(t, s)
	r := newRequest(f.ticket, f.engineer.ID, at(3))
	r.Version = 42 // CreateRequest starts every request at version 1
	update(t, s, func(ctx context.Context, tx lockbox.Tx) error { return tx.CreateRequest(ctx, r) })
	if r.Version != 1 {
		t.Fatalf("CreateRequest left Version %d, want 1", r.Version)
	}
	got := getRequest(t, s, r.ID)
	wantEqual(t, "created request", got, r)
	if got.Version != 1 {
		t.Fatalf("stored Version = %d, want 1", got.Version)
	}

	// A request through its whole life: reviews of both stages, the window,
	// and how it ended. Every field is set.
	r.Reviews = append(r.Reviews,
		lockbox.Review{ReviewerID: f.lead.ID, Stage: lockbox.StageInternal, Decision: lockbox.DecisionApprove,
			Reason: "ok for support", Duration: lockbox.Duration(80 * time.Minute), MFA: true, CreatedAt: at(4)},
		lockbox.Review{ReviewerID: f.admin.ID, Stage: lockbox.StageCustomer, Decision: lockbox.DecisionApprove,
			Reason: "go ahead", Duration: lockbox.Duration(time.Hour), MFA: true, CreatedAt: at(5)},
	)
	r.Status = lockbox.StatusCompleted
	r.Policy.Allowed = false
	r.Policy.Reasons = append(r.Policy.Reasons, "re-evaluated")
	r.UpdatedAt = at(8)
	r.DecisionDeadline = at(5).Add(90 * time.Minute)
	r.GrantedDuration = lockbox.Duration(time.Hour)
	r.AccessStartsAt = ptr(at(5))
	r.AccessExpiresAt = ptr(at(5).Add(time.Hour))
	r.EndedAt = ptr(at(8))
	r.EndReason = lockbox.EndReleased
	r.EndedBy = f.engineer.ID
	r.EndComment = "done, thanks"
	update(t, s, func(ctx context.Context, tx lockbox.Tx) error { return tx.UpdateRequest(ctx, r) })
	if r.Version != 2 {
		t.Fatalf("UpdateRequest left Version %d, want 2", r.Version)
	}
	got = getRequest(t, s, r.ID)
	wantEqual(t, "updated request", got, r)

	// The list reads the same request, reviews included.
	list := read(t, s, func(ctx context.Context, rd lockbox.Reader) ([]*lockbox.AccessRequest, error) {
		l, _, err := rd.ListRequests(ctx, lockbox.RequestFilter{})
		return l, err
	})
	if len(list) != 1 {
		t.Fatalf("ListRequests returned %d requests, want 1", len(list))
	}
	wantEqual(t, "listed request", list[0], r)
}

func testRequestCompareAndSet(t *testing.T, s lockbox.Store) {
	f := newFixture(t, s)
	r := f.request(t, s, at(3), nil)

	// Two deciders read the same version.
	a, b := getRequest(t, s, r.ID), getRequest(t, s, r.ID)
	a.Status = lockbox.StatusPendingCustomer
	a.UpdatedAt = at(4)
	a.Reviews = append(a.Reviews, lockbox.Review{ReviewerID: f.lead.ID, Stage: lockbox.StageInternal,
		Decision: lockbox.DecisionApprove, Reason: "approve", MFA: true, CreatedAt: at(4)})
	b.Status = lockbox.StatusDenied
	b.UpdatedAt = at(5)
	b.EndedAt = ptr(at(5))
	b.EndReason = lockbox.EndDenied
	b.Reviews = append(b.Reviews, lockbox.Review{ReviewerID: f.engineer.ID, Stage: lockbox.StageInternal,
		Decision: lockbox.DecisionDeny, Reason: "deny", CreatedAt: at(5)})

	update(t, s, func(ctx context.Context, tx lockbox.Tx) error { return tx.UpdateRequest(ctx, a) })
	bVersion := b.Version
	err := writeErr(t, s, func(ctx context.Context, tx lockbox.Tx) error { return tx.UpdateRequest(ctx, b) })
	wantCode(t, "second UpdateRequest from the same version", err, lockbox.CodeConflict)
	if !errors.Is(err, lockbox.ErrConflict) {
		t.Fatalf("%v does not match ErrConflict", err)
	}
	if b.Version != bVersion {
		t.Errorf("a refused UpdateRequest changed Version from %d to %d", bVersion, b.Version)
	}
	got := getRequest(t, s, r.ID)
	wantEqual(t, "stored request after the race", got, a)

	// Inside one transaction, a stale version is refused as well.
	err = writeErr(t, s, func(ctx context.Context, tx lockbox.Tx) error {
		cur, err := tx.GetRequest(ctx, r.ID)
		if err != nil {
			return err
		}
		stale := *cur
		cur.UpdatedAt = at(6)
		if err := tx.UpdateRequest(ctx, cur); err != nil {
			return err
		}
		stale.UpdatedAt = at(7)
		return tx.UpdateRequest(ctx, &stale)
	})
	wantCode(t, "UpdateRequest with a version read before another update", err, lockbox.CodeConflict)
	got = getRequest(t, s, r.ID)
	wantEqual(t, "request after a rolled back transaction", got, a)
}

func testRequestReviewsAppendOnly(t *testing.T, s lockbox.Store) {
	f := newFixture(t, s)
	r := f.request(t, s, at(3), nil)
	first := lockbox.Review{ReviewerID: f.lead.ID, Stage: lockbox.StageInternal, Decision: lockbox.DecisionApprove,
		Reason: "first", Duration: lockbox.Duration(time.Hour), MFA: true, CreatedAt: at(4)}
	second := lockbox.Review{ReviewerID: f.admin.ID, Stage: lockbox.StageCustomer, Decision: lockbox.DecisionApprove,
		Reason: "second", CreatedAt: at(5)}
	third := lockbox.Review{ReviewerID: f.approver.ID, Stage: lockbox.StageCustomer, Decision: lockbox.DecisionDeny,
		Reason: "third", MFA: true, CreatedAt: at(6)}

	r.Reviews = []lockbox.Review{first}
	update(t, s, func(ctx context.Context, tx lockbox.Tx) error { return tx.UpdateRequest(ctx, r) })

	// The caller rewrites the stored review and appends two: only the new
	// ones are stored, the first stays as it was.
	tampered := first
	tampered.Decision = lockbox.DecisionDeny
	tampered.Reason = "rewritten"
	r.Reviews = []lockbox.Review{tampered, second, third}
	update(t, s, func(ctx context.Context, tx lockbox.Tx) error { return tx.UpdateRequest(ctx, r) })

	got := getRequest(t, s, r.ID)
	wantEqual(t, "reviews", got.Reviews, []lockbox.Review{first, second, third})

	// An update without new reviews keeps them all.
	got.UpdatedAt = at(9)
	update(t, s, func(ctx context.Context, tx lockbox.Tx) error { return tx.UpdateRequest(ctx, got) })
	wantEqual(t, "reviews after an update without reviews", getRequest(t, s, r.ID).Reviews, []lockbox.Review{first, second, third})
}

func testRequestScopeImmutable(t *testing.T, s lockbox.Store) {
	f := newFixture(t, s)
	r := f.request(t, s, at(3), nil)
	want := getRequest(t, s, r.ID)

	// What the approvers approve never changes after the request is filed.
	changed := *want
	changed.Resources = []string{"mailbox:*"}
	changed.AccessLevel = lockbox.LevelAdmin
	changed.Justification = "something else"
	changed.RequestedDuration = lockbox.Duration(30 * 24 * time.Hour)
	changed.RequesterID = f.lead.ID
	changed.TenantID = f.other.ID
	changed.CreatedAt = at(50)
	update(t, s, func(ctx context.Context, tx lockbox.Tx) error { return tx.UpdateRequest(ctx, &changed) })
	got := getRequest(t, s, r.ID)
	want.Version = changed.Version
	wantEqual(t, "request after an update that tried to change its scope", got, want)
}

func testListDueRequests(t *testing.T, s lockbox.Store) {
	f := newFixture(t, s)
	now := at(100)
	file := func(status lockbox.RequestStatus, deadline time.Time, expires *time.Time) lockbox.RequestID {
		return f.request(t, s, at(3), func(r *lockbox.AccessRequest) {
			r.Status = status
			r.DecisionDeadline = deadline
			if expires != nil {
				r.AccessStartsAt = ptr(expires.Add(-time.Hour))
				r.AccessExpiresAt = expires
			}
		}).ID
	}
	due := []lockbox.RequestID{
		file(lockbox.StatusPendingInternal, now.Add(-time.Minute), nil),
		file(lockbox.StatusPendingCustomer, now, nil), // a deadline at now has passed
		file(lockbox.StatusApproved, now.Add(-2*time.Hour), ptr(now.Add(-time.Microsecond))),
		file(lockbox.StatusApproved, now.Add(-3*time.Hour), ptr(now)),
	}
	// Not due: deadlines ahead, and ended requests whatever their deadlines.
	file(lockbox.StatusPendingInternal, now.Add(time.Microsecond), nil)
	file(lockbox.StatusPendingCustomer, now.Add(time.Hour), nil)
	file(lockbox.StatusApproved, now.Add(-time.Hour), ptr(now.Add(time.Microsecond)))
	for _, st := range []lockbox.RequestStatus{lockbox.StatusDenied, lockbox.StatusExpired, lockbox.StatusCanceled,
		lockbox.StatusRevoked, lockbox.StatusCompleted} {
		file(st, now.Add(-time.Hour), ptr(now.Add(-time.Minute)))
	}

	got := read(t, s, func(ctx context.Context, r lockbox.Reader) ([]lockbox.RequestID, error) {
		return r.ListDueRequests(ctx, now, 100)
	})
	wantEqual(t, "due requests", sortedIDs(got...), sortedIDs(due...))

	// The limit caps the answer.
	got = read(t, s, func(ctx context.Context, r lockbox.Reader) ([]lockbox.RequestID, error) {
		return r.ListDueRequests(ctx, now, 2)
	})
	if len(got) != 2 {
		t.Fatalf("ListDueRequests with limit 2 returned %d", len(got))
	}
	for _, id := range got {
		if !slices.Contains(due, id) {
			t.Fatalf("ListDueRequests returned %s, which is not due", id)
		}
	}

	// Before any deadline nothing is due.
	got = read(t, s, func(ctx context.Context, r lockbox.Reader) ([]lockbox.RequestID, error) {
		return r.ListDueRequests(ctx, at(0), 100)
	})
	if len(got) != 0 {
		t.Fatalf("ListDueRequests before every deadline = %v", got)
	}
}
