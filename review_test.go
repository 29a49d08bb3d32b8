package lockbox_test

import (
	"testing"
	"time"

	"github.com/lockbox-dev/lockbox"
)

func op(id string, groups ...string) *lockbox.User {
	return &lockbox.User{ID: lockbox.UserID(id), Kind: lockbox.KindOperator, Roles: []lockbox.Role{lockbox.RoleEngineer}, Groups: groups}
}

func TestInternalApprovalsCountEachPersonOnce(t *testing.T) {
	two := []lockbox.GroupApprovals{{Group: "support-leads", Count: 1}, {Group: "devops-managers", Count: 1}}
	both := op("both", "support-leads", "devops-managers")
	lead := op("lead", "support-leads")
	mgr := op("mgr", "devops-managers")
	cases := []struct {
		name      string
		reqs      []lockbox.GroupApprovals
		approvers []*lockbox.User
		want      bool
	}{
		{"nothing required", nil, nil, true},
		{"one lead for one seat", []lockbox.GroupApprovals{{Group: "support-leads", Count: 1}}, []*lockbox.User{lead}, true},
		{"no approver", []lockbox.GroupApprovals{{Group: "support-leads", Count: 1}}, nil, false},
		{"wrong group", []lockbox.GroupApprovals{{Group: "support-leads", Count: 1}}, []*lockbox.User{mgr}, false},
		{"one person in both groups fills one seat", two, []*lockbox.User{both}, false},
		{"the same person twice counts once", []lockbox.GroupApprovals{{Group: "support-leads", Count: 2}}, []*lockbox.User{lead, lead}, false},
		{"two people, one in both groups", two, []*lockbox.User{both, lead}, true},
		{"assignment needs backtracking", two, []*lockbox.User{both, mgr}, true},
		{"a lead and a manager", two, []*lockbox.User{lead, mgr}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := lockbox.InternalApprovalsMet(c.reqs, c.approvers); got != c.want {
				t.Fatalf("InternalApprovalsMet = %v, want %v", got, c.want)
			}
		})
	}
}

func TestZeroRequiredApprovalsNeverApproves(t *testing.T) {
	apr := &lockbox.User{ID: "a", Kind: lockbox.KindCustomer, TenantID: "t", Roles: []lockbox.Role{lockbox.RoleLockboxApprover}}
	for _, n := range []int{0, -1} {
		s := lockbox.DefaultLockboxSettings()
		s.ApprovalsRequired = n
		met, err := lockbox.CustomerApprovalsMet("t", s, []*lockbox.User{apr})
		if met || err == nil {
			t.Fatalf("approvals_required=%d: met=%v err=%v, want an error and no approval", n, met, err)
		}
		if s.Validate() == nil {
			t.Fatalf("approvals_required=%d passed validation", n)
		}
	}
}

func pendingCustomer() *lockbox.AccessRequest {
	return &lockbox.AccessRequest{
		ID: "req_1", TenantID: "t", RequesterID: "eng", Status: lockbox.StatusPendingCustomer,
		RequestedDuration: lockbox.Duration(2 * time.Hour), DecisionDeadline: t0.Add(time.Hour),
		Policy: lockbox.Decision{Allowed: true, CustomerApprovalRequired: true, MaxDuration: lockbox.Duration(8 * time.Hour)},
	}
}

func TestCustomerReviewRules(t *testing.T) {
	settings := lockbox.DefaultLockboxSettings()
	settings.ApprovalsRequired = 2
	a1 := &lockbox.User{ID: "a1", Kind: lockbox.KindCustomer, TenantID: "t", Roles: []lockbox.Role{lockbox.RoleLockboxApprover}}
	a2 := &lockbox.User{ID: "a2", Kind: lockbox.KindCustomer, TenantID: "t", Roles: []lockbox.Role{lockbox.RoleTenantAdmin}}
	member := &lockbox.User{ID: "m", Kind: lockbox.KindCustomer, TenantID: "t", Roles: []lockbox.Role{lockbox.RoleMember}}
	other := &lockbox.User{ID: "o", Kind: lockbox.KindCustomer, TenantID: "other", Roles: []lockbox.Role{lockbox.RoleTenantAdmin}}
	mfa := func(u *lockbox.User) *lockbox.Principal {
		return &lockbox.Principal{User: u, AMR: []string{"pwd", "otp"}}
	}
	approve := lockbox.ReviewInput{Decision: lockbox.DecisionApprove, Reason: "ok"}
	rc := func() lockbox.ReviewContext {
		return lockbox.ReviewContext{Settings: settings, Reviewers: map[lockbox.UserID]*lockbox.User{"a1": a1, "a2": a2}}
	}

	r := pendingCustomer()
	if _, err := r.ApplyReview(&lockbox.Principal{User: a1, AMR: []string{"pwd"}}, approve, rc(), t0); codeOf(err) != lockbox.CodeForbidden {
		t.Fatalf("approval without MFA: %v", err)
	}
	for _, u := range []*lockbox.User{member, other, op("lead", "support-leads")} {
		if _, err := r.ApplyReview(mfa(u), approve, rc(), t0); codeOf(err) != lockbox.CodeForbidden {
			t.Fatalf("approval by %s: %v", u.ID, err)
		}
	}
	if len(r.Reviews) != 0 {
		t.Fatalf("refused reviews were recorded: %+v", r.Reviews)
	}
	short := lockbox.Duration(3 * time.Hour)
	if _, err := r.ApplyReview(mfa(a1), lockbox.ReviewInput{Decision: lockbox.DecisionApprove, Duration: short}, rc(), t0); codeOf(err) != lockbox.CodeInvalid {
		t.Fatalf("lengthening the duration: %v", err)
	}
	out, err := r.ApplyReview(mfa(a1), lockbox.ReviewInput{Decision: lockbox.DecisionApprove, Duration: lockbox.Duration(30 * time.Minute)}, rc(), t0)
	if err != nil || out.To != lockbox.StatusPendingCustomer {
		t.Fatalf("first of two approvals: %v, %s", err, out.To)
	}
	if _, err := r.ApplyReview(mfa(a1), approve, rc(), t0); codeOf(err) != lockbox.CodeConflict {
		t.Fatalf("second review by the same person: %v", err)
	}
	out, err = r.ApplyReview(mfa(a2), approve, rc(), t0.Add(time.Minute))
	if err != nil || out.To != lockbox.StatusApproved {
		t.Fatalf("second approver: %v, %s", err, out.To)
	}
	if got := r.AccessExpiresAt.Sub(*r.AccessStartsAt); got != 30*time.Minute {
		t.Fatalf("window %s, want the shortened 30m", got)
	}
	if _, err := r.ApplyReview(mfa(a1), approve, rc(), t0); codeOf(err) != lockbox.CodeConflict {
		t.Fatalf("review after the stage ended: %v", err)
	}
}

func TestDemotedApproverNoLongerCounts(t *testing.T) {
	settings := lockbox.DefaultLockboxSettings()
	settings.ApprovalsRequired = 2
	a1 := &lockbox.User{ID: "a1", Kind: lockbox.KindCustomer, TenantID: "t", Roles: []lockbox.Role{lockbox.RoleLockboxApprover}}
	a2 := &lockbox.User{ID: "a2", Kind: lockbox.KindCustomer, TenantID: "t", Roles: []lockbox.Role{lockbox.RoleLockboxApprover}}
	r := pendingCustomer()
	mfa := func(u *lockbox.User) *lockbox.Principal {
		return &lockbox.Principal{User: u, AMR: []string{"pwd", "otp"}}
	}
	if _, err := r.ApplyReview(mfa(a1), lockbox.ReviewInput{Decision: lockbox.DecisionApprove}, lockbox.ReviewContext{Settings: settings, Reviewers: map[lockbox.UserID]*lockbox.User{}}, t0); err != nil {
		t.Fatal(err)
	}
	demoted := *a1
	demoted.Roles = []lockbox.Role{lockbox.RoleMember}
	out, err := r.ApplyReview(mfa(a2), lockbox.ReviewInput{Decision: lockbox.DecisionApprove},
		lockbox.ReviewContext{Settings: settings, Reviewers: map[lockbox.UserID]*lockbox.User{"a1": &demoted}}, t0)
	if err != nil || out.To != lockbox.StatusPendingCustomer {
		t.Fatalf("with the first approver demoted: %v, %s; want still pending", err, out.To)
	}
}

func TestSelfReviewAndDenyShortCircuit(t *testing.T) {
	lead := op("lead", "support-leads")
	r := &lockbox.AccessRequest{ID: "r", TenantID: "t", RequesterID: "lead", Status: lockbox.StatusPendingInternal,
		RequestedDuration: lockbox.Duration(time.Hour), DecisionDeadline: t0.Add(time.Hour),
		Policy: lockbox.Decision{InternalApprovals: []lockbox.GroupApprovals{{Group: "support-leads", Count: 2}}, CustomerApprovalRequired: true}}
	rc := lockbox.ReviewContext{Settings: lockbox.DefaultLockboxSettings(), Reviewers: map[lockbox.UserID]*lockbox.User{}}
	if _, err := r.ApplyReview(&lockbox.Principal{User: lead, AMR: []string{"pwd", "otp"}}, lockbox.ReviewInput{Decision: lockbox.DecisionApprove}, rc, t0); codeOf(err) != lockbox.CodeForbidden {
		t.Fatalf("self review: %v", err)
	}
	if _, err := r.ApplyReview(&lockbox.Principal{User: op("nogroup"), AMR: []string{"pwd", "otp"}}, lockbox.ReviewInput{Decision: lockbox.DecisionApprove}, rc, t0); codeOf(err) != lockbox.CodeForbidden {
		t.Fatalf("review by an operator outside the groups: %v", err)
	}
	if _, err := r.ApplyReview(&lockbox.Principal{User: op("l2", "support-leads"), AMR: []string{"pwd", "otp"}}, lockbox.ReviewInput{Decision: lockbox.DecisionApprove}, rc, t0); err != nil || r.Status != lockbox.StatusPendingInternal {
		t.Fatalf("one of two internal approvals: %v %s", err, r.Status)
	}
	out, err := r.ApplyReview(&lockbox.Principal{User: op("l3", "support-leads")}, lockbox.ReviewInput{Decision: lockbox.DecisionDeny, Reason: "no"}, rc, t0)
	if err != nil || out.To != lockbox.StatusDenied || r.EndReason != lockbox.EndDenied {
		t.Fatalf("deny after an approval: %v %s", err, out.To)
	}
}
