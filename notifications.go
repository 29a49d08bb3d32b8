package lockbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"time"
)

// Notifications are kept in a transactional outbox: the rows telling whom to
// tell what are written by the transaction of the change that causes them
// (txn.emit calls enqueueNotifications), so a committed change always has
// its notifications and a rolled-back one never does. Package notify
// delivers them, with retries, at least once.

// NotificationChannel is how a notification travels.
type NotificationChannel string

// Channels.
const (
	ChannelEmail   NotificationChannel = "email"
	ChannelWebhook NotificationChannel = "webhook"
)

// NotificationStatus is where a notification's delivery stands.
type NotificationStatus string

// Delivery statuses. A pending notification is tried again at
// NextAttemptAt; delivered and failed are final.
const (
	NotificationPending   NotificationStatus = "pending"
	NotificationDelivered NotificationStatus = "delivered"
	NotificationFailed    NotificationStatus = "failed"
)

// NotificationKind says what an e-mail tells; webhooks carry the event.
type NotificationKind string

// Notification kinds.
const (
	// NotifyApprovalNeeded: a request reached pending_customer (approvers).
	NotifyApprovalNeeded NotificationKind = "approval_needed"
	// NotifyReminder: a pending request's decision deadline is near.
	NotifyReminder NotificationKind = "reminder"
	// NotifyDecision: an approver decided on the request (requester).
	NotifyDecision NotificationKind = "decision"
	// NotifyApproved, NotifyRevoked, NotifyCompleted, NotifyExpired: the
	// request reached that status (approvers; the requester for revoked
	// and expired).
	NotifyApproved  NotificationKind = "access_approved"
	NotifyRevoked   NotificationKind = "access_revoked"
	NotifyCompleted NotificationKind = "access_completed"
	NotifyExpired   NotificationKind = "request_expired"
	// NotifyEvent: a webhook delivery of a request event.
	NotifyEvent NotificationKind = "event"
	// NotifyInvitation: the single-use link of an invitation, to the
	// invitee's own address only.
	NotifyInvitation NotificationKind = "invitation"
	// NotifyInvitationNotice: a tenant's notification_emails are told
	// that the operator (re-)invited the tenant's first admin (no link).
	NotifyInvitationNotice NotificationKind = "invitation_notice"
	// NotifyPasswordChanged: the owner of an account is told its password
	// changed.
	NotifyPasswordChanged NotificationKind = "password_changed"
)

// Webhook targets: a tenant's webhook (its settings hold the secret) or an
// operator-wide one (the server's configuration holds it).
const (
	WebhookTenant   = "tenant"
	WebhookOperator = "operator"
)

// Notification is one delivery to one recipient over one channel: an e-mail
// to an address, or a POST to a webhook.
type Notification struct {
	ID string `json:"id"`
	// Key makes enqueueing idempotent: a second notification with the
	// same key is not stored.
	Key       string              `json:"-"`
	TenantID  TenantID            `json:"tenant_id"`
	RequestID RequestID           `json:"request_id,omitempty"`
	EventID   string              `json:"event_id,omitempty"`
	Kind      NotificationKind    `json:"kind"`
	Channel   NotificationChannel `json:"channel"`
	// Target is WebhookTenant or WebhookOperator for webhooks.
	Target    string `json:"target,omitempty"`
	Recipient string `json:"recipient"`
	// Payload is what the message is rendered from (NotificationPayload).
	Payload       json.RawMessage       `json:"-"`
	Status        NotificationStatus    `json:"status"`
	Attempts      int                   `json:"attempts"`
	LastError     string                `json:"last_error,omitempty"`
	CreatedAt     time.Time             `json:"created_at"`
	NextAttemptAt *time.Time            `json:"next_attempt_at,omitempty"`
	DeliveredAt   *time.Time            `json:"delivered_at,omitempty"`
	History       []NotificationAttempt `json:"history"`

	// Claim identifies the lease of the worker that claimed the row; a
	// FinishNotification with another claim changes nothing.
	Claim string `json:"-"`
}

// NotificationAttempt is one try at delivering a notification.
type NotificationAttempt struct {
	At    time.Time `json:"at"`
	Error string    `json:"error,omitempty"`
}

// NotificationPayload is the snapshot a notification is rendered from,
// taken in the transaction that enqueued it.
type NotificationPayload struct {
	// Event is the event's canonical JSON as logged (webhooks post it).
	Event   json.RawMessage `json:"event,omitempty"`
	Request *RequestSummary `json:"request,omitempty"`
	// Account is what an e-mail about a user's account (invitation,
	// password change) tells.
	Account *AccountSummary `json:"account,omitempty"`
}

// AccountSummary is what an account e-mail says about a user.
type AccountSummary struct {
	UserID     UserID    `json:"user_id"`
	Name       string    `json:"name"`
	Email      string    `json:"email"`
	Kind       UserKind  `json:"kind"`
	TenantID   TenantID  `json:"tenant_id,omitempty"`
	TenantName string    `json:"tenant_name,omitempty"`
	Roles      []Role    `json:"roles"`
	ActorName  string    `json:"actor_name,omitempty"`
	At         time.Time `json:"at"`
	// InvitationID, ExpiresAt and SecondFactor describe an invitation.
	InvitationID string     `json:"invitation_id,omitempty"`
	ExpiresAt    *time.Time `json:"expires_at,omitempty"`
	SecondFactor bool       `json:"second_factor,omitempty"`
	// SealedToken is the invitation token, sealed with the server's key,
	// in the invitee's own e-mail only; OpenInvitationToken opens it at
	// delivery into Token, which is never stored.
	SealedToken string `json:"sealed_token,omitempty"`
	Token       string `json:"-"`
}

func marshalPayload(p NotificationPayload) (json.RawMessage, error) { return json.Marshal(p) }

// RequestSummary is what a notification says about a request.
type RequestSummary struct {
	ID                RequestID     `json:"id"`
	TenantID          TenantID      `json:"tenant_id"`
	TenantName        string        `json:"tenant_name"`
	TicketID          TicketID      `json:"ticket_id"`
	TicketTitle       string        `json:"ticket_title"`
	RequesterID       UserID        `json:"requester_id"`
	RequesterName     string        `json:"requester_name"`
	RequesterEmail    string        `json:"requester_email"`
	Resources         []string      `json:"resources"`
	AccessLevel       AccessLevel   `json:"access_level"`
	ReasonType        ReasonType    `json:"reason_type"`
	Justification     string        `json:"justification"`
	RequestedDuration Duration      `json:"requested_duration"`
	Status            RequestStatus `json:"status"`
	DecisionDeadline  time.Time     `json:"decision_deadline"`
	AccessStartsAt    *time.Time    `json:"access_starts_at,omitempty"`
	AccessExpiresAt   *time.Time    `json:"access_expires_at,omitempty"`
	EndReason         string        `json:"end_reason,omitempty"`
	EndComment        string        `json:"end_comment,omitempty"`
	// Decision is the review a decision notification tells of.
	Decision *DecisionSummary `json:"decision,omitempty"`
	// ActorName is who caused the change (empty for deadlines).
	ActorName string `json:"actor_name,omitempty"`
	// CustomerApprovals is how far a pending_customer request is from
	// approval when the notification was made ("1 of 2 … (Bob)").
	CustomerApprovals *ApprovalProgress `json:"customer_approvals,omitempty"`
}

// DecisionSummary is one review as a notification tells it.
type DecisionSummary struct {
	ReviewerName string         `json:"reviewer_name"`
	Stage        Stage          `json:"stage"`
	Decision     ReviewDecision `json:"decision"`
	Reason       string         `json:"reason,omitempty"`
}

// NotificationQueue is the delivery side of the outbox, which both stores
// implement. Claims are leases: a claimed row is handed to no other worker
// (in this or another process) until its lease passes, so replicas sharing
// a database do not send the same notification concurrently. A worker that
// dies holding a lease delays the row by the lease, then another worker
// takes it (delivery is at least once).
type NotificationQueue interface {
	// ClaimNotifications leases up to limit pending notifications due at
	// now (NextAttemptAt passed, no live lease) until now+lease, oldest due
	// first, and returns them with their Claim set.
	ClaimNotifications(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]*Notification, error)
	// FinishNotification stores the outcome of an attempt: Status,
	// Attempts, LastError, NextAttemptAt, DeliveredAt and History, and
	// releases the lease. It fails with ErrConflict and changes nothing
	// when n.Claim no longer holds the row (the lease passed and another
	// worker claimed it).
	FinishNotification(ctx context.Context, n *Notification) error
}

// NotificationFilter selects notifications, oldest first.
type NotificationFilter struct {
	RequestID RequestID
	TenantID  TenantID
	Limit     int
}

// NotifyConfig configures whom the service notifies beyond each tenant's
// own settings.
type NotifyConfig struct {
	// OperatorWebhooks are the URLs of the operator-wide webhooks, which
	// receive every request event of every tenant. Their secret stays
	// with the delivery worker.
	OperatorWebhooks []string
}

// notifyRule says who hears of an event: approvers (the tenant's admins and
// approvers, and its notification_emails) and the requester, by e-mail.
type notifyRule struct {
	kind      NotificationKind
	approvers bool
	requester bool
}

// emailRules are the e-mail rules, by event type. Webhooks receive every
// request event (EventType.IsRequest). request.expired tells the approvers only
// when the request had reached them (pending_customer).
var emailRules = map[EventType]notifyRule{
	EventRequestPendingCust: {kind: NotifyApprovalNeeded, approvers: true},
	EventRequestReviewed:    {kind: NotifyDecision, requester: true},
	EventRequestApproved:    {kind: NotifyApproved, approvers: true},
	EventRequestRevoked:     {kind: NotifyRevoked, approvers: true, requester: true},
	EventRequestCompleted:   {kind: NotifyCompleted, approvers: true},
	EventRequestExpired:     {kind: NotifyExpired, approvers: true, requester: true},
}

// enqueueNotifications writes the outbox rows an event calls for, in the
// transaction that appends it.
func (t *txn) enqueueNotifications(e *Event) error {
	if !e.Type.IsRequest() || e.TenantID == SystemLog {
		return nil
	}
	rule, email := emailRules[e.Type]
	email = email && e.RequestID != ""
	tn, err := t.GetTenant(t.ctx, e.TenantID)
	if err != nil {
		return err
	}
	if !email && len(tn.Lockbox.Webhooks) == 0 && len(t.s.notify.OperatorWebhooks) == 0 {
		return nil // nobody to tell: spare the transaction the reads below
	}
	var sum *RequestSummary
	if e.RequestID != "" {
		r, err := t.GetRequest(t.ctx, e.RequestID)
		if err != nil {
			return err
		}
		if sum, err = t.summarize(tn, r, e); err != nil {
			return err
		}
		if e.Type == EventRequestExpired && !expiredAtCustomer(e) {
			rule.approvers = false
		}
	}
	leaf := e.Leaf // set by the store when it appended the event
	if len(leaf) == 0 {
		leaf = e.LeafBytes()
	}
	payload, err := json.Marshal(NotificationPayload{Event: leaf, Request: sum})
	if err != nil {
		return err
	}
	base := Notification{TenantID: e.TenantID, RequestID: e.RequestID, EventID: e.ID, Payload: payload, CreatedAt: e.Time}
	var hooks []Notification
	for _, w := range tn.Lockbox.Webhooks {
		n := base
		n.Kind, n.Channel, n.Target, n.Recipient = NotifyEvent, ChannelWebhook, WebhookTenant, w.URL
		hooks = append(hooks, n)
	}
	for _, u := range t.s.notify.OperatorWebhooks {
		n := base
		n.Kind, n.Channel, n.Target, n.Recipient = NotifyEvent, ChannelWebhook, WebhookOperator, u
		hooks = append(hooks, n)
	}
	for i := range hooks {
		if _, err := t.enqueue(&hooks[i], e.ID); err != nil {
			return err
		}
	}
	if !email {
		return nil
	}
	var to []string
	if rule.approvers {
		if to, err = t.approverEmails(tn); err != nil {
			return err
		}
	}
	if rule.requester && sum.RequesterEmail != "" {
		to = appendAddress(to, sum.RequesterEmail)
	}
	for _, addr := range to {
		n := base
		n.Kind, n.Channel, n.Recipient = rule.kind, ChannelEmail, addr
		if _, err := t.enqueue(&n, e.ID); err != nil {
			return err
		}
	}
	return nil
}

// expiredAtCustomer reports whether a request.expired event ends a request
// that was pending_customer.
func expiredAtCustomer(e *Event) bool {
	var d struct {
		From RequestStatus `json:"from"`
	}
	_ = json.Unmarshal(e.Data, &d)
	return d.From == StatusPendingCustomer
}

var lastNotificationNanos atomic.Int64

// newNotificationID returns an id that sorts after every id this process
// made before (time in nanoseconds, then random), so deliveries due at the
// same moment go out in the order their events happened.
func newNotificationID() string {
	now := time.Now().UnixNano()
	for {
		last := lastNotificationNanos.Load()
		if now <= last {
			now = last + 1
		}
		if lastNotificationNanos.CompareAndSwap(last, now) {
			break
		}
	}
	return fmt.Sprintf("ntf_%016x%s", now, strings.TrimPrefix(NewID(""), "_")[:8])
}

// enqueue stores n, keyed by source, channel and recipient, unless a
// notification with that key exists.
func (t *txn) enqueue(n *Notification, source string) (bool, error) {
	n.ID = newNotificationID()
	n.Key = source + "|" + string(n.Channel) + "|" + strings.ToLower(n.Recipient)
	n.Status = NotificationPending
	n.History = []NotificationAttempt{}
	due := n.CreatedAt
	n.NextAttemptAt = &due
	return t.EnqueueNotification(t.ctx, n)
}

// approverEmails lists who hears of a tenant's requests: its active admins
// and approvers at this moment, and its notification_emails, each once.
func (t *txn) approverEmails(tn *Tenant) ([]string, error) {
	var out []string
	page := Page{Size: MaxPageSize}
	for {
		users, next, err := t.ListUsers(t.ctx, UserFilter{Kind: KindCustomer, TenantID: tn.ID, Page: page})
		if err != nil {
			return nil, err
		}
		for _, u := range users {
			if u.IsApproverOf(tn.ID) {
				out = appendAddress(out, u.Email)
			}
		}
		if next == "" {
			break
		}
		page.Token = next
	}
	for _, a := range tn.Lockbox.NotificationEmails {
		out = appendAddress(out, a)
	}
	return out, nil
}

// appendAddress adds an address unless it is listed (case-insensitively).
func appendAddress(list []string, a string) []string {
	if slices.ContainsFunc(list, func(b string) bool { return strings.EqualFold(a, b) }) {
		return list
	}
	return append(list, a)
}

// summarize snapshots what notifications say about r at event e.
func (t *txn) summarize(tn *Tenant, r *AccessRequest, e *Event) (*RequestSummary, error) {
	sum := &RequestSummary{
		ID: r.ID, TenantID: r.TenantID, TenantName: tn.Name, TicketID: r.TicketID, RequesterID: r.RequesterID,
		Resources: r.Resources, AccessLevel: r.AccessLevel, ReasonType: r.ReasonType, Justification: r.Justification,
		RequestedDuration: r.RequestedDuration, Status: r.Status, DecisionDeadline: r.DecisionDeadline,
		AccessStartsAt: r.AccessStartsAt, AccessExpiresAt: r.AccessExpiresAt, EndReason: r.EndReason, EndComment: r.EndComment,
	}
	tk, err := t.GetTicket(t.ctx, r.TicketID)
	if err != nil {
		return nil, err
	}
	sum.TicketTitle = tk.Title
	if u, err := t.GetUser(t.ctx, r.RequesterID); err == nil {
		sum.RequesterName, sum.RequesterEmail = u.DisplayName, u.Email
	} else if !errors.Is(err, ErrNotFound) {
		return nil, err
	}
	if e != nil && e.ActorID != "" {
		if u, err := t.GetUser(t.ctx, e.ActorID); err == nil {
			sum.ActorName = u.DisplayName
		} else if !errors.Is(err, ErrNotFound) {
			return nil, err
		}
	}
	if r.Status == StatusPendingCustomer {
		named := *r
		if err := nameRequests(t.ctx, t, &named); err != nil {
			return nil, err
		}
		sum.CustomerApprovals = named.CustomerApprovals
	}
	if e != nil && e.Type == EventRequestReviewed {
		var d struct {
			Stage    Stage          `json:"stage"`
			Decision ReviewDecision `json:"decision"`
			Reason   string         `json:"reason"`
		}
		if err := json.Unmarshal(e.Data, &d); err == nil {
			sum.Decision = &DecisionSummary{ReviewerName: sum.ActorName, Stage: d.Stage, Decision: d.Decision, Reason: d.Reason}
		}
	}
	return sum, nil
}

// EnqueueReminders enqueues a reminder e-mail to the approvers of every
// request pending_customer whose decision deadline falls within before from
// now. Each request is reminded once (the key is the request's), so calling
// it again, from any replica, enqueues nothing new. It returns how many
// reminders it enqueued. The outbox is what remembers: the caller keeps no
// list of requests it reminded, so its memory does not grow with them.
func (s *Service) EnqueueReminders(ctx context.Context, before time.Duration) (int, error) {
	if before <= 0 {
		return 0, nil
	}
	now := s.now()
	var due []*AccessRequest
	err := s.view(ctx, func(rd Reader) error {
		page := Page{Size: MaxPageSize}
		for {
			rs, next, err := rd.ListRequests(ctx, RequestFilter{Status: StatusPendingCustomer, Page: page})
			if err != nil {
				return err
			}
			for _, r := range rs {
				if r.DecisionDeadline.After(now) && !r.DecisionDeadline.After(now.Add(before)) {
					due = append(due, r)
				}
			}
			if next == "" {
				return nil
			}
			page.Token = next
		}
	})
	if err != nil || len(due) == 0 {
		return 0, err
	}
	n := 0
	err = s.update(ctx, func(tx *txn) error {
		n = 0
		for _, r := range due {
			cur, err := tx.GetRequest(ctx, r.ID)
			if err != nil {
				return err
			}
			if cur.Status != StatusPendingCustomer {
				continue
			}
			tn, err := tx.GetTenant(ctx, cur.TenantID)
			if err != nil {
				return err
			}
			sum, err := tx.summarize(tn, cur, nil)
			if err != nil {
				return err
			}
			payload, err := json.Marshal(NotificationPayload{Request: sum})
			if err != nil {
				return err
			}
			to, err := tx.approverEmails(tn)
			if err != nil {
				return err
			}
			for _, addr := range to {
				nt := Notification{TenantID: cur.TenantID, RequestID: cur.ID, Kind: NotifyReminder,
					Channel: ChannelEmail, Recipient: addr, Payload: payload, CreatedAt: now}
				added, err := tx.enqueue(&nt, "reminder:"+string(cur.ID))
				if err != nil {
					return err
				}
				if added {
					n++
				}
			}
		}
		return nil
	})
	return n, err
}

// RequestNotifications lists the deliveries of a request's notifications,
// oldest first: who may read the request may read them.
func (s *Service) RequestNotifications(ctx context.Context, p *Principal, id RequestID) (List[*Notification], error) {
	var out List[*Notification]
	err := s.view(ctx, func(rd Reader) error {
		r, err := rd.GetRequest(ctx, id)
		if err != nil {
			return err
		}
		if err := requestVisible(p, r); err != nil {
			return err
		}
		all, err := rd.ListNotifications(ctx, NotificationFilter{RequestID: id, TenantID: r.TenantID})
		for _, n := range all {
			if n.Target == WebhookOperator && !p.User.IsOperator() {
				continue // the operator's own endpoints are not the customer's business
			}
			if n.Channel == ChannelWebhook {
				n.Recipient = RedactURL(n.Recipient) // webhook URLs may carry tokens
			}
			out.Items = append(out.Items, n)
		}
		return err
	})
	if out.Items == nil {
		out.Items = []*Notification{}
	}
	return out, err
}

// ValidateWebhookURL checks a webhook URL: https, or http to the local
// machine only (for tests and local receivers).
func ValidateWebhookURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || len(s) > 2000 || u.User != nil {
		return Errorf(CodeInvalid, "webhooks: %q is not an https:// URL", s)
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if h := u.Hostname(); h == "localhost" || h == "127.0.0.1" || h == "::1" {
			return nil
		}
	}
	return Errorf(CodeInvalid, "webhooks: %q is not an https:// URL (plain http is refused except to localhost)", s)
}

// RedactURL shows a URL by scheme and host only: webhook URLs (Slack's,
// Teams') carry their credentials in the path or query.
func RedactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return "(invalid URL)"
	}
	if u.Path == "" && u.RawQuery == "" {
		return u.Scheme + "://" + u.Host
	}
	return u.Scheme + "://" + u.Host + "/…"
}
