package lockbox

import (
	"context"
	"crypto/subtle"
	"errors"
	"log/slog"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
)

// Service runs lockbox's use cases. Each use case checks who may do it, then
// runs in one store transaction together with the events it appends.
type Service struct {
	store      Store
	policy     Policy
	now        Clock
	log        *slog.Logger
	argon      Argon2Params
	hasher     *hasher
	throttle   *throttle
	sessionTTL time.Duration
	onCommit   func([]*Event)
	dummyHash  string
	issuer     TokenIssuer
	notify     NotifyConfig
	box        SecretBox
	// invitationTTL is how long an invitation link is valid.
	invitationTTL time.Duration
}

// Config configures a Service. Store is required; the rest have defaults.
type Config struct {
	Store Store
	// Policy is the JIT policy (package cedar). Without one every request
	// is refused.
	Policy Policy
	Clock  Clock // default SystemClock
	Logger *slog.Logger
	Argon2 *Argon2Params // default DefaultArgon2
	// SessionTTL is how long a signed-in session lasts (default 12h).
	SessionTTL time.Duration
	// OnCommit, when set, is called with the events of every committed
	// change, after the commit (for metrics and listeners).
	OnCommit func([]*Event)
	// Issuer signs grant tokens; without it IssueToken fails.
	Issuer TokenIssuer
	// Notify names the operator-wide notification targets.
	Notify NotifyConfig
	// SecretBox seals the webhook and TOTP secrets the database keeps;
	// without one they are stored in clear.
	SecretBox SecretBox
	// InvitationTTL is how long an invitation link is valid (default
	// DefaultInvitationTTL, 72h).
	InvitationTTL time.Duration
	// Throttle are the failure budgets of password and one-time-code
	// checks (default DefaultThrottle).
	Throttle ThrottleLimits
	// PasswordHashers bounds how many argon2id hashes run at once (each
	// takes Argon2.Memory): default 2 × GOMAXPROCS, at least 2.
	PasswordHashers int
	// PasswordWait is how long a sign-in or password change waits for a
	// free hasher before it is refused with 429 (default 10s).
	PasswordWait time.Duration
}

// NewService returns a Service on the configured store.
func NewService(c Config) *Service {
	s := &Service{
		store: c.Store, policy: c.Policy, now: c.Clock, log: c.Logger,
		argon: DefaultArgon2, sessionTTL: c.SessionTTL, onCommit: c.OnCommit, issuer: c.Issuer,
		notify: c.Notify, box: c.SecretBox, invitationTTL: c.InvitationTTL,
	}
	if s.invitationTTL <= 0 {
		s.invitationTTL = DefaultInvitationTTL
	}
	if s.policy == nil {
		s.policy = refuseAll{}
	}
	if s.now == nil {
		s.now = SystemClock
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	if c.Argon2 != nil {
		s.argon = *c.Argon2
	}
	if s.sessionTTL <= 0 {
		s.sessionTTL = 12 * time.Hour
	}
	s.hasher = newHasher(s.argon, c.PasswordHashers, c.PasswordWait)
	s.throttle = &throttle{store: s.store, limits: c.Throttle.withDefaults(), now: s.now}
	// Compared against when an e-mail is unknown, so a login takes as long
	// for an unknown user as for a wrong password.
	s.dummyHash = HashPassword("lockbox-dummy-password", s.argon)
	return s
}

// Store returns the service's store.
func (s *Service) Store() Store { return s.store }

// Now returns the service's current time.
func (s *Service) Now() time.Time { return s.now() }

// txn is a store transaction that collects the events it appends.
type txn struct {
	Tx
	ctx    context.Context
	s      *Service
	events []*Event
}

// emit appends an event to its tenant's log inside the transaction, with
// the notifications it calls for (the outbox, notifications.go).
func (t *txn) emit(e *Event) error {
	if err := t.AppendEvent(t.ctx, e); err != nil {
		return err
	}
	if err := t.enqueueNotifications(e); err != nil {
		return err
	}
	t.events = append(t.events, e)
	return nil
}

// update runs fn in one store transaction and, once it committed, hands its
// events to the OnCommit hook.
func (s *Service) update(ctx context.Context, fn func(*txn) error) error {
	var events []*Event
	err := s.store.Update(ctx, func(tx Tx) error {
		t := &txn{Tx: tx, ctx: ctx, s: s}
		if err := fn(t); err != nil {
			return err
		}
		events = t.events
		return nil
	})
	if err == nil && s.onCommit != nil && len(events) > 0 {
		s.onCommit(events)
	}
	return err
}

// view runs fn in a read-only transaction.
func (s *Service) view(ctx context.Context, fn func(Reader) error) error {
	return s.store.View(ctx, fn)
}

// Bootstrap creates the first operator admin with token as its API token,
// when the database has no users yet. It reports whether it did.
func (s *Service) Bootstrap(ctx context.Context, token string) (bool, error) {
	if len(token) < 20 {
		return false, Errorf(CodeInvalid, "LOCKBOX_BOOTSTRAP_TOKEN must be at least 20 characters")
	}
	created := false
	err := s.update(ctx, func(tx *txn) error {
		n, err := tx.CountUsers(ctx)
		if err != nil || n > 0 {
			return err
		}
		now := s.now()
		u := &User{
			ID: UserID(NewID("usr")), Kind: KindOperator, Email: "admin@lockbox.invalid",
			DisplayName: "Bootstrap operator admin", Roles: []Role{RoleOperatorAdmin},
			Groups: []string{}, CreatedAt: now, UpdatedAt: now,
		}
		if err := tx.CreateUser(ctx, u); err != nil {
			return err
		}
		c := &Credential{ID: NewID("cred"), UserID: u.ID, Kind: CredentialAPIToken, Name: "bootstrap",
			Hash: HashSecret(token), AMR: []string{"token"}, CreatedAt: now}
		if err := tx.CreateCredential(ctx, c); err != nil {
			return err
		}
		created = true
		return tx.emit(NewEvent(SystemLog, EventOperatorUserChanged, "", now, userEventData(u, "bootstrap")))
	})
	return created, err
}

// Authenticate resolves a bearer secret to its principal.
func (s *Service) Authenticate(ctx context.Context, secret string) (*Principal, error) {
	if secret == "" {
		return nil, ErrUnauthenticated
	}
	var p *Principal
	err := s.view(ctx, func(r Reader) error {
		c, err := r.GetCredential(ctx, HashSecret(secret))
		if errors.Is(err, ErrNotFound) {
			return Errorf(CodeUnauthenticated, "the token is not valid: sign in again")
		} else if err != nil {
			return err
		}
		if c.ExpiresAt != nil && !s.now().Before(*c.ExpiresAt) {
			return Errorf(CodeUnauthenticated, "the session expired at %s: sign in again", c.ExpiresAt.Format(time.RFC3339))
		}
		u, err := r.GetUser(ctx, c.UserID)
		if err != nil {
			return err
		}
		if !u.Active() {
			return Errorf(CodeUnauthenticated, "the user was removed")
		}
		p = &Principal{User: u, CredentialID: c.ID, CredentialKind: c.Kind, AMR: c.AMR}
		return nil
	})
	return p, err
}

// Login checks an e-mail and password (and a TOTP code when given) and opens
// a session. The session is MFA when the code was given and valid.
//
// Every check counts against the service's one throttle: a wrong password
// against the account from the caller's address (ClientAddr) and against
// that address, a wrong code against the account; an attempt that
// succeeds is given back. So a stranger spends only their own budget, and
// guessing stays bounded. The throttle and the cheap checks come before
// the argon2id hash, which runs under the service's concurrency bound.
func (s *Service) Login(ctx context.Context, in LoginInput) (*LoginOutput, error) {
	bad := Errorf(CodeUnauthenticated, "wrong e-mail or password")
	if in.Email == "" || in.Password == "" {
		return nil, Errorf(CodeBadRequest, "email and password are required")
	}
	pwd, err := s.throttle.begin(ctx, passwordBudgets(s.throttle.limits, in.Email, ClientAddr(ctx))...)
	if err != nil {
		return nil, err
	}
	if len(in.Password) > MaxPasswordLen {
		return nil, bad
	}
	var u *User
	err = s.view(ctx, func(r Reader) error {
		var err error
		u, err = r.GetUserByEmail(ctx, in.Email)
		return err
	})
	if errors.Is(err, ErrNotFound) || (err == nil && (!u.Active() || u.PasswordHash == "")) {
		if _, err := s.hasher.check(ctx, in.Password, s.dummyHash); err != nil {
			pwd.succeeded(ctx) // not checked: not a failure
			return nil, err
		}
		return nil, bad
	} else if err != nil {
		pwd.succeeded(ctx)
		return nil, err
	}
	ok, err := s.hasher.check(ctx, in.Password, u.PasswordHash)
	if err != nil {
		pwd.succeeded(ctx)
		return nil, err
	}
	if !ok {
		return nil, bad
	}
	pwd.succeeded(ctx)
	var code *attempt
	if in.OTP != "" {
		// Only a holder of the password reaches this budget.
		if code, err = s.throttle.begin(ctx, codeBudget(s.throttle.limits, u.ID)); err != nil {
			return nil, err
		}
	}
	secret := NewSecret(SessionPrefix)
	out := &LoginOutput{Token: secret}
	wrongCode := false
	err = s.update(ctx, func(tx *txn) error {
		wrongCode = false
		u, err := tx.GetUser(ctx, u.ID) // fresh, for the TOTP replay check
		if err != nil {
			return err
		}
		now := s.now()
		amr := []string{"pwd"}
		if in.OTP != "" {
			seed, err := s.totpSecret(u)
			if err != nil {
				return err
			}
			if seed == "" {
				return Errorf(CodeUnauthenticated, "no TOTP is enrolled for this user: sign in without a code, then enrol with POST /v1/me/totp")
			}
			step, err := checkTOTP(seed, in.OTP, u.TOTPLastStep, now)
			if err != nil {
				wrongCode = true
				return err
			}
			u.TOTPLastStep = step
			if err := tx.UpdateUser(ctx, u); err != nil {
				return err
			}
			amr = append(amr, "otp")
		}
		exp := now.Add(s.sessionTTL)
		c := &Credential{ID: NewID("cred"), UserID: u.ID, Kind: CredentialSession, Hash: HashSecret(secret),
			AMR: amr, CreatedAt: now, ExpiresAt: &exp}
		out.ExpiresAt, out.User = exp, u
		return tx.CreateCredential(ctx, c)
	})
	if !wrongCode {
		code.succeeded(ctx)
	}
	if err != nil {
		return nil, err
	}
	s.log.Info("signed in", "user", u.ID, "mfa", in.OTP != "")
	return out, nil
}

// Logout ends the caller's sign-in session: its credential is deleted, so
// the token is refused from then on by every replica sharing the store. An
// API token is not a session and is refused here (422): it ends when it
// expires, when its user's password changes or when the user is removed.
func (s *Service) Logout(ctx context.Context, p *Principal) error {
	if p == nil || p.CredentialID == "" {
		return Errorf(CodeUnauthenticated, "no session to sign out of: sign in first")
	}
	if p.CredentialKind != CredentialSession {
		return Errorf(CodeInvalid, "this is an API token, not a sign-in session: logout ends sessions only; "+
			"an API token ends when it expires, when its user's password changes or when the user is removed")
	}
	err := s.update(ctx, func(tx *txn) error { return tx.DeleteCredential(ctx, p.CredentialID) })
	if errors.Is(err, ErrNotFound) {
		return Errorf(CodeUnauthenticated, "the session already ended: sign in again")
	} else if err != nil {
		return err
	}
	s.log.Info("signed out", "user", p.User.ID)
	return nil
}

// Me describes the caller.
func (s *Service) Me(p *Principal) *Me {
	return &Me{User: *p.User, MFA: p.MFA(), AMR: p.AMR}
}

const totpPeriod = 30

var totpOpts = totp.ValidateOpts{Period: totpPeriod, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}

// checkTOTP validates a code within one step of clock skew and refuses a
// step at or before lastStep, so a code cannot be replayed. It returns the
// step the code belongs to.
func checkTOTP(secret, code string, lastStep int64, now time.Time) (int64, error) {
	code = strings.TrimSpace(code)
	if len(code) != 6 {
		return 0, Errorf(CodeUnauthenticated, "the one-time code must have 6 digits")
	}
	for _, skew := range []int64{0, -1, 1} {
		step := now.Unix()/totpPeriod + skew
		want, err := totp.GenerateCodeCustom(secret, time.Unix(step*totpPeriod, 0), totpOpts)
		if err != nil {
			return 0, err
		}
		if subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 {
			if step <= lastStep {
				return 0, Errorf(CodeUnauthenticated, "this one-time code was already used: wait for the next one")
			}
			return step, nil
		}
	}
	return 0, Errorf(CodeUnauthenticated, "wrong one-time code")
}

// EnrollTOTP starts TOTP enrolment: a new secret, confirmed by VerifyTOTP
// within TOTPPendingTTL from the same session. Replacing a confirmed
// second factor needs the current one twice over: an MFA session and a
// current code of the enrolled app (in.Code, counted by the throttle), so
// neither a password nor a stolen session alone can swap it.
func (s *Service) EnrollTOTP(ctx context.Context, p *Principal, in TOTPEnrollInput) (*TOTPEnrollment, error) {
	if p.CredentialID == "" {
		return nil, Errorf(CodeUnauthenticated, "sign in first")
	}
	var cur *User
	err := s.view(ctx, func(r Reader) error {
		var err error
		cur, err = r.GetUser(ctx, p.ID())
		return err
	})
	if err != nil {
		return nil, err
	}
	replacing := cur.TOTPSecret != ""
	if replacing && !p.MFA() {
		return nil, Errorf(CodeForbidden, "TOTP is already enabled: sign in with a one-time code to replace it")
	}
	if replacing && strings.TrimSpace(in.Code) == "" {
		return nil, Errorf(CodeInvalid, "code: replacing your one-time code app needs a current code from the app you have now")
	}
	var code *attempt
	if replacing {
		if code, err = s.throttle.begin(ctx, codeBudget(s.throttle.limits, cur.ID)); err != nil {
			return nil, err
		}
	}
	var out *TOTPEnrollment
	wrongCode := false
	err = s.update(ctx, func(tx *txn) error {
		wrongCode = false
		u, err := tx.GetUser(ctx, p.ID())
		if err != nil {
			return err
		}
		now := s.now()
		if u.TOTPSecret != "" {
			if !replacing {
				return Errorf(CodeConflict, "TOTP was enabled meanwhile: give a current code to replace it")
			}
			seed, err := s.totpSecret(u)
			if err != nil {
				return err
			}
			step, err := checkTOTP(seed, in.Code, u.TOTPLastStep, now)
			if err != nil {
				wrongCode = true
				return Errorf(CodeInvalid, "code: %s", err.Error())
			}
			u.TOTPLastStep = step
		}
		key, err := totp.Generate(totp.GenerateOpts{Issuer: "lockbox", AccountName: u.Email, Period: totpPeriod})
		if err != nil {
			return err
		}
		if err := s.setPendingTOTP(u, p.CredentialID, key.Secret(), now.Add(TOTPPendingTTL)); err != nil {
			return err
		}
		u.UpdatedAt = now
		out = &TOTPEnrollment{Secret: key.Secret(), OTPAuthURL: key.URL()}
		return tx.UpdateUser(ctx, u)
	})
	if !wrongCode {
		code.succeeded(ctx)
	}
	return out, err
}

// VerifyTOTP confirms the pending enrolment the caller's session started,
// with a current code of the new secret. From then on the user can sign in
// with MFA. Every code counts against the throttle.
func (s *Service) VerifyTOTP(ctx context.Context, p *Principal, code string) (*Me, error) {
	if strings.TrimSpace(code) == "" {
		return nil, Errorf(CodeInvalid, "code: give the 6-digit code your app shows")
	}
	a, err := s.throttle.begin(ctx, codeBudget(s.throttle.limits, p.ID()))
	if err != nil {
		return nil, err
	}
	var me *Me
	wrongCode := false
	err = s.update(ctx, func(tx *txn) error {
		wrongCode = false
		u, err := tx.GetUser(ctx, p.ID())
		if err != nil {
			return err
		}
		pt, err := s.pendingFor(u, p)
		if err != nil {
			return err
		}
		if pt == nil {
			return Errorf(CodeConflict, "no TOTP enrolment of this session is pending (an enrolment belongs to the session that started it and lasts %s): start one with POST /v1/me/totp", TOTPPendingTTL)
		}
		now := s.now()
		step, err := checkTOTP(pt.secret, code, 0, now)
		if err != nil {
			wrongCode = true
			return Errorf(CodeInvalid, "%s", err.Error())
		}
		if err := s.setTOTPSecret(u, pt.secret); err != nil {
			return err
		}
		u.TOTPPending, u.TOTPLastStep, u.TOTPEnabled, u.UpdatedAt = "", step, true, now
		if err := tx.UpdateUser(ctx, u); err != nil {
			return err
		}
		me = &Me{User: *u, MFA: p.MFA(), AMR: p.AMR}
		return tx.emit(NewEvent(logOf(u), EventTOTPEnabled, u.ID, now, map[string]any{"user_id": u.ID}))
	})
	if !wrongCode {
		a.succeeded(ctx)
	}
	return me, err
}

// logOf is the log a user's changes belong to: its tenant's, or the
// system log for operator users.
func logOf(u *User) TenantID {
	if u.Kind == KindCustomer {
		return u.TenantID
	}
	return SystemLog
}
