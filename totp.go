package lockbox

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// TOTPPendingTTL is how long a TOTP enrolment may wait for its
// confirmation. The pending secret belongs to the session that started
// it: no other session sees or confirms it.
const TOTPPendingTTL = 10 * time.Minute

// pendingTOTP is a started, unconfirmed TOTP enrolment, as User.TOTPPending
// stores it: "v2 <credential id> <expiry, Unix seconds> <secret>", the
// secret sealed when the service has a SecretBox. A value in another form
// (from before enrolments were bound to a session) is no enrolment.
type pendingTOTP struct {
	session string
	expires time.Time
	secret  string // in clear
}

func totpSecretContext(u UserID) string { return "totp secret of user " + string(u) }

func totpPendingContext(u UserID, session string, expires int64) string {
	return fmt.Sprintf("pending totp secret of user %s for session %s until %d", u, session, expires)
}

// seal seals a secret for the database when the service has a box.
func (s *Service) seal(secret, context string) (string, error) {
	if s.box == nil || secret == "" || strings.HasPrefix(secret, SealedPrefix) {
		return secret, nil
	}
	return s.box.Seal(secret, context)
}

// open opens a sealed value; a value stored in clear comes back as is.
func (s *Service) open(stored, context string) (string, error) {
	if !strings.HasPrefix(stored, SealedPrefix) {
		return stored, nil
	}
	if s.box == nil {
		return "", errors.New("a secret is sealed, and this process has no key to open it")
	}
	v, err := s.box.Open(stored, context)
	if err != nil {
		return "", fmt.Errorf("opening a sealed secret (is LOCKBOX_SECRET_KEY the key it was sealed with?): %w", err)
	}
	return v, nil
}

// totpSecret returns u's confirmed TOTP secret in clear ("" when none).
func (s *Service) totpSecret(u *User) (string, error) {
	return s.open(u.TOTPSecret, totpSecretContext(u.ID))
}

// setTOTPSecret stores a confirmed TOTP secret on u, sealed.
func (s *Service) setTOTPSecret(u *User, secret string) error {
	sealed, err := s.seal(secret, totpSecretContext(u.ID))
	if err != nil {
		return fmt.Errorf("sealing a TOTP secret: %w", err)
	}
	u.TOTPSecret = sealed
	return nil
}

// setPendingTOTP stores a pending enrolment on u for the session.
func (s *Service) setPendingTOTP(u *User, session, secret string, expires time.Time) error {
	exp := expires.Unix()
	sealed, err := s.seal(secret, totpPendingContext(u.ID, session, exp))
	if err != nil {
		return fmt.Errorf("sealing a TOTP secret: %w", err)
	}
	u.TOTPPending = strings.Join([]string{"v2", session, strconv.FormatInt(exp, 10), sealed}, " ")
	return nil
}

// pendingTOTP returns u's pending enrolment, nil when there is none in the
// current form.
func (s *Service) pendingTOTP(u *User) (*pendingTOTP, error) {
	f := strings.Split(u.TOTPPending, " ")
	if len(f) != 4 || f[0] != "v2" {
		return nil, nil
	}
	exp, err := strconv.ParseInt(f[2], 10, 64)
	if err != nil {
		return nil, nil
	}
	secret, err := s.open(f[3], totpPendingContext(u.ID, f[1], exp))
	if err != nil {
		return nil, err
	}
	return &pendingTOTP{session: f[1], expires: time.Unix(exp, 0), secret: secret}, nil
}

// pendingFor returns u's pending enrolment when the principal's session
// started it and it has not expired; nil otherwise.
func (s *Service) pendingFor(u *User, p *Principal) (*pendingTOTP, error) {
	pt, err := s.pendingTOTP(u)
	if err != nil || pt == nil {
		return nil, err
	}
	if p.CredentialID == "" || pt.session != p.CredentialID || !s.now().Before(pt.expires) {
		return nil, nil
	}
	return pt, nil
}

// PendingTOTP returns the TOTP enrolment the caller's session started and
// has not confirmed yet, or nil: another session's enrolment, or one older
// than TOTPPendingTTL, is never shown.
func (s *Service) PendingTOTP(ctx context.Context, p *Principal) (*TOTPEnrollment, error) {
	var u *User
	err := s.view(ctx, func(r Reader) error {
		var err error
		u, err = r.GetUser(ctx, p.ID())
		return err
	})
	if err != nil {
		return nil, err
	}
	pt, err := s.pendingFor(u, p)
	if err != nil || pt == nil {
		return nil, err
	}
	return &TOTPEnrollment{Secret: pt.secret, OTPAuthURL: otpauthURL(u.Email, pt.secret)}, nil
}

// SealTOTPSecrets seals every TOTP secret stored in clear (from before
// they were sealed) and drops pending enrolments bound to no session. It
// runs at start and is idempotent; without a SecretBox it only drops the
// unbound pending enrolments. It reports how many users it changed.
func (s *Service) SealTOTPSecrets(ctx context.Context) (int, error) {
	n := 0
	f := UserFilter{WithRemoved: true, Page: Page{Size: MaxPageSize}}
	for {
		var users []*User
		err := s.view(ctx, func(r Reader) error {
			var err error
			users, f.Page.Token, err = r.ListUsers(ctx, f)
			return err
		})
		if err != nil {
			return n, err
		}
		for _, u := range users {
			if !s.totpNeedsSealing(u) {
				continue
			}
			err := s.update(ctx, func(tx *txn) error {
				u, err := tx.GetUser(ctx, u.ID)
				if err != nil || !s.totpNeedsSealing(u) {
					return err
				}
				if err := s.setTOTPSecret(u, u.TOTPSecret); err != nil {
					return err
				}
				if pt, _ := s.pendingTOTP(u); pt == nil {
					u.TOTPPending = ""
				}
				return tx.UpdateUser(ctx, u)
			})
			if err != nil {
				return n, fmt.Errorf("sealing the TOTP secret of user %s: %w", u.ID, err)
			}
			n++
		}
		if f.Page.Token == "" {
			return n, nil
		}
	}
}

func (s *Service) totpNeedsSealing(u *User) bool {
	if u.TOTPPending != "" && !strings.HasPrefix(u.TOTPPending, "v2 ") {
		return true
	}
	return s.box != nil && u.TOTPSecret != "" && !strings.HasPrefix(u.TOTPSecret, SealedPrefix)
}

// otpauthURL is the key URI authenticator apps read.
func otpauthURL(account, secret string) string {
	return fmt.Sprintf("otpauth://totp/lockbox:%s?algorithm=SHA1&digits=6&issuer=lockbox&period=30&secret=%s",
		otpPathEscape(account), secret)
}

func otpPathEscape(s string) string {
	return strings.NewReplacer("%", "%25", " ", "%20", "?", "%3F", "#", "%23", "/", "%2F", ":", "%3A").Replace(s)
}
