package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lockbox-dev/lockbox"
	"github.com/lockbox-dev/lockbox/app"
	"github.com/lockbox-dev/lockbox/notify"
	"github.com/lockbox-dev/lockbox/notify/mailpittest"
)

// hookReceiver is a local HTTPS webhook receiver that checks every
// delivery's signature, and fails while told to.
type hookReceiver struct {
	t      *testing.T
	srv    *httptest.Server
	clock  func() time.Time
	mu     sync.Mutex
	secret string
	fail   int // answer 500 while > 0 (-1: always)
	got    []hookDelivery
	bad    []string
}

type hookDelivery struct {
	ID    string
	Event lockbox.Event
	Text  string // the Slack/Teams text
	Body  []byte
}

func newHookReceiver(t *testing.T, clock func() time.Time) *hookReceiver {
	h := &hookReceiver{t: t, clock: clock}
	h.srv = httptest.NewTLSServer(http.HandlerFunc(h.serve))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *hookReceiver) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.fail != 0 {
		if h.fail > 0 {
			h.fail--
		}
		http.Error(w, "receiver down for maintenance", http.StatusInternalServerError)
		return
	}
	if err := notify.Verify(h.secret, r.Header.Get(notify.SignatureHeader), body, h.clock(), 5*time.Minute); err != nil {
		h.bad = append(h.bad, err.Error())
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	d := hookDelivery{ID: r.Header.Get("Lockbox-Delivery"), Body: body}
	if r.URL.Path == "/slack" {
		var text struct {
			Text string `json:"text"`
		}
		if err := json.Unmarshal(body, &text); err != nil || text.Text == "" {
			h.bad = append(h.bad, fmt.Sprintf("slack body %s: %v", body, err))
		}
		d.Text = text.Text
	} else if err := json.Unmarshal(body, &d.Event); err != nil {
		h.bad = append(h.bad, "body: "+err.Error())
	}
	h.got = append(h.got, d)
	w.WriteHeader(http.StatusNoContent)
}

func (h *hookReceiver) set(secret string, fail int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.secret, h.fail = secret, fail
}

// eventTypesFor lists the types of the events received about a request.
func (h *hookReceiver) eventTypesFor(id lockbox.RequestID) []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []string
	for _, d := range h.got {
		if d.Event.RequestID == id {
			out = append(out, string(d.Event.Type))
		}
	}
	return out
}

// drain delivers every notification due at the test clock.
func (e *env) drain() {
	e.t.Helper()
	for range 100 {
		n, err := e.srv.Notifier.RunOnce(context.Background())
		if err != nil {
			e.t.Fatal(err)
		}
		if n == 0 {
			return
		}
	}
	e.t.Fatal("notifications kept coming")
}

// notifications reads a request's delivery history as the token's user.
func (e *env) notifications(id lockbox.RequestID, token string) []*lockbox.Notification {
	e.t.Helper()
	var l lockbox.List[*lockbox.Notification]
	e.must(200, "GET", reqPath(id, "notifications"), token, nil, &l)
	return l.Items
}

// mailsTo returns the messages to an address whose subject contains s.
func mailsTo(msgs []mailpittest.Message, addr, s string) []mailpittest.Message {
	var out []mailpittest.Message
	for _, m := range msgs {
		if slices.Contains(m.Recipients(), strings.ToLower(addr)) && strings.Contains(m.Subject, s) {
			out = append(out, m)
		}
	}
	return out
}

const (
	operatorHookSecret = "operator-webhook-secret-0123456789"
	smtpPassword       = "smtp-password-never-logged"
)

// TestNotificationsEndToEnd follows a request from filing to revocation
// with a real SMTP server (mailpit) and HTTPS webhook receivers: who gets
// which e-mail with what in it, signed webhooks for every event, a
// receiver that fails and recovers, and the delivery history in the API.
func TestNotificationsEndToEnd(t *testing.T) {
	mp := mailpittest.Start(t)
	var clock func() time.Time
	tenantHook := newHookReceiver(t, func() time.Time { return clock() })
	opHook := newHookReceiver(t, func() time.Time { return clock() })
	opHook.set(operatorHookSecret, 0)
	e := newEnvWith(t, func(c *app.Config) {
		c.PublicURL = "https://lockbox.example.com"
		// With credentials (mailpit accepts any), sent over plain SMTP as
		// the URL says: the password must never reach the log.
		smtpURL := strings.Replace(mp.SMTPURL, "smtp://", "smtp://lockbox:"+smtpPassword+"@", 1)
		c.Notify = app.NotifyConfig{SMTPURL: smtpURL, SMTPFrom: "lockbox@operator.example",
			WebhookURLs: []string{opHook.srv.URL + "/ops"}, WebhookSecret: operatorHookSecret,
			HTTPClient: tenantHook.srv.Client(), WebhookAllowPrivate: true} // the receivers are on 127.0.0.1
	})
	clock = e.clock.Now
	// Both receivers use httptest's one certificate, which this client trusts.
	w := e.newWorld("acme")
	settings := e.setLockbox(w, map[string]any{
		"notification_emails": []string{"security@acme.example"},
		"webhooks":            []map[string]string{{"url": tenantHook.srv.URL + "/hook"}},
	})
	secret := settings.Webhooks[0].Secret
	if len(secret) < 32 {
		t.Fatalf("the tenant admin got webhook secret %q, want a generated secret", secret)
	}
	tenantHook.set(secret, 0)
	// Only the tenant's admins see the secret: not its approvers, not the
	// operator, not the tenant's log.
	var seen lockbox.LockboxSettings
	e.must(200, "GET", "/v1/tenants/"+string(w.tenant.ID)+"/lockbox", w.approver.token, nil, &seen)
	if seen.Webhooks[0].Secret != "" {
		t.Error("an approver reads the webhook secret")
	}
	e.must(200, "GET", "/v1/tenants/"+string(w.tenant.ID)+"/lockbox", e.admin, nil, &seen)
	if seen.Webhooks[0].Secret != "" {
		t.Error("the operator reads the webhook secret")
	}
	for _, ev := range e.events(w.tenant.ID) {
		if strings.Contains(string(ev.Data), secret) {
			t.Errorf("event %s carries the webhook secret", ev.Type)
		}
	}
	// Saving the settings again keeps the secret (the deliveries below
	// verify with it) without showing it again; the admin does not read it
	// back either (shown once: TestWebhookSecretShownOnce); the database
	// holds it sealed with the secret key only.
	again := e.setLockbox(w, map[string]any{"webhooks": []map[string]string{{"url": tenantHook.srv.URL + "/hook", "format": "lockbox"}}})
	if again.Webhooks[0].Secret != "" {
		t.Error("saving the webhooks again showed their secret again")
	}
	e.must(200, "GET", "/v1/tenants/"+string(w.tenant.ID)+"/lockbox", w.customerAdmin.token, nil, &seen)
	if seen.Webhooks[0].Secret != "" {
		t.Errorf("the tenant admin reads webhook secret %q after creation", seen.Webhooks[0].Secret)
	}
	if dump := e.databaseDump(); bytes.Contains(dump, []byte(secret)) {
		t.Error("the database holds the webhook secret in clear")
	} else if !bytes.Contains(dump, []byte(lockbox.SealedPrefix)) {
		t.Error("the database holds no sealed webhook secret")
	}

	r := e.request(w, "2h")
	e.must(200, "POST", reqPath(r.ID, "approve"), w.lead.token, lockbox.ApproveInput{Reason: "looks right"}, r)
	if r.Status != lockbox.StatusPendingCustomer {
		t.Fatalf("status %s after the internal approval, want pending_customer", r.Status)
	}
	e.drain()

	msgs := mp.Messages(t)
	approvers := []string{w.customerAdmin.Email, w.approver.Email, "security@acme.example"}
	link := "https://lockbox.example.com/requests/" + string(r.ID)
	for _, a := range approvers {
		got := mailsTo(msgs, a, "Approval needed")
		if len(got) != 1 {
			for _, n := range e.notifications(r.ID, e.admin) {
				t.Logf("%s %s %s: %s", n.Channel, n.Recipient, n.Status, n.LastError)
			}
			t.Fatalf("%s got %d approval e-mails, want 1", a, len(got))
		}
		m := got[0]
		if m.From.Address != "lockbox@operator.example" {
			t.Errorf("from %q", m.From.Address)
		}
		for _, want := range []string{w.engineer.DisplayName, "mailbox:alice", "read", "customer_initiated_support",
			"Inspect the mail flow", "Mail not arriving", string(w.ticket.ID), r.DecisionDeadline.UTC().Format("2006-01-02 15:04 UTC"), link} {
			if !strings.Contains(m.Text, want) {
				t.Errorf("the text part to %s lacks %q:\n%s", a, want, m.Text)
			}
		}
		if !strings.Contains(m.HTML, `href="`+link+`"`) || !strings.Contains(m.HTML, "Inspect the mail flow") {
			t.Errorf("the HTML part to %s lacks the link or the justification:\n%s", a, m.HTML)
		}
	}
	if got := mailsTo(msgs, w.member.Email, ""); len(got) != 0 {
		t.Errorf("a member (no approver role) got %d e-mails", len(got))
	}
	if got := mailsTo(msgs, w.engineer.Email, "approved your access request"); len(got) != 1 || !strings.Contains(got[0].Text, "looks right") {
		t.Fatalf("the requester got %d internal-decision e-mails, want 1 with the reason", len(got))
	}

	// The customer approves: the requester hears of it, the approvers are
	// told access is open.
	e.must(200, "POST", reqPath(r.ID, "approve"), w.approver.token, lockbox.ApproveInput{Reason: "go ahead"}, r)
	e.drain()
	msgs = mp.Messages(t)
	if got := mailsTo(msgs, w.engineer.Email, "approved your access request"); len(got) != 2 {
		t.Errorf("the requester got %d approval e-mails, want 2 (internal, customer)", len(got))
	}
	for _, a := range approvers {
		if got := mailsTo(msgs, a, "Access approved"); len(got) != 1 {
			t.Errorf("%s got %d access-approved e-mails, want 1", a, len(got))
		}
	}

	// Signed webhooks for every event, to the tenant's and the operator's.
	want := []string{"request.created", "request.reviewed", "request.pending_customer", "request.reviewed", "request.approved"}
	for name, h := range map[string]*hookReceiver{"tenant": tenantHook, "operator": opHook} {
		if got := h.eventTypesFor(r.ID); !slices.Equal(got, want) {
			t.Errorf("the %s webhook received %v, want %v", name, got, want)
		}
		if len(h.bad) > 0 {
			t.Errorf("the %s webhook refused deliveries: %v", name, h.bad)
		}
	}

	// The receiver fails, then recovers: the revocation reaches it on a
	// later attempt, and the history shows both.
	tenantHook.set(secret, 1)
	e.must(200, "POST", reqPath(r.ID, "revoke"), w.approver.token, lockbox.ReasonInput{Reason: "done here"}, r)
	e.drain()
	var hook *lockbox.Notification
	find := func() {
		hook = nil
		for _, n := range e.notifications(r.ID, w.customerAdmin.token) {
			if n.Channel == lockbox.ChannelWebhook && n.EventID != "" && n.Status != lockbox.NotificationDelivered {
				hook = n
			}
		}
	}
	find()
	if hook == nil || hook.Status != lockbox.NotificationPending || hook.Attempts != 1 || !strings.Contains(hook.LastError, "HTTP 500") || hook.NextAttemptAt == nil {
		t.Fatalf("after a failed delivery: %+v, want pending, 1 attempt, HTTP 500, a next attempt", hook)
	}
	if strings.Contains(hook.Recipient, "/hook") {
		t.Errorf("the API shows the webhook URL's path: %s", hook.Recipient)
	}
	failedID := hook.ID
	e.clock.Advance(time.Minute) // past the first backoff (10s)
	e.drain()
	var retried *lockbox.Notification
	for _, n := range e.notifications(r.ID, w.customerAdmin.token) {
		if n.ID == failedID {
			retried = n
		}
	}
	if retried.Status != lockbox.NotificationDelivered || retried.Attempts != 2 || len(retried.History) != 2 ||
		retried.History[0].Error == "" || retried.History[1].Error != "" {
		t.Fatalf("after recovery: %+v, want delivered on attempt 2 with both attempts in the history", retried)
	}
	if got := tenantHook.eventTypesFor(r.ID); got[len(got)-1] != "request.revoked" {
		t.Errorf("the tenant webhook's last event is %s, want request.revoked", got[len(got)-1])
	}
	msgs = mp.Messages(t)
	for _, a := range append(approvers, w.engineer.Email) {
		if got := mailsTo(msgs, a, "Access revoked"); len(got) != 1 {
			t.Errorf("%s got %d revocation e-mails, want 1", a, len(got))
		}
	}

	// Who sees the history: the tenant's approvers (without the operator's
	// own webhooks), operators (all); not a member, not another tenant.
	for _, n := range e.notifications(r.ID, w.approver.token) {
		if n.Target == lockbox.WebhookOperator {
			t.Error("a customer sees the operator's webhook deliveries")
		}
	}
	ops := 0
	for _, n := range e.notifications(r.ID, e.admin) {
		if n.Target == lockbox.WebhookOperator {
			ops++
		}
	}
	if ops != 6 {
		t.Errorf("the operator sees %d operator-webhook deliveries, want 6", ops)
	}
	e.must(403, "GET", reqPath(r.ID, "notifications"), w.member.token, nil, nil)
	other := e.newWorld("globex")
	e.must(404, "GET", reqPath(r.ID, "notifications"), other.customerAdmin.token, nil, nil)
	e.must(404, "GET", reqPath("req_nope", "notifications"), e.admin, nil, nil)

	// A Slack webhook gets {"text": …}; a customer denial reaches the
	// requester; a request left unanswered expires and everyone hears.
	slack := newHookReceiver(t, func() time.Time { return clock() })
	set := e.setLockbox(w, map[string]any{"pending_ttl": "1h", "webhooks": []map[string]string{
		{"url": tenantHook.srv.URL + "/hook"}, {"url": slack.srv.URL + "/slack", "format": "slack"}}})
	slack.set(set.Webhooks[1].Secret, 0)
	denied := e.request(w, "2h")
	e.must(200, "POST", reqPath(denied.ID, "approve"), w.lead.token, lockbox.ApproveInput{Reason: "ok"}, denied)
	e.must(200, "POST", reqPath(denied.ID, "deny"), w.approver.token, lockbox.ReasonInput{Reason: "not during the audit"}, denied)
	expired := e.request(w, "2h")
	e.must(200, "POST", reqPath(expired.ID, "approve"), w.lead.token, lockbox.ApproveInput{Reason: "ok"}, expired)
	e.clock.Advance(61 * time.Minute)
	if _, err := e.srv.Service.SettleDue(context.Background()); err != nil {
		t.Fatal(err)
	}
	e.drain()
	msgs = mp.Messages(t)
	if got := mailsTo(msgs, w.engineer.Email, "denied your access request"); len(got) != 1 || !strings.Contains(got[0].Text, "not during the audit") {
		t.Errorf("the requester got %d denial e-mails, want 1 with the reason", len(got))
	}
	for _, a := range append(approvers, w.engineer.Email) {
		if got := mailsTo(msgs, a, "expired unanswered"); len(got) != 1 || !strings.Contains(got[0].Text, string(expired.ID)) {
			t.Errorf("%s got %d expiry e-mails, want 1", a, len(got))
		}
	}
	for _, s := range []string{secret, set.Webhooks[1].Secret, operatorHookSecret, smtpPassword} {
		if strings.Contains(e.logs.String(), s) {
			t.Errorf("the server log contains the secret %q", s)
		}
	}
	slack.mu.Lock()
	defer slack.mu.Unlock()
	var texts []string
	for _, d := range slack.got {
		texts = append(texts, d.Text)
	}
	all := strings.Join(texts, "\n")
	for _, want := range []string{"request.denied", "request.expired", string(denied.ID), "mailbox:alice"} {
		if !strings.Contains(all, want) {
			t.Errorf("the Slack texts lack %q:\n%s", want, all)
		}
	}
	if len(slack.bad) > 0 {
		t.Errorf("the Slack receiver refused deliveries: %v", slack.bad)
	}
}

// TestNotificationsBadWebhookSettings: a webhook that is not https (except
// to localhost) or names an unknown format is refused, and nothing changes.
func TestNotificationsBadWebhookSettings(t *testing.T) {
	e := newEnv(t)
	w := e.newWorld("acme")
	before := e.eventCount(w.tenant.ID)
	for _, hooks := range [][]map[string]string{
		{{"url": "http://hooks.example.com/x"}},
		{{"url": "https://hooks.example.com/x", "format": "discord"}},
		{{"url": "https://hooks.example.com/x"}, {"url": "https://hooks.example.com/x"}},
	} {
		got := e.call("PATCH", "/v1/tenants/"+string(w.tenant.ID)+"/lockbox", w.customerAdmin.token, map[string]any{"webhooks": hooks})
		if got.Status != 422 {
			t.Errorf("%v: HTTP %d, want 422", hooks, got.Status)
		}
	}
	if n := e.eventCount(w.tenant.ID); n != before {
		t.Errorf("refused settings appended %d events", n-before)
	}
	s := e.setLockbox(w, map[string]any{"webhooks": []map[string]string{{"url": "http://127.0.0.1:9/hook", "format": "slack"}}})
	if s.Webhooks[0].Format != "slack" || s.Webhooks[0].Secret == "" {
		t.Errorf("a local http webhook: %+v", s.Webhooks[0])
	}
}

// TestNotificationGivesUp: a receiver that never answers 2xx is tried with
// growing delays, and the delivery is marked failed 24 hours after the
// change, with every attempt in its history.
func TestNotificationGivesUp(t *testing.T) {
	var clock func() time.Time
	h := newHookReceiver(t, func() time.Time { return clock() })
	e := newEnvWith(t, func(c *app.Config) {
		c.Notify = app.NotifyConfig{HTTPClient: h.srv.Client(), WebhookAllowPrivate: true}
	})
	clock = e.clock.Now
	w := e.newWorld("acme")
	s := e.setLockbox(w, map[string]any{"webhooks": []map[string]string{{"url": h.srv.URL + "/hook"}}})
	h.set(s.Webhooks[0].Secret, -1)
	r := e.request(w, "1h")
	start := e.clock.Now()
	var created *lockbox.Notification
	for range 200 {
		e.drain()
		created = nil
		for _, n := range e.notifications(r.ID, e.admin) {
			if n.Channel == lockbox.ChannelWebhook {
				created = n // the request.created delivery comes first
				break
			}
		}
		if created.Status != lockbox.NotificationPending {
			break
		}
		e.clock.Advance(10 * time.Minute)
	}
	if created.Status != lockbox.NotificationFailed {
		t.Fatalf("status %s after %s, want failed", created.Status, e.clock.Now().Sub(start))
	}
	last := created.History[len(created.History)-1].At
	if d := last.Sub(created.CreatedAt); d < 23*time.Hour || d > 25*time.Hour {
		t.Errorf("gave up %s after the change, want about 24h", d)
	}
	// 10s doubling, capped at 1h: about 30 attempts in a day, not hundreds.
	if created.Attempts < 20 || created.Attempts > 40 || len(created.History) != created.Attempts {
		t.Errorf("%d attempts (%d in the history)", created.Attempts, len(created.History))
	}
	if created.NextAttemptAt != nil || !strings.Contains(created.LastError, "HTTP 500") {
		t.Errorf("failed delivery: next %v, last error %q", created.NextAttemptAt, created.LastError)
	}
}

// TestNotificationReminder: the approvers of a pending request are reminded
// once when its decision deadline is near, however often the sweeper runs.
func TestNotificationReminder(t *testing.T) {
	e := newEnv(t)
	w := e.newWorld("acme")
	e.setLockbox(w, map[string]any{"pending_ttl": "3h", "notification_emails": []string{"security@acme.example"}})
	r := e.request(w, "1h")
	e.must(200, "POST", reqPath(r.ID, "approve"), w.lead.token, lockbox.ApproveInput{Reason: "ok"}, r)
	ctx := context.Background()
	remind := func() int {
		n, err := e.srv.Service.EnqueueReminders(ctx, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := remind(); n != 0 {
		t.Fatalf("%d reminders with the deadline 3h away, want none", n)
	}
	e.clock.Advance(r.DecisionDeadline.Sub(e.clock.Now()) - 30*time.Minute)
	if n := remind(); n != 3 {
		t.Fatalf("%d reminders 30m before the deadline, want 3 (admin, approver, security@)", n)
	}
	if n := remind(); n != 0 {
		t.Fatalf("%d reminders the second time, want none", n)
	}
	e.drain()
	reminders := 0
	for _, n := range e.notifications(r.ID, e.admin) {
		if n.Kind == lockbox.NotifyReminder {
			reminders++
			if n.Status != lockbox.NotificationDelivered {
				t.Errorf("reminder to %s: %s", n.Recipient, n.Status)
			}
		}
	}
	if reminders != 3 {
		t.Errorf("%d reminders in the history, want 3", reminders)
	}
	mailer := e.srv.Mailer.(*notify.LogMailer)
	found := false
	for _, m := range mailer.Sent() {
		if strings.Contains(m.Subject, "Reminder") && strings.Contains(m.Text, "/requests/"+string(r.ID)) {
			found = true
		}
	}
	if !found {
		t.Error("no reminder e-mail with the request's link in the log mailer")
	}
}

// TestNotificationPrivateWebhookRefused: by default a tenant webhook may not
// reach the server's own network (a tenant admin could otherwise make the
// server probe it): the delivery fails at once and says why.
func TestNotificationPrivateWebhookRefused(t *testing.T) {
	var clock func() time.Time
	h := newHookReceiver(t, func() time.Time { return clock() })
	e := newEnvWith(t, func(c *app.Config) { c.Notify = app.NotifyConfig{HTTPClient: h.srv.Client()} })
	clock = e.clock.Now
	w := e.newWorld("acme")
	s := e.setLockbox(w, map[string]any{"webhooks": []map[string]string{{"url": h.srv.URL + "/hook"}}})
	h.set(s.Webhooks[0].Secret, 0)
	r := e.request(w, "1h")
	e.drain()
	for _, n := range e.notifications(r.ID, w.customerAdmin.token) {
		if n.Channel != lockbox.ChannelWebhook {
			continue
		}
		if n.Status != lockbox.NotificationFailed || n.Attempts != 1 || !strings.Contains(n.LastError, "loopback, private or link-local") {
			t.Errorf("a webhook to 127.0.0.1: %s after %d attempts: %s", n.Status, n.Attempts, n.LastError)
		}
	}
	if got := h.eventTypesFor(r.ID); len(got) != 0 {
		t.Errorf("the receiver on 127.0.0.1 got %v", got)
	}
}
