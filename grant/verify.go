package grant

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/lockbox-dev/lockbox"
)

// Why a token was refused. Verify wraps exactly one of these (errors.Is), with
// details a person can act on.
var (
	// ErrMalformed: not a compact JWT, bad encoding or JSON, a claim of the
	// wrong type, or a required claim missing.
	ErrMalformed = errors.New("grant token is malformed")
	// ErrBadSignature: the signature does not verify, or the alg is not
	// EdDSA (none, HS256 and every other algorithm are refused outright).
	ErrBadSignature = errors.New("grant token signature is invalid")
	// ErrUnknownKey: the kid names no key the server publishes.
	ErrUnknownKey = errors.New("grant token is signed by an unknown key")
	// ErrExpired: now is at or after exp.
	ErrExpired = errors.New("grant token has expired")
	// ErrNotYetValid: now is before nbf (or iat) beyond the clock skew.
	ErrNotYetValid = errors.New("grant token is not valid yet")
	// ErrWrongAudience: aud does not contain lockbox-gateway.
	ErrWrongAudience = errors.New("grant token is not meant for lockbox enforcement points")
	// ErrWrongIssuer: iss is not the configured server.
	ErrWrongIssuer = errors.New("grant token was issued by another server")
	// ErrTooLong: the token claims a lifetime beyond the maximum TTL, which
	// a lockbox server never issues; enforcement points rely on that bound
	// to forget ended requests.
	ErrTooLong = errors.New("grant token lives longer than any lockbox token may")
	// ErrKeysUnavailable: the verifier has no keys at all because the JWKS
	// could not be fetched. Not the token's fault: enforcement points answer
	// 503, not 401.
	ErrKeysUnavailable = errors.New("grant token keys are unavailable")
)

// MaxTokenSize bounds the tokens Verify will parse, so a huge header cannot
// make it do much work. Real tokens are well under 1 KiB.
const MaxTokenSize = 8 << 10

// PublicKeys finds the public key a token names. *Keyring (in the server's
// own process) and *RemoteKeys (anywhere else, from the JWKS) implement it.
// An unknown kid is reported as ErrUnknownKey; a key source that cannot
// answer at all as ErrKeysUnavailable.
type PublicKeys interface {
	PublicKey(ctx context.Context, kid string) (ed25519.PublicKey, error)
}

// VerifierConfig configures a Verifier.
type VerifierConfig struct {
	// Issuer is the exact iss a token must carry: the server's public URL.
	Issuer string
	// Keys resolves kids to public keys.
	Keys PublicKeys
	// Skew is how far nbf and iat may lie in the future of this clock, to
	// absorb clock differences with the server. It does not extend exp: a
	// token is never accepted at or after its exp, so never after the
	// access window. Zero means no tolerance; a few seconds is typical.
	Skew time.Duration
	// MaxTTL is the longest lifetime (exp - iat) a token may claim; 0 means
	// DefaultMaxTTL.
	MaxTTL time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// CacheSize bounds the cache of verified signatures (0: 4096 tokens;
	// negative: no cache). See Verifier.
	CacheSize int
}

// Verifier checks grant tokens. It is safe for concurrent use.
//
// An engineer sends the same token with every request for up to its
// lifetime, and the Ed25519 check is most of the cost of verification, so a
// Verifier remembers which tokens' signatures it has checked. Only that is
// remembered: on every use the token's kid must still resolve to a published
// key (so removing a compromised key takes effect at once, as without a
// cache) and every claim is checked again against the clock. A kid names one
// key forever — it is the key's thumbprint — so a signature that verified
// under it stays verified.
type Verifier struct {
	cfg    VerifierConfig
	parser *jwt.Parser
	cache  *sigCache
}

// NewVerifier returns a Verifier for cfg.
func NewVerifier(cfg VerifierConfig) (*Verifier, error) {
	switch {
	case cfg.Issuer == "":
		return nil, fmt.Errorf("grant: a verifier needs the issuer URL")
	case cfg.Keys == nil:
		return nil, fmt.Errorf("grant: a verifier needs a key source")
	case cfg.Skew < 0 || cfg.Skew > time.Minute:
		return nil, fmt.Errorf("grant: clock skew %s is outside [0, 1m]", cfg.Skew)
	case cfg.MaxTTL < 0:
		return nil, fmt.Errorf("grant: maximum token TTL %s is negative", cfg.MaxTTL)
	}
	if cfg.MaxTTL == 0 {
		cfg.MaxTTL = DefaultMaxTTL
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	var cache *sigCache
	switch {
	case cfg.CacheSize == 0:
		cache = newSigCache(4096)
	case cfg.CacheSize > 0:
		cache = newSigCache(cfg.CacheSize)
	}
	return &Verifier{cfg: cfg, cache: cache, parser: jwt.NewParser(
		jwt.WithValidMethods([]string{jwt.SigningMethodEdDSA.Alg()}),
		jwt.WithStrictDecoding(),
		// Claims are validated below, with exp free of leeway and errors
		// this package names.
		jwt.WithoutClaimsValidation(),
	)}, nil
}

// Verify checks token and returns its claims: alg EdDSA, a known kid, a valid
// signature, the exact issuer, the lockbox-gateway audience, every claim
// present and well-formed, nbf/iat not in the future (beyond Skew), now
// before exp, and a lifetime within MaxTTL. The error wraps one of the Err…
// values of this package.
func (v *Verifier) Verify(ctx context.Context, token string) (*Claims, error) {
	if token == "" || len(token) > MaxTokenSize {
		return nil, fmt.Errorf("%w: %d bytes", ErrMalformed, len(token))
	}
	key := sha256.Sum256([]byte(token))
	if c, kid, ok := v.cache.get(key); ok {
		if _, err := v.cfg.Keys.PublicKey(ctx, kid); err != nil {
			v.cache.drop(key)
			return nil, err
		}
		if err := v.check(c); err != nil {
			return nil, err
		}
		return c, nil
	}
	c := new(Claims)
	var kid string
	_, err := v.parser.ParseWithClaims(token, c, func(t *jwt.Token) (any, error) {
		if _, ok := t.Header["crit"]; ok {
			// Lockbox never sets critical extensions; a token that does
			// was not made here.
			return nil, fmt.Errorf("%w: unsupported crit header", ErrMalformed)
		}
		var ok bool
		kid, ok = t.Header["kid"].(string)
		if !ok || kid == "" {
			return nil, fmt.Errorf("%w: no kid in the header", ErrMalformed)
		}
		return v.cfg.Keys.PublicKey(ctx, kid)
	})
	if err != nil {
		return nil, classify(err)
	}
	if err := v.check(c); err != nil {
		return nil, err
	}
	v.cache.put(key, c, kid)
	return c, nil
}

// classify maps golang-jwt's errors onto this package's.
func classify(err error) error {
	for _, own := range []error{ErrMalformed, ErrUnknownKey, ErrKeysUnavailable} {
		if errors.Is(err, own) {
			return err
		}
	}
	switch {
	case errors.Is(err, jwt.ErrTokenMalformed):
		return fmt.Errorf("%w: %v", ErrMalformed, err)
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		return fmt.Errorf("%w: %v", ErrBadSignature, err)
	case errors.Is(err, jwt.ErrTokenUnverifiable):
		// An alg golang-jwt does not know, or none.
		return fmt.Errorf("%w: %v", ErrBadSignature, err)
	}
	return fmt.Errorf("%w: %v", ErrMalformed, err)
}

func (v *Verifier) check(c *Claims) error {
	now := v.cfg.Now()
	switch {
	case c.Issuer != v.cfg.Issuer:
		return fmt.Errorf("%w: iss is %q, expected %q", ErrWrongIssuer, c.Issuer, v.cfg.Issuer)
	case !slices.Contains(c.Audience, Audience):
		return fmt.Errorf("%w: aud %q lacks %q", ErrWrongAudience, []string(c.Audience), Audience)
	case c.ExpiresAt == 0 || c.NotBefore == 0 || c.IssuedAt == 0:
		return fmt.Errorf("%w: exp, nbf and iat are required", ErrMalformed)
	case c.Subject == "" || c.ID == "" || c.Tenant == "" || c.Request == "" || c.Ticket == "":
		return fmt.Errorf("%w: sub, jti, tenant, request and ticket are required", ErrMalformed)
	case len(c.Resources) == 0 || slices.Contains(c.Resources, ""):
		return fmt.Errorf("%w: resources must list at least one non-empty resource", ErrMalformed)
	case !slices.Contains(lockbox.AccessLevels, c.AccessLevel):
		return fmt.Errorf("%w: unknown access_level %q", ErrMalformed, c.AccessLevel)
	case c.ExpiresAt <= c.IssuedAt || c.ExpiresAt <= c.NotBefore:
		return fmt.Errorf("%w: exp is not after iat and nbf", ErrMalformed)
	case c.ExpiresAt.Time().Sub(c.IssuedAt.Time()) > v.cfg.MaxTTL:
		return fmt.Errorf("%w: %s > %s", ErrTooLong, c.ExpiresAt.Time().Sub(c.IssuedAt.Time()), v.cfg.MaxTTL)
	case !now.Before(c.ExpiresAt.Time()):
		return fmt.Errorf("%w: at %s", ErrExpired, c.ExpiresAt.Time().Format(time.RFC3339))
	case now.Add(v.cfg.Skew).Before(c.NotBefore.Time()):
		return fmt.Errorf("%w: not before %s", ErrNotYetValid, c.NotBefore.Time().Format(time.RFC3339))
	case now.Add(v.cfg.Skew).Before(c.IssuedAt.Time()):
		return fmt.Errorf("%w: issued in the future, at %s", ErrNotYetValid, c.IssuedAt.Time().Format(time.RFC3339))
	}
	return nil
}
