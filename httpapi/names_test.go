package httpapi_test

import (
	"strings"
	"testing"

	"github.com/lockbox-dev/lockbox"
)

// TestCustomerSeesWhoAsks: a customer approver cannot read operator users,
// yet the request it decides names the requester (name and e-mail) and the
// internal reviewers, on the read, on the list and on its own review's
// answer.
func TestCustomerSeesWhoAsks(t *testing.T) {
	e := newEnv(t)
	w := e.newWorld("Names")
	r := e.request(w, "1h")
	e.approveInternal(w, r)

	// The approver cannot read the engineer as a user.
	if res := e.call("GET", "/v1/users/"+string(w.engineer.ID), w.approver.token, nil); res.Status < 400 {
		t.Fatalf("the approver read an operator user: %d", res.Status)
	}

	check := func(what string, got *lockbox.AccessRequest) {
		t.Helper()
		if got.RequesterName != w.engineer.DisplayName || got.RequesterEmail != w.engineer.Email {
			t.Errorf("%s: requester %q <%s>, want %q <%s>", what, got.RequesterName, got.RequesterEmail, w.engineer.DisplayName, w.engineer.Email)
		}
		if len(got.Reviews) == 0 || got.Reviews[0].ReviewerName != w.lead.DisplayName {
			t.Errorf("%s: reviews %+v, want the first by %q", what, got.Reviews, w.lead.DisplayName)
		}
	}
	var one lockbox.AccessRequest
	e.must(200, "GET", reqPath(r.ID), w.approver.token, nil, &one)
	check("GET /v1/requests/{id}", &one)

	var list lockbox.List[*lockbox.AccessRequest]
	e.must(200, "GET", "/v1/requests?tenant_id="+string(w.tenant.ID), w.approver.token, nil, &list)
	if len(list.Items) != 1 {
		t.Fatalf("list: %d items, want 1", len(list.Items))
	}
	check("GET /v1/requests", list.Items[0])

	var approved lockbox.AccessRequest
	e.must(200, "POST", reqPath(r.ID, "approve"), w.approver.token, lockbox.ApproveInput{Reason: "ok"}, &approved)
	check("the approval's answer", &approved)
	if rv := approved.Reviews[len(approved.Reviews)-1]; rv.ReviewerName != w.approver.DisplayName {
		t.Errorf("the customer review is by %q, want %q", rv.ReviewerName, w.approver.DisplayName)
	}

	// The requester's own create answer names the requester too.
	created := e.request(w, "1h")
	if created.RequesterName != w.engineer.DisplayName || created.RequesterEmail != w.engineer.Email {
		t.Errorf("create: requester %q <%s>", created.RequesterName, created.RequesterEmail)
	}

	// An operator admin revokes: the approver sees who.
	var revoked lockbox.AccessRequest
	e.must(200, "POST", reqPath(r.ID, "revoke"), w.opAdmin.token, lockbox.ReasonInput{Reason: "incident over"}, &revoked)
	e.must(200, "GET", reqPath(r.ID), w.approver.token, nil, &one)
	if one.EndedBy != w.opAdmin.ID || one.EndedByName != w.opAdmin.DisplayName {
		t.Errorf("ended by %s %q, want %s %q", one.EndedBy, one.EndedByName, w.opAdmin.ID, w.opAdmin.DisplayName)
	}

	// Names are not stored: the log's events of the request carry ids only.
	for _, ev := range e.events(w.tenant.ID) {
		if ev.RequestID == r.ID && (strings.Contains(string(ev.Data), "requester_name") || strings.Contains(string(ev.Data), "reviewer_name") || strings.Contains(string(ev.Data), "ended_by_name")) {
			t.Errorf("event %s stores a name: %s", ev.Type, ev.Data)
		}
	}
}
