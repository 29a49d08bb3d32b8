package httpapi_test

import (
	"testing"

	"github.com/lockbox-dev/lockbox"
	"github.com/lockbox-dev/lockbox/app"
)

// TestRequesterCannotSetTheFactsItsPolicyTrusts (issue 13 item 4): under
// the shipped docs/policies/sev1-mailbox-read.cedar, a severity-1 ticket
// halves the internal approvals of a one-mailbox read. An engineer may open
// a ticket for any tenant with any severity; its own severity-1 ticket must
// not buy the fast path. The ticket records who opened it and who set its
// severity, the policy reads them (context.ticket.severity_set_by), and only
// a customer-opened severity-1 ticket gets one approval.
func TestRequesterCannotSetTheFactsItsPolicyTrusts(t *testing.T) {
	e := newEnvWith(t, func(c *app.Config) { c.PolicyFile = "../docs/policies/sev1-mailbox-read.cedar" })
	w := e.newWorld("Contoso")
	open := func(u *user) *lockbox.Ticket {
		tk := &lockbox.Ticket{}
		e.must(201, "POST", "/v1/tickets", u.token, lockbox.CreateTicketInput{TenantID: w.tenant.ID, Title: "Outage", Description: "all mail down",
			Severity: 1, AssigneeID: w.engineer.ID}, tk)
		return tk
	}
	groups := func(r *lockbox.AccessRequest) map[string]int {
		out := map[string]int{}
		for _, g := range r.Policy.InternalApprovals {
			out[g.Group] = g.Count
		}
		return out
	}

	own := open(w.engineer)
	if own.OpenedBy != lockbox.KindOperator || own.SeveritySetByUser != w.engineer.ID || own.SeveritySetBy != lockbox.KindOperator {
		t.Fatalf("the engineer's ticket records opened_by %q, severity_set_by %q (%q)", own.OpenedBy, own.SeveritySetBy, own.SeveritySetByUser)
	}
	r := e.requestFor(w.engineer, own.ID, "1h")
	if g := groups(r); g["devops-managers"] != 1 || g["support-leads"] != 1 {
		t.Fatalf("the engineer's own severity-1 ticket got the fast path: internal approvals %v (policies %v)", g, r.Policy.Policies)
	}

	customers := open(w.member)
	got := &lockbox.Ticket{}
	e.must(200, "GET", "/v1/tickets/"+string(customers.ID), w.member.token, nil, got)
	if got.OpenedBy != lockbox.KindCustomer || got.SeveritySetByUser != w.member.ID || got.SeveritySetBy != lockbox.KindCustomer {
		t.Fatalf("the customer's ticket records opened_by %q, severity_set_by %q (%q)", got.OpenedBy, got.SeveritySetBy, got.SeveritySetByUser)
	}
	r = e.requestFor(w.engineer, customers.ID, "1h")
	if g := groups(r); len(g) != 1 || g["support-leads"] != 1 {
		t.Fatalf("a customer's severity-1 ticket: internal approvals %v, want one support lead", g)
	}
}
