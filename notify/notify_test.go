package notify_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lockbox-dev/lockbox"
	"github.com/lockbox-dev/lockbox/notify"
	"github.com/lockbox-dev/lockbox/notify/mailpittest"
	"github.com/lockbox-dev/lockbox/postgres"
	"github.com/lockbox-dev/lockbox/postgres/pgtest"
)

func TestParseSMTPURL(t *testing.T) {
	for _, tc := range []struct {
		url, from string
		want      string // SMTPConfig.String(), or "error: <substring>"
	}{
		{"smtp://mail.example.com", "lockbox@example.com", "smtp://mail.example.com:587 (starttls opportunistic)"},
		{"smtp://u:s3cret@mail.example.com:2525", "lockbox@example.com", "smtp://u:***@mail.example.com:2525 (starttls mandatory)"},
		{"smtp://mail.example.com:25?starttls=false", "lockbox@example.com", "smtp://mail.example.com:25 (starttls off)"},
		{"smtps://u:s3cret@mail.example.com", "Lockbox <lockbox@example.com>", "smtps://u:***@mail.example.com:465 (implicit TLS)"},
		{"http://mail.example.com", "lockbox@example.com", "error: scheme"},
		{"smtp://u:s3cret@mail.example.com:99999", "lockbox@example.com", "error: port"},
		{"smtp://mail.example.com?tls=1", "lockbox@example.com", "error: unknown parameter"},
		{"smtp://mail.example.com", "", "error: --smtp-from is required"},
		{"smtp://mail.example.com", "not an address", "error: --smtp-from"},
	} {
		c, err := notify.ParseSMTPURL(tc.url, tc.from)
		got := ""
		if err != nil {
			got = "error: " + err.Error()
			if strings.Contains(got, "s3cret") {
				t.Errorf("%s: the error repeats the password: %v", tc.url, err)
			}
			if !strings.HasPrefix(tc.want, "error: ") || !strings.Contains(got, strings.TrimPrefix(tc.want, "error: ")) {
				t.Errorf("%s: %s, want %s", tc.url, got, tc.want)
			}
			continue
		}
		if got = c.String(); got != tc.want {
			t.Errorf("%s: %s, want %s", tc.url, got, tc.want)
		}
	}
}

func TestSignatureVerifies(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	body := []byte(`{"type":"request.approved"}`)
	h := notify.Sign("whsec_test", now, body)
	if !strings.HasPrefix(h, "t=1800000000,v1=") {
		t.Fatalf("header %q", h)
	}
	if err := notify.Verify("whsec_test", h, body, now.Add(time.Minute), 5*time.Minute); err != nil {
		t.Fatal(err)
	}
	for name, check := range map[string]error{
		"other secret":  notify.Verify("whsec_other", h, body, now, 5*time.Minute),
		"altered body":  notify.Verify("whsec_test", h, []byte(`{"type":"request.denied"}`), now, 5*time.Minute),
		"replayed late": notify.Verify("whsec_test", h, body, now.Add(time.Hour), 5*time.Minute),
		"malformed":     notify.Verify("whsec_test", "v1=abc", body, now, 5*time.Minute),
	} {
		if check == nil {
			t.Errorf("%s: verified", name)
		}
	}
}

// emailRow builds an approval e-mail notification to addr.
func emailRow(addr string, now time.Time) *lockbox.Notification {
	p, _ := json.Marshal(lockbox.NotificationPayload{Request: &lockbox.RequestSummary{
		ID: "req_bench", TenantID: "tnt_bench", TenantName: "Acme", TicketID: "tkt_1", TicketTitle: "Mail not arriving",
		RequesterID: "usr_eng", RequesterName: "Erin Engineer", RequesterEmail: "erin@operator.example",
		Resources: []string{"mailbox:alice"}, AccessLevel: lockbox.LevelRead, ReasonType: lockbox.ReasonCustomerInitiated,
		Justification: "Inspect the mail flow", RequestedDuration: lockbox.Duration(time.Hour),
		Status: lockbox.StatusPendingCustomer, DecisionDeadline: now.Add(12 * time.Hour),
	}})
	return &lockbox.Notification{
		ID: lockbox.NewID("ntf"), Key: "test|email|" + addr, TenantID: "tnt_bench", RequestID: "req_bench",
		Kind: lockbox.NotifyApprovalNeeded, Channel: lockbox.ChannelEmail, Recipient: addr, Payload: p,
		Status: lockbox.NotificationPending, CreatedAt: now, NextAttemptAt: &now,
	}
}

// TestTwoReplicasDeliverOnce runs two workers, each on its own connection
// pool to one PostgreSQL database, as two replicas do: every e-mail reaches
// mailpit exactly once.
func TestTwoReplicasDeliverOnce(t *testing.T) {
	mp := mailpittest.Start(t)
	url := pgtest.URL(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	smtp, err := notify.ParseSMTPURL(mp.SMTPURL, "lockbox@operator.example")
	if err != nil {
		t.Fatal(err)
	}
	const total = 60
	var stores []*postgres.Store
	for range 2 {
		s, err := postgres.Open(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		stores = append(stores, s)
	}
	now := time.Now()
	err = stores[0].Update(ctx, func(tx lockbox.Tx) error {
		for i := range total {
			if _, err := tx.EnqueueNotification(ctx, emailRow(fmt.Sprintf("approver%02d@acme.example", i), now)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	var wg sync.WaitGroup
	for _, s := range stores {
		w := notify.NewWorker(notify.Config{Queue: s, Store: s, Mailer: notify.NewSMTPMailer(smtp), Logger: quiet,
			PublicURL: "https://lockbox.example.com", Concurrency: 4, Poll: 20 * time.Millisecond})
		wg.Add(1)
		go func() { defer wg.Done(); w.Run(ctx) }()
	}
	if n := mp.WaitCount(t, total, 60*time.Second); n < total {
		t.Fatalf("%d of %d e-mails arrived", n, total)
	}
	time.Sleep(500 * time.Millisecond) // a duplicate would arrive now
	cancel()
	wg.Wait()
	per := map[string]int{}
	for _, m := range mp.Messages(t) {
		for _, r := range m.Recipients() {
			per[r]++
		}
	}
	if len(per) != total {
		t.Errorf("%d recipients got mail, want %d", len(per), total)
	}
	for r, n := range per {
		if n != 1 {
			t.Errorf("%s got %d e-mails, want 1", r, n)
		}
	}
	var rows []*lockbox.Notification
	_ = stores[1].View(context.Background(), func(r lockbox.Reader) error {
		rows, err = r.ListNotifications(context.Background(), lockbox.NotificationFilter{RequestID: "req_bench"})
		return err
	})
	for _, n := range rows {
		if n.Status != lockbox.NotificationDelivered || n.Attempts != 1 {
			t.Errorf("%s: %s after %d attempts", n.Recipient, n.Status, n.Attempts)
		}
	}
}
