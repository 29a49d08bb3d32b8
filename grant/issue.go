package grant

import (
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/lockbox-dev/lockbox"
)

// Sign returns the compact JWT of claims signed by key, with the protected
// header {"alg":"EdDSA","kid":key.ID,"typ":"JWT"}. It signs what it is given;
// NewClaims is where the window is enforced.
func Sign(key *Key, c *Claims) (string, error) {
	if key == nil || !key.priv.valid() {
		return "", fmt.Errorf("grant: no signing key")
	}
	if key.State != KeyActive {
		return "", fmt.Errorf("grant: key %s is %s; only the active key signs", key.ID, key.State)
	}
	t := jwt.NewWithClaims(jwt.SigningMethodEdDSA, c)
	t.Header["kid"] = key.ID
	s, err := t.SignedString(key.priv)
	if err != nil {
		return "", fmt.Errorf("grant: signing a token: %w", err)
	}
	return s, nil
}

// Issuer mints grant tokens for approved requests. The server holds one; the
// service calls Issue after checking that the caller is the requester.
type Issuer struct {
	// Keys signs with its active key.
	Keys *Keyring
	// URL is the iss claim: the server's public URL, which serves
	// /.well-known/jwks.json.
	URL string
	// TTL is the lifetime of a token (0 means DefaultTTL). It must not exceed
	// the ring's maximum token TTL, or retired keys could leave the JWKS
	// while tokens they signed are still valid.
	TTL time.Duration
}

// Issue returns a token for req and its expiry (the exp claim), issued at
// now. It refuses, with lockbox.ErrConflict, a request that is not approved
// or a now outside the access window; exp is min(window end, now+TTL).
func (is *Issuer) Issue(req *lockbox.AccessRequest, now time.Time) (token string, expiresAt time.Time, err error) {
	t, err := is.IssueToken(req, now)
	return t.Token, t.ExpiresAt, err
}

// IssueToken is Issue with the token's id (jti): the service's
// lockbox.TokenIssuer, which records the id in the token.issued event.
func (is *Issuer) IssueToken(req *lockbox.AccessRequest, now time.Time) (lockbox.IssuedToken, error) {
	if is.Keys == nil {
		return lockbox.IssuedToken{}, fmt.Errorf("grant: issuer has no keyring")
	}
	ttl := is.TTL
	if ttl == 0 {
		ttl = DefaultTTL
	}
	if max := is.Keys.MaxTokenTTL(); ttl > max {
		return lockbox.IssuedToken{}, fmt.Errorf("grant: token TTL %s exceeds the keyring's maximum %s", ttl, max)
	}
	c, err := NewClaims(req, is.URL, ttl, now)
	if err != nil {
		return lockbox.IssuedToken{}, err
	}
	token, err := is.Keys.Sign(c)
	if err != nil {
		return lockbox.IssuedToken{}, err
	}
	return lockbox.IssuedToken{Token: token, ID: c.ID, ExpiresAt: c.Expiry()}, nil
}

var _ lockbox.TokenIssuer = (*Issuer)(nil)
