package lockbox_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lockbox-dev/lockbox"
)

// TestApplyTenant checks what no policy can change: the customer step, the
// tenant's duration cap, and that an allowed decision names its internal
// approvers or waives the step on purpose.
func TestApplyTenant(t *testing.T) {
	on := lockbox.DefaultLockboxSettings() // enabled, 8h cap
	off := on
	off.Enabled = false
	leads := []lockbox.GroupApprovals{{Group: "support-leads", Count: 1}}
	cases := []struct {
		name         string
		in           lockbox.Decision
		settings     lockbox.LockboxSettings
		allowed      bool
		customer     bool
		max          time.Duration
		reasonHas    string
		approvalsOut []lockbox.GroupApprovals
	}{
		{"a policy cannot waive the customer step",
			lockbox.Decision{Allowed: true, InternalApprovals: leads, CustomerApprovalRequired: false, MaxDuration: lockbox.Duration(time.Hour)},
			on, true, true, time.Hour, "", leads},
		{"lockbox off: no customer step even if the policy asks",
			lockbox.Decision{Allowed: true, InternalApprovals: leads, CustomerApprovalRequired: true},
			off, true, false, 8 * time.Hour, "", leads},
		{"a policy cap above the tenant's is lowered to the tenant's",
			lockbox.Decision{Allowed: true, InternalApprovals: leads, MaxDuration: lockbox.Duration(24 * time.Hour)},
			on, true, true, 8 * time.Hour, "", leads},
		{"no cap from the policy: the tenant's",
			lockbox.Decision{Allowed: true, InternalApprovals: leads},
			on, true, true, 8 * time.Hour, "", leads},
		{"the internal step waived on purpose",
			lockbox.Decision{Allowed: true, InternalApprovalWaived: true},
			on, true, true, 8 * time.Hour, "", []lockbox.GroupApprovals{}},
		{"no approvers and no waiver is refused",
			lockbox.Decision{Allowed: true},
			on, false, true, 8 * time.Hour, "names no internal approvers", []lockbox.GroupApprovals{}},
		{"zero approvals of a group is refused",
			lockbox.Decision{Allowed: true, InternalApprovals: []lockbox.GroupApprovals{{Group: "support-leads", Count: 0}}},
			on, false, true, 8 * time.Hour, "no one can give", nil},
		{"a nameless group is refused",
			lockbox.Decision{Allowed: true, InternalApprovals: []lockbox.GroupApprovals{{Count: 1}}},
			on, false, true, 8 * time.Hour, "no one can give", nil},
		{"a refusal stays a refusal",
			lockbox.Decision{Allowed: false, Reasons: []string{"no"}, InternalApprovalWaived: true},
			off, false, false, 8 * time.Hour, "no", []lockbox.GroupApprovals{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := lockbox.ApplyTenant(c.in, c.settings)
			if d.Allowed != c.allowed || d.CustomerApprovalRequired != c.customer || d.MaxDuration.D() != c.max {
				t.Fatalf("got allowed %v, customer %v, max %s; want %v, %v, %s (%v)",
					d.Allowed, d.CustomerApprovalRequired, d.MaxDuration, c.allowed, c.customer, c.max, d.Reasons)
			}
			if c.reasonHas != "" && !strings.Contains(strings.Join(d.Reasons, "; "), c.reasonHas) {
				t.Fatalf("reasons %q do not say %q", d.Reasons, c.reasonHas)
			}
			if c.approvalsOut != nil && !slices.Equal(d.InternalApprovals, c.approvalsOut) {
				t.Fatalf("internal approvals %v, want %v", d.InternalApprovals, c.approvalsOut)
			}
			if d.Policies == nil || d.InternalApprovals == nil {
				t.Fatal("nil lists would be stored as null")
			}
		})
	}
}
