package httpapi_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/lockbox-dev/lockbox"
)

// Invariant 9: bad input gets a 4xx with a clear message and changes
// nothing.

// checkErrorShape checks that an answer is {"error":{"code","message"}}
// with the code and a non-empty message.
func checkErrorShape(t *testing.T, r resp, code lockbox.ErrorCode) {
	t.Helper()
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type %q, want application/json", ct)
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(r.Body, &top); err != nil {
		t.Fatalf("error answer is not a JSON object: %s", r.Body)
	}
	if len(top) != 1 || top["error"] == nil {
		t.Errorf("error answer has keys %v, want only \"error\": %s", sortedKeys(top), r.Body)
	}
	var detail map[string]json.RawMessage
	if err := json.Unmarshal(top["error"], &detail); err != nil {
		t.Fatalf("\"error\" is not an object: %s", r.Body)
	}
	var got lockbox.ErrorDetail
	_ = json.Unmarshal(top["error"], &got)
	if detail["code"] == nil || detail["message"] == nil || strings.TrimSpace(got.Message) == "" {
		t.Errorf("error without code or message: %s", r.Body)
	}
	if code != "" && got.Code != code {
		t.Errorf("error code %q, want %q: %s", got.Code, code, r.Body)
	}
}

func sortedKeys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// withAuth sends a request with a raw Authorization header ("" for none).
func (e *env) withAuth(method, path, auth string, body string) resp {
	e.t.Helper()
	req, err := http.NewRequest(method, e.http.URL+path, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	res, err := e.http.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	r := resp{Status: res.StatusCode, Body: b, Header: res.Header}
	e.checkContract(req, []byte(body), r)
	return r
}

// jsonWith returns base with fields set (nil deletes a field), as JSON.
func jsonWith(base map[string]any, fields map[string]any) string {
	m := map[string]any{}
	for k, v := range base {
		m[k] = v
	}
	for k, v := range fields {
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
	}
	b, err := json.Marshal(m)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func TestBadInputChangesNothing(t *testing.T) {
	e := newEnv(t)
	w := e.newWorld("BadInput")
	pending := e.pendingCustomer(w)
	approved := e.approvedRequest(w, w.ticket.ID, "2h")
	tid := string(w.tenant.ID)

	// state is everything a bad call might touch, as the API shows it.
	state := func() string {
		t.Helper()
		var b strings.Builder
		evs := e.events(w.tenant.ID)
		fmt.Fprintf(&b, "events %d\n", len(evs))
		for _, p := range []struct{ path, token string }{
			{reqPath(pending.ID), w.engineer.token},
			{reqPath(approved.ID), w.engineer.token},
			{"/v1/tenants/" + tid + "/lockbox", w.customerAdmin.token},
			{"/v1/tenants/" + tid, w.customerAdmin.token},
			{"/v1/tickets/" + string(w.ticket.ID), w.member.token},
			{"/v1/tickets?page_size=1000", w.member.token},
			{"/v1/requests?page_size=1000&tenant_id=" + tid, w.opAdmin.token},
			{"/v1/users?page_size=1000", e.admin},
			{"/v1/tenants?page_size=1000", e.admin},
		} {
			b.Write(e.must(200, "GET", p.path, p.token, nil, nil).Body)
		}
		return b.String()
	}

	ticket := map[string]any{"tenant_id": tid, "title": "Printer on fire", "description": "smoke", "severity": 2}
	request := map[string]any{"ticket_id": string(w.ticket.ID), "resources": []string{"mailbox:alice"}, "access_level": "read",
		"reason_type": "customer_initiated_support", "justification": "look at the mail flow", "duration": "1h"}
	customerUser := map[string]any{"email": "new.user@example.com", "display_name": "New", "kind": "customer", "tenant_id": tid,
		"roles": []string{"member"}, "password": "long enough password"}
	many := func(n int) []string {
		var out []string
		for i := range n {
			out = append(out, fmt.Sprintf("mailbox:u%d", i))
		}
		return out
	}
	long := func(n int) string { return strings.Repeat("x", n) }

	const (
		bad     = lockbox.CodeBadRequest
		invalid = lockbox.CodeInvalid
		nf      = lockbox.CodeNotFound
		forbid  = lockbox.CodeForbidden
	)
	lockboxPath := "/v1/tenants/" + tid + "/lockbox"
	cases := []struct {
		name         string
		method, path string
		token        string
		body         string
		status       int
		code         lockbox.ErrorCode
	}{
		// Malformed JSON: 400.
		{"ticket_unknown_field", "POST", "/v1/tickets", w.member.token, jsonWith(ticket, map[string]any{"colour": "red"}), 400, bad},
		{"ticket_severity_as_string", "POST", "/v1/tickets", w.member.token, jsonWith(ticket, map[string]any{"severity": "2"}), 400, bad},
		{"ticket_severity_fraction", "POST", "/v1/tickets", w.member.token, jsonWith(ticket, map[string]any{"severity": 2.5}), 400, bad},
		{"ticket_array_body", "POST", "/v1/tickets", w.member.token, `[` + jsonWith(ticket, nil) + `]`, 400, bad},
		{"ticket_string_body", "POST", "/v1/tickets", w.member.token, `"hello"`, 400, bad},
		{"ticket_null_body", "POST", "/v1/tickets", w.member.token, `null`, 400, bad},
		{"ticket_number_body", "POST", "/v1/tickets", w.member.token, `42`, 400, bad},
		{"ticket_trailing_garbage", "POST", "/v1/tickets", w.member.token, jsonWith(ticket, nil) + ` trailing`, 400, bad},
		{"ticket_two_objects", "POST", "/v1/tickets", w.member.token, jsonWith(ticket, nil) + `{}`, 400, bad},
		{"ticket_truncated_json", "POST", "/v1/tickets", w.member.token, `{"tenant_id":"` + tid + `","title":`, 400, bad},
		{"ticket_unquoted_keys", "POST", "/v1/tickets", w.member.token, `{title: "x"}`, 400, bad},
		{"request_resources_as_string", "POST", "/v1/requests", w.engineer.token, jsonWith(request, map[string]any{"resources": "mailbox:alice"}), 400, bad},
		{"request_unknown_field", "POST", "/v1/requests", w.engineer.token, jsonWith(request, map[string]any{"scope": "all"}), 400, bad},
		{"request_numeric_duration", "POST", "/v1/requests", w.engineer.token, jsonWith(request, map[string]any{"duration": 3600}), 400, bad},
		{"request_unparsable_duration", "POST", "/v1/requests", w.engineer.token, jsonWith(request, map[string]any{"duration": "soon"}), 400, bad},
		{"approve_reason_as_number", "POST", reqPath(pending.ID, "approve"), w.approver.token, `{"reason": 5}`, 400, bad},
		{"approve_trailing_garbage", "POST", reqPath(pending.ID, "approve"), w.approver.token, `{"reason":"ok"} x`, 400, bad},
		{"approve_unknown_field", "POST", reqPath(pending.ID, "approve"), w.approver.token, `{"reason":"ok","approvals":2}`, 400, bad},
		{"cancel_non_empty_body", "POST", reqPath(pending.ID, "cancel"), w.engineer.token, `{"force":true}`, 400, bad},
		{"lockbox_enabled_as_string", "PATCH", lockboxPath, w.customerAdmin.token, `{"enabled":"false"}`, 400, bad},
		{"lockbox_approvals_as_string", "PATCH", lockboxPath, w.customerAdmin.token, `{"approvals_required":"2"}`, 400, bad},
		{"lockbox_unknown_field", "PATCH", lockboxPath, w.customerAdmin.token, `{"enable":false}`, 400, bad},
		{"user_roles_as_string", "POST", "/v1/users", w.customerAdmin.token, jsonWith(customerUser, map[string]any{"roles": "member"}), 400, bad},
		{"body_over_1MiB", "POST", reqPath(pending.ID, "deny"), w.approver.token, `{"reason":"` + long(1<<20+10) + `"}`, 400, ""},

		// Well-formed but invalid: 422.
		{"ticket_title_201", "POST", "/v1/tickets", w.member.token, jsonWith(ticket, map[string]any{"title": long(201)}), 422, invalid},
		{"ticket_title_empty", "POST", "/v1/tickets", w.member.token, jsonWith(ticket, map[string]any{"title": "  "}), 422, invalid},
		{"ticket_title_two_lines", "POST", "/v1/tickets", w.member.token, jsonWith(ticket, map[string]any{"title": "a\nb"}), 422, invalid},
		{"ticket_description_10001", "POST", "/v1/tickets", w.member.token, jsonWith(ticket, map[string]any{"description": long(10001)}), 422, invalid},
		{"ticket_severity_0", "POST", "/v1/tickets", w.member.token, jsonWith(ticket, map[string]any{"severity": 0}), 422, invalid},
		{"ticket_severity_5", "POST", "/v1/tickets", w.member.token, jsonWith(ticket, map[string]any{"severity": 5}), 422, invalid},
		{"ticket_no_tenant", "POST", "/v1/tickets", w.opAdmin.token, jsonWith(ticket, map[string]any{"tenant_id": nil}), 422, invalid},
		{"request_justification_10001", "POST", "/v1/requests", w.engineer.token, jsonWith(request, map[string]any{"justification": long(10001)}), 422, invalid},
		{"request_justification_empty", "POST", "/v1/requests", w.engineer.token, jsonWith(request, map[string]any{"justification": ""}), 422, invalid},
		{"request_negative_duration", "POST", "/v1/requests", w.engineer.token, jsonWith(request, map[string]any{"duration": "-1h"}), 422, invalid},
		{"request_zero_duration", "POST", "/v1/requests", w.engineer.token, jsonWith(request, map[string]any{"duration": "0s"}), 422, invalid},
		{"request_huge_duration", "POST", "/v1/requests", w.engineer.token, jsonWith(request, map[string]any{"duration": "100000h"}), 422, invalid},
		{"request_no_duration", "POST", "/v1/requests", w.engineer.token, jsonWith(request, map[string]any{"duration": nil}), 422, invalid},
		{"request_bad_access_level", "POST", "/v1/requests", w.engineer.token, jsonWith(request, map[string]any{"access_level": "root"}), 422, invalid},
		{"request_bad_reason_type", "POST", "/v1/requests", w.engineer.token, jsonWith(request, map[string]any{"reason_type": "because"}), 422, invalid},
		{"request_empty_resources", "POST", "/v1/requests", w.engineer.token, jsonWith(request, map[string]any{"resources": []string{}}), 422, invalid},
		{"request_no_resources", "POST", "/v1/requests", w.engineer.token, jsonWith(request, map[string]any{"resources": nil}), 422, invalid},
		{"request_duplicate_resources", "POST", "/v1/requests", w.engineer.token, jsonWith(request, map[string]any{"resources": []string{"mailbox:a", "mailbox:a"}}), 422, invalid},
		{"request_101_resources", "POST", "/v1/requests", w.engineer.token, jsonWith(request, map[string]any{"resources": many(101)}), 422, invalid},
		{"request_blank_resource", "POST", "/v1/requests", w.engineer.token, jsonWith(request, map[string]any{"resources": []string{" "}}), 422, invalid},
		{"request_resource_with_space", "POST", "/v1/requests", w.engineer.token, jsonWith(request, map[string]any{"resources": []string{"mailbox:a b"}}), 422, invalid},
		{"request_unknown_ticket", "POST", "/v1/requests", w.engineer.token, jsonWith(request, map[string]any{"ticket_id": "tkt_doesnotexist"}), 422, invalid},
		{"approve_longer_than_requested", "POST", reqPath(pending.ID, "approve"), w.approver.token, `{"reason":"ok","duration":"3h"}`, 422, invalid},
		{"approve_zero_duration", "POST", reqPath(pending.ID, "approve"), w.approver.token, `{"reason":"ok","duration":"0s"}`, 422, invalid},
		{"approve_negative_duration", "POST", reqPath(pending.ID, "approve"), w.approver.token, `{"reason":"ok","duration":"-5m"}`, 422, invalid},
		{"deny_without_reason", "POST", reqPath(pending.ID, "deny"), w.approver.token, `{}`, 422, invalid},
		{"deny_reason_10001", "POST", reqPath(pending.ID, "deny"), w.approver.token, `{"reason":"` + long(10001) + `"}`, 422, invalid},
		{"revoke_without_reason", "POST", reqPath(approved.ID, "revoke"), w.approver.token, `{"reason":" "}`, 422, invalid},
		{"lockbox_pending_ttl_0s", "PATCH", lockboxPath, w.customerAdmin.token, `{"pending_ttl":"0s"}`, 422, invalid},
		{"lockbox_pending_ttl_negative", "PATCH", lockboxPath, w.customerAdmin.token, `{"pending_ttl":"-1h"}`, 422, invalid},
		{"lockbox_pending_ttl_huge", "PATCH", lockboxPath, w.customerAdmin.token, `{"pending_ttl":"100000h"}`, 422, invalid},
		{"lockbox_max_access_0s", "PATCH", lockboxPath, w.customerAdmin.token, `{"max_access_duration":"0s"}`, 422, invalid},
		{"lockbox_approvals_0", "PATCH", lockboxPath, w.customerAdmin.token, `{"approvals_required":0}`, 422, invalid},
		{"lockbox_approvals_11", "PATCH", lockboxPath, w.customerAdmin.token, `{"approvals_required":11}`, 422, invalid},
		{"lockbox_webhook_http", "PATCH", lockboxPath, w.customerAdmin.token, `{"webhooks":[{"url":"http://hooks.example.com/x"}]}`, 422, invalid},
		{"lockbox_webhook_not_url", "PATCH", lockboxPath, w.customerAdmin.token, `{"webhooks":[{"url":"not a url"}]}`, 422, invalid},
		{"lockbox_webhook_no_host", "PATCH", lockboxPath, w.customerAdmin.token, `{"webhooks":[{"url":"https://"}]}`, 422, invalid},
		{"lockbox_bad_email", "PATCH", lockboxPath, w.customerAdmin.token, `{"notification_emails":["not-an-address"]}`, 422, invalid},
		{"lockbox_valid_and_invalid_together", "PATCH", lockboxPath, w.customerAdmin.token, `{"enabled":false,"pending_ttl":"0s"}`, 422, invalid},
		{"user_bad_email", "POST", "/v1/users", w.customerAdmin.token, jsonWith(customerUser, map[string]any{"email": "nobody"}), 422, invalid},
		{"user_short_password", "POST", "/v1/users", w.customerAdmin.token, jsonWith(customerUser, map[string]any{"password": "short"}), 422, invalid},
		{"user_operator_role_for_customer", "POST", "/v1/users", w.customerAdmin.token, jsonWith(customerUser, map[string]any{"roles": []string{"engineer"}}), 422, invalid},
		{"user_no_roles", "POST", "/v1/users", w.customerAdmin.token, jsonWith(customerUser, map[string]any{"roles": []string{}}), 422, invalid},
		{"user_duplicate_role", "POST", "/v1/users", w.customerAdmin.token, jsonWith(customerUser, map[string]any{"roles": []string{"member", "member"}}), 422, invalid},
		{"user_groups_for_customer", "POST", "/v1/users", w.customerAdmin.token, jsonWith(customerUser, map[string]any{"groups": []string{"support-leads"}}), 422, invalid},
		{"user_bad_kind", "POST", "/v1/users", w.customerAdmin.token, jsonWith(customerUser, map[string]any{"kind": "robot"}), 422, invalid},
		{"user_existing_email_bad_role", "POST", "/v1/users", w.customerAdmin.token, jsonWith(customerUser, map[string]any{"email": w.member.Email, "roles": []string{"root"}}), 422, invalid},
		{"operator_user_customer_role", "POST", "/v1/users", e.admin, `{"email":"op@example.com","display_name":"Op","kind":"operator","roles":["lockbox_approver"],"password":"long enough password"}`, 422, invalid},
		{"operator_user_with_tenant", "POST", "/v1/users", e.admin, `{"email":"op@example.com","display_name":"Op","kind":"operator","tenant_id":"` + tid + `","roles":["engineer"],"password":"long enough password"}`, 422, invalid},
		{"operator_user_bad_group", "POST", "/v1/users", e.admin, `{"email":"op@example.com","display_name":"Op","kind":"operator","roles":["engineer"],"groups":["Support Leads"],"password":"long enough password"}`, 422, invalid},
		{"token_zero_lifetime", "POST", "/v1/users/" + string(w.approver.ID) + "/tokens", w.approver.token, `{"name":"x","expires_in":"0s"}`, 422, invalid},
		{"token_huge_lifetime", "POST", "/v1/users/" + string(w.approver.ID) + "/tokens", w.approver.token, `{"name":"x","expires_in":"100000h"}`, 422, invalid},
		{"token_no_name", "POST", "/v1/users/" + string(w.approver.ID) + "/tokens", w.approver.token, `{}`, 422, invalid},
		{"comment_empty", "POST", "/v1/tickets/" + string(w.ticket.ID) + "/comments", w.member.token, `{"body":""}`, 422, invalid},

		// Unknown ids: 404.
		{"get_unknown_request", "GET", "/v1/requests/req_doesnotexist", w.engineer.token, "", 404, nf},
		{"approve_unknown_request", "POST", "/v1/requests/req_doesnotexist/approve", w.approver.token, `{"reason":"ok"}`, 404, nf},
		{"revoke_unknown_request", "POST", "/v1/requests/req_doesnotexist/revoke", w.opAdmin.token, `{"reason":"ok"}`, 404, nf},
		{"get_unknown_ticket", "GET", "/v1/tickets/tkt_doesnotexist", w.member.token, "", 404, nf},
		{"resolve_unknown_ticket", "POST", "/v1/tickets/tkt_doesnotexist/resolve", w.member.token, "", 404, nf},
		{"comment_unknown_ticket", "POST", "/v1/tickets/tkt_doesnotexist/comments", w.member.token, `{"body":"hi"}`, 404, nf},
		{"get_unknown_tenant", "GET", "/v1/tenants/tnt_doesnotexist", e.admin, "", 404, nf},
		{"events_unknown_tenant", "GET", "/v1/tenants/tnt_doesnotexist/events", e.admin, "", 404, nf},
		{"lockbox_unknown_tenant", "GET", "/v1/tenants/tnt_doesnotexist/lockbox", e.admin, "", 404, nf},
		{"patch_lockbox_unknown_tenant", "PATCH", "/v1/tenants/tnt_doesnotexist/lockbox", w.customerAdmin.token, `{"enabled":false}`, 404, nf},
		{"ticket_unknown_tenant", "POST", "/v1/tickets", e.admin, jsonWith(ticket, map[string]any{"tenant_id": "tnt_doesnotexist"}), 404, nf},
		{"get_unknown_user", "GET", "/v1/users/usr_doesnotexist", e.admin, "", 404, nf},
		{"patch_unknown_user", "PATCH", "/v1/users/usr_doesnotexist", w.customerAdmin.token, `{"display_name":"x"}`, 404, nf},
		{"delete_unknown_user", "DELETE", "/v1/users/usr_doesnotexist", w.customerAdmin.token, "", 404, nf},
		{"token_unknown_user", "POST", "/v1/users/usr_doesnotexist/tokens", e.admin, `{"name":"x"}`, 404, nf},
		{"unknown_endpoint", "GET", "/v1/nothing-here", w.engineer.token, "", 404, nf},
		{"unknown_action", "POST", reqPath(pending.ID, "escalate"), w.engineer.token, "", 404, nf},

		// Query parameters.
		{"requests_unknown_param", "GET", "/v1/requests?colour=red", w.opAdmin.token, "", 400, bad},
		{"tickets_unknown_param", "GET", "/v1/tickets?tenantid=" + tid, w.member.token, "", 400, bad},
		{"request_get_unknown_param", "GET", reqPath(pending.ID) + "?verbose=1", w.engineer.token, "", 400, bad},
		{"approve_unknown_param", "POST", reqPath(pending.ID, "approve") + "?force=1", w.approver.token, `{"reason":"ok"}`, 400, bad},
		{"requests_page_size_0", "GET", "/v1/requests?page_size=0", w.opAdmin.token, "", 422, invalid},
		{"requests_page_size_1001", "GET", "/v1/requests?page_size=1001", w.opAdmin.token, "", 422, invalid},
		{"requests_page_size_x", "GET", "/v1/requests?page_size=x", w.opAdmin.token, "", 400, bad},
		{"tickets_page_size_0", "GET", "/v1/tickets?page_size=0", w.member.token, "", 422, invalid},
		{"users_page_size_1001", "GET", "/v1/users?page_size=1001", e.admin, "", 422, invalid},
		{"tenants_page_size_x", "GET", "/v1/tenants?page_size=x", e.admin, "", 400, bad},
		{"events_page_size_0", "GET", "/v1/tenants/" + tid + "/events?page_size=0", e.admin, "", 422, invalid},
		{"events_page_size_1001", "GET", "/v1/tenants/" + tid + "/events?page_size=1001", e.admin, "", 422, invalid},
		{"events_page_size_x", "GET", "/v1/tenants/" + tid + "/events?page_size=x", e.admin, "", 400, bad},
		{"events_after_x", "GET", "/v1/tenants/" + tid + "/events?after=x", e.admin, "", 400, bad},
		{"requests_page_token_garbage", "GET", "/v1/requests?page_token=garbage", w.opAdmin.token, "", 400, bad},
		{"tickets_page_token_garbage", "GET", "/v1/tickets?page_token=%25%25%25", w.member.token, "", 400, bad},
		{"users_page_token_garbage", "GET", "/v1/users?page_token=bm90IGEgdG9rZW4", e.admin, "", 400, bad},
		{"requests_bad_status", "GET", "/v1/requests?status=approvedish", w.opAdmin.token, "", 422, invalid},
		{"tickets_bad_status", "GET", "/v1/tickets?status=closed", w.member.token, "", 422, invalid},
		{"users_bad_kind", "GET", "/v1/users?kind=robot", e.admin, "", 422, invalid},

		// Not the caller's to change.
		{"bootstrap_admin_disables_lockbox", "PATCH", lockboxPath, e.admin, `{"enabled":false}`, 403, forbid},
		{"operator_admin_disables_lockbox", "PATCH", lockboxPath, w.opAdmin.token, `{"enabled":false}`, 403, forbid},
		{"engineer_disables_lockbox", "PATCH", lockboxPath, w.engineer.token, `{"enabled":false}`, 403, forbid},
		{"approver_disables_lockbox", "PATCH", lockboxPath, w.approver.token, `{"enabled":false}`, 403, forbid},
		{"operator_admin_sets_ttl", "PATCH", lockboxPath, w.opAdmin.token, `{"pending_ttl":"1m"}`, 403, forbid},
	}

	before := state()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := e.withT(t)
			var body any
			if c.body != "" {
				body = c.body
			}
			res := e.call(c.method, c.path, c.token, body)
			if res.Status != c.status && !(c.name == "body_over_1MiB" && res.Status == 413) {
				t.Errorf("%s %s: %d %.300s, want %d", c.method, c.path, res.Status, res.Body, c.status)
			} else {
				checkErrorShape(t, res, c.code)
			}
			if after := state(); after != before {
				t.Errorf("a refused call changed state:\nbefore %.3000s\nafter  %.3000s", before, after)
				before = after
			}
		})
	}
	t.Logf("%d bad-input cases", len(cases))

	t.Run("authentication", func(t *testing.T) {
		e := e.withT(t)
		for _, c := range []struct {
			name, auth string
		}{
			{"missing", ""},
			{"basic", "Basic dXNlcjpwYXNzd29yZA=="},
			{"bearer_without_token", "Bearer"},
			{"bearer_blank_token", "Bearer    "},
			{"unknown_token", "Bearer lbx_s_notarealtokenatall"},
			{"valid_token_wrong_scheme", "Token " + w.approver.token},
			{"valid_token_no_scheme", w.approver.token},
			{"bootstrap_token_wrong_scheme", "Basic " + bootstrapToken},
		} {
			for _, p := range []struct{ method, path, body string }{
				{"GET", "/v1/me", ""},
				{"GET", reqPath(pending.ID), ""},
				{"POST", reqPath(pending.ID, "approve"), `{"reason":"ok"}`},
				{"PATCH", lockboxPath, `{"enabled":false}`},
			} {
				res := e.withAuth(p.method, p.path, c.auth, p.body)
				if res.Status != 401 {
					t.Errorf("%s: %s %s: %d %s, want 401", c.name, p.method, p.path, res.Status, res.Body)
					continue
				}
				checkErrorShape(t, res, lockbox.CodeUnauthenticated)
				if res.Header.Get("WWW-Authenticate") == "" {
					t.Errorf("%s: 401 without WWW-Authenticate", c.name)
				}
			}
		}
		for _, c := range []struct {
			name   string
			body   string
			status int
			code   lockbox.ErrorCode
		}{
			{"login_wrong_password", `{"email":"` + w.member.Email + `","password":"not the password"}`, 401, lockbox.CodeUnauthenticated},
			{"login_unknown_user", `{"email":"nobody@example.com","password":"not the password"}`, 401, lockbox.CodeUnauthenticated},
			{"login_no_password", `{"email":"` + w.member.Email + `"}`, 400, lockbox.CodeBadRequest},
			{"login_unknown_field", `{"email":"` + w.member.Email + `","password":"x","remember":true}`, 400, lockbox.CodeBadRequest},
			{"login_wrong_otp", `{"email":"` + w.member.Email + `","password":"` + w.member.password + `","otp":"12345"}`, 401, lockbox.CodeUnauthenticated},
		} {
			res := e.withAuth("POST", "/v1/auth/login", "", c.body)
			if res.Status != c.status {
				t.Errorf("%s: %d %s, want %d", c.name, res.Status, res.Body, c.status)
				continue
			}
			checkErrorShape(t, res, c.code)
		}
		if after := state(); after != before {
			t.Errorf("refused authentication changed state")
		}
	})
}

// TestWrongMethodAndUnknownTenant: a wrong method on a known path is told
// 405 with the methods it allows, an unknown path 404; a list filtered by a
// tenant that does not exist answers 404 like every endpoint naming a
// tenant, not an empty list.
func TestWrongMethodAndUnknownTenant(t *testing.T) {
	e := newEnv(t)
	w := e.newWorld("WrongMethod")
	r := e.call("DELETE", "/v1/tenants", e.admin, nil)
	if r.Status != http.StatusMethodNotAllowed {
		t.Fatalf("DELETE /v1/tenants: %d %s, want 405", r.Status, r.Body)
	}
	checkErrorShape(t, r, "method_not_allowed")
	if allow := r.Header.Get("Allow"); !strings.Contains(allow, "GET") || !strings.Contains(allow, "POST") || strings.Contains(allow, "DELETE") {
		t.Errorf("Allow: %q, want GET and POST", allow)
	}
	if r := e.call("PUT", "/v1/requests/req_x/approve", w.approver.token, nil); r.Status != http.StatusMethodNotAllowed || r.Header.Get("Allow") != "POST" {
		t.Errorf("PUT approve: %d, Allow %q, want 405 and POST", r.Status, r.Header.Get("Allow"))
	}
	r = e.call("GET", "/v1/no-such-thing", e.admin, nil)
	checkErrorShape(t, r, lockbox.CodeNotFound)

	r = e.call("GET", "/v1/requests?tenant_id=tnt_unknown", w.opAdmin.token, nil)
	if r.Status != http.StatusNotFound {
		t.Fatalf("requests of an unknown tenant: %d %s, want 404", r.Status, r.Body)
	}
	checkErrorShape(t, r, lockbox.CodeNotFound)
	// A known tenant with no requests is an empty list, not 404.
	e.must(200, "GET", "/v1/requests?tenant_id="+string(w.tenant.ID), w.opAdmin.token, nil, nil)
}

// TestSettingsBounds: lockbox settings outside sane bounds are refused with
// the bounds in the message, and nothing changes.
func TestSettingsBounds(t *testing.T) {
	e := newEnv(t)
	w := e.newWorld("Bounds")
	path := "/v1/tenants/" + string(w.tenant.ID) + "/lockbox"
	before := e.call("GET", path, w.customerAdmin.token, nil).Body
	for _, body := range []map[string]any{
		{"pending_ttl": "1s"}, {"pending_ttl": "4m"}, {"pending_ttl": "721h"},
		{"max_access_duration": "30s"}, {"max_access_duration": "721h"},
	} {
		r := e.call("PATCH", path, w.customerAdmin.token, body)
		if r.Status != 422 {
			t.Errorf("%v: %d %s, want 422", body, r.Status, r.Body)
			continue
		}
		checkErrorShape(t, r, lockbox.CodeInvalid)
		var b lockbox.ErrorBody
		r.decode(t, &b)
		if !strings.Contains(b.Error.Message, " to 30 days") || !strings.Contains(b.Error.Message, "from ") {
			t.Errorf("%v: the message does not give the bounds: %q", body, b.Error.Message)
		}
	}
	if after := e.call("GET", path, w.customerAdmin.token, nil).Body; string(after) != string(before) {
		t.Errorf("refused settings changed them:\n%s\n%s", before, after)
	}
	e.must(200, "PATCH", path, w.customerAdmin.token, map[string]any{"pending_ttl": "5m", "max_access_duration": "1m"}, nil)
}
