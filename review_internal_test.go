package lockbox

import (
	"testing"
	"time"
)

// TestApproversAtDecisionTime tests approvers() on its own: of the stored
// approvals, only those whose reviewer holds the right now are returned.
// CustomerApprovalsMet checks the customer role again, so through
// ApplyReview either check hides the other one's removal; this test keeps
// approvers() honest by itself.
func TestApproversAtDecisionTime(t *testing.T) {
	now := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	cust := func(id UserID, tenant TenantID, roles ...Role) *User {
		return &User{ID: id, Kind: KindCustomer, TenantID: tenant, Roles: roles}
	}
	removed := cust("gone", "t", RoleLockboxApprover)
	removed.DeletedAt = &now
	cases := []struct {
		name  string
		user  *User
		stage Stage
		mfa   bool
		want  bool
	}{
		{"an approver with MFA", cust("a", "t", RoleLockboxApprover), StageCustomer, true, true},
		{"a tenant admin with MFA", cust("a", "t", RoleTenantAdmin), StageCustomer, true, true},
		{"an approver without MFA", cust("a", "t", RoleLockboxApprover), StageCustomer, false, false},
		{"an approver demoted to member", cust("a", "t", RoleMember), StageCustomer, true, false},
		{"an approver of another tenant", cust("a", "other", RoleTenantAdmin), StageCustomer, true, false},
		{"a removed approver", removed, StageCustomer, true, false},
		{"an operator at the customer stage", &User{ID: "op", Kind: KindOperator, TenantID: "t", Roles: []Role{RoleLockboxApprover}}, StageCustomer, true, false},
		{"a lead with MFA", &User{ID: "lead", Kind: KindOperator, Roles: []Role{RoleEngineer}, Groups: []string{"g"}}, StageInternal, true, true},
		{"a lead without MFA", &User{ID: "lead", Kind: KindOperator, Roles: []Role{RoleEngineer}, Groups: []string{"g"}}, StageInternal, false, false},
		{"a customer at the internal stage", &User{ID: "c", Kind: KindCustomer, TenantID: "t", Roles: []Role{RoleTenantAdmin}, Groups: []string{"g"}}, StageInternal, true, false},
		{"the requester", &User{ID: "eng", Kind: KindOperator, Roles: []Role{RoleEngineer}, Groups: []string{"g"}}, StageInternal, true, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := &AccessRequest{TenantID: "t", RequesterID: "eng",
				Reviews: []Review{{ReviewerID: c.user.ID, Stage: c.stage, Decision: DecisionApprove, MFA: c.mfa}}}
			got := r.approvers(c.stage, ReviewContext{Reviewers: map[UserID]*User{c.user.ID: c.user}})
			if (len(got) == 1) != c.want {
				t.Fatalf("approvers() = %d users, want counted=%v", len(got), c.want)
			}
			// Denials and the other stage's approvals never count.
			r.Reviews[0].Decision = DecisionDeny
			if got := r.approvers(c.stage, ReviewContext{Reviewers: map[UserID]*User{c.user.ID: c.user}}); len(got) != 0 {
				t.Fatal("a deny counted as an approval")
			}
		})
	}
}
