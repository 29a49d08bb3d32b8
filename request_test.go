package lockbox_test

import (
	"errors"
	"testing"
	"time"

	"github.com/lockbox-dev/lockbox"
)

// The status machine of docs/design.md §2, written out independently of request.go:
// every pair not listed here must be refused.
var wantTransitions = map[lockbox.RequestStatus][]lockbox.RequestStatus{
	"pending_internal": {"pending_customer", "approved", "denied", "expired", "canceled"},
	"pending_customer": {"approved", "denied", "expired", "canceled"},
	"approved":         {"completed", "revoked"},
}

func TestStatusMachine(t *testing.T) {
	for _, from := range lockbox.AllStatuses {
		for _, to := range lockbox.AllStatuses {
			want := false
			for _, s := range wantTransitions[from] {
				want = want || s == to
			}
			if got := lockbox.CanTransition(from, to); got != want {
				t.Errorf("CanTransition(%s, %s) = %v, want %v", from, to, got, want)
			}
		}
		if terminal := len(wantTransitions[from]) == 0; from.Terminal() != terminal {
			t.Errorf("%s.Terminal() = %v, want %v", from, from.Terminal(), terminal)
		}
	}
}

var t0 = time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)

func approvedRequest() *lockbox.AccessRequest {
	start, end := t0, t0.Add(time.Hour)
	return &lockbox.AccessRequest{ID: "req_1", TenantID: "tnt_a", RequesterID: "usr_eng", Status: lockbox.StatusApproved,
		AccessStartsAt: &start, AccessExpiresAt: &end, DecisionDeadline: t0.Add(-time.Minute)}
}

func TestSettle(t *testing.T) {
	pending := &lockbox.AccessRequest{Status: lockbox.StatusPendingCustomer, DecisionDeadline: t0}
	if pending.Settle(t0.Add(-time.Nanosecond)) {
		t.Fatal("settled before its deadline")
	}
	if !pending.Settle(t0.Add(time.Hour)) || pending.Status != lockbox.StatusExpired || !pending.EndedAt.Equal(t0) {
		t.Fatalf("pending past deadline: %s ended %v, want expired at the deadline", pending.Status, pending.EndedAt)
	}
	if pending.Settle(t0.Add(2 * time.Hour)) {
		t.Fatal("an expired request settled again")
	}
	r := approvedRequest()
	if r.Settle(t0.Add(59*time.Minute)) || !r.Active(t0.Add(59*time.Minute)) {
		t.Fatal("approved access ended inside its window")
	}
	if !r.Settle(t0.Add(time.Hour)) || r.Status != lockbox.StatusCompleted || r.EndReason != lockbox.EndDurationElapsed {
		t.Fatalf("at window end: %s %s", r.Status, r.EndReason)
	}
	if r.Active(t0.Add(time.Hour)) {
		t.Fatal("completed access is still active")
	}
}

func TestEndingAccess(t *testing.T) {
	eng := &lockbox.User{ID: "usr_eng", Kind: lockbox.KindOperator, Roles: []lockbox.Role{lockbox.RoleEngineer}}
	other := &lockbox.User{ID: "usr_other", Kind: lockbox.KindOperator, Roles: []lockbox.Role{lockbox.RoleEngineer}}
	approver := &lockbox.User{ID: "usr_apr", Kind: lockbox.KindCustomer, TenantID: "tnt_a", Roles: []lockbox.Role{lockbox.RoleLockboxApprover}}
	foreign := &lockbox.User{ID: "usr_f", Kind: lockbox.KindCustomer, TenantID: "tnt_b", Roles: []lockbox.Role{lockbox.RoleTenantAdmin}}
	opAdmin := &lockbox.User{ID: "usr_op", Kind: lockbox.KindOperator, Roles: []lockbox.Role{lockbox.RoleOperatorAdmin}}
	now := t0.Add(time.Minute)
	cases := []struct {
		name string
		do   func(r *lockbox.AccessRequest) error
		code lockbox.ErrorCode // "" for success
		want lockbox.RequestStatus
	}{
		{"release by requester", func(r *lockbox.AccessRequest) error { return r.Release(eng, now) }, "", lockbox.StatusCompleted},
		{"release by another engineer", func(r *lockbox.AccessRequest) error { return r.Release(other, now) }, lockbox.CodeForbidden, lockbox.StatusApproved},
		{"revoke by approver", func(r *lockbox.AccessRequest) error { return r.Revoke(approver, "done", now) }, "", lockbox.StatusRevoked},
		{"revoke by operator admin", func(r *lockbox.AccessRequest) error { return r.Revoke(opAdmin, "done", now) }, "", lockbox.StatusRevoked},
		{"revoke by another tenant's admin", func(r *lockbox.AccessRequest) error { return r.Revoke(foreign, "x", now) }, lockbox.CodeForbidden, lockbox.StatusApproved},
		{"revoke by the engineer", func(r *lockbox.AccessRequest) error { return r.Revoke(eng, "x", now) }, lockbox.CodeForbidden, lockbox.StatusApproved},
		{"cancel approved access", func(r *lockbox.AccessRequest) error { return r.Cancel(eng, now) }, lockbox.CodeConflict, lockbox.StatusApproved},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := approvedRequest()
			err := c.do(r)
			if got := codeOf(err); got != c.code {
				t.Fatalf("error %v (code %q), want code %q", err, got, c.code)
			}
			if r.Status != c.want {
				t.Fatalf("status %s, want %s", r.Status, c.want)
			}
			if c.code == "" && (r.EndedAt == nil || !r.EndedAt.Equal(now)) {
				t.Fatalf("ended_at %v, want %v", r.EndedAt, now)
			}
			// Terminal states never change.
			if r.Status.Terminal() {
				for _, again := range cases {
					if again.do(r) == nil {
						t.Fatalf("%q changed a %s request", again.name, r.Status)
					}
				}
			}
		})
	}
}

func codeOf(err error) lockbox.ErrorCode {
	if err == nil {
		return ""
	}
	var e *lockbox.Error
	if errors.As(err, &e) {
		return e.Code
	}
	return "?"
}
