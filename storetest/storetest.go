// Package storetest is the conformance suite of lockbox.Store, after
// SpiceDB's pkg/datastore/test: every engine's tests call All, so the SQLite
// and PostgreSQL stores behave alike in everything the service relies on.
//
// The suite builds domain values directly and checks what a user of a store
// would check: every field of every entity survives a round trip, missing
// rows are ErrNotFound, failed transactions leave nothing behind, requests
// change by compare-and-set, reviews and events are append-only, every
// tenant's log is numbered 0, 1, 2… without gaps, lists page newest first,
// and secrets change by compare-and-set. Logs checks the tenant Merkle logs
// the stores also keep.
package storetest

import (
	"context"
	"errors"
	"go/token"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/lockbox-dev/lockbox"
)

// All runs every conformance test, each in its own subtest on a fresh store
// from newStore. newStore must return an empty, migrated store and close it
// when the test ends (t.Cleanup).
func All(t *testing.T, newStore func(t *testing.T) lockbox.Store) {
	tests := []struct {
		name string
		run  func(t *testing.T, s lockbox.Store)
	}{
		{"TenantRoundTrip", testTenantRoundTrip},
		{"UserRoundTrip", testUserRoundTrip},
		{"UserEmailUnique", testUserEmailUnique},
		{"CountUsers", testCountUsers},
		{"CountTenantAdmins", testCountTenantAdmins},
		{"CredentialRoundTrip", testCredentialRoundTrip},
		{"DeleteCredential", testDeleteCredential},
		{"Invitations", testInvitations},
		{"TicketRoundTrip", testTicketRoundTrip},
		{"Comments", testComments},
		{"RequestRoundTrip", testRequestRoundTrip},
		{"RequestCompareAndSet", testRequestCompareAndSet},
		{"RequestReviewsAppendOnly", testRequestReviewsAppendOnly},
		{"RequestScopeImmutable", testRequestScopeImmutable},
		{"NotFound", testNotFound},
		{"DuplicateIDs", testDuplicateIDs},
		{"RollbackOnError", testRollbackOnError},
		{"RollbackOnPanic", testRollbackOnPanic},
		{"EventRoundTrip", testEventRoundTrip},
		{"EventIndexesPerTenant", testEventIndexesPerTenant},
		{"EventFilters", testEventFilters},
		{"ConcurrentAppends", testConcurrentAppends},
		{"RevocationFeed", testRevocationFeed},
		{"PaginateTenants", testPaginateTenants},
		{"PaginateUsers", testPaginateUsers},
		{"PaginateTickets", testPaginateTickets},
		{"PaginateRequests", testPaginateRequests},
		{"PageErrors", testPageErrors},
		{"TenantFilter", testTenantFilter},
		{"UserFilter", testUserFilter},
		{"TicketFilter", testTicketFilter},
		{"RequestFilter", testRequestFilter},
		{"ListDueRequests", testListDueRequests},
		{"Watch", testWatch},
		{"RunExclusive", testRunExclusive},
		{"Secrets", testSecrets},
		{"Throttle", testThrottle},
		{"NotificationOutbox", testNotificationOutbox},
		{"NotificationClaimsConcurrent", testNotificationClaimsConcurrent},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.run(t, newStore(t))
		})
	}
}

// base is the suite's clock: times carry microseconds, which every store
// must keep.
var base = time.Date(2025, time.March, 14, 9, 26, 53, 589793000, time.UTC)

// at returns base plus n minutes and n microseconds.
func at(n int) time.Time {
	return base.Add(time.Duration(n)*time.Minute + time.Duration(n)*time.Microsecond)
}

func ptr[T any](v T) *T { return &v }

// update runs fn in a transaction that must commit.
func update(t *testing.T, s lockbox.Store, fn func(ctx context.Context, tx lockbox.Tx) error) {
	t.Helper()
	ctx := t.Context()
	if err := s.Update(ctx, func(tx lockbox.Tx) error { return fn(ctx, tx) }); err != nil {
		t.Fatalf("Update: %v", err)
	}
}

// view runs fn in a read transaction that must succeed.
func view(t *testing.T, s lockbox.Store, fn func(ctx context.Context, r lockbox.Reader) error) {
	t.Helper()
	ctx := t.Context()
	if err := s.View(ctx, func(r lockbox.Reader) error { return fn(ctx, r) }); err != nil {
		t.Fatalf("View: %v", err)
	}
}

// read returns what fn reads in a read transaction.
func read[T any](t *testing.T, s lockbox.Store, fn func(ctx context.Context, r lockbox.Reader) (T, error)) T {
	t.Helper()
	var v T
	view(t, s, func(ctx context.Context, r lockbox.Reader) error {
		var err error
		v, err = fn(ctx, r)
		return err
	})
	return v
}

// readErr returns the error fn reads in a read transaction.
func readErr(t *testing.T, s lockbox.Store, fn func(ctx context.Context, r lockbox.Reader) error) error {
	t.Helper()
	ctx := t.Context()
	return s.View(ctx, func(r lockbox.Reader) error { return fn(ctx, r) })
}

// writeErr returns the error of a transaction running fn.
func writeErr(t *testing.T, s lockbox.Store, fn func(ctx context.Context, tx lockbox.Tx) error) error {
	t.Helper()
	ctx := t.Context()
	return s.Update(ctx, func(tx lockbox.Tx) error { return fn(ctx, tx) })
}

// wantCode checks that err is a lockbox error of the code.
func wantCode(t *testing.T, what string, err error, code lockbox.ErrorCode) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: no error, want %s", what, code)
	}
	if got := lockbox.ErrorCodeOf(err); got != code {
		t.Fatalf("%s: error %q has code %s, want %s", what, err, got, code)
	}
}

// wantNotFound checks that err matches ErrNotFound and names the missing id.
func wantNotFound(t *testing.T, what string, err error, id string) {
	t.Helper()
	if !errors.Is(err, lockbox.ErrNotFound) {
		t.Fatalf("%s: error %v, want one matching lockbox.ErrNotFound", what, err)
	}
	if id != "" && !strings.Contains(err.Error(), id) {
		t.Errorf("%s: error %q does not name %s", what, err, id)
	}
}

// wantEqual fails with the differences between got and want.
func wantEqual(t *testing.T, what string, got, want any) {
	t.Helper()
	if d := cmp.Diff(want, got, equal); d != "" {
		t.Fatalf("%s differs (-want +got):\n%s", what, d)
	}
}

// equal is how the suite compares what a store returns with what went in:
// field by field, exported fields only; times must be the same instant and
// in UTC; a nil and an empty slice or map are the same list.
var equal = cmp.Options{
	cmpopts.EquateEmpty(),
	cmp.FilterPath(func(p cmp.Path) bool {
		f, ok := p.Last().(cmp.StructField)
		return ok && !token.IsExported(f.Name())
	}, cmp.Ignore()),
	cmp.Transformer("instant", func(t time.Time) string {
		s := t.Format(time.RFC3339Nano)
		if t.Location() != time.UTC {
			s += " in " + t.Location().String() + ", want UTC"
		}
		return s
	}),
}

// ids returns the IDs of xs in order.
func ids[T any, ID ~string](xs []T, id func(T) ID) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = string(id(x))
	}
	return out
}

// sortedIDs returns ids sorted, for comparing sets.
func sortedIDs[ID ~string](xs ...ID) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = string(x)
	}
	slices.Sort(out)
	return out
}
