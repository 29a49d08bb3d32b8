package web_test

import (
	"net/http"
	"strings"
	"testing"
)

// TestMemberTicketPageShowsNoRequests (issue 13 item 7): the portal's ticket
// page shows the ticket's history through the same rule as the API
// (lockbox.EventVisible): a member sees the ticket's own events, not the
// access requests filed for it, nor their tokens and accesses; an approver
// sees them.
func TestMemberTicketPageShowsNoRequests(t *testing.T) {
	e := newEnv(t)
	r := e.fileRequest()
	e.approveInternally(r.ID)
	e.recordAccess(r.ID, "inbox")
	path := "/tickets/" + string(r.TicketID)

	mia := e.browser()
	mia.signIn("mia")
	pg := mia.get(path)
	if pg.Status != http.StatusOK || !strings.Contains(pg.Body, "ticket.created") {
		t.Fatalf("the member reads its ticket: %d, ticket.created shown: %v", pg.Status, strings.Contains(pg.Body, "ticket.created"))
	}
	for _, leak := range []string{string(r.ID), "request.created", "request.reviewed", "request.pending_customer", "access.allowed", "access.recorded"} {
		if strings.Contains(pg.Body, leak) {
			t.Errorf("the member's ticket page shows %q", leak)
		}
	}

	bob := e.browser()
	bob.signIn("bob")
	if pg := bob.get(path); pg.Status != http.StatusOK || !strings.Contains(pg.Body, "request.created") || !strings.Contains(pg.Body, string(r.ID)) {
		t.Errorf("the approver's ticket page does not show the request: %d", pg.Status)
	}
}
