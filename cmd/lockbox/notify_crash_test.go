package main

import (
	"context"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lockbox-dev/lockbox"
	"github.com/lockbox-dev/lockbox/client"
	"github.com/lockbox-dev/lockbox/notify/mailpittest"
	"github.com/lockbox-dev/lockbox/postgres/pgtest"
)

// startServeWith runs `lockbox serve` on the database in dir (SQLite) or
// at dbURL, with extra flags, and returns the process and its URL.
func startServeWith(t *testing.T, dir, dbURL string, args ...string) (*exec.Cmd, string, *lockedBuffer) {
	t.Helper()
	r := startServe(t, []string{"LOCKBOX_DATA_DIR=" + dir, "LOCKBOX_DATABASE_URL=" + dbURL, "LOCKBOX_BOOTSTRAP_TOKEN=" + replicaBootstrap}, args...)
	return r.cmd, r.url, r.stderr
}

// TestNotificationSurvivesSIGKILL kills the server (SIGKILL) after a
// request reached pending_customer and while its e-mails cannot be sent
// (the SMTP server is down), then starts it again with a working SMTP
// server: every recipient gets its e-mail, exactly once. It runs on SQLite
// and on PostgreSQL.
func TestNotificationSurvivesSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("starts server processes")
	}
	t.Run("sqlite", func(t *testing.T) { testNotificationSurvivesSIGKILL(t, "") })
	t.Run("postgres", func(t *testing.T) { testNotificationSurvivesSIGKILL(t, pgtest.URL(t)) })
}

func testNotificationSurvivesSIGKILL(t *testing.T, dbURL string) {
	mp := mailpittest.Start(t)
	dead := mailpittest.FreeAddr(t) // nothing listens here
	dir := t.TempDir()
	fast := []string{"--smtp-from", "lockbox@operator.example", "--notify-backoff", "200ms",
		"--notify-max-backoff", "400ms", "--notify-lease", "3s", "--public-url", "https://lockbox.example.com"}
	first, base, _ := startServeWith(t, dir, dbURL, append([]string{"--smtp-url", "smtp://" + dead + "?starttls=false"}, fast...)...)

	ctx := context.Background()
	op := client.New(base, replicaBootstrap)
	tn, err := op.CreateTenant(ctx, lockbox.CreateTenantInput{Name: "Crashy"})
	if err != nil {
		t.Fatal(err)
	}
	admin, _, _ := mfaClient(t, ctx, base, op, lockbox.CreateUserInput{Email: "admin@crashy.example", DisplayName: "Ada Admin", Kind: lockbox.KindCustomer, TenantID: tn.ID, Roles: []lockbox.Role{lockbox.RoleTenantAdmin}})
	mfaClient(t, ctx, base, admin, lockbox.CreateUserInput{Email: "approver@crashy.example", DisplayName: "Abe Approver", Kind: lockbox.KindCustomer, TenantID: tn.ID, Roles: []lockbox.Role{lockbox.RoleLockboxApprover}})
	emails := []string{"security@crashy.example"}
	if _, err := admin.UpdateLockbox(ctx, tn.ID, lockbox.LockboxPatch{NotificationEmails: &emails}); err != nil {
		t.Fatal(err)
	}
	eng, _, _ := mfaClient(t, ctx, base, op, lockbox.CreateUserInput{Email: "eng@op.example", DisplayName: "Erin Engineer", Kind: lockbox.KindOperator, Roles: []lockbox.Role{lockbox.RoleEngineer}})
	lead, _, _ := mfaClient(t, ctx, base, op, lockbox.CreateUserInput{Email: "lead@op.example", DisplayName: "Lee Lead", Kind: lockbox.KindOperator, Roles: []lockbox.Role{lockbox.RoleEngineer}, Groups: []string{"support-leads"}})
	tk, err := eng.CreateTicket(ctx, lockbox.CreateTicketInput{TenantID: tn.ID, Title: "Mail not arriving", Severity: 2})
	if err != nil {
		t.Fatal(err)
	}
	r, err := eng.CreateRequest(ctx, lockbox.CreateRequestInput{TicketID: tk.ID, Resources: []string{"mailbox:alice"},
		AccessLevel: lockbox.LevelRead, ReasonType: lockbox.ReasonCustomerInitiated, Justification: "Inspect the mail flow", Duration: lockbox.Duration(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if r, err = lead.Approve(ctx, r.ID, lockbox.ApproveInput{Reason: "ok"}); err != nil || r.Status != lockbox.StatusPendingCustomer {
		t.Fatalf("internal approval: %v, %v", r, err)
	}
	// The e-mails are committed and being tried, in vain.
	want := map[string]string{
		"admin@crashy.example": "Approval needed", "approver@crashy.example": "Approval needed",
		"security@crashy.example": "Approval needed", "eng@op.example": "approved your access request",
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		ns, err := op.RequestNotifications(ctx, r.ID)
		if err != nil {
			t.Fatal(err)
		}
		failing := 0
		for _, n := range ns {
			if n.Channel == lockbox.ChannelEmail && n.Status == lockbox.NotificationPending && n.Attempts > 0 && n.LastError != "" {
				failing++
			}
		}
		if failing == len(want) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d e-mails are failing against the dead SMTP server: %+v", failing, len(want), ns)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err := first.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = first.Wait()
	if n := mp.Count(t); n != 0 {
		t.Fatalf("mailpit has %d messages before the restart", n)
	}

	// Restarted with a working SMTP server: each recipient once.
	_, base, _ = startServeWith(t, dir, dbURL, append([]string{"--smtp-url", mp.SMTPURL}, fast...)...)
	if n := mp.WaitCount(t, len(want), 30*time.Second); n < len(want) {
		t.Fatalf("%d of %d e-mails arrived after the restart", n, len(want))
	}
	time.Sleep(time.Second) // a duplicate would arrive now
	msgs := mp.Messages(t)
	if len(msgs) != len(want) {
		t.Errorf("%d e-mails arrived, want %d (one per recipient)", len(msgs), len(want))
	}
	for _, m := range msgs {
		rcpt := m.Recipients()
		if len(rcpt) != 1 || !strings.Contains(m.Subject, want[rcpt[0]]) {
			t.Errorf("unexpected e-mail to %v: %q", rcpt, m.Subject)
		}
	}
	op = client.New(base, replicaBootstrap)
	ns, err := op.RequestNotifications(ctx, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range ns {
		if n.Channel == lockbox.ChannelEmail && (n.Status != lockbox.NotificationDelivered || n.Attempts < 2 || n.History[0].Error == "") {
			t.Errorf("%s: %s after %d attempts (history %+v)", n.Recipient, n.Status, n.Attempts, n.History)
		}
	}
}
