package lockbox_test

// The environment of the domain tests (service_*_test.go): a lockbox.Service
// on a temporary SQLite store, with a clock the test moves, a JIT policy and
// a grant token issuer the test controls, and two tenants with their people.
// Fixtures are written to the store directly, so the log holds only what the
// use cases under test appended.

import (
	"context"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/lockbox-dev/lockbox"
	"github.com/lockbox-dev/lockbox/sqlite"
)

// testClock is a clock the test moves.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// stubPolicy is a JIT policy whose decision the test sets. It remembers the
// input it last saw.
type stubPolicy struct {
	mu     sync.Mutex
	decide func(lockbox.PolicyInput) lockbox.Decision
	last   lockbox.PolicyInput
}

func (p *stubPolicy) Evaluate(_ context.Context, in lockbox.PolicyInput) (lockbox.Decision, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.last = in
	return p.decide(in), nil
}

func (p *stubPolicy) set(d lockbox.Decision) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.decide = func(lockbox.PolicyInput) lockbox.Decision { return d }
}

// allowWith is a decision that allows with the given internal approvals
// (none: the internal step is waived).
func allowWith(groups ...lockbox.GroupApprovals) lockbox.Decision {
	return lockbox.Decision{Allowed: true, InternalApprovals: groups, InternalApprovalWaived: len(groups) == 0,
		MaxDuration: lockbox.Duration(24 * time.Hour), Policies: []string{"test"}}
}

// stubIssuer signs nothing: it hands out a token lasting ttl, or, when
// honest, capped at the window end as the TokenIssuer contract asks.
type stubIssuer struct {
	mu     sync.Mutex
	ttl    time.Duration
	honest bool // cap exp at the window end
	issued int
}

func (s *stubIssuer) IssueToken(r *lockbox.AccessRequest, now time.Time) (lockbox.IssuedToken, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.issued++
	exp := now.Add(s.ttl)
	if s.honest && exp.After(*r.AccessExpiresAt) {
		exp = *r.AccessExpiresAt
	}
	return lockbox.IssuedToken{Token: "grant-" + string(r.ID), ID: lockbox.NewID("jti"), ExpiresAt: exp}, nil
}

// domainEnv is a service with tenant "acme" (and "globex" for isolation)
// and its people.
type domainEnv struct {
	t      *testing.T
	ctx    context.Context
	svc    *lockbox.Service
	store  *sqlite.Store
	clock  *testClock
	policy *stubPolicy
	issuer *stubIssuer
	// committed collects the events of every committed change (OnCommit).
	committedMu sync.Mutex
	committed   []*lockbox.Event
	batch       []func(lockbox.Tx) error

	acme, globex *lockbox.Tenant
	ticket       *lockbox.Ticket // an open ticket of acme

	opAdmin, eng, eng2, lead1, lead2, lead3, gw *lockbox.User
	admin, admin2, apr1, apr2, member, foreign  *lockbox.User
}

var domainT0 = time.Date(2027, 3, 1, 9, 0, 0, 0, time.UTC)

func newDomainEnv(t *testing.T) *domainEnv {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "lockbox.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	e := &domainEnv{t: t, ctx: ctx, store: st, clock: &testClock{now: domainT0},
		policy: &stubPolicy{}, issuer: &stubIssuer{ttl: 5 * time.Minute, honest: true}}
	e.policy.set(allowWith(lockbox.GroupApprovals{Group: "support-leads", Count: 1}))
	e.svc = lockbox.NewService(lockbox.Config{
		Store: st, Policy: e.policy, Clock: e.clock.Now, Issuer: e.issuer,
		Argon2: &lockbox.Argon2Params{Memory: 1024, Time: 1, Threads: 1},
		OnCommit: func(evs []*lockbox.Event) {
			e.committedMu.Lock()
			defer e.committedMu.Unlock()
			e.committed = append(e.committed, evs...)
		},
	})

	// The fixtures commit in one transaction: SQLite syncs every commit.
	e.batch = []func(lockbox.Tx) error{}
	e.acme = e.newTenant("Acme")
	e.globex = e.newTenant("Globex")
	e.opAdmin = e.newUser(lockbox.KindOperator, "", "opadmin", nil, lockbox.RoleOperatorAdmin)
	e.eng = e.newUser(lockbox.KindOperator, "", "eng", []string{"support-leads"}, lockbox.RoleEngineer)
	e.eng2 = e.newUser(lockbox.KindOperator, "", "eng2", nil, lockbox.RoleEngineer)
	e.lead1 = e.newUser(lockbox.KindOperator, "", "lead1", []string{"support-leads"}, lockbox.RoleEngineer)
	e.lead2 = e.newUser(lockbox.KindOperator, "", "lead2", []string{"support-leads"}, lockbox.RoleEngineer)
	e.lead3 = e.newUser(lockbox.KindOperator, "", "lead3", []string{"support-leads", "devops-managers"}, lockbox.RoleEngineer)
	e.gw = e.newUser(lockbox.KindOperator, "", "gateway", nil, lockbox.RoleGateway)
	e.admin = e.newUser(lockbox.KindCustomer, e.acme.ID, "admin", nil, lockbox.RoleTenantAdmin)
	e.admin2 = e.newUser(lockbox.KindCustomer, e.acme.ID, "admin2", nil, lockbox.RoleTenantAdmin)
	e.apr1 = e.newUser(lockbox.KindCustomer, e.acme.ID, "apr1", nil, lockbox.RoleLockboxApprover)
	e.apr2 = e.newUser(lockbox.KindCustomer, e.acme.ID, "apr2", nil, lockbox.RoleLockboxApprover)
	e.member = e.newUser(lockbox.KindCustomer, e.acme.ID, "member", nil, lockbox.RoleMember)
	e.foreign = e.newUser(lockbox.KindCustomer, e.globex.ID, "foreign", nil, lockbox.RoleTenantAdmin)
	e.ticket = e.newTicket(e.acme.ID)
	batch := e.batch
	e.batch = nil
	e.update(func(tx lockbox.Tx) error {
		for _, fn := range batch {
			if err := fn(tx); err != nil {
				return err
			}
		}
		return nil
	})
	return e
}

// in makes t, a subtest, the test that e's helpers report to, until the
// returned func restores the parent: defer e.in(t)().
func (e *domainEnv) in(t *testing.T) func() {
	parent := e.t
	e.t = t
	return func() { e.t = parent }
}

// update runs fn in a store transaction, failing the test on an error.
// While the fixtures are made, fn joins their one transaction instead.
func (e *domainEnv) update(fn func(tx lockbox.Tx) error) {
	e.t.Helper()
	if e.batch != nil {
		e.batch = append(e.batch, fn)
		return
	}
	if err := e.store.Update(e.ctx, fn); err != nil {
		e.t.Fatal(err)
	}
}

func (e *domainEnv) newTenant(name string) *lockbox.Tenant {
	e.t.Helper()
	now := e.clock.Now()
	tn := &lockbox.Tenant{ID: lockbox.TenantID(lockbox.NewID("tnt")), Name: name,
		Lockbox: lockbox.DefaultLockboxSettings(), CreatedAt: now, AdminInvitedAt: &now}
	e.update(func(tx lockbox.Tx) error { return tx.CreateTenant(e.ctx, tn) })
	return tn
}

// newUser stores a user with a password ("correct horse battery") and a
// confirmed TOTP secret.
func (e *domainEnv) newUser(kind lockbox.UserKind, tenant lockbox.TenantID, name string, groups []string, roles ...lockbox.Role) *lockbox.User {
	e.t.Helper()
	if groups == nil {
		groups = []string{}
	}
	now := e.clock.Now()
	u := &lockbox.User{ID: lockbox.UserID(lockbox.NewID("usr")), Kind: kind, TenantID: tenant,
		Email: name + "." + string(tenant) + "@example.com", DisplayName: name, Roles: roles, Groups: groups,
		CreatedAt: now, UpdatedAt: now, TOTPEnabled: true, TOTPSecret: "JBSWY3DPEHPK3PXP",
		PasswordHash: testPasswordHash}
	if err := lockbox.ValidateUserFields(u); err != nil {
		e.t.Fatal(err)
	}
	e.update(func(tx lockbox.Tx) error { return tx.CreateUser(e.ctx, u) })
	return u
}

var testPasswordHash = lockbox.HashPassword("correct horse battery", lockbox.Argon2Params{Memory: 1024, Time: 1, Threads: 1})

func (e *domainEnv) newTicket(tenant lockbox.TenantID) *lockbox.Ticket {
	e.t.Helper()
	now := e.clock.Now()
	tk := &lockbox.Ticket{ID: lockbox.TicketID(lockbox.NewID("tkt")), TenantID: tenant, Title: "Mail lost",
		Severity: 2, Status: lockbox.TicketOpen, CreatedBy: e.member.ID, CreatedAt: now, UpdatedAt: now}
	e.update(func(tx lockbox.Tx) error { return tx.CreateTicket(e.ctx, tk) })
	return tk
}

// user reads u's current record.
func (e *domainEnv) user(u *lockbox.User) *lockbox.User {
	e.t.Helper()
	var cur *lockbox.User
	if err := e.store.View(e.ctx, func(r lockbox.Reader) error {
		var err error
		cur, err = r.GetUser(e.ctx, u.ID)
		return err
	}); err != nil {
		e.t.Fatal(err)
	}
	return cur
}

// changeUser changes u's stored record (a role change made elsewhere).
func (e *domainEnv) changeUser(u *lockbox.User, fn func(*lockbox.User)) {
	e.t.Helper()
	e.update(func(tx lockbox.Tx) error {
		cur, err := tx.GetUser(e.ctx, u.ID)
		if err != nil {
			return err
		}
		fn(cur)
		return tx.UpdateUser(e.ctx, cur)
	})
}

// restoreUser writes back a record read earlier, undoing what a case did,
// so the cases of a table can share one environment.
func (e *domainEnv) restoreUser(u *lockbox.User) {
	e.t.Helper()
	e.update(func(tx lockbox.Tx) error { return tx.UpdateUser(e.ctx, u) })
}

// resetSettings gives tenant t the default lockbox settings again.
func (e *domainEnv) resetSettings(t lockbox.TenantID) {
	e.t.Helper()
	e.changeSettings(t, func(s *lockbox.LockboxSettings) { *s = lockbox.DefaultLockboxSettings() })
}

// changeSettings changes a tenant's stored lockbox settings directly.
func (e *domainEnv) changeSettings(t lockbox.TenantID, fn func(*lockbox.LockboxSettings)) {
	e.t.Helper()
	e.update(func(tx lockbox.Tx) error {
		tn, err := tx.GetTenant(e.ctx, t)
		if err != nil {
			return err
		}
		fn(&tn.Lockbox)
		return tx.UpdateTenant(e.ctx, tn)
	})
}

// mfa is u, freshly read, signed in with a password and a one-time code.
func (e *domainEnv) mfa(u *lockbox.User) *lockbox.Principal {
	return &lockbox.Principal{User: e.user(u), CredentialKind: lockbox.CredentialSession, AMR: []string{"pwd", "otp"}}
}

// pwd is u, freshly read, signed in with a password only.
func (e *domainEnv) pwd(u *lockbox.User) *lockbox.Principal {
	return &lockbox.Principal{User: e.user(u), CredentialKind: lockbox.CredentialSession, AMR: []string{"pwd"}}
}

// request files an access request of eng on the ticket, as the policy
// decides, and fails the test if it is refused.
func (e *domainEnv) request(ticket *lockbox.Ticket, d time.Duration) *lockbox.AccessRequest {
	e.t.Helper()
	r, err := e.svc.CreateRequest(e.ctx, e.mfa(e.eng), requestInput(ticket.ID, d))
	if err != nil {
		e.t.Fatalf("filing a request: %v", err)
	}
	return r
}

func requestInput(ticket lockbox.TicketID, d time.Duration) lockbox.CreateRequestInput {
	return lockbox.CreateRequestInput{TicketID: ticket, Resources: []string{"mailbox:alice"},
		AccessLevel: lockbox.LevelRead, ReasonType: lockbox.ReasonCustomerInitiated,
		Justification: "the customer reports lost mail", Duration: lockbox.Duration(d)}
}

// approved files a request (internal step waived) and has apr1 approve it.
func (e *domainEnv) approved(d time.Duration) *lockbox.AccessRequest {
	e.t.Helper()
	e.policy.set(allowWith())
	r := e.request(e.ticket, d)
	r, err := e.svc.Review(e.ctx, e.mfa(e.apr1), r.ID, lockbox.ReviewInput{Decision: lockbox.DecisionApprove, Reason: "ok"})
	if err != nil || r.Status != lockbox.StatusApproved {
		e.t.Fatalf("approving: %v", err)
	}
	return r
}

// stored reads request id from the store.
func (e *domainEnv) stored(id lockbox.RequestID) *lockbox.AccessRequest {
	e.t.Helper()
	var r *lockbox.AccessRequest
	if err := e.store.View(e.ctx, func(rd lockbox.Reader) error {
		var err error
		r, err = rd.GetRequest(e.ctx, id)
		return err
	}); err != nil {
		e.t.Fatal(err)
	}
	return r
}

// events returns the events of a log (a tenant's, or lockbox.SystemLog).
func (e *domainEnv) events(t lockbox.TenantID) []*lockbox.Event {
	e.t.Helper()
	var out []*lockbox.Event
	if err := e.store.View(e.ctx, func(r lockbox.Reader) error {
		var err error
		out, err = r.ListEvents(e.ctx, lockbox.EventFilter{TenantID: t, After: -1})
		return err
	}); err != nil {
		e.t.Fatal(err)
	}
	return out
}

// logMark is a position in every log, to ask what was appended since.
type logMark map[lockbox.TenantID]int

func (e *domainEnv) mark() logMark {
	m := logMark{}
	for _, t := range []lockbox.TenantID{e.acme.ID, e.globex.ID, lockbox.SystemLog} {
		m[t] = len(e.events(t))
	}
	return m
}

// since lists the types of the events appended to log t after the mark.
func (e *domainEnv) since(m logMark, t lockbox.TenantID) []lockbox.EventType {
	e.t.Helper()
	var out []lockbox.EventType
	for _, ev := range e.events(t)[m[t]:] {
		out = append(out, ev.Type)
	}
	return out
}

// expectEvents checks that exactly the given events were appended to log t
// since the mark, and nothing to any other log (invariant 5: each change
// commits with its events, a refused one with none).
func (e *domainEnv) expectEvents(m logMark, t lockbox.TenantID, want ...lockbox.EventType) {
	e.t.Helper()
	for log := range m {
		got := e.since(m, log)
		w := []lockbox.EventType(nil)
		if log == t {
			w = want
		}
		if !slices.Equal(got, w) {
			e.t.Errorf("log %s: appended %v, want %v", log, got, w)
		}
	}
}

// revoked reports whether the revocation feed announces request id.
func (e *domainEnv) revoked(id lockbox.RequestID) (lockbox.RequestStatus, bool) {
	e.t.Helper()
	items, _, err := e.svc.ListRevocations(e.ctx, e.mfa(e.gw), 0, 0)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, r := range items {
		if r.RequestID == id {
			return r.Status, true
		}
	}
	return "", false
}

func approve(reason string) lockbox.ReviewInput {
	return lockbox.ReviewInput{Decision: lockbox.DecisionApprove, Reason: reason}
}

func deny(reason string) lockbox.ReviewInput {
	return lockbox.ReviewInput{Decision: lockbox.DecisionDeny, Reason: reason}
}

// wantCode fails the test unless err has the code ("" for no error).
func wantCode(t *testing.T, what string, err error, code lockbox.ErrorCode) {
	t.Helper()
	if got := codeOf(err); got != code {
		t.Fatalf("%s: %v (code %q), want code %q", what, err, got, code)
	}
}
