package web_test

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lockbox-dev/lockbox"
	"github.com/lockbox-dev/lockbox/app"
	"github.com/lockbox-dev/lockbox/web"
)

func TestSecurityHeadersAndCookie(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	pg := b.get("/signin")
	if pg.Status != http.StatusOK {
		t.Fatalf("GET /signin: %d", pg.Status)
	}
	want := map[string]string{
		"Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'",
		"X-Content-Type-Options":  "nosniff",
		"Referrer-Policy":         "same-origin",
		"Cache-Control":           "no-store",
	}
	for k, v := range want {
		if got := pg.Header.Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	if strings.Contains(pg.Body, "<script") || strings.Contains(pg.Body, "style=") {
		t.Error("the page has an inline script or style, which the CSP forbids")
	}
	// The session cookie, as the server set it.
	p := e.people["bob"]
	req, _ := http.NewRequest(http.MethodPost, e.url+"/signin", strings.NewReader(url.Values{
		"email": {p.Email}, "password": {testPassword}, "otp": {e.code(p.Secret)}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-in: %d", resp.StatusCode)
	}
	var session *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == "lockbox_session" {
			session = c
		}
	}
	switch {
	case session == nil:
		t.Fatal("no session cookie")
	case !session.HttpOnly || session.SameSite != http.SameSiteLaxMode || session.Secure:
		t.Errorf("session cookie over plain HTTP: HttpOnly=%v SameSite=%v Secure=%v; want HttpOnly, Lax, not Secure", session.HttpOnly, session.SameSite, session.Secure)
	case !strings.HasPrefix(session.Value, lockbox.SessionPrefix):
		t.Errorf("session cookie %q is not a session token", session.Value)
	}
	if strings.Contains(e.logs.String(), session.Value) {
		t.Error("the session token was logged")
	}
	if strings.Contains(e.logs.String(), p.Secret) {
		t.Error("a TOTP secret was logged")
	}
}

func TestSecureCookieOverTLS(t *testing.T) {
	e := newEnv(t)
	hs := httptest.NewTLSServer(e.srv.Handler())
	defer hs.Close()
	c := hs.Client()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	p := e.people["bob"]
	resp, err := c.PostForm(hs.URL+"/signin", url.Values{"email": {p.Email}, "password": {testPassword}, "otp": {e.code(p.Secret)}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	for _, ck := range resp.Cookies() {
		if ck.Name == "lockbox_session" && !ck.Secure {
			t.Error("the session cookie is not Secure over TLS")
		}
	}
	if resp.Header.Get("Strict-Transport-Security") == "" {
		t.Error("no HSTS over TLS")
	}
}

func TestAPIPathsStayTheAPIs(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	for _, path := range []string{"/healthz", "/v1/nothing-here", "/.well-known/jwks.json"} {
		pg := b.get(path)
		if ct := pg.Header.Get("Content-Type"); !strings.Contains(ct, "json") {
			t.Errorf("GET %s: Content-Type %q, want the API's JSON", path, ct)
		}
	}
	pg := b.get("/")
	if pg.URL.Path != "/signin" || !strings.Contains(pg.Body, `name="otp"`) {
		t.Errorf("GET / signed out: ended at %s, want the sign-in page", pg.URL)
	}
	if pg := b.get("/no/such/page"); pg.Status != http.StatusNotFound {
		t.Errorf("GET an unknown portal page: %d, want 404", pg.Status)
	}
	if pg := b.get("/static/style.css"); pg.Status != http.StatusOK || !strings.HasPrefix(pg.Header.Get("Content-Type"), "text/css") {
		t.Errorf("GET /static/style.css: %d %s", pg.Status, pg.Header.Get("Content-Type"))
	}
}

func TestCrossSiteFormsAreRefused(t *testing.T) {
	e := newEnv(t)
	r := e.fileRequest()
	e.approveInternally(r.ID)
	b := e.browser()
	b.signIn("bob")

	// A form posted from another site, with bob's cookie, as a browser
	// would send it.
	u, _ := url.Parse(e.url)
	req, _ := http.NewRequest(http.MethodPost, e.url+"/requests/"+string(r.ID)+"/approve", strings.NewReader("reason=x"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "https://evil.example")
	for _, c := range b.c.Jar.Cookies(u) {
		req.AddCookie(c)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("cross-site approve: %d, want 403", resp.StatusCode)
	}
	if s := e.status(r.ID); s != lockbox.StatusPendingCustomer {
		t.Errorf("after a cross-site approve the request is %s", s)
	}

	// A plain POST with a foreign Origin and no cookie.
	resp, err = http.Post(e.url+"/signin", "application/x-www-form-urlencoded", strings.NewReader("email=x&password=y"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	req, _ = http.NewRequest(http.MethodPost, e.url+"/signin", strings.NewReader("email=x&password=y"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "http://attacker.example")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("POST /signin with a foreign Origin: %d, want 403", resp.StatusCode)
	}
	// Sec-Fetch-Site: cross-site, as modern browsers send.
	req, _ = http.NewRequest(http.MethodPost, e.url+"/signout", nil)
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("POST /signout cross-site: %d, want 403", resp.StatusCode)
	}
}

// TestSignInIsRateLimited: the portal counts sign-ins against the service's
// one throttle, which the API shares: wrong passwords for an account from
// one address, then from that address on any account, are refused (429),
// and the API then refuses the same address too. The address comes from
// X-Forwarded-For, honoured because the test's peer is a trusted proxy.
func TestSignInIsRateLimited(t *testing.T) {
	e := newEnvWith(t, func(c *app.Config) {
		c.Throttle = lockbox.ThrottleLimits{PerAccountAddress: 2, PerAddress: 3}
		c.TrustedProxies = []string{"127.0.0.0/8", "::1"}
	})
	try := func(from, email string) (int, string) {
		req, _ := http.NewRequest(http.MethodPost, e.url+"/signin",
			strings.NewReader(url.Values{"email": {email}, "password": {"wrong-password-123"}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Forwarded-For", from)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b strings.Builder
		_, _ = io.Copy(&b, resp.Body)
		return resp.StatusCode, b.String()
	}
	const attacker = "198.51.100.7"
	alice := e.people["alice"].Email
	for i := range 2 {
		if s, _ := try(attacker, alice); s != http.StatusUnauthorized {
			t.Fatalf("attempt %d: %d, want 401", i+1, s)
		}
	}
	s, body := try(attacker, alice)
	if s != http.StatusTooManyRequests || !strings.Contains(body, "Too many sign-in attempts") {
		t.Errorf("third attempt on one account: %d, want 429 with a message", s)
	}
	// The address's own limit: one more attempt on another account, then
	// refused.
	if s, _ := try(attacker, e.people["bob"].Email); s != http.StatusUnauthorized {
		t.Errorf("attempt on another account: %d, want 401", s)
	}
	if s, _ := try(attacker, e.people["mia"].Email); s != http.StatusTooManyRequests {
		t.Errorf("fourth attempt from one address: %d, want 429", s)
	}
	// One throttle: the API refuses the address the portal throttled.
	req, _ := http.NewRequest(http.MethodPost, e.url+"/v1/auth/login",
		strings.NewReader(`{"email":"`+alice+`","password":"`+testPassword+`"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Forwarded-For", attacker)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusTooManyRequests {
		t.Errorf("the API from the throttled address: %d, want 429", resp.StatusCode)
	}
	// Alice, from her own address, signs in.
	b := e.browser()
	b.header = http.Header{"X-Forwarded-For": {"203.0.113.20"}}
	b.signIn("alice")
}

func TestSignOutEndsTheSession(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	b.signIn("alice")
	old := b.cookie("lockbox_session")
	pg := b.post("/signout", nil)
	if pg.URL.Path != "/signin" || pg.flash() != "Signed out." {
		t.Fatalf("sign-out ended at %s with %q", pg.URL, pg.flash())
	}
	// The old cookie, replayed, no longer opens the portal.
	b2 := e.browser()
	u, _ := url.Parse(e.url)
	b2.c.Jar.SetCookies(u, []*http.Cookie{{Name: "lockbox_session", Value: old.Value, Path: "/"}})
	if pg := b2.get("/settings"); pg.URL.Path != "/signin" {
		t.Errorf("the signed-out session still opens %s", pg.URL)
	}
	// The service ended it: the API refuses the token too (on every
	// replica, since the session is gone from the store).
	req, _ := http.NewRequest(http.MethodGet, e.url+"/v1/me", nil)
	req.Header.Set("Authorization", "Bearer "+old.Value)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("GET /v1/me with the signed-out token: %d, want 401", resp.StatusCode)
	}
	if _, err := e.svc.Authenticate(context.Background(), old.Value); lockbox.ErrorCodeOf(err) != lockbox.CodeUnauthenticated {
		t.Errorf("Authenticate with the signed-out token: %v, want unauthenticated", err)
	}
}

// TestSignOutEndsOnlyThatSession: another browser of the same person stays
// signed in.
func TestSignOutEndsOnlyThatSession(t *testing.T) {
	e := newEnv(t)
	laptop, phone := e.browser(), e.browser()
	laptop.signIn("bob")
	phone.signIn("bob")
	laptop.post("/signout", nil)
	if pg := phone.get("/requests"); pg.Status != http.StatusOK || pg.URL.Path != "/requests" {
		t.Errorf("the other session: %d at %s, want the requests page", pg.Status, pg.URL)
	}
	if pg := laptop.get("/requests"); pg.URL.Path != "/signin" {
		t.Errorf("the signed-out browser reached %s", pg.URL)
	}
}

func TestWrongCredentialsSayWhatToDo(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	pg := b.post("/signin", url.Values{"email": {e.people["alice"].Email}, "password": {"not-her-password"}})
	if pg.Status != http.StatusUnauthorized || !strings.Contains(pg.Body, "Check your e-mail, password and one-time code") {
		t.Errorf("wrong password: %d", pg.Status)
	}
	if !strings.Contains(pg.Body, `value="`+e.people["alice"].Email+`"`) {
		t.Error("the e-mail is not kept in the form")
	}
}

func TestTOTPEnrolmentWithQRCode(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	alice := &lockbox.Principal{User: e.people["alice"].User, AMR: []string{"pwd", "otp"}}
	if _, err := e.svc.SeedUser(ctx, alice, lockbox.CreateUserInput{Email: "nina@customer.example", DisplayName: "Nina",
		Kind: lockbox.KindCustomer, TenantID: e.acme.ID, Roles: []lockbox.Role{lockbox.RoleLockboxApprover}}, testPassword); err != nil {
		t.Fatal(err)
	}
	b := e.browser()
	pg := b.post("/signin", url.Values{"email": {"nina@customer.example"}, "password": {testPassword}})
	if pg.URL.Path != "/totp" || !strings.Contains(pg.flash(), "Set up a one-time code app") {
		t.Fatalf("first sign-in ended at %s with %q", pg.URL, pg.flash())
	}
	pg = b.post("/totp/start", nil)
	if !strings.Contains(pg.Body, `<svg class="qr"`) {
		t.Fatal("no QR code on the enrolment page")
	}
	m := regexp.MustCompile(`data-testid="totp-secret">([A-Z2-7]+)<`).FindStringSubmatch(pg.Body)
	if m == nil {
		t.Fatal("no key on the enrolment page")
	}
	pg = b.post("/totp/verify", url.Values{"code": {"000000"}})
	if pg.Status != http.StatusUnprocessableEntity {
		t.Errorf("a wrong code: %d, want 422", pg.Status)
	}
	pg = b.post("/totp/verify", url.Values{"code": {e.code(m[1])}})
	if !strings.Contains(pg.flash(), "One-time codes are on") {
		t.Fatalf("verifying: %d %q", pg.Status, pg.flash())
	}
	if strings.Contains(e.logs.String(), m[1]) {
		t.Error("the TOTP secret was logged")
	}
}

func TestRefusals(t *testing.T) {
	e := newEnv(t)
	r := e.fileRequest()
	e.approveInternally(r.ID)

	t.Run("a member cannot approve", func(t *testing.T) {
		b := e.browser()
		b.signIn("mia")
		pg := b.post("/requests/"+string(r.ID)+"/approve", url.Values{"reason": {"sure"}})
		if pg.Status != http.StatusForbidden {
			t.Errorf("member approves: %d, want 403", pg.Status)
		}
		if !strings.Contains(pg.Body, "Ask your administrator") {
			t.Error("the refusal does not say what to do")
		}
		if s := e.status(r.ID); s != lockbox.StatusPendingCustomer {
			t.Errorf("the request is %s", s)
		}
		if pg := b.get("/requests/" + string(r.ID)); pg.Status != http.StatusForbidden {
			t.Errorf("member reads the request: %d, want 403", pg.Status)
		}
	})
	t.Run("an approver cannot change settings", func(t *testing.T) {
		b := e.browser()
		b.signIn("bob")
		pg := b.get("/settings")
		if pg.Status != http.StatusOK || !strings.Contains(pg.Body, "Only your tenant's admins can change these settings") {
			t.Errorf("approver reads settings: %d", pg.Status)
		}
		pg = b.post("/settings", url.Values{"approvals_required": {"2"}, "pending_ttl": {"12h"}, "max_access_duration": {"8h"}, "enabled": {"on"}})
		if pg.Status != http.StatusForbidden {
			t.Errorf("approver changes settings: %d, want 403", pg.Status)
		}
		op, _ := e.svc.Authenticate(context.Background(), bootstrapToken)
		st, err := e.svc.GetLockbox(context.Background(), op, e.acme.ID)
		if err != nil || st.ApprovalsRequired != 1 {
			t.Errorf("settings after an approver's change: %+v %v", st, err)
		}
	})
	t.Run("another tenant's request is not found", func(t *testing.T) {
		b := e.browser()
		b.signIn("gina")
		for _, path := range []string{"/requests/" + string(r.ID), "/tickets/" + string(r.TicketID)} {
			if pg := b.get(path); pg.Status != http.StatusNotFound {
				t.Errorf("Globex admin GET %s: %d, want 404", path, pg.Status)
			}
		}
		pg := b.post("/requests/"+string(r.ID)+"/revoke", url.Values{"reason": {"x"}})
		if pg.Status != http.StatusNotFound {
			t.Errorf("Globex admin revokes Acme's request: %d, want 404", pg.Status)
		}
		if pg := b.get("/requests"); strings.Contains(pg.Body, string(r.ID)) {
			t.Error("Globex's list shows Acme's request")
		}
	})
	t.Run("an engineer cannot approve their own request", func(t *testing.T) {
		b := e.browser()
		b.signIn("eve")
		pg := b.get("/requests/" + string(r.ID))
		if strings.Contains(pg.Body, `id="approve"`) {
			t.Error("the requester is offered an approve button")
		}
	})
}

func TestSettingsAskBeforeSwitchingTheLockboxOff(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	b.signIn("alice")
	form := url.Values{"approvals_required": {"2"}, "pending_ttl": {"6h"}, "max_access_duration": {"4h"}, "notification_emails": {"sec@customer.example"}}
	pg := b.post("/settings", form)
	if pg.Status != http.StatusOK || !strings.Contains(pg.Body, "Turn the lockbox off?") {
		t.Fatalf("switching off: %d, no confirmation step", pg.Status)
	}
	op, _ := e.svc.Authenticate(context.Background(), bootstrapToken)
	if st, _ := e.svc.GetLockbox(context.Background(), op, e.acme.ID); !st.Enabled || st.ApprovalsRequired != 1 {
		t.Fatalf("settings changed before the confirmation: %+v", st)
	}
	form.Set("confirm", "yes")
	pg = b.post("/settings", form)
	if pg.flash() != "Lockbox settings saved." {
		t.Fatalf("confirmed: %d %q", pg.Status, pg.flash())
	}
	st, _ := e.svc.GetLockbox(context.Background(), op, e.acme.ID)
	if st.Enabled || st.ApprovalsRequired != 2 || st.PendingTTL.D() != 6*time.Hour || st.MaxAccessDuration.D() != 4*time.Hour || len(st.NotificationEmails) != 1 {
		t.Errorf("settings after the change: %+v", st)
	}
	// A bad value re-shows the form with what to fix.
	pg = b.post("/settings", url.Values{"approvals_required": {"0"}, "pending_ttl": {"6h"}, "max_access_duration": {"4h"}})
	if pg.Status != http.StatusUnprocessableEntity || !strings.Contains(pg.Body, "approvals_required must be at least 1") {
		t.Errorf("zero approvals: %d", pg.Status)
	}
}

// TestWorkflowOverHTTP walks the whole workflow with forms and links only,
// as a browser without scripts would.
func TestWorkflowOverHTTP(t *testing.T) {
	e := newEnv(t)
	alice, eve, lee, bob := e.browser(), e.browser(), e.browser(), e.browser()

	alice.signIn("alice")
	pg := alice.post("/tickets", url.Values{"title": {"Invoices <b>missing</b>"}, "description": {"Since Monday"}, "severity": {"2"}})
	if !strings.HasPrefix(pg.URL.Path, "/tickets/tkt_") || !strings.Contains(pg.flash(), "opened") {
		t.Fatalf("opening a ticket ended at %s with %q", pg.URL, pg.flash())
	}
	if strings.Contains(pg.Body, "<b>missing</b>") || !strings.Contains(pg.Body, "&lt;b&gt;missing&lt;/b&gt;") {
		t.Error("the ticket title is not escaped")
	}
	ticket := strings.TrimPrefix(pg.URL.Path, "/tickets/")

	eve.signIn("eve")
	if pg := eve.get("/tickets"); !strings.Contains(pg.Body, ticket) || !strings.Contains(pg.Body, "<td>Acme</td>") {
		t.Fatal("the ticket is not in the operator's queue, with its tenant's name")
	}
	pg = eve.get("/tickets/" + ticket + "/request-access")
	if pg.Status != http.StatusOK || !strings.Contains(pg.Body, `for="resources"`) {
		t.Fatalf("request form: %d", pg.Status)
	}
	// A bad duration re-shows the form with what to fix, keeping the input.
	pg = eve.post("/requests", url.Values{"ticket_id": {ticket}, "resources": {"mailbox:invoices"}, "access_level": {"read"},
		"reason_type": {"customer_initiated_support"}, "justification": {"Find the invoices"}, "duration": {"soon"}})
	if pg.Status != http.StatusUnprocessableEntity || !strings.Contains(pg.Body, "Go duration") || !strings.Contains(pg.Body, "Find the invoices") {
		t.Errorf("bad duration: %d", pg.Status)
	}
	pg = eve.post("/requests", url.Values{"ticket_id": {ticket}, "resources": {"mailbox:invoices\nmailbox:billing"}, "access_level": {"read"},
		"reason_type": {"customer_initiated_support"}, "justification": {"Find the invoices"}, "duration": {"2h"}})
	if !strings.HasPrefix(pg.URL.Path, "/requests/req_") || !strings.Contains(pg.flash(), "Awaiting internal approval") {
		t.Fatalf("filing ended at %s with %q: %s", pg.URL, pg.flash(), pg.Body)
	}
	id := strings.TrimPrefix(pg.URL.Path, "/requests/")

	lee.signIn("lee")
	if pg := lee.get("/approvals"); !strings.Contains(pg.Body, id) {
		t.Fatal("the request is not in lee's internal approval queue")
	}
	if pg := eve.get("/approvals"); strings.Contains(pg.Body, id) {
		t.Error("the requester's own request is in her approval queue")
	}
	pg = lee.post("/requests/"+id+"/approve", url.Values{"reason": {"looks right"}})
	if !strings.Contains(pg.flash(), "Awaiting customer approval") {
		t.Fatalf("internal approval: %d %q", pg.Status, pg.flash())
	}

	bob.signIn("bob")
	pg = bob.get("/requests")
	pend := strings.Index(pg.Body, "Waiting for your decision")
	act := strings.Index(pg.Body, "Open access")
	if i := strings.Index(pg.Body, id); i < pend || i > act || !strings.Contains(pg.Body, "left") {
		t.Error("the request is not first, under 'Waiting for your decision', with the time left")
	}
	pg = bob.get("/requests/" + id)
	for _, want := range []string{"mailbox:billing", "Find the invoices", "Customer-initiated support", "default/internal-approval", "looks right", `href="/tickets/` + ticket + `"`} {
		if !strings.Contains(pg.Body, want) {
			t.Errorf("the request page lacks %q", want)
		}
	}
	if n := regexp.MustCompile(`(?s)data-testid="notifications">.*?</table>`).FindString(pg.Body); !strings.Contains(n, "bob@customer.example") || !strings.Contains(n, "approval needed") || strings.Contains(n, "approval_needed") {
		t.Error("the request page does not show that the approvers were notified")
	}
	pg = bob.post("/requests/"+id+"/approve", url.Values{"reason": {"go ahead"}, "duration": {"30m"}})
	if !strings.Contains(pg.flash(), "Approved: access open") {
		t.Fatalf("customer approval: %d %q", pg.Status, pg.flash())
	}
	if s := e.status(lockbox.RequestID(id)); s != lockbox.StatusApproved {
		t.Fatalf("after the customer's approval: %s", s)
	}

	// The engineer takes a token and sees how to use it.
	pg = eve.post("/requests/"+id+"/token", nil)
	if pg.Status != http.StatusOK || !strings.Contains(pg.Body, "Authorization: Bearer $LOCKBOX_GRANT") || !regexp.MustCompile(`eyJ[\w-]+\.[\w-]+\.[\w-]+`).MatchString(pg.Body) {
		t.Fatalf("token page: %d", pg.Status)
	}
	if pg.Header.Get("Cache-Control") != "no-store" {
		t.Error("the token page may be cached")
	}

	// The gateway records a read under the request: the customer sees it.
	e.recordAccess(lockbox.RequestID(id), "GET /mailboxes/invoices/messages")
	pg = bob.get("/requests/" + id)
	if !strings.Contains(pg.Body, "token.issued") {
		t.Error("the request page does not show the recorded token issue")
	}
	if !strings.Contains(pg.Body, "access.allowed") || !strings.Contains(pg.Body, "/mailboxes/invoices/messages") {
		t.Error("the request page does not show the access made under it")
	}
	pg = bob.post("/requests/"+id+"/revoke", url.Values{"reason": {"done here"}})
	if !strings.Contains(pg.flash(), "revoked") {
		t.Fatalf("revoke: %d %q", pg.Status, pg.flash())
	}
	if s := e.status(lockbox.RequestID(id)); s != lockbox.StatusRevoked {
		t.Fatalf("after revoke: %s", s)
	}
	if pg := eve.post("/requests/"+id+"/token", nil); pg.Status != http.StatusConflict || !strings.Contains(pg.Body, "Reload it") {
		t.Errorf("a token after revocation: %d", pg.Status)
	}

	// History filter and log.
	if pg := bob.get("/requests?status=revoked"); !strings.Contains(pg.Body, id) {
		t.Error("the revoked request is not in the filtered history")
	}
	if pg := bob.get("/requests?status=approved"); strings.Count(pg.Body, id) != 0 {
		t.Error("the approved filter shows the revoked request")
	}
	pg = alice.get("/log")
	if !strings.Contains(pg.Body, "request.revoked") || !strings.Contains(pg.Body, "Tree size") {
		t.Error("the log page lacks the revocation or the checkpoint")
	}
}

func TestOperatorAdminManagesTenantsAndStaff(t *testing.T) {
	e := newEnv(t)
	olga := e.browser()
	olga.signIn("olga")
	pg := olga.post("/tenants", url.Values{"name": {"Initech"}})
	if !strings.HasPrefix(pg.URL.Path, "/tenants/tnt_") || !strings.Contains(pg.flash(), "Tenant Initech created") {
		t.Fatalf("creating a tenant ended at %s with %q", pg.URL, pg.flash())
	}
	tenant := strings.TrimPrefix(pg.URL.Path, "/tenants/")
	pg = olga.post("/users", url.Values{"tenant_id": {tenant}, "roles": {"tenant_admin"}, "email": {"peter@initech.example"},
		"display_name": {"Peter"}, "password": {testPassword}})
	if !strings.Contains(pg.flash(), "peter@initech.example created") || !strings.Contains(pg.Body, "peter@initech.example") {
		t.Fatalf("inviting the first admin: %d %q", pg.Status, pg.flash())
	}
	if strings.Contains(pg.Body, "Invite the first tenant admin") {
		t.Error("the invitation form is still offered after the first admin")
	}
	// The operator cannot add a second customer user (invariant 10).
	pg = olga.post("/users", url.Values{"tenant_id": {tenant}, "roles": {"lockbox_approver"}, "email": {"bill@initech.example"},
		"display_name": {"Bill"}, "password": {testPassword}})
	if pg.Status != http.StatusForbidden {
		t.Errorf("operator adds a second customer user: %d, want 403", pg.Status)
	}
	pg = olga.post("/users", url.Values{"roles": {"engineer"}, "groups": {"support-leads, devops"}, "email": {"sam@operator.example"},
		"display_name": {"Sam"}, "password": {testPassword}})
	if !strings.Contains(pg.flash(), "sam@operator.example created") || !strings.Contains(pg.Body, "support-leads, devops") {
		t.Fatalf("adding an engineer: %d %q", pg.Status, pg.flash())
	}
	// An engineer sees tenants but no staff page.
	eve := e.browser()
	eve.signIn("eve")
	if pg := eve.get("/users"); pg.Status != http.StatusForbidden {
		t.Errorf("engineer opens the staff page: %d, want 403", pg.Status)
	}
	if pg := eve.post("/tenants", url.Values{"name": {"Evil"}}); pg.Status != http.StatusForbidden {
		t.Errorf("engineer creates a tenant: %d, want 403", pg.Status)
	}
	// Customers have no tenant pages.
	alice := e.browser()
	alice.signIn("alice")
	if pg := alice.get("/tenants/" + string(e.acme.ID)); pg.Status != http.StatusNotFound {
		t.Errorf("customer opens a tenant page: %d, want 404", pg.Status)
	}
}

func TestTenantAdminManagesUsers(t *testing.T) {
	e := newEnv(t)
	alice := e.browser()
	alice.signIn("alice")
	pg := alice.post("/users", url.Values{"roles": {"member"}, "email": {"max@customer.example"}, "display_name": {"Max"}, "password": {testPassword}})
	if !strings.Contains(pg.flash(), "max@customer.example created") {
		t.Fatalf("adding a member: %d %q", pg.Status, pg.flash())
	}
	bob := e.browser()
	bob.signIn("bob")
	pg = bob.get("/users")
	if !strings.Contains(pg.Body, "max@customer.example") || strings.Contains(pg.Body, "Add a user") {
		t.Error("an approver should see the users, and not the form to add one")
	}
	if pg := bob.post("/users", url.Values{"roles": {"tenant_admin"}, "email": {"bob2@customer.example"}, "display_name": {"Bob 2"}, "password": {testPassword}}); pg.Status != http.StatusForbidden {
		t.Errorf("approver adds an admin: %d, want 403", pg.Status)
	}
}

func TestRequesterCancelsAndTicketResolutionEndsAccess(t *testing.T) {
	e := newEnv(t)
	eve := e.browser()
	eve.signIn("eve")
	r := e.fileRequest()
	pg := eve.post("/requests/"+string(r.ID)+"/cancel", nil)
	if !strings.Contains(pg.flash(), "withdrew") || e.status(r.ID) != lockbox.StatusCanceled {
		t.Fatalf("cancel: %q, status %s", pg.flash(), e.status(r.ID))
	}
	// Canceling twice says what happened.
	if pg := eve.post("/requests/"+string(r.ID)+"/cancel", nil); pg.Status != http.StatusConflict {
		t.Errorf("canceling a canceled request: %d, want 409", pg.Status)
	}

	r = e.fileRequest()
	e.approveInternally(r.ID)
	bob := e.browser()
	bob.signIn("bob")
	bob.post("/requests/"+string(r.ID)+"/approve", nil)
	if s := e.status(r.ID); s != lockbox.StatusApproved {
		t.Fatalf("after approval: %s", s)
	}
	pg = eve.post("/tickets/"+string(r.TicketID)+"/comments", url.Values{"body": {"Found it: a mail rule."}})
	if !strings.Contains(pg.Body, "Found it: a mail rule.") {
		t.Error("the comment is not on the ticket")
	}
	pg = eve.post("/tickets/"+string(r.TicketID)+"/resolve", nil)
	if !strings.Contains(pg.flash(), "Ticket resolved") {
		t.Fatalf("resolve: %d %q", pg.Status, pg.flash())
	}
	if s := e.status(r.ID); s != lockbox.StatusCompleted {
		t.Errorf("after the ticket was resolved the request is %s", s)
	}
	if pg := eve.get("/access"); !strings.Contains(pg.Body, "Completed") {
		t.Error("my access does not show the completed request")
	}
}

func TestCustomerApprovalNeedsAOneTimeCode(t *testing.T) {
	e := newEnv(t)
	r := e.fileRequest()
	e.approveInternally(r.ID)
	bob := e.browser()
	p := e.people["bob"]
	pg := bob.post("/signin", url.Values{"email": {p.Email}, "password": {testPassword}})
	if !strings.Contains(pg.Body, "password only") {
		t.Fatal("the header does not say the session has no second factor")
	}
	pg = bob.get("/requests/" + string(r.ID))
	if !strings.Contains(pg.Body, "Deciding needs a session signed in with a one-time code") {
		t.Error("the request page does not say a one-time code is needed")
	}
	pg = bob.post("/requests/"+string(r.ID)+"/approve", nil)
	if pg.Status != http.StatusForbidden || e.status(r.ID) != lockbox.StatusPendingCustomer {
		t.Errorf("approval without MFA: %d, status %s", pg.Status, e.status(r.ID))
	}
}

func TestPolicyRefusalIsShownOnTheForm(t *testing.T) {
	e := newEnv(t)
	tk := e.fileRequest().TicketID
	eve := e.browser()
	p := e.people["eve"]
	eve.post("/signin", url.Values{"email": {p.Email}, "password": {testPassword}}) // no one-time code
	pg := eve.post("/requests", url.Values{"ticket_id": {string(tk)}, "resources": {"mailbox:alice"}, "access_level": {"read"},
		"reason_type": {"customer_initiated_support"}, "justification": {"Look"}, "duration": {"1h"}})
	if pg.Status != http.StatusForbidden || !strings.Contains(pg.Body, "sign in with a one-time code") || !strings.Contains(pg.Body, `id="resources"`) {
		t.Errorf("a refused request: %d; want the form again with the policy's reason", pg.Status)
	}
}

// TestNotificationLinkLeadsBackAfterSignIn follows the link of a
// notification e-mail (/requests/{id}) signed out: sign-in leads back to it.
func TestNotificationLinkLeadsBackAfterSignIn(t *testing.T) {
	e := newEnv(t)
	r := e.fileRequest()
	e.approveInternally(r.ID)
	b := e.browser()
	pg := b.get("/requests/" + string(r.ID))
	if pg.URL.Path != "/signin" || pg.URL.Query().Get("next") != "/requests/"+string(r.ID) {
		t.Fatalf("signed out, the link leads to %s", pg.URL)
	}
	m := regexp.MustCompile(`name="next" value="([^"]+)"`).FindStringSubmatch(pg.Body)
	if m == nil {
		t.Fatal("the sign-in form does not carry where to go next")
	}
	p := e.people["bob"]
	pg = b.post("/signin", url.Values{"email": {p.Email}, "password": {testPassword}, "otp": {e.code(p.Secret)}, "next": {m[1]}})
	if pg.URL.Path != "/requests/"+string(r.ID) || !strings.Contains(pg.Body, `id="approve"`) {
		t.Errorf("after sign-in: %s", pg.URL)
	}
}

func TestLogPageVerifiesTheLog(t *testing.T) {
	e := newEnv(t)
	alice := e.browser()
	alice.signIn("alice")
	// Wait for the sequencer to put every event under the checkpoint.
	sizeRE := regexp.MustCompile(`Tree size</dt><dd>(\d+) events`)
	totalRE := regexp.MustCompile(`newest of (\d+)\.`)
	deadline := time.Now().Add(10 * time.Second)
	for {
		pg := alice.get("/log")
		s, n := sizeRE.FindStringSubmatch(pg.Body), totalRE.FindStringSubmatch(pg.Body)
		if s != nil && n != nil && s[1] == n[1] {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the checkpoint does not catch up with the events: %v %v", s, n)
		}
		time.Sleep(50 * time.Millisecond)
	}
	pg := alice.get("/log?verify=1")
	if !strings.Contains(pg.Body, `data-testid="verified"`) || !strings.Contains(pg.Body, "entries (") {
		t.Fatalf("verifying an intact log: %s", pg.Body)
	}

	// Damage one stored entry: the page says the log fails, and where.
	db, err := sql.Open("sqlite", "file:"+filepath.Join(e.dir, "lockbox.db")+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec("DROP TRIGGER IF EXISTS events_no_update"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`UPDATE events SET leaf = CAST(replace(CAST(leaf AS TEXT), 'Acme', 'Acmf') AS BLOB) WHERE tenant_id = ? AND idx = 0`, string(e.acme.ID)); err != nil {
		t.Fatal(err)
	}
	pg = alice.get("/log?verify=1")
	if !strings.Contains(pg.Body, `data-testid="verify-failed"`) || !strings.Contains(pg.Body, "Entry 0 of the log") {
		t.Errorf("verifying a damaged log: %d, no failure naming entry 0", pg.Status)
	}
}

func TestTenantAdminChangesAndRemovesUsers(t *testing.T) {
	e := newEnv(t)
	alice := e.browser()
	alice.signIn("alice")
	mia := e.people["mia"].User.ID
	pg := alice.post("/users/"+string(mia), url.Values{"display_name": {"Mia M."}, "roles": {"lockbox_approver"}})
	if !strings.Contains(pg.flash(), "Saved") || !strings.Contains(pg.Body, "lockbox approver") {
		t.Fatalf("promoting mia: %d %q", pg.Status, pg.flash())
	}
	// Removing asks first, then removes.
	pg = alice.post("/users/"+string(mia)+"/remove", nil)
	if !strings.Contains(pg.Body, "Yes, remove") {
		t.Fatal("removal asks no confirmation")
	}
	pg = alice.post("/users/"+string(mia)+"/remove", url.Values{"confirm": {"yes"}})
	if !strings.Contains(pg.flash(), "Removed mia@customer.example") || strings.Contains(pg.Body, "mia@customer.example</td>") {
		t.Fatalf("removing mia: %d %q", pg.Status, pg.flash())
	}
	// The last admin cannot drop their own admin role: the service says why.
	alid := e.people["alice"].User.ID
	pg = alice.post("/users/"+string(alid), url.Values{"display_name": {"Alice"}, "roles": {"member"}})
	if pg.Status < 400 {
		t.Errorf("the last admin demoted herself: %d", pg.Status)
	}
	// An approver sees users but cannot change them.
	bob := e.browser()
	bob.signIn("bob")
	if pg := bob.get("/users/" + string(alid)); strings.Contains(pg.Body, `id="save-user"`) {
		t.Error("an approver is offered the user form")
	}
	if pg := bob.post("/users/"+string(alid), url.Values{"display_name": {"X"}, "roles": {"member"}}); pg.Status != http.StatusForbidden {
		t.Errorf("an approver changes a user: %d, want 403", pg.Status)
	}
	// Globex's admin cannot see Acme's users.
	gina := e.browser()
	gina.signIn("gina")
	if pg := gina.get("/users/" + string(alid)); pg.Status != http.StatusNotFound {
		t.Errorf("another tenant's admin reads a user: %d, want 404", pg.Status)
	}
}

func TestSecureCookieBehindATLSProxy(t *testing.T) {
	e := newEnv(t)
	h, err := web.New(e.svc, web.Options{PublicURL: "https://lockbox.example.com"})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(h)
	defer hs.Close()
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	p := e.people["bob"]
	resp, err := c.PostForm(hs.URL+"/signin", url.Values{"email": {p.Email}, "password": {testPassword}, "otp": {e.code(p.Secret)}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	found := false
	for _, ck := range resp.Cookies() {
		if ck.Name == "lockbox_session" {
			found = true
			if !ck.Secure {
				t.Error("behind an https public URL the session cookie is not Secure")
			}
		}
	}
	if !found {
		t.Fatalf("no session cookie (%d)", resp.StatusCode)
	}
}

func TestLogPageShowsTheNewestEvents(t *testing.T) {
	e := newEnv(t)
	r := e.fileRequest()
	eve := &lockbox.Principal{User: e.people["eve"].User, AMR: []string{"pwd", "otp"}}
	for i := range 250 {
		if _, err := e.svc.AddComment(context.Background(), eve, r.TicketID, lockbox.CommentInput{Body: fmt.Sprintf("note %d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	alice := e.browser()
	alice.signIn("alice")
	sizeRE := regexp.MustCompile(`Tree size</dt><dd>(\d+) events`)
	totalRE := regexp.MustCompile(`(\d+) newest of (\d+)\.`)
	deadline := time.Now().Add(10 * time.Second)
	for {
		pg := alice.get("/log")
		s, n := sizeRE.FindStringSubmatch(pg.Body), totalRE.FindStringSubmatch(pg.Body)
		if s != nil && n != nil && s[1] == n[2] {
			total, _ := strconv.Atoi(n[2])
			if n[1] != "200" || total < 250 {
				t.Fatalf("shown %s of %d", n[1], total)
			}
			first := fmt.Sprintf("<tr><td>%d</td>", total-1)
			last := fmt.Sprintf("<tr><td>%d</td>", total-200)
			if !strings.Contains(pg.Body, first) || !strings.Contains(pg.Body, last) || strings.Contains(pg.Body, fmt.Sprintf("<tr><td>%d</td>", total-201)) {
				t.Errorf("the page does not show exactly events %d to %d", total-200, total-1)
			}
			if strings.Index(pg.Body, first) > strings.Index(pg.Body, last) {
				t.Error("the newest event is not first")
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the checkpoint does not catch up with the events: %v %v", s, n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestListsArePaged(t *testing.T) {
	e := newEnv(t)
	alice := &lockbox.Principal{User: e.people["alice"].User, AMR: []string{"pwd", "otp"}}
	for i := range 5 {
		if _, err := e.svc.CreateTicket(context.Background(), alice, lockbox.CreateTicketInput{TenantID: e.acme.ID, Title: fmt.Sprintf("ticket-%d", i), Severity: 3}); err != nil {
			t.Fatal(err)
		}
	}
	h, err := web.New(e.svc, web.Options{PageSize: 2})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(h)
	defer hs.Close()
	b := e.browser()
	b.e = &env{t: t, url: hs.URL, clock: e.clock, people: e.people}
	b.signIn("alice")
	seen := map[string]bool{}
	next := "/tickets"
	for pages := 0; next != ""; pages++ {
		if pages > 3 {
			t.Fatal("the pages do not end")
		}
		pg := b.get(next)
		titles := regexp.MustCompile(`>(ticket-\d)</a>`).FindAllStringSubmatch(pg.Body, -1)
		if len(titles) == 0 || len(titles) > 2 {
			t.Fatalf("page %d shows %d tickets", pages, len(titles))
		}
		for _, m := range titles {
			if seen[m[1]] {
				t.Errorf("%s shown twice", m[1])
			}
			seen[m[1]] = true
		}
		next = ""
		if m := regexp.MustCompile(`href="(/tickets\?page=[^"]+)" id="older"`).FindStringSubmatch(pg.Body); m != nil {
			next = strings.ReplaceAll(m[1], "&amp;", "&")
		}
	}
	if len(seen) != 5 {
		t.Errorf("the pages showed %d of 5 tickets", len(seen))
	}
}

func TestAccountPasswordAndTokens(t *testing.T) {
	e := newEnv(t)
	bob := e.browser()
	bob.signIn("bob")
	// An API token for oneself, shown once, that the API takes.
	pg := bob.post("/users/"+string(e.people["bob"].User.ID)+"/tokens", url.Values{"name": {"laptop"}, "expires_in": {"30d"}})
	m := regexp.MustCompile(`data-testid="api-token">([^<]+)<`).FindStringSubmatch(pg.Body)
	if pg.Status != http.StatusOK || m == nil {
		t.Fatalf("creating a token: %d", pg.Status)
	}
	if p, err := e.svc.Authenticate(context.Background(), m[1]); err != nil || p.ID() != e.people["bob"].User.ID {
		t.Fatalf("the token does not authenticate bob: %v", err)
	}
	// Not for someone else.
	if pg := bob.post("/users/"+string(e.people["alice"].User.ID)+"/tokens", url.Values{"name": {"x"}}); pg.Status != http.StatusForbidden {
		t.Errorf("a token for another user: %d, want 403", pg.Status)
	}

	pg = bob.post("/account/password", url.Values{"current_password": {"wrong-password-1"}, "new_password": {"a-new-password-42"}, "confirm_password": {"a-new-password-42"}})
	if pg.Status != http.StatusForbidden || !strings.Contains(pg.Body, "The current password is wrong") {
		t.Errorf("wrong current password: %d", pg.Status)
	}
	pg = bob.post("/account/password", url.Values{"current_password": {testPassword}, "new_password": {"a-new-password-42"}, "confirm_password": {"another-one-42"}})
	if pg.Status != http.StatusUnprocessableEntity {
		t.Errorf("mismatched confirmation: %d", pg.Status)
	}
	pg = bob.post("/account/password", url.Values{"current_password": {testPassword}, "new_password": {"a-new-password-42"}, "confirm_password": {"a-new-password-42"}})
	if pg.URL.Path != "/signin" || !strings.Contains(pg.flash(), "Password changed") {
		t.Fatalf("changing the password ended at %s with %q", pg.URL, pg.flash())
	}
	if _, err := e.svc.Authenticate(context.Background(), m[1]); err == nil {
		t.Error("the API token survived the password change")
	}
	p := e.people["bob"]
	pg = bob.post("/signin", url.Values{"email": {p.Email}, "password": {"a-new-password-42"}, "otp": {e.code(p.Secret)}})
	if !strings.Contains(pg.Body, "Signed in as") {
		t.Errorf("signing in with the new password: %d", pg.Status)
	}
	if strings.Contains(e.logs.String(), "a-new-password-42") || strings.Contains(e.logs.String(), m[1]) {
		t.Error("a password or an API token was logged")
	}

	// An operator admin makes a gateway account's token.
	olga := e.browser()
	olga.signIn("olga")
	pg = olga.post("/users", url.Values{"roles": {"gateway"}, "email": {"gw@operator.example"}, "display_name": {"Gateway"}})
	if !strings.Contains(pg.flash(), "created") {
		t.Fatalf("creating a gateway account: %q", pg.flash())
	}
	id := regexp.MustCompile(`href="/users/(usr_[a-z0-9]+)">Gateway<`).FindStringSubmatch(pg.Body)
	if id == nil {
		t.Fatal("the gateway account is not listed")
	}
	pg = olga.post("/users/"+id[1]+"/tokens", url.Values{"name": {"edge-1"}})
	if pg.Status != http.StatusOK || !strings.Contains(pg.Body, "lockbox gateway") {
		t.Errorf("a gateway token: %d", pg.Status)
	}
}

// TestCustomerSeesWhoAsks: the customer's approver cannot read operator
// users, yet the request pages name the engineer who asks (name and
// e-mail) and the support lead who approved internally.
func TestCustomerSeesWhoAsks(t *testing.T) {
	e := newEnv(t)
	r := e.fileRequest()
	e.approveInternally(r.ID)
	bob := e.browser()
	bob.signIn("bob")
	eve, lee := e.people["eve"], e.people["lee"]

	list := bob.get("/requests")
	if list.Status != http.StatusOK || !strings.Contains(list.Body, "<td>"+eve.User.DisplayName+"</td>") {
		t.Errorf("the requests list does not name the requester %q", eve.User.DisplayName)
	}
	pg := bob.get("/requests/" + string(r.ID))
	if pg.Status != http.StatusOK {
		t.Fatalf("request page: %d", pg.Status)
	}
	requester := regexp.MustCompile(`(?s)data-testid="requester">(.*?)</dd>`).FindStringSubmatch(pg.Body)
	if requester == nil || !strings.Contains(requester[1], eve.User.DisplayName) || !strings.Contains(requester[1], `href="mailto:`+eve.Email+`"`) {
		t.Errorf("the request page's requester is %q, want %s with %s", requester, eve.User.DisplayName, eve.Email)
	}
	if !strings.Contains(pg.Body, "<td>"+lee.User.DisplayName+"</td><td>internal</td>") {
		t.Errorf("the request page does not name the internal reviewer %q", lee.User.DisplayName)
	}
	if strings.Contains(pg.Body, string(eve.User.ID)) || strings.Contains(pg.Body, string(lee.User.ID)) {
		t.Error("the request page still shows an operator by user id")
	}
}

// TestTokenPageShowsTheGateway: with --gateway-url the grant token's curl
// example names the gateway; without it, a placeholder and what to do.
func TestTokenPageShowsTheGateway(t *testing.T) {
	for _, tc := range []struct{ gateway, want, hint string }{
		{"https://gateway.acme.example/", "https://gateway.acme.example/…", ""},
		{"", "https://GATEWAY/…", "--gateway-url"},
	} {
		e := newEnvWith(t, func(c *app.Config) { c.GatewayURL = tc.gateway })
		r := e.fileRequest()
		e.approveInternally(r.ID)
		bob := &lockbox.Principal{User: e.people["bob"].User, AMR: []string{"pwd", "otp"}}
		if _, err := e.svc.Review(context.Background(), bob, r.ID, lockbox.ReviewInput{Decision: lockbox.DecisionApprove, Reason: "ok"}); err != nil {
			t.Fatal(err)
		}
		eve := e.browser()
		eve.signIn("eve")
		pg := eve.post("/requests/"+string(r.ID)+"/token", nil)
		curl := regexp.MustCompile(`(?s)data-testid="curl">(.*?)</pre>`).FindStringSubmatch(pg.Body)
		if pg.Status != http.StatusOK || curl == nil || !strings.Contains(curl[1], "Bearer $LOCKBOX_GRANT\" "+tc.want) {
			t.Errorf("gateway %q: %d, curl example %q, want it to name %s", tc.gateway, pg.Status, curl, tc.want)
		}
		if hint := strings.Contains(pg.Body, "was not told the gateway"); hint != (tc.hint != "") {
			t.Errorf("gateway %q: placeholder hint shown %v", tc.gateway, hint)
		}
	}
}

// TestEachPersonLandsWhereTheirWorkIs: after sign-in a support lead lands
// on the internal approvals, an engineer on the ticket queue, an approver
// on the access requests; operators are not told "your data" in the
// footer, customers are.
func TestEachPersonLandsWhereTheirWorkIs(t *testing.T) {
	e := newEnv(t)
	for who, want := range map[string]string{"lee": "/approvals", "eve": "/tickets", "bob": "/requests", "mia": "/tickets"} {
		b := e.browser()
		b.signIn(who)
		pg := b.get("/")
		if pg.URL.Path != want {
			t.Errorf("%s lands on %s, want %s", who, pg.URL.Path, want)
		}
		customer := who == "bob" || who == "mia"
		if got := strings.Contains(pg.Body, "access to your data needs your approval"); got != customer {
			t.Errorf("%s: footer speaks of \"your data\": %v, want %v", who, got, customer)
		}
	}
}

// TestPendingSecretStaysWithItsSession is issue 13's first attack on the
// portal: alice, on an MFA session, starts replacing her authenticator and
// leaves it; someone holding only her password signs in from another
// browser. Her /totp page must not show the pending secret, and confirming
// it from there must fail.
func TestPendingSecretStaysWithItsSession(t *testing.T) {
	e := newEnv(t)
	owner := e.browser()
	owner.signIn("alice")
	pg := owner.post("/totp/start", url.Values{"current_code": {e.code(e.people["alice"].Secret)}})
	m := regexp.MustCompile(`data-testid="totp-secret">([A-Z2-7]+)<`).FindStringSubmatch(pg.Body)
	if m == nil {
		t.Fatalf("the MFA session sees no enrolment: %d %s", pg.Status, pg.flash())
	}
	secret := m[1]

	thief := e.browser()
	pg = thief.post("/signin", url.Values{"email": {e.people["alice"].Email}, "password": {testPassword}})
	if pg.Status != http.StatusOK {
		t.Fatalf("password-only sign-in: %d", pg.Status)
	}
	pg = thief.get("/totp")
	if strings.Contains(pg.Body, secret) || strings.Contains(pg.Body, "totp-secret") || strings.Contains(pg.Body, `<svg class="qr"`) {
		t.Fatal("a password-only session sees another session's pending TOTP secret")
	}
	pg = thief.post("/totp/verify", url.Values{"code": {e.code(secret)}})
	if strings.Contains(pg.flash(), "One-time codes are on") || pg.Status < 400 {
		t.Fatalf("a password-only session confirmed another session's enrolment: %d %q", pg.Status, pg.flash())
	}
	// Nor can it start its own replacement.
	pg = thief.post("/totp/start", url.Values{"current_code": {e.code(e.people["alice"].Secret)}})
	if pg.Status != http.StatusForbidden {
		t.Fatalf("a password-only session started a replacement: %d", pg.Status)
	}
	// The owner's session still confirms it.
	pg = owner.post("/totp/verify", url.Values{"code": {e.code(secret)}})
	if !strings.Contains(pg.flash(), "One-time codes are on") {
		t.Fatalf("the owner confirming: %d %q", pg.Status, pg.flash())
	}
}
