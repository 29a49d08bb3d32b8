package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/lockbox-dev/lockbox"
	"github.com/lockbox-dev/lockbox/app"
	"github.com/lockbox-dev/lockbox/postgres/pgtest"
	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
)

// testClock is a clock tests move by hand.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// env is a real lockbox server (SQLite store, service, HTTP API) on a test
// listener, with a clock the test controls and the log captured.
type env struct {
	t      testing.TB
	srv    *app.Server
	http   *httptest.Server
	clock  *testClock
	logs   *syncBuffer
	admin  string // the bootstrap operator admin's token
	dbPath string
	dbURL  string // PostgreSQL, when the tests run on it
}

// databaseDump returns everything the database holds as bytes: the SQLite
// files, or every row of every table of the test's PostgreSQL schema as
// JSON, for tests that look for what must never be stored.
func (e *env) databaseDump() []byte {
	e.t.Helper()
	var out []byte
	if e.dbURL == "" {
		for _, p := range []string{e.dbPath, e.dbPath + "-wal"} {
			b, err := os.ReadFile(p)
			if err != nil && !os.IsNotExist(err) {
				e.t.Fatal(err)
			}
			out = append(out, b...)
		}
		return out
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, e.dbURL)
	if err != nil {
		e.t.Fatal(err)
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()`)
	if err != nil {
		e.t.Fatal(err)
	}
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		e.t.Fatal(err)
	}
	for _, tbl := range tables {
		rows, err := conn.Query(ctx, `SELECT row_to_json(t)::text FROM `+pgx.Identifier{tbl}.Sanitize()+` t`)
		if err != nil {
			e.t.Fatal(err)
		}
		lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			e.t.Fatal(err)
		}
		for _, l := range lines {
			out = append(out, l...)
			out = append(out, '\n')
		}
	}
	return out
}

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

// testDatabaseURL chooses the engine of the API tests: SQLite by default,
// PostgreSQL (a fresh schema per test) with LOCKBOX_TEST_ENGINE=postgres.
// `make test` runs the suite on both.
func testDatabaseURL(t testing.TB) string {
	switch e := os.Getenv("LOCKBOX_TEST_ENGINE"); e {
	case "", "sqlite":
		return ""
	case "postgres":
		return pgtest.URL(t)
	default:
		t.Fatalf("LOCKBOX_TEST_ENGINE=%q: want sqlite or postgres", e)
		return ""
	}
}

// testSecretKey encrypts the test server's signing keys in its database.
const testSecretKey = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="

const bootstrapToken = "bootstrap-token-for-tests-0123456789"

// cheapArgon keeps the many sign-ins of the tests fast; one test checks the
// production parameters.
var cheapArgon = &lockbox.Argon2Params{Memory: 1024, Time: 1, Threads: 1}

func newEnv(t testing.TB) *env {
	t.Helper()
	return newEnvWith(t, nil)
}

// newEnvWith is newEnv with the server's configuration changed by configure
// (a policy file, say) before it starts.
func newEnvWith(t testing.TB, configure func(*app.Config)) *env {
	t.Helper()
	dir := t.TempDir()
	clock := &testClock{t: time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)}
	logs := &syncBuffer{}
	dbURL := testDatabaseURL(t)
	c := app.Config{
		DataDir: dir, DatabaseURL: dbURL, SecretKey: testSecretKey, BootstrapToken: bootstrapToken, Clock: clock.Now, Argon2: cheapArgon,
		Logger: slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	if configure != nil {
		configure(&c)
	}
	srv, err := app.New(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.API)
	t.Cleanup(func() { hs.Close(); srv.Close() })
	return &env{t: t, srv: srv, http: hs, clock: clock, logs: logs, admin: bootstrapToken, dbPath: dir + "/lockbox.db", dbURL: dbURL}
}

// resp is an API answer.
type resp struct {
	Status int
	Body   []byte
	Header http.Header
}

func (r resp) decode(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("decoding %s: %v", r.Body, err)
	}
}

// errCode returns the error code of an error answer.
func (r resp) errCode() lockbox.ErrorCode {
	var b lockbox.ErrorBody
	_ = json.Unmarshal(r.Body, &b)
	return b.Error.Code
}

// call sends a request; body may be a string (sent raw), nil, or a value
// marshalled to JSON.
func (e *env) call(method, path, token string, body any) resp {
	e.t.Helper()
	r, err := e.do(method, path, token, body)
	if err != nil {
		e.t.Fatal(err)
	}
	return r
}

// do is call without the test: it reports transport errors instead of
// failing, so goroutines other than the test's may use it.
func (e *env) do(method, path, token string, body any) (resp, error) {
	e.t.Helper()
	var sent []byte
	switch b := body.(type) {
	case nil:
	case string:
		sent = []byte(b)
	default:
		buf, err := json.Marshal(b)
		if err != nil {
			return resp{}, err
		}
		sent = buf
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(sent)
	}
	req, err := http.NewRequest(method, e.http.URL+path, rd)
	if err != nil {
		return resp{}, err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := e.http.Client().Do(req)
	if err != nil {
		return resp{}, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return resp{}, err
	}
	r := resp{Status: res.StatusCode, Body: b, Header: res.Header}
	e.checkContract(req, sent, r)
	return r, nil
}

// withT returns the env bound to t (a subtest), so its helpers fail t.
func (e *env) withT(t *testing.T) *env {
	c := *e
	c.t = t
	return &c
}

// must sends a request and fails the test unless the answer has the status;
// it decodes the body into out when out is not nil.
func (e *env) must(status int, method, path, token string, body, out any) resp {
	e.t.Helper()
	r := e.call(method, path, token, body)
	if r.Status != status {
		e.t.Fatalf("%s %s: status %d, want %d: %s", method, path, r.Status, status, r.Body)
	}
	if out != nil {
		r.decode(e.t, out)
	}
	return r
}

// user is a test user with its credentials.
type user struct {
	*lockbox.User
	password string
	secret   string // TOTP
	token    string // an MFA session when secret is set
}

var userSeq int
var userSeqMu sync.Mutex

func nextSeq() int {
	userSeqMu.Lock()
	defer userSeqMu.Unlock()
	userSeq++
	return userSeq
}

// createUser creates a user as the creator's token would (the creator's
// rights are checked as on POST /v1/users), seeded with a password the way
// the demo does, since the API only invites; then it enrols TOTP and signs
// in with it, so the returned user holds an MFA session.
func (e *env) createUser(creator string, in lockbox.CreateUserInput) *user {
	e.t.Helper()
	if in.Email == "" {
		in.Email = fmt.Sprintf("user%d@example.com", nextSeq())
	}
	if in.DisplayName == "" {
		in.DisplayName = strings.Split(in.Email, "@")[0]
	}
	password := "correct horse battery " + in.Email
	ctx := context.Background()
	p, err := e.srv.Service.Authenticate(ctx, creator)
	if err != nil {
		e.t.Fatal(err)
	}
	seeded, err := e.srv.Service.SeedUser(ctx, p, in, password)
	if err != nil {
		e.t.Fatalf("seeding %s: %v", in.Email, err)
	}
	u := &user{User: seeded, password: password}
	var login lockbox.LoginOutput
	e.must(200, "POST", "/v1/auth/login", "", lockbox.LoginInput{Email: in.Email, Password: password}, &login)
	var enrol lockbox.TOTPEnrollment
	e.must(201, "POST", "/v1/me/totp", login.Token, nil, &enrol)
	e.must(200, "POST", "/v1/me/totp/verify", login.Token, lockbox.TOTPVerifyInput{Code: e.code(enrol.Secret)}, nil)
	u.secret = enrol.Secret
	u.token = e.loginMFA(u)
	return u
}

// code returns the current TOTP code of a secret at the server's clock.
func (e *env) code(secret string) string {
	c, err := totp.GenerateCodeCustom(secret, e.clock.Now(), totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

// loginMFA signs u in with a fresh one-time code. The clock moves on a TOTP
// step first, since a code is accepted once.
func (e *env) loginMFA(u *user) string {
	e.t.Helper()
	e.clock.Advance(30 * time.Second)
	var out lockbox.LoginOutput
	e.must(200, "POST", "/v1/auth/login", "", lockbox.LoginInput{Email: u.Email, Password: u.password, OTP: e.code(u.secret)}, &out)
	return out.Token
}

// loginPassword signs u in without a second factor.
func (e *env) loginPassword(u *user) string {
	e.t.Helper()
	var out lockbox.LoginOutput
	e.must(200, "POST", "/v1/auth/login", "", lockbox.LoginInput{Email: u.Email, Password: u.password}, &out)
	return out.Token
}

// world is a tenant with its people, and the operator's staff.
type world struct {
	tenant                          *lockbox.Tenant
	customerAdmin, approver, member *user
	engineer, lead, opAdmin         *user
	ticket                          *lockbox.Ticket
}

// newWorld onboards a tenant the way an operator does: the operator admin
// creates the tenant and invites its first tenant_admin, who adds the rest.
func (e *env) newWorld(name string) *world {
	e.t.Helper()
	w := &world{tenant: &lockbox.Tenant{}}
	e.must(201, "POST", "/v1/tenants", e.admin, lockbox.CreateTenantInput{Name: name}, w.tenant)
	w.customerAdmin = e.createUser(e.admin, lockbox.CreateUserInput{Kind: lockbox.KindCustomer, TenantID: w.tenant.ID, Roles: []lockbox.Role{lockbox.RoleTenantAdmin}})
	w.approver = e.createUser(w.customerAdmin.token, lockbox.CreateUserInput{Kind: lockbox.KindCustomer, TenantID: w.tenant.ID, Roles: []lockbox.Role{lockbox.RoleLockboxApprover}})
	w.member = e.createUser(w.customerAdmin.token, lockbox.CreateUserInput{Kind: lockbox.KindCustomer, TenantID: w.tenant.ID, Roles: []lockbox.Role{lockbox.RoleMember}})
	w.engineer = e.createUser(e.admin, lockbox.CreateUserInput{Kind: lockbox.KindOperator, Roles: []lockbox.Role{lockbox.RoleEngineer}})
	w.lead = e.createUser(e.admin, lockbox.CreateUserInput{Kind: lockbox.KindOperator, Roles: []lockbox.Role{lockbox.RoleEngineer}, Groups: []string{"support-leads"}})
	w.opAdmin = e.createUser(e.admin, lockbox.CreateUserInput{Kind: lockbox.KindOperator, Roles: []lockbox.Role{lockbox.RoleOperatorAdmin}})
	w.ticket = &lockbox.Ticket{}
	e.must(201, "POST", "/v1/tickets", w.member.token, lockbox.CreateTicketInput{TenantID: w.tenant.ID, Title: "Mail not arriving", Description: "Since Monday", Severity: 2}, w.ticket)
	return w
}

// request files a typical read request for the world's ticket.
func (e *env) request(w *world, d string) *lockbox.AccessRequest {
	e.t.Helper()
	return e.requestFor(w.engineer, w.ticket.ID, d)
}

// requestFor files a typical read request as the engineer for a ticket.
func (e *env) requestFor(engineer *user, ticket lockbox.TicketID, d string) *lockbox.AccessRequest {
	e.t.Helper()
	dur, err := lockbox.ParseDuration(d)
	if err != nil {
		e.t.Fatal(err)
	}
	r := &lockbox.AccessRequest{}
	e.must(201, "POST", "/v1/requests", engineer.token, lockbox.CreateRequestInput{
		TicketID: ticket, Resources: []string{"mailbox:alice"}, AccessLevel: lockbox.LevelRead,
		ReasonType: lockbox.ReasonCustomerInitiated, Justification: "Inspect the mail flow", Duration: dur,
	}, r)
	return r
}

// getRequest reads a request as the world's engineer.
func (e *env) getRequest(w *world, id lockbox.RequestID) *lockbox.AccessRequest {
	e.t.Helper()
	r := &lockbox.AccessRequest{}
	e.must(200, "GET", "/v1/requests/"+string(id), w.engineer.token, nil, r)
	return r
}

// events reads a tenant's whole log as an operator.
func (e *env) events(tenant lockbox.TenantID) []*lockbox.Event {
	e.t.Helper()
	var all []*lockbox.Event
	after := "-1"
	for {
		var page lockbox.List[*lockbox.Event]
		e.must(200, "GET", "/v1/tenants/"+string(tenant)+"/events?page_size=1000&after="+after, e.admin, nil, &page)
		all = append(all, page.Items...)
		if page.NextPageToken == "" {
			return all
		}
		after = page.NextPageToken
	}
}

// requestEvents returns the types of a request's events, in order.
func requestEvents(events []*lockbox.Event, id lockbox.RequestID) []string {
	var out []string
	for _, ev := range events {
		if ev.RequestID == id {
			out = append(out, string(ev.Type))
		}
	}
	return out
}

// eventCount is the number of events in a tenant's log.
func (e *env) eventCount(tenant lockbox.TenantID) int {
	e.t.Helper()
	return len(e.events(tenant))
}

// reqPath is the path of a request, or of one of its actions.
func reqPath(id lockbox.RequestID, action ...string) string {
	p := "/v1/requests/" + string(id)
	for _, a := range action {
		p += "/" + a
	}
	return p
}

// setLockbox changes the world's lockbox settings as its tenant admin.
func (e *env) setLockbox(w *world, patch any) *lockbox.LockboxSettings {
	e.t.Helper()
	out := &lockbox.LockboxSettings{}
	e.must(200, "PATCH", "/v1/tenants/"+string(w.tenant.ID)+"/lockbox", w.customerAdmin.token, patch, out)
	return out
}

// customer adds a customer user with the roles to the world, created by its
// tenant admin; the user holds an MFA session.
func (e *env) customer(w *world, roles ...lockbox.Role) *user {
	e.t.Helper()
	return e.createUser(w.customerAdmin.token, lockbox.CreateUserInput{Kind: lockbox.KindCustomer, TenantID: w.tenant.ID, Roles: roles})
}

// newTicket opens another ticket for the world, as its member.
func (e *env) newTicket(w *world, title string) *lockbox.Ticket {
	e.t.Helper()
	tk := &lockbox.Ticket{}
	e.must(201, "POST", "/v1/tickets", w.member.token, lockbox.CreateTicketInput{TenantID: w.tenant.ID, Title: title, Description: "details", Severity: 3}, tk)
	return tk
}

// eventsAfter reads a tenant's events with an index greater than after.
func (e *env) eventsAfter(tenant lockbox.TenantID, after int64) []*lockbox.Event {
	e.t.Helper()
	var all []*lockbox.Event
	cur := fmt.Sprint(after)
	for {
		var page lockbox.List[*lockbox.Event]
		e.must(200, "GET", "/v1/tenants/"+string(tenant)+"/events?page_size=1000&after="+cur, e.admin, nil, &page)
		all = append(all, page.Items...)
		if page.NextPageToken == "" {
			return all
		}
		cur = page.NextPageToken
	}
}

// lastIndex is the index of the newest event of a tenant's log, reading
// from a known index on.
func (e *env) lastIndex(tenant lockbox.TenantID, from int64) int64 {
	e.t.Helper()
	evs := e.eventsAfter(tenant, from)
	if len(evs) == 0 {
		return from
	}
	return evs[len(evs)-1].Index
}

// eventTypes lists the types of events.
func eventTypes(evs []*lockbox.Event) []string {
	out := []string{}
	for _, ev := range evs {
		out = append(out, string(ev.Type))
	}
	return out
}
