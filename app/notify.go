package app

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/lockbox-dev/lockbox"
	"github.com/lockbox-dev/lockbox/httpapi"
	"github.com/lockbox-dev/lockbox/notify"
)

// NotifyConfig configures notifications (docs/notifications.md). Every field
// has a flag of `lockbox serve`.
type NotifyConfig struct {
	// SMTPURL is smtp://user:pass@host:port or smtps://…; empty logs
	// e-mails instead of sending them.
	SMTPURL  string
	SMTPFrom string
	// WebhookURLs are operator-wide webhooks, signed with WebhookSecret.
	WebhookURLs   []string
	WebhookSecret string
	WebhookFormat string
	// WebhookAllowPrivate lets tenant webhooks reach loopback, private and
	// link-local addresses (test setups, receivers inside the network).
	WebhookAllowPrivate bool
	// ReminderBefore is how long before a pending request's decision
	// deadline its approvers are reminded (default 1h; negative: never).
	ReminderBefore time.Duration
	// ReminderInterval is how often the deadline sweeper looks for
	// requests to remind of (default 30s: reminders need minutes, not
	// seconds, of precision).
	ReminderInterval time.Duration
	// Backoff, MaxBackoff and GiveUpAfter are the retry policy (defaults
	// 10s, 1h, 24h); Lease how long a claimed delivery is held.
	Backoff, MaxBackoff, GiveUpAfter, Lease time.Duration
	// Mailer replaces the mailer the configuration calls for (tests, the
	// demo); HTTPClient the webhook client (tests trust their own CA).
	Mailer     notify.Mailer
	HTTPClient *http.Client
}

// newNotifier checks the notification configuration and builds the
// delivery worker (started by Serve).
func newNotifier(c Config, store lockbox.Store, m *httpapi.Metrics, box lockbox.SecretBox) (*notify.Worker, notify.Mailer, error) {
	n := c.Notify
	q, ok := store.(lockbox.NotificationQueue)
	if !ok {
		return nil, nil, fmt.Errorf("the %T store has no notification outbox", store)
	}
	mailer := n.Mailer
	if mailer == nil {
		if n.SMTPURL != "" {
			sc, err := notify.ParseSMTPURL(n.SMTPURL, n.SMTPFrom)
			if err != nil {
				return nil, nil, err
			}
			mailer = notify.NewSMTPMailer(sc)
			c.Logger.Info("notifications: e-mails go out over SMTP", "smtp", sc.String(), "from", sc.From)
		} else {
			mailer = notify.NewLogMailer(c.Logger, 0)
			c.Logger.Info("notifications: no --smtp-url, so e-mails are written to this log instead of sent")
		}
	}
	var hooks []notify.OperatorWebhook
	if len(n.WebhookURLs) > 0 && len(n.WebhookSecret) < 16 {
		return nil, nil, errors.New("--webhook-url needs --webhook-secret (LOCKBOX_WEBHOOK_SECRET), at least 16 characters: receivers check deliveries with it")
	}
	for _, u := range n.WebhookURLs {
		if err := lockbox.ValidateWebhookURL(u); err != nil {
			return nil, nil, fmt.Errorf("--webhook-url: %w", err)
		}
		hooks = append(hooks, notify.OperatorWebhook{URL: u, Secret: n.WebhookSecret, Format: n.WebhookFormat})
	}
	switch n.WebhookFormat {
	case "", lockbox.WebhookFormatLockbox, lockbox.WebhookFormatSlack, lockbox.WebhookFormatTeams:
	default:
		return nil, nil, fmt.Errorf("--webhook-format %q: want lockbox, slack or teams", n.WebhookFormat)
	}
	w := notify.NewWorker(notify.Config{
		Queue: q, Store: store, SecretBox: box, Mailer: mailer, HTTPClient: n.HTTPClient, OperatorWebhooks: hooks,
		PublicURL: c.publicURL(), Clock: c.Clock, Logger: c.Logger,
		Backoff: n.Backoff, MaxBackoff: n.MaxBackoff, GiveUpAfter: n.GiveUpAfter, Lease: n.Lease,
		Observe: m.ObserveNotification, AllowPrivateWebhooks: n.WebhookAllowPrivate,
	})
	return w, mailer, nil
}

// operatorWebhookURLs are the URLs the service enqueues operator-wide
// deliveries for.
func (c Config) operatorWebhookURLs() []string { return append([]string(nil), c.Notify.WebhookURLs...) }

// remind enqueues reminders of decision deadlines; the deadline sweeper runs
// it, so one replica at a time does.
func (s *Server) remind(ctx context.Context) {
	before := s.Config.Notify.ReminderBefore
	if before == 0 {
		before = time.Hour
	}
	n, err := s.Service.EnqueueReminders(ctx, before)
	if err != nil && ctx.Err() == nil {
		s.log.Error("enqueueing deadline reminders failed", "err", err)
	}
	if n > 0 {
		s.log.Info("deadline reminders enqueued", "emails", n)
		s.Notifier.Wake()
	}
}
