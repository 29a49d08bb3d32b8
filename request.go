package lockbox

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// RequestStatus is the state of an access request. The transitions below are
// the whole state machine (docs/design.md §2); nothing else moves a request.
type RequestStatus string

// Request statuses.
const (
	StatusPendingInternal RequestStatus = "pending_internal"
	StatusPendingCustomer RequestStatus = "pending_customer"
	StatusApproved        RequestStatus = "approved"
	StatusDenied          RequestStatus = "denied"
	StatusExpired         RequestStatus = "expired"
	StatusCanceled        RequestStatus = "canceled"
	StatusRevoked         RequestStatus = "revoked"
	StatusCompleted       RequestStatus = "completed"
)

// AllStatuses lists every status, in workflow order.
var AllStatuses = []RequestStatus{
	StatusPendingInternal, StatusPendingCustomer, StatusApproved,
	StatusDenied, StatusExpired, StatusCanceled, StatusRevoked, StatusCompleted,
}

// transitions is the status machine: from -> allowed next statuses.
var transitions = map[RequestStatus][]RequestStatus{
	StatusPendingInternal: {StatusPendingCustomer, StatusApproved, StatusDenied, StatusExpired, StatusCanceled},
	StatusPendingCustomer: {StatusApproved, StatusDenied, StatusExpired, StatusCanceled},
	StatusApproved:        {StatusCompleted, StatusRevoked},
}

// CanTransition reports whether the machine allows from -> to.
func CanTransition(from, to RequestStatus) bool { return slices.Contains(transitions[from], to) }

// Terminal reports whether no transition leaves the status. Terminal states
// never change (invariant 6).
func (s RequestStatus) Terminal() bool { return len(transitions[s]) == 0 }

// Pending reports whether the request awaits a decision.
func (s RequestStatus) Pending() bool {
	return s == StatusPendingInternal || s == StatusPendingCustomer
}

// Valid reports whether s is a known status.
func (s RequestStatus) Valid() bool { return slices.Contains(AllStatuses, s) }

// AccessLevel is what the engineer may do with the resources.
type AccessLevel string

// Access levels.
const (
	LevelRead  AccessLevel = "read"
	LevelWrite AccessLevel = "write"
	LevelAdmin AccessLevel = "admin"
)

// AccessLevels lists the levels, weakest first.
var AccessLevels = []AccessLevel{LevelRead, LevelWrite, LevelAdmin}

// ReasonType says why access is wanted.
type ReasonType string

// Reason types.
const (
	ReasonCustomerInitiated ReasonType = "customer_initiated_support"
	ReasonOperatorInitiated ReasonType = "operator_initiated_service"
	ReasonIncident          ReasonType = "incident_response"
	ReasonLegal             ReasonType = "legal_request"
)

// ReasonTypes lists the reason types.
var ReasonTypes = []ReasonType{ReasonCustomerInitiated, ReasonOperatorInitiated, ReasonIncident, ReasonLegal}

// End reasons of completed (and canceled) requests.
const (
	EndDurationElapsed = "duration_elapsed"
	EndTicketResolved  = "ticket_resolved"
	EndReleased        = "released"
	EndRevoked         = "revoked"
	EndDenied          = "denied"
	EndExpired         = "expired"
	EndCanceled        = "canceled"
	// EndRequesterRemoved and EndRequesterRoleRemoved end a request whose
	// requester was removed, or lost the role requesting needs (invariant
	// 12): approved access is revoked, a pending request canceled.
	EndRequesterRemoved     = "requester_removed"
	EndRequesterRoleRemoved = "requester_role_removed"
)

// AccessRequest is the aggregate: an engineer's request for time-limited
// access to some of a tenant's resources, its policy decision, its reviews
// and its access window.
type AccessRequest struct {
	ID          RequestID `json:"id"`
	TenantID    TenantID  `json:"tenant_id"`
	TicketID    TicketID  `json:"ticket_id"`
	RequesterID UserID    `json:"requester_id"`
	// RequesterName and RequesterEmail are the requester's display name
	// and e-mail, filled on read (GET /v1/requests/{id}, the list and the
	// answers of the actions) for everyone who may read the request: a
	// customer approver cannot read operator users, yet must see who asks.
	// They are never stored: a read shows the user's current values.
	RequesterName     string        `json:"requester_name,omitempty"`
	RequesterEmail    string        `json:"requester_email,omitempty"`
	Resources         []string      `json:"resources"`
	AccessLevel       AccessLevel   `json:"access_level"`
	ReasonType        ReasonType    `json:"reason_type"`
	Justification     string        `json:"justification"`
	RequestedDuration Duration      `json:"requested_duration"`
	Status            RequestStatus `json:"status"`
	Policy            Decision      `json:"policy"`
	Reviews           []Review      `json:"reviews"`
	CreatedAt         time.Time     `json:"created_at"`
	UpdatedAt         time.Time     `json:"updated_at"`
	DecisionDeadline  time.Time     `json:"decision_deadline"`
	// GrantedDuration is the length of the window: the requested duration
	// capped by policy and shortened by reviewers. Set at approval.
	GrantedDuration Duration   `json:"granted_duration,omitempty"`
	AccessStartsAt  *time.Time `json:"access_starts_at,omitempty"`
	AccessExpiresAt *time.Time `json:"access_expires_at,omitempty"`
	EndedAt         *time.Time `json:"ended_at,omitempty"`
	EndReason       string     `json:"end_reason,omitempty"`
	EndedBy         UserID     `json:"ended_by,omitempty"`
	// EndedByName is the display name of EndedBy, filled on read like
	// RequesterName (never stored), so a customer sees who revoked.
	EndedByName string `json:"ended_by_name,omitempty"`
	// TicketTitle is the title of the request's ticket, filled on read
	// like RequesterName (never stored), so lists say what it is for.
	TicketTitle string `json:"ticket_title,omitempty"`
	EndComment  string `json:"end_comment,omitempty"`
	// CustomerApprovals is how far a pending_customer request is from
	// approval, filled on read (never stored): "1 of 2", and by whom.
	CustomerApprovals *ApprovalProgress `json:"customer_approvals,omitempty"`

	// Version increases with every stored change; stores update a request
	// only if the version they read is still current (compare-and-set).
	Version int64 `json:"-"`
}

// ApprovalProgress counts the customer approvals of a pending request that
// count now (roles and MFA as at decision time) against the tenant's
// approvals_required.
type ApprovalProgress struct {
	Required int `json:"required"`
	Counted  int `json:"counted"`
	// By names the approvers whose approvals count, in review order.
	By []string `json:"by"`
}

// String reads "1 of 2 customer approvals (Bob)".
func (p *ApprovalProgress) String() string {
	s := fmt.Sprintf("%d of %d customer approvals", p.Counted, p.Required)
	if len(p.By) > 0 {
		s += " (" + strings.Join(p.By, ", ") + ")"
	}
	return s
}

// transition moves the request to status to, or fails with ErrConflict.
func (r *AccessRequest) transition(to RequestStatus, now time.Time) error {
	if !CanTransition(r.Status, to) {
		return Errorf(CodeConflict, "request %s is %s and cannot become %s", r.ID, r.Status, to)
	}
	r.Status = to
	r.UpdatedAt = now
	return nil
}

// end moves the request to a terminal or ended status with its reason.
func (r *AccessRequest) end(to RequestStatus, reason string, by UserID, comment string, now time.Time) error {
	if err := r.transition(to, now); err != nil {
		return err
	}
	t := now
	r.EndedAt = &t
	r.EndReason = reason
	r.EndedBy = by
	r.EndComment = comment
	return nil
}

// open starts the access window at now. limit is the tenant's
// max_access_duration at this moment: it caps the window even when it was
// lowered after the request was filed, or a policy set a larger cap.
func (r *AccessRequest) open(now time.Time, limit Duration) error {
	if err := r.transition(StatusApproved, now); err != nil {
		return err
	}
	d := r.effectiveDuration()
	if limit > 0 && limit < d {
		d = limit
	}
	start, end := now, now.Add(d.D())
	r.GrantedDuration = d
	r.AccessStartsAt = &start
	r.AccessExpiresAt = &end
	return nil
}

// effectiveDuration is the requested duration, capped by policy and by the
// shortest duration any approving reviewer gave.
func (r *AccessRequest) effectiveDuration() Duration {
	d := r.RequestedDuration
	if r.Policy.MaxDuration > 0 && r.Policy.MaxDuration < d {
		d = r.Policy.MaxDuration
	}
	for _, rv := range r.Reviews {
		if rv.Decision == DecisionApprove && rv.Duration > 0 && rv.Duration < d {
			d = rv.Duration
		}
	}
	return d
}

// Due reports whether a deadline has passed that settles the request by
// itself: a pending request's decision deadline or an approved request's
// window end. Every read, review and token issuance checks this, so that
// correctness never depends on background work.
func (r *AccessRequest) Due(now time.Time) bool {
	switch {
	case r.Status.Pending():
		return !now.Before(r.DecisionDeadline)
	case r.Status == StatusApproved:
		return r.AccessExpiresAt != nil && !now.Before(*r.AccessExpiresAt)
	}
	return false
}

// Settle applies a passed deadline: pending -> expired at the decision
// deadline, approved -> completed (duration_elapsed) at the window end. The
// transition is dated at the deadline itself, not at the moment it was
// noticed. It reports whether the request changed.
func (r *AccessRequest) Settle(now time.Time) bool {
	if !r.Due(now) {
		return false
	}
	if r.Status.Pending() {
		_ = r.end(StatusExpired, EndExpired, "", "", r.DecisionDeadline)
	} else {
		_ = r.end(StatusCompleted, EndDurationElapsed, "", "", *r.AccessExpiresAt)
	}
	return true
}

// Active reports whether access is open at now: approved and inside the
// window.
func (r *AccessRequest) Active(now time.Time) bool {
	return r.Status == StatusApproved && r.AccessStartsAt != nil && r.AccessExpiresAt != nil &&
		!now.Before(*r.AccessStartsAt) && now.Before(*r.AccessExpiresAt)
}

// Cancel withdraws a pending request. Only the requester may.
func (r *AccessRequest) Cancel(by *User, now time.Time) error {
	if by.ID != r.RequesterID {
		return Errorf(CodeForbidden, "only the requester may cancel request %s", r.ID)
	}
	if !r.Status.Pending() {
		return Errorf(CodeConflict, "request %s is %s; only a pending request can be canceled", r.ID, r.Status)
	}
	return r.end(StatusCanceled, EndCanceled, by.ID, "", now)
}

// Release ends approved access early at the requester's wish.
func (r *AccessRequest) Release(by *User, now time.Time) error {
	if by.ID != r.RequesterID {
		return Errorf(CodeForbidden, "only the requester may complete request %s", r.ID)
	}
	if r.Status != StatusApproved {
		return Errorf(CodeConflict, "request %s is %s; only approved access can be completed", r.ID, r.Status)
	}
	return r.end(StatusCompleted, EndReleased, by.ID, "", now)
}

// Revoke ends approved access at once. The tenant's approvers and admins and
// operator admins may.
func (r *AccessRequest) Revoke(by *User, reason string, now time.Time) error {
	if !by.IsApproverOf(r.TenantID) && !by.IsOperatorAdmin() {
		return Errorf(CodeForbidden, "only the tenant's approvers and admins, or an operator admin, may revoke access")
	}
	if r.Status != StatusApproved {
		return Errorf(CodeConflict, "request %s is %s; only approved access can be revoked", r.ID, r.Status)
	}
	return r.end(StatusRevoked, EndRevoked, by.ID, reason, now)
}

// EndForRequester ends the request because its requester lost the right to
// hold it (removed, or no longer an engineer): approved access is revoked, a
// pending request is canceled. reason is EndRequesterRemoved or
// EndRequesterRoleRemoved; by is who made the change. It reports whether the
// request changed.
func (r *AccessRequest) EndForRequester(reason string, by UserID, comment string, now time.Time) bool {
	switch {
	case r.Status == StatusApproved:
		return r.end(StatusRevoked, reason, by, comment, now) == nil
	case r.Status.Pending():
		return r.end(StatusCanceled, reason, by, comment, now) == nil
	}
	return false
}

// ResolveTicket ends the request because its ticket was resolved: approved
// access completes, a pending request is canceled. It reports whether the
// request changed.
func (r *AccessRequest) ResolveTicket(by UserID, now time.Time) bool {
	switch {
	case r.Status == StatusApproved:
		return r.end(StatusCompleted, EndTicketResolved, by, "", now) == nil
	case r.Status.Pending():
		return r.end(StatusCanceled, EndTicketResolved, by, "", now) == nil
	}
	return false
}
