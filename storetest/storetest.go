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
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

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

// wantEqual fails with the first difference between got and want.
func wantEqual(t *testing.T, what string, got, want any) {
	t.Helper()
	if d := diff("", reflect.ValueOf(got), reflect.ValueOf(want)); d != "" {
		t.Fatalf("%s differs: %s", what, d)
	}
}

var timeType = reflect.TypeFor[time.Time]()

// diff reports the first difference between a and b, field by field. Times
// must be the same instant and in UTC; a nil and an empty slice are equal.
func diff(path string, a, b reflect.Value) string {
	if !a.IsValid() || !b.IsValid() {
		if a.IsValid() != b.IsValid() {
			return fmt.Sprintf("%s: got %v, want %v", path, a, b)
		}
		return ""
	}
	if a.Type() != b.Type() {
		return fmt.Sprintf("%s: got type %s, want %s", path, a.Type(), b.Type())
	}
	if a.Type() == timeType {
		ta, tb := a.Interface().(time.Time), b.Interface().(time.Time)
		if !ta.Equal(tb) {
			return fmt.Sprintf("%s: got %s, want %s", path, ta.Format(time.RFC3339Nano), tb.Format(time.RFC3339Nano))
		}
		if ta.Location() != time.UTC {
			return fmt.Sprintf("%s: got %s in %s, want UTC", path, ta.Format(time.RFC3339Nano), ta.Location())
		}
		return ""
	}
	switch a.Kind() {
	case reflect.Pointer, reflect.Interface:
		if a.IsNil() || b.IsNil() {
			if a.IsNil() != b.IsNil() {
				return fmt.Sprintf("%s: got %s, want %s", path, show(a), show(b))
			}
			return ""
		}
		return diff(path, a.Elem(), b.Elem())
	case reflect.Struct:
		for i := range a.NumField() {
			f := a.Type().Field(i)
			if !f.IsExported() {
				continue
			}
			if d := diff(path+"."+f.Name, a.Field(i), b.Field(i)); d != "" {
				return d
			}
		}
		return ""
	case reflect.Slice, reflect.Array:
		if a.Len() != b.Len() {
			return fmt.Sprintf("%s: got %d elements %v, want %d %v", path, a.Len(), show(a), b.Len(), show(b))
		}
		for i := range a.Len() {
			if d := diff(fmt.Sprintf("%s[%d]", path, i), a.Index(i), b.Index(i)); d != "" {
				return d
			}
		}
		return ""
	case reflect.Map:
		if a.Len() != b.Len() {
			return fmt.Sprintf("%s: got %v, want %v", path, show(a), show(b))
		}
		for _, k := range a.MapKeys() {
			if d := diff(fmt.Sprintf("%s[%v]", path, k), a.MapIndex(k), b.MapIndex(k)); d != "" {
				return d
			}
		}
		return ""
	}
	if !a.Equal(b) {
		return fmt.Sprintf("%s: got %s, want %s", path, show(a), show(b))
	}
	return ""
}

func show(v reflect.Value) string {
	if v.Kind() == reflect.Pointer && !v.IsNil() {
		return "&" + show(v.Elem())
	}
	if v.Kind() == reflect.Slice && v.Type().Elem().Kind() == reflect.Uint8 {
		return fmt.Sprintf("%q", v.Bytes())
	}
	return fmt.Sprintf("%+v", v.Interface())
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
