package lockbox_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lockbox-dev/lockbox"
)

// TestCreateRequest: the JIT policy decides in the same transaction; what no
// policy can change (the customer step, the tenant's cap, naming internal
// approvers) holds whatever it says; a refusal stays on record.
func TestCreateRequest(t *testing.T) {
	leads := lockbox.GroupApprovals{Group: "support-leads", Count: 1}
	refuse := lockbox.Decision{Allowed: false, Reasons: []string{"outside business hours"}}
	unnamed := lockbox.Decision{Allowed: true, MaxDuration: lockbox.Duration(time.Hour)} // no approvers, not waived
	cases := []struct {
		name       string
		decision   lockbox.Decision
		lockboxOff bool
		duration   time.Duration
		code       lockbox.ErrorCode
		reason     string // in the refusal's message
		status     lockbox.RequestStatus
		granted    time.Duration // approved at once: the window
		events     []lockbox.EventType
	}{
		{"the policy refuses", refuse, false, time.Hour, lockbox.CodeForbidden, "outside business hours", "", 0,
			[]lockbox.EventType{lockbox.EventRequestRefused}},
		{"a policy naming no approvers is refused", unnamed, false, time.Hour, lockbox.CodeForbidden, "names no internal approvers", "", 0,
			[]lockbox.EventType{lockbox.EventRequestRefused}},
		{"internal approvals first", allowWith(leads), false, time.Hour, "", "", lockbox.StatusPendingInternal, 0,
			[]lockbox.EventType{lockbox.EventRequestCreated}},
		{"internal step waived: the customer decides", allowWith(), false, time.Hour, "", "", lockbox.StatusPendingCustomer, 0,
			[]lockbox.EventType{lockbox.EventRequestCreated, lockbox.EventRequestPendingCust}},
		{"internal step waived, lockbox off: approved at once", allowWith(), true, time.Hour, "", "", lockbox.StatusApproved, time.Hour,
			[]lockbox.EventType{lockbox.EventRequestCreated, lockbox.EventRequestApproved}},
		{"the tenant's cap holds over the policy's", allowWith(), true, 20 * time.Hour, "", "", lockbox.StatusApproved, 8 * time.Hour,
			[]lockbox.EventType{lockbox.EventRequestCreated, lockbox.EventRequestApproved}},
	}
	e := newDomainEnv(t)
	stored := func() int {
		var n int
		_ = e.store.View(e.ctx, func(rd lockbox.Reader) error {
			items, _, err := rd.ListRequests(e.ctx, lockbox.RequestFilter{TenantID: e.acme.ID})
			n = len(items)
			return err
		})
		return n
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			defer e.in(t)()
			e.resetSettings(e.acme.ID)
			e.policy.set(c.decision)
			if c.lockboxOff {
				e.changeSettings(e.acme.ID, func(s *lockbox.LockboxSettings) { s.Enabled = false })
			}
			m, n := e.mark(), stored()
			r, err := e.svc.CreateRequest(e.ctx, e.mfa(e.eng), requestInput(e.ticket.ID, c.duration))
			wantCode(t, "filing", err, c.code)
			e.expectEvents(m, e.acme.ID, c.events...)
			if c.code != "" {
				if !strings.Contains(err.Error(), c.reason) {
					t.Errorf("refusal %q does not say %q", err, c.reason)
				}
				if stored() != n {
					t.Errorf("a refused request was stored")
				}
				return
			}
			if r.Status != c.status {
				t.Fatalf("status %s, want %s", r.Status, c.status)
			}
			st := e.stored(r.ID)
			if st.Status != c.status || st.RequesterID != e.eng.ID || st.TenantID != e.acme.ID {
				t.Errorf("stored %s by %s in %s", st.Status, st.RequesterID, st.TenantID)
			}
			if st.Policy.CustomerApprovalRequired == c.lockboxOff {
				t.Errorf("customer_approval_required %v with lockbox enabled=%v", st.Policy.CustomerApprovalRequired, !c.lockboxOff)
			}
			if want := domainT0.Add(12 * time.Hour); !st.DecisionDeadline.Equal(want) {
				t.Errorf("decision deadline %s, want %s (pending_ttl)", st.DecisionDeadline, want)
			}
			if c.granted > 0 {
				if st.AccessStartsAt == nil || !st.AccessStartsAt.Equal(domainT0) || st.AccessExpiresAt.Sub(*st.AccessStartsAt) != c.granted {
					t.Errorf("window %v..%v, want %s from now", st.AccessStartsAt, st.AccessExpiresAt, c.granted)
				}
			} else if st.AccessStartsAt != nil {
				t.Errorf("a pending request has a window from %v", st.AccessStartsAt)
			}
		})
	}
}

// TestCreateRequestRefusals: who may file, for what; nothing is recorded for
// a caller or input refused before the policy runs.
func TestCreateRequestRefusals(t *testing.T) {
	e := newDomainEnv(t)
	resolved := e.newTicket(e.acme.ID)
	if _, err := e.svc.ResolveTicket(e.ctx, e.mfa(e.member), resolved.ID); err != nil {
		t.Fatal(err)
	}
	good := requestInput(e.ticket.ID, time.Hour)
	with := func(f func(*lockbox.CreateRequestInput)) lockbox.CreateRequestInput {
		in := good
		in.Resources = slices.Clone(good.Resources)
		f(&in)
		return in
	}
	cases := []struct {
		name string
		p    *lockbox.Principal
		in   lockbox.CreateRequestInput
		code lockbox.ErrorCode
	}{
		{"an operator admin", e.mfa(e.opAdmin), good, lockbox.CodeForbidden},
		{"a gateway account", e.mfa(e.gw), good, lockbox.CodeForbidden},
		{"a customer admin", e.mfa(e.admin), good, lockbox.CodeForbidden},
		{"no ticket", e.mfa(e.eng), with(func(in *lockbox.CreateRequestInput) { in.TicketID = "" }), lockbox.CodeInvalid},
		{"unknown ticket", e.mfa(e.eng), with(func(in *lockbox.CreateRequestInput) { in.TicketID = "tkt_nope" }), lockbox.CodeInvalid},
		{"resolved ticket", e.mfa(e.eng), with(func(in *lockbox.CreateRequestInput) { in.TicketID = resolved.ID }), lockbox.CodeConflict},
		{"no resources", e.mfa(e.eng), with(func(in *lockbox.CreateRequestInput) { in.Resources = nil }), lockbox.CodeInvalid},
		{"a resource twice", e.mfa(e.eng), with(func(in *lockbox.CreateRequestInput) { in.Resources = []string{"a", "a"} }), lockbox.CodeInvalid},
		{"a resource with a space", e.mfa(e.eng), with(func(in *lockbox.CreateRequestInput) { in.Resources = []string{"mailbox: x"} }), lockbox.CodeInvalid},
		{"unknown access level", e.mfa(e.eng), with(func(in *lockbox.CreateRequestInput) { in.AccessLevel = "root" }), lockbox.CodeInvalid},
		{"unknown reason type", e.mfa(e.eng), with(func(in *lockbox.CreateRequestInput) { in.ReasonType = "curiosity" }), lockbox.CodeInvalid},
		{"no justification", e.mfa(e.eng), with(func(in *lockbox.CreateRequestInput) { in.Justification = " " }), lockbox.CodeInvalid},
		{"no duration", e.mfa(e.eng), with(func(in *lockbox.CreateRequestInput) { in.Duration = 0 }), lockbox.CodeInvalid},
		{"too long", e.mfa(e.eng), with(func(in *lockbox.CreateRequestInput) { in.Duration = lockbox.Duration(31 * 24 * time.Hour) }), lockbox.CodeInvalid},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			defer e.in(t)()
			m := e.mark()
			_, err := e.svc.CreateRequest(e.ctx, c.p, c.in)
			wantCode(t, "filing", err, c.code)
			e.expectEvents(m, e.acme.ID)
		})
	}
}

// TestPolicyInput: the policy sees the caller, its MFA, the tenant and the
// ticket as stored.
func TestPolicyInput(t *testing.T) {
	e := newDomainEnv(t)
	for _, p := range []*lockbox.Principal{e.pwd(e.eng), e.mfa(e.eng)} {
		if _, err := e.svc.CreateRequest(e.ctx, p, requestInput(e.ticket.ID, time.Hour)); err != nil {
			t.Fatal(err)
		}
		in := e.policy.last
		if in.MFA != p.MFA() || in.Requester.ID != e.eng.ID || in.Tenant.ID != e.acme.ID || in.Ticket.ID != e.ticket.ID ||
			!in.Now.Equal(domainT0) || in.Duration != lockbox.Duration(time.Hour) {
			t.Errorf("policy input %+v for a session with MFA=%v", in, p.MFA())
		}
	}
}

// TestInternalReview: operator groups approve first; each person counts
// once; nobody reviews their own request; the customer step follows when the
// tenant has lockbox enabled at decision time.
func TestInternalReview(t *testing.T) {
	e := newDomainEnv(t)
	e.policy.set(allowWith(lockbox.GroupApprovals{Group: "support-leads", Count: 2}))
	r := e.request(e.ticket, time.Hour)
	refused := []struct {
		name string
		p    *lockbox.Principal
		code lockbox.ErrorCode
	}{
		{"the requester, although in the group", e.mfa(e.eng), lockbox.CodeForbidden},
		{"an engineer outside the group", e.mfa(e.eng2), lockbox.CodeForbidden},
		{"an operator admin outside the group", e.mfa(e.opAdmin), lockbox.CodeForbidden},
		{"the customer's approver before its stage", e.mfa(e.apr1), lockbox.CodeForbidden},
		{"a customer of another tenant", e.mfa(e.foreign), lockbox.CodeNotFound},
		{"a support lead on a password-only session", e.pwd(e.lead1), lockbox.CodeForbidden},
	}
	for _, c := range refused {
		t.Run(c.name, func(t *testing.T) {
			defer e.in(t)()
			m := e.mark()
			_, err := e.svc.Review(e.ctx, c.p, r.ID, approve("fine"))
			wantCode(t, "review", err, c.code)
			e.expectEvents(m, e.acme.ID)
		})
	}

	m := e.mark()
	got, err := e.svc.Review(e.ctx, e.mfa(e.lead1), r.ID, approve("fine"))
	if err != nil || got.Status != lockbox.StatusPendingInternal {
		t.Fatalf("first of two internal approvals: %v", err)
	}
	e.expectEvents(m, e.acme.ID, lockbox.EventRequestReviewed)

	m = e.mark()
	_, err = e.svc.Review(e.ctx, e.mfa(e.lead1), r.ID, approve("again"))
	wantCode(t, "the same person twice", err, lockbox.CodeConflict)
	e.expectEvents(m, e.acme.ID)

	e.clock.Advance(time.Hour)
	m = e.mark()
	got, err = e.svc.Review(e.ctx, e.mfa(e.lead2), r.ID, approve("fine"))
	if err != nil || got.Status != lockbox.StatusPendingCustomer {
		t.Fatalf("second internal approval: %v %v", got, err)
	}
	e.expectEvents(m, e.acme.ID, lockbox.EventRequestReviewed, lockbox.EventRequestPendingCust)
	if want := domainT0.Add(time.Hour + 12*time.Hour); !got.DecisionDeadline.Equal(want) {
		t.Errorf("the customer's deadline %s, want its whole pending_ttl from now (%s)", got.DecisionDeadline, want)
	}
	m = e.mark()
	_, err = e.svc.Review(e.ctx, e.mfa(e.lead3), r.ID, approve("late"))
	wantCode(t, "an operator at the customer stage", err, lockbox.CodeForbidden)
	e.expectEvents(m, e.acme.ID)
}

// TestInternalApproverAtDecisionTime: an internal approval counts only while
// its reviewer is still an active member of the group.
func TestInternalApproverAtDecisionTime(t *testing.T) {
	cases := []struct {
		name   string
		change func(*lockbox.User)
	}{
		{"left the group", func(u *lockbox.User) { u.Groups = []string{} }},
		{"was removed", func(u *lockbox.User) { now := domainT0; u.DeletedAt = &now }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newDomainEnv(t)
			e.policy.set(allowWith(lockbox.GroupApprovals{Group: "support-leads", Count: 2}))
			r := e.request(e.ticket, time.Hour)
			if _, err := e.svc.Review(e.ctx, e.mfa(e.lead1), r.ID, approve("ok")); err != nil {
				t.Fatal(err)
			}
			e.changeUser(e.lead1, c.change)
			got, err := e.svc.Review(e.ctx, e.mfa(e.lead2), r.ID, approve("ok"))
			if err != nil || got.Status != lockbox.StatusPendingInternal {
				t.Fatalf("with the first approver gone: %v %v, want still pending_internal", got.Status, err)
			}
			got, err = e.svc.Review(e.ctx, e.mfa(e.lead3), r.ID, approve("ok"))
			if err != nil || got.Status != lockbox.StatusPendingCustomer {
				t.Fatalf("a third lead: %v %v", got.Status, err)
			}
		})
	}
}

// TestLockboxAtDecisionTime: the tenant's settings when the internal step
// completes rule, not those when the request was filed (invariant 2).
func TestLockboxAtDecisionTime(t *testing.T) {
	for _, enabledLater := range []bool{true, false} {
		t.Run(map[bool]string{true: "enabled after filing", false: "disabled after filing"}[enabledLater], func(t *testing.T) {
			e := newDomainEnv(t)
			e.changeSettings(e.acme.ID, func(s *lockbox.LockboxSettings) { s.Enabled = !enabledLater })
			r := e.request(e.ticket, time.Hour)
			e.changeSettings(e.acme.ID, func(s *lockbox.LockboxSettings) {
				s.Enabled = enabledLater
				s.MaxAccessDuration = lockbox.Duration(30 * time.Minute)
			})
			got, err := e.svc.Review(e.ctx, e.mfa(e.lead1), r.ID, approve("ok"))
			if err != nil {
				t.Fatal(err)
			}
			want := lockbox.StatusApproved
			if enabledLater {
				want = lockbox.StatusPendingCustomer
			}
			if got.Status != want || got.Policy.CustomerApprovalRequired != enabledLater {
				t.Fatalf("status %s (customer step %v), want %s", got.Status, got.Policy.CustomerApprovalRequired, want)
			}
			if !enabledLater && got.AccessExpiresAt.Sub(*got.AccessStartsAt) != 30*time.Minute {
				t.Errorf("window %s, want the tenant's cap at decision time (30m)", got.AccessExpiresAt.Sub(*got.AccessStartsAt))
			}
		})
	}
}

// TestCustomerReview: the tenant's admins and approvers decide, on an MFA
// session, each person once, until approvals_required distinct approvals;
// the window opens at the last approval.
func TestCustomerReview(t *testing.T) {
	e := newDomainEnv(t)
	e.policy.set(allowWith())
	e.changeSettings(e.acme.ID, func(s *lockbox.LockboxSettings) { s.ApprovalsRequired = 2 })
	r := e.request(e.ticket, 2*time.Hour)
	refused := []struct {
		name string
		p    *lockbox.Principal
		in   lockbox.ReviewInput
		code lockbox.ErrorCode
	}{
		{"an approver without a one-time code", e.pwd(e.apr1), approve("ok"), lockbox.CodeForbidden},
		{"a tenant admin without a one-time code", e.pwd(e.admin), approve("ok"), lockbox.CodeForbidden},
		{"a member of the tenant", e.mfa(e.member), approve("ok"), lockbox.CodeForbidden},
		{"another tenant's admin", e.mfa(e.foreign), approve("ok"), lockbox.CodeNotFound},
		{"an operator", e.mfa(e.lead1), approve("ok"), lockbox.CodeForbidden},
		{"an operator admin", e.mfa(e.opAdmin), approve("ok"), lockbox.CodeForbidden},
		{"the requester", e.mfa(e.eng), approve("ok"), lockbox.CodeForbidden},
		{"a deny without a reason", e.mfa(e.apr1), deny(""), lockbox.CodeInvalid},
		{"neither approve nor deny", e.mfa(e.apr1), lockbox.ReviewInput{Decision: "maybe"}, lockbox.CodeInvalid},
		{"a longer duration", e.mfa(e.apr1), lockbox.ReviewInput{Decision: lockbox.DecisionApprove, Duration: lockbox.Duration(3 * time.Hour)}, lockbox.CodeInvalid},
		{"a duration on a deny", e.mfa(e.apr1), lockbox.ReviewInput{Decision: lockbox.DecisionDeny, Reason: "no", Duration: lockbox.Duration(time.Hour)}, lockbox.CodeInvalid},
	}
	for _, c := range refused {
		t.Run(c.name, func(t *testing.T) {
			defer e.in(t)()
			m := e.mark()
			_, err := e.svc.Review(e.ctx, c.p, r.ID, c.in)
			wantCode(t, "review", err, c.code)
			e.expectEvents(m, e.acme.ID)
			if st := e.stored(r.ID); len(st.Reviews) != 0 || st.Status != lockbox.StatusPendingCustomer {
				t.Fatalf("a refused review changed the request: %s %+v", st.Status, st.Reviews)
			}
		})
	}

	m := e.mark()
	got, err := e.svc.Review(e.ctx, e.mfa(e.apr1), r.ID, lockbox.ReviewInput{Decision: lockbox.DecisionApprove, Reason: "ok", Duration: lockbox.Duration(90 * time.Minute)})
	if err != nil || got.Status != lockbox.StatusPendingCustomer {
		t.Fatalf("first of two approvals: %v %v", got, err)
	}
	e.expectEvents(m, e.acme.ID, lockbox.EventRequestReviewed)
	if rv := got.Reviews[0]; rv.ReviewerID != e.apr1.ID || rv.Stage != lockbox.StageCustomer || !rv.MFA {
		t.Errorf("review recorded as %+v", rv)
	}

	m = e.mark()
	_, err = e.svc.Review(e.ctx, e.mfa(e.apr1), r.ID, approve("twice"))
	wantCode(t, "the same approver twice", err, lockbox.CodeConflict)
	e.expectEvents(m, e.acme.ID)

	e.clock.Advance(10 * time.Minute)
	m = e.mark()
	got, err = e.svc.Review(e.ctx, e.mfa(e.admin), r.ID, approve("ok"))
	if err != nil || got.Status != lockbox.StatusApproved {
		t.Fatalf("second approval: %v %v", got, err)
	}
	e.expectEvents(m, e.acme.ID, lockbox.EventRequestReviewed, lockbox.EventRequestApproved)
	start := domainT0.Add(10 * time.Minute)
	if !got.AccessStartsAt.Equal(start) || !got.AccessExpiresAt.Equal(start.Add(90*time.Minute)) || got.GrantedDuration != lockbox.Duration(90*time.Minute) {
		t.Errorf("window %v..%v (%s), want 90m from the last approval", got.AccessStartsAt, got.AccessExpiresAt, got.GrantedDuration)
	}

	m = e.mark()
	_, err = e.svc.Review(e.ctx, e.mfa(e.apr2), r.ID, deny("too late"))
	wantCode(t, "a review after the stage", err, lockbox.CodeConflict)
	e.expectEvents(m, e.acme.ID)
}

// TestDenyShortCircuits: one deny ends the request at any stage, whatever
// approvals it had, and is announced on the revocation feed.
func TestDenyShortCircuits(t *testing.T) {
	cases := []struct {
		name     string
		decision lockbox.Decision
		approver func(e *domainEnv) *lockbox.Principal
		denier   func(e *domainEnv) *lockbox.Principal
	}{
		{"internal", allowWith(lockbox.GroupApprovals{Group: "support-leads", Count: 2}),
			func(e *domainEnv) *lockbox.Principal { return e.mfa(e.lead1) }, func(e *domainEnv) *lockbox.Principal { return e.mfa(e.lead2) }},
		{"customer, without a one-time code", allowWith(),
			func(e *domainEnv) *lockbox.Principal { return e.mfa(e.apr1) }, func(e *domainEnv) *lockbox.Principal { return e.pwd(e.apr2) }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newDomainEnv(t)
			e.policy.set(c.decision)
			e.changeSettings(e.acme.ID, func(s *lockbox.LockboxSettings) { s.ApprovalsRequired = 2 })
			r := e.request(e.ticket, time.Hour)
			if _, err := e.svc.Review(e.ctx, c.approver(e), r.ID, approve("ok")); err != nil {
				t.Fatal(err)
			}
			m := e.mark()
			denier := c.denier(e)
			got, err := e.svc.Review(e.ctx, denier, r.ID, deny("not needed"))
			if err != nil || got.Status != lockbox.StatusDenied || got.EndReason != lockbox.EndDenied || got.EndedBy != denier.ID() || got.EndComment != "not needed" {
				t.Fatalf("deny: %+v %v", got, err)
			}
			e.expectEvents(m, e.acme.ID, lockbox.EventRequestReviewed, lockbox.EventRequestDenied)
			if st, ok := e.revoked(r.ID); !ok || st != lockbox.StatusDenied {
				t.Errorf("revocation feed: %s %v", st, ok)
			}
		})
	}
}

// TestCustomerApproverAtDecisionTime: a customer approval counts only while
// its reviewer still holds an approving role of the tenant.
func TestCustomerApproverAtDecisionTime(t *testing.T) {
	cases := []struct {
		name   string
		change func(*lockbox.User)
	}{
		{"demoted to member", func(u *lockbox.User) { u.Roles = []lockbox.Role{lockbox.RoleMember} }},
		{"removed", func(u *lockbox.User) { now := domainT0; u.DeletedAt = &now }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newDomainEnv(t)
			e.policy.set(allowWith())
			e.changeSettings(e.acme.ID, func(s *lockbox.LockboxSettings) { s.ApprovalsRequired = 2 })
			r := e.request(e.ticket, time.Hour)
			if _, err := e.svc.Review(e.ctx, e.mfa(e.apr1), r.ID, approve("ok")); err != nil {
				t.Fatal(err)
			}
			e.changeUser(e.apr1, c.change)
			got, err := e.svc.Review(e.ctx, e.mfa(e.apr2), r.ID, approve("ok"))
			if err != nil || got.Status != lockbox.StatusPendingCustomer {
				t.Fatalf("with the first approver %s: %s %v, want still pending_customer", c.name, got.Status, err)
			}
			got, err = e.svc.Review(e.ctx, e.mfa(e.admin), r.ID, approve("ok"))
			if err != nil || got.Status != lockbox.StatusApproved {
				t.Fatalf("a third approver: %s %v", got.Status, err)
			}
		})
	}
}

// TestInvalidApprovalsRequiredNeverApproves: settings with zero required
// approvals (written around the validation) approve nothing (invariant 3).
func TestInvalidApprovalsRequiredNeverApproves(t *testing.T) {
	e := newDomainEnv(t)
	e.policy.set(allowWith())
	r := e.request(e.ticket, time.Hour)
	e.changeSettings(e.acme.ID, func(s *lockbox.LockboxSettings) { s.ApprovalsRequired = 0 })
	m := e.mark()
	_, err := e.svc.Review(e.ctx, e.mfa(e.apr1), r.ID, approve("ok"))
	wantCode(t, "approval under approvals_required 0", err, lockbox.CodeConflict)
	e.expectEvents(m, e.acme.ID)
	if st := e.stored(r.ID); st.Status != lockbox.StatusPendingCustomer {
		t.Fatalf("status %s", st.Status)
	}
}

// TestLateActionsSettleFirst: after a deadline, a review or cancel is
// refused, and the expiry it found commits with its event.
func TestLateActionsSettleFirst(t *testing.T) {
	cases := []struct {
		name string
		do   func(e *domainEnv, id lockbox.RequestID) error
	}{
		{"review", func(e *domainEnv, id lockbox.RequestID) error {
			_, err := e.svc.Review(e.ctx, e.mfa(e.apr1), id, approve("late"))
			return err
		}},
		{"cancel", func(e *domainEnv, id lockbox.RequestID) error {
			_, err := e.svc.Cancel(e.ctx, e.mfa(e.eng), id)
			return err
		}},
		{"read", func(e *domainEnv, id lockbox.RequestID) error {
			r, err := e.svc.GetRequest(e.ctx, e.mfa(e.apr1), id)
			if err == nil && r.Status != lockbox.StatusExpired {
				e.t.Errorf("a read after the deadline shows %s", r.Status)
			}
			return err
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newDomainEnv(t)
			e.policy.set(allowWith())
			r := e.request(e.ticket, time.Hour)
			e.clock.Advance(12 * time.Hour)
			m := e.mark()
			err := c.do(e, r.ID)
			if c.name != "read" {
				wantCode(t, c.name, err, lockbox.CodeConflict)
			} else if err != nil {
				t.Fatal(err)
			}
			e.expectEvents(m, e.acme.ID, lockbox.EventRequestExpired)
			st := e.stored(r.ID)
			if st.Status != lockbox.StatusExpired || !st.EndedAt.Equal(r.DecisionDeadline) || len(st.Reviews) != 0 {
				t.Errorf("stored %s ended %v with %d reviews, want expired at the deadline %s", st.Status, st.EndedAt, len(st.Reviews), r.DecisionDeadline)
			}
		})
	}
}

// TestEndingRequests: cancel (requester, pending), complete (requester,
// approved) and revoke (the tenant's approvers, operator admins), each with
// its event and its place on the revocation feed.
func TestEndingRequests(t *testing.T) {
	type action func(e *domainEnv, id lockbox.RequestID) (*lockbox.AccessRequest, error)
	cancel := func(p func(*domainEnv) *lockbox.User) action {
		return func(e *domainEnv, id lockbox.RequestID) (*lockbox.AccessRequest, error) {
			return e.svc.Cancel(e.ctx, e.mfa(p(e)), id)
		}
	}
	complete := func(p func(*domainEnv) *lockbox.User) action {
		return func(e *domainEnv, id lockbox.RequestID) (*lockbox.AccessRequest, error) {
			return e.svc.Complete(e.ctx, e.mfa(p(e)), id)
		}
	}
	revoke := func(p func(*domainEnv) *lockbox.User, reason string) action {
		return func(e *domainEnv, id lockbox.RequestID) (*lockbox.AccessRequest, error) {
			return e.svc.Revoke(e.ctx, e.mfa(p(e)), id, reason)
		}
	}
	requester := func(e *domainEnv) *lockbox.User { return e.eng }
	cases := []struct {
		name     string
		approved bool // act on approved access, else on a pending request
		do       action
		code     lockbox.ErrorCode
		status   lockbox.RequestStatus
		reason   string
		event    lockbox.EventType
	}{
		{"the requester cancels", false, cancel(requester), "", lockbox.StatusCanceled, lockbox.EndCanceled, lockbox.EventRequestCanceled},
		{"another engineer cancels", false, cancel(func(e *domainEnv) *lockbox.User { return e.eng2 }), lockbox.CodeForbidden, "", "", ""},
		{"the customer cancels", false, cancel(func(e *domainEnv) *lockbox.User { return e.admin }), lockbox.CodeForbidden, "", "", ""},
		{"cancel approved access", true, cancel(requester), lockbox.CodeConflict, "", "", ""},
		{"the requester completes", true, complete(requester), "", lockbox.StatusCompleted, lockbox.EndReleased, lockbox.EventRequestCompleted},
		{"another engineer completes", true, complete(func(e *domainEnv) *lockbox.User { return e.eng2 }), lockbox.CodeForbidden, "", "", ""},
		{"complete a pending request", false, complete(requester), lockbox.CodeConflict, "", "", ""},
		{"an approver revokes", true, revoke(func(e *domainEnv) *lockbox.User { return e.apr2 }, "done"), "", lockbox.StatusRevoked, lockbox.EndRevoked, lockbox.EventRequestRevoked},
		{"the tenant admin revokes", true, revoke(func(e *domainEnv) *lockbox.User { return e.admin }, "done"), "", lockbox.StatusRevoked, lockbox.EndRevoked, lockbox.EventRequestRevoked},
		{"an operator admin revokes", true, revoke(func(e *domainEnv) *lockbox.User { return e.opAdmin }, "done"), "", lockbox.StatusRevoked, lockbox.EndRevoked, lockbox.EventRequestRevoked},
		{"revoke without a reason", true, revoke(func(e *domainEnv) *lockbox.User { return e.admin }, ""), lockbox.CodeInvalid, "", "", ""},
		{"the requester revokes", true, revoke(requester, "x"), lockbox.CodeForbidden, "", "", ""},
		{"a member revokes", true, revoke(func(e *domainEnv) *lockbox.User { return e.member }, "x"), lockbox.CodeForbidden, "", "", ""},
		{"another tenant's admin revokes", true, revoke(func(e *domainEnv) *lockbox.User { return e.foreign }, "x"), lockbox.CodeNotFound, "", "", ""},
		{"revoke a pending request", false, revoke(func(e *domainEnv) *lockbox.User { return e.admin }, "x"), lockbox.CodeConflict, "", "", ""},
	}
	e := newDomainEnv(t)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			defer e.in(t)()
			var r *lockbox.AccessRequest
			if c.approved {
				r = e.approved(time.Hour)
			} else {
				r = e.request(e.ticket, time.Hour)
			}
			before := r.Status
			e.clock.Advance(time.Minute)
			now := e.clock.Now()
			m := e.mark()
			got, err := c.do(e, r.ID)
			wantCode(t, c.name, err, c.code)
			if c.code != "" {
				e.expectEvents(m, e.acme.ID)
				if st := e.stored(r.ID); st.Status != before {
					t.Fatalf("a refused action moved the request to %s", st.Status)
				}
				if _, ok := e.revoked(r.ID); ok {
					t.Fatal("a refused action is on the revocation feed")
				}
				return
			}
			e.expectEvents(m, e.acme.ID, c.event)
			if got.Status != c.status || got.EndReason != c.reason || !got.EndedAt.Equal(now) {
				t.Errorf("%s (%s) at %v, want %s (%s) now", got.Status, got.EndReason, got.EndedAt, c.status, c.reason)
			}
			if st, ok := e.revoked(r.ID); !ok || st != c.status {
				t.Errorf("revocation feed: %s %v, want %s", st, ok, c.status)
			}
		})
	}
}

// TestSettleDue: the sweeper expires pending requests and completes
// approved access at their deadlines, each once, dated at the deadline.
func TestSettleDue(t *testing.T) {
	e := newDomainEnv(t)
	e.changeSettings(e.acme.ID, func(s *lockbox.LockboxSettings) { s.PendingTTL = lockbox.Duration(time.Hour) })
	pending := e.request(e.ticket, time.Hour)
	access := e.approved(time.Hour)
	later := e.approved(8 * time.Hour)
	if n, err := e.svc.SettleDue(e.ctx); err != nil || n != 0 {
		t.Fatalf("before any deadline: %d %v", n, err)
	}
	e.clock.Advance(2 * time.Hour)
	m := e.mark()
	if n, err := e.svc.SettleDue(e.ctx); err != nil || n != 2 {
		t.Fatalf("after the deadlines: settled %d (%v), want 2", n, err)
	}
	got := e.since(m, e.acme.ID)
	slices.Sort(got)
	if want := []lockbox.EventType{lockbox.EventRequestCompleted, lockbox.EventRequestExpired}; !slices.Equal(got, want) {
		t.Errorf("events %v, want %v", got, want)
	}
	checks := []struct {
		r      *lockbox.AccessRequest
		status lockbox.RequestStatus
		reason string
		at     time.Time
	}{
		{pending, lockbox.StatusExpired, lockbox.EndExpired, pending.DecisionDeadline},
		{access, lockbox.StatusCompleted, lockbox.EndDurationElapsed, *access.AccessExpiresAt},
		{later, lockbox.StatusApproved, "", time.Time{}},
	}
	for _, c := range checks {
		st := e.stored(c.r.ID)
		if st.Status != c.status || st.EndReason != c.reason || (st.EndedAt != nil && !st.EndedAt.Equal(c.at)) {
			t.Errorf("%s: %s (%s) at %v, want %s (%s) at %s", c.r.ID, st.Status, st.EndReason, st.EndedAt, c.status, c.reason, c.at)
		}
		if _, ok := e.revoked(c.r.ID); ok != c.status.Terminal() {
			t.Errorf("%s on the revocation feed: %v", c.r.ID, ok)
		}
	}
	m = e.mark()
	if n, err := e.svc.SettleDue(e.ctx); err != nil || n != 0 {
		t.Fatalf("settling again: %d %v", n, err)
	}
	e.expectEvents(m, e.acme.ID)
}

// TestRequestReadsAreTenantScoped: requests are read by operators and the
// tenant's admins and approvers; other customers of the tenant are refused,
// those of other tenants learn nothing.
func TestRequestReadsAreTenantScoped(t *testing.T) {
	e := newDomainEnv(t)
	r := e.request(e.ticket, time.Hour)
	theirs := e.newTicket(e.globex.ID)
	e.request(theirs, time.Hour)
	cases := []struct {
		name string
		p    *lockbox.Principal
		code lockbox.ErrorCode
		list int // requests listed without a filter
	}{
		{"an engineer", e.pwd(e.eng2), "", 2},
		{"an operator admin", e.pwd(e.opAdmin), "", 2},
		{"the tenant's approver", e.pwd(e.apr1), "", 1},
		{"the tenant's admin", e.pwd(e.admin), "", 1},
		{"a member of the tenant", e.pwd(e.member), lockbox.CodeForbidden, -1},
		{"another tenant's admin", e.pwd(e.foreign), lockbox.CodeNotFound, 1},
		{"a gateway account", e.pwd(e.gw), lockbox.CodeNotFound, -1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			defer e.in(t)()
			got, err := e.svc.GetRequest(e.ctx, c.p, r.ID)
			wantCode(t, "get", err, c.code)
			if err == nil && (got.ID != r.ID || got.RequesterName != e.eng.DisplayName) {
				t.Errorf("read %s by %q", got.ID, got.RequesterName)
			}
			list, err := e.svc.ListRequests(e.ctx, c.p, lockbox.RequestFilter{})
			if c.list < 0 {
				wantCode(t, "list", err, lockbox.CodeForbidden)
			} else {
				wantCode(t, "list", err, "")
				if len(list.Items) != c.list {
					t.Errorf("listed %d requests, want %d", len(list.Items), c.list)
				}
				for _, it := range list.Items {
					if !c.p.User.IsOperator() && it.TenantID != c.p.User.TenantID {
						t.Errorf("listed %s of tenant %s", it.ID, it.TenantID)
					}
				}
			}
			if c.p.User.Kind == lockbox.KindCustomer && c.list >= 0 && c.p.User.TenantID != e.acme.ID {
				_, err := e.svc.ListRequests(e.ctx, c.p, lockbox.RequestFilter{TenantID: e.acme.ID})
				wantCode(t, "list naming another tenant", err, lockbox.CodeNotFound)
			}
		})
	}
	_, err := e.svc.ListRequests(e.ctx, e.pwd(e.eng), lockbox.RequestFilter{TenantID: "tnt_unknown"})
	wantCode(t, "list of an unknown tenant", err, lockbox.CodeNotFound)
	_, err = e.svc.ListRequests(e.ctx, e.pwd(e.eng), lockbox.RequestFilter{Status: "lost"})
	wantCode(t, "list by an unknown status", err, lockbox.CodeInvalid)
}
