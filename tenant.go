package lockbox

import (
	"fmt"
	"net/mail"
	"strings"
	"time"
)

// Tenant is a customer organisation.
type Tenant struct {
	ID        TenantID        `json:"id"`
	Name      string          `json:"name"`
	Lockbox   LockboxSettings `json:"lockbox"`
	CreatedAt time.Time       `json:"created_at"`
	// AdminInvitedAt is when an operator admin created the tenant's first
	// tenant_admin. From then on only the tenant's own admins manage its
	// users (invariant 10).
	AdminInvitedAt *time.Time `json:"admin_invited_at,omitempty"`
}

// LockboxSettings are a tenant's lockbox settings. Only a tenant_admin of the
// tenant may change them; no operator role can.
type LockboxSettings struct {
	Enabled            bool      `json:"enabled"`
	ApprovalsRequired  int       `json:"approvals_required"`
	PendingTTL         Duration  `json:"pending_ttl"`
	MaxAccessDuration  Duration  `json:"max_access_duration"`
	NotificationEmails []string  `json:"notification_emails"`
	Webhooks           []Webhook `json:"webhooks"`
}

// Webhook is an endpoint the tenant's request events are posted to (see
// docs/notifications.md).
type Webhook struct {
	URL string `json:"url"`
	// Format is the payload: "lockbox" (the event, the default), or
	// "slack" or "teams" ({"text": …}, which their incoming webhooks
	// accept).
	Format string `json:"format,omitempty"`
	// Secret signs every delivery (Lockbox-Signature). The server
	// generates it when the webhook is added; only the tenant's admins
	// see it.
	Secret string `json:"secret,omitempty"`
}

// Webhook payload formats.
const (
	WebhookFormatLockbox = "lockbox"
	WebhookFormatSlack   = "slack"
	WebhookFormatTeams   = "teams"
)

// Redacted returns the settings without webhook secrets, for readers who
// are not the tenant's admins (and for the tenant's log).
func (s LockboxSettings) Redacted() LockboxSettings {
	hooks := make([]Webhook, len(s.Webhooks))
	for i, w := range s.Webhooks {
		w.Secret = ""
		hooks[i] = w
	}
	s.Webhooks = hooks
	return s
}

// DefaultLockboxSettings are the secure defaults of a new tenant.
func DefaultLockboxSettings() LockboxSettings {
	return LockboxSettings{
		Enabled:            true,
		ApprovalsRequired:  1,
		PendingTTL:         Duration(12 * time.Hour),
		MaxAccessDuration:  Duration(8 * time.Hour),
		NotificationEmails: []string{},
		Webhooks:           []Webhook{},
	}
}

// Limits on settings, so a typo cannot park a request for a year.
const (
	MaxApprovalsRequired = 10
	MaxPendingTTL        = 30 * 24 * time.Hour
	MaxAccessDuration    = 30 * 24 * time.Hour
	// MinPendingTTL and MinAccessDuration are the shortest settings that
	// still leave a person time to act: a decision deadline of a second
	// expires every request before anyone reads it.
	MinPendingTTL        = 5 * time.Minute
	MinAccessDuration    = time.Minute
	maxNotificationEmail = 50
	maxWebhooks          = 20
)

// Validate reports the first problem with the settings. Zero required
// approvals is refused here: it is a configuration error, never "approved"
// (invariant 3).
func (s LockboxSettings) Validate() error {
	switch {
	case s.ApprovalsRequired < 1:
		return Errorf(CodeInvalid, "approvals_required must be at least 1")
	case s.ApprovalsRequired > MaxApprovalsRequired:
		return Errorf(CodeInvalid, "approvals_required must be at most %d", MaxApprovalsRequired)
	case s.PendingTTL.D() < MinPendingTTL || s.PendingTTL.D() > MaxPendingTTL:
		return Errorf(CodeInvalid, "pending_ttl must be from %s to %s (the time approvers have to decide), not %s",
			HumanDuration(MinPendingTTL), HumanDuration(MaxPendingTTL), s.PendingTTL.D())
	case s.MaxAccessDuration.D() < MinAccessDuration || s.MaxAccessDuration.D() > MaxAccessDuration:
		return Errorf(CodeInvalid, "max_access_duration must be from %s to %s, not %s",
			HumanDuration(MinAccessDuration), HumanDuration(MaxAccessDuration), s.MaxAccessDuration.D())
	case len(s.NotificationEmails) > maxNotificationEmail:
		return Errorf(CodeInvalid, "at most %d notification_emails", maxNotificationEmail)
	case len(s.Webhooks) > maxWebhooks:
		return Errorf(CodeInvalid, "at most %d webhooks", maxWebhooks)
	}
	for _, e := range s.NotificationEmails {
		if err := ValidateEmail(e); err != nil {
			return Errorf(CodeInvalid, "notification_emails: %v", err)
		}
	}
	seen := map[string]bool{}
	for _, w := range s.Webhooks {
		if err := ValidateWebhookURL(w.URL); err != nil {
			return err
		}
		if seen[w.URL] {
			return Errorf(CodeInvalid, "webhooks: %q is listed twice", w.URL)
		}
		seen[w.URL] = true
		switch w.Format {
		case "", WebhookFormatLockbox, WebhookFormatSlack, WebhookFormatTeams:
		default:
			return Errorf(CodeInvalid, "webhooks: format %q of %s must be lockbox, slack or teams", w.Format, w.URL)
		}
	}
	return nil
}

// LockboxPatch changes some settings; nil fields stay as they are.
type LockboxPatch struct {
	Enabled            *bool      `json:"enabled,omitempty"`
	ApprovalsRequired  *int       `json:"approvals_required,omitempty"`
	PendingTTL         *Duration  `json:"pending_ttl,omitempty"`
	MaxAccessDuration  *Duration  `json:"max_access_duration,omitempty"`
	NotificationEmails *[]string  `json:"notification_emails,omitempty"`
	Webhooks           *[]Webhook `json:"webhooks,omitempty"`
}

// Apply returns s with the patch applied.
func (p LockboxPatch) Apply(s LockboxSettings) LockboxSettings {
	if p.Enabled != nil {
		s.Enabled = *p.Enabled
	}
	if p.ApprovalsRequired != nil {
		s.ApprovalsRequired = *p.ApprovalsRequired
	}
	if p.PendingTTL != nil {
		s.PendingTTL = *p.PendingTTL
	}
	if p.MaxAccessDuration != nil {
		s.MaxAccessDuration = *p.MaxAccessDuration
	}
	if p.NotificationEmails != nil {
		s.NotificationEmails = append([]string{}, *p.NotificationEmails...)
	}
	if p.Webhooks != nil {
		s.Webhooks = append([]Webhook{}, *p.Webhooks...)
	}
	return s
}

// ValidateEmail checks that s is a bare e-mail address.
func ValidateEmail(s string) error {
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || len(s) > 254 || !strings.Contains(s, "@") {
		return Errorf(CodeInvalid, "%q is not an e-mail address", s)
	}
	return nil
}

// HumanDuration writes d as a person reads it: "5 min", "30 days", "1 h 30
// min", "45 s".
func HumanDuration(d time.Duration) string {
	if d <= 0 {
		return d.String()
	}
	var parts []string
	for _, u := range []struct {
		unit time.Duration
		name string
	}{{24 * time.Hour, "days"}, {time.Hour, "h"}, {time.Minute, "min"}, {time.Second, "s"}} {
		if n := d / u.unit; n > 0 {
			name := u.name
			if name == "days" && n == 1 {
				name = "day"
			}
			parts = append(parts, fmt.Sprintf("%d %s", n, name))
			d -= n * u.unit
		}
	}
	if len(parts) == 0 {
		return d.String()
	}
	return strings.Join(parts, " ")
}
