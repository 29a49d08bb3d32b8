package main

import (
	"net/url"
	"strings"
	"testing"
)

// Canned answers.
const (
	tenantAns   = `{"id":"ten_1","name":"Acme","lockbox":{"enabled":true,"approvals_required":1,"pending_ttl":"12h0m0s","max_access_duration":"8h0m0s","notification_emails":[],"webhooks":[]},"created_at":"2025-01-01T00:00:00Z"}`
	settingsAns = `{"enabled":false,"approvals_required":2,"pending_ttl":"1h0m0s","max_access_duration":"8h0m0s","notification_emails":["sec@acme.test"],"webhooks":[{"url":"https://hooks.acme.test/x"}]}`
	userAns     = `{"id":"usr_1","kind":"customer","email":"ann@acme.test","display_name":"Ann","tenant_id":"ten_1","roles":["tenant_admin"],"groups":[],"isolated":false,"totp_enabled":false,"created_at":"2025-01-01T00:00:00Z","updated_at":"2025-01-01T00:00:00Z"}`
	ticketAns   = `{"id":"tkt_1","tenant_id":"ten_1","title":"Mail lost","description":"Line one\nLine two","severity":2,"status":"open","created_by":"usr_1","created_at":"2025-01-01T00:00:00Z","updated_at":"2025-01-01T00:00:00Z",
		"comments":[{"id":"cmt_1","ticket_id":"tkt_1","author_id":"usr_e","body":"Looking into it","created_at":"2025-01-01T01:00:00Z"}],
		"history":[{"tenant_id":"ten_1","index":4,"id":"evt_4","type":"ticket.created","time":"2025-01-01T00:00:00Z","actor_id":"usr_1","ticket_id":"tkt_1"}]}`
	requestAns = `{"id":"req_1","tenant_id":"ten_1","ticket_id":"tkt_1","requester_id":"usr_e","resources":["mailbox:42","calendar:7"],
		"access_level":"read","reason_type":"customer_initiated_support","justification":"Restore the lost mail","requested_duration":"1h0m0s",
		"status":"approved","policy":{"allowed":true,"reasons":["capped at 8h"],"internal_approvals":[{"group":"support-leads","count":1}],
		"customer_approval_required":true,"max_duration":"8h0m0s","policies":["builtin/mfa-or-isolated","builtin/internal-approval"]},
		"reviews":[{"reviewer_id":"usr_l","stage":"internal","decision":"approve","reason":"ok","mfa":true,"created_at":"2025-01-02T03:01:00Z"},
		           {"reviewer_id":"usr_c","stage":"customer","decision":"approve","reason":"go ahead","duration":"30m0s","mfa":true,"created_at":"2025-01-02T03:02:00Z"}],
		"created_at":"2025-01-02T03:00:00Z","updated_at":"2025-01-02T03:02:00Z","decision_deadline":"2025-01-02T15:00:00Z",
		"granted_duration":"30m0s","access_starts_at":"2025-01-02T03:02:00Z","access_expires_at":"2025-01-02T03:32:00Z"}`
	meAns     = meAnswer
	policyAns = `{"source":"/etc/lockbox/policy.cedar","sha256":"9f2c","policies":["mfa-required","support-lead-approves"],"loaded_at":"2025-01-02T03:00:00Z"}`
)

// TestCommandRequests checks the API request every command sends and a
// piece of what it prints.
func TestCommandRequests(t *testing.T) {
	const tok = "lbx_t_test"
	tests := []struct {
		args []string
		ex   exchange
		want []string // substrings of stdout
	}{
		{[]string{"tenant", "create", "Acme"},
			exchange{method: "POST", path: "/v1/tenants", body: `{"name":"Acme"}`, status: 201, answer: tenantAns},
			[]string{"ten_1", "Lockbox enabled:", "12h"}},
		{[]string{"tenant", "list"},
			exchange{method: "GET", path: "/v1/tenants", answer: `{"items":[` + tenantAns + `]}`},
			[]string{"ID", "LOCKBOX", "ten_1", "Acme", "on"}},
		{[]string{"tenant", "show", "ten_1"},
			exchange{method: "GET", path: "/v1/tenants/ten_1", answer: tenantAns},
			[]string{"Name:", "Acme"}},
		{[]string{"lockbox", "show", "ten_1"},
			exchange{method: "GET", path: "/v1/tenants/ten_1/lockbox", answer: settingsAns},
			[]string{"Approvals required:", "sec@acme.test", "https://hooks.acme.test/x"}},
		{[]string{"lockbox", "set", "ten_1", "--enabled=false", "--approvals-required", "2", "--pending-ttl", "1h",
			"--notification-email", "sec@acme.test", "--webhook", "https://hooks.acme.test/x"},
			exchange{method: "PATCH", path: "/v1/tenants/ten_1/lockbox", answer: settingsAns,
				body: `{"enabled":false,"approvals_required":2,"pending_ttl":"1h0m0s","notification_emails":["sec@acme.test"],"webhooks":[{"url":"https://hooks.acme.test/x"}]}`},
			[]string{"Enabled:", "no"}},
		{[]string{"lockbox", "set", "ten_1", "--webhook=", "--max-access-duration", "90m"},
			exchange{method: "PATCH", path: "/v1/tenants/ten_1/lockbox", answer: settingsAns,
				body: `{"max_access_duration":"1h30m0s","webhooks":[]}`}, nil},
		{[]string{"lockbox", "webhook", "rotate", "ten_1", "https://hooks.acme.test/x"},
			exchange{method: "POST", path: "/v1/tenants/ten_1/lockbox/webhooks/rotate", answer: `{"url":"https://hooks.acme.test/x","secret":"whsec_new"}`,
				body: `{"url":"https://hooks.acme.test/x"}`},
			[]string{"shown once", "https://hooks.acme.test/x", "whsec_new"}},
		{[]string{"user", "invite", "--email", "ann@acme.test", "--name", "Ann", "--tenant", "ten_1", "--role", "tenant_admin"},
			exchange{method: "POST", path: "/v1/users", status: 201, answer: userAns,
				body: `{"email":"ann@acme.test","display_name":"Ann","kind":"customer","tenant_id":"ten_1","roles":["tenant_admin"]}`},
			[]string{"usr_1", "tenant_admin", "Invited: ann@acme.test"}},
		{[]string{"user", "create", "--email", "eve@op.test", "--name", "Eve", "--role", "engineer", "--group", "support,oncall", "--group", "dba",
			"--isolated"},
			exchange{method: "POST", path: "/v1/users", status: 201, answer: userAns,
				body: `{"email":"eve@op.test","display_name":"Eve","kind":"operator","roles":["engineer"],"groups":["support","oncall","dba"],"isolated":true}`},
			nil},
		{[]string{"user", "reinvite", "usr_1"},
			exchange{method: "POST", path: "/v1/users/usr_1/invitation", body: `{}`, answer: userAns}, []string{"Invited again"}},
		{[]string{"user", "revoke-invitation", "usr_1"},
			exchange{method: "DELETE", path: "/v1/users/usr_1/invitation", status: 204}, []string{"Withdrew the invitation of user usr_1."}},
		{[]string{"user", "list", "--tenant", "ten_1", "--kind", "customer"},
			exchange{method: "GET", path: "/v1/users", query: url.Values{"tenant_id": {"ten_1"}, "kind": {"customer"}}, answer: `{"items":[` + userAns + `]}`},
			[]string{"EMAIL", "ann@acme.test"}},
		{[]string{"user", "show", "usr_1"},
			exchange{method: "GET", path: "/v1/users/usr_1", answer: userAns}, []string{"Email:", "ann@acme.test"}},
		{[]string{"user", "update", "usr_1", "--role", "member", "--isolated=false"},
			exchange{method: "PATCH", path: "/v1/users/usr_1", body: `{"roles":["member"],"isolated":false}`, answer: userAns}, nil},
		{[]string{"user", "update", "usr_1", "--name", "Ann B.", "--password", "another long pw", "--current-password", "the old long pw"},
			exchange{method: "PATCH", path: "/v1/users/usr_1", body: `{"display_name":"Ann B.","password":"another long pw","current_password":"the old long pw"}`, answer: userAns}, nil},
		{[]string{"user", "delete", "usr_1"},
			exchange{method: "DELETE", path: "/v1/users/usr_1", status: 204}, []string{"Deleted user usr_1."}},
		{[]string{"user", "token", "usr_1", "--name", "gw", "--expires-in", "24h"},
			exchange{method: "POST", path: "/v1/users/usr_1/tokens", status: 201, body: `{"name":"gw","expires_in":"24h0m0s"}`,
				answer: `{"id":"cred_1","token":"lbx_t_new","expires_at":"2025-01-02T00:00:00Z"}`},
			[]string{"lbx_t_new", "shown only now"}},
		{[]string{"ticket", "create", "--tenant", "ten_1", "--title", "Mail lost", "--description", "d", "--severity", "2", "--assignee", "usr_e"},
			exchange{method: "POST", path: "/v1/tickets", status: 201, answer: ticketAns,
				body: `{"tenant_id":"ten_1","title":"Mail lost","description":"d","severity":2,"assignee_id":"usr_e"}`},
			[]string{"tkt_1"}},
		{[]string{"ticket", "list", "--tenant", "ten_1", "--status", "open"},
			exchange{method: "GET", path: "/v1/tickets", query: url.Values{"tenant_id": {"ten_1"}, "status": {"open"}}, answer: `{"items":[` + ticketAns + `]}`},
			[]string{"SEV", "Mail lost"}},
		{[]string{"ticket", "comment", "tkt_1", "hello there"},
			exchange{method: "POST", path: "/v1/tickets/tkt_1/comments", status: 201, body: `{"body":"hello there"}`,
				answer: `{"id":"cmt_2","ticket_id":"tkt_1","author_id":"usr_1","body":"hello there","created_at":"2025-01-01T00:00:00Z"}`},
			[]string{"cmt_2"}},
		{[]string{"ticket", "resolve", "tkt_1"},
			exchange{method: "POST", path: "/v1/tickets/tkt_1/resolve", body: `{}`, answer: ticketAns}, nil},
		{[]string{"request", "create", "--ticket", "tkt_1", "--resource", "mailbox:42", "--resource", "calendar:7,8", "--level", "read",
			"--reason-type", "customer_initiated_support", "--justification", "Restore the lost mail", "--duration", "1h"},
			exchange{method: "POST", path: "/v1/requests", status: 201, answer: requestAns,
				body: `{"ticket_id":"tkt_1","resources":["mailbox:42","calendar:7,8"],"access_level":"read","reason_type":"customer_initiated_support","justification":"Restore the lost mail","duration":"1h0m0s"}`},
			[]string{"req_1", "Policy decision:"}},
		{[]string{"request", "list", "--tenant", "ten_1", "--status", "approved", "--ticket", "tkt_1", "--requester", "usr_e", "--page-size", "2", "--page-token", "tok"},
			exchange{method: "GET", path: "/v1/requests", answer: `{"items":[` + requestAns + `]}`,
				query: url.Values{"tenant_id": {"ten_1"}, "status": {"approved"}, "ticket_id": {"tkt_1"}, "requester_id": {"usr_e"},
					"page_size": {"2"}, "page_token": {"tok"}}},
			[]string{"req_1"}},
		{[]string{"policy", "show"},
			exchange{method: "GET", path: "/v1/admin/policy", answer: policyAns}, []string{"Source:", "/etc/lockbox/policy.cedar", "mfa-required, support-lead-approves"}},
		{[]string{"policy", "reload"},
			exchange{method: "POST", path: "/v1/admin/policy/reload", body: `{}`, answer: policyAns}, []string{"SHA-256:", "9f2c"}},
		{[]string{"request", "approve", "req_1", "--reason", "go ahead", "--duration", "30m"},
			exchange{method: "POST", path: "/v1/requests/req_1/approve", body: `{"reason":"go ahead","duration":"30m0s"}`, answer: requestAns}, nil},
		{[]string{"request", "approve", "req_1", "--reason", "ok"},
			exchange{method: "POST", path: "/v1/requests/req_1/approve", body: `{"reason":"ok"}`, answer: requestAns}, nil},
		{[]string{"request", "deny", "req_1", "--reason", "not now"},
			exchange{method: "POST", path: "/v1/requests/req_1/deny", body: `{"reason":"not now"}`, answer: requestAns}, nil},
		{[]string{"request", "cancel", "req_1"},
			exchange{method: "POST", path: "/v1/requests/req_1/cancel", body: `{}`, answer: requestAns}, nil},
		{[]string{"request", "complete", "req_1"},
			exchange{method: "POST", path: "/v1/requests/req_1/complete", body: `{}`, answer: requestAns}, nil},
		{[]string{"request", "revoke", "req_1", "--reason", "done"},
			exchange{method: "POST", path: "/v1/requests/req_1/revoke", body: `{"reason":"done"}`, answer: requestAns}, nil},
		{[]string{"events", "ten_1", "--after", "0", "--type", "request.approved"},
			exchange{method: "GET", path: "/v1/tenants/ten_1/events", query: url.Values{"after": {"0"}, "type": {"request.approved"}},
				answer: `{"items":[{"tenant_id":"ten_1","index":1,"id":"evt_1","type":"request.approved","time":"2025-01-01T00:00:00Z","request_id":"req_1","data":{"by":"usr_c"}}]}`},
			[]string{"INDEX", "request.approved", "req_1", `{"by":"usr_c"}`}},
		{[]string{"events", "ten_1"},
			exchange{method: "GET", path: "/v1/tenants/ten_1/events", answer: `{"items":[]}`}, []string{"INDEX"}},
		{[]string{"totp", "enrol"},
			exchange{method: "POST", path: "/v1/me/totp", body: `{}`, status: 201, answer: `{"secret":"JBSWY3DPEHPK3PXP","otpauth_url":"otpauth://totp/x"}`},
			[]string{"JBSWY3DPEHPK3PXP", "otpauth://totp/x", "totp verify"}},
		{[]string{"totp", "verify", "123456"},
			exchange{method: "POST", path: "/v1/me/totp/verify", body: `{"code":"123456"}`, answer: meAns}, []string{"TOTP is on"}},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			api := newFakeAPI(t)
			h := newHarness(t)
			h.env["LOCKBOX_SERVER"] = api.srv.URL
			h.env["LOCKBOX_TOKEN"] = tok
			tt.ex.token = tok
			api.expect(tt.ex)
			out := h.ok(tt.args...)
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
		})
	}
}
