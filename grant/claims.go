package grant

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/lockbox-dev/lockbox"
)

// Audience is the aud of every grant token: enforcement points accept
// nothing else, so a token minted for another purpose by the same key can
// never open customer content.
const Audience = "lockbox-gateway"

// DefaultTTL is the lifetime of a grant token unless the issuer is told
// otherwise (docs/design.md §5). Short, because a token the enforcement point has not
// heard is revoked is still honoured until it expires (invariant 7).
const DefaultTTL = 15 * time.Minute

// DefaultMaxTTL bounds the lifetime of any token: keyrings keep retired keys
// published this long, verifiers refuse tokens that claim to live longer, and
// gateways remember ended requests this long. Issuers must use a TTL at most
// this.
const DefaultMaxTTL = time.Hour

// Claims are the claims of a grant token (docs/design.md §5). The JSON names are the
// wire format; see the package documentation for an example.
type Claims struct {
	Issuer      string              `json:"iss"`
	Subject     lockbox.UserID      `json:"sub"`
	Audience    Audiences           `json:"aud"`
	IssuedAt    NumericDate         `json:"iat"`
	NotBefore   NumericDate         `json:"nbf"`
	ExpiresAt   NumericDate         `json:"exp"`
	ID          string              `json:"jti"`
	Tenant      lockbox.TenantID    `json:"tenant"`
	Request     lockbox.RequestID   `json:"request"`
	Ticket      lockbox.TicketID    `json:"ticket"`
	Resources   []string            `json:"resources"`
	AccessLevel lockbox.AccessLevel `json:"access_level"`
}

// NewClaims returns the claims of a token for req, issued at now by issuer
// with lifetime ttl (0 means DefaultTTL). It is the one place that enforces
// invariant 1 on the token side: it refuses (lockbox.ErrConflict) a request
// that is not approved or a now outside [access_starts_at,
// access_expires_at), and sets exp = min(window end, now+ttl) rounded down
// to the second, so the token never outlives the window. It does not check
// the caller; the service does.
func NewClaims(req *lockbox.AccessRequest, issuer string, ttl time.Duration, now time.Time) (*Claims, error) {
	if ttl == 0 {
		ttl = DefaultTTL
	}
	switch {
	case issuer == "":
		return nil, fmt.Errorf("grant: the issuer URL is required")
	case ttl < 0:
		return nil, fmt.Errorf("grant: token TTL %s is negative", ttl)
	case req == nil:
		return nil, fmt.Errorf("grant: no request")
	case req.Status != lockbox.StatusApproved:
		return nil, lockbox.Errorf(lockbox.CodeConflict,
			"request %s is %s; grant tokens are issued only for approved requests", req.ID, req.Status)
	case req.AccessStartsAt == nil || req.AccessExpiresAt == nil:
		return nil, lockbox.Errorf(lockbox.CodeConflict, "request %s has no access window", req.ID)
	case now.Before(*req.AccessStartsAt):
		return nil, lockbox.Errorf(lockbox.CodeConflict,
			"the access window of request %s opens at %s", req.ID, req.AccessStartsAt.UTC().Format(time.RFC3339))
	case !now.Before(*req.AccessExpiresAt):
		return nil, lockbox.Errorf(lockbox.CodeConflict,
			"the access window of request %s closed at %s", req.ID, req.AccessExpiresAt.UTC().Format(time.RFC3339))
	case len(req.Resources) == 0:
		return nil, lockbox.Errorf(lockbox.CodeInvalid, "request %s names no resources", req.ID)
	case !slices.Contains(lockbox.AccessLevels, req.AccessLevel):
		return nil, lockbox.Errorf(lockbox.CodeInvalid, "request %s has unknown access level %q", req.ID, req.AccessLevel)
	case req.TenantID == "" || req.RequesterID == "" || req.ID == "":
		return nil, lockbox.Errorf(lockbox.CodeInvalid, "request %q lacks a tenant, requester or id", req.ID)
	}
	exp := now.Add(ttl)
	if req.AccessExpiresAt.Before(exp) {
		exp = *req.AccessExpiresAt
	}
	iat := NewNumericDate(now)
	expAt := NewNumericDate(exp) // rounded down: never past the window end
	if expAt <= iat {
		return nil, lockbox.Errorf(lockbox.CodeConflict,
			"the access window of request %s closes in less than a second", req.ID)
	}
	return &Claims{
		Issuer:      issuer,
		Subject:     req.RequesterID,
		Audience:    Audiences{Audience},
		IssuedAt:    iat,
		NotBefore:   iat,
		ExpiresAt:   expAt,
		ID:          lockbox.NewID("grt"),
		Tenant:      req.TenantID,
		Request:     req.ID,
		Ticket:      req.TicketID,
		Resources:   slices.Clone(req.Resources),
		AccessLevel: req.AccessLevel,
	}, nil
}

// Covers reports whether a token of level have allows an access that needs
// level need: admin ⊇ write ⊇ read. An unknown level covers nothing and is
// covered by nothing.
func Covers(have, need lockbox.AccessLevel) bool {
	h, n := slices.Index(lockbox.AccessLevels, have), slices.Index(lockbox.AccessLevels, need)
	return h >= 0 && n >= 0 && h >= n
}

// HasResource reports whether the token names resource exactly.
func (c *Claims) HasResource(resource string) bool { return slices.Contains(c.Resources, resource) }

// Expiry returns exp as a time.
func (c *Claims) Expiry() time.Time { return c.ExpiresAt.Time() }

// The methods below let golang-jwt treat Claims as its Claims interface. The
// package validates the claims itself (see Verifier), so these only expose
// the values.

// GetExpirationTime implements jwt.Claims.
func (c *Claims) GetExpirationTime() (*jwt.NumericDate, error) { return c.ExpiresAt.jwt(), nil }

// GetIssuedAt implements jwt.Claims.
func (c *Claims) GetIssuedAt() (*jwt.NumericDate, error) { return c.IssuedAt.jwt(), nil }

// GetNotBefore implements jwt.Claims.
func (c *Claims) GetNotBefore() (*jwt.NumericDate, error) { return c.NotBefore.jwt(), nil }

// GetIssuer implements jwt.Claims.
func (c *Claims) GetIssuer() (string, error) { return c.Issuer, nil }

// GetSubject implements jwt.Claims.
func (c *Claims) GetSubject() (string, error) { return string(c.Subject), nil }

// GetAudience implements jwt.Claims.
func (c *Claims) GetAudience() (jwt.ClaimStrings, error) { return jwt.ClaimStrings(c.Audience), nil }

// NumericDate is a JWT time: whole seconds since the Unix epoch. The package
// has its own type, rather than golang-jwt's, whose precision is a global
// variable any other package could change: the rounding that keeps exp inside
// the window must not depend on it. Zero means absent.
type NumericDate int64

// NewNumericDate rounds t down to the second (time.Time.Unix floors).
func NewNumericDate(t time.Time) NumericDate { return NumericDate(t.Unix()) }

// Time returns the date as a UTC time.
func (d NumericDate) Time() time.Time { return time.Unix(int64(d), 0).UTC() }

func (d NumericDate) jwt() *jwt.NumericDate {
	if d == 0 {
		return nil
	}
	return jwt.NewNumericDate(d.Time())
}

// UnmarshalJSON accepts an integer or a number with a fraction (RFC 7519
// allows both); a fraction is rounded down. Strings and other types are
// malformed.
func (d *NumericDate) UnmarshalJSON(b []byte) error {
	var f float64
	if err := json.Unmarshal(b, &f); err != nil {
		return fmt.Errorf("a JWT date must be a number of seconds: %w", err)
	}
	if math.IsNaN(f) || math.IsInf(f, 0) || f < 0 || f > 1<<40 {
		return fmt.Errorf("a JWT date must be a number of seconds, not %v", f)
	}
	*d = NumericDate(math.Floor(f))
	return nil
}

// Audiences is the aud claim. It is written as a single string when it has
// one member (the form most JWT libraries and humans expect) and read from
// either a string or an array of strings, as RFC 7519 allows.
type Audiences []string

// MarshalJSON writes one audience as a string, several as an array.
func (a Audiences) MarshalJSON() ([]byte, error) {
	if len(a) == 1 {
		return json.Marshal(a[0])
	}
	return json.Marshal([]string(a))
}

// UnmarshalJSON reads a string or an array of strings.
func (a *Audiences) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*a = Audiences{s}
		return nil
	}
	var l []string
	if err := json.Unmarshal(b, &l); err != nil {
		return fmt.Errorf("aud must be a string or an array of strings")
	}
	*a = l
	return nil
}
