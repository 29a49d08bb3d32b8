package httpapi_test

import (
	"slices"
	"testing"
	"time"

	"github.com/lockbox-dev/lockbox"
)

func TestLifecycleThroughTheAPI(t *testing.T) {
	e := newEnv(t)
	w := e.newWorld("Contoso")

	r := e.request(w, "2h")
	if r.Status != lockbox.StatusPendingInternal {
		t.Fatalf("new request is %s, want pending_internal", r.Status)
	}
	if !r.Policy.Allowed || len(r.Policy.InternalApprovals) != 1 || r.Policy.InternalApprovals[0].Group != "support-leads" ||
		!r.Policy.CustomerApprovalRequired || r.Policy.MaxDuration != lockbox.Duration(8*time.Hour) || len(r.Policy.Policies) == 0 {
		t.Fatalf("policy decision: %+v", r.Policy)
	}
	// Internal approval by the support lead moves it to the customer.
	e.must(200, "POST", "/v1/requests/"+string(r.ID)+"/approve", w.lead.token, lockbox.ApproveInput{Reason: "ok"}, r)
	if r.Status != lockbox.StatusPendingCustomer {
		t.Fatalf("after internal approval: %s", r.Status)
	}
	// The customer approver sees it and approves with a shorter window.
	var list lockbox.List[*lockbox.AccessRequest]
	e.must(200, "GET", "/v1/requests?status=pending_customer", w.approver.token, nil, &list)
	if len(list.Items) != 1 || list.Items[0].ID != r.ID {
		t.Fatalf("approver's pending list: %+v", list.Items)
	}
	d := lockbox.Duration(time.Hour)
	e.must(200, "POST", "/v1/requests/"+string(r.ID)+"/approve", w.approver.token, lockbox.ApproveInput{Reason: "go ahead", Duration: &d}, r)
	if r.Status != lockbox.StatusApproved || r.AccessStartsAt == nil || r.AccessExpiresAt.Sub(*r.AccessStartsAt) != time.Hour {
		t.Fatalf("after customer approval: %s window %v-%v", r.Status, r.AccessStartsAt, r.AccessExpiresAt)
	}
	if len(r.Reviews) != 2 || r.Reviews[0].Stage != lockbox.StageInternal || r.Reviews[1].Stage != lockbox.StageCustomer || !r.Reviews[1].MFA {
		t.Fatalf("reviews: %+v", r.Reviews)
	}
	// The engineer releases it.
	e.must(200, "POST", "/v1/requests/"+string(r.ID)+"/complete", w.engineer.token, nil, r)
	if r.Status != lockbox.StatusCompleted || r.EndReason != lockbox.EndReleased || r.EndedAt == nil {
		t.Fatalf("after complete: %s %s", r.Status, r.EndReason)
	}
	got := requestEvents(e.events(w.tenant.ID), r.ID)
	want := []string{"request.created", "request.reviewed", "request.pending_customer", "request.reviewed", "request.approved", "request.completed"}
	if !slices.Equal(got, want) {
		t.Fatalf("request events %v, want %v", got, want)
	}
}
