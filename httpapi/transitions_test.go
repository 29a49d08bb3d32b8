package httpapi_test

import (
	"bytes"
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/lockbox-dev/lockbox"
)

// The status machine of docs/design.md §2, tried through the API: every action
// from every status, by the right and by the wrong person.

// approveInternal approves r as the world's support lead.
func (e *env) approveInternal(w *world, r *lockbox.AccessRequest) {
	e.t.Helper()
	e.must(200, "POST", reqPath(r.ID, "approve"), w.lead.token, lockbox.ApproveInput{Reason: "internal ok"}, r)
	if r.Status != lockbox.StatusPendingCustomer {
		e.t.Fatalf("after internal approval: %s, want pending_customer", r.Status)
	}
}

// approveCustomer approves r as the world's lockbox approver.
func (e *env) approveCustomer(w *world, r *lockbox.AccessRequest) {
	e.t.Helper()
	e.must(200, "POST", reqPath(r.ID, "approve"), w.approver.token, lockbox.ApproveInput{Reason: "customer ok"}, r)
	if r.Status != lockbox.StatusApproved {
		e.t.Fatalf("after customer approval: %s, want approved", r.Status)
	}
}

// approvedRequest files a request for the ticket and has it approved.
func (e *env) approvedRequest(w *world, ticket lockbox.TicketID, d string) *lockbox.AccessRequest {
	e.t.Helper()
	r := e.requestFor(w.engineer, ticket, d)
	e.approveInternal(w, r)
	e.approveCustomer(w, r)
	return r
}

// advanceTo moves the clock one second past t.
func (e *env) advanceTo(t time.Time) {
	e.clock.Advance(t.Sub(e.clock.Now()) + time.Second)
}

type startState struct {
	name      string
	status    lockbox.RequestStatus
	endReason string // for ended requests, the end_reason a reader sees
	reach     func(e *env, w *world) *lockbox.AccessRequest
}

// The starting statuses, each reached through the API only.
var startStates = []startState{
	{"pending_internal", lockbox.StatusPendingInternal, "", func(e *env, w *world) *lockbox.AccessRequest {
		return e.request(w, "2h")
	}},
	{"pending_customer", lockbox.StatusPendingCustomer, "", func(e *env, w *world) *lockbox.AccessRequest {
		r := e.request(w, "2h")
		e.approveInternal(w, r)
		return r
	}},
	{"approved", lockbox.StatusApproved, "", func(e *env, w *world) *lockbox.AccessRequest {
		return e.approvedRequest(w, w.ticket.ID, "2h")
	}},
	{"denied_internally", lockbox.StatusDenied, "", func(e *env, w *world) *lockbox.AccessRequest {
		r := e.request(w, "2h")
		e.must(200, "POST", reqPath(r.ID, "deny"), w.lead.token, lockbox.ReasonInput{Reason: "not needed"}, r)
		return r
	}},
	{"denied_by_customer", lockbox.StatusDenied, "", func(e *env, w *world) *lockbox.AccessRequest {
		r := e.request(w, "2h")
		e.approveInternal(w, r)
		e.must(200, "POST", reqPath(r.ID, "deny"), w.approver.token, lockbox.ReasonInput{Reason: "not today"}, r)
		return r
	}},
	{"expired_internal", lockbox.StatusExpired, "", func(e *env, w *world) *lockbox.AccessRequest {
		r := e.request(w, "2h")
		e.advanceTo(r.DecisionDeadline)
		return e.getRequest(w, r.ID)
	}},
	{"expired_customer", lockbox.StatusExpired, "", func(e *env, w *world) *lockbox.AccessRequest {
		r := e.request(w, "2h")
		e.approveInternal(w, r)
		e.advanceTo(r.DecisionDeadline)
		return e.getRequest(w, r.ID)
	}},
	{"canceled", lockbox.StatusCanceled, "", func(e *env, w *world) *lockbox.AccessRequest {
		r := e.request(w, "2h")
		e.must(200, "POST", reqPath(r.ID, "cancel"), w.engineer.token, nil, r)
		return r
	}},
	{"revoked", lockbox.StatusRevoked, "", func(e *env, w *world) *lockbox.AccessRequest {
		r := e.approvedRequest(w, w.ticket.ID, "2h")
		e.must(200, "POST", reqPath(r.ID, "revoke"), w.approver.token, lockbox.ReasonInput{Reason: "done"}, r)
		return r
	}},
	{"completed_elapsed", lockbox.StatusCompleted, lockbox.EndDurationElapsed, func(e *env, w *world) *lockbox.AccessRequest {
		r := e.approvedRequest(w, w.ticket.ID, "2m")
		e.advanceTo(*r.AccessExpiresAt)
		return e.getRequest(w, r.ID)
	}},
	{"completed_released", lockbox.StatusCompleted, lockbox.EndReleased, func(e *env, w *world) *lockbox.AccessRequest {
		r := e.approvedRequest(w, w.ticket.ID, "2h")
		e.must(200, "POST", reqPath(r.ID, "complete"), w.engineer.token, nil, r)
		return r
	}},
	{"completed_ticket_resolved", lockbox.StatusCompleted, lockbox.EndTicketResolved, func(e *env, w *world) *lockbox.AccessRequest {
		tk := e.newTicket(w, "Resolved soon")
		r := e.approvedRequest(w, tk.ID, "2h")
		e.must(200, "POST", "/v1/tickets/"+string(tk.ID)+"/resolve", w.member.token, nil, nil)
		return e.getRequest(w, r.ID)
	}},
}

type reqAction struct {
	name string
	send func(e *env, w *world, id lockbox.RequestID) resp
}

func post(path func(lockbox.RequestID) string, tok func(*world) string, body any) func(e *env, w *world, id lockbox.RequestID) resp {
	return func(e *env, w *world, id lockbox.RequestID) resp {
		e.t.Helper()
		return e.call("POST", path(id), tok(w), body)
	}
}

func actionPath(a string) func(lockbox.RequestID) string {
	return func(id lockbox.RequestID) string { return reqPath(id, a) }
}

var (
	byLead       = func(w *world) string { return w.lead.token }
	byApprover   = func(w *world) string { return w.approver.token }
	byEngineer   = func(w *world) string { return w.engineer.token }
	byOpAdmin    = func(w *world) string { return w.opAdmin.token }
	byMember     = func(w *world) string { return w.member.token }
	byCustomerAd = func(w *world) string { return w.customerAdmin.token }
)

// The actions. The requester is the world's engineer; "another engineer"
// is the support lead, who also holds the engineer role.
var reqActions = []reqAction{
	{"internal_approve_by_lead", post(actionPath("approve"), byLead, lockbox.ApproveInput{Reason: "lgtm"})},
	{"customer_approve_by_approver", post(actionPath("approve"), byApprover, lockbox.ApproveInput{Reason: "ok"})},
	{"internal_deny_by_lead", post(actionPath("deny"), byLead, lockbox.ReasonInput{Reason: "no"})},
	{"customer_deny_by_approver", post(actionPath("deny"), byApprover, lockbox.ReasonInput{Reason: "no"})},
	{"cancel_by_requester", post(actionPath("cancel"), byEngineer, nil)},
	{"complete_by_requester", post(actionPath("complete"), byEngineer, nil)},
	{"revoke_by_approver", post(actionPath("revoke"), byApprover, lockbox.ReasonInput{Reason: "enough"})},
	{"revoke_by_tenant_admin", post(actionPath("revoke"), byCustomerAd, lockbox.ReasonInput{Reason: "enough"})},
	{"revoke_by_operator_admin", post(actionPath("revoke"), byOpAdmin, lockbox.ReasonInput{Reason: "enough"})},
	// Wrong people.
	{"cancel_by_other_engineer", post(actionPath("cancel"), byLead, nil)},
	{"complete_by_other_engineer", post(actionPath("complete"), byLead, nil)},
	{"revoke_by_requester", post(actionPath("revoke"), byEngineer, lockbox.ReasonInput{Reason: "enough"})},
	{"revoke_by_member", post(actionPath("revoke"), byMember, lockbox.ReasonInput{Reason: "enough"})},
	{"approve_by_member", post(actionPath("approve"), byMember, lockbox.ApproveInput{Reason: "ok"})},
	{"approve_by_requester", post(actionPath("approve"), byEngineer, lockbox.ApproveInput{Reason: "ok"})},
}

// outcome is what an action must do: the HTTP status, the status the
// request then has ("" for unchanged) and the events it appends, in order.
type outcome struct {
	code   int
	to     lockbox.RequestStatus
	events []string
}

var (
	refused409 = outcome{code: 409}
	refused403 = outcome{code: 403}
)

func moves(to lockbox.RequestStatus, events ...string) outcome {
	return outcome{code: 200, to: to, events: events}
}

// expectations is the status machine of docs/design.md §2 written out: for each
// starting status, what each action does.
func expectations(from lockbox.RequestStatus) map[string]outcome {
	// The wrong people are refused whatever the status.
	m := map[string]outcome{
		"cancel_by_other_engineer":   refused403,
		"complete_by_other_engineer": refused403,
		"revoke_by_requester":        refused403,
		"revoke_by_member":           refused403,
		"approve_by_member":          refused403,
	}
	set := func(o outcome, names ...string) {
		for _, n := range names {
			m[n] = o
		}
	}
	switch from {
	case lockbox.StatusPendingInternal:
		m["internal_approve_by_lead"] = moves(lockbox.StatusPendingCustomer, "request.reviewed", "request.pending_customer")
		m["internal_deny_by_lead"] = moves(lockbox.StatusDenied, "request.reviewed", "request.denied")
		set(refused403, "customer_approve_by_approver", "customer_deny_by_approver", "approve_by_requester")
		m["cancel_by_requester"] = moves(lockbox.StatusCanceled, "request.canceled")
		set(refused409, "complete_by_requester", "revoke_by_approver", "revoke_by_tenant_admin", "revoke_by_operator_admin")
	case lockbox.StatusPendingCustomer:
		set(refused403, "internal_approve_by_lead", "internal_deny_by_lead", "approve_by_requester")
		m["customer_approve_by_approver"] = moves(lockbox.StatusApproved, "request.reviewed", "request.approved")
		m["customer_deny_by_approver"] = moves(lockbox.StatusDenied, "request.reviewed", "request.denied")
		m["cancel_by_requester"] = moves(lockbox.StatusCanceled, "request.canceled")
		set(refused409, "complete_by_requester", "revoke_by_approver", "revoke_by_tenant_admin", "revoke_by_operator_admin")
	case lockbox.StatusApproved:
		// Reviews on a request that left its review stage are 409.
		set(refused409, "internal_approve_by_lead", "customer_approve_by_approver", "internal_deny_by_lead",
			"customer_deny_by_approver", "approve_by_requester", "cancel_by_requester")
		m["complete_by_requester"] = moves(lockbox.StatusCompleted, "request.completed")
		m["revoke_by_approver"] = moves(lockbox.StatusRevoked, "request.revoked")
		m["revoke_by_tenant_admin"] = moves(lockbox.StatusRevoked, "request.revoked")
		m["revoke_by_operator_admin"] = moves(lockbox.StatusRevoked, "request.revoked")
	default: // terminal: nothing moves it
		set(refused409, "internal_approve_by_lead", "customer_approve_by_approver", "internal_deny_by_lead",
			"customer_deny_by_approver", "approve_by_requester", "cancel_by_requester", "complete_by_requester",
			"revoke_by_approver", "revoke_by_tenant_admin", "revoke_by_operator_admin")
	}
	return m
}

var codeOfStatus = map[int]lockbox.ErrorCode{400: "bad_request", 401: "unauthenticated", 403: "forbidden", 404: "not_found", 409: "conflict", 422: "invalid"}

func TestTransitions(t *testing.T) {
	e := newEnv(t)
	w := e.newWorld("Transitions")
	// Short deadlines, so expiring requests costs little clock.
	e.setLockbox(w, map[string]any{"pending_ttl": "5m"})
	last := e.lastIndex(w.tenant.ID, -1)
	cases := 0
	for _, st := range startStates {
		want := expectations(st.status)
		for _, a := range reqActions {
			o, ok := want[a.name]
			if !ok {
				t.Fatalf("no expectation for %s from %s", a.name, st.name)
			}
			cases++
			t.Run(st.name+"/"+a.name, func(t *testing.T) {
				e := e.withT(t)
				r := st.reach(e, w)
				if r.Status != st.status {
					t.Fatalf("reached %s, want %s", r.Status, st.status)
				}
				before := e.must(200, "GET", reqPath(r.ID), w.engineer.token, nil, nil).Body
				last = e.lastIndex(w.tenant.ID, last)

				res := a.send(e, w, r.ID)
				if res.Status != o.code {
					t.Fatalf("%s from %s: status %d, want %d: %s", a.name, st.name, res.Status, o.code, res.Body)
				}
				if o.code != 200 && res.errCode() != codeOfStatus[o.code] {
					t.Errorf("error code %q, want %q: %s", res.errCode(), codeOfStatus[o.code], res.Body)
				}

				afterRaw := e.must(200, "GET", reqPath(r.ID), w.engineer.token, nil, nil)
				var after lockbox.AccessRequest
				afterRaw.decode(t, &after)
				newEvents := e.eventsAfter(w.tenant.ID, last)
				if len(newEvents) > 0 {
					last = newEvents[len(newEvents)-1].Index
				}
				if o.to == "" {
					if !bytes.Equal(before, afterRaw.Body) {
						t.Errorf("a refused action changed the request:\nbefore %s\nafter  %s", before, afterRaw.Body)
					}
					if len(newEvents) != 0 {
						t.Errorf("a refused action appended events %v", eventTypes(newEvents))
					}
					if after.Status != st.status {
						t.Errorf("status %s after a refused action, want %s", after.Status, st.status)
					}
					if st.endReason != "" && after.EndReason != st.endReason {
						t.Errorf("end_reason %q, want %q", after.EndReason, st.endReason)
					}
					return
				}
				if after.Status != o.to {
					t.Fatalf("status after %s: %s, want %s", a.name, after.Status, o.to)
				}
				var answered lockbox.AccessRequest
				res.decode(t, &answered)
				if answered.Status != o.to {
					t.Errorf("the answer shows %s, want %s", answered.Status, o.to)
				}
				if got := eventTypes(newEvents); !slices.Equal(got, o.events) {
					t.Errorf("events %v, want %v", got, o.events)
				}
				for _, ev := range newEvents {
					if ev.RequestID != r.ID {
						t.Errorf("event %s is about request %q, want %s", ev.Type, ev.RequestID, r.ID)
					}
				}
				switch o.to {
				case lockbox.StatusCompleted:
					if after.EndReason != lockbox.EndReleased || after.EndedAt == nil || after.EndedBy != w.engineer.ID {
						t.Errorf("released: end_reason %q ended_at %v ended_by %q", after.EndReason, after.EndedAt, after.EndedBy)
					}
				case lockbox.StatusRevoked:
					if after.EndedAt == nil || after.EndedBy == "" || after.EndComment != "enough" {
						t.Errorf("revoked: ended_at %v ended_by %q comment %q", after.EndedAt, after.EndedBy, after.EndComment)
					}
				case lockbox.StatusApproved:
					if after.AccessStartsAt == nil || after.AccessExpiresAt == nil || !after.AccessStartsAt.Equal(e.clock.Now()) ||
						after.AccessExpiresAt.Sub(*after.AccessStartsAt) != 2*time.Hour {
						t.Errorf("approved: window %v - %v", after.AccessStartsAt, after.AccessExpiresAt)
					}
				}
			})
		}
	}
	t.Logf("%d transition cases", cases)
}

// With lockbox disabled by the tenant's admin, internal approval opens the
// access at once, and every step is still in the tenant's log.
func TestLockboxDisabledSkipsTheCustomerStep(t *testing.T) {
	e := newEnv(t)
	w := e.newWorld("NoLockbox")
	s := e.setLockbox(w, map[string]any{"enabled": false})
	if s.Enabled {
		t.Fatalf("settings after disabling: %+v", s)
	}
	var got lockbox.LockboxSettings
	e.must(200, "GET", "/v1/tenants/"+string(w.tenant.ID)+"/lockbox", w.approver.token, nil, &got)
	if got.Enabled {
		t.Fatal("GET shows lockbox still enabled")
	}

	r := e.request(w, "1h")
	if r.Status != lockbox.StatusPendingInternal || r.Policy.CustomerApprovalRequired {
		t.Fatalf("new request: %s, customer_approval_required %v", r.Status, r.Policy.CustomerApprovalRequired)
	}
	// The customer has no say at the internal stage, even with lockbox off.
	e.must(403, "POST", reqPath(r.ID, "approve"), w.approver.token, lockbox.ApproveInput{Reason: "ok"}, nil)
	e.must(200, "POST", reqPath(r.ID, "approve"), w.lead.token, lockbox.ApproveInput{Reason: "ok"}, r)
	if r.Status != lockbox.StatusApproved || r.AccessExpiresAt == nil || r.AccessExpiresAt.Sub(*r.AccessStartsAt) != time.Hour {
		t.Fatalf("after internal approval: %s window %v-%v", r.Status, r.AccessStartsAt, r.AccessExpiresAt)
	}
	evs := e.events(w.tenant.ID)
	if got, want := requestEvents(evs, r.ID), []string{"request.created", "request.reviewed", "request.approved"}; !slices.Equal(got, want) {
		t.Fatalf("request events %v, want %v", got, want)
	}
	found := false
	for _, ev := range evs {
		if ev.Type == lockbox.EventLockboxUpdated && ev.ActorID == w.customerAdmin.ID {
			found = true
		}
	}
	if !found {
		t.Fatalf("no tenant.lockbox_updated event by the tenant admin in %v", eventTypes(evs))
	}
	// The customer still sees the request and can end it.
	e.must(200, "POST", reqPath(r.ID, "revoke"), w.approver.token, lockbox.ReasonInput{Reason: "we saw it"}, r)
	if r.Status != lockbox.StatusRevoked {
		t.Fatalf("after revoke: %s", r.Status)
	}
}

// Resolving the ticket completes its approved access (ticket_resolved) and
// cancels its pending requests; ended ones stay as they are.
func TestResolvingTheTicketEndsItsRequests(t *testing.T) {
	e := newEnv(t)
	w := e.newWorld("Resolve")
	other := e.approvedRequest(w, w.ticket.ID, "2h") // another ticket's access stays
	tk := e.newTicket(w, "Broken calendar")
	approved := e.approvedRequest(w, tk.ID, "2h")
	pendingInt := e.requestFor(w.engineer, tk.ID, "2h")
	pendingCust := e.requestFor(w.engineer, tk.ID, "2h")
	e.approveInternal(w, pendingCust)
	elapsed := e.approvedRequest(w, tk.ID, "30s") // its window ends before the ticket is resolved
	denied := e.requestFor(w.engineer, tk.ID, "2h")
	e.must(200, "POST", reqPath(denied.ID, "deny"), w.lead.token, lockbox.ReasonInput{Reason: "no"}, nil)
	deniedBefore := e.must(200, "GET", reqPath(denied.ID), w.engineer.token, nil, nil).Body
	last := e.lastIndex(w.tenant.ID, -1)

	e.clock.Advance(time.Minute)
	var resolved lockbox.Ticket
	e.must(200, "POST", "/v1/tickets/"+string(tk.ID)+"/resolve", w.member.token, nil, &resolved)
	if resolved.Status != lockbox.TicketResolved {
		t.Fatalf("ticket: %s", resolved.Status)
	}
	now := e.clock.Now()
	got := e.getRequest(w, approved.ID)
	if got.Status != lockbox.StatusCompleted || got.EndReason != lockbox.EndTicketResolved || got.EndedAt == nil || !got.EndedAt.Equal(now) {
		t.Errorf("approved access: %s %q ended %v, want completed ticket_resolved at %v", got.Status, got.EndReason, got.EndedAt, now)
	}
	for _, id := range []lockbox.RequestID{pendingInt.ID, pendingCust.ID} {
		if got := e.getRequest(w, id); got.Status != lockbox.StatusCanceled {
			t.Errorf("pending request: %s, want canceled", got.Status)
		}
	}
	if got := e.getRequest(w, elapsed.ID); got.Status != lockbox.StatusCompleted || got.EndReason != lockbox.EndDurationElapsed || !got.EndedAt.Equal(*elapsed.AccessExpiresAt) {
		t.Errorf("access whose window had ended: %s %q ended %v, want completed duration_elapsed at %v", got.Status, got.EndReason, got.EndedAt, elapsed.AccessExpiresAt)
	}
	if after := e.must(200, "GET", reqPath(denied.ID), w.engineer.token, nil, nil).Body; !bytes.Equal(deniedBefore, after) {
		t.Errorf("resolving changed a denied request:\n%s\n%s", deniedBefore, after)
	}
	if got := e.getRequest(w, other.ID); got.Status != lockbox.StatusApproved {
		t.Errorf("another ticket's access: %s, want approved", got.Status)
	}
	evs := e.eventsAfter(w.tenant.ID, last)
	count := map[string]int{}
	for _, ev := range evs {
		count[string(ev.Type)]++
	}
	if count["ticket.resolved"] != 1 || count["request.completed"] != 2 || count["request.canceled"] != 2 || len(evs) != 5 {
		t.Errorf("events of the resolution: %v", eventTypes(evs))
	}
	// Nobody gains access for a closed case.
	res := e.call("POST", "/v1/requests", w.engineer.token, lockbox.CreateRequestInput{
		TicketID: tk.ID, Resources: []string{"mailbox:alice"}, AccessLevel: lockbox.LevelRead,
		ReasonType: lockbox.ReasonCustomerInitiated, Justification: "again", Duration: lockbox.Duration(time.Hour)})
	if res.Status != 409 {
		t.Errorf("request on a resolved ticket: %d %s, want 409", res.Status, res.Body)
	}
}

// Deadlines apply on read, without any background sweeper (the test server
// runs none), and each lands in the log exactly once.
func TestDeadlinesApplyOnRead(t *testing.T) {
	e := newEnv(t)
	w := e.newWorld("Deadlines")
	e.setLockbox(w, map[string]any{"pending_ttl": "10m"})
	pending := e.request(w, "2h")
	approved := e.approvedRequest(w, w.ticket.ID, "3m")
	deadline, windowEnd := pending.DecisionDeadline, *approved.AccessExpiresAt

	// Just before: nothing changes.
	e.clock.Advance(windowEnd.Sub(e.clock.Now()) - time.Second)
	if got := e.getRequest(w, approved.ID); got.Status != lockbox.StatusApproved {
		t.Fatalf("one second before the window ends: %s", got.Status)
	}
	e.advanceTo(windowEnd)
	for i := range 3 {
		got := e.getRequest(w, approved.ID)
		if got.Status != lockbox.StatusCompleted || got.EndReason != lockbox.EndDurationElapsed || got.EndedAt == nil || !got.EndedAt.Equal(windowEnd) {
			t.Fatalf("read %d after the window: %s %q ended_at %v, want completed duration_elapsed at %v", i, got.Status, got.EndReason, got.EndedAt, windowEnd)
		}
	}
	e.advanceTo(deadline)
	for i := range 3 {
		var got lockbox.AccessRequest
		e.must(200, "GET", reqPath(pending.ID), w.approver.token, nil, &got)
		if got.Status != lockbox.StatusExpired || got.EndedAt == nil || !got.EndedAt.Equal(deadline) {
			t.Fatalf("read %d after the deadline: %s ended_at %v, want expired at %v", i, got.Status, got.EndedAt, deadline)
		}
	}
	var list lockbox.List[*lockbox.AccessRequest]
	e.must(200, "GET", "/v1/requests?tenant_id="+string(w.tenant.ID), w.opAdmin.token, nil, &list)
	for _, r := range list.Items {
		if r.ID == pending.ID && r.Status != lockbox.StatusExpired || r.ID == approved.ID && r.Status != lockbox.StatusCompleted {
			t.Errorf("list shows %s as %s", r.ID, r.Status)
		}
	}
	evs := e.events(w.tenant.ID)
	if got, want := requestEvents(evs, approved.ID), []string{"request.created", "request.reviewed", "request.pending_customer", "request.reviewed", "request.approved", "request.completed"}; !slices.Equal(got, want) {
		t.Errorf("approved request events %v, want %v", got, want)
	}
	if got, want := requestEvents(evs, pending.ID), []string{"request.created", "request.expired"}; !slices.Equal(got, want) {
		t.Errorf("pending request events %v, want %v", got, want)
	}
	if n, err := e.srv.Service.SettleDue(context.Background()); err != nil || n != 0 {
		t.Errorf("SettleDue after the reads settled everything: %d, %v", n, err)
	}
}

// An action on a request whose deadline passed, before anyone read it, is
// refused with 409 and the request is settled (once).
func TestActionAfterDeadlineIsRefused(t *testing.T) {
	e := newEnv(t)
	w := e.newWorld("Late")
	e.setLockbox(w, map[string]any{"pending_ttl": "10m"})
	pending := e.request(w, "2h")
	e.approveInternal(w, pending)
	approved := e.approvedRequest(w, w.ticket.ID, "5m")
	e.advanceTo(pending.DecisionDeadline)

	res := e.call("POST", reqPath(pending.ID, "approve"), w.approver.token, lockbox.ApproveInput{Reason: "late"})
	if res.Status != 409 || res.errCode() != "conflict" {
		t.Fatalf("approval after the deadline: %d %s, want 409", res.Status, res.Body)
	}
	got := e.getRequest(w, pending.ID)
	if got.Status != lockbox.StatusExpired || len(got.Reviews) != 1 {
		t.Fatalf("after a late approval: %s with %d reviews, want expired with the internal review only", got.Status, len(got.Reviews))
	}
	res = e.call("POST", reqPath(approved.ID, "complete"), w.engineer.token, nil)
	if res.Status != 409 {
		t.Fatalf("release after the window: %d %s, want 409", res.Status, res.Body)
	}
	if got := e.getRequest(w, approved.ID); got.Status != lockbox.StatusCompleted || got.EndReason != lockbox.EndDurationElapsed {
		t.Fatalf("after a late release: %s %q, want completed duration_elapsed", got.Status, got.EndReason)
	}
	evs := e.events(w.tenant.ID)
	if got := requestEvents(evs, pending.ID); !slices.Equal(got, []string{"request.created", "request.reviewed", "request.pending_customer", "request.expired"}) {
		t.Errorf("late request events %v", got)
	}
	if got := requestEvents(evs, approved.ID); got[len(got)-1] != "request.completed" || slices.Index(got, "request.completed") != len(got)-1 {
		t.Errorf("elapsed request events %v", got)
	}
}

// SettleDue, the sweeper's work, settles each due request once, however
// often and however concurrently it runs.
func TestSettleDueSettlesOnce(t *testing.T) {
	e := newEnv(t)
	w := e.newWorld("Sweep")
	e.setLockbox(w, map[string]any{"pending_ttl": "10m"})
	var ids []lockbox.RequestID
	for range 3 {
		ids = append(ids, e.request(w, "2h").ID)
	}
	r := e.request(w, "2h")
	e.approveInternal(w, r)
	ids = append(ids, r.ID)
	ids = append(ids, e.approvedRequest(w, w.ticket.ID, "4m").ID)
	notDue := e.approvedRequest(w, w.ticket.ID, "8h")
	e.clock.Advance(11 * time.Minute)
	notDuePending := e.request(w, "2h") // filed now: its deadline is ahead

	ctx := context.Background()
	var wg sync.WaitGroup
	counts := make([]int, 2)
	errs := make([]error, 2)
	for i := range 2 {
		wg.Add(1)
		go func() { defer wg.Done(); counts[i], errs[i] = e.srv.Service.SettleDue(ctx) }()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if counts[0]+counts[1] != len(ids) {
		t.Fatalf("two concurrent runs settled %d + %d, want %d in all", counts[0], counts[1], len(ids))
	}
	if n, err := e.srv.Service.SettleDue(ctx); err != nil || n != 0 {
		t.Fatalf("a third run settled %d (%v), want 0", n, err)
	}
	evs := e.events(w.tenant.ID)
	for i, id := range ids {
		got := requestEvents(evs, id)
		want := "request.expired"
		if i == len(ids)-1 {
			want = "request.completed"
		}
		n := 0
		for _, typ := range got {
			if typ == "request.expired" || typ == "request.completed" {
				n++
			}
		}
		if n != 1 || got[len(got)-1] != want {
			t.Errorf("request %d events %v, want one %s at the end", i, got, want)
		}
	}
	if got := e.getRequest(w, notDue.ID); got.Status != lockbox.StatusApproved {
		t.Errorf("access whose window is open: %s", got.Status)
	}
	if got := e.getRequest(w, notDuePending.ID); got.Status != lockbox.StatusPendingInternal {
		t.Errorf("request whose deadline is ahead: %s", got.Status)
	}
}
