package lockbox_test

import (
	"testing"
	"time"

	"github.com/lockbox-dev/lockbox"
)

// TestCreateTicket: a tenant's customers (any role) and operators open its
// tickets; customers of other tenants learn nothing; each ticket is in the
// tenant's log.
func TestCreateTicket(t *testing.T) {
	e := newDomainEnv(t)
	good := lockbox.CreateTicketInput{TenantID: e.acme.ID, Title: " Mail lost ", Severity: 2}
	with := func(f func(*lockbox.CreateTicketInput)) lockbox.CreateTicketInput {
		in := good
		f(&in)
		return in
	}
	cases := []struct {
		name string
		p    *lockbox.Principal
		in   lockbox.CreateTicketInput
		code lockbox.ErrorCode
	}{
		{"a member of the tenant", e.pwd(e.member), good, ""},
		{"an engineer, assigning another", e.pwd(e.eng), with(func(in *lockbox.CreateTicketInput) { in.AssigneeID = e.eng2.ID }), ""},
		{"another tenant's admin", e.pwd(e.foreign), good, lockbox.CodeNotFound},
		{"a gateway account", e.pwd(e.gw), good, lockbox.CodeNotFound},
		{"no tenant", e.pwd(e.eng), with(func(in *lockbox.CreateTicketInput) { in.TenantID = "" }), lockbox.CodeInvalid},
		{"unknown tenant", e.pwd(e.eng), with(func(in *lockbox.CreateTicketInput) { in.TenantID = "tnt_nope" }), lockbox.CodeNotFound},
		{"no title", e.pwd(e.member), with(func(in *lockbox.CreateTicketInput) { in.Title = "  " }), lockbox.CodeInvalid},
		{"severity 0", e.pwd(e.member), with(func(in *lockbox.CreateTicketInput) { in.Severity = 0 }), lockbox.CodeInvalid},
		{"severity 5", e.pwd(e.member), with(func(in *lockbox.CreateTicketInput) { in.Severity = 5 }), lockbox.CodeInvalid},
		{"a customer as assignee", e.pwd(e.eng), with(func(in *lockbox.CreateTicketInput) { in.AssigneeID = e.admin.ID }), lockbox.CodeInvalid},
		{"a gateway as assignee", e.pwd(e.eng), with(func(in *lockbox.CreateTicketInput) { in.AssigneeID = e.gw.ID }), lockbox.CodeInvalid},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			defer e.in(t)()
			m := e.mark()
			tk, err := e.svc.CreateTicket(e.ctx, c.p, c.in)
			wantCode(t, "create", err, c.code)
			if c.code != "" {
				e.expectEvents(m, e.acme.ID)
				return
			}
			e.expectEvents(m, e.acme.ID, lockbox.EventTicketCreated)
			if tk.Title != "Mail lost" || tk.Status != lockbox.TicketOpen || tk.TenantID != e.acme.ID {
				t.Errorf("ticket %+v", tk)
			}
		})
	}
}

// TestTicketReadsAreTenantScoped: customers read and list their own
// tenant's tickets only; a ticket's history is its events.
func TestTicketReadsAreTenantScoped(t *testing.T) {
	e := newDomainEnv(t)
	tk, err := e.svc.CreateTicket(e.ctx, e.pwd(e.member), lockbox.CreateTicketInput{TenantID: e.acme.ID, Title: "Help", Severity: 3})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.AddComment(e.ctx, e.pwd(e.eng), tk.ID, lockbox.CommentInput{Body: "looking"}); err != nil {
		t.Fatal(err)
	}
	e.newTicket(e.globex.ID)
	cases := []struct {
		name string
		p    *lockbox.Principal
		get  lockbox.ErrorCode
		list int // -1: refused
	}{
		{"a member", e.pwd(e.member), "", 2},
		{"an engineer", e.pwd(e.eng), "", 3},
		{"another tenant's admin", e.pwd(e.foreign), lockbox.CodeNotFound, 1},
		{"a gateway account", e.pwd(e.gw), lockbox.CodeNotFound, -1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			defer e.in(t)()
			got, err := e.svc.GetTicket(e.ctx, c.p, tk.ID)
			wantCode(t, "get", err, c.get)
			if err == nil {
				if len(got.Comments) != 1 || len(got.History) != 2 || got.History[0].Type != lockbox.EventTicketCreated || got.History[1].Type != lockbox.EventTicketCommented {
					t.Errorf("comments %d, history %d", len(got.Comments), len(got.History))
				}
			}
			list, err := e.svc.ListTickets(e.ctx, c.p, lockbox.TicketFilter{})
			if c.list < 0 {
				wantCode(t, "list", err, lockbox.CodeForbidden)
				return
			}
			wantCode(t, "list", err, "")
			if len(list.Items) != c.list {
				t.Errorf("listed %d tickets, want %d", len(list.Items), c.list)
			}
			if c.p.User.Kind == lockbox.KindCustomer && c.p.User.TenantID != e.acme.ID {
				_, err := e.svc.ListTickets(e.ctx, c.p, lockbox.TicketFilter{TenantID: e.acme.ID})
				wantCode(t, "list naming another tenant", err, lockbox.CodeNotFound)
			}
		})
	}
	_, err = e.svc.ListTickets(e.ctx, e.pwd(e.eng), lockbox.TicketFilter{Status: "lost"})
	wantCode(t, "list by an unknown status", err, lockbox.CodeInvalid)
	_, err = e.svc.AddComment(e.ctx, e.pwd(e.foreign), tk.ID, lockbox.CommentInput{Body: "hi"})
	wantCode(t, "a comment from another tenant", err, lockbox.CodeNotFound)
	_, err = e.svc.AddComment(e.ctx, e.pwd(e.member), tk.ID, lockbox.CommentInput{Body: ""})
	wantCode(t, "an empty comment", err, lockbox.CodeInvalid)
}

// TestResolveTicket: resolving a ticket completes its approved access and
// cancels its pending requests in the same step, each with its event and
// its place on the revocation feed; ended requests and other tickets'
// requests stay as they are; a resolved ticket takes no more work.
func TestResolveTicket(t *testing.T) {
	e := newDomainEnv(t)
	access := e.approved(time.Hour)
	pending := e.request(e.ticket, time.Hour)
	canceled := e.request(e.ticket, time.Hour)
	if _, err := e.svc.Cancel(e.ctx, e.pwd(e.eng), canceled.ID); err != nil {
		t.Fatal(err)
	}
	elsewhere := e.newTicket(e.acme.ID)
	e.policy.set(allowWith())
	other := e.request(elsewhere, time.Hour)

	_, err := e.svc.ResolveTicket(e.ctx, e.pwd(e.foreign), e.ticket.ID)
	wantCode(t, "resolve by another tenant", err, lockbox.CodeNotFound)

	e.clock.Advance(time.Minute)
	m := e.mark()
	tk, err := e.svc.ResolveTicket(e.ctx, e.pwd(e.member), e.ticket.ID)
	if err != nil || tk.Status != lockbox.TicketResolved || !tk.ResolvedAt.Equal(e.clock.Now()) {
		t.Fatalf("resolve: %+v %v", tk, err)
	}
	got := e.since(m, e.acme.ID)
	if len(got) != 3 || got[0] != lockbox.EventTicketResolved {
		t.Errorf("events %v, want ticket.resolved then one event per ended request", got)
	}
	checks := []struct {
		r      *lockbox.AccessRequest
		status lockbox.RequestStatus
		reason string
		feed   bool
	}{
		{access, lockbox.StatusCompleted, lockbox.EndTicketResolved, true},
		{pending, lockbox.StatusCanceled, lockbox.EndTicketResolved, true},
		{canceled, lockbox.StatusCanceled, lockbox.EndCanceled, true},
		{other, lockbox.StatusPendingCustomer, "", false},
	}
	for _, c := range checks {
		st := e.stored(c.r.ID)
		if st.Status != c.status || st.EndReason != c.reason {
			t.Errorf("%s: %s (%s), want %s (%s)", c.r.ID, st.Status, st.EndReason, c.status, c.reason)
		}
		if st.EndReason == lockbox.EndTicketResolved && (st.EndedBy != e.member.ID || !st.EndedAt.Equal(e.clock.Now())) {
			t.Errorf("%s ended by %s at %v", c.r.ID, st.EndedBy, st.EndedAt)
		}
		if s, ok := e.revoked(c.r.ID); ok != c.feed || (ok && s != c.status) {
			t.Errorf("%s on the revocation feed: %s %v", c.r.ID, s, ok)
		}
	}

	m = e.mark()
	_, err = e.svc.ResolveTicket(e.ctx, e.pwd(e.member), e.ticket.ID)
	wantCode(t, "resolve again", err, lockbox.CodeConflict)
	_, err = e.svc.AddComment(e.ctx, e.pwd(e.member), e.ticket.ID, lockbox.CommentInput{Body: "one more thing"})
	wantCode(t, "comment on a resolved ticket", err, lockbox.CodeConflict)
	_, err = e.svc.CreateRequest(e.ctx, e.mfa(e.eng), requestInput(e.ticket.ID, time.Hour))
	wantCode(t, "request on a resolved ticket", err, lockbox.CodeConflict)
	e.expectEvents(m, e.acme.ID)
}

// TestResolveTicketSettlesFirst: access whose window passed before the
// ticket was resolved completes as duration_elapsed at its window end, not
// as ticket_resolved.
func TestResolveTicketSettlesFirst(t *testing.T) {
	e := newDomainEnv(t)
	access := e.approved(time.Hour)
	e.clock.Advance(3 * time.Hour)
	if _, err := e.svc.ResolveTicket(e.ctx, e.pwd(e.eng), e.ticket.ID); err != nil {
		t.Fatal(err)
	}
	st := e.stored(access.ID)
	if st.Status != lockbox.StatusCompleted || st.EndReason != lockbox.EndDurationElapsed || !st.EndedAt.Equal(*access.AccessExpiresAt) {
		t.Errorf("%s (%s) at %v", st.Status, st.EndReason, st.EndedAt)
	}
}

// TestLogReads: a tenant's log is read by its admins and approvers and by
// operators; the system log by operators only.
func TestLogReads(t *testing.T) {
	e := newDomainEnv(t)
	e.request(e.ticket, time.Hour)
	cases := []struct {
		name   string
		p      *lockbox.Principal
		tenant lockbox.TenantID
		code   lockbox.ErrorCode
	}{
		{"the tenant's approver", e.pwd(e.apr1), e.acme.ID, ""},
		{"an engineer", e.pwd(e.eng2), e.acme.ID, ""},
		{"a member", e.pwd(e.member), e.acme.ID, lockbox.CodeForbidden},
		{"another tenant's admin", e.pwd(e.foreign), e.acme.ID, lockbox.CodeNotFound},
		{"a gateway account", e.pwd(e.gw), e.acme.ID, lockbox.CodeNotFound},
		{"an operator, unknown tenant", e.pwd(e.eng), "tnt_nope", lockbox.CodeNotFound},
		{"an operator, system log", e.pwd(e.eng), lockbox.SystemLog, ""},
		{"a tenant admin, system log", e.pwd(e.admin), lockbox.SystemLog, lockbox.CodeNotFound},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			defer e.in(t)()
			evs, err := e.svc.ListEvents(e.ctx, c.p, lockbox.EventFilter{TenantID: c.tenant, After: -1, Limit: 10})
			wantCode(t, "list events", err, c.code)
			if err == nil && c.tenant == e.acme.ID && (len(evs) != 1 || evs[0].Type != lockbox.EventRequestCreated) {
				t.Errorf("events %v", evs)
			}
		})
	}
	_, err := e.svc.ListEvents(e.ctx, e.pwd(e.eng), lockbox.EventFilter{TenantID: e.acme.ID, After: -1})
	wantCode(t, "no page size", err, lockbox.CodeInvalid)
	for _, c := range []struct {
		p    *lockbox.Principal
		code lockbox.ErrorCode
	}{{e.pwd(e.apr1), ""}, {e.pwd(e.eng), ""}, {e.pwd(e.member), lockbox.CodeForbidden}, {e.pwd(e.gw), lockbox.CodeForbidden}} {
		wantCode(t, "what every log reader may see, as "+c.p.User.DisplayName, e.svc.AuthorizeLogRead(e.ctx, c.p, ""), c.code)
	}
}
