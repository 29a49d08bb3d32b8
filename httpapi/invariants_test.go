package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lockbox-dev/lockbox"
)

// Tests that try to break the invariants of docs/design.md §3 through the API.

// pendingCustomer files a request and has it approved internally.
func (e *env) pendingCustomer(w *world) *lockbox.AccessRequest {
	e.t.Helper()
	r := e.request(w, "2h")
	e.approveInternal(w, r)
	return r
}

// reviewsBy counts the reviews of a request by a user.
func reviewsBy(r *lockbox.AccessRequest, id lockbox.UserID) int {
	n := 0
	for _, rv := range r.Reviews {
		if rv.ReviewerID == id {
			n++
		}
	}
	return n
}

// refusedUnchanged sends a call that must be refused with the status and
// checks that the request and the tenant's log did not change.
func (e *env) refusedUnchanged(w *world, id lockbox.RequestID, status int, method, path, token string, body any) {
	e.t.Helper()
	before := e.must(200, "GET", reqPath(id), w.engineer.token, nil, nil).Body
	n := e.eventCount(w.tenant.ID)
	res := e.call(method, path, token, body)
	if res.Status != status {
		e.t.Errorf("%s %s: %d %s, want %d", method, path, res.Status, res.Body, status)
	}
	if after := e.must(200, "GET", reqPath(id), w.engineer.token, nil, nil).Body; !bytes.Equal(before, after) {
		e.t.Errorf("%s %s was refused but changed the request:\n%s\n%s", method, path, before, after)
	}
	if m := e.eventCount(w.tenant.ID); m != n {
		e.t.Errorf("%s %s was refused but appended %d events", method, path, m-n)
	}
}

// Invariant 2: with lockbox enabled, approved needs approvals_required
// distinct customer approvals by current admins or approvers on MFA
// sessions.
func TestInvariant2CustomerApprovals(t *testing.T) {
	e := newEnv(t)
	w := e.newWorld("Inv2")

	t.Run("two_distinct_approvers", func(t *testing.T) {
		e := e.withT(t)
		if s := e.setLockbox(w, map[string]any{"approvals_required": 2}); s.ApprovalsRequired != 2 {
			t.Fatalf("settings: %+v", s)
		}
		r := e.pendingCustomer(w)
		got0 := r
		e.must(200, "POST", reqPath(r.ID, "approve"), w.approver.token, lockbox.ApproveInput{Reason: "one"}, r)
		if r.Status != lockbox.StatusPendingCustomer {
			t.Fatalf("after one of two approvals: %s", r.Status)
		}
		// Everyone reading it sees how far it is, and who approved.
		for _, tok := range []string{w.approver.token, w.engineer.token} {
			got := &lockbox.AccessRequest{}
			e.must(200, "GET", reqPath(r.ID), tok, nil, got)
			if p := got.CustomerApprovals; p == nil || p.Counted != 1 || p.Required != 2 || len(p.By) != 1 || p.By[0] != w.approver.DisplayName {
				t.Fatalf("progress after one of two approvals: %+v", p)
			}
		}
		// The same person again does not count twice.
		res := e.call("POST", reqPath(r.ID, "approve"), e.loginMFA(w.approver), lockbox.ApproveInput{Reason: "again"})
		if res.Status != 409 || res.errCode() != "conflict" {
			t.Fatalf("second approval by the same approver: %d %s, want 409", res.Status, res.Body)
		}
		if got := e.getRequest(w, r.ID); got.Status != lockbox.StatusPendingCustomer || reviewsBy(got, w.approver.ID) != 1 {
			t.Fatalf("after a repeated approval: %s with %d reviews by the approver", got.Status, reviewsBy(got, w.approver.ID))
		}
		r = &lockbox.AccessRequest{}
		e.must(200, "POST", reqPath(got0.ID, "approve"), w.customerAdmin.token, lockbox.ApproveInput{Reason: "two"}, r)
		if r.Status != lockbox.StatusApproved || r.CustomerApprovals != nil {
			t.Fatalf("after two distinct approvals: %s, progress %+v", r.Status, r.CustomerApprovals)
		}
		got := requestEvents(e.events(w.tenant.ID), r.ID)
		want := []string{"request.created", "request.reviewed", "request.pending_customer", "request.reviewed", "request.reviewed", "request.approved"}
		if !slices.Equal(got, want) {
			t.Fatalf("events %v, want %v", got, want)
		}
	})

	t.Run("no_mfa_no_approval", func(t *testing.T) {
		e := e.withT(t)
		e.setLockbox(w, map[string]any{"approvals_required": 1})
		r := e.pendingCustomer(w)
		pwd := e.loginPassword(w.approver)
		var me lockbox.Me
		e.must(200, "GET", "/v1/me", pwd, nil, &me)
		if me.MFA {
			t.Fatal("a password-only session reports mfa")
		}
		e.refusedUnchanged(w, r.ID, 403, "POST", reqPath(r.ID, "approve"), pwd, lockbox.ApproveInput{Reason: "ok"})
		// An API token is no second factor either.
		var tok lockbox.TokenOutput
		e.must(201, "POST", "/v1/users/"+string(w.approver.ID)+"/tokens", w.approver.token, lockbox.CreateTokenInput{Name: "script"}, &tok)
		e.refusedUnchanged(w, r.ID, 403, "POST", reqPath(r.ID, "approve"), tok.Token, lockbox.ApproveInput{Reason: "ok"})
		// The refused attempts did not use up the approver's review.
		e.must(200, "POST", reqPath(r.ID, "approve"), w.approver.token, lockbox.ApproveInput{Reason: "ok"}, r)
		if r.Status != lockbox.StatusApproved || len(r.Reviews) != 2 || !r.Reviews[1].MFA {
			t.Fatalf("MFA approval: %s reviews %+v", r.Status, r.Reviews)
		}
	})

	t.Run("member_cannot_approve", func(t *testing.T) {
		e := e.withT(t)
		r := e.pendingCustomer(w)
		e.refusedUnchanged(w, r.ID, 403, "POST", reqPath(r.ID, "approve"), w.member.token, lockbox.ApproveInput{Reason: "ok"})
		e.refusedUnchanged(w, r.ID, 403, "POST", reqPath(r.ID, "deny"), w.member.token, lockbox.ReasonInput{Reason: "no"})
	})

	t.Run("operators_cannot_approve_for_the_customer", func(t *testing.T) {
		e := e.withT(t)
		r := e.pendingCustomer(w)
		for name, tok := range map[string]string{"bootstrap admin": e.admin, "operator admin": w.opAdmin.token, "support lead": w.lead.token, "requester": w.engineer.token} {
			t.Log(name)
			e.refusedUnchanged(w, r.ID, 403, "POST", reqPath(r.ID, "approve"), tok, lockbox.ApproveInput{Reason: "ok"})
			e.refusedUnchanged(w, r.ID, 403, "POST", reqPath(r.ID, "deny"), tok, lockbox.ReasonInput{Reason: "no"})
		}
	})

	t.Run("demoted_approver_no_longer_counts", func(t *testing.T) {
		e := e.withT(t)
		e.setLockbox(w, map[string]any{"approvals_required": 2})
		x := e.customer(w, lockbox.RoleLockboxApprover)
		r := e.pendingCustomer(w)
		e.must(200, "POST", reqPath(r.ID, "approve"), x.token, lockbox.ApproveInput{Reason: "one"}, r)
		e.must(200, "PATCH", "/v1/users/"+string(x.ID), w.customerAdmin.token, lockbox.UpdateUserInput{Roles: &[]lockbox.Role{lockbox.RoleMember}}, nil)
		e.must(200, "POST", reqPath(r.ID, "approve"), w.approver.token, lockbox.ApproveInput{Reason: "two"}, r)
		if r.Status != lockbox.StatusPendingCustomer {
			t.Fatalf("a demoted approver's approval counted: %s", r.Status)
		}
		e.must(200, "POST", reqPath(r.ID, "approve"), w.customerAdmin.token, lockbox.ApproveInput{Reason: "three"}, r)
		if r.Status != lockbox.StatusApproved {
			t.Fatalf("two valid approvals: %s", r.Status)
		}
	})

	t.Run("removed_approver_no_longer_counts", func(t *testing.T) {
		e := e.withT(t)
		e.setLockbox(w, map[string]any{"approvals_required": 2})
		x := e.customer(w, lockbox.RoleLockboxApprover)
		r := e.pendingCustomer(w)
		e.must(200, "POST", reqPath(r.ID, "approve"), x.token, lockbox.ApproveInput{Reason: "one"}, r)
		e.must(204, "DELETE", "/v1/users/"+string(x.ID), w.customerAdmin.token, nil, nil)
		e.must(200, "POST", reqPath(r.ID, "approve"), w.approver.token, lockbox.ApproveInput{Reason: "two"}, r)
		if r.Status != lockbox.StatusPendingCustomer {
			t.Fatalf("a removed approver's approval counted: %s", r.Status)
		}
		e.must(200, "POST", reqPath(r.ID, "approve"), w.customerAdmin.token, lockbox.ApproveInput{Reason: "three"}, r)
		if r.Status != lockbox.StatusApproved {
			t.Fatalf("two valid approvals: %s", r.Status)
		}
	})

	t.Run("lockbox_enabled_after_filing_still_needs_the_customer", func(t *testing.T) {
		e := e.withT(t)
		e.setLockbox(w, map[string]any{"enabled": false, "approvals_required": 1})
		r := e.request(w, "2h")
		e.setLockbox(w, map[string]any{"enabled": true})
		e.must(200, "POST", reqPath(r.ID, "approve"), w.lead.token, lockbox.ApproveInput{Reason: "ok"}, r)
		if r.Status != lockbox.StatusPendingCustomer {
			t.Fatalf("lockbox is enabled, yet internal approval made the request %s without the customer", r.Status)
		}
		e.must(200, "POST", reqPath(r.ID, "approve"), w.approver.token, lockbox.ApproveInput{Reason: "ok"}, r)
		if r.Status != lockbox.StatusApproved {
			t.Fatalf("after the customer's approval: %s", r.Status)
		}
	})
}

// Invariant 3: nobody reviews their own request, only the policy's groups
// review internally, and zero required approvals is refused.
func TestInvariant3WhoReviews(t *testing.T) {
	e := newEnv(t)
	w := e.newWorld("Inv3")

	t.Run("requester_cannot_review_own_request", func(t *testing.T) {
		e := e.withT(t)
		r := e.requestFor(w.lead, w.ticket.ID, "1h") // the lead is an engineer too
		if r.Status != lockbox.StatusPendingInternal {
			t.Fatalf("lead's request: %s", r.Status)
		}
		e.refusedUnchanged(w, r.ID, 403, "POST", reqPath(r.ID, "approve"), w.lead.token, lockbox.ApproveInput{Reason: "mine"})
		e.refusedUnchanged(w, r.ID, 403, "POST", reqPath(r.ID, "deny"), w.lead.token, lockbox.ReasonInput{Reason: "mine"})
		lead2 := e.createUser(e.admin, lockbox.CreateUserInput{Kind: lockbox.KindOperator, Roles: []lockbox.Role{lockbox.RoleEngineer}, Groups: []string{"support-leads"}})
		e.must(200, "POST", reqPath(r.ID, "approve"), lead2.token, lockbox.ApproveInput{Reason: "ok"}, r)
		if r.Status != lockbox.StatusPendingCustomer || len(r.Reviews) != 1 || r.Reviews[0].ReviewerID != lead2.ID {
			t.Fatalf("after another lead's approval: %s %+v", r.Status, r.Reviews)
		}
	})

	t.Run("only_the_policy_group_reviews_internally", func(t *testing.T) {
		e := e.withT(t)
		r := e.request(w, "1h")
		other := e.createUser(e.admin, lockbox.CreateUserInput{Kind: lockbox.KindOperator, Roles: []lockbox.Role{lockbox.RoleEngineer}, Groups: []string{"devops"}})
		for name, tok := range map[string]string{
			"bootstrap admin": e.admin, "operator admin": w.opAdmin.token, "engineer in another group": other.token,
			"customer approver": w.approver.token, "tenant admin": w.customerAdmin.token, "member": w.member.token,
		} {
			t.Log(name)
			e.refusedUnchanged(w, r.ID, 403, "POST", reqPath(r.ID, "approve"), tok, lockbox.ApproveInput{Reason: "ok"})
			e.refusedUnchanged(w, r.ID, 403, "POST", reqPath(r.ID, "deny"), tok, lockbox.ReasonInput{Reason: "no"})
		}
		if got := e.getRequest(w, r.ID); got.Status != lockbox.StatusPendingInternal || len(got.Reviews) != 0 {
			t.Fatalf("after refused reviews: %s %+v", got.Status, got.Reviews)
		}
	})

	t.Run("zero_approvals_required_is_refused", func(t *testing.T) {
		e := e.withT(t)
		var before lockbox.LockboxSettings
		path := "/v1/tenants/" + string(w.tenant.ID) + "/lockbox"
		e.must(200, "GET", path, w.customerAdmin.token, nil, &before)
		n := e.eventCount(w.tenant.ID)
		for _, v := range []int{0, -1} {
			res := e.call("PATCH", path, w.customerAdmin.token, map[string]any{"approvals_required": v})
			if res.Status != 422 || res.errCode() != "invalid" {
				t.Errorf("approvals_required %d: %d %s, want 422", v, res.Status, res.Body)
			}
		}
		var after lockbox.LockboxSettings
		e.must(200, "GET", path, w.customerAdmin.token, nil, &after)
		if after.ApprovalsRequired != before.ApprovalsRequired || after.ApprovalsRequired < 1 {
			t.Errorf("approvals_required now %d, was %d", after.ApprovalsRequired, before.ApprovalsRequired)
		}
		if m := e.eventCount(w.tenant.ID); m != n {
			t.Errorf("refused settings appended %d events", m-n)
		}
	})
}

// Invariant 4: a customer sees and acts only inside its tenant.
func TestInvariant4TenantIsolation(t *testing.T) {
	e := newEnv(t)
	a := e.newWorld("Alpha")
	b := e.newWorld("Beta")
	ra := e.request(a, "1h")
	e.approveInternal(a, ra)
	rb := e.request(b, "1h")
	nA := e.eventCount(a.tenant.ID)
	aSecret := []string{string(ra.ID), string(a.ticket.ID), string(a.member.ID), a.member.Email, a.customerAdmin.Email, string(a.approver.ID)}

	t.Run("reads_of_another_tenant_are_404", func(t *testing.T) {
		e := e.withT(t)
		paths := []string{
			"/v1/tenants/" + string(a.tenant.ID),
			"/v1/tenants/" + string(a.tenant.ID) + "/lockbox",
			"/v1/tenants/" + string(a.tenant.ID) + "/events",
			"/v1/tickets/" + string(a.ticket.ID),
			reqPath(ra.ID),
			"/v1/users/" + string(a.member.ID),
			"/v1/users/" + string(a.customerAdmin.ID),
		}
		for _, who := range []*user{b.customerAdmin, b.approver, b.member} {
			for _, p := range paths {
				res := e.call("GET", p, who.token, nil)
				if res.Status != 404 || res.errCode() != "not_found" {
					t.Errorf("%v GET %s: %d %s, want 404", who.Roles, p, res.Status, res.Body)
				}
			}
		}
	})

	t.Run("actions_on_another_tenant_are_404", func(t *testing.T) {
		e := e.withT(t)
		calls := []struct {
			method, path string
			token        string
			body         any
		}{
			{"POST", reqPath(ra.ID, "approve"), b.approver.token, lockbox.ApproveInput{Reason: "x"}},
			{"POST", reqPath(ra.ID, "deny"), b.customerAdmin.token, lockbox.ReasonInput{Reason: "x"}},
			{"POST", reqPath(ra.ID, "revoke"), b.customerAdmin.token, lockbox.ReasonInput{Reason: "x"}},
			{"POST", "/v1/tickets/" + string(a.ticket.ID) + "/comments", b.member.token, lockbox.CommentInput{Body: "hi"}},
			{"POST", "/v1/tickets/" + string(a.ticket.ID) + "/resolve", b.member.token, nil},
			{"POST", "/v1/tickets", b.member.token, lockbox.CreateTicketInput{TenantID: a.tenant.ID, Title: "t", Description: "d", Severity: 3}},
			{"PATCH", "/v1/tenants/" + string(a.tenant.ID) + "/lockbox", b.customerAdmin.token, map[string]any{"enabled": false}},
			{"PATCH", "/v1/users/" + string(a.member.ID), b.customerAdmin.token, lockbox.UpdateUserInput{Roles: &[]lockbox.Role{lockbox.RoleLockboxApprover}}},
			{"DELETE", "/v1/users/" + string(a.member.ID), b.customerAdmin.token, nil},
			{"POST", "/v1/users/" + string(a.member.ID) + "/tokens", b.customerAdmin.token, lockbox.CreateTokenInput{Name: "x"}},
			{"POST", "/v1/users", b.customerAdmin.token, lockbox.CreateUserInput{Email: "intruder@example.com", DisplayName: "i", Kind: lockbox.KindCustomer, TenantID: a.tenant.ID, Roles: []lockbox.Role{lockbox.RoleLockboxApprover}}},
		}
		before := e.must(200, "GET", reqPath(ra.ID), a.engineer.token, nil, nil).Body
		for _, c := range calls {
			res := e.call(c.method, c.path, c.token, c.body)
			if res.Status != 404 {
				t.Errorf("%s %s from tenant B: %d %s, want 404", c.method, c.path, res.Status, res.Body)
			}
		}
		if after := e.must(200, "GET", reqPath(ra.ID), a.engineer.token, nil, nil).Body; !bytes.Equal(before, after) {
			t.Errorf("tenant B changed tenant A's request")
		}
		if m := e.eventCount(a.tenant.ID); m != nA {
			t.Errorf("tenant B's calls appended %d events to tenant A's log", m-nA)
		}
		var tk lockbox.Ticket
		e.must(200, "GET", "/v1/tickets/"+string(a.ticket.ID), a.member.token, nil, &tk)
		if tk.Status != lockbox.TicketOpen || len(tk.Comments) != 0 {
			t.Errorf("tenant A's ticket: %s with %d comments", tk.Status, len(tk.Comments))
		}
	})

	t.Run("lists_hold_only_the_own_tenant", func(t *testing.T) {
		e := e.withT(t)
		var tickets lockbox.List[*lockbox.Ticket]
		e.must(200, "GET", "/v1/tickets", b.member.token, nil, &tickets)
		if len(tickets.Items) != 1 || tickets.Items[0].ID != b.ticket.ID {
			t.Errorf("B's tickets: %+v", tickets.Items)
		}
		var reqs lockbox.List[*lockbox.AccessRequest]
		e.must(200, "GET", "/v1/requests", b.approver.token, nil, &reqs)
		if len(reqs.Items) != 1 || reqs.Items[0].ID != rb.ID {
			t.Errorf("B's requests: %+v", reqs.Items)
		}
		var users lockbox.List[*lockbox.User]
		e.must(200, "GET", "/v1/users?page_size=1000", b.customerAdmin.token, nil, &users)
		want := []lockbox.UserID{b.customerAdmin.ID, b.approver.ID, b.member.ID}
		var got []lockbox.UserID
		for _, u := range users.Items {
			got = append(got, u.ID)
			if u.TenantID != b.tenant.ID || u.Kind != lockbox.KindCustomer {
				t.Errorf("B's admin lists user %s of tenant %q kind %s", u.ID, u.TenantID, u.Kind)
			}
		}
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("B's users %v, want %v", got, want)
		}
		var tenants lockbox.List[*lockbox.Tenant]
		e.must(200, "GET", "/v1/tenants", b.member.token, nil, &tenants)
		if len(tenants.Items) != 1 || tenants.Items[0].ID != b.tenant.ID {
			t.Errorf("B's tenants: %+v", tenants.Items)
		}
		var events lockbox.List[*lockbox.Event]
		e.must(200, "GET", "/v1/tenants/"+string(b.tenant.ID)+"/events?page_size=1000", b.approver.token, nil, &events)
		for _, ev := range events.Items {
			if ev.TenantID != b.tenant.ID {
				t.Errorf("B's log holds an event of %s", ev.TenantID)
			}
		}
		// Asking for tenant A's items by filter is refused and leaks nothing.
		for _, c := range []struct{ path, token string }{
			{"/v1/tickets?tenant_id=" + string(a.tenant.ID), b.member.token},
			{"/v1/requests?tenant_id=" + string(a.tenant.ID), b.approver.token},
			{"/v1/users?tenant_id=" + string(a.tenant.ID), b.customerAdmin.token},
			{"/v1/tickets?tenant_id=" + string(a.tenant.ID), b.customerAdmin.token},
		} {
			res := e.call("GET", c.path, c.token, nil)
			if res.Status != 404 && res.Status != 403 {
				t.Errorf("GET %s from B: %d %s, want 404 or 403", c.path, res.Status, res.Body)
			}
			for _, s := range aSecret {
				if strings.Contains(string(res.Body), s) {
					t.Errorf("GET %s from B leaks %q", c.path, s)
				}
			}
		}
	})

	t.Run("member_cannot_read_requests_or_events", func(t *testing.T) {
		e := e.withT(t)
		for _, p := range []string{"/v1/requests", reqPath(ra.ID), "/v1/tenants/" + string(a.tenant.ID) + "/events", "/v1/users"} {
			res := e.call("GET", p, a.member.token, nil)
			if res.Status != 403 || res.errCode() != "forbidden" {
				t.Errorf("A's member GET %s: %d %s, want 403", p, res.Status, res.Body)
			}
		}
	})
}

// Invariant 5: every change is in the tenant's log, and nothing else is.
func TestInvariant5EveryChangeHasItsEvent(t *testing.T) {
	e := newEnv(t)
	w := e.newWorld("Inv5")
	e.setLockbox(w, map[string]any{"pending_ttl": "30m"})

	// observed records, per request, the statuses a reader saw in order.
	observed := map[lockbox.RequestID][]lockbox.RequestStatus{}
	var order []lockbox.RequestID
	look := func(id lockbox.RequestID) {
		t.Helper()
		if _, ok := observed[id]; !ok {
			order = append(order, id)
		}
		s := e.getRequest(w, id).Status
		if l := observed[id]; len(l) == 0 || l[len(l)-1] != s {
			observed[id] = append(l, s)
		}
	}
	// refuse tries calls that must change nothing.
	refuse := func(id lockbox.RequestID) {
		t.Helper()
		n := e.eventCount(w.tenant.ID)
		for _, c := range []struct {
			status int
			method string
			path   string
			token  string
			body   any
		}{
			{403, "POST", reqPath(id, "approve"), w.member.token, lockbox.ApproveInput{Reason: "x"}},
			{400, "POST", reqPath(id, "approve"), w.lead.token, `{"reason":`},
			{400, "POST", reqPath(id, "deny"), w.approver.token, `{"reason":"x","extra":1}`},
			{422, "POST", reqPath(id, "deny"), w.approver.token, lockbox.ReasonInput{}},
			{403, "POST", reqPath(id, "cancel"), w.approver.token, nil},
			{401, "POST", reqPath(id, "cancel"), "nope", nil},
		} {
			if res := e.call(c.method, c.path, c.token, c.body); res.Status != c.status {
				t.Errorf("%s %s: %d %s, want %d", c.method, c.path, res.Status, res.Body, c.status)
			}
		}
		if m := e.eventCount(w.tenant.ID); m != n {
			t.Errorf("refused calls appended %d events", m-n)
		}
	}
	act := func(id lockbox.RequestID, path, token string, body any) {
		t.Helper()
		e.must(200, "POST", path, token, body, nil)
		look(id)
		refuse(id)
	}

	r1 := e.request(w, "1h") // approved, then released
	look(r1.ID)
	refuse(r1.ID)
	act(r1.ID, reqPath(r1.ID, "approve"), w.lead.token, lockbox.ApproveInput{Reason: "ok"})
	act(r1.ID, reqPath(r1.ID, "approve"), w.approver.token, lockbox.ApproveInput{Reason: "ok"})
	act(r1.ID, reqPath(r1.ID, "complete"), w.engineer.token, nil)

	r2 := e.request(w, "1h") // denied internally
	look(r2.ID)
	act(r2.ID, reqPath(r2.ID, "deny"), w.lead.token, lockbox.ReasonInput{Reason: "no"})

	r3 := e.request(w, "1h") // canceled at the customer stage
	look(r3.ID)
	act(r3.ID, reqPath(r3.ID, "approve"), w.lead.token, lockbox.ApproveInput{Reason: "ok"})
	act(r3.ID, reqPath(r3.ID, "cancel"), w.engineer.token, nil)

	r4 := e.request(w, "1h") // revoked by the operator admin
	look(r4.ID)
	act(r4.ID, reqPath(r4.ID, "approve"), w.lead.token, lockbox.ApproveInput{Reason: "ok"})
	act(r4.ID, reqPath(r4.ID, "approve"), w.customerAdmin.token, lockbox.ApproveInput{Reason: "ok"})
	act(r4.ID, reqPath(r4.ID, "revoke"), w.opAdmin.token, lockbox.ReasonInput{Reason: "incident over"})

	tk := e.newTicket(w, "Second case")
	r5 := e.requestFor(w.engineer, tk.ID, "1h") // completed by the ticket
	look(r5.ID)
	act(r5.ID, reqPath(r5.ID, "approve"), w.lead.token, lockbox.ApproveInput{Reason: "ok"})
	act(r5.ID, reqPath(r5.ID, "approve"), w.approver.token, lockbox.ApproveInput{Reason: "ok"})
	r6 := e.requestFor(w.engineer, tk.ID, "1h") // canceled by the ticket
	look(r6.ID)
	e.must(200, "POST", "/v1/tickets/"+string(tk.ID)+"/resolve", w.customerAdmin.token, nil, nil)
	look(r5.ID)
	look(r6.ID)

	r7 := e.request(w, "1h") // expires at the customer stage
	look(r7.ID)
	act(r7.ID, reqPath(r7.ID, "approve"), w.lead.token, lockbox.ApproveInput{Reason: "ok"})
	r8 := e.request(w, "10m") // its window elapses
	look(r8.ID)
	act(r8.ID, reqPath(r8.ID, "approve"), w.lead.token, lockbox.ApproveInput{Reason: "ok"})
	act(r8.ID, reqPath(r8.ID, "approve"), w.approver.token, lockbox.ApproveInput{Reason: "ok"})
	e.clock.Advance(31 * time.Minute)
	look(r7.ID)
	look(r8.ID)
	refuse(r7.ID)

	wantFinal := map[lockbox.RequestID]lockbox.RequestStatus{
		r1.ID: lockbox.StatusCompleted, r2.ID: lockbox.StatusDenied, r3.ID: lockbox.StatusCanceled,
		r4.ID: lockbox.StatusRevoked, r5.ID: lockbox.StatusCompleted, r6.ID: lockbox.StatusCanceled,
		r7.ID: lockbox.StatusExpired, r8.ID: lockbox.StatusCompleted,
	}
	evs := e.events(w.tenant.ID)
	for i, ev := range evs {
		if ev.Index != int64(i) || ev.TenantID != w.tenant.ID {
			t.Fatalf("event %d has index %d tenant %s: the log must be numbered 0..n-1", i, ev.Index, ev.TenantID)
		}
	}
	for i, id := range order {
		seen := observed[id]
		if got := seen[len(seen)-1]; got != wantFinal[id] {
			t.Errorf("request %d ends %s, want %s", i+1, got, wantFinal[id])
		}
		if seen[0] != lockbox.StatusPendingInternal {
			t.Errorf("request %d started %s", i+1, seen[0])
		}
		// The status events, in order, are the statuses a reader saw.
		want := []string{"request.created"}
		for _, s := range seen[1:] {
			want = append(want, "request."+string(s))
		}
		var got []string
		reviewed := 0
		for _, typ := range requestEvents(evs, id) {
			if typ == "request.reviewed" {
				reviewed++
				continue
			}
			got = append(got, typ)
		}
		if !slices.Equal(got, want) {
			t.Errorf("request %d: status events %v, statuses seen %v", i+1, got, seen)
		}
		if r := e.getRequest(w, id); len(r.Reviews) != reviewed {
			t.Errorf("request %d has %d reviews and %d request.reviewed events", i+1, len(r.Reviews), reviewed)
		}
	}

	t.Run("jit_refusal_is_recorded", func(t *testing.T) {
		e := e.withT(t)
		var before lockbox.List[*lockbox.AccessRequest]
		e.must(200, "GET", "/v1/requests?page_size=1000&tenant_id="+string(w.tenant.ID), w.opAdmin.token, nil, &before)
		last := e.lastIndex(w.tenant.ID, -1)
		pwd := e.loginPassword(w.engineer)
		res := e.call("POST", "/v1/requests", pwd, lockbox.CreateRequestInput{TicketID: w.ticket.ID, Resources: []string{"mailbox:alice"},
			AccessLevel: lockbox.LevelRead, ReasonType: lockbox.ReasonCustomerInitiated, Justification: "look", Duration: lockbox.Duration(time.Hour)})
		var body lockbox.ErrorBody
		res.decode(t, &body)
		if res.Status != 403 || body.Error.Code != "forbidden" || len(body.Error.Details) == 0 || body.Error.Message == "" {
			t.Fatalf("request on a password-only session: %d %s, want 403 with details", res.Status, res.Body)
		}
		// Admin access by a non-isolated engineer, even on MFA.
		res = e.call("POST", "/v1/requests", w.engineer.token, lockbox.CreateRequestInput{TicketID: w.ticket.ID, Resources: []string{"mailbox:alice"},
			AccessLevel: lockbox.LevelAdmin, ReasonType: lockbox.ReasonIncident, Justification: "fix", Duration: lockbox.Duration(time.Hour)})
		if res.Status != 403 {
			t.Fatalf("admin access by a non-isolated engineer: %d %s, want 403", res.Status, res.Body)
		}
		evs := e.eventsAfter(w.tenant.ID, last)
		if got := eventTypes(evs); !slices.Equal(got, []string{"request.refused", "request.refused"}) {
			t.Fatalf("events of two refusals: %v", got)
		}
		for _, ev := range evs {
			if ev.ActorID != w.engineer.ID || ev.TicketID != w.ticket.ID || ev.RequestID != "" {
				t.Errorf("refusal event: actor %q ticket %q request %q", ev.ActorID, ev.TicketID, ev.RequestID)
			}
		}
		var after lockbox.List[*lockbox.AccessRequest]
		e.must(200, "GET", "/v1/requests?page_size=1000&tenant_id="+string(w.tenant.ID), w.opAdmin.token, nil, &after)
		if len(after.Items) != len(before.Items) {
			t.Errorf("a refused request was created: %d requests, was %d", len(after.Items), len(before.Items))
		}
	})
}

// Invariant 8: secrets are never logged nor stored in plain text.
func TestInvariant8NoSecretsInLogsOrDatabase(t *testing.T) {
	e := newEnv(t)
	w := e.newWorld("Inv8")
	people := []*user{w.customerAdmin, w.approver, w.member, w.engineer, w.lead, w.opAdmin}

	var sessions, apiTokens, passwords, totpSecrets []string
	// A password change first (it ends the user's other sessions).
	oldPassword, newPassword := w.member.password, "a brand new passphrase 42"
	e.must(200, "PATCH", "/v1/users/"+string(w.member.ID), w.member.token, lockbox.UpdateUserInput{Password: &newPassword, CurrentPassword: &oldPassword}, nil)
	passwords = append(passwords, oldPassword)
	w.member.password = newPassword
	w.member.token = e.loginMFA(w.member)
	for _, u := range people {
		passwords = append(passwords, u.password)
		totpSecrets = append(totpSecrets, u.secret)
		sessions = append(sessions, u.token)
		pwd := e.loginPassword(u)
		sessions = append(sessions, pwd)
		e.must(200, "GET", "/v1/me", pwd, nil, nil)
	}
	// A wrong password and a wrong code are no more logged than right ones.
	wrongPassword := "wrong-password-7f3a9c1e"
	e.must(401, "POST", "/v1/auth/login", "", lockbox.LoginInput{Email: w.member.Email, Password: wrongPassword}, nil)
	e.must(401, "POST", "/v1/auth/login", "", lockbox.LoginInput{Email: w.member.Email, Password: w.member.password, OTP: "000000"}, nil)
	passwords = append(passwords, wrongPassword)
	// API tokens: for oneself, and by an operator admin for an operator.
	for _, c := range []struct {
		owner  lockbox.UserID
		issuer string
	}{
		{w.engineer.ID, w.engineer.token}, {w.lead.ID, w.lead.token}, {w.customerAdmin.ID, w.customerAdmin.token},
		{w.opAdmin.ID, w.opAdmin.token}, {w.approver.ID, w.approver.token},
	} {
		var tok lockbox.TokenOutput
		e.must(201, "POST", "/v1/users/"+string(c.owner)+"/tokens", c.issuer, lockbox.CreateTokenInput{Name: "automation"}, &tok)
		if !strings.HasPrefix(tok.Token, lockbox.APITokenPrefix) {
			t.Errorf("API token %q lacks its prefix", tok.Token)
		}
		var me lockbox.Me
		e.must(200, "GET", "/v1/me", tok.Token, nil, &me)
		if me.ID != c.owner {
			t.Errorf("token of %s authenticates %s", c.owner, me.ID)
		}
		apiTokens = append(apiTokens, tok.Token)
	}
	// A workflow, so the logs have something to say.
	r := e.approvedRequest(w, w.ticket.ID, "1h")
	e.must(200, "POST", reqPath(r.ID, "revoke"), w.approver.token, lockbox.ReasonInput{Reason: "done"}, nil)
	e.must(200, "GET", "/v1/me", e.admin, nil, nil)

	bearer := append([]string{bootstrapToken}, sessions...)
	bearer = append(bearer, apiTokens...)
	logs := e.logs.String()
	if !strings.Contains(logs, "signed in") || !strings.Contains(logs, "/v1/requests/{id}/approve") {
		t.Fatalf("the captured log lacks the workflow; the test would prove nothing:\n%.2000s", logs)
	}
	check := func(where, text string, secrets []string, kind string) {
		t.Helper()
		for _, s := range secrets {
			if s == "" {
				t.Fatalf("empty %s", kind)
			}
			if strings.Contains(text, s) {
				t.Errorf("%s contains a %s", where, kind)
			}
		}
	}
	check("the server log", logs, passwords, "password")
	check("the server log", logs, bearer, "bearer token")
	check("the server log", logs, totpSecrets, "TOTP secret")

	// The tenant's own log and the system's hold no secret either.
	evJSON, _ := json.Marshal(e.events(w.tenant.ID))
	check("the tenant log", string(evJSON), passwords, "password")
	check("the tenant log", string(evJSON), bearer, "bearer token")
	check("the tenant log", string(evJSON), totpSecrets, "TOTP secret")

	// The database holds hashes only (TOTP secrets are needed in clear).
	db := e.databaseDump()
	if !bytes.Contains(db, []byte(w.customerAdmin.Email)) {
		t.Fatal("the database files do not hold a user's e-mail: the scan reads the wrong files")
	}
	if !bytes.Contains(db, []byte("$argon2id$")) {
		t.Error("the database holds no argon2id hash")
	}
	check("the database", string(db), passwords, "password")
	check("the database", string(db), bearer, "bearer token")

	ctx := context.Background()
	err := e.srv.Service.Store().View(ctx, func(rd lockbox.Reader) error {
		for _, u := range people {
			su, err := rd.GetUserByEmail(ctx, u.Email)
			if err != nil {
				return err
			}
			if !strings.HasPrefix(su.PasswordHash, "$argon2id$v=19$") || !lockbox.CheckPassword(u.password, su.PasswordHash) {
				t.Errorf("%s: stored password hash %.20q… is not an argon2id hash of the password", u.Email, su.PasswordHash)
			}
			if lockbox.CheckPassword(wrongPassword, su.PasswordHash) {
				t.Errorf("%s: a wrong password matches", u.Email)
			}
		}
		for _, s := range bearer {
			if _, err := rd.GetCredential(ctx, lockbox.HashSecret(s)); err != nil {
				t.Errorf("a live bearer token is not stored by its hash: %v", err)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	t.Run("argon2id_parameters", func(t *testing.T) {
		h := lockbox.HashPassword("correct horse battery staple", lockbox.DefaultArgon2)
		if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") || len(strings.Split(h, "$")) != 6 {
			t.Fatalf("hash %q is not a PHC argon2id string with m=19456,t=2,p=1", h)
		}
		if !lockbox.CheckPassword("correct horse battery staple", h) {
			t.Error("the right password is refused")
		}
		for _, bad := range []string{"correct horse battery stapl", "", "Correct horse battery staple"} {
			if lockbox.CheckPassword(bad, h) {
				t.Errorf("%q is accepted", bad)
			}
		}
		if h2 := lockbox.HashPassword("correct horse battery staple", lockbox.DefaultArgon2); h2 == h {
			t.Error("two hashes of one password are equal: no salt")
		}
		parts := strings.Split(h, "$")
		tampered := strings.Join(append(parts[:5:5], strings.Repeat("A", len(parts[5]))), "$")
		if lockbox.CheckPassword("correct horse battery staple", tampered) {
			t.Error("a tampered hash is accepted")
		}
	})
}

// usersState is what a tenant's admin sees of its users.
func (e *env) usersState(w *world) string {
	e.t.Helper()
	var l lockbox.List[*lockbox.User]
	e.must(200, "GET", "/v1/users?page_size=1000", w.customerAdmin.token, nil, &l)
	slices.SortFunc(l.Items, func(a, b *lockbox.User) int { return strings.Compare(string(a.ID), string(b.ID)) })
	b, _ := json.Marshal(l.Items)
	return string(b)
}

// Invariant 10: the operator cannot make itself a customer approver; only
// the tenant's admins manage its users, and each change is logged.
func TestInvariant10OnlyTheTenantManagesItsUsers(t *testing.T) {
	e := newEnv(t)
	w := e.newWorld("Inv10")
	tid := w.tenant.ID
	lockboxPath := "/v1/tenants/" + string(tid) + "/lockbox"
	newPassword := "operator chosen password"

	type attempt struct {
		name         string
		method, path string
		body         any
	}
	attempts := []attempt{
		{"create_second_tenant_admin", "POST", "/v1/users", lockbox.CreateUserInput{Email: "second-admin@example.com", DisplayName: "x", Kind: lockbox.KindCustomer, TenantID: tid, Roles: []lockbox.Role{lockbox.RoleTenantAdmin}}},
		{"create_approver", "POST", "/v1/users", lockbox.CreateUserInput{Email: "op-approver@example.com", DisplayName: "x", Kind: lockbox.KindCustomer, TenantID: tid, Roles: []lockbox.Role{lockbox.RoleLockboxApprover}}},
		{"create_member", "POST", "/v1/users", lockbox.CreateUserInput{Email: "op-member@example.com", DisplayName: "x", Kind: lockbox.KindCustomer, TenantID: tid, Roles: []lockbox.Role{lockbox.RoleMember}}},
		{"promote_member", "PATCH", "/v1/users/" + string(w.member.ID), lockbox.UpdateUserInput{Roles: &[]lockbox.Role{lockbox.RoleLockboxApprover}}},
		{"promote_member_to_admin", "PATCH", "/v1/users/" + string(w.member.ID), lockbox.UpdateUserInput{Roles: &[]lockbox.Role{lockbox.RoleTenantAdmin}}},
		{"demote_approver", "PATCH", "/v1/users/" + string(w.approver.ID), lockbox.UpdateUserInput{Roles: &[]lockbox.Role{lockbox.RoleMember}}},
		{"set_admin_password", "PATCH", "/v1/users/" + string(w.customerAdmin.ID), lockbox.UpdateUserInput{Password: &newPassword}},
		{"set_approver_password", "PATCH", "/v1/users/" + string(w.approver.ID), lockbox.UpdateUserInput{Password: &newPassword}},
		{"rename_approver", "PATCH", "/v1/users/" + string(w.approver.ID), map[string]any{"display_name": "Renamed by ops"}},
		{"delete_member", "DELETE", "/v1/users/" + string(w.member.ID), nil},
		{"delete_admin", "DELETE", "/v1/users/" + string(w.customerAdmin.ID), nil},
		{"token_for_approver", "POST", "/v1/users/" + string(w.approver.ID) + "/tokens", lockbox.CreateTokenInput{Name: "ops"}},
		{"token_for_admin", "POST", "/v1/users/" + string(w.customerAdmin.ID) + "/tokens", lockbox.CreateTokenInput{Name: "ops"}},
		{"disable_lockbox", "PATCH", lockboxPath, map[string]any{"enabled": false}},
		{"lower_approvals", "PATCH", lockboxPath, map[string]any{"approvals_required": 1}},
	}
	operators := []struct {
		name  string
		token string
		ok    []int
	}{
		{"bootstrap_token", e.admin, []int{403}},
		{"mfa_operator_admin", w.opAdmin.token, []int{403}},
		// An engineer may not even see customer users: 404 is a refusal too.
		{"engineer", w.engineer.token, []int{403, 404}},
		{"support_lead", w.lead.token, []int{403, 404}},
	}
	cases := 0
	for _, op := range operators {
		for _, a := range attempts {
			cases++
			t.Run(op.name+"/"+a.name, func(t *testing.T) {
				e := e.withT(t)
				users := e.usersState(w)
				var lb lockbox.LockboxSettings
				lbRaw := e.must(200, "GET", lockboxPath, w.customerAdmin.token, nil, &lb).Body
				n := e.eventCount(tid)
				res := e.call(a.method, a.path, op.token, a.body)
				if !slices.Contains(op.ok, res.Status) {
					t.Errorf("%d %s, want %v", res.Status, res.Body, op.ok)
				}
				if got := e.usersState(w); got != users {
					t.Errorf("the tenant's users changed:\n%s\n%s", users, got)
				}
				if got := e.must(200, "GET", lockboxPath, w.customerAdmin.token, nil, nil).Body; !bytes.Equal(got, lbRaw) {
					t.Errorf("the lockbox settings changed: %s", got)
				}
				if m := e.eventCount(tid); m != n {
					t.Errorf("%d events appended", m-n)
				}
			})
		}
	}
	t.Logf("%d operator attempts", cases)
	// The refused password change did not take: the old one still works,
	// the operator's does not; the refused users do not exist.
	e.loginPassword(w.customerAdmin)
	e.must(401, "POST", "/v1/auth/login", "", lockbox.LoginInput{Email: w.customerAdmin.Email, Password: newPassword}, nil)
	e.must(401, "POST", "/v1/auth/login", "", lockbox.LoginInput{Email: "op-approver@example.com", Password: newPassword}, nil)

	t.Run("before_onboarding_only_a_tenant_admin", func(t *testing.T) {
		e := e.withT(t)
		var t2 lockbox.Tenant
		e.must(201, "POST", "/v1/tenants", e.admin, lockbox.CreateTenantInput{Name: "Fresh"}, &t2)
		for _, roles := range [][]lockbox.Role{{lockbox.RoleLockboxApprover}, {lockbox.RoleMember}, {lockbox.RoleLockboxApprover, lockbox.RoleMember}} {
			res := e.call("POST", "/v1/users", e.admin, lockbox.CreateUserInput{Email: "pre@example.com", DisplayName: "x", Kind: lockbox.KindCustomer, TenantID: t2.ID, Roles: roles})
			if res.Status != 403 {
				t.Errorf("operator creates a %v before onboarding: %d %s, want 403", roles, res.Status, res.Body)
			}
		}
		n := e.eventCount(t2.ID)
		first := e.createUser(e.admin, lockbox.CreateUserInput{Kind: lockbox.KindCustomer, TenantID: t2.ID, Roles: []lockbox.Role{lockbox.RoleTenantAdmin}})
		var boot lockbox.Me
		e.must(200, "GET", "/v1/me", e.admin, nil, &boot)
		evs := e.eventsAfter(t2.ID, int64(n-1))
		if len(evs) == 0 || evs[0].Type != lockbox.EventUserCreated || evs[0].ActorID != boot.ID || !strings.Contains(string(evs[0].Data), string(first.ID)) {
			t.Errorf("the invitation's event: %v", eventTypes(evs))
		}
		// The invitation is spent, for every operator admin.
		for _, tok := range []string{e.admin, w.opAdmin.token} {
			res := e.call("POST", "/v1/users", tok, lockbox.CreateUserInput{Email: "again@example.com", DisplayName: "x", Kind: lockbox.KindCustomer, TenantID: t2.ID, Roles: []lockbox.Role{lockbox.RoleTenantAdmin}})
			if res.Status != 403 {
				t.Errorf("a second invitation: %d %s, want 403", res.Status, res.Body)
			}
		}
	})

	t.Run("tenant_admin_manages_users_with_events", func(t *testing.T) {
		e := e.withT(t)
		last := e.lastIndex(tid, -1)
		x := e.customer(w, lockbox.RoleLockboxApprover)
		e.must(200, "PATCH", "/v1/users/"+string(w.member.ID), w.customerAdmin.token, lockbox.UpdateUserInput{Roles: &[]lockbox.Role{lockbox.RoleLockboxApprover}}, nil)
		e.must(204, "DELETE", "/v1/users/"+string(x.ID), w.customerAdmin.token, nil, nil)
		var byAdmin []*lockbox.Event
		for _, ev := range e.eventsAfter(tid, last) {
			if ev.Type == lockbox.EventUserCreated || ev.Type == lockbox.EventUserUpdated || ev.Type == lockbox.EventUserDeleted {
				byAdmin = append(byAdmin, ev)
			}
		}
		if got := eventTypes(byAdmin); !slices.Equal(got, []string{"user.created", "user.updated", "user.deleted"}) {
			t.Fatalf("user events %v", got)
		}
		for _, ev := range byAdmin {
			if ev.ActorID != w.customerAdmin.ID {
				t.Errorf("%s names actor %q, want the tenant admin", ev.Type, ev.ActorID)
			}
		}
		var upd struct {
			After struct {
				UserID lockbox.UserID `json:"user_id"`
				Roles  []lockbox.Role `json:"roles"`
			} `json:"after"`
		}
		if err := json.Unmarshal(byAdmin[1].Data, &upd); err != nil || upd.After.UserID != w.member.ID || !slices.Equal(upd.After.Roles, []lockbox.Role{lockbox.RoleLockboxApprover}) {
			t.Errorf("user.updated data %s: the log must say who can approve now", byAdmin[1].Data)
		}
		var created struct {
			UserID lockbox.UserID `json:"user_id"`
			Roles  []lockbox.Role `json:"roles"`
		}
		if err := json.Unmarshal(byAdmin[0].Data, &created); err != nil || created.UserID != x.ID || !slices.Equal(created.Roles, []lockbox.Role{lockbox.RoleLockboxApprover}) {
			t.Errorf("user.created data %s", byAdmin[0].Data)
		}
		// Back to member, for the cases below.
		e.must(200, "PATCH", "/v1/users/"+string(w.member.ID), w.customerAdmin.token, lockbox.UpdateUserInput{Roles: &[]lockbox.Role{lockbox.RoleMember}}, nil)
	})

	t.Run("tenant_admin_without_mfa_is_refused", func(t *testing.T) {
		e := e.withT(t)
		pwd := e.loginPassword(w.customerAdmin)
		users := e.usersState(w)
		n := e.eventCount(tid)
		for _, a := range []attempt{
			{"create", "POST", "/v1/users", lockbox.CreateUserInput{Email: "nomfa@example.com", DisplayName: "x", Kind: lockbox.KindCustomer, TenantID: tid, Roles: []lockbox.Role{lockbox.RoleLockboxApprover}}},
			{"promote", "PATCH", "/v1/users/" + string(w.member.ID), lockbox.UpdateUserInput{Roles: &[]lockbox.Role{lockbox.RoleLockboxApprover}}},
			{"delete", "DELETE", "/v1/users/" + string(w.member.ID), nil},
			{"lockbox", "PATCH", lockboxPath, map[string]any{"enabled": false}},
		} {
			if res := e.call(a.method, a.path, pwd, a.body); res.Status != 403 {
				t.Errorf("%s on a password-only session: %d %s, want 403", a.name, res.Status, res.Body)
			}
		}
		if got := e.usersState(w); got != users {
			t.Errorf("users changed")
		}
		if m := e.eventCount(tid); m != n {
			t.Errorf("%d events appended", m-n)
		}
	})

	t.Run("customers_cannot_raise_their_own_rights", func(t *testing.T) {
		e := e.withT(t)
		users := e.usersState(w)
		n := e.eventCount(tid)
		var adminToken lockbox.TokenOutput
		e.must(201, "POST", "/v1/users/"+string(w.customerAdmin.ID)+"/tokens", w.customerAdmin.token, lockbox.CreateTokenInput{Name: "automation"}, &adminToken)
		n++ // the token's own event
		for _, c := range []struct {
			name, token, id string
			body            any
		}{
			{"member_promotes_self", w.member.token, string(w.member.ID), lockbox.UpdateUserInput{Roles: &[]lockbox.Role{lockbox.RoleLockboxApprover}}},
			{"approver_promotes_self", w.approver.token, string(w.approver.ID), lockbox.UpdateUserInput{Roles: &[]lockbox.Role{lockbox.RoleTenantAdmin}}},
			{"approver_promotes_member", w.approver.token, string(w.member.ID), lockbox.UpdateUserInput{Roles: &[]lockbox.Role{lockbox.RoleLockboxApprover}}},
			// An API token is no second factor: automation does not manage people.
			{"admin_api_token_promotes_member", adminToken.Token, string(w.member.ID), lockbox.UpdateUserInput{Roles: &[]lockbox.Role{lockbox.RoleLockboxApprover}}},
		} {
			if res := e.call("PATCH", "/v1/users/"+c.id, c.token, c.body); res.Status != 403 {
				t.Errorf("%s: %d %s, want 403", c.name, res.Status, res.Body)
			}
		}
		// Nor does a tenant admin create operator staff, least of all
		// internal approvers.
		for _, roles := range [][]lockbox.Role{{lockbox.RoleEngineer}, {lockbox.RoleOperatorAdmin}} {
			res := e.call("POST", "/v1/users", w.customerAdmin.token, lockbox.CreateUserInput{Email: "fake-lead@example.com", DisplayName: "x", Kind: lockbox.KindOperator, Roles: roles, Groups: []string{"support-leads"}})
			if res.Status != 403 {
				t.Errorf("tenant admin creates an operator %v: %d %s, want 403", roles, res.Status, res.Body)
			}
		}
		e.must(401, "POST", "/v1/auth/login", "", lockbox.LoginInput{Email: "fake-lead@example.com", Password: newPassword}, nil)
		for _, tok := range []string{w.approver.token, adminToken.Token} {
			if res := e.call("POST", "/v1/users", tok, lockbox.CreateUserInput{Email: "sneaky@example.com", DisplayName: "x", Kind: lockbox.KindCustomer, TenantID: tid, Roles: []lockbox.Role{lockbox.RoleLockboxApprover}}); res.Status != 403 {
				t.Errorf("create a user without an admin's MFA session: %d %s, want 403", res.Status, res.Body)
			}
		}
		if got := e.usersState(w); got != users {
			t.Errorf("users changed")
		}
		if m := e.eventCount(tid); m != n {
			t.Errorf("%d events appended", m-n)
		}
	})

	t.Run("removed_user_token_stops_working", func(t *testing.T) {
		e := e.withT(t)
		x := e.customer(w, lockbox.RoleLockboxApprover)
		var tok lockbox.TokenOutput
		e.must(201, "POST", "/v1/users/"+string(x.ID)+"/tokens", x.token, lockbox.CreateTokenInput{Name: "mine"}, &tok)
		pwd := e.loginPassword(x)
		for _, s := range []string{x.token, tok.Token, pwd} {
			e.must(200, "GET", "/v1/me", s, nil, nil)
		}
		e.must(204, "DELETE", "/v1/users/"+string(x.ID), w.customerAdmin.token, nil, nil)
		for _, s := range []string{x.token, tok.Token, pwd} {
			res := e.call("GET", "/v1/me", s, nil)
			if res.Status != 401 || res.errCode() != "unauthenticated" {
				t.Errorf("a removed user's token: %d %s, want 401", res.Status, res.Body)
			}
		}
		e.must(401, "POST", "/v1/auth/login", "", lockbox.LoginInput{Email: x.Email, Password: x.password}, nil)
		r := e.pendingCustomer(w)
		if res := e.call("POST", reqPath(r.ID, "approve"), x.token, lockbox.ApproveInput{Reason: "ok"}); res.Status != 401 {
			t.Errorf("a removed approver approves: %d", res.Status)
		}
	})

	t.Run("last_tenant_admin_stays", func(t *testing.T) {
		e := e.withT(t)
		users := e.usersState(w)
		self := "/v1/users/" + string(w.customerAdmin.ID)
		for _, c := range []struct {
			method string
			body   any
		}{
			{"PATCH", lockbox.UpdateUserInput{Roles: &[]lockbox.Role{lockbox.RoleLockboxApprover}}},
			{"PATCH", lockbox.UpdateUserInput{Roles: &[]lockbox.Role{lockbox.RoleMember}}},
			{"DELETE", nil},
		} {
			if res := e.call(c.method, self, w.customerAdmin.token, c.body); res.Status != 409 || res.errCode() != "conflict" {
				t.Errorf("%s of the last tenant_admin: %d %s, want 409", c.method, res.Status, res.Body)
			}
		}
		if got := e.usersState(w); got != users {
			t.Errorf("users changed")
		}
		// With a second admin, the first may step down; the second is then
		// the last.
		admin2 := e.customer(w, lockbox.RoleTenantAdmin)
		e.must(200, "PATCH", self, admin2.token, lockbox.UpdateUserInput{Roles: &[]lockbox.Role{lockbox.RoleLockboxApprover}}, nil)
		if res := e.call("DELETE", "/v1/users/"+string(admin2.ID), admin2.token, nil); res.Status != 409 {
			t.Errorf("removing the new last tenant_admin: %d %s, want 409", res.Status, res.Body)
		}
		if res := e.call("PATCH", "/v1/users/"+string(admin2.ID), admin2.token, lockbox.UpdateUserInput{Roles: &[]lockbox.Role{lockbox.RoleMember}}); res.Status != 409 {
			t.Errorf("demoting the new last tenant_admin: %d %s, want 409", res.Status, res.Body)
		}
		// The former admin no longer manages users.
		if res := e.call("POST", "/v1/users", w.customerAdmin.token, lockbox.CreateUserInput{Email: "late@example.com", DisplayName: "x", Kind: lockbox.KindCustomer, TenantID: tid, Roles: []lockbox.Role{lockbox.RoleMember}}); res.Status != 403 {
			t.Errorf("a demoted admin creates a user: %d %s, want 403", res.Status, res.Body)
		}
	})
}

// A tenant's max_access_duration bounds every window it grants from the
// moment it is set: lowering it caps requests already waiting.
func TestMaxAccessDurationAppliesAtApproval(t *testing.T) {
	e := newEnv(t)
	w := e.newWorld("MaxDuration")
	r := e.request(w, "4h")
	e.approveInternal(w, r)
	e.setLockbox(w, map[string]any{"max_access_duration": "1h"})
	e.must(200, "POST", reqPath(r.ID, "approve"), w.approver.token, lockbox.ApproveInput{Reason: "ok"}, r)
	if r.Status != lockbox.StatusApproved {
		t.Fatalf("status %s", r.Status)
	}
	if got := r.AccessExpiresAt.Sub(*r.AccessStartsAt); got > time.Hour {
		t.Fatalf("the window is %s, beyond the tenant's max_access_duration of 1h", got)
	}
	// With lockbox off, internal approval opens the window: the same cap.
	r2 := e.request(w, "4h")
	e.setLockbox(w, map[string]any{"enabled": false, "max_access_duration": "30m"})
	e.must(200, "POST", reqPath(r2.ID, "approve"), w.lead.token, lockbox.ApproveInput{Reason: "ok"}, r2)
	if r2.Status != lockbox.StatusApproved {
		t.Fatalf("status %s", r2.Status)
	}
	if got := r2.AccessExpiresAt.Sub(*r2.AccessStartsAt); got > 30*time.Minute {
		t.Fatalf("the window is %s, beyond the tenant's max_access_duration of 30m", got)
	}
}
