package main

import (
	"strings"
	"testing"
)

// TestRequestShowPrintsDeliveries: `request show` prints the request, then
// the delivery history of its notifications, with every attempt of a
// delivery that needed more than one.
func TestRequestShowPrintsDeliveries(t *testing.T) {
	const tok = "lbx_t_test"
	api := newFakeAPI(t)
	h := newHarness(t)
	h.env["LOCKBOX_SERVER"] = api.srv.URL
	h.env["LOCKBOX_TOKEN"] = tok
	api.expect(
		exchange{method: "GET", path: "/v1/requests/req_1", answer: requestAns, token: tok},
		exchange{method: "GET", path: "/v1/requests/req_1/notifications", token: tok, answer: `{"items":[
			{"id":"ntf_1","tenant_id":"ten_1","request_id":"req_1","kind":"approval_needed","channel":"email","recipient":"bob@acme.example",
			 "status":"delivered","attempts":2,"created_at":"2025-01-01T00:00:00Z","delivered_at":"2025-01-01T00:00:30Z",
			 "history":[{"at":"2025-01-01T00:00:10Z","error":"SMTP smtp.acme.example:587: connection refused"},{"at":"2025-01-01T00:00:30Z"}]},
			{"id":"ntf_2","tenant_id":"ten_1","request_id":"req_1","kind":"event","channel":"webhook","target":"tenant","recipient":"https://hooks.acme.example/…",
			 "status":"pending","attempts":1,"last_error":"POST https://hooks.acme.example/…: HTTP 503","created_at":"2025-01-01T00:00:00Z",
			 "next_attempt_at":"2025-01-01T00:00:20Z","history":[{"at":"2025-01-01T00:00:10Z","error":"HTTP 503"}]}]}`},
	)
	out := h.ok("request", "show", "req_1")
	for _, want := range []string{"Reviews:", "builtin/mfa-or-isolated, builtin/internal-approval",
		"Notifications:", "bob@acme.example", "approval_needed", "delivered", "next 2025-01-01T00:00:20Z", "HTTP 503",
		"Delivery attempts:", "connection refused"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}
