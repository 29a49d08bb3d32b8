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
	// InternalApprovalWaived says the policy skips the internal step on
	// purpose. A decision that names no internal approvers without waiving
	// the step is a policy error and is refused (see ApplyTenant), so an
	// empty approver list never opens access by accident.
	InternalApprovalWaived bool `json:"internal_approval_waived"`
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
// The service enforces the customer step and the tenant's duration cap
// itself, whatever a policy says (ApplyTenant). Package cedar implements it.
type Policy interface {
	Evaluate(ctx context.Context, in PolicyInput) (Decision, error)
}

// ReloadablePolicy is a Policy read from a source it can read again, such as
// a policy file: operators reload it on SIGHUP or through the API without a
// restart.
type ReloadablePolicy interface {
	Policy
	// PolicyInfo describes the running policy.
	PolicyInfo() PolicyInfo
	// Reload reads and validates the source again. When it is valid,
	// commit is called with the running and the new policy's descriptions;
	// the new policy replaces the running one only when commit returns nil.
	// On any error the running policy stays, and the error says what is
	// wrong and where.
	Reload(commit func(old, next PolicyInfo) error) (PolicyInfo, error)
}

// PolicyInfo describes a loaded JIT policy: GET /v1/admin/policy and the
// answer of a reload.
type PolicyInfo struct {
	// Source is the policy file, or the name of the built-in default.
	Source string `json:"source"`
	// SHA256 is the hex digest of the source text.
	SHA256 string `json:"sha256"`
	// Policies are the ids of the policies in the file, in file order.
	Policies []string  `json:"policies"`
	LoadedAt time.Time `json:"loaded_at"`
}

// ApplyTenant applies to a policy's decision what no policy can change: the
// customer step is required exactly when the tenant has lockbox enabled; the
// duration is capped at the tenant's max_access_duration even if the policy
// allowed more; and a decision that allows the request but names no internal
// approvers without waiving the internal step (or asks for a group without a
// name or with fewer than one approval) is refused as a policy error rather
// than skipping the step.
func ApplyTenant(d Decision, s LockboxSettings) Decision {
	d.CustomerApprovalRequired = s.Enabled
	if d.InternalApprovals == nil {
		d.InternalApprovals = []GroupApprovals{}
	}
	if d.Policies == nil {
		d.Policies = []string{}
	}
	if limit := s.MaxAccessDuration; limit > 0 && (d.MaxDuration <= 0 || d.MaxDuration > limit) {
		d.MaxDuration = limit
	}
	if !d.Allowed {
		return d
	}
	for _, g := range d.InternalApprovals {
		if g.Group == "" || g.Count < 1 {
			d.Allowed = false
			d.Reasons = append(d.Reasons, fmt.Sprintf("the JIT policy asks for %d approvals of group %q, which no one can give: an operator admin must fix the policy", g.Count, g.Group))
			return d
		}
	}
	if len(d.InternalApprovals) == 0 && !d.InternalApprovalWaived {
		d.Allowed = false
		d.Reasons = append(d.Reasons, `the JIT policy names no internal approvers and does not waive the internal step: an operator admin must fix the policy (@approvers("group:count") or @internal_approval("none"))`)
	}
	return d
}

// refuseAll is the policy of a service configured without one: it refuses
// every request, so a wiring mistake never opens access.
type refuseAll struct{}

func (refuseAll) Evaluate(context.Context, PolicyInput) (Decision, error) {
	return Decision{Reasons: []string{"no JIT policy is configured on this server: an operator admin must start it with a policy"}}, nil
}
