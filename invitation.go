package lockbox

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/pquerna/otp/totp"
)

// Invitations (invariant 11): nobody but a person ever knows that person's
// credentials. Creating a user takes a name and an e-mail, never a password;
// the user receives a single-use link (<public-url>/invitations/<token>) at
// that address, sets their own password and, where the role calls for it,
// enrols their second factor in the same step. The token is stored hashed;
// the only clear copy is in the invitee's e-mail (sealed in the outbox row
// until it is sent), never in an API answer or a log.

// InvitationPrefix starts every invitation token, so a leaked one is
// recognisable.
const InvitationPrefix = "lbx_i_"

// DefaultInvitationTTL is how long an invitation link is valid.
const DefaultInvitationTTL = 72 * time.Hour

// Invitation is a single-use link for a user to set their own credentials.
type Invitation struct {
	ID       string
	UserID   UserID
	TenantID TenantID // the user's log: its tenant, or SystemLog
	// Hash is the SHA-256 of the token: the token itself is never stored.
	Hash       string
	InvitedBy  UserID
	CreatedAt  time.Time
	ExpiresAt  time.Time
	AcceptedAt *time.Time
	RevokedAt  *time.Time
	// TOTPPending is the second factor being enrolled with the invitation
	// (sealed when the service has a SecretBox); it becomes the user's
	// when the invitation is accepted with one of its codes.
	TOTPPending string
}

// InvitationInfo is what GET /v1/invitations/{token} shows the invitee.
type InvitationInfo struct {
	Email       string    `json:"email"`
	DisplayName string    `json:"display_name"`
	Kind        UserKind  `json:"kind"`
	TenantID    TenantID  `json:"tenant_id,omitempty"`
	TenantName  string    `json:"tenant_name,omitempty"`
	Roles       []Role    `json:"roles"`
	InvitedBy   string    `json:"invited_by"`
	ExpiresAt   time.Time `json:"expires_at"`
	// SecondFactorRequired: the roles can approve, administer or request
	// access, so accepting needs a TOTP code (POST .../totp first).
	SecondFactorRequired bool `json:"second_factor_required"`
	// TOTPStarted: a TOTP secret is enrolled with this invitation.
	TOTPStarted bool `json:"totp_started"`
}

// AcceptInvitationInput is the body of POST /v1/invitations/{token}/accept.
type AcceptInvitationInput struct {
	Password string `json:"password"`
	// OTP is a current code of the TOTP secret enrolled with the
	// invitation (POST /v1/invitations/{token}/totp).
	OTP string `json:"otp,omitempty"`
}

// NeedsSecondFactor reports whether a user must enrol TOTP before the
// account can act: every role that can approve, administer or request
// access to a customer's content (everything but member; gateway accounts
// are not invited at all).
func NeedsSecondFactor(u *User) bool {
	for _, r := range u.Roles {
		switch r {
		case RoleTenantAdmin, RoleLockboxApprover, RoleOperatorAdmin, RoleEngineer:
			return true
		}
	}
	return false
}

// IsServiceAccount reports whether u is an enforcement point's account: an
// operator user whose only role is gateway. It never signs in; an operator
// admin mints its API tokens.
func (u *User) IsServiceAccount() bool {
	return u.Kind == KindOperator && len(u.Roles) == 1 && u.Roles[0] == RoleGateway
}

// invitationTokenContext binds a sealed invitation token to its invitation.
func invitationTokenContext(id string) string { return "invitation token " + id }

// invitationTOTPContext binds a sealed pending TOTP secret to its invitation.
func invitationTOTPContext(id string) string { return "invitation totp " + id }

// OpenInvitationToken returns the invitation token of an invitation e-mail,
// opened with box when it is sealed; the delivery worker calls it just
// before rendering, so the clear token exists only in the e-mail sent.
func OpenInvitationToken(box SecretBox, a *AccountSummary) (string, error) {
	if !strings.HasPrefix(a.SealedToken, SealedPrefix) {
		return a.SealedToken, nil
	}
	if box == nil {
		return "", errors.New("the invitation link is sealed, and this process has no key to open it")
	}
	tok, err := box.Open(a.SealedToken, invitationTokenContext(a.InvitationID))
	if err != nil {
		return "", fmt.Errorf("opening the invitation link (is LOCKBOX_SECRET_KEY the key it was sealed with?): %w", err)
	}
	return tok, nil
}

// invite creates a new invitation for u, revoking the open ones it had,
// records user.invited in u's log and queues the e-mail with the link to
// u's own address. copyTo are addresses told of the invitation without the
// link (the tenant's notification_emails when the operator re-invites a
// tenant's first admin).
func (t *txn) invite(u *User, by *Principal, now time.Time, copyTo []string) error {
	s, ctx := t.s, t.ctx
	token := NewSecret(InvitationPrefix)
	inv := &Invitation{ID: NewID("inv"), UserID: u.ID, TenantID: logOf(u), Hash: HashSecret(token), InvitedBy: by.ID(),
		CreatedAt: now, ExpiresAt: now.Add(s.invitationTTL)}
	revoked, err := t.RevokeInvitations(ctx, u.ID, now)
	if err != nil {
		return err
	}
	if err := t.CreateInvitation(ctx, inv); err != nil {
		return err
	}
	data := userEventData(u, "invited")
	data["invitation_id"], data["invited_by"], data["expires_at"] = inv.ID, by.ID(), inv.ExpiresAt
	data["replaces_open_invitation"] = revoked > 0
	data["second_factor_required"] = NeedsSecondFactor(u)
	if len(copyTo) > 0 {
		data["copy_to"] = copyTo
	}
	e := NewEvent(logOf(u), EventUserInvited, by.ID(), now, data)
	if err := t.emit(e); err != nil {
		return err
	}
	sum, err := t.accountSummary(u, by.User, now)
	if err != nil {
		return err
	}
	sum.InvitationID, sum.ExpiresAt, sum.SecondFactor = inv.ID, &inv.ExpiresAt, NeedsSecondFactor(u)
	notice := *sum
	if sum.SealedToken, err = s.seal(token, invitationTokenContext(inv.ID)); err != nil {
		return err
	}
	if err := t.enqueueAccountEmail(e, NotifyInvitation, u.Email, sum); err != nil {
		return err
	}
	for _, addr := range copyTo {
		if strings.EqualFold(addr, u.Email) {
			continue
		}
		if err := t.enqueueAccountEmail(e, NotifyInvitationNotice, addr, &notice); err != nil {
			return err
		}
	}
	return nil
}

// accountSummary snapshots what an account e-mail says about u.
func (t *txn) accountSummary(u *User, actor *User, now time.Time) (*AccountSummary, error) {
	sum := &AccountSummary{UserID: u.ID, Name: u.DisplayName, Email: u.Email, Kind: u.Kind, TenantID: u.TenantID,
		Roles: u.Roles, At: now}
	if actor != nil {
		sum.ActorName = actor.DisplayName
	}
	if u.Kind == KindCustomer {
		tn, err := t.GetTenant(t.ctx, u.TenantID)
		if err != nil {
			return nil, err
		}
		sum.TenantName = tn.Name
	}
	return sum, nil
}

// enqueueAccountEmail queues an e-mail about a user's account, caused by e.
func (t *txn) enqueueAccountEmail(e *Event, kind NotificationKind, to string, sum *AccountSummary) error {
	payload, err := marshalPayload(NotificationPayload{Account: sum})
	if err != nil {
		return err
	}
	n := Notification{TenantID: e.TenantID, EventID: e.ID, Kind: kind, Channel: ChannelEmail, Recipient: to,
		Payload: payload, CreatedAt: e.Time}
	_, err = t.enqueue(&n, e.ID)
	return err
}

// tenantHasActiveAdmin reports whether tenant t has a tenant_admin who
// accepted their invitation (has a password): from then on, only the
// tenant's own admins invite its users.
func tenantHasActiveAdmin(ctx context.Context, r Reader, t TenantID) (bool, error) {
	page := Page{Size: MaxPageSize}
	for {
		users, next, err := r.ListUsers(ctx, UserFilter{Kind: KindCustomer, TenantID: t, Page: page})
		if err != nil {
			return false, err
		}
		for _, u := range users {
			if u.IsTenantAdminOf(t) && u.PasswordHash != "" {
				return true, nil
			}
		}
		if next == "" {
			return false, nil
		}
		page.Token = next
	}
}

// mayInvite checks that p may (re-)invite or withdraw the invitation of
// u, and returns the addresses a copy of the invitation notice goes to.
// Operator admins invite operator users (not service accounts), and a
// tenant's tenant_admin only while the tenant has no active admin; a
// tenant's admins, on an MFA session, invite its users.
func (s *Service) mayInvite(ctx context.Context, tx *txn, p *Principal, u *User) ([]string, error) {
	me := p.User
	if u.IsServiceAccount() {
		return nil, Errorf(CodeInvalid, "%s is a service account: it is never invited and never signs in; mint an API token for it (POST /v1/users/{id}/tokens)", u.ID)
	}
	if u.Kind == KindOperator {
		if !me.IsOperatorAdmin() {
			return nil, Errorf(CodeForbidden, "only operator admins invite operator users")
		}
		return nil, nil
	}
	t, err := tx.GetTenant(ctx, u.TenantID)
	if err != nil {
		return nil, err
	}
	if me.IsOperatorAdmin() {
		if !u.HasRole(RoleTenantAdmin) {
			return nil, Errorf(CodeForbidden, "tenant %s has its own administrators: only they invite its users", t.ID)
		}
		active, err := tenantHasActiveAdmin(ctx, tx, t.ID)
		if err != nil {
			return nil, err
		}
		if active {
			return nil, Errorf(CodeForbidden, "tenant %s has an active tenant_admin: only its admins invite its users", t.ID)
		}
		return t.Lockbox.NotificationEmails, nil
	}
	return nil, s.mayManageCustomers(p, t, "invite")
}

// Reinvite sends u a new invitation, withdrawing the open one. For a user
// who had accepted (a lost password), the password, second factor, sessions
// and API tokens end: the user sets new ones through the link.
func (s *Service) Reinvite(ctx context.Context, p *Principal, id UserID) (*User, error) {
	var out *User
	err := s.update(ctx, func(tx *txn) error {
		u, err := s.activeUser(ctx, tx, p, id)
		if err != nil {
			return err
		}
		if u.ID == p.ID() {
			return Errorf(CodeForbidden, "you cannot re-invite yourself: change your password with PATCH /v1/users/{id} on a signed-in session")
		}
		copyTo, err := s.mayInvite(ctx, tx, p, u)
		if err != nil {
			return err
		}
		now := s.now()
		if u.PasswordHash != "" || u.TOTPSecret != "" || u.TOTPPending != "" {
			u.PasswordHash, u.TOTPSecret, u.TOTPPending, u.TOTPEnabled = "", "", "", false
			u.UpdatedAt = now
			if err := tx.UpdateUser(ctx, u); err != nil {
				return err
			}
		}
		if err := tx.DeleteCredentials(ctx, u.ID); err != nil {
			return err
		}
		if err := tx.invite(u, p, now, copyTo); err != nil {
			return err
		}
		out = u
		return nil
	})
	return out, err
}

// RevokeInvitation withdraws u's open invitation: its link stops working.
func (s *Service) RevokeInvitation(ctx context.Context, p *Principal, id UserID) error {
	return s.update(ctx, func(tx *txn) error {
		u, err := s.activeUser(ctx, tx, p, id)
		if err != nil {
			return err
		}
		if _, err := s.mayInvite(ctx, tx, p, u); err != nil {
			return err
		}
		now := s.now()
		n, err := tx.RevokeInvitations(ctx, u.ID, now)
		if err != nil {
			return err
		}
		if n == 0 {
			return Errorf(CodeConflict, "user %s has no open invitation", u.ID)
		}
		return tx.emit(NewEvent(logOf(u), EventInvitationRevoked, p.ID(), now, map[string]any{"user_id": u.ID, "email": u.Email}))
	})
}

// lookupInvitation finds the open invitation of a token and its user. Every
// unusable link answers without saying whose it was.
func (s *Service) lookupInvitation(ctx context.Context, r Reader, token string) (*Invitation, *User, error) {
	if !strings.HasPrefix(token, InvitationPrefix) || len(token) > 128 {
		return nil, nil, Errorf(CodeNotFound, "this invitation link is not valid: check that it was copied whole")
	}
	inv, err := r.GetInvitation(ctx, HashSecret(token))
	if errors.Is(err, ErrNotFound) {
		return nil, nil, Errorf(CodeNotFound, "this invitation link is not valid: check that it was copied whole")
	} else if err != nil {
		return nil, nil, err
	}
	now := s.now()
	switch {
	case inv.AcceptedAt != nil:
		return nil, nil, Errorf(CodeConflict, "this invitation was already used: sign in with your password")
	case inv.RevokedAt != nil:
		return nil, nil, Errorf(CodeConflict, "this invitation was withdrawn or replaced by a newer one: use the newest e-mail, or ask for a new invitation")
	case !now.Before(inv.ExpiresAt):
		return nil, nil, Errorf(CodeConflict, "this invitation expired at %s: ask whoever invited you for a new one", inv.ExpiresAt.UTC().Format(time.RFC3339))
	}
	u, err := r.GetUser(ctx, inv.UserID)
	if err != nil {
		return nil, nil, err
	}
	if !u.Active() {
		return nil, nil, Errorf(CodeConflict, "this invitation's user was removed")
	}
	// An operator's invitation of a tenant's admin is for onboarding only:
	// once the tenant has an active admin, only its admins invite.
	if u.Kind == KindCustomer {
		by, err := r.GetUser(ctx, inv.InvitedBy)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return nil, nil, err
		}
		if by == nil || by.Kind == KindOperator {
			active, err := tenantHasActiveAdmin(ctx, r, u.TenantID)
			if err != nil {
				return nil, nil, err
			}
			if active {
				return nil, nil, Errorf(CodeConflict, "your organisation has its own administrators now: ask them for an invitation")
			}
		}
	}
	return inv, u, nil
}

// GetInvitation describes an invitation to the holder of its token.
func (s *Service) GetInvitation(ctx context.Context, token string) (*InvitationInfo, error) {
	var out *InvitationInfo
	err := s.view(ctx, func(r Reader) error {
		inv, u, err := s.lookupInvitation(ctx, r, token)
		if err != nil {
			return err
		}
		out = &InvitationInfo{Email: u.Email, DisplayName: u.DisplayName, Kind: u.Kind, TenantID: u.TenantID, Roles: u.Roles,
			ExpiresAt: inv.ExpiresAt, SecondFactorRequired: NeedsSecondFactor(u), TOTPStarted: inv.TOTPPending != ""}
		if u.Kind == KindCustomer {
			tn, err := r.GetTenant(ctx, u.TenantID)
			if err != nil {
				return err
			}
			out.TenantName = tn.Name
		}
		if by, err := r.GetUser(ctx, inv.InvitedBy); err == nil {
			out.InvitedBy = by.DisplayName
		}
		return nil
	})
	return out, err
}

// InvitationTOTP enrols a TOTP secret with an invitation: it becomes the
// user's second factor when the invitation is accepted with one of its
// codes. Calling it again replaces the secret.
func (s *Service) InvitationTOTP(ctx context.Context, token string) (*TOTPEnrollment, error) {
	var out *TOTPEnrollment
	err := s.update(ctx, func(tx *txn) error {
		inv, u, err := s.lookupInvitation(ctx, tx, token)
		if err != nil {
			return err
		}
		key, err := totp.Generate(totp.GenerateOpts{Issuer: "lockbox", AccountName: u.Email, Period: totpPeriod})
		if err != nil {
			return err
		}
		if inv.TOTPPending, err = s.seal(key.Secret(), invitationTOTPContext(inv.ID)); err != nil {
			return err
		}
		out = &TOTPEnrollment{Secret: key.Secret(), OTPAuthURL: key.URL()}
		return tx.UpdateInvitation(ctx, inv)
	})
	return out, err
}

// checkInvitationCode checks a one-time code of the secret enrolled with an
// invitation. Every code check of an invitation goes through here (one
// place to count it against the sign-in throttle).
func (s *Service) checkInvitationCode(ctx context.Context, u UserID, secret, code string, now time.Time) (int64, error) {
	a, err := s.throttle.begin(ctx, codeBudget(s.throttle.limits, u))
	if err != nil {
		return 0, err
	}
	step, err := checkTOTP(secret, code, 0, now)
	if err != nil {
		return 0, Errorf(CodeInvalid, "otp: %s", err.Error())
	}
	a.succeeded(ctx)
	return step, nil
}

// AcceptInvitation sets the invitee's own password and, with a code of the
// secret enrolled with the invitation, their second factor, in one step,
// and spends the invitation. The user signs in afterwards.
func (s *Service) AcceptInvitation(ctx context.Context, token string, in AcceptInvitationInput) (*User, error) {
	var inv *Invitation
	var u *User
	err := s.view(ctx, func(r Reader) error {
		var err error
		inv, u, err = s.lookupInvitation(ctx, r, token)
		return err
	})
	if err != nil {
		return nil, err
	}
	if err := ValidatePassword(in.Password); err != nil {
		return nil, err
	}
	var secret string
	if inv.TOTPPending != "" {
		if secret, err = s.open(inv.TOTPPending, invitationTOTPContext(inv.ID)); err != nil {
			return nil, err
		}
	}
	needs := NeedsSecondFactor(u)
	switch {
	case needs && secret == "":
		return nil, Errorf(CodeConflict, "your roles (%v) need a second factor: enrol one first (POST /v1/invitations/{token}/totp), then accept with a current code in otp", u.Roles)
	case needs && strings.TrimSpace(in.OTP) == "":
		return nil, Errorf(CodeInvalid, "otp: give a current code of the authenticator app you enrolled")
	case secret == "" && in.OTP != "":
		return nil, Errorf(CodeInvalid, "otp: no second factor is enrolled with this invitation (POST /v1/invitations/{token}/totp first)")
	}
	now := s.now()
	var step int64
	if secret != "" && in.OTP != "" {
		if step, err = s.checkInvitationCode(ctx, u.ID, secret, in.OTP, now); err != nil {
			return nil, err
		}
	}
	hash, err := s.hasher.hash(ctx, in.Password)
	if err != nil {
		return nil, err
	}
	var out *User
	err = s.update(ctx, func(tx *txn) error {
		cur, cu, err := s.lookupInvitation(ctx, tx, token)
		if err != nil {
			return err
		}
		if cur.ID != inv.ID || cur.TOTPPending != inv.TOTPPending {
			return Errorf(CodeConflict, "the invitation changed meanwhile (a new second factor was enrolled): accept again")
		}
		cu.PasswordHash, cu.UpdatedAt = hash, now
		if step > 0 {
			if err := s.setTOTPSecret(cu, secret); err != nil {
				return err
			}
			cu.TOTPPending, cu.TOTPLastStep, cu.TOTPEnabled = "", step, true
		}
		if err := tx.UpdateUser(ctx, cu); err != nil {
			return err
		}
		cur.AcceptedAt, cur.TOTPPending = &now, ""
		if err := tx.UpdateInvitation(ctx, cur); err != nil {
			return err
		}
		out = cu
		return tx.emit(NewEvent(logOf(cu), EventInvitationAccepted, cu.ID, now, map[string]any{
			"user_id": cu.ID, "email": cu.Email, "invitation_id": cur.ID, "invited_by": cur.InvitedBy, "totp_enabled": step > 0}))
	})
	if err != nil {
		return nil, err
	}
	s.log.Info("invitation accepted", "user", out.ID, "totp", step > 0)
	return out, nil
}
