package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lockbox-dev/lockbox"
	"github.com/lockbox-dev/lockbox/client"
)

const testToken = "lbx_s_secret-token-value"

// exchange is one request the fake server expects and its canned answer.
type exchange struct {
	method string
	path   string // escaped path
	query  url.Values
	body   string // JSON the request body must equal (semantically); "" for none
	noAuth bool   // the request must carry no Authorization header

	status      int
	contentType string // default application/json
	answer      string
}

// fakeServer serves the exchanges in order and fails the test on any
// difference from what it expects.
func fakeServer(t *testing.T, exchanges ...exchange) *client.Client {
	t.Helper()
	var mu sync.Mutex
	next := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if next >= len(exchanges) {
			t.Errorf("unexpected request %s %s", r.Method, r.URL)
			http.Error(w, "unexpected", http.StatusTeapot)
			return
		}
		ex := exchanges[next]
		next++
		checkRequest(t, r, ex)
		ct := ex.contentType
		if ct == "" {
			ct = "application/json"
		}
		w.Header().Set("Content-Type", ct)
		status := ex.status
		if status == 0 {
			status = http.StatusOK
		}
		w.WriteHeader(status)
		io.WriteString(w, ex.answer)
	}))
	t.Cleanup(func() {
		srv.Close()
		mu.Lock()
		defer mu.Unlock()
		if next != len(exchanges) {
			t.Errorf("server got %d requests, want %d", next, len(exchanges))
		}
	})
	return client.New(srv.URL, testToken, client.WithHTTPClient(srv.Client()), client.WithUserAgent("lockbox-test"))
}

func checkRequest(t *testing.T, r *http.Request, ex exchange) {
	t.Helper()
	if r.Method != ex.method || r.URL.EscapedPath() != ex.path {
		t.Errorf("request %s %s, want %s %s", r.Method, r.URL.EscapedPath(), ex.method, ex.path)
	}
	want := ex.query
	if want == nil {
		want = url.Values{}
	}
	if got := r.URL.Query(); !reflect.DeepEqual(got, want) {
		t.Errorf("%s %s: query %v, want %v", ex.method, ex.path, got, want)
	}
	auth := r.Header.Get("Authorization")
	switch {
	case ex.noAuth && auth != "":
		t.Errorf("%s %s: Authorization header %q sent, want none", ex.method, ex.path, auth)
	case !ex.noAuth && auth != "Bearer "+testToken:
		t.Errorf("%s %s: Authorization %q, want the bearer token", ex.method, ex.path, auth)
	}
	if ua := r.Header.Get("User-Agent"); ua != "lockbox-test" {
		t.Errorf("User-Agent %q", ua)
	}
	if a := r.Header.Get("Accept"); a != "application/json" {
		t.Errorf("Accept %q", a)
	}
	body, _ := io.ReadAll(r.Body)
	if ex.body == "" {
		if len(body) != 0 {
			t.Errorf("%s %s: body %s, want none", ex.method, ex.path, body)
		}
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("%s %s: Content-Type %q", ex.method, ex.path, ct)
	}
	var got, exp any
	if err := json.Unmarshal(body, &got); err != nil {
		t.Errorf("%s %s: body %q is not JSON: %v", ex.method, ex.path, body, err)
		return
	}
	if err := json.Unmarshal([]byte(ex.body), &exp); err != nil {
		t.Fatalf("bad test body %q: %v", ex.body, err)
	}
	if !reflect.DeepEqual(got, exp) {
		t.Errorf("%s %s: body %s, want %s", ex.method, ex.path, body, ex.body)
	}
}

func ptr[T any](v T) *T { return &v }

const (
	requestJSON = `{"id":"req_1","tenant_id":"ten_1","ticket_id":"tkt_1","requester_id":"usr_e","resources":["mailbox:42"],
		"access_level":"read","reason_type":"customer_initiated_support","justification":"why","requested_duration":"1h0m0s",
		"status":"pending_customer","policy":{"allowed":true,"internal_approvals":[{"group":"support-leads","count":1}],
		"customer_approval_required":true,"max_duration":"8h0m0s","policies":["builtin/mfa-or-isolated"]},
		"reviews":[{"reviewer_id":"usr_l","stage":"internal","decision":"approve","reason":"ok","mfa":true,"created_at":"2025-01-02T03:04:05Z"}],
		"created_at":"2025-01-02T03:00:00Z","updated_at":"2025-01-02T03:04:05Z","decision_deadline":"2025-01-02T15:04:05Z"}`
	userJSON   = `{"id":"usr_1","kind":"customer","email":"ann@acme.test","display_name":"Ann","tenant_id":"ten_1","roles":["tenant_admin"],"groups":[],"isolated":false,"totp_enabled":true,"created_at":"2025-01-01T00:00:00Z","updated_at":"2025-01-01T00:00:00Z"}`
	meJSON     = `{"id":"usr_1","kind":"customer","email":"ann@acme.test","display_name":"Ann","tenant_id":"ten_1","roles":["tenant_admin"],"groups":[],"isolated":false,"totp_enabled":true,"created_at":"2025-01-01T00:00:00Z","updated_at":"2025-01-01T00:00:00Z","mfa":true,"amr":["pwd","otp"]}`
	tenantJSON = `{"id":"ten_1","name":"Acme","lockbox":{"enabled":true,"approvals_required":1,"pending_ttl":"12h0m0s","max_access_duration":"8h0m0s","notification_emails":[],"webhooks":[]},"created_at":"2025-01-01T00:00:00Z"}`
	ticketJSON = `{"id":"tkt_1","tenant_id":"ten_1","title":"Mail lost","description":"d","severity":2,"status":"open","created_by":"usr_1","created_at":"2025-01-01T00:00:00Z","updated_at":"2025-01-01T00:00:00Z",
		"comments":[{"id":"cmt_1","ticket_id":"tkt_1","author_id":"usr_1","body":"hi","created_at":"2025-01-01T00:00:00Z"}],
		"history":[{"tenant_id":"ten_1","index":3,"id":"evt_1","type":"ticket.created","time":"2025-01-01T00:00:00Z"}]}`
	settingsJSON = `{"enabled":false,"approvals_required":2,"pending_ttl":"1h0m0s","max_access_duration":"4h0m0s","notification_emails":["sec@acme.test"],"webhooks":[{"url":"https://hooks.acme.test/x"}]}`
)

// TestEndpoints checks that every method sends the request docs/design.md §4 asks
// for and decodes the answer.
func TestEndpoints(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name string
		ex   []exchange
		call func(c *client.Client) (any, error)
		want func(t *testing.T, got any)
	}{
		{
			name: "Login",
			ex: []exchange{{method: "POST", path: "/v1/auth/login", noAuth: true,
				body:   `{"email":"ann@acme.test","password":"correct horse","otp":"123456"}`,
				answer: `{"token":"lbx_s_new","expires_at":"2025-01-02T00:00:00Z","user":` + userJSON + `}`}},
			call: func(c *client.Client) (any, error) {
				return c.Login(ctx, lockbox.LoginInput{Email: "ann@acme.test", Password: "correct horse", OTP: "123456"})
			},
			want: func(t *testing.T, got any) {
				out := got.(*lockbox.LoginOutput)
				if out.Token != "lbx_s_new" || out.User.Email != "ann@acme.test" || !out.ExpiresAt.Equal(time.Date(2025, 1, 2, 0, 0, 0, 0, time.UTC)) {
					t.Errorf("got %+v", out)
				}
			},
		},
		{
			name: "Logout",
			ex:   []exchange{{method: "POST", path: "/v1/auth/logout", status: 204}},
			call: func(c *client.Client) (any, error) { return nil, c.Logout(ctx) },
		},
		{
			name: "Me",
			ex:   []exchange{{method: "GET", path: "/v1/me", answer: meJSON}},
			call: func(c *client.Client) (any, error) { return c.Me(ctx) },
			want: func(t *testing.T, got any) {
				me := got.(*lockbox.Me)
				if !me.MFA || me.ID != "usr_1" || !me.HasRole(lockbox.RoleTenantAdmin) || len(me.AMR) != 2 {
					t.Errorf("got %+v", me)
				}
			},
		},
		{
			name: "EnrollTOTP",
			ex: []exchange{{method: "POST", path: "/v1/me/totp", body: `{}`, status: 201,
				answer: `{"secret":"JBSWY3DPEHPK3PXP","otpauth_url":"otpauth://totp/lockbox:ann?secret=JBSWY3DPEHPK3PXP"}`}},
			call: func(c *client.Client) (any, error) { return c.EnrollTOTP(ctx, lockbox.TOTPEnrollInput{}) },
			want: func(t *testing.T, got any) {
				if e := got.(*lockbox.TOTPEnrollment); e.Secret != "JBSWY3DPEHPK3PXP" || !strings.HasPrefix(e.OTPAuthURL, "otpauth://") {
					t.Errorf("got %+v", e)
				}
			},
		},
		{
			name: "VerifyTOTP",
			ex:   []exchange{{method: "POST", path: "/v1/me/totp/verify", body: `{"code":"123456"}`, answer: meJSON}},
			call: func(c *client.Client) (any, error) { return c.VerifyTOTP(ctx, lockbox.TOTPVerifyInput{Code: "123456"}) },
			want: func(t *testing.T, got any) {
				if me := got.(*lockbox.Me); !me.TOTPEnabled {
					t.Errorf("got %+v", me)
				}
			},
		},
		{
			name: "VerifyTOTP answered 204",
			ex: []exchange{
				{method: "POST", path: "/v1/me/totp/verify", body: `{"code":"123456"}`, status: 204},
				{method: "GET", path: "/v1/me", answer: meJSON},
			},
			call: func(c *client.Client) (any, error) { return c.VerifyTOTP(ctx, lockbox.TOTPVerifyInput{Code: "123456"}) },
			want: func(t *testing.T, got any) {
				if me := got.(*lockbox.Me); me == nil || me.ID != "usr_1" {
					t.Errorf("got %+v", me)
				}
			},
		},
		{
			name: "CreateTenant",
			ex:   []exchange{{method: "POST", path: "/v1/tenants", body: `{"name":"Acme"}`, status: 201, answer: tenantJSON}},
			call: func(c *client.Client) (any, error) {
				return c.CreateTenant(ctx, lockbox.CreateTenantInput{Name: "Acme"})
			},
			want: func(t *testing.T, got any) {
				if tn := got.(*lockbox.Tenant); tn.ID != "ten_1" || tn.Lockbox.PendingTTL.D() != 12*time.Hour {
					t.Errorf("got %+v", tn)
				}
			},
		},
		{
			name: "GetTenant",
			ex:   []exchange{{method: "GET", path: "/v1/tenants/ten_1", answer: tenantJSON}},
			call: func(c *client.Client) (any, error) { return c.GetTenant(ctx, "ten_1") },
		},
		{
			name: "ListTenants",
			ex: []exchange{{method: "GET", path: "/v1/tenants", query: url.Values{"page_size": {"10"}, "page_token": {"abc"}},
				answer: `{"items":[` + tenantJSON + `],"next_page_token":"def"}`}},
			call: func(c *client.Client) (any, error) { return c.ListTenants(ctx, lockbox.Page{Size: 10, Token: "abc"}) },
			want: func(t *testing.T, got any) {
				if l := got.(*lockbox.List[*lockbox.Tenant]); len(l.Items) != 1 || l.Items[0].Name != "Acme" || l.NextPageToken != "def" {
					t.Errorf("got %+v", l)
				}
			},
		},
		{
			name: "GetLockbox",
			ex:   []exchange{{method: "GET", path: "/v1/tenants/ten_1/lockbox", answer: settingsJSON}},
			call: func(c *client.Client) (any, error) { return c.GetLockbox(ctx, "ten_1") },
			want: func(t *testing.T, got any) {
				if s := got.(*lockbox.LockboxSettings); s.ApprovalsRequired != 2 || s.Webhooks[0].URL != "https://hooks.acme.test/x" {
					t.Errorf("got %+v", s)
				}
			},
		},
		{
			name: "UpdateLockbox sends only what is set",
			ex: []exchange{{method: "PATCH", path: "/v1/tenants/ten_1/lockbox",
				body: `{"enabled":false,"approvals_required":2,"pending_ttl":"1h0m0s"}`, answer: settingsJSON}},
			call: func(c *client.Client) (any, error) {
				return c.UpdateLockbox(ctx, "ten_1", lockbox.LockboxPatch{
					Enabled: ptr(false), ApprovalsRequired: ptr(2), PendingTTL: ptr(lockbox.Duration(time.Hour))})
			},
		},
		{
			name: "CreateUser",
			ex: []exchange{{method: "POST", path: "/v1/users", status: 201, answer: userJSON,
				body: `{"email":"ann@acme.test","display_name":"Ann","kind":"customer","tenant_id":"ten_1","roles":["tenant_admin"]}`}},
			call: func(c *client.Client) (any, error) {
				return c.CreateUser(ctx, lockbox.CreateUserInput{Email: "ann@acme.test", DisplayName: "Ann", Kind: lockbox.KindCustomer,
					TenantID: "ten_1", Roles: []lockbox.Role{lockbox.RoleTenantAdmin}})
			},
		},
		{
			name: "GetUser",
			ex:   []exchange{{method: "GET", path: "/v1/users/usr_1", answer: userJSON}},
			call: func(c *client.Client) (any, error) { return c.GetUser(ctx, "usr_1") },
		},
		{
			name: "ListUsers",
			ex: []exchange{{method: "GET", path: "/v1/users", query: url.Values{"tenant_id": {"ten_1"}, "kind": {"customer"}},
				answer: `{"items":[` + userJSON + `]}`}},
			call: func(c *client.Client) (any, error) {
				return c.ListUsers(ctx, client.UserFilter{TenantID: "ten_1", Kind: lockbox.KindCustomer})
			},
		},
		{
			name: "UpdateUser",
			ex:   []exchange{{method: "PATCH", path: "/v1/users/usr_1", body: `{"roles":["member"],"isolated":false}`, answer: userJSON}},
			call: func(c *client.Client) (any, error) {
				return c.UpdateUser(ctx, "usr_1", lockbox.UpdateUserInput{Roles: &[]lockbox.Role{lockbox.RoleMember}, Isolated: ptr(false)})
			},
		},
		{
			name: "DeleteUser",
			ex:   []exchange{{method: "DELETE", path: "/v1/users/usr_1", status: 204}},
			call: func(c *client.Client) (any, error) { return nil, c.DeleteUser(ctx, "usr_1") },
		},
		{
			name: "CreateToken",
			ex: []exchange{{method: "POST", path: "/v1/users/usr_g/tokens", status: 201, body: `{"name":"gateway","expires_in":"24h0m0s"}`,
				answer: `{"id":"cred_1","token":"lbx_t_x","expires_at":"2025-01-03T00:00:00Z"}`}},
			call: func(c *client.Client) (any, error) {
				return c.CreateToken(ctx, "usr_g", lockbox.CreateTokenInput{Name: "gateway", ExpiresIn: ptr(lockbox.Duration(24 * time.Hour))})
			},
			want: func(t *testing.T, got any) {
				if tk := got.(*lockbox.TokenOutput); tk.Token != "lbx_t_x" || tk.ExpiresAt == nil {
					t.Errorf("got %+v", tk)
				}
			},
		},
		{
			name: "CreateTicket",
			ex: []exchange{{method: "POST", path: "/v1/tickets", status: 201, answer: ticketJSON,
				body: `{"tenant_id":"ten_1","title":"Mail lost","description":"d","severity":2}`}},
			call: func(c *client.Client) (any, error) {
				return c.CreateTicket(ctx, lockbox.CreateTicketInput{TenantID: "ten_1", Title: "Mail lost", Description: "d", Severity: 2})
			},
		},
		{
			name: "GetTicket",
			ex:   []exchange{{method: "GET", path: "/v1/tickets/tkt_1", answer: ticketJSON}},
			call: func(c *client.Client) (any, error) { return c.GetTicket(ctx, "tkt_1") },
			want: func(t *testing.T, got any) {
				if tk := got.(*lockbox.Ticket); len(tk.Comments) != 1 || len(tk.History) != 1 || tk.History[0].Index != 3 {
					t.Errorf("got %+v", tk)
				}
			},
		},
		{
			name: "ListTickets",
			ex: []exchange{{method: "GET", path: "/v1/tickets", query: url.Values{"tenant_id": {"ten_1"}, "status": {"open"}, "page_size": {"5"}},
				answer: `{"items":[]}`}},
			call: func(c *client.Client) (any, error) {
				return c.ListTickets(ctx, client.TicketFilter{TenantID: "ten_1", Status: lockbox.TicketOpen, Page: lockbox.Page{Size: 5}})
			},
		},
		{
			name: "AddComment",
			ex: []exchange{{method: "POST", path: "/v1/tickets/tkt_1/comments", status: 201, body: `{"body":"hello"}`,
				answer: `{"id":"cmt_2","ticket_id":"tkt_1","author_id":"usr_1","body":"hello","created_at":"2025-01-01T00:00:00Z"}`}},
			call: func(c *client.Client) (any, error) {
				return c.AddComment(ctx, "tkt_1", lockbox.CommentInput{Body: "hello"})
			},
		},
		{
			name: "ResolveTicket",
			ex:   []exchange{{method: "POST", path: "/v1/tickets/tkt_1/resolve", body: `{}`, answer: ticketJSON}},
			call: func(c *client.Client) (any, error) { return c.ResolveTicket(ctx, "tkt_1") },
		},
		{
			name: "CreateRequest",
			ex: []exchange{{method: "POST", path: "/v1/requests", status: 201, answer: requestJSON,
				body: `{"ticket_id":"tkt_1","resources":["mailbox:42"],"access_level":"read","reason_type":"customer_initiated_support","justification":"why","duration":"1h0m0s"}`}},
			call: func(c *client.Client) (any, error) {
				return c.CreateRequest(ctx, lockbox.CreateRequestInput{TicketID: "tkt_1", Resources: []string{"mailbox:42"},
					AccessLevel: lockbox.LevelRead, ReasonType: lockbox.ReasonCustomerInitiated, Justification: "why",
					Duration: lockbox.Duration(time.Hour)})
			},
			want: func(t *testing.T, got any) {
				r := got.(*lockbox.AccessRequest)
				if r.Status != lockbox.StatusPendingCustomer || r.Policy.InternalApprovals[0].Group != "support-leads" ||
					len(r.Reviews) != 1 || r.RequestedDuration.D() != time.Hour {
					t.Errorf("got %+v", r)
				}
			},
		},
		{
			name: "GetRequest escapes the ID",
			ex:   []exchange{{method: "GET", path: "/v1/requests/req%2F1%3F", answer: requestJSON}},
			call: func(c *client.Client) (any, error) { return c.GetRequest(ctx, "req/1?") },
		},
		{
			name: "ListRequests",
			ex: []exchange{{method: "GET", path: "/v1/requests",
				query: url.Values{"tenant_id": {"ten_1"}, "status": {"approved"}, "ticket_id": {"tkt_1"}, "requester_id": {"usr_e"},
					"page_size": {"2"}, "page_token": {"tok"}},
				answer: `{"items":[` + requestJSON + `],"next_page_token":"n"}`}},
			call: func(c *client.Client) (any, error) {
				return c.ListRequests(ctx, client.RequestFilter{TenantID: "ten_1", Status: lockbox.StatusApproved, TicketID: "tkt_1",
					RequesterID: "usr_e", Page: lockbox.Page{Size: 2, Token: "tok"}})
			},
		},
		{
			name: "Approve",
			ex:   []exchange{{method: "POST", path: "/v1/requests/req_1/approve", body: `{"reason":"go ahead","duration":"30m0s"}`, answer: requestJSON}},
			call: func(c *client.Client) (any, error) {
				return c.Approve(ctx, "req_1", lockbox.ApproveInput{Reason: "go ahead", Duration: ptr(lockbox.Duration(30 * time.Minute))})
			},
		},
		{
			name: "Approve without duration",
			ex:   []exchange{{method: "POST", path: "/v1/requests/req_1/approve", body: `{"reason":"ok"}`, answer: requestJSON}},
			call: func(c *client.Client) (any, error) {
				return c.Approve(ctx, "req_1", lockbox.ApproveInput{Reason: "ok"})
			},
		},
		{
			name: "Deny",
			ex:   []exchange{{method: "POST", path: "/v1/requests/req_1/deny", body: `{"reason":"not now"}`, answer: requestJSON}},
			call: func(c *client.Client) (any, error) {
				return c.Deny(ctx, "req_1", lockbox.ReasonInput{Reason: "not now"})
			},
		},
		{
			name: "Cancel",
			ex:   []exchange{{method: "POST", path: "/v1/requests/req_1/cancel", body: `{}`, answer: requestJSON}},
			call: func(c *client.Client) (any, error) { return c.Cancel(ctx, "req_1") },
		},
		{
			name: "Complete",
			ex:   []exchange{{method: "POST", path: "/v1/requests/req_1/complete", body: `{}`, answer: requestJSON}},
			call: func(c *client.Client) (any, error) { return c.Complete(ctx, "req_1") },
		},
		{
			name: "Revoke",
			ex:   []exchange{{method: "POST", path: "/v1/requests/req_1/revoke", body: `{"reason":"done"}`, answer: requestJSON}},
			call: func(c *client.Client) (any, error) {
				return c.Revoke(ctx, "req_1", lockbox.ReasonInput{Reason: "done"})
			},
		},
		{
			name: "ListEvents sends after=0",
			ex: []exchange{{method: "GET", path: "/v1/tenants/ten_1/events",
				query:  url.Values{"after": {"0"}, "type": {"request.approved"}, "page_size": {"100"}, "page_token": {"7"}},
				answer: `{"items":[{"tenant_id":"ten_1","index":8,"id":"evt_8","type":"request.approved","time":"2025-01-01T00:00:00Z","data":{"x":1}}],"next_page_token":"8"}`}},
			call: func(c *client.Client) (any, error) {
				return c.ListEvents(ctx, "ten_1", client.EventFilter{After: ptr(int64(0)), Type: lockbox.EventRequestApproved,
					Page: lockbox.Page{Size: 100, Token: "7"}})
			},
			want: func(t *testing.T, got any) {
				l := got.(*lockbox.List[*lockbox.Event])
				if len(l.Items) != 1 || l.Items[0].Index != 8 || string(l.Items[0].Data) != `{"x":1}` || l.NextPageToken != "8" {
					t.Errorf("got %+v", l)
				}
			},
		},
		{
			name: "ListEvents without after",
			ex:   []exchange{{method: "GET", path: "/v1/tenants/ten_1/events", answer: `{"items":[]}`}},
			call: func(c *client.Client) (any, error) { return c.ListEvents(ctx, "ten_1", client.EventFilter{}) },
		},
		{
			name: "Healthz accepts plain text",
			ex:   []exchange{{method: "GET", path: "/healthz", contentType: "text/plain", answer: "ok"}},
			call: func(c *client.Client) (any, error) { return nil, c.Healthz(ctx) },
		},
		{
			name: "Readyz",
			ex:   []exchange{{method: "GET", path: "/readyz", answer: `{"status":"ready"}`}},
			call: func(c *client.Client) (any, error) { return nil, c.Readyz(ctx) },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := fakeServer(t, tt.ex...)
			got, err := tt.call(c)
			if err != nil {
				t.Fatalf("error: %v", err)
			}
			if tt.want != nil {
				tt.want(t, got)
			}
		})
	}
}

func TestAPIError(t *testing.T) {
	ctx := context.Background()
	c := fakeServer(t,
		exchange{method: "POST", path: "/v1/requests/req_x/cancel", body: `{}`, status: 409,
			answer: `{"error":{"code":"conflict","message":"request req_x is approved and cannot become canceled"}}`},
		exchange{method: "POST", path: "/v1/requests", body: `{"ticket_id":"","resources":null,"access_level":"","reason_type":"","justification":"","duration":"0s"}`, status: 422,
			answer: `{"error":{"code":"invalid","message":"the policy refused the request","details":["admin access needs an isolated identity","sign in with a one-time code"]}}`},
		exchange{method: "GET", path: "/v1/tickets/nope", status: 404, answer: `{"error":{"code":"not_found","message":"ticket nope not found"}}`},
	)

	_, err := c.Cancel(ctx, "req_x")
	var ae *client.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("error %T %v, want *APIError", err, err)
	}
	if ae.StatusCode != 409 || ae.Code != lockbox.CodeConflict {
		t.Errorf("got %+v", ae)
	}
	if got, want := err.Error(), "409 conflict: request req_x is approved and cannot become canceled"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if !errors.Is(err, lockbox.ErrConflict) || errors.Is(err, lockbox.ErrNotFound) {
		t.Errorf("errors.Is does not follow the code")
	}
	var de *lockbox.Error
	if !errors.As(err, &de) || de.Code != lockbox.CodeConflict || lockbox.ErrorCodeOf(err) != lockbox.CodeConflict {
		t.Errorf("errors.As *lockbox.Error: %+v", de)
	}

	_, err = c.CreateRequest(ctx, lockbox.CreateRequestInput{})
	if got, want := err.Error(), "422 invalid: the policy refused the request (admin access needs an isolated identity; sign in with a one-time code)"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if !errors.Is(err, lockbox.ErrInvalid) {
		t.Errorf("want ErrInvalid")
	}

	_, err = c.GetTicket(ctx, "nope")
	if !errors.Is(err, lockbox.ErrNotFound) {
		t.Errorf("want ErrNotFound, got %v", err)
	}
}

func TestNonJSONAnswers(t *testing.T) {
	ctx := context.Background()
	c := fakeServer(t,
		exchange{method: "GET", path: "/v1/me", status: 502, contentType: "text/html", answer: "<html>Bad gateway</html>"},
		exchange{method: "GET", path: "/v1/me", contentType: "text/html; charset=utf-8", answer: "<html>Welcome to nginx</html>"},
		exchange{method: "GET", path: "/v1/me", answer: `{"id": `},
		exchange{method: "GET", path: "/v1/me", status: 401, answer: `{"message":"no"}`},
	)

	_, err := c.Me(ctx)
	var ae *client.APIError
	if !errors.As(err, &ae) || ae.StatusCode != 502 || ae.Code != lockbox.CodeInternal {
		t.Fatalf("got %T %v", err, err)
	}
	if !strings.Contains(err.Error(), "text/html, not a lockbox error") || !strings.Contains(err.Error(), "Bad gateway") {
		t.Errorf("Error() = %q", err)
	}

	_, err = c.Me(ctx)
	if err == nil || !strings.Contains(err.Error(), "answered 200 with text/html, not JSON") {
		t.Errorf("non-JSON success: %v", err)
	}
	if errors.As(err, &ae) {
		t.Errorf("a non-JSON success is not an API error")
	}

	_, err = c.Me(ctx)
	if err == nil || !strings.Contains(err.Error(), "decoding the answer") {
		t.Errorf("truncated JSON: %v", err)
	}

	// A JSON error answer without the contract's shape keeps the status's code.
	_, err = c.Me(ctx)
	if !errors.Is(err, lockbox.ErrUnauthenticated) {
		t.Errorf("401 without error body: %v", err)
	}
}

func TestTokenNeverInErrors(t *testing.T) {
	ctx := context.Background()
	c := fakeServer(t,
		exchange{method: "GET", path: "/v1/me", status: 401,
			answer: `{"error":{"code":"unauthenticated","message":"token ` + testToken + ` is unknown","details":["` + testToken + `"]}}`},
		exchange{method: "GET", path: "/v1/me", status: 500, contentType: "text/plain", answer: "panic: Bearer " + testToken},
		exchange{method: "GET", path: "/v1/me", contentType: "text/plain", answer: "echo " + testToken},
	)
	for range 3 {
		_, err := c.Me(ctx)
		if err == nil {
			t.Fatal("want an error")
		}
		if strings.Contains(err.Error(), testToken) {
			t.Errorf("error message contains the token: %v", err)
		}
	}

	// Transport errors name the URL but not the token.
	dead := httptest.NewServer(http.NotFoundHandler())
	url := dead.URL
	dead.Close()
	_, err := client.New(url, testToken).Me(ctx)
	if err == nil || strings.Contains(err.Error(), testToken) || !strings.Contains(err.Error(), url+"/v1/me") {
		t.Errorf("transport error: %v", err)
	}
	if s := client.New(url, testToken).String(); strings.Contains(s, testToken) {
		t.Errorf("String() leaks the token: %s", s)
	}
}

func TestBadInput(t *testing.T) {
	ctx := context.Background()
	for _, base := range []string{"", "127.0.0.1:8080", "ftp://x", "http://user:pw@host"} {
		if _, err := client.New(base, testToken).Me(ctx); err == nil {
			t.Errorf("base URL %q: want an error", base)
		}
	}
	c := fakeServer(t) // no request may arrive
	if _, err := c.GetTenant(ctx, ""); err == nil || !strings.Contains(err.Error(), "/v1/tenants/{id}") {
		t.Errorf("empty ID: %v", err)
	}
	if err := c.DeleteUser(ctx, ""); err == nil {
		t.Errorf("empty user ID: want an error")
	}
}

func TestBaseURLWithPrefix(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/lockbox/v1/me" {
			t.Errorf("path %q", r.URL.Path)
		}
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, meJSON)
	}))
	defer srv.Close()
	c := client.New(srv.URL+"/lockbox/", testToken)
	if _, err := c.Me(context.Background()); err != nil {
		t.Fatal(err)
	}
	if c.BaseURL() != srv.URL+"/lockbox" {
		t.Errorf("BaseURL %q", c.BaseURL())
	}
}

func TestWithToken(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"id":"`+strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")+`"}`)
	}))
	defer srv.Close()
	ctx := context.Background()
	a := client.New(srv.URL, "alice")
	b := a.WithToken("bob")
	for c, want := range map[*client.Client]lockbox.UserID{a: "alice", b: "bob"} {
		me, err := c.Me(ctx)
		if err != nil || me.ID != want {
			t.Errorf("Me() = %v, %v; want %s", me, err, want)
		}
	}
}

func TestAll(t *testing.T) {
	ctx := context.Background()
	c := fakeServer(t,
		exchange{method: "GET", path: "/v1/tenants/ten_1/events", query: url.Values{"page_size": {"2"}},
			answer: `{"items":[{"index":0},{"index":1}],"next_page_token":"1"}`},
		exchange{method: "GET", path: "/v1/tenants/ten_1/events", query: url.Values{"page_size": {"2"}, "page_token": {"1"}},
			answer: `{"items":[{"index":2}]}`},
	)
	var got []int64
	for e, err := range client.All(ctx, lockbox.Page{Size: 2}, func(ctx context.Context, p lockbox.Page) (*lockbox.List[*lockbox.Event], error) {
		return c.ListEvents(ctx, "ten_1", client.EventFilter{Page: p})
	}) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, e.Index)
	}
	if !reflect.DeepEqual(got, []int64{0, 1, 2}) {
		t.Errorf("got %v", got)
	}

	// A server that hands out the same token again is not followed forever.
	loop := fakeServer(t,
		exchange{method: "GET", path: "/v1/tenants", answer: `{"items":[],"next_page_token":"x"}`},
		exchange{method: "GET", path: "/v1/tenants", query: url.Values{"page_token": {"x"}}, answer: `{"items":[],"next_page_token":"x"}`},
	)
	var last error
	for _, err := range client.All(ctx, lockbox.Page{}, loop.ListTenants) {
		last = err
	}
	if last == nil || !strings.Contains(last.Error(), "loop") {
		t.Errorf("want a loop error, got %v", last)
	}
}
