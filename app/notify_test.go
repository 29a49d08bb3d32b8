package app_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/lockbox-dev/lockbox"
	"github.com/lockbox-dev/lockbox/app"
	"github.com/lockbox-dev/lockbox/notify"
)

// TestServeDeliversAndReminds runs a whole server: a request reaching
// pending_customer is e-mailed to the tenant's admin by the delivery worker
// Serve starts (to the log transport, without --smtp-url), and the deadline
// sweeper enqueues one reminder when the deadline is within
// --reminder-before.
func TestServeDeliversAndReminds(t *testing.T) {
	clk := &clock{t: time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)}
	srv := start(t, app.Config{Clock: clk.now, SweepInterval: 20 * time.Millisecond, BootstrapToken: "bootstrap-token-0123456789abcdef",
		Argon2: &lockbox.Argon2Params{Memory: 1024, Time: 1, Threads: 1}, PublicURL: "https://lockbox.example.com",
		Notify: app.NotifyConfig{ReminderBefore: 13 * time.Hour, ReminderInterval: 20 * time.Millisecond}})
	ctx := context.Background()
	svc := srv.Service
	op, err := svc.Authenticate(ctx, "bootstrap-token-0123456789abcdef")
	if err != nil {
		t.Fatal(err)
	}
	tn, _ := svc.CreateTenant(ctx, op, lockbox.CreateTenantInput{Name: "T"})
	user := func(in lockbox.CreateUserInput) *lockbox.Principal {
		in.DisplayName = strings.Split(in.Email, "@")[0]
		u, err := svc.SeedUser(ctx, op, in, "password-123456")
		if err != nil {
			t.Fatal(err)
		}
		return &lockbox.Principal{User: u, AMR: []string{"pwd", "otp"}}
	}
	user(lockbox.CreateUserInput{Email: "admin@t.example", Kind: lockbox.KindCustomer, TenantID: tn.ID, Roles: []lockbox.Role{lockbox.RoleTenantAdmin}})
	eng := user(lockbox.CreateUserInput{Email: "eng@op.example", Kind: lockbox.KindOperator, Roles: []lockbox.Role{lockbox.RoleEngineer}})
	lead := user(lockbox.CreateUserInput{Email: "lead@op.example", Kind: lockbox.KindOperator, Roles: []lockbox.Role{lockbox.RoleEngineer}, Groups: []string{"support-leads"}})
	tk, err := svc.CreateTicket(ctx, eng, lockbox.CreateTicketInput{TenantID: tn.ID, Title: "t", Severity: 3})
	if err != nil {
		t.Fatal(err)
	}
	r, err := svc.CreateRequest(ctx, eng, lockbox.CreateRequestInput{TicketID: tk.ID, Resources: []string{"db:1"}, AccessLevel: lockbox.LevelRead,
		ReasonType: lockbox.ReasonIncident, Justification: "x", Duration: lockbox.Duration(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if r, err = svc.Review(ctx, lead, r.ID, lockbox.ReviewInput{Decision: lockbox.DecisionApprove, Reason: "ok"}); err != nil || r.Status != lockbox.StatusPendingCustomer {
		t.Fatalf("internal approval: %v %v", r, err)
	}
	mailer := srv.Mailer.(*notify.LogMailer)
	count := func(subject string) int {
		n := 0
		for _, m := range mailer.Sent() {
			if m.To == "admin@t.example" && strings.Contains(m.Subject, subject) && strings.Contains(m.Text, "https://lockbox.example.com/requests/"+string(r.ID)) {
				n++
			}
		}
		return n
	}
	deadline := time.Now().Add(10 * time.Second)
	for count("Approval needed") == 0 || count("Reminder") == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("after 10s: %d approval and %d reminder e-mails to the tenant admin", count("Approval needed"), count("Reminder"))
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond) // more sweeps: no second reminder
	if a, r := count("Approval needed"), count("Reminder"); a != 1 || r != 1 {
		t.Fatalf("%d approval and %d reminder e-mails, want one each", a, r)
	}
	res, err := http.Get(srv.URL() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if !strings.Contains(string(body), `lockbox_notification_attempts_total{channel="email",outcome="delivered"}`) {
		t.Errorf("/metrics does not count delivered e-mails")
	}
}
