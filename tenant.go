package lockbox

import (
	"net/mail"
	"net/url"
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

// Webhook is an endpoint the tenant's notifications are posted to.
type Webhook struct {
	URL string `json:"url"`
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
	case s.PendingTTL <= 0 || s.PendingTTL.D() > MaxPendingTTL:
		return Errorf(CodeInvalid, "pending_ttl must be positive and at most %s", MaxPendingTTL)
	case s.MaxAccessDuration <= 0 || s.MaxAccessDuration.D() > MaxAccessDuration:
		return Errorf(CodeInvalid, "max_access_duration must be positive and at most %s", MaxAccessDuration)
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
	for _, w := range s.Webhooks {
		u, err := url.Parse(w.URL)
		if err != nil || u.Scheme != "https" || u.Host == "" || len(w.URL) > 2000 {
			return Errorf(CodeInvalid, "webhooks: %q is not an https:// URL", w.URL)
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
