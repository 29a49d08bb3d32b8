// Package notify delivers lockbox's notifications: e-mails over SMTP and
// signed webhooks. The service writes each notification to the outbox in
// the transaction of the change that causes it (lockbox.Notification); a
// Worker in every server replica claims due notifications with a lease,
// sends them, and stores the outcome: delivered, or tried again with
// exponential backoff until it gives up 24 hours after the change. Every
// attempt is kept in the notification's history. See docs/notifications.md.
package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/lockbox-dev/lockbox"

	"github.com/lockbox-dev/lockbox/internal/backoff"
)

// Defaults of the retry policy and the worker.
const (
	DefaultBackoff     = 10 * time.Second
	DefaultMaxBackoff  = time.Hour
	DefaultGiveUpAfter = 24 * time.Hour
	DefaultLease       = 2 * time.Minute
	DefaultPoll        = time.Second
	DefaultConcurrency = 8
	// sendTimeout bounds one attempt (and two thirds of the lease).
	sendTimeout = 30 * time.Second
)

// Config configures a Worker. Queue and Store are required.
type Config struct {
	Queue lockbox.NotificationQueue
	// Store reads tenants' webhook settings (their secrets) at delivery.
	Store lockbox.Store
	// SecretBox opens the webhook secrets the store keeps sealed.
	SecretBox lockbox.SecretBox
	// Mailer sends e-mails; nil logs them (LogMailer).
	Mailer Mailer
	// HTTPClient posts webhooks; nil uses a client with a 10s timeout
	// that does not follow redirects.
	HTTPClient *http.Client
	// OperatorWebhooks are the operator-wide webhooks, with their secret.
	OperatorWebhooks []OperatorWebhook
	// AllowPrivateWebhooks lets tenant webhooks reach loopback, private
	// and link-local addresses; by default they may not (the operator's
	// own webhooks always may).
	AllowPrivateWebhooks bool
	// PublicURL is the server's public URL, for links in e-mails.
	PublicURL string
	Clock     lockbox.Clock
	Logger    *slog.Logger
	// Backoff is the first retry delay; it doubles at every failure up to
	// MaxBackoff, with jitter. GiveUpAfter is how long after its creation
	// a notification is tried.
	Backoff, MaxBackoff, GiveUpAfter time.Duration
	// Lease is how long a claim holds a row; Poll how often due rows are
	// looked for when nothing wakes the worker.
	Lease, Poll time.Duration
	// Concurrency is how many notifications are sent at once.
	Concurrency int
	// Observe, when set, is told the outcome of every attempt:
	// "delivered", "retry" or "failed" (given up), for metrics.
	Observe func(channel lockbox.NotificationChannel, outcome string)
}

// OperatorWebhook is an operator-wide webhook.
type OperatorWebhook struct {
	URL    string
	Secret string
	Format string
}

// Worker delivers the outbox.
type Worker struct {
	c Config
	// tenantClient posts tenant webhooks: c.HTTPClient, kept off the
	// server's own network unless AllowPrivateWebhooks.
	tenantClient *http.Client
	wake         chan struct{}
}

// NewWorker returns a worker; Run starts it.
func NewWorker(c Config) *Worker {
	if c.Mailer == nil {
		c.Mailer = NewLogMailer(c.Logger, 0)
	}
	if c.HTTPClient == nil {
		c.HTTPClient = DefaultHTTPClient()
	}
	if c.Clock == nil {
		c.Clock = lockbox.SystemClock
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	c.Backoff = orDefault(c.Backoff, DefaultBackoff)
	c.MaxBackoff = orDefault(c.MaxBackoff, DefaultMaxBackoff)
	c.GiveUpAfter = orDefault(c.GiveUpAfter, DefaultGiveUpAfter)
	c.Lease = orDefault(c.Lease, DefaultLease)
	c.Poll = orDefault(c.Poll, DefaultPoll)
	if c.Concurrency <= 0 {
		c.Concurrency = DefaultConcurrency
	}
	w := &Worker{c: c, tenantClient: c.HTTPClient, wake: make(chan struct{}, 1)}
	if !c.AllowPrivateWebhooks {
		w.tenantClient = guardPrivate(c.HTTPClient)
	}
	return w
}

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// Wake makes the worker look for due notifications now (the service calls
// it after every commit). It never blocks.
func (w *Worker) Wake() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// Run delivers notifications until ctx ends. Every replica runs one: claims
// keep them from sending the same row at once.
func (w *Worker) Run(ctx context.Context) {
	if w.c.Store != nil {
		// Commits of other replicas wake this one too.
		if notices, err := w.c.Store.Watch(ctx); err == nil {
			go func() {
				for range notices {
					w.Wake()
				}
			}()
		}
	}
	t := time.NewTicker(w.c.Poll)
	defer t.Stop()
	for {
		for ctx.Err() == nil {
			n, err := w.RunOnce(ctx)
			if err != nil {
				if ctx.Err() == nil {
					w.c.Logger.Error("notifications: claiming due deliveries failed", "err", err)
				}
				break
			}
			if n == 0 {
				break
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-w.wake:
		}
	}
}

// RunOnce claims one batch of due notifications and tries each; it returns
// how many it tried.
func (w *Worker) RunOnce(ctx context.Context) (int, error) {
	batch, err := w.c.Queue.ClaimNotifications(ctx, w.c.Clock(), w.c.Lease, 4*w.c.Concurrency)
	if err != nil || len(batch) == 0 {
		return 0, err
	}
	// Deliveries to one recipient go one after the other, in the order of
	// their events (ids sort in enqueue order); different recipients are
	// served concurrently.
	slices.SortFunc(batch, func(a, b *lockbox.Notification) int {
		if c := cmpTime(a.NextAttemptAt, b.NextAttemptAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	var order []string
	groups := map[string][]*lockbox.Notification{}
	for _, n := range batch {
		k := string(n.Channel) + " " + n.Recipient
		if _, ok := groups[k]; !ok {
			order = append(order, k)
		}
		groups[k] = append(groups[k], n)
	}
	sem := make(chan struct{}, w.c.Concurrency)
	var wg sync.WaitGroup
	for _, k := range order {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			for _, n := range groups[k] {
				if ctx.Err() != nil {
					w.release(n) // shutting down: leave it to the next worker now
					continue
				}
				w.deliver(ctx, n)
			}
		}()
	}
	wg.Wait()
	return len(batch), nil
}

// deliver makes one attempt and stores its outcome.
func (w *Worker) deliver(ctx context.Context, n *lockbox.Notification) {
	// An attempt ends well within the lease, so a row is never sent by
	// two workers because a send outlived its lease.
	sctx, cancel := context.WithTimeout(ctx, min(sendTimeout, w.c.Lease*2/3))
	err := w.send(sctx, n)
	cancel()
	if err != nil && ctx.Err() != nil {
		// Cut off by a shutdown, not failed: tried again at once by the
		// next worker. (A send that succeeded is recorded below.)
		w.release(n)
		return
	}
	now := w.c.Clock()
	n.Attempts++
	att := lockbox.NotificationAttempt{At: now.UTC()}
	if err == nil {
		n.Status, n.LastError, n.NextAttemptAt, n.DeliveredAt = lockbox.NotificationDelivered, "", nil, &att.At
	} else {
		att.Error = truncate(err.Error(), 500)
		n.LastError = att.Error
		next := now.Add(w.backoff(n.Attempts))
		var permanent *permanentError
		if errors.As(err, &permanent) || !next.Before(n.CreatedAt.Add(w.c.GiveUpAfter)) {
			n.Status, n.NextAttemptAt = lockbox.NotificationFailed, nil
			w.c.Logger.Error("notification failed for good", "id", n.ID, "channel", n.Channel, "recipient", recipientForLog(n),
				"attempts", n.Attempts, "err", n.LastError)
		} else {
			next = next.UTC()
			n.NextAttemptAt = &next
			w.c.Logger.Warn("notification not delivered; will retry", "id", n.ID, "channel", n.Channel,
				"recipient", recipientForLog(n), "attempt", n.Attempts, "retry_at", next, "err", n.LastError)
		}
	}
	n.History = append(n.History, att)
	if w.c.Observe != nil {
		outcome := "retry"
		switch n.Status {
		case lockbox.NotificationDelivered:
			outcome = "delivered"
		case lockbox.NotificationFailed:
			outcome = "failed"
		}
		w.c.Observe(n.Channel, outcome)
	}
	fctx, fcancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer fcancel()
	if err := w.c.Queue.FinishNotification(fctx, n); err != nil {
		w.c.Logger.Error("notifications: storing a delivery outcome failed", "id", n.ID, "err", err)
	}
}

// release gives a claimed row back unchanged, so another worker may take
// it without waiting for the lease to pass.
func (w *Worker) release(n *lockbox.Notification) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := w.c.Queue.FinishNotification(ctx, n); err != nil {
		w.c.Logger.Warn("notifications: releasing a claim failed; the row waits for its lease", "id", n.ID, "err", err)
	}
}

// backoff is the delay after the attempt-th failure: Backoff doubling, at
// most MaxBackoff, minus up to a fifth at random so retries of many rows
// spread out.
func (w *Worker) backoff(attempt int) time.Duration {
	return backoff.Policy{Min: w.c.Backoff, Max: w.c.MaxBackoff, Jitter: 0.2}.Delay(attempt)
}

// send renders and sends one notification.
func (w *Worker) send(ctx context.Context, n *lockbox.Notification) error {
	var p lockbox.NotificationPayload
	if err := json.Unmarshal(n.Payload, &p); err != nil {
		return permanent(fmt.Errorf("the stored payload does not decode: %w", err))
	}
	switch n.Channel {
	case lockbox.ChannelEmail:
		if a := p.Account; a != nil && a.SealedToken != "" {
			tok, err := lockbox.OpenInvitationToken(w.c.SecretBox, a)
			if err != nil {
				return permanent(err)
			}
			a.Token = tok
		}
		msg, err := RenderEmail(n, &p, w.c.PublicURL)
		if err != nil {
			return permanent(err)
		}
		return w.c.Mailer.Send(ctx, msg)
	case lockbox.ChannelWebhook:
		hook, err := w.webhook(ctx, n)
		if err != nil {
			return err
		}
		client := w.tenantClient
		if n.Target == lockbox.WebhookOperator {
			client = w.c.HTTPClient
		}
		return postWebhook(ctx, client, hook, n, &p, w.c.PublicURL, w.c.Clock())
	}
	return permanent(fmt.Errorf("unknown channel %q", n.Channel))
}

// webhook finds the webhook a notification goes to, with its secret.
func (w *Worker) webhook(ctx context.Context, n *lockbox.Notification) (OperatorWebhook, error) {
	if n.Target == lockbox.WebhookOperator {
		for _, h := range w.c.OperatorWebhooks {
			if h.URL == n.Recipient {
				return h, nil
			}
		}
		return OperatorWebhook{}, permanent(errors.New("this operator webhook is no longer configured (--webhook-url)"))
	}
	if w.c.Store == nil {
		return OperatorWebhook{}, errors.New("no store to read the tenant's webhooks from")
	}
	var t *lockbox.Tenant
	err := w.c.Store.View(ctx, func(r lockbox.Reader) error {
		var err error
		t, err = r.GetTenant(ctx, n.TenantID)
		return err
	})
	if err != nil {
		return OperatorWebhook{}, err
	}
	for _, h := range t.Lockbox.Webhooks {
		if h.URL == n.Recipient {
			if h.Secret == "" {
				return OperatorWebhook{}, permanent(errors.New("the webhook has no signing secret: a tenant admin must save the webhooks again (PATCH /v1/tenants/{id}/lockbox) to generate one"))
			}
			secret, err := lockbox.OpenWebhookSecret(w.c.SecretBox, n.TenantID, h)
			if err != nil {
				return OperatorWebhook{}, permanent(err)
			}
			return OperatorWebhook{URL: h.URL, Secret: secret, Format: h.Format}, nil
		}
	}
	return OperatorWebhook{}, permanent(errors.New("the tenant removed this webhook before it was delivered"))
}

func cmpTime(a, b *time.Time) int {
	switch {
	case a == nil || b == nil:
		return 0
	case a.Before(*b):
		return -1
	case b.Before(*a):
		return 1
	}
	return 0
}

// permanentError is a failure that retrying cannot cure.
type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

func permanent(err error) error { return &permanentError{err} }

// recipientForLog names a recipient in the server log: webhook URLs lose
// their query (which may carry a token, as Slack's do in the path — so
// only scheme and host are kept).
func recipientForLog(n *lockbox.Notification) string {
	if n.Channel == lockbox.ChannelWebhook {
		return lockbox.RedactURL(n.Recipient)
	}
	return n.Recipient
}

func truncate(s string, max int) string {
	if len(s) <= max {
		return s
	}
	return s[:max] + "…"
}
