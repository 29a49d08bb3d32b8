package grant

import (
	"bytes"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"
)

// KeyState is where a signing key is in its life.
type KeyState string

// Key states. A key is born next (published, not yet signing, so verifiers
// that refresh their JWKS periodically know it before the first token it
// signs), becomes active (signing) at a rotation, is retired (published, not
// signing) at the following one, and is pruned once every token it signed
// has expired.
const (
	KeyNext    KeyState = "next"
	KeyActive  KeyState = "active"
	KeyRetired KeyState = "retired"
)

// Key is an Ed25519 grant-token signing key. Its private half is reachable
// only inside this package (to sign and to store); every way of printing a
// Key — fmt verbs, slog, encoding/json — shows the public half and the kid
// only (invariant 8: signing keys are never logged).
//
// Keys are immutable once in a Keyring: state changes make new values.
type Key struct {
	// ID is the kid: the RFC 7638 JWK thumbprint of the public key, so a kid
	// can be recomputed from the key and never names two keys.
	ID    string
	State KeyState
	// CreatedAt is when the key was generated; ActivatedAt when it started
	// signing; RetiredAt when it stopped.
	CreatedAt   time.Time
	ActivatedAt time.Time
	RetiredAt   time.Time
	// PublishedUntil is when a retired key may leave the JWKS: RetiredAt plus
	// the keyring's maximum token TTL, the expiry of the last token it can
	// have signed.
	PublishedUntil time.Time

	priv *privateKey
}

// privateKey holds the private half where no printing path can reach it: in
// a variable captured by a closure. Keeping it in a struct field, even an
// unexported one behind a redacting type, is not enough: fmt prints nested
// unexported fields by reflection without calling their methods, and its
// bad-verb fallback (%s of a pointer field) dumps the pointee. Reflection
// cannot see into a closure; fmt prints a func as an address.
type privateKey struct {
	pub ed25519.PublicKey
	use func(func(ed25519.PrivateKey))
}

const redacted = "[redacted]"

func (*privateKey) String() string               { return redacted }
func (*privateKey) GoString() string             { return redacted }
func (*privateKey) Format(f fmt.State, _ rune)   { io.WriteString(f, redacted) }
func (*privateKey) LogValue() slog.Value         { return slog.StringValue(redacted) }
func (*privateKey) MarshalJSON() ([]byte, error) { return json.Marshal(redacted) }
func (p *privateKey) valid() bool                { return p != nil && len(p.pub) == ed25519.PublicKeySize }

func newPrivateKey(seed []byte) *privateKey {
	k := ed25519.NewKeyFromSeed(seed)
	return &privateKey{pub: k.Public().(ed25519.PublicKey), use: func(f func(ed25519.PrivateKey)) { f(k) }}
}

// seed returns a copy of the RFC 8032 private key, for KeyStores only.
func (p *privateKey) seed() []byte {
	var s []byte
	p.use(func(k ed25519.PrivateKey) { s = bytes.Clone(k.Seed()) })
	return s
}

// Public and Sign make privateKey a crypto.Signer, which is what golang-jwt
// is handed: the key bytes never leave the closure.
func (p *privateKey) Public() crypto.PublicKey { return p.pub }

// Sign signs msg with Ed25519 (opts must be crypto.Hash(0): pure Ed25519).
func (p *privateKey) Sign(_ io.Reader, msg []byte, opts crypto.SignerOpts) ([]byte, error) {
	var sig []byte
	var err error
	p.use(func(k ed25519.PrivateKey) { sig, err = k.Sign(nil, msg, opts) })
	return sig, err
}

// NewKey generates a key from crypto/rand, in state next.
func NewKey(now time.Time) (*Key, error) {
	seed := make([]byte, ed25519.SeedSize)
	if _, err := rand.Read(seed); err != nil {
		return nil, fmt.Errorf("grant: generating a signing key: %w", err)
	}
	return keyFromSeed(seed, now), nil
}

func keyFromSeed(seed []byte, now time.Time) *Key {
	p := newPrivateKey(seed)
	return &Key{ID: Thumbprint(p.pub), State: KeyNext, CreatedAt: now.UTC(), priv: p}
}

// Public returns the public key.
func (k Key) Public() ed25519.PublicKey { return k.priv.pub }

// JWK returns the public key as a JWK.
func (k Key) JWK() JWK { return PublicJWK(k.Public()) }

// The printing methods have value receivers so that a Key value, not only a
// *Key, redacts itself.

// String shows the kid and state, never private material.
func (k Key) String() string { return fmt.Sprintf("grant.Key{kid: %s, state: %s}", k.ID, k.State) }

// GoString redacts for %#v.
func (k Key) GoString() string { return k.String() }

// Format redacts for every fmt verb, including %x and %+v.
func (k Key) Format(f fmt.State, _ rune) { io.WriteString(f, k.String()) }

// LogValue redacts for log/slog.
func (k Key) LogValue() slog.Value {
	return slog.GroupValue(slog.String("kid", k.ID), slog.String("state", string(k.State)))
}

// MarshalJSON writes the public JWK, so a Key passed to encoding/json (a log
// line, a debug endpoint) cannot leak its private half. Stores use their own
// format.
func (k Key) MarshalJSON() ([]byte, error) {
	if !k.priv.valid() {
		return json.Marshal(map[string]string{"kid": k.ID})
	}
	return json.Marshal(k.JWK())
}

// with returns a copy of k in state s; the private key is shared (it is never
// mutated).
func (k *Key) with(s KeyState) *Key {
	c := *k
	c.State = s
	return &c
}

// JWK is a public JSON Web Key of type OKP, curve Ed25519 (RFC 8037).
type JWK struct {
	Kty string `json:"kty"`
	Crv string `json:"crv"`
	X   string `json:"x"`
	Kid string `json:"kid"`
	Alg string `json:"alg,omitempty"`
	Use string `json:"use,omitempty"`
}

// JWKS is a JWK Set (RFC 7517 §5), the body of /.well-known/jwks.json.
type JWKS struct {
	Keys []JWK `json:"keys"`
}

// PublicJWK describes an Ed25519 public key as a JWK with its thumbprint as
// kid, alg EdDSA and use sig.
func PublicJWK(pub ed25519.PublicKey) JWK {
	return JWK{
		Kty: "OKP", Crv: "Ed25519",
		X:   base64.RawURLEncoding.EncodeToString(pub),
		Kid: Thumbprint(pub), Alg: "EdDSA", Use: "sig",
	}
}

// Thumbprint is the RFC 7638 JWK thumbprint of an Ed25519 public key:
// base64url(SHA-256 of {"crv":"Ed25519","kty":"OKP","x":"…"}), the required
// members in lexicographic order with no whitespace (RFC 8037 §2).
func Thumbprint(pub ed25519.PublicKey) string {
	canonical := `{"crv":"Ed25519","kty":"OKP","x":"` + base64.RawURLEncoding.EncodeToString(pub) + `"}`
	sum := sha256.Sum256([]byte(canonical))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// errBadJWK marks a JWK this package cannot use.
var errBadJWK = errors.New("not an Ed25519 signing key")

// PublicKey returns the key a JWK describes. It refuses anything but an
// OKP/Ed25519 key for EdDSA signatures, and a kid that is not the key's
// thumbprint: a kid the server did not derive from the key could make two
// different keys answer to one name.
func (j JWK) PublicKey() (ed25519.PublicKey, error) {
	if j.Kty != "OKP" || j.Crv != "Ed25519" {
		return nil, fmt.Errorf("%w: kty %q crv %q", errBadJWK, j.Kty, j.Crv)
	}
	if j.Alg != "" && j.Alg != "EdDSA" {
		return nil, fmt.Errorf("%w: alg %q", errBadJWK, j.Alg)
	}
	if j.Use != "" && j.Use != "sig" {
		return nil, fmt.Errorf("%w: use %q", errBadJWK, j.Use)
	}
	x, err := base64.RawURLEncoding.Strict().DecodeString(j.X)
	if err != nil || len(x) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("%w: x is not a base64url 32-byte key", errBadJWK)
	}
	pub := ed25519.PublicKey(x)
	if j.Kid != Thumbprint(pub) {
		return nil, fmt.Errorf("%w: kid %q is not the key's RFC 7638 thumbprint", errBadJWK, j.Kid)
	}
	return pub, nil
}
