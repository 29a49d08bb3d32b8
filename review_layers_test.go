package lockbox_test

// Where a review rule is checked in two places, each place is tested on its
// own here: mayReview refuses the review when it is made; approvers() and
// CustomerApprovalsMet decide, at decision time, which stored approvals
// still count. A stored review that the first check would refuse today
// (made before a role change, or written by an older version) must not
// count through the second.

import (
	"testing"
	"time"

	"github.com/lockbox-dev/lockbox"
)

// TestCustomerApprovalsMetCountsOnlyApprovers calls the exported check with
// users that are not (or no longer) approvers of the tenant: none counts.
func TestCustomerApprovalsMetCountsOnlyApprovers(t *testing.T) {
	now := t0
	cust := func(id string, tenant lockbox.TenantID, roles ...lockbox.Role) *lockbox.User {
		return &lockbox.User{ID: lockbox.UserID(id), Kind: lockbox.KindCustomer, TenantID: tenant, Roles: roles}
	}
	a1 := cust("a1", "t", lockbox.RoleLockboxApprover)
	a2 := cust("a2", "t", lockbox.RoleTenantAdmin)
	removed := cust("gone", "t", lockbox.RoleLockboxApprover)
	removed.DeletedAt = &now
	notOfT := []*lockbox.User{
		cust("m", "t", lockbox.RoleMember),
		cust("o", "other", lockbox.RoleTenantAdmin),
		removed,
		{ID: "op", Kind: lockbox.KindOperator, Roles: []lockbox.Role{lockbox.RoleOperatorAdmin}},
		// An operator record naming the tenant and an approver role.
		{ID: "op2", Kind: lockbox.KindOperator, TenantID: "t", Roles: []lockbox.Role{lockbox.RoleLockboxApprover}},
	}
	settings := lockbox.DefaultLockboxSettings()
	settings.ApprovalsRequired = 2
	for _, u := range notOfT {
		t.Run(string(u.ID), func(t *testing.T) {
			met, err := lockbox.CustomerApprovalsMet("t", settings, []*lockbox.User{a1, u})
			if err != nil || met {
				t.Fatalf("a1 and %s: met=%v err=%v, want not met", u.ID, met, err)
			}
		})
	}
	if met, _ := lockbox.CustomerApprovalsMet("t", settings, []*lockbox.User{a1, a1}); met {
		t.Fatal("the same approver twice met two required approvals")
	}
	if met, err := lockbox.CustomerApprovalsMet("t", settings, []*lockbox.User{a1, a2}); err != nil || !met {
		t.Fatalf("two approvers: met=%v err=%v", met, err)
	}
}

// storedCustomerApproval is a request at the customer stage holding one
// approval, already stored, by reviewer (with or without MFA).
func storedCustomerApproval(reviewer lockbox.UserID, mfa bool) *lockbox.AccessRequest {
	r := pendingCustomer()
	r.Reviews = []lockbox.Review{{ReviewerID: reviewer, Stage: lockbox.StageCustomer, Decision: lockbox.DecisionApprove, MFA: mfa, CreatedAt: t0}}
	return r
}

// TestStoredApprovalWithoutMFADoesNotCount: a customer approval recorded
// without a second factor does not count towards approval, even though
// mayReview refuses such approvals today.
func TestStoredApprovalWithoutMFADoesNotCount(t *testing.T) {
	settings := lockbox.DefaultLockboxSettings()
	settings.ApprovalsRequired = 2
	a1 := &lockbox.User{ID: "a1", Kind: lockbox.KindCustomer, TenantID: "t", Roles: []lockbox.Role{lockbox.RoleLockboxApprover}}
	a2 := &lockbox.User{ID: "a2", Kind: lockbox.KindCustomer, TenantID: "t", Roles: []lockbox.Role{lockbox.RoleLockboxApprover}}
	for _, mfa := range []bool{false, true} {
		r := storedCustomerApproval("a1", mfa)
		rc := lockbox.ReviewContext{Settings: settings, Reviewers: map[lockbox.UserID]*lockbox.User{"a1": a1}}
		out, err := r.ApplyReview(&lockbox.Principal{User: a2, AMR: []string{"pwd", "otp"}}, lockbox.ReviewInput{Decision: lockbox.DecisionApprove}, rc, t0)
		want := lockbox.StatusPendingCustomer
		if mfa {
			want = lockbox.StatusApproved
		}
		if err != nil || out.To != want {
			t.Fatalf("a second approval after a stored one with MFA=%v: %s %v, want %s", mfa, out.To, err, want)
		}
	}
}

// TestStoredInternalApprovalsThatDoNotCount: stored internal approvals by the
// requester, or by a record that is not an active operator, do not fill a
// seat, even though mayReview and the self-review check refuse such reviews
// today.
func TestStoredInternalApprovalsThatDoNotCount(t *testing.T) {
	now := t0
	removed := op("gone", "support-leads")
	removed.DeletedAt = &now
	// A customer record that names the group (validation keeps groups off
	// customers; this engine must not rely on it).
	customer := &lockbox.User{ID: "cust", Kind: lockbox.KindCustomer, TenantID: "t", Roles: []lockbox.Role{lockbox.RoleTenantAdmin}, Groups: []string{"support-leads"}}
	cases := []struct {
		name   string
		stored *lockbox.User
	}{
		{"the requester", op("eng", "support-leads")},
		{"a removed lead", removed},
		{"a customer in the group", customer},
		{"a lead who left the group", op("left")},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := &lockbox.AccessRequest{ID: "r", TenantID: "t", RequesterID: "eng", Status: lockbox.StatusPendingInternal,
				RequestedDuration: lockbox.Duration(time.Hour), DecisionDeadline: t0.Add(time.Hour),
				Policy:  lockbox.Decision{InternalApprovals: []lockbox.GroupApprovals{{Group: "support-leads", Count: 2}}},
				Reviews: []lockbox.Review{{ReviewerID: c.stored.ID, Stage: lockbox.StageInternal, Decision: lockbox.DecisionApprove, MFA: true, CreatedAt: t0}}}
			rc := lockbox.ReviewContext{Settings: lockbox.DefaultLockboxSettings(), Reviewers: map[lockbox.UserID]*lockbox.User{c.stored.ID: c.stored}}
			out, err := r.ApplyReview(&lockbox.Principal{User: op("lead", "support-leads"), AMR: []string{"pwd", "otp"}}, lockbox.ReviewInput{Decision: lockbox.DecisionApprove}, rc, t0)
			if err != nil || out.To != lockbox.StatusPendingInternal {
				t.Fatalf("one lead after a stored approval by %s: %s %v, want still pending_internal", c.name, out.To, err)
			}
		})
	}
}
