package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/lockbox-dev/lockbox"
)

// apiHarness is a harness with a fake API and an API token.
func apiHarness(t *testing.T, ex ...exchange) *harness {
	api := newFakeAPI(t)
	h := newHarness(t)
	h.env["LOCKBOX_SERVER"] = api.srv.URL
	h.env["LOCKBOX_TOKEN"] = "tok"
	for i := range ex {
		ex[i].token = "tok"
	}
	api.expect(ex...)
	return h
}

func TestRequestListTable(t *testing.T) {
	h := apiHarness(t, exchange{method: "GET", path: "/v1/requests", query: url.Values{"status": {"approved"}, "page_size": {"1"}},
		answer: `{"items":[` + requestAns + `],"next_page_token":"abc def"}`})
	got := h.ok("--profile", "lead", "request", "list", "--status", "approved", "--page-size", "1")
	want := `ID     STATUS    TENANT  TICKET  LEVEL  RESOURCES              DURATION  REQUESTER  CREATED               EXPIRES
req_1  approved  ten_1   tkt_1   read   mailbox:42,calendar:7  30m       usr_e      2025-01-02T03:00:00Z  2025-01-02T03:32:00Z
next page: lockbox request list --page-size=1 --profile=lead --status=approved --page-token='abc def'
`
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

func TestNextPageCommandOmitsToken(t *testing.T) {
	h := apiHarness(t, exchange{method: "GET", path: "/v1/tenants/ten_1/events", query: url.Values{"page_token": {"5"}, "type": {"x y"}},
		answer: `{"items":[],"next_page_token":"9"}`})
	out := h.ok("events", "ten_1", "--token", "tok", "--page-token", "5", "--type", "x y")
	if !strings.HasSuffix(out, "next page: lockbox events ten_1 --type='x y' --page-token=9\n") {
		t.Errorf("got %q", out)
	}
}

// TestEventsTableNamesActors (issue 19, newcomer item 7): the events table's
// ACTOR column shows the name the server gives, and the id only when it
// gives none.
func TestEventsTableNamesActors(t *testing.T) {
	h := apiHarness(t, exchange{method: "GET", path: "/v1/tenants/ten_1/events", answer: `{"items":[` +
		`{"tenant_id":"ten_1","index":1,"id":"evt_1","type":"request.created","time":"2025-01-01T00:00:00Z","actor_id":"usr_eve","actor_name":"Eve Engineer","request_id":"req_1"},` +
		`{"tenant_id":"ten_1","index":2,"id":"evt_2","type":"request.reviewed","time":"2025-01-01T00:01:00Z","actor_id":"usr_gone","request_id":"req_1"}]}`})
	out := h.ok("events", "ten_1")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 {
		t.Fatalf("want a header and two rows:\n%s", out)
	}
	if !strings.Contains(lines[1], "Eve Engineer") || strings.Contains(lines[1], "usr_eve") {
		t.Errorf("the first row does not name its actor:\n%s", out)
	}
	if !strings.Contains(lines[2], "usr_gone") {
		t.Errorf("an actor without a name does not fall back to its id:\n%s", out)
	}
}

func TestPendingRequestExpiresAtDeadline(t *testing.T) {
	pending := strings.Replace(requestAns, `"status":"approved"`, `"status":"pending_customer"`, 1)
	h := apiHarness(t, exchange{method: "GET", path: "/v1/requests", answer: `{"items":[` + pending + `]}`})
	out := h.ok("request", "list")
	if !strings.Contains(out, "pending_customer") || !strings.Contains(out, "2025-01-02T15:00:00Z") {
		t.Errorf("pending request should show its decision deadline:\n%s", out)
	}
}

// TestJSONOutputIsTheObject checks -o json prints the API's object and list
// as they are, field for field.
func TestJSONOutputIsTheObject(t *testing.T) {
	var r lockbox.AccessRequest
	if err := json.Unmarshal([]byte(requestAns), &r); err != nil {
		t.Fatal(err)
	}
	canonical, _ := json.Marshal(&r)
	list := `{"items":[` + string(canonical) + `],"next_page_token":"n1"}`
	h := apiHarness(t,
		exchange{method: "GET", path: "/v1/requests/req_1", answer: string(canonical)},
		exchange{method: "GET", path: "/v1/requests", answer: list},
	)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-o", "json", "request", "show", "req_1"}, string(canonical)},
		{[]string{"request", "list", "--output=json"}, list},
	} {
		out := h.ok(tc.args...)
		var want bytes.Buffer
		json.Indent(&want, []byte(tc.want), "", "  ")
		want.WriteString("\n")
		if out != want.String() {
			t.Errorf("%v:\ngot\n%s\nwant\n%s", tc.args, out, want.String())
		}
	}
}

func TestTerminalEscapesAreStripped(t *testing.T) {
	evil := strings.NewReplacer(`"title":"Mail lost"`, `"title":"\u001b]0;pwned\u0007Mail\u001b[31m lost\u202e"`,
		`"body":"Looking into it"`, `"body":"ok\u001b[2J\nnext line\r\nthird"`).Replace(ticketAns)
	h := apiHarness(t,
		exchange{method: "GET", path: "/v1/tickets/tkt_1", answer: evil},
		exchange{method: "GET", path: "/v1/tickets", answer: `{"items":[` + evil + `]}`},
	)
	for _, args := range [][]string{{"ticket", "show", "tkt_1"}, {"ticket", "list"}} {
		out := h.ok(args...)
		if strings.ContainsAny(out, "\x1b\x07\r\u202e") {
			t.Errorf("%v: control characters reach the terminal: %q", args, out)
		}
		if !strings.Contains(out, "Mail[31m lost") && !strings.Contains(out, "]0;pwnedMail") {
			t.Errorf("%v: text lost: %q", args, out)
		}
	}
}

func TestErrorPrinting(t *testing.T) {
	h := apiHarness(t,
		exchange{method: "POST", path: "/v1/requests/req_1/cancel", body: `{}`, status: 409,
			answer: `{"error":{"code":"conflict","message":"request req_1 is approved; only a pending request can be canceled"}}`},
		exchange{method: "POST", path: "/v1/requests", status: 422,
			body:   `{"ticket_id":"tkt_1","resources":["db:1"],"access_level":"admin","reason_type":"incident_response","justification":"j","duration":"1h0m0s"}`,
			answer: `{"error":{"code":"invalid","message":"the policy refused the request","details":["admin access needs an isolated identity","sign in with a one-time code"]}}`},
	)
	r := h.run("request", "cancel", "req_1")
	if r.code != 1 || r.stderr != "lockbox: 409 conflict: request req_1 is approved; only a pending request can be canceled\n" || r.stdout != "" {
		t.Errorf("exit %d, stderr %q, stdout %q", r.code, r.stderr, r.stdout)
	}
	r = h.run("request", "create", "--ticket", "tkt_1", "--resource", "db:1", "--level", "admin", "--reason-type", "incident_response",
		"--justification", "j", "--duration", "1h")
	want := "lockbox: 422 invalid: the policy refused the request\n  - admin access needs an isolated identity\n  - sign in with a one-time code\n"
	if r.code != 1 || r.stderr != want {
		t.Errorf("exit %d, stderr\n%s\nwant\n%s", r.code, r.stderr, want)
	}
}

func TestUnauthenticatedHint(t *testing.T) {
	api := newFakeAPI(t)
	h := newHarness(t)
	h.env["LOCKBOX_SERVER"] = api.srv.URL
	api.expect(
		exchange{method: "POST", path: "/v1/auth/login", token: "-", body: `{"email":"a@b.test","password":"password-1"}`,
			answer: loginAnswer("t1", "a@b.test", time.Now().Add(time.Hour))},
		exchange{method: "GET", path: "/v1/me", token: "t1", status: 401, answer: `{"error":{"code":"unauthenticated","message":"the session has ended"}}`},
	)
	h.ok("--profile", "cust", "login", "--email", "a@b.test", "--password", "password-1")
	r := h.fails("401 unauthenticated: the session has ended", "--profile", "cust", "whoami")
	if !strings.Contains(r.stderr, "lockbox --profile cust login") {
		t.Errorf("no sign-in hint: %q", r.stderr)
	}
}

func TestTOTPCode(t *testing.T) {
	h := newHarness(t)
	// RFC 6238 test vector: the SHA-1 secret "12345678901234567890" at T=59
	// gives 94287082, whose last six digits are the 6-digit code.
	h.now = time.Unix(59, 0)
	const secret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
	if out := h.ok("totp", "code", secret); out != "287082\n" {
		t.Errorf("totp code = %q", out)
	}
	h.env["LOCKBOX_TOTP_SECRET"] = strings.ToLower(secret)
	out := h.ok("-o", "json", "totp", "code")
	var v struct {
		Code       string
		ValidUntil time.Time `json:"valid_until"`
	}
	if err := json.Unmarshal([]byte(out), &v); err != nil || v.Code != "287082" || !v.ValidUntil.Equal(time.Unix(60, 0)) {
		t.Errorf("totp code -o json = %s (%v)", out, err)
	}
	h.fails("not a base32 TOTP secret", "totp", "code", "not base32!")
}

func TestCell(t *testing.T) {
	ts := time.Date(2025, 1, 2, 3, 4, 5, 0, time.FixedZone("CET", 3600))
	d := lockbox.Duration(90 * time.Minute)
	for _, tc := range []struct {
		in   any
		want string
	}{
		{nil, "-"},
		{"", "-"},
		{"a\tb\nc", "a b c"},
		{ts, "2025-01-02T02:04:05Z"},
		{&ts, "2025-01-02T02:04:05Z"},
		{(*time.Time)(nil), "-"},
		{time.Time{}, "-"},
		{d, "1h30m"},
		{lockbox.Duration(time.Hour), "1h"},
		{lockbox.Duration(30 * time.Minute), "30m"},
		{lockbox.Duration(45 * time.Second), "45s"},
		{lockbox.Duration(90 * time.Second), "1m30s"},
		{lockbox.Duration(10 * time.Hour), "10h"},
		{lockbox.Duration(0), "-"},
		{true, "yes"},
		{false, "no"},
		{3, "3"},
		{int64(-1), "-1"},
		{[]string{"a", "b"}, "a, b"},
		{[]string{}, "-"},
		{[]lockbox.Role{lockbox.RoleEngineer, lockbox.RoleGateway}, "engineer, gateway"},
		{lockbox.StatusApproved, "approved"},
		{lockbox.TenantID(""), "-"},
		{json.RawMessage(`{"a":1}`), `{"a":1}`},
	} {
		if got := cell(tc.in); got != tc.want {
			t.Errorf("cell(%#v) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestShellQuote(t *testing.T) {
	for in, want := range map[string]string{
		"abc":             "abc",
		"req_1":           "req_1",
		"a b":             "'a b'",
		"it's":            `'it'\''s'`,
		"":                "''",
		"$(rm -rf /)":     "'$(rm -rf /)'",
		"x=1,y:2@h/p%+.-": "x=1,y:2@h/p%+.-",
	} {
		if got := shellQuote(in); got != want {
			t.Errorf("shellQuote(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestIDOutputOfAnAnswerWithoutID: -o id on a command whose answer has no
// id (lockbox set prints settings) succeeds, prints nothing on stdout, and
// says why on stderr; a list prints one id a line.
func TestIDOutputOfAnAnswerWithoutID(t *testing.T) {
	var out, errOut strings.Builder
	c := newCLI(&out, &errOut, func(string) string { return "" })
	c.output = "id"
	if err := c.emit(lockbox.LockboxSettings{Enabled: true, ApprovalsRequired: 2}, func(io.Writer) {}); err != nil {
		t.Fatalf("-o id on settings failed: %v", err)
	}
	if out.String() != "" || !strings.Contains(errOut.String(), "has no id") {
		t.Fatalf("stdout %q, stderr %q: want nothing and a note", out.String(), errOut.String())
	}
	out.Reset()
	if err := c.emit(map[string]any{"items": []map[string]string{{"id": "a"}, {"id": "b"}}}, func(io.Writer) {}); err != nil {
		t.Fatal(err)
	}
	if out.String() != "a\nb\n" {
		t.Fatalf("-o id of a list printed %q", out.String())
	}
}

// TestRequestStatusShowsApprovalProgress: a request awaiting the customer
// says how many approvals it has of how many, and whose.
func TestRequestStatusShowsApprovalProgress(t *testing.T) {
	r := &lockbox.AccessRequest{Status: lockbox.StatusPendingCustomer,
		CustomerApprovals: &lockbox.ApprovalProgress{Required: 2, Counted: 1, By: []string{"Bob"}}}
	if got := requestStatus(r, true); got != "pending_customer (1/2)" {
		t.Errorf("table: %q", got)
	}
	if got := requestStatus(r, false); got != "pending_customer: 1 of 2 customer approvals (Bob)" {
		t.Errorf("show: %q", got)
	}
	var b strings.Builder
	showRequest(&b, r)
	if !strings.Contains(b.String(), "1 of 2 customer approvals (Bob)") {
		t.Errorf("request show does not say the progress:\n%s", b.String())
	}
	r = &lockbox.AccessRequest{Status: lockbox.StatusApproved}
	if got := requestStatus(r, true); got != "approved" {
		t.Errorf("approved: %q", got)
	}
}
