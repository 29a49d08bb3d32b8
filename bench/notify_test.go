package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lockbox-dev/lockbox"
	"github.com/lockbox-dev/lockbox/notify"
	"github.com/lockbox-dev/lockbox/notify/mailpittest"
	"github.com/lockbox-dev/lockbox/postgres"
	"github.com/lockbox-dev/lockbox/postgres/pgtest"
	"github.com/lockbox-dev/lockbox/sqlite"
)

// BenchmarkNotify measures notifications delivered per second from the
// outbox: e-mails over SMTP to a local mailpit, and signed webhooks to a
// local HTTPS receiver, with the outbox on SQLite and on PostgreSQL. b.N
// notifications are enqueued first; the clock runs from the worker's start
// to the last delivery.
//
//	go test -run '^$' -bench Notify -benchtime 2000x ./bench/
func BenchmarkNotify(b *testing.B) {
	for _, engine := range []string{"sqlite", "postgres"} {
		for _, channel := range []lockbox.NotificationChannel{lockbox.ChannelEmail, lockbox.ChannelWebhook} {
			b.Run(fmt.Sprintf("%s/%s", engine, channel), func(b *testing.B) { benchNotify(b, engine, channel) })
		}
	}
}

type outboxStore interface {
	lockbox.Store
	lockbox.NotificationQueue
}

func benchNotify(b *testing.B, engine string, channel lockbox.NotificationChannel) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var store outboxStore
	switch engine {
	case "sqlite":
		s, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "lockbox.db"))
		if err != nil {
			b.Fatal(err)
		}
		store = s
	default:
		s, err := postgres.Open(ctx, pgtest.URL(b))
		if err != nil {
			b.Fatal(err)
		}
		store = s
	}
	defer store.Close()

	var delivered func() int
	cfg := notify.Config{Queue: store, Store: store, PublicURL: "https://lockbox.example.com",
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Poll: 10 * time.Millisecond}
	hookURL := ""
	switch channel {
	case lockbox.ChannelEmail:
		mp := mailpittest.Start(b)
		sc, err := notify.ParseSMTPURL(mp.SMTPURL, "lockbox@operator.example")
		if err != nil {
			b.Fatal(err)
		}
		cfg.Mailer = notify.NewSMTPMailer(sc)
		delivered = func() int { return mp.Count(b) }
	default:
		var got atomic.Int64
		const secret = "bench-webhook-secret-0123456789"
		srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			if err := notify.Verify(secret, r.Header.Get(notify.SignatureHeader), body, time.Now(), time.Minute); err != nil {
				http.Error(w, err.Error(), http.StatusUnauthorized)
				return
			}
			got.Add(1)
			w.WriteHeader(http.StatusNoContent)
		}))
		defer srv.Close()
		hookURL = srv.URL + "/hook"
		cfg.HTTPClient = srv.Client()
		cfg.OperatorWebhooks = []notify.OperatorWebhook{{URL: hookURL, Secret: secret}}
		delivered = func() int { return int(got.Load()) }
	}

	now := time.Now()
	event, _ := json.Marshal(lockbox.NewEvent("tnt_bench", lockbox.EventRequestPendingCust, "usr_eng", now, map[string]any{"to": "pending_customer"}))
	payload, _ := json.Marshal(lockbox.NotificationPayload{Event: event, Request: &lockbox.RequestSummary{
		ID: "req_bench", TenantID: "tnt_bench", TenantName: "Acme", TicketID: "tkt_1", TicketTitle: "Mail not arriving",
		RequesterID: "usr_eng", RequesterName: "Erin Engineer", RequesterEmail: "erin@operator.example",
		Resources: []string{"mailbox:alice"}, AccessLevel: lockbox.LevelRead, ReasonType: lockbox.ReasonCustomerInitiated,
		Justification: "Inspect the mail flow", RequestedDuration: lockbox.Duration(time.Hour),
		Status: lockbox.StatusPendingCustomer, DecisionDeadline: now.Add(12 * time.Hour),
	}})
	for start := 0; start < b.N; start += 500 {
		err := store.Update(ctx, func(tx lockbox.Tx) error {
			for i := start; i < min(start+500, b.N); i++ {
				n := &lockbox.Notification{ID: fmt.Sprintf("ntf_%08d", i), Key: fmt.Sprintf("bench|%d", i), TenantID: "tnt_bench",
					RequestID: "req_bench", Kind: lockbox.NotifyApprovalNeeded, Channel: channel, Payload: payload,
					Status: lockbox.NotificationPending, CreatedAt: now, NextAttemptAt: &now}
				if channel == lockbox.ChannelEmail {
					n.Recipient = fmt.Sprintf("approver%d@acme.example", i)
				} else {
					n.Kind, n.Target, n.Recipient = lockbox.NotifyEvent, lockbox.WebhookOperator, hookURL
				}
				if _, err := tx.EnqueueNotification(ctx, n); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	w := notify.NewWorker(cfg)
	b.ResetTimer()
	start := time.Now()
	done := make(chan struct{})
	go func() { w.Run(ctx); close(done) }()
	for delivered() < b.N {
		if time.Since(start) > 5*time.Minute {
			b.Fatalf("%d of %d delivered in 5 minutes", delivered(), b.N)
		}
		time.Sleep(5 * time.Millisecond)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	cancel()
	<-done
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "notifications/s")
}
