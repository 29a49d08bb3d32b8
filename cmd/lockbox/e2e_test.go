package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lockbox-dev/lockbox"
	"github.com/lockbox-dev/lockbox/app"
	"github.com/lockbox-dev/lockbox/notify"
)

// testClock is the server's and the command line's clock, moved by hand.
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

// okJSON runs args with -o json and decodes the answer into v.
func (h *harness) okJSON(v any, args ...string) {
	h.t.Helper()
	out := h.ok(append([]string{"-o", "json"}, args...)...)
	if err := json.Unmarshal([]byte(out), v); err != nil {
		h.t.Fatalf("lockbox %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// invitationToken delivers the server's due e-mails and returns the token of
// the newest invitation link sent to addr (the e-mails without --smtp-url
// are kept in memory; the link is never logged).
func invitationToken(t *testing.T, srv *app.Server, addr string) string {
	t.Helper()
	for {
		n, err := srv.Notifier.RunOnce(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
	}
	sent := srv.Mailer.(*notify.LogMailer).Sent()
	for i := len(sent) - 1; i >= 0; i-- {
		if m := invitationLinkRE.FindStringSubmatch(sent[i].Text); m != nil && sent[i].To == addr {
			return m[1]
		}
	}
	t.Fatalf("no invitation e-mail to %s", addr)
	return ""
}

var invitationLinkRE = regexp.MustCompile(`/invitations/(lbx_i_[A-Za-z0-9_-]+)`)

// TestEndToEnd walks the lockbox workflow through the command line against
// a real server (SQLite store, service, HTTP API): an operator admin sets up
// a tenant and people, an engineer files a request, a support lead approves
// it internally, the customer's admin approves it with MFA, and the log
// shows every step.
func TestEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a server")
	}
	const boot = "bootstrap-token-for-the-cli-test-0123456789"
	clock := &testClock{t: time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)}
	srv, err := app.New(context.Background(), app.Config{
		DataDir: t.TempDir(), BootstrapToken: boot, Clock: clock.Now,
		Argon2: &lockbox.Argon2Params{Memory: 1024, Time: 1, Threads: 1},
		Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.API)
	t.Cleanup(func() { hs.Close(); srv.Close() })

	h := newHarness(t)
	h.env["LOCKBOX_SERVER"] = hs.URL
	h.clock = clock.Now

	// The operator admin (bootstrap token) onboards a tenant and people.
	var tenant lockbox.Tenant
	h.okJSON(&tenant, "--token", boot, "tenant", "create", "Acme Corp")
	tid := string(tenant.ID)
	const pw = "correct horse battery"
	var ann, eve, lea lockbox.User
	h.okJSON(&ann, "--token", boot, "user", "invite", "--email", "ann@acme.test", "--name", "Ann", "--tenant", tid,
		"--role", "tenant_admin")
	h.okJSON(&eve, "--token", boot, "user", "invite", "--email", "eve@op.test", "--name", "Eve", "--role", "engineer",
		"--isolated")
	h.okJSON(&lea, "--token", boot, "user", "invite", "--email", "lea@op.test", "--name", "Lea", "--role", "engineer",
		"--group", "support-leads")
	if ann.Kind != lockbox.KindCustomer || !eve.Isolated || !lea.InGroup("support-leads") {
		t.Fatalf("users: %+v %+v %+v", ann, eve, lea)
	}
	if out := h.ok("--token", boot, "user", "list", "--tenant", tid); !strings.Contains(out, "ann@acme.test") {
		t.Errorf("user list:\n%s", out)
	}

	// Each accepts the invitation e-mailed to them: their own password and
	// an authenticator, in one step, then signs in under a profile.
	secrets := map[string]string{}
	for _, who := range []string{"eve@op.test", "lea@op.test", "ann@acme.test"} {
		token := invitationToken(t, srv, who)
		var inv lockbox.InvitationInfo
		h.okJSON(&inv, "invitation", "show", token)
		if inv.Email != who || !inv.SecondFactorRequired {
			t.Fatalf("invitation of %s: %+v", who, inv)
		}
		var enrol lockbox.TOTPEnrollment
		h.okJSON(&enrol, "invitation", "totp", token)
		code := strings.TrimSpace(h.ok("totp", "code", enrol.Secret))
		h.stdin = pw + "\n"
		h.ok("invitation", "accept", token, "--otp", code, "--password-stdin")
		h.stdin = ""
		h.fails("already used", "invitation", "show", token)
		secrets[who] = enrol.Secret
	}
	clock.Advance(30 * time.Second) // a code is accepted once
	for profile, who := range map[string]string{"eve": "eve@op.test", "lea": "lea@op.test", "ann": "ann@acme.test"} {
		code := strings.TrimSpace(h.ok("totp", "code", secrets[who]))
		h.ok("--profile", profile, "login", "--email", who, "--password", pw, "--otp", code)
	}
	var me lockbox.Me
	h.okJSON(&me, "--profile", "ann", "whoami")
	if !me.MFA || !me.TOTPEnabled || me.ID != ann.ID {
		t.Fatalf("whoami: %+v", me)
	}

	// Ann changes the tenant's settings; an operator cannot.
	var settings lockbox.LockboxSettings
	h.okJSON(&settings, "--profile", "ann", "lockbox", "set", tid, "--notification-email", "sec@acme.test", "--max-access-duration", "4h")
	if settings.MaxAccessDuration.D() != 4*time.Hour || len(settings.NotificationEmails) != 1 || !settings.Enabled {
		t.Errorf("settings: %+v", settings)
	}
	h.fails("403 forbidden", "--token", boot, "lockbox", "set", tid, "--enabled=false")

	// Eve files a request on a ticket.
	var ticket lockbox.Ticket
	h.okJSON(&ticket, "--profile", "eve", "ticket", "create", "--tenant", tid, "--title", "Mail lost",
		"--description", "Since Monday", "--severity", "2")
	h.ok("--profile", "ann", "ticket", "comment", string(ticket.ID), "Please restore it")
	var req lockbox.AccessRequest
	h.okJSON(&req, "--profile", "eve", "request", "create", "--ticket", string(ticket.ID), "--resource", "mailbox:42",
		"--level", "read", "--reason-type", "customer_initiated_support", "--justification", "Restore the mail", "--duration", "1h")
	rid := string(req.ID)
	if req.Status != lockbox.StatusPendingInternal {
		t.Fatalf("new request: %+v", req)
	}

	// Nobody approves their own request.
	h.fails("403 forbidden", "--profile", "eve", "request", "approve", rid, "--reason", "me")

	// Lea approves internally, Ann as the customer, shortening the window.
	h.okJSON(&req, "--profile", "lea", "request", "approve", rid, "--reason", "looks right")
	if req.Status != lockbox.StatusPendingCustomer {
		t.Fatalf("after internal approval: %s", req.Status)
	}
	// Ann, a customer, cannot read operator users, yet sees who asks and
	// who approved internally.
	out := h.ok("--profile", "ann", "request", "show", rid)
	for _, want := range []string{"Requester:", "Eve <eve@op.test> (" + string(eve.ID) + ")", "Lea (" + string(lea.ID) + ")", "(Mail lost)"} {
		if !strings.Contains(out, want) {
			t.Errorf("request show lacks %q:\n%s", want, out)
		}
	}
	out = h.ok("--profile", "ann", "request", "approve", rid, "--reason", "go ahead", "--duration", "30m")
	if !strings.Contains(out, "approved") || !strings.Contains(out, "Access window:") || !strings.Contains(out, "30m") || strings.Contains(out, "30m0s") {
		t.Errorf("approve output:\n%s", out)
	}
	out = h.ok("--profile", "ann", "request", "list", "--tenant", tid, "--status", "approved")
	if !strings.Contains(out, rid) || !strings.Contains(out, "mailbox:42") || !strings.Contains(out, "Eve") {
		t.Errorf("request list:\n%s", out)
	}

	// A decided request takes no more reviews.
	h.fails("409 conflict", "--profile", "lea", "request", "deny", rid, "--reason", "too late")

	// Ann revokes the access; the ticket shows its history.
	h.okJSON(&req, "--profile", "ann", "request", "revoke", rid, "--reason", "done, thanks")
	if req.Status != lockbox.StatusRevoked || req.EndedBy != ann.ID {
		t.Errorf("after revoke: %+v", req)
	}
	h.ok("--profile", "eve", "ticket", "resolve", string(ticket.ID))
	out = h.ok("--profile", "ann", "ticket", "show", string(ticket.ID))
	for _, want := range []string{"Please restore it", "History:", "ticket.resolved", "resolved"} {
		if !strings.Contains(out, want) {
			t.Errorf("ticket show lacks %q:\n%s", want, out)
		}
	}

	// The tenant's log has every step, in order, and pages through the
	// printed next-page command.
	var events lockbox.List[*lockbox.Event]
	h.okJSON(&events, "--profile", "ann", "events", tid, "--page-size", "1000")
	var types []string
	for _, e := range events.Items {
		types = append(types, string(e.Type))
	}
	got := strings.Join(types, " ")
	for _, want := range []string{"request.created", "request.pending_customer", "request.approved", "request.revoked", "ticket.resolved"} {
		if !strings.Contains(got, want) {
			t.Errorf("events lack %s: %s", want, got)
		}
	}
	if strings.Index(got, "request.approved") > strings.Index(got, "request.revoked") {
		t.Errorf("events out of order: %s", got)
	}
	// The table names who acted (issue 19, newcomer item 7).
	out = h.ok("--profile", "ann", "events", tid, "--type", "request.created")
	if !strings.Contains(out, "Eve") || strings.Contains(out, string(eve.ID)) {
		t.Errorf("the events table does not name the requester:\n%s", out)
	}
	out = h.ok("--profile", "ann", "events", tid, "--page-size", "2")
	i := strings.Index(out, "next page: lockbox ")
	if i < 0 {
		t.Fatalf("no next page line:\n%s", out)
	}
	next := strings.Fields(strings.TrimSpace(out[i+len("next page: lockbox "):]))
	var page2 lockbox.List[*lockbox.Event]
	h.okJSON(&page2, next...)
	if len(page2.Items) != 2 || page2.Items[0].Index != events.Items[2].Index {
		t.Errorf("second page starts at %+v, want event %d", page2.Items, events.Items[2].Index)
	}

	// Ann signs out: the server ends her session, so her old token is
	// refused; the lead's session is untouched.
	var file credentialsFile
	if b, err := os.ReadFile(h.env["LOCKBOX_CONFIG"]); err != nil || json.Unmarshal(b, &file) != nil || file.Profiles["ann"] == nil {
		t.Fatalf("reading the credentials file: %v", err)
	}
	annToken := file.Profiles["ann"].Token
	if out := h.ok("--profile", "ann", "logout"); !strings.Contains(out, "The server ended the session.") {
		t.Errorf("logout output %q", out)
	}
	h.fails("not signed in", "--profile", "ann", "whoami")
	h.fails("401 unauthenticated", "--token", annToken, "whoami")
	h.ok("--profile", "lea", "whoami")
}
