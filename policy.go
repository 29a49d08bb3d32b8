package lockbox

import (
	"context"
	"fmt"
	"time"
)

// Decision is the JIT policy's verdict on a request, stored on the request
// with the policies that made it.
type Decision struct {
	Allowed bool `json:"allowed"`
	// Reasons explain the decision in words, for refusals above all.
	Reasons           []string         `json:"reasons,omitempty"`
	InternalApprovals []GroupApprovals `json:"internal_approvals"`
	// CustomerApprovalRequired is true whenever the tenant has lockbox
	// enabled: no policy can waive the customer step.
	CustomerApprovalRequired bool     `json:"customer_approval_required"`
	MaxDuration              Duration `json:"max_duration"`
	Policies                 []string `json:"policies"`
}

// GroupApprovals asks for Count distinct approvals from members of an
// operator group.
type GroupApprovals struct {
	Group string `json:"group"`
	Count int    `json:"count"`
}

// PolicyInput is everything a JIT policy may look at.
type PolicyInput struct {
	Requester *User
	// MFA is whether the requester's session used a second factor.
	MFA           bool
	Tenant        *Tenant
	Ticket        *Ticket
	Resources     []string
	AccessLevel   AccessLevel
	ReasonType    ReasonType
	Duration      Duration
	Justification string
	Now           time.Time
}

// Policy is the JIT check run when an access request is filed. It refuses, or
// allows with the internal approvals the request needs and a duration cap.
// The service enforces the customer step itself, whatever a policy says.
type Policy interface {
	Evaluate(ctx context.Context, in PolicyInput) (Decision, error)
}

// BuiltinPolicy is the policy used until operators write their own: the
// requester's session must be MFA or the identity isolated; admin level needs
// an isolated identity; InternalGroup (when set) must approve once; the
// duration is capped at the tenant's max_access_duration.
type BuiltinPolicy struct {
	// InternalGroup is the operator group whose single approval every
	// request needs; empty skips the internal step.
	InternalGroup string
}

var _ Policy = BuiltinPolicy{}

// Evaluate implements Policy.
func (b BuiltinPolicy) Evaluate(_ context.Context, in PolicyInput) (Decision, error) {
	d := Decision{
		Allowed:           true,
		InternalApprovals: []GroupApprovals{},
		MaxDuration:       in.Tenant.Lockbox.MaxAccessDuration,
		Policies:          []string{"builtin/mfa-or-isolated"},
	}
	refuse := func(policy, reason string) {
		d.Allowed = false
		d.Reasons = append(d.Reasons, reason)
		d.Policies = append(d.Policies, policy)
	}
	if !in.MFA && !in.Requester.Isolated {
		d.Allowed = false
		d.Reasons = append(d.Reasons, "the requester's session is not MFA and the identity is not isolated: sign in with a one-time code")
	}
	if in.AccessLevel == LevelAdmin {
		if in.Requester.Isolated {
			d.Policies = append(d.Policies, "builtin/admin-needs-isolated")
		} else {
			refuse("builtin/admin-needs-isolated", "admin access needs an isolated identity")
		}
	}
	d.Policies = append(d.Policies, "builtin/max-duration")
	if in.Duration > d.MaxDuration {
		d.Reasons = append(d.Reasons, fmt.Sprintf("the requested duration %s is capped at the tenant's max_access_duration %s", in.Duration, d.MaxDuration))
	}
	if b.InternalGroup != "" {
		d.InternalApprovals = append(d.InternalApprovals, GroupApprovals{Group: b.InternalGroup, Count: 1})
		d.Policies = append(d.Policies, "builtin/internal-approval")
	}
	return d, nil
}
