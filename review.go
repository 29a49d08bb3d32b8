package lockbox

import (
	"fmt"
	"time"
)

// Stage is the step of the workflow a review belongs to.
type Stage string

// Review stages.
const (
	StageInternal Stage = "internal"
	StageCustomer Stage = "customer"
)

// ReviewDecision is approve or deny.
type ReviewDecision string

// Review decisions.
const (
	DecisionApprove ReviewDecision = "approve"
	DecisionDeny    ReviewDecision = "deny"
)

// Review is one person's decision on a request. Reviews are append-only and
// kept forever.
type Review struct {
	ReviewerID UserID `json:"reviewer_id"`
	// ReviewerName is the reviewer's display name, filled on read like the
	// request's RequesterName, so a customer sees who approved internally.
	// Never stored.
	ReviewerName string         `json:"reviewer_name,omitempty"`
	Stage        Stage          `json:"stage"`
	Decision     ReviewDecision `json:"decision"`
	Reason       string         `json:"reason"`
	// Duration, when set on an approval, shortens the access window.
	Duration Duration `json:"duration,omitempty"`
	// MFA records whether the reviewer's session used a second factor.
	MFA       bool      `json:"mfa"`
	CreatedAt time.Time `json:"created_at"`
}

// StageOf returns the review stage of a status, or false when the request
// takes no reviews in that status.
func StageOf(s RequestStatus) (Stage, bool) {
	switch s {
	case StatusPendingInternal:
		return StageInternal, true
	case StatusPendingCustomer:
		return StageCustomer, true
	}
	return "", false
}

// ReviewInput is a review being submitted.
type ReviewInput struct {
	Decision ReviewDecision
	Reason   string
	Duration Duration // optional; approvals only; may only shorten
}

// ReviewContext is what the engine needs besides the request: the tenant's
// settings now, and the current state of every user who reviewed the request
// so far (roles are checked at decision time, not at review time).
type ReviewContext struct {
	Settings  LockboxSettings
	Reviewers map[UserID]*User
}

// ReviewOutcome is what a review did.
type ReviewOutcome struct {
	Review Review
	From   RequestStatus
	To     RequestStatus // equal to From when the review did not move the request
}

// ApplyReview validates a review by the principal, appends it and moves the
// request when a threshold is met. The request must already be settled
// (see Settle): a review never revives a request whose deadline passed.
//
// The rules, after Teleport's review engine: reviews are only taken while the
// request is in a review stage; nobody reviews their own request; one review
// per person; a deny short-circuits to denied; approval needs every threshold
// met, counting only reviewers who hold the right at decision time.
func (r *AccessRequest) ApplyReview(p *Principal, in ReviewInput, rc ReviewContext, now time.Time) (ReviewOutcome, error) {
	stage, ok := StageOf(r.Status)
	if !ok {
		return ReviewOutcome{}, Errorf(CodeConflict, "request %s is %s; it takes no more reviews", r.ID, r.Status)
	}
	u := p.User
	if u.ID == r.RequesterID {
		return ReviewOutcome{}, Errorf(CodeForbidden, "nobody may review their own request")
	}
	if err := r.mayReview(p, stage, in.Decision); err != nil {
		return ReviewOutcome{}, err
	}
	for _, rv := range r.Reviews {
		if rv.ReviewerID == u.ID {
			return ReviewOutcome{}, Errorf(CodeConflict, "you already reviewed request %s at its %s stage (%s at %s): one person counts once, whatever the stage",
				r.ID, rv.Stage, rv.Decision, rv.CreatedAt.Format(time.RFC3339))
		}
	}
	if in.Duration != 0 {
		if in.Decision != DecisionApprove {
			return ReviewOutcome{}, Errorf(CodeInvalid, "duration applies to approvals only")
		}
		if cur := r.effectiveDuration(); in.Duration <= 0 || in.Duration > cur {
			return ReviewOutcome{}, Errorf(CodeInvalid, "duration may only shorten the access: give a positive duration of at most %s", cur)
		}
	}
	rv := Review{
		ReviewerID: u.ID, Stage: stage, Decision: in.Decision, Reason: in.Reason,
		Duration: in.Duration, MFA: p.MFA(), CreatedAt: now,
	}
	r.Reviews = append(r.Reviews, rv)
	r.UpdatedAt = now
	out := ReviewOutcome{Review: rv, From: r.Status, To: r.Status}

	rc.Reviewers[u.ID] = u
	switch {
	case in.Decision == DecisionDeny:
		if err := r.end(StatusDenied, EndDenied, u.ID, in.Reason, now); err != nil {
			return out, err
		}
	case stage == StageInternal:
		if !InternalApprovalsMet(r.Policy.InternalApprovals, r.approvers(StageInternal, rc)) {
			break
		}
		// The tenant's settings at decision time rule: lockbox enabled
		// after the request was filed still needs the customer
		// (invariant 2).
		r.Policy.CustomerApprovalRequired = rc.Settings.Enabled
		if rc.Settings.Enabled {
			if err := r.transition(StatusPendingCustomer, now); err != nil {
				return out, err
			}
			// The customer gets its whole decision window from the moment
			// it is notified.
			r.DecisionDeadline = now.Add(rc.Settings.PendingTTL.D())
		} else if err := r.open(now, rc.Settings.MaxAccessDuration); err != nil {
			return out, err
		}
	case stage == StageCustomer:
		met, err := CustomerApprovalsMet(r.TenantID, rc.Settings, r.approvers(StageCustomer, rc))
		if err != nil {
			return out, err
		}
		if met {
			if err := r.open(now, rc.Settings.MaxAccessDuration); err != nil {
				return out, err
			}
		}
	}
	out.To = r.Status
	return out, nil
}

// mayReview checks that p holds the right to review at the stage.
func (r *AccessRequest) mayReview(p *Principal, stage Stage, d ReviewDecision) error {
	u := p.User
	switch stage {
	case StageInternal:
		// A person of the operator's staff: a service account (gateway)
		// never decides, whatever groups it is in.
		if !u.IsOperator() {
			return Errorf(CodeForbidden, "request %s awaits internal approval by operator groups %s", r.ID, groupList(r.Policy.InternalApprovals))
		}
		in := false
		for _, g := range r.Policy.InternalApprovals {
			in = in || u.InGroup(g.Group)
		}
		if !in {
			return Errorf(CodeForbidden, "internal approval of request %s needs a member of %s; you are in none of them", r.ID, groupList(r.Policy.InternalApprovals))
		}
		// A stolen password alone approves nothing, at either stage.
		if d == DecisionApprove && !p.MFA() {
			return Errorf(CodeForbidden, "approving access needs a session signed in with a one-time code: sign in again with your TOTP code")
		}
	case StageCustomer:
		if !u.IsApproverOf(r.TenantID) {
			return Errorf(CodeForbidden, "request %s awaits the customer's approval: only the tenant's tenant_admin or lockbox_approver users may review it", r.ID)
		}
		if d == DecisionApprove && !p.MFA() {
			return Errorf(CodeForbidden, "approving access needs a session signed in with a one-time code: sign in again with your TOTP code")
		}
	}
	return nil
}

// approvers returns the users whose approvals at the stage still count:
// those who hold the right now, checked against their current record.
func (r *AccessRequest) approvers(stage Stage, rc ReviewContext) []*User {
	var out []*User
	for _, rv := range r.Reviews {
		if rv.Stage != stage || rv.Decision != DecisionApprove {
			continue
		}
		u := rc.Reviewers[rv.ReviewerID]
		if !u.Active() || u.ID == r.RequesterID {
			continue
		}
		switch stage {
		case StageInternal:
			if rv.MFA && u.IsOperator() {
				out = append(out, u)
			}
		case StageCustomer:
			if rv.MFA && u.IsApproverOf(r.TenantID) {
				out = append(out, u)
			}
		}
	}
	return out
}

// CustomerApprovalsMet reports whether the distinct approvers reach the
// tenant's approvals_required. Zero or fewer required approvals is a
// configuration error, never "approved" (invariant 3).
func CustomerApprovalsMet(t TenantID, s LockboxSettings, approvers []*User) (bool, error) {
	if s.ApprovalsRequired < 1 {
		return false, Errorf(CodeConflict, "tenant %s requires %d approvals: the lockbox settings are invalid and nothing can be approved until a tenant admin fixes them", t, s.ApprovalsRequired)
	}
	seen := map[UserID]bool{}
	for _, u := range approvers {
		if u.IsApproverOf(t) {
			seen[u.ID] = true
		}
	}
	return len(seen) >= s.ApprovalsRequired, nil
}

// InternalApprovalsMet reports whether the approvers satisfy every group
// requirement, each person counting once: a person in two groups fills one
// seat, not two. It searches for an assignment of people to seats.
func InternalApprovalsMet(reqs []GroupApprovals, approvers []*User) bool {
	var seats []string
	for _, g := range reqs {
		for range g.Count {
			seats = append(seats, g.Group)
		}
	}
	if len(seats) == 0 {
		return true
	}
	// Distinct people only.
	var people []*User
	seen := map[UserID]bool{}
	for _, u := range approvers {
		if !seen[u.ID] {
			seen[u.ID] = true
			people = append(people, u)
		}
	}
	// Bipartite matching of seats to people (augmenting paths); sizes are tiny.
	owner := make([]int, len(people)) // person -> seat+1
	var try func(seat int, visited []bool) bool
	try = func(seat int, visited []bool) bool {
		for i, u := range people {
			if visited[i] || !u.InGroup(seats[seat]) {
				continue
			}
			visited[i] = true
			if owner[i] == 0 || try(owner[i]-1, visited) {
				owner[i] = seat + 1
				return true
			}
		}
		return false
	}
	for s := range seats {
		if !try(s, make([]bool, len(people))) {
			return false
		}
	}
	return true
}

func groupList(gs []GroupApprovals) string {
	s := ""
	for i, g := range gs {
		if i > 0 {
			s += ", "
		}
		s += fmt.Sprintf("%s (%d)", g.Group, g.Count)
	}
	return s
}
