package web_test

import (
	"context"
	"regexp"
	"strings"
	"testing"
)

// TestViewsShowNamesLabelsAndFields (issue 19, newcomer item 7): the
// portal shows people by name, durations and enum values in words, and an
// event's details as labelled fields, not ids, Go durations and raw JSON.
func TestViewsShowNamesLabelsAndFields(t *testing.T) {
	e := newEnv(t)
	r := e.fileRequest() // eve (operator staff) opens the ticket and asks for 2 h
	e.approveInternally(r.ID)

	alice := e.browser()
	alice.signIn("alice")

	// The ticket page names who opened it, although customers cannot
	// read operator users, and its history says who acted.
	pg := alice.get("/tickets/" + string(r.TicketID))
	opened := regexp.MustCompile(`data-testid="opened-by">([^<]*)<`).FindStringSubmatch(pg.Body)
	if opened == nil || opened[1] != "Eve" {
		t.Errorf("Opened by = %v, want Eve", opened)
	}
	if strings.Contains(pg.Body, string(e.people["eve"].User.ID)) {
		t.Error("the ticket page shows eve's user id")
	}
	if !strings.Contains(pg.Body, "Ticket opened") || !strings.Contains(pg.Body, "(operator staff)") {
		t.Error("the ticket's history and opener kind are not in words")
	}

	// The request list shows the duration in words, the justification and
	// labels.
	pg = alice.get("/requests")
	if !strings.Contains(pg.Body, ">2 h<") || strings.Contains(pg.Body, "2h0m0s") {
		t.Error("the request list does not show the duration as 2 h")
	}
	if !strings.Contains(pg.Body, "Look at the stuck queue") {
		t.Error("the request list does not show the justification")
	}
	if !strings.Contains(pg.Body, `data-testid="ticket-title">Mail stuck<`) {
		t.Error("the request list does not show the ticket's title")
	}

	// The log page: an actor column with names, event types in words and
	// details as a definition list of labelled, formatted fields.
	pg = alice.get("/log")
	row := regexp.MustCompile(`(?s)<tr><td>\d+</td><td class="nowrap">[^<]*</td><td title="request.created">Access requested</td><td>([^<]*)</td>.*?</tr>`).FindStringSubmatch(pg.Body)
	if row == nil {
		t.Fatalf("the log has no labelled request.created row:\n%s", pg.Body)
	}
	if row[1] != "Eve" {
		t.Errorf("the actor of request.created reads %q, want Eve", row[1])
	}
	for _, want := range []string{"<dt>Duration asked</dt><dd>2 h</dd>", "<dt>Reason</dt><dd>Customer-initiated support</dd>", "<dt>Justification</dt><dd>Look at the stuck queue</dd>", "<dt>Access level</dt><dd>read</dd>"} {
		if !strings.Contains(row[0], want) {
			t.Errorf("the request.created row lacks %s", want)
		}
	}
	if strings.Contains(row[0], "{") || strings.Contains(row[0], "2h0m0s") || strings.Contains(row[0], "customer_initiated_support") {
		t.Errorf("the request.created row shows raw JSON or values: %s", row[0])
	}
	if !strings.Contains(pg.Body, "Request reviewed</td><td>Lee</td>") {
		t.Error("the review's actor is not named")
	}

	// The end reason reads in words, the new ones included: eve is
	// removed, so her approved-or-pending request ends.
	ctx := context.Background()
	op, err := e.svc.Authenticate(ctx, bootstrapToken)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.svc.DeleteUser(ctx, op, e.people["eve"].User.ID); err != nil {
		t.Fatal(err)
	}
	pg = alice.get("/requests/" + string(r.ID))
	if !strings.Contains(pg.Body, "the requester was removed") || strings.Contains(pg.Body, "requester_removed") {
		t.Errorf("the end reason is not in words: %s", regexp.MustCompile(`(?s)<dt>Ended</dt><dd>.*?</dd>`).FindString(pg.Body))
	}
}
