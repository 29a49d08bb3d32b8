package httpapi_test

import (
	"strings"
	"testing"

	"github.com/lockbox-dev/lockbox"
)

// TestMemberSeesNoRequestEvents (issue 13 item 7): a customer member may
// read its tenant's tickets, but not its access requests. Through the
// ticket's history it saw every request.*, token.issued and access.* event
// (the request's justification, resources, who approved, every token). One
// rule (lockbox.EventVisible) now decides who sees which event: the member
// sees the ticket's own events only; the tenant's approvers and operators
// see everything, and the member is still refused the tenant's log.
func TestMemberSeesNoRequestEvents(t *testing.T) {
	e := newEnv(t)
	w := e.newWorld("Contoso")
	r := e.approved(w, "1h")
	e.grantToken(w.engineer, r.ID)
	gw := e.gatewayUser()
	e.must(200, "POST", "/v1/access-events", gw.token, map[string]any{"records": []any{map[string]any{
		"id": "acc_member_1", "phase": "decision", "time": "2026-11-27T09:10:00Z", "gateway": "gw-1",
		"tenant_id": string(w.tenant.ID), "request_id": string(r.ID), "requester_id": string(w.engineer.ID),
		"method": "GET", "path": "/tenants/x/mailboxes/alice", "resource": "mailbox:alice", "level": "read", "decision": "allowed",
	}}}, nil)
	e.must(201, "POST", "/v1/tickets/"+string(w.ticket.ID)+"/comments", w.member.token, lockbox.CommentInput{Body: "any news?"}, nil)

	hidden := func(typ lockbox.EventType) bool {
		s := string(typ)
		return strings.HasPrefix(s, "request.") || strings.HasPrefix(s, "token.") || strings.HasPrefix(s, "access.")
	}
	history := func(token string) []*lockbox.Event {
		tk := &lockbox.Ticket{}
		e.must(200, "GET", "/v1/tickets/"+string(w.ticket.ID), token, nil, tk)
		return tk.History
	}
	got := history(w.member.token)
	for _, ev := range got {
		if hidden(ev.Type) || ev.RequestID != "" {
			t.Errorf("the member sees %s of request %s in the ticket's history", ev.Type, ev.RequestID)
		}
	}
	if types := eventTypes(got); strings.Join(types, ",") != "ticket.created,ticket.commented" {
		t.Errorf("the member's ticket history is %v, want the ticket's own events", types)
	}
	for _, who := range []*user{w.approver, w.customerAdmin, w.engineer} {
		n := 0
		for _, ev := range history(who.token) {
			if hidden(ev.Type) {
				n++
			}
		}
		if n < 6 { // created, reviewed x2, pending_customer, approved, token.issued, access.*
			t.Errorf("%s sees only %d request events in the ticket's history", who.Email, n)
		}
	}
	// The tenant's log stays closed to members, in every form.
	base := "/v1/tenants/" + string(w.tenant.ID)
	for _, path := range []string{base + "/events", base + "/log/entries?start=0&end=1", base + "/log/checkpoint"} {
		e.must(403, "GET", path, w.member.token, nil, nil)
	}
}
