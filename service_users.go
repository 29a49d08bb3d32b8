package lockbox

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"
)

// userEventData is what the log records of a user: who could act and how,
// never a secret.
func userEventData(u *User, change string) map[string]any {
	return map[string]any{
		"change": change, "user_id": u.ID, "email": u.Email, "kind": u.Kind,
		"roles": u.Roles, "groups": u.Groups, "isolated": u.Isolated,
	}
}

// CreateTenant creates a tenant with the secure default settings. Operator
// admins only.
func (s *Service) CreateTenant(ctx context.Context, p *Principal, in CreateTenantInput) (*Tenant, error) {
	if !p.User.IsOperatorAdmin() {
		return nil, Errorf(CodeForbidden, "only operator admins create tenants")
	}
	if err := ValidateName("name", in.Name); err != nil {
		return nil, err
	}
	now := s.now()
	t := &Tenant{ID: TenantID(NewID("tnt")), Name: strings.TrimSpace(in.Name), Lockbox: DefaultLockboxSettings(), CreatedAt: now}
	err := s.update(ctx, func(tx *txn) error {
		if err := tx.CreateTenant(ctx, t); err != nil {
			return err
		}
		return tx.emit(NewEvent(t.ID, EventTenantCreated, p.ID(), now, map[string]any{"name": t.Name, "lockbox": t.Lockbox}))
	})
	if err != nil {
		return nil, err
	}
	return t, nil
}

// tenantVisible checks that p may see tenant t at all. A customer of another
// tenant learns nothing, not even that the tenant exists (404).
func tenantVisible(p *Principal, t TenantID) error {
	u := p.User
	if u.IsOperator() || u.IsCustomerOf(t) {
		return nil
	}
	return Errorf(CodeNotFound, "tenant %s not found", t)
}

// GetTenant reads a tenant: operators any, customers their own.
func (s *Service) GetTenant(ctx context.Context, p *Principal, id TenantID) (*Tenant, error) {
	if err := tenantVisible(p, id); err != nil {
		return nil, err
	}
	var t *Tenant
	err := s.view(ctx, func(r Reader) error {
		var err error
		t, err = r.GetTenant(ctx, id)
		return err
	})
	if err != nil {
		return nil, err
	}
	if err := s.redactTenant(p, t); err != nil {
		return nil, err
	}
	return t, nil
}

// ListTenants lists tenants: operators all, customers their own.
func (s *Service) ListTenants(ctx context.Context, p *Principal, page Page) (List[*Tenant], error) {
	f := TenantFilter{Page: page}
	switch u := p.User; {
	case u.IsOperator():
	case u.Kind == KindCustomer && u.Active():
		f.ID = u.TenantID
	default:
		return List[*Tenant]{}, Errorf(CodeForbidden, "gateway accounts cannot list tenants")
	}
	var out List[*Tenant]
	err := s.view(ctx, func(r Reader) error {
		var err error
		out.Items, out.NextPageToken, err = r.ListTenants(ctx, f)
		return err
	})
	if err != nil {
		return out, err
	}
	for _, t := range out.Items {
		if err := s.redactTenant(p, t); err != nil {
			return out, err
		}
	}
	return out, nil
}

// GetLockbox reads a tenant's lockbox settings: operators, and the tenant's
// admins and approvers.
func (s *Service) GetLockbox(ctx context.Context, p *Principal, id TenantID) (*LockboxSettings, error) {
	if err := tenantVisible(p, id); err != nil {
		return nil, err
	}
	if !p.User.IsOperator() && !p.User.IsApproverOf(id) {
		return nil, Errorf(CodeForbidden, "only the tenant's admins and approvers, and operators, read its lockbox settings")
	}
	t, err := s.GetTenant(ctx, p, id)
	if err != nil {
		return nil, err
	}
	return &t.Lockbox, nil
}

// keepWebhookSecrets gives each webhook of after the secret it had in
// before (same URL), and a new secret to a webhook added: secrets are the
// server's to make, so a client cannot choose a weak one. It reports which
// webhooks are new: their secret is shown once, in the answer to the change.
func keepWebhookSecrets(before, after []Webhook) (added []bool) {
	added = make([]bool, len(after))
	for i := range after {
		after[i].Secret = ""
		for _, b := range before {
			if b.URL == after[i].URL && b.Secret != "" {
				after[i].Secret = b.Secret
			}
		}
		if after[i].Secret == "" {
			after[i].Secret = NewSecret("whsec_")
			added[i] = true
		}
	}
	return added
}

// redactTenant hides webhook secrets from every reader, the tenant's admins
// included: a secret is shown once, to the MFA session of the tenant admin
// who added the webhook or rotated its secret (UpdateLockbox,
// RotateWebhookSecret), and never again, so a password alone, a stolen
// session cookie or a later reader of the settings cannot learn it.
func (s *Service) redactTenant(_ *Principal, t *Tenant) error {
	if t != nil {
		t.Lockbox = t.Lockbox.Redacted()
	}
	return nil
}

// mayChangeSettings checks that p may change tenant id's lockbox settings
// (webhook secrets included): only a tenant_admin of the tenant, on an MFA
// session; no operator role can. may and doing word the refusals.
func mayChangeSettings(p *Principal, id TenantID, may, doing string) error {
	if err := tenantVisible(p, id); err != nil {
		return err
	}
	if !p.User.IsTenantAdminOf(id) {
		return Errorf(CodeForbidden, "only the tenant's own tenant_admin users may %s", may)
	}
	if !p.MFA() {
		return Errorf(CodeForbidden, "%s needs a session signed in with a one-time code", doing)
	}
	return nil
}

// UpdateLockbox changes a tenant's lockbox settings. Only a tenant_admin of
// the tenant, on an MFA session; no operator role can. The answer carries
// the secrets of the webhooks this change adds, once; the others' stay
// hidden.
func (s *Service) UpdateLockbox(ctx context.Context, p *Principal, id TenantID, patch LockboxPatch) (*LockboxSettings, error) {
	if err := mayChangeSettings(p, id, "change its lockbox settings", "changing lockbox settings"); err != nil {
		return nil, err
	}
	var out LockboxSettings
	err := s.update(ctx, func(tx *txn) error {
		t, err := tx.GetTenant(ctx, id)
		if err != nil {
			return err
		}
		before := t.Lockbox
		t.Lockbox = patch.Apply(t.Lockbox)
		if err := t.Lockbox.Validate(); err != nil {
			return err
		}
		added := keepWebhookSecrets(before.Webhooks, t.Lockbox.Webhooks)
		// The admin is shown the new secrets in clear, once; the database
		// keeps them sealed.
		out = t.Lockbox.Redacted()
		for i, isNew := range added {
			if isNew {
				out.Webhooks[i].Secret = t.Lockbox.Webhooks[i].Secret
			}
		}
		if err := sealWebhookSecrets(s.box, id, t.Lockbox.Webhooks); err != nil {
			return err
		}
		if err := tx.UpdateTenant(ctx, t); err != nil {
			return err
		}
		return tx.emit(NewEvent(id, EventLockboxUpdated, p.ID(), s.now(), map[string]any{"before": before.Redacted(), "after": t.Lockbox.Redacted()}))
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// RotateWebhookSecretInput names the webhook whose secret is replaced.
type RotateWebhookSecretInput struct {
	URL string `json:"url"`
}

// RotateWebhookSecret gives a tenant's webhook a new signing secret and
// returns it, once: its receiver must be told the new secret, since
// deliveries are signed with it from now on. Only a tenant_admin of the
// tenant, on an MFA session (like every change of the settings); the
// rotation is an event in the tenant's log, without the secret.
func (s *Service) RotateWebhookSecret(ctx context.Context, p *Principal, id TenantID, in RotateWebhookSecretInput) (*Webhook, error) {
	if err := mayChangeSettings(p, id, "rotate its webhook secrets", "rotating a webhook secret"); err != nil {
		return nil, err
	}
	if strings.TrimSpace(in.URL) == "" {
		return nil, Errorf(CodeInvalid, "url is required: the URL of the webhook whose secret to rotate")
	}
	var out Webhook
	err := s.update(ctx, func(tx *txn) error {
		t, err := tx.GetTenant(ctx, id)
		if err != nil {
			return err
		}
		i := slices.IndexFunc(t.Lockbox.Webhooks, func(w Webhook) bool { return w.URL == in.URL })
		if i < 0 {
			return Errorf(CodeNotFound, "the tenant has no webhook %s", RedactURL(in.URL))
		}
		secret := NewSecret("whsec_")
		t.Lockbox.Webhooks[i].Secret = secret
		out = t.Lockbox.Webhooks[i]
		if err := sealWebhookSecrets(s.box, id, t.Lockbox.Webhooks[i:i+1]); err != nil {
			return err
		}
		if err := tx.UpdateTenant(ctx, t); err != nil {
			return err
		}
		return tx.emit(NewEvent(id, EventWebhookSecretRotated, p.ID(), s.now(), map[string]any{"url": in.URL, "format": out.Format}))
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// CreateUser creates a user and invites them (invariant 11): it takes a
// name and an e-mail, never a password, and e-mails the user a single-use
// link to set their own password (and second factor). Operator admins
// create operator users, and a tenant's first tenant_admin while the tenant
// has no active admin; from then on only the tenant's admins create its
// users (invariant 10). A service account (an operator user whose only role
// is gateway) is not invited: it never signs in.
func (s *Service) CreateUser(ctx context.Context, p *Principal, in CreateUserInput) (*User, error) {
	return s.createUser(ctx, p, in, "")
}

// SeedUser creates a user with a password its caller chose, with no
// invitation: `lockbox demo` and tests seed their people with it. The HTTP
// API does not offer it, so over the network nobody but a person ever sets
// that person's password (invariant 11).
func (s *Service) SeedUser(ctx context.Context, p *Principal, in CreateUserInput, password string) (*User, error) {
	if err := ValidatePassword(password); err != nil {
		return nil, err
	}
	return s.createUser(ctx, p, in, password)
}

// createUser creates a user: seeded with password, or invited without one.
func (s *Service) createUser(ctx context.Context, p *Principal, in CreateUserInput, password string) (*User, error) {
	now := s.now()
	u := &User{
		ID: UserID(NewID("usr")), Kind: in.Kind, Email: strings.ToLower(strings.TrimSpace(in.Email)), DisplayName: in.DisplayName,
		TenantID: in.TenantID, Roles: in.Roles, Groups: in.Groups, Isolated: in.Isolated,
		CreatedAt: now, UpdatedAt: now,
	}
	if u.Groups == nil {
		u.Groups = []string{}
	}
	if err := ValidateEmail(u.Email); err != nil {
		return nil, err
	}
	if err := ValidateUserFields(u); err != nil {
		return nil, err
	}
	// Authorise before the expensive hash, so a refused caller costs little.
	if u.Kind == KindOperator && !p.User.IsOperatorAdmin() {
		return nil, Errorf(CodeForbidden, "only operator admins create operator users")
	}
	if u.Kind == KindCustomer {
		if err := tenantVisible(p, u.TenantID); err != nil {
			return nil, err
		}
		if !p.User.IsOperatorAdmin() && !p.User.IsTenantAdminOf(u.TenantID) {
			return nil, Errorf(CodeForbidden, "only the tenant's admins create its users")
		}
	}
	// Past authorization: a password in the body is refused, whoever sends it.
	if in.Password != nil {
		return nil, Errorf(CodeInvalid, "password: users are invited and choose their own password; remove password (the invitation goes to the user's e-mail)")
	}
	if password != "" {
		var err error
		if u.PasswordHash, err = s.hasher.hash(ctx, password); err != nil {
			return nil, err
		}
	}
	err := s.update(ctx, func(tx *txn) error {
		var copyTo []string
		if u.Kind == KindCustomer {
			t, err := tx.GetTenant(ctx, u.TenantID)
			if err != nil {
				return err
			}
			if p.User.IsOperatorAdmin() {
				// The onboarding invitation: a tenant_admin, only while
				// the tenant has no active admin of its own.
				if !slices.Contains(u.Roles, RoleTenantAdmin) {
					return Errorf(CodeForbidden, "an operator admin may only create the tenant's first tenant_admin; give roles [\"tenant_admin\"]")
				}
				active, err := tenantHasActiveAdmin(ctx, tx, t.ID)
				if err != nil {
					return err
				}
				if active {
					return Errorf(CodeForbidden, "tenant %s has its own administrators: only they create its users and roles", t.ID)
				}
				if t.AdminInvitedAt != nil {
					// A second onboarding invitation: the tenant hears of it.
					copyTo = t.Lockbox.NotificationEmails
				}
				t.AdminInvitedAt = &now
				if err := tx.UpdateTenant(ctx, t); err != nil {
					return err
				}
			} else if err := s.mayManageCustomers(p, t, "create"); err != nil {
				return err
			}
		}
		if err := tx.CreateUser(ctx, u); err != nil {
			return err
		}
		if password == "" && !u.IsServiceAccount() {
			return tx.invite(u, p, now, copyTo)
		}
		typ := EventUserCreated
		if u.Kind == KindOperator {
			typ = EventOperatorUserChanged
		}
		return tx.emit(NewEvent(logOf(u), typ, p.ID(), now, userEventData(u, "created")))
	})
	if err != nil {
		return nil, err
	}
	return u, nil
}

// mayManageCustomers checks that p may create, change or remove the users of
// tenant t. The operator admin only ever invites the first tenant_admin.
func (s *Service) mayManageCustomers(p *Principal, t *Tenant, action string) error {
	u := p.User
	switch {
	case u.IsTenantAdminOf(t.ID):
		if !p.MFA() {
			return Errorf(CodeForbidden, "managing users needs a session signed in with a one-time code")
		}
		return nil
	case u.IsOperatorAdmin():
		return Errorf(CodeForbidden, "tenant %s has its own administrators: only they %s its users and roles", t.ID, action)
	}
	return Errorf(CodeForbidden, "only the tenant's admins %s its users", action)
}

// userVisible checks that p may read user id's record.
func userVisible(p *Principal, u *User) error {
	me := p.User
	switch {
	case me.ID == u.ID, me.IsOperatorAdmin():
		return nil
	case u.Kind == KindCustomer && (me.IsApproverOf(u.TenantID)):
		return nil
	case u.Kind == KindCustomer && me.IsCustomerOf(u.TenantID):
		return Errorf(CodeForbidden, "only the tenant's admins and approvers read its users")
	}
	return Errorf(CodeNotFound, "user %s not found", u.ID)
}

// GetUser reads a user: the user itself, operator admins, and the tenant's
// admins and approvers for its customers.
func (s *Service) GetUser(ctx context.Context, p *Principal, id UserID) (*User, error) {
	var u *User
	err := s.view(ctx, func(r Reader) error {
		var err error
		u, err = r.GetUser(ctx, id)
		return err
	})
	if err != nil {
		return nil, err
	}
	if err := userVisible(p, u); err != nil {
		return nil, err
	}
	return u, nil
}

// ListUsers lists active users. Operator admins see all; a tenant's admins
// and approvers see its customers, so the customer always knows who could
// approve.
func (s *Service) ListUsers(ctx context.Context, p *Principal, f UserFilter) (List[*User], error) {
	me := p.User
	switch {
	case me.IsOperatorAdmin():
	case me.Kind == KindCustomer && me.IsApproverOf(me.TenantID):
		if f.TenantID != "" && f.TenantID != me.TenantID {
			return List[*User]{}, Errorf(CodeNotFound, "tenant %s not found", f.TenantID)
		}
		if f.Kind == KindOperator {
			return List[*User]{}, Errorf(CodeForbidden, "customers cannot list operator users")
		}
		f.TenantID, f.Kind = me.TenantID, KindCustomer
	default:
		return List[*User]{}, Errorf(CodeForbidden, "only operator admins and a tenant's admins and approvers list users")
	}
	var out List[*User]
	err := s.view(ctx, func(r Reader) error {
		var err error
		out.Items, out.NextPageToken, err = r.ListUsers(ctx, f)
		return err
	})
	return out, err
}

// UpdateUser changes a user. Operator admins change operator users; a
// tenant's admins change its customers; anyone may change their own display
// name and password. Removing the tenant's last tenant_admin is refused.
func (s *Service) UpdateUser(ctx context.Context, p *Principal, id UserID, in UpdateUserInput) (*User, error) {
	var hash string
	if in.Password != nil || in.CurrentPassword != nil {
		var err error
		if hash, err = s.newPassword(ctx, p, id, in); err != nil {
			return nil, err
		}
	}
	var out *User
	err := s.update(ctx, func(tx *txn) error {
		u, err := s.activeUser(ctx, tx, p, id)
		if err != nil {
			return err
		}
		privileged := in.Roles != nil || in.Groups != nil || in.Isolated != nil
		if err := s.mayChangeUser(ctx, tx, p, u, privileged, "change"); err != nil {
			return err
		}
		before := userEventData(u, "before")
		wasService := u.IsServiceAccount()
		if in.DisplayName != nil {
			u.DisplayName = *in.DisplayName
		}
		if in.Roles != nil {
			u.Roles = *in.Roles
		}
		if in.Groups != nil {
			u.Groups = *in.Groups
		}
		if in.Isolated != nil {
			u.Isolated = *in.Isolated
		}
		if err := ValidateUserFields(u); err != nil {
			return err
		}
		if u.Kind == KindCustomer && !u.HasRole(RoleTenantAdmin) {
			if err := s.keepOneAdmin(ctx, tx, u.TenantID, id); err != nil {
				return err
			}
		}
		now := s.now()
		u.UpdatedAt = now
		if wasService != u.IsServiceAccount() {
			// An operator admin mints a service account's tokens: they
			// must not outlive the account turning into a person's (or
			// a person's into a service account's).
			if err := tx.DeleteCredentials(ctx, u.ID); err != nil {
				return err
			}
		}
		if hash != "" {
			u.PasswordHash = hash
			// A new password ends the user's other sessions.
			if err := tx.DeleteCredentials(ctx, u.ID); err != nil {
				return err
			}
		}
		if err := tx.UpdateUser(ctx, u); err != nil {
			return err
		}
		if !u.CanRequest() { // invariant 12: what the role allowed ends with it
			if err := s.endAccessOf(tx, u, EndRequesterRoleRemoved, p.ID()); err != nil {
				return err
			}
		}
		out = u
		data := map[string]any{"before": before, "after": userEventData(u, "after"), "password_changed": hash != ""}
		typ := EventUserUpdated
		if u.Kind == KindOperator {
			typ = EventOperatorUserChanged
		}
		e := NewEvent(logOf(u), typ, p.ID(), now, data)
		if err := tx.emit(e); err != nil {
			return err
		}
		if hash == "" {
			return nil
		}
		// The owner hears of it: a change they did not make shows.
		sum, err := tx.accountSummary(u, p.User, now)
		if err != nil {
			return err
		}
		return tx.enqueueAccountEmail(e, NotifyPasswordChanged, u.Email, sum)
	})
	return out, err
}

// newPassword checks a password change and returns the new hash. Only the
// user itself changes its password, on a sign-in session (never an API
// token), giving the current one; a user who lost theirs is re-invited.
// Every check that costs nothing comes first: the current password is
// compared (argon2) only for its owner, and the new one hashed after.
func (s *Service) newPassword(ctx context.Context, p *Principal, id UserID, in UpdateUserInput) (string, error) {
	switch {
	case in.Password == nil:
		return "", Errorf(CodeInvalid, "current_password goes with password: give the new password too")
	case p.ID() != id:
		return "", Errorf(CodeForbidden, "only the user itself changes its password; a user who lost it is re-invited (POST /v1/users/{id}/invitation)")
	case p.CredentialKind != CredentialSession:
		return "", Errorf(CodeForbidden, "an API token cannot change a password: sign in with your password and change it on that session")
	case in.CurrentPassword == nil || *in.CurrentPassword == "":
		return "", Errorf(CodeInvalid, "current_password is required to change the password")
	}
	if err := ValidatePassword(*in.Password); err != nil {
		return "", err
	}
	if len(*in.CurrentPassword) > MaxPasswordLen {
		return "", Errorf(CodeForbidden, "the current password is wrong")
	}
	var u *User
	err := s.view(ctx, func(r Reader) error {
		var err error
		u, err = r.GetUser(ctx, id)
		return err
	})
	if err != nil {
		return "", err
	}
	// A guess of the current password counts like a sign-in attempt.
	a, err := s.throttle.begin(ctx, passwordBudgets(s.throttle.limits, u.Email, ClientAddr(ctx))...)
	if err != nil {
		return "", err
	}
	ok, err := s.hasher.check(ctx, *in.CurrentPassword, u.PasswordHash)
	if err != nil {
		a.succeeded(ctx) // not checked: not a failure
		return "", err
	}
	if !ok {
		return "", Errorf(CodeForbidden, "the current password is wrong")
	}
	a.succeeded(ctx)
	return s.hasher.hash(ctx, *in.Password)
}

// activeUser loads a user that is not removed and that p may see.
func (s *Service) activeUser(ctx context.Context, tx Reader, p *Principal, id UserID) (*User, error) {
	u, err := tx.GetUser(ctx, id)
	if err != nil {
		return nil, err
	}
	if !u.Active() {
		return nil, Errorf(CodeNotFound, "user %s not found", id)
	}
	if err := userVisible(p, u); err != nil {
		return nil, err
	}
	return u, nil
}

// mayChangeUser checks that p may change (or remove) u. privileged is a
// change of roles, groups or isolation, which the user cannot make alone.
func (s *Service) mayChangeUser(ctx context.Context, tx Reader, p *Principal, u *User, privileged bool, action string) error {
	me := p.User
	if u.Kind == KindOperator {
		if me.IsOperatorAdmin() || (me.ID == u.ID && !privileged && action == "change") {
			return nil
		}
		return Errorf(CodeForbidden, "only operator admins %s operator users", action)
	}
	if me.ID == u.ID && !privileged && action == "change" {
		return nil
	}
	t, err := tx.GetTenant(ctx, u.TenantID)
	if err != nil {
		return err
	}
	// The invitation is spent: operators never change a tenant's users.
	if me.IsOperatorAdmin() {
		return Errorf(CodeForbidden, "tenant %s has its own administrators: only they %s its users and roles", t.ID, action)
	}
	return s.mayManageCustomers(p, t, action)
}

// keepOneAdmin refuses a change that would leave tenant t without an active
// tenant_admin, which would leave nobody able to manage it.
func (s *Service) keepOneAdmin(ctx context.Context, tx *txn, t TenantID, changing UserID) error {
	cur, err := tx.GetUser(ctx, changing)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return err
	}
	n, err := tx.CountTenantAdmins(ctx, t)
	if err != nil {
		return err
	}
	// cur is the stored record (before this change).
	if cur != nil && cur.IsTenantAdminOf(t) && n <= 1 {
		return Errorf(CodeConflict, "this is the tenant's last tenant_admin: make another user tenant_admin first")
	}
	return nil
}

// DeleteUser removes a user: its sessions and tokens end and it can no
// longer sign in. The record stays, since reviews and events refer to it.
func (s *Service) DeleteUser(ctx context.Context, p *Principal, id UserID) error {
	return s.update(ctx, func(tx *txn) error {
		u, err := s.activeUser(ctx, tx, p, id)
		if err != nil {
			return err
		}
		if err := s.mayChangeUser(ctx, tx, p, u, true, "remove"); err != nil {
			return err
		}
		if u.Kind == KindCustomer {
			if err := s.keepOneAdmin(ctx, tx, u.TenantID, id); err != nil {
				return err
			}
		}
		now := s.now()
		u.DeletedAt, u.UpdatedAt = &now, now
		if err := tx.UpdateUser(ctx, u); err != nil {
			return err
		}
		if err := tx.DeleteCredentials(ctx, u.ID); err != nil {
			return err
		}
		if err := s.endAccessOf(tx, u, EndRequesterRemoved, p.ID()); err != nil { // invariant 12
			return err
		}
		typ := EventUserDeleted
		if u.Kind == KindOperator {
			typ = EventOperatorUserChanged
		}
		return tx.emit(NewEvent(logOf(u), typ, p.ID(), now, userEventData(u, "removed")))
	})
}

// MaxAPITokenLifetime bounds API tokens; without expires_in a token lasts
// until its user is removed.
const MaxAPITokenLifetime = 366 * 24 * time.Hour

// CreateAPIToken issues a long-lived API token for a user: by the user
// itself, or by an operator admin for a service account (an operator user
// whose only role is gateway). Nobody mints a token for another person, so
// what a token does is always its person's own act (invariant 11).
func (s *Service) CreateAPIToken(ctx context.Context, p *Principal, id UserID, in CreateTokenInput) (*TokenOutput, error) {
	if err := ValidateName("name", in.Name); err != nil {
		return nil, err
	}
	if in.ExpiresIn != nil && (*in.ExpiresIn <= 0 || in.ExpiresIn.D() > MaxAPITokenLifetime) {
		return nil, Errorf(CodeInvalid, "expires_in must be positive and at most %s", MaxAPITokenLifetime)
	}
	secret := NewSecret(APITokenPrefix)
	var out *TokenOutput
	err := s.update(ctx, func(tx *txn) error {
		u, err := s.activeUser(ctx, tx, p, id)
		if err != nil {
			return err
		}
		self := p.ID() == u.ID
		if !self && !(p.User.IsOperatorAdmin() && u.IsServiceAccount()) {
			return Errorf(CodeForbidden, "only the user itself creates its API tokens (an operator admin, for a gateway service account): nobody acts as another person")
		}
		now := s.now()
		c := &Credential{ID: NewID("cred"), UserID: u.ID, Kind: CredentialAPIToken, Name: in.Name,
			Hash: HashSecret(secret), AMR: []string{"token"}, CreatedAt: now}
		if in.ExpiresIn != nil {
			exp := now.Add(in.ExpiresIn.D())
			c.ExpiresAt = &exp
		}
		if err := tx.CreateCredential(ctx, c); err != nil {
			return err
		}
		out = &TokenOutput{ID: c.ID, Token: secret, ExpiresAt: c.ExpiresAt}
		return tx.emit(NewEvent(logOf(u), EventTokenCreated, p.ID(), now,
			map[string]any{"user_id": u.ID, "token_id": c.ID, "name": c.Name, "expires_at": c.ExpiresAt}))
	})
	return out, err
}
