package lockbox

import (
	"context"
	"errors"
	"slices"
	"strings"
	"unicode"
)

// Limits of an access request's scope.
const (
	MaxResources = 100
	// MaxRequestDuration bounds any requested duration, whatever the
	// tenant's settings.
	MaxRequestDuration = MaxAccessDuration
)

// validateRequestInput checks the shape of a new access request.
func validateRequestInput(in CreateRequestInput) error {
	if in.TicketID == "" {
		return Errorf(CodeInvalid, "ticket_id is required")
	}
	if len(in.Resources) == 0 {
		return Errorf(CodeInvalid, "resources: name at least one resource, such as \"mailbox:alice\"")
	}
	if len(in.Resources) > MaxResources {
		return Errorf(CodeInvalid, "resources: at most %d in one request", MaxResources)
	}
	seen := map[string]bool{}
	for _, r := range in.Resources {
		if strings.TrimSpace(r) == "" || len(r) > maxResourceLength ||
			strings.IndexFunc(r, func(c rune) bool { return unicode.IsControl(c) || unicode.IsSpace(c) }) >= 0 {
			return Errorf(CodeInvalid, "resources: %q must be 1 to %d characters without spaces or control characters", r, maxResourceLength)
		}
		if seen[r] {
			return Errorf(CodeInvalid, "resources: %q is listed twice", r)
		}
		seen[r] = true
	}
	if !slices.Contains(AccessLevels, in.AccessLevel) {
		return Errorf(CodeInvalid, "access_level must be one of %v", AccessLevels)
	}
	if !slices.Contains(ReasonTypes, in.ReasonType) {
		return Errorf(CodeInvalid, "reason_type must be one of %v", ReasonTypes)
	}
	if err := ValidateText("justification", in.Justification, true); err != nil {
		return err
	}
	if in.Duration <= 0 || in.Duration.D() > MaxRequestDuration {
		return Errorf(CodeInvalid, "duration must be positive and at most %s", MaxRequestDuration)
	}
	return nil
}

// CreateRequest files an access request. The JIT policy decides in the same
// transaction; a refusal is recorded in the tenant's log (the customer sees
// attempts too) and answered 403 with the policy's reasons.
func (s *Service) CreateRequest(ctx context.Context, p *Principal, in CreateRequestInput) (*AccessRequest, error) {
	u := p.User
	if !u.CanRequest() {
		return nil, Errorf(CodeForbidden, "only operator engineers request access")
	}
	if err := validateRequestInput(in); err != nil {
		return nil, err
	}
	var out *AccessRequest
	var refused error
	err := s.update(ctx, func(tx *txn) error {
		refused = nil
		tk, err := tx.GetTicket(ctx, in.TicketID)
		if errors.Is(err, ErrNotFound) {
			return Errorf(CodeInvalid, "ticket_id %s: no such ticket", in.TicketID)
		} else if err != nil {
			return err
		}
		if tk.Status != TicketOpen {
			return Errorf(CodeConflict, "ticket %s is resolved: access is only requested for open tickets", tk.ID)
		}
		if err := fillTicketFacts(ctx, tx, tk); err != nil {
			return err
		}
		tn, err := tx.GetTenant(ctx, tk.TenantID)
		if err != nil {
			return err
		}
		now := s.now()
		d, err := s.policy.Evaluate(ctx, PolicyInput{
			Requester: u, MFA: p.MFA(), Tenant: tn, Ticket: tk, Resources: in.Resources,
			AccessLevel: in.AccessLevel, ReasonType: in.ReasonType, Duration: in.Duration,
			Justification: in.Justification, Now: now,
		})
		if err != nil {
			return err
		}
		// The customer step is the tenant's to waive, never a policy's, and
		// the tenant's duration cap holds whatever the policy allowed.
		d = ApplyTenant(d, tn.Lockbox)
		if !d.Allowed {
			e := NewEvent(tn.ID, EventRequestRefused, u.ID, now, map[string]any{
				"ticket_id": tk.ID, "resources": in.Resources, "access_level": in.AccessLevel,
				"reason_type": in.ReasonType, "duration": in.Duration, "policy": d,
			})
			e.TicketID = tk.ID
			refused = &Error{Code: CodeForbidden, Message: "the JIT policy refused this request: " + strings.Join(d.Reasons, "; "), Details: d.Reasons}
			return tx.emit(e) // committed: the attempt stays on record
		}
		r := &AccessRequest{
			ID: RequestID(NewID("req")), TenantID: tn.ID, TicketID: tk.ID, RequesterID: u.ID,
			Resources: in.Resources, AccessLevel: in.AccessLevel, ReasonType: in.ReasonType,
			Justification: in.Justification, RequestedDuration: in.Duration, Policy: d,
			Reviews: []Review{}, CreatedAt: now, UpdatedAt: now,
			DecisionDeadline: now.Add(tn.Lockbox.PendingTTL.D()),
		}
		switch {
		case len(d.InternalApprovals) > 0:
			r.Status = StatusPendingInternal
		case d.CustomerApprovalRequired:
			r.Status = StatusPendingCustomer
		default:
			r.Status = StatusPendingInternal
			if err := r.open(now, tn.Lockbox.MaxAccessDuration); err != nil {
				return err
			}
		}
		if err := tx.CreateRequest(ctx, r); err != nil {
			return err
		}
		e := s.requestEvent(r, EventRequestCreated, u.ID, map[string]any{
			"resources": r.Resources, "access_level": r.AccessLevel, "reason_type": r.ReasonType,
			"justification": r.Justification, "requested_duration": r.RequestedDuration, "policy": d,
			"decision_deadline": r.DecisionDeadline,
		})
		if err := tx.emit(e); err != nil {
			return err
		}
		if r.Status != StatusPendingInternal {
			if err := tx.emit(s.statusEvent(r, StatusPendingInternal, u.ID)); err != nil {
				return err
			}
		}
		out = r
		return nil
	})
	if err != nil {
		return nil, err
	}
	if refused != nil {
		return nil, refused
	}
	out.RequesterName, out.RequesterEmail = p.User.DisplayName, p.User.Email
	return out, nil
}

// requestEvent builds an event about request r.
func (s *Service) requestEvent(r *AccessRequest, typ EventType, actor UserID, data any) *Event {
	e := NewEvent(r.TenantID, typ, actor, r.UpdatedAt, data)
	e.RequestID, e.TicketID = r.ID, r.TicketID
	return e
}

// statusEvent records that r moved from one status to its current one.
func (s *Service) statusEvent(r *AccessRequest, from RequestStatus, actor UserID) *Event {
	data := map[string]any{"from": from, "to": r.Status}
	switch r.Status {
	case StatusApproved:
		data["access_starts_at"], data["access_expires_at"], data["granted_duration"] = r.AccessStartsAt, r.AccessExpiresAt, r.GrantedDuration
	case StatusPendingCustomer:
		data["decision_deadline"] = r.DecisionDeadline
	}
	if r.EndReason != "" {
		data["end_reason"] = r.EndReason
	}
	if r.EndComment != "" {
		data["reason"] = r.EndComment
	}
	return s.requestEvent(r, EventType("request."+string(r.Status)), actor, data)
}

// saveTransition stores r (compare-and-set on its version) with the event of
// its review, if any, and of its new status.
func (s *Service) saveTransition(tx *txn, r *AccessRequest, from RequestStatus, review *ReviewOutcome) error {
	if err := tx.UpdateRequest(tx.ctx, r); err != nil {
		return err
	}
	actor := r.EndedBy
	if review != nil {
		rv := review.Review
		actor = rv.ReviewerID
		data := map[string]any{"stage": rv.Stage, "decision": rv.Decision, "reason": rv.Reason, "mfa": rv.MFA}
		if rv.Duration > 0 {
			data["duration"] = rv.Duration
		}
		if err := tx.emit(s.requestEvent(r, EventRequestReviewed, actor, data)); err != nil {
			return err
		}
	}
	if r.Status == from {
		return nil
	}
	if r.Status.Terminal() {
		// Published to enforcement points in the same transaction, so no
		// end of access commits without its place in the feed.
		ended := s.now()
		if r.EndedAt != nil {
			ended = *r.EndedAt
		}
		if err := tx.AppendRevocation(tx.ctx, &Revocation{RequestID: r.ID, TenantID: r.TenantID, Status: r.Status, EndedAt: ended}); err != nil {
			return err
		}
	}
	return tx.emit(s.statusEvent(r, from, actor))
}

// requestVisible checks that p may read requests of tenant t: operators, and
// the tenant's admins and approvers. Other customers of the tenant are
// refused; customers of other tenants learn nothing (404).
func requestVisible(p *Principal, r *AccessRequest) error {
	u := p.User
	switch {
	case u.IsOperator(), u.IsApproverOf(r.TenantID):
		return nil
	case u.IsCustomerOf(r.TenantID):
		return Errorf(CodeForbidden, "only the tenant's admins and approvers see its access requests")
	}
	return Errorf(CodeNotFound, "request %s not found", r.ID)
}

// loadRequest reads a request p may see inside a transaction and settles a
// passed deadline first. settled reports whether it did; the caller must
// commit then (the settlement is a change with its event) even when it then
// refuses what was asked.
func (s *Service) loadRequest(tx *txn, p *Principal, id RequestID) (r *AccessRequest, settled bool, err error) {
	r, err = tx.GetRequest(tx.ctx, id)
	if err != nil {
		return nil, false, err
	}
	if err := requestVisible(p, r); err != nil {
		return nil, false, err
	}
	from := r.Status
	if r.Settle(s.now()) {
		if err := s.saveTransition(tx, r, from, nil); err != nil {
			return nil, false, err
		}
		return r, true, nil
	}
	return r, false, nil
}

// GetRequest reads a request. A passed deadline is applied (with its event)
// before the answer, so a read never shows an outdated status.
func (s *Service) GetRequest(ctx context.Context, p *Principal, id RequestID) (*AccessRequest, error) {
	var r *AccessRequest
	err := s.view(ctx, func(rd Reader) error {
		var err error
		if r, err = rd.GetRequest(ctx, id); err != nil {
			return err
		}
		if err := requestVisible(p, r); err != nil {
			return err
		}
		return nameRequests(ctx, rd, r)
	})
	if err != nil {
		return nil, err
	}
	if !r.Due(s.now()) {
		return r, nil
	}
	err = s.update(ctx, func(tx *txn) error {
		r, _, err = s.loadRequest(tx, p, id)
		return err
	})
	if err != nil {
		return nil, err
	}
	if err := s.withNames(ctx, r); err != nil {
		return nil, err
	}
	return r, nil
}

// ListRequests lists requests newest first: operators any, the tenant's
// admins and approvers their tenant's. Passed deadlines are applied first.
func (s *Service) ListRequests(ctx context.Context, p *Principal, f RequestFilter) (List[*AccessRequest], error) {
	u := p.User
	switch {
	case u.IsOperator():
	case u.Kind == KindCustomer && u.IsApproverOf(u.TenantID):
		if f.TenantID != "" && f.TenantID != u.TenantID {
			return List[*AccessRequest]{}, Errorf(CodeNotFound, "tenant %s not found", f.TenantID)
		}
		f.TenantID = u.TenantID
	default:
		return List[*AccessRequest]{}, Errorf(CodeForbidden, "only operators and a tenant's admins and approvers list access requests")
	}
	if f.Status != "" && !f.Status.Valid() {
		return List[*AccessRequest]{}, Errorf(CodeInvalid, "status must be one of %v", AllStatuses)
	}
	if _, err := s.SettleDue(ctx); err != nil {
		return List[*AccessRequest]{}, err
	}
	var out List[*AccessRequest]
	err := s.view(ctx, func(r Reader) error {
		var err error
		if out.Items, out.NextPageToken, err = r.ListRequests(ctx, f); err != nil {
			return err
		}
		if len(out.Items) == 0 && f.TenantID != "" {
			// An empty list of a tenant that does not exist is a typo,
			// answered 404 like every other endpoint naming a tenant.
			if _, err := r.GetTenant(ctx, f.TenantID); err != nil {
				return err
			}
		}
		return nameRequests(ctx, r, out.Items...)
	})
	return out, err
}

// act runs a change of one request that needs nothing but the request.
func (s *Service) act(ctx context.Context, p *Principal, id RequestID, fn func(r *AccessRequest) (*ReviewOutcome, error)) (*AccessRequest, error) {
	return s.actTx(ctx, p, id, func(_ *txn, r *AccessRequest) (*ReviewOutcome, error) { return fn(r) })
}

// Review records an internal or customer review of a request, by stage.
func (s *Service) Review(ctx context.Context, p *Principal, id RequestID, in ReviewInput) (*AccessRequest, error) {
	if in.Decision != DecisionApprove && in.Decision != DecisionDeny {
		return nil, Errorf(CodeInvalid, "decision must be approve or deny")
	}
	if err := ValidateText("reason", in.Reason, in.Decision == DecisionDeny); err != nil {
		return nil, err
	}
	ended := false
	out, err := s.actTx(ctx, p, id, func(tx *txn, r *AccessRequest) (*ReviewOutcome, error) {
		ended = false
		// The requester is checked at decision time too: a request whose
		// requester lost the right to hold it (a change that raced its
		// filing) ends instead of moving on (invariant 12).
		requester, err := tx.GetUser(ctx, r.RequesterID)
		if err != nil {
			return nil, err
		}
		if !requester.CanRequest() && r.Status.Pending() {
			reason := EndRequesterRoleRemoved
			if !requester.Active() {
				reason = EndRequesterRemoved
			}
			ended = r.EndForRequester(reason, "", "the requester can no longer hold access", s.now())
			return nil, nil
		}
		tn, err := tx.GetTenant(ctx, r.TenantID)
		if err != nil {
			return nil, err
		}
		rc := ReviewContext{Settings: tn.Lockbox, Reviewers: map[UserID]*User{}}
		for _, rv := range r.Reviews {
			if _, ok := rc.Reviewers[rv.ReviewerID]; ok {
				continue
			}
			if rc.Reviewers[rv.ReviewerID], err = tx.GetUser(ctx, rv.ReviewerID); err != nil {
				return nil, err
			}
		}
		out, err := r.ApplyReview(p, in, rc, s.now())
		if err != nil {
			return nil, err
		}
		return &out, nil
	})
	if err == nil && ended {
		return nil, Errorf(CodeConflict, "request %s is %s (%s): its requester can no longer hold access", out.ID, out.Status, out.EndReason)
	}
	return out, err
}

// actTx runs a change of one request: load and settle it, apply fn, store
// the transition with its events. When the request had to be settled first,
// the settlement commits and the action is refused with ErrConflict.
func (s *Service) actTx(ctx context.Context, p *Principal, id RequestID, fn func(tx *txn, r *AccessRequest) (*ReviewOutcome, error)) (*AccessRequest, error) {
	var out *AccessRequest
	var late error
	err := s.update(ctx, func(tx *txn) error {
		late = nil
		r, settled, err := s.loadRequest(tx, p, id)
		if err != nil {
			return err
		}
		if settled {
			late = Errorf(CodeConflict, "request %s is %s (%s at %s)", r.ID, r.Status, r.EndReason, r.EndedAt.Format("2006-01-02T15:04:05Z07:00"))
			return nil
		}
		from := r.Status
		outcome, err := fn(tx, r)
		if err != nil {
			return err
		}
		out = r
		return s.saveTransition(tx, r, from, outcome)
	})
	if err == nil {
		err = late
	}
	if err != nil {
		return nil, err
	}
	// The change is committed: a failure to name its people is logged, not
	// reported as a failure of the action.
	if err := s.withNames(ctx, out); err != nil {
		s.log.Warn("naming the people of a request", "request", out.ID, "err", err)
	}
	return out, nil
}

// Cancel withdraws a pending request (requester only).
func (s *Service) Cancel(ctx context.Context, p *Principal, id RequestID) (*AccessRequest, error) {
	return s.act(ctx, p, id, func(r *AccessRequest) (*ReviewOutcome, error) {
		return nil, r.Cancel(p.User, s.now())
	})
}

// Complete releases approved access early (requester only).
func (s *Service) Complete(ctx context.Context, p *Principal, id RequestID) (*AccessRequest, error) {
	return s.act(ctx, p, id, func(r *AccessRequest) (*ReviewOutcome, error) {
		return nil, r.Release(p.User, s.now())
	})
}

// Revoke ends approved access at once: the tenant's approvers and admins, or
// an operator admin.
func (s *Service) Revoke(ctx context.Context, p *Principal, id RequestID, reason string) (*AccessRequest, error) {
	if err := ValidateText("reason", reason, true); err != nil {
		return nil, err
	}
	return s.act(ctx, p, id, func(r *AccessRequest) (*ReviewOutcome, error) {
		return nil, r.Revoke(p.User, reason, s.now())
	})
}

// SettleDue applies every passed deadline: pending requests expire, approved
// access completes. It is what the background sweeper runs; it is safe to run
// twice or concurrently (each change is a compare-and-set), and nothing
// depends on it for correctness, since reads and actions settle a request
// themselves. It returns how many requests it changed.
func (s *Service) SettleDue(ctx context.Context) (int, error) {
	n := 0
	for {
		var ids []RequestID
		err := s.view(ctx, func(r Reader) error {
			var err error
			ids, err = r.ListDueRequests(ctx, s.now(), 100)
			return err
		})
		if err != nil || len(ids) == 0 {
			return n, err
		}
		changed := 0
		err = s.update(ctx, func(tx *txn) error {
			changed = 0
			now := s.now()
			for _, id := range ids {
				r, err := tx.GetRequest(ctx, id)
				if err != nil {
					return err
				}
				from := r.Status
				if r.Settle(now) {
					if err := s.saveTransition(tx, r, from, nil); err != nil {
						return err
					}
					changed++
				}
			}
			return nil
		})
		if err != nil {
			return n, err
		}
		n += changed
		if changed == 0 {
			return n, nil // what is listed as due was settled by someone else
		}
	}
}

// endAccessOf ends, inside tx, every request of a requester who lost the
// right to hold it (invariant 12): approved access is revoked (on the
// revocation feed and notified, like any revocation) and pending requests
// are canceled, each with its event and reason (EndRequesterRemoved or
// EndRequesterRoleRemoved). by is who removed or changed the user. A passed
// deadline is applied first, so an elapsed window still ends as completed.
// It is called in the transaction of the user change, so no removal or
// demotion commits while the user's access stays open.
func (s *Service) endAccessOf(tx *txn, u *User, reason string, by UserID) error {
	comment := "the requester's account was removed"
	if reason == EndRequesterRoleRemoved {
		comment = "the requester no longer holds the engineer role"
	}
	var open []*AccessRequest
	for _, st := range []RequestStatus{StatusApproved, StatusPendingInternal, StatusPendingCustomer} {
		f := RequestFilter{RequesterID: u.ID, Status: st, Page: Page{Size: MaxPageSize}}
		for {
			reqs, next, err := tx.ListRequests(tx.ctx, f)
			if err != nil {
				return err
			}
			open = append(open, reqs...)
			if next == "" {
				break
			}
			f.Page.Token = next
		}
	}
	now := s.now()
	for _, r := range open {
		from := r.Status
		if r.Settle(now) || r.EndForRequester(reason, by, comment, now) {
			if err := s.saveTransition(tx, r, from, nil); err != nil {
				return err
			}
		}
	}
	return nil
}
