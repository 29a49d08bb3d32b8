package web_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/lockbox-dev/lockbox"
	"github.com/lockbox-dev/lockbox/app"
)

const (
	testPassword   = "portal-test-password"
	bootstrapToken = "bootstrap-token-for-portal-tests-0123456789"
)

// testClock is the server's clock. Each one-time code moves it to the next
// TOTP step, so no code is ever refused as replayed.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Advance(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
	return c.t
}

// syncBuffer collects the server's log lines, to check that no secret is
// ever logged.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// person is a seeded user with its TOTP secret.
type person struct {
	User   *lockbox.User
	Email  string
	Secret string
}

// env is a running lockbox server (API and portal over plain HTTP) with two
// tenants and their people:
//
//	Acme:    alice (tenant_admin), bob (lockbox_approver), mia (member)
//	Globex:  gina (tenant_admin)
//	operator: eve (engineer), lee (engineer, group support-leads),
//	          olga (operator_admin)
type env struct {
	t      testing.TB
	srv    *app.Server
	url    string
	clock  *testClock
	logs   *syncBuffer
	svc    *lockbox.Service
	acme   *lockbox.Tenant
	globex *lockbox.Tenant
	people map[string]*person
	dir    string // the SQLite database's directory
}

func newEnv(t testing.TB) *env {
	t.Helper()
	return newEnvWith(t, nil)
}

// newEnvWith is newEnv with a change to the server's configuration.
func newEnvWith(t testing.TB, configure func(*app.Config)) *env {
	t.Helper()
	clock := &testClock{t: time.Now().UTC().Truncate(time.Second)}
	logs := &syncBuffer{}
	dir := t.TempDir()
	c := app.Config{
		Addr: "127.0.0.1:0", DataDir: dir, BootstrapToken: bootstrapToken, Clock: clock.Now,
		Argon2: &lockbox.Argon2Params{Memory: 1024, Time: 1, Threads: 1},
		Logger: slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	if configure != nil {
		configure(&c)
	}
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := app.New(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Listen(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
		srv.Close()
		for _, p := range []string{testPassword} {
			if strings.Contains(logs.String(), p) {
				t.Errorf("the server logged a password")
			}
		}
	})
	e := &env{t: t, srv: srv, url: srv.URL(), clock: clock, logs: logs, svc: srv.Service, people: map[string]*person{}, dir: dir}
	e.seed()
	return e
}

// seed creates the tenants and people through the service's use cases.
func (e *env) seed() {
	t, svc, ctx := e.t, e.svc, context.Background()
	op, err := svc.Authenticate(ctx, bootstrapToken)
	if err != nil {
		t.Fatal(err)
	}
	if e.acme, err = svc.CreateTenant(ctx, op, lockbox.CreateTenantInput{Name: "Acme"}); err != nil {
		t.Fatal(err)
	}
	if e.globex, err = svc.CreateTenant(ctx, op, lockbox.CreateTenantInput{Name: "Globex"}); err != nil {
		t.Fatal(err)
	}
	add := func(creator *lockbox.Principal, name string, in lockbox.CreateUserInput) *lockbox.Principal {
		in.Email, in.DisplayName = name+"@"+domain(in), strings.ToUpper(name[:1])+name[1:]
		u, err := svc.SeedUser(ctx, creator, in, testPassword)
		if err != nil {
			t.Fatalf("creating %s: %v", name, err)
		}
		self := &lockbox.Principal{User: u, CredentialID: "test-enrolment", AMR: []string{"pwd"}}
		enrol, err := svc.EnrollTOTP(ctx, self, lockbox.TOTPEnrollInput{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := svc.VerifyTOTP(ctx, self, e.code(enrol.Secret)); err != nil {
			t.Fatal(err)
		}
		e.people[name] = &person{User: u, Email: in.Email, Secret: enrol.Secret}
		return &lockbox.Principal{User: u, AMR: []string{"pwd", "otp"}}
	}
	customer := func(tn *lockbox.Tenant, r lockbox.Role) lockbox.CreateUserInput {
		return lockbox.CreateUserInput{Kind: lockbox.KindCustomer, TenantID: tn.ID, Roles: []lockbox.Role{r}}
	}
	alice := add(op, "alice", customer(e.acme, lockbox.RoleTenantAdmin))
	add(alice, "bob", customer(e.acme, lockbox.RoleLockboxApprover))
	add(alice, "mia", customer(e.acme, lockbox.RoleMember))
	add(op, "gina", customer(e.globex, lockbox.RoleTenantAdmin))
	add(op, "eve", lockbox.CreateUserInput{Kind: lockbox.KindOperator, Roles: []lockbox.Role{lockbox.RoleEngineer}})
	add(op, "lee", lockbox.CreateUserInput{Kind: lockbox.KindOperator, Roles: []lockbox.Role{lockbox.RoleEngineer}, Groups: []string{"support-leads"}})
	add(op, "olga", lockbox.CreateUserInput{Kind: lockbox.KindOperator, Roles: []lockbox.Role{lockbox.RoleOperatorAdmin}})
}

func domain(in lockbox.CreateUserInput) string {
	if in.Kind == lockbox.KindOperator {
		return "operator.example"
	}
	return "customer.example"
}

// code moves the clock to the next TOTP step and returns the code of
// secret there.
func (e *env) code(secret string) string {
	e.t.Helper()
	now := e.clock.Advance(30 * time.Second)
	c, err := totp.GenerateCodeCustom(secret, now, totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

// browser is a plain HTTP client with a cookie jar, as a browser without
// scripts would be.
type browser struct {
	e      *env
	c      *http.Client
	last   *page
	header http.Header // sent with every request
}

// page is an answer as the browser ends up with it.
type page struct {
	Status int
	Body   string
	URL    *url.URL
	Header http.Header
}

func (e *env) browser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{e: e, c: &http.Client{Jar: jar, Timeout: 30 * time.Second}}
}

func (b *browser) do(req *http.Request) *page {
	b.e.t.Helper()
	for k, v := range b.header {
		req.Header[k] = v
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.e.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	b.last = &page{Status: resp.StatusCode, Body: string(body), URL: resp.Request.URL, Header: resp.Header}
	return b.last
}

func (b *browser) get(path string) *page {
	b.e.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, b.e.url+path, nil)
	return b.do(req)
}

// post sends a form as a same-origin browser would: with the portal's own
// Origin and Sec-Fetch-Site same-origin.
func (b *browser) post(path string, form url.Values) *page {
	b.e.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, b.e.url+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", b.e.url)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	return b.do(req)
}

// signIn signs the person in with password and one-time code.
func (b *browser) signIn(name string) *page {
	b.e.t.Helper()
	p := b.e.people[name]
	pg := b.post("/signin", url.Values{"email": {p.Email}, "password": {testPassword}, "otp": {b.e.code(p.Secret)}})
	if pg.Status != http.StatusOK || !strings.Contains(pg.Body, "Signed in as") {
		b.e.t.Fatalf("signing in %s: %d %s", name, pg.Status, pg.Body)
	}
	return pg
}

func (b *browser) cookie(name string) *http.Cookie {
	u, _ := url.Parse(b.e.url)
	for _, c := range b.c.Jar.Cookies(u) {
		if c.Name == name {
			return c
		}
	}
	return nil
}

var flashRE = regexp.MustCompile(`(?s)data-testid="flash">([^<]*)<`)

// flash is the confirmation (or error) message of the page.
func (p *page) flash() string {
	m := flashRE.FindStringSubmatch(p.Body)
	if m == nil {
		return ""
	}
	return m[1]
}

// fileRequest has eve open a ticket for Acme through the service and file
// an access request on an MFA session; it returns the request, pending
// internal approval.
func (e *env) fileRequest() *lockbox.AccessRequest {
	e.t.Helper()
	ctx := context.Background()
	eve := &lockbox.Principal{User: e.people["eve"].User, AMR: []string{"pwd", "otp"}}
	tk, err := e.svc.CreateTicket(ctx, eve, lockbox.CreateTicketInput{TenantID: e.acme.ID, Title: "Mail stuck", Description: "Queue blocked", Severity: 2})
	if err != nil {
		e.t.Fatal(err)
	}
	r, err := e.svc.CreateRequest(ctx, eve, lockbox.CreateRequestInput{TicketID: tk.ID, Resources: []string{"mailbox:alice"},
		AccessLevel: lockbox.LevelRead, ReasonType: lockbox.ReasonCustomerInitiated, Justification: "Look at the stuck queue", Duration: lockbox.Duration(2 * time.Hour)})
	if err != nil {
		e.t.Fatal(err)
	}
	return r
}

// approveInternally has lee approve the request through the service.
func (e *env) approveInternally(id lockbox.RequestID) {
	e.t.Helper()
	lee := &lockbox.Principal{User: e.people["lee"].User, AMR: []string{"pwd", "otp"}}
	if _, err := e.svc.Review(context.Background(), lee, id, lockbox.ReviewInput{Decision: lockbox.DecisionApprove, Reason: "ok"}); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) status(id lockbox.RequestID) lockbox.RequestStatus {
	e.t.Helper()
	op, err := e.svc.Authenticate(context.Background(), bootstrapToken)
	if err != nil {
		e.t.Fatal(err)
	}
	r, err := e.svc.GetRequest(context.Background(), op, id)
	if err != nil {
		e.t.Fatal(err)
	}
	return r.Status
}

// recordAccess records an allowed access under the request, as the
// gateway's service account does.
func (e *env) recordAccess(id lockbox.RequestID, what string) {
	e.t.Helper()
	ctx := context.Background()
	op, err := e.svc.Authenticate(ctx, bootstrapToken)
	if err != nil {
		e.t.Fatal(err)
	}
	gw, err := e.svc.CreateUser(ctx, op, lockbox.CreateUserInput{Email: "gateway-" + string(id) + "@operator.example", DisplayName: "Gateway",
		Kind: lockbox.KindOperator, Roles: []lockbox.Role{lockbox.RoleGateway}})
	if err != nil {
		e.t.Fatal(err)
	}
	p := &lockbox.Principal{User: gw, AMR: []string{"token"}}
	if _, err := e.svc.RecordAccess(ctx, p, []lockbox.AccessRecord{{ID: lockbox.NewID("acc"), TenantID: e.acme.ID, RequestID: id,
		Decision: "allowed", Data: map[string]any{"request": what}}}); err != nil {
		e.t.Fatal(err)
	}
}
