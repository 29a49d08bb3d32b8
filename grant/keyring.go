package grant

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// Keyring holds the grant-token signing keys of a server: exactly one active
// key that signs, one next key that is published ahead of its use, and the
// retired keys that stay published until every token they signed has
// expired. It is safe for concurrent use.
//
// Replicas sharing a ring through a KeyStore each hold a Keyring loaded from
// it and reload it periodically; Update applies a change (such as a
// rotation) with compare-and-set, so two replicas rotating at once produce
// one rotation, not two rings.
type Keyring struct {
	mu          sync.RWMutex
	keys        []*Key // active first, then next, then retired newest first
	maxTokenTTL time.Duration
	// version is the stored version this ring was loaded from or last saved
	// as (0: never stored); KeyStores compare it before writing.
	version int64
}

// NewKeyring returns a ring with a fresh active key and a fresh next key.
// maxTokenTTL (0 means DefaultMaxTTL) is the longest lifetime of any token
// signed with the ring: retired keys stay published that long, and issuers
// refuse a longer TTL.
func NewKeyring(now time.Time, maxTokenTTL time.Duration) (*Keyring, error) {
	if maxTokenTTL == 0 {
		maxTokenTTL = DefaultMaxTTL
	}
	if maxTokenTTL < 0 {
		return nil, fmt.Errorf("grant: maximum token TTL %s is negative", maxTokenTTL)
	}
	active, err := NewKey(now)
	if err != nil {
		return nil, err
	}
	next, err := NewKey(now)
	if err != nil {
		return nil, err
	}
	active = active.with(KeyActive)
	active.ActivatedAt = now.UTC()
	return &Keyring{keys: []*Key{active, next}, maxTokenTTL: maxTokenTTL}, nil
}

// MaxTokenTTL is the longest lifetime of a token signed with this ring.
func (r *Keyring) MaxTokenTTL() time.Duration {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.maxTokenTTL
}

// Active returns the key that signs new tokens.
func (r *Keyring) Active() *Key {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.keys[0]
}

// Keys returns every key of the ring: active, next, then retired keys.
func (r *Keyring) Keys() []*Key {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return slices.Clone(r.keys)
}

// Rotate makes the next key active, retires the active key (published until
// now + the maximum token TTL) and generates a new next key. The key that
// becomes active has been in the JWKS since the previous rotation, so
// verifiers that refresh more often than the ring rotates never meet its kid
// unannounced.
func (r *Keyring) Rotate(now time.Time) error {
	fresh, err := NewKey(now)
	if err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	now = now.UTC()
	old := r.keys[0].with(KeyRetired)
	old.RetiredAt = now
	old.PublishedUntil = now.Add(r.maxTokenTTL)
	active := r.keys[1].with(KeyActive)
	active.ActivatedAt = now
	keys := []*Key{active, fresh, old}
	r.keys = append(keys, r.keys[2:]...)
	return nil
}

// Prune drops the retired keys whose every token has expired (now at or
// after PublishedUntil) and returns their kids.
func (r *Keyring) Prune(now time.Time) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var gone []string
	r.keys = slices.DeleteFunc(r.keys, func(k *Key) bool {
		if k.State == KeyRetired && !now.Before(k.PublishedUntil) {
			gone = append(gone, k.ID)
			return true
		}
		return false
	})
	return gone
}

// Remove drops a key at once, whatever tokens it signed: the response to a
// key known to be compromised. The active and next keys cannot be removed;
// rotate twice first.
func (r *Keyring) Remove(kid string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	i := slices.IndexFunc(r.keys, func(k *Key) bool { return k.ID == kid })
	switch {
	case i < 0:
		return fmt.Errorf("grant: no key %q in the ring", kid)
	case r.keys[i].State != KeyRetired:
		return fmt.Errorf("grant: key %q is %s; rotate it out before removing it", kid, r.keys[i].State)
	}
	r.keys = slices.Delete(r.keys, i, i+1)
	return nil
}

// JWKS returns the public keys to publish: active, next and retired.
func (r *Keyring) JWKS() JWKS {
	r.mu.RLock()
	defer r.mu.RUnlock()
	set := JWKS{Keys: make([]JWK, 0, len(r.keys))}
	for _, k := range r.keys {
		set.Keys = append(set.Keys, k.JWK())
	}
	return set
}

// PublicKey returns the published key named kid, so a process that holds the
// ring (the server itself, or a service embedding the middleware beside it)
// can verify tokens without fetching its own JWKS.
func (r *Keyring) PublicKey(_ context.Context, kid string) (ed25519.PublicKey, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	for _, k := range r.keys {
		if k.ID == kid {
			return k.Public(), nil
		}
	}
	return nil, fmt.Errorf("%w: %q", ErrUnknownKey, kid)
}

// JWKSHandler serves the ring's public keys at GET /.well-known/jwks.json:
// application/jwk-set+json, cacheable for five minutes (verifiers refresh
// on their own schedule and on unknown kids anyway).
func JWKSHandler(ring *Keyring) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := json.Marshal(ring.JWKS())
		if err != nil {
			http.Error(w, "cannot encode the JWKS", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/jwk-set+json")
		w.Header().Set("Cache-Control", "public, max-age=300")
		w.Write(b)
	})
}

// Sign signs claims with the active key.
func (r *Keyring) Sign(c *Claims) (string, error) { return Sign(r.Active(), c) }

// replace swaps in the contents of other (a freshly loaded ring).
func (r *Keyring) replace(other *Keyring) {
	other.mu.RLock()
	keys, ttl, v := slices.Clone(other.keys), other.maxTokenTTL, other.version
	other.mu.RUnlock()
	r.mu.Lock()
	r.keys, r.maxTokenTTL, r.version = keys, ttl, v
	r.mu.Unlock()
}

// String lists the kids, never private material.
func (r *Keyring) String() string {
	if r == nil {
		return "grant.Keyring(nil)"
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	parts := make([]string, len(r.keys))
	for i, k := range r.keys {
		parts[i] = string(k.State) + ":" + k.ID
	}
	return "grant.Keyring{" + strings.Join(parts, " ") + "}"
}

// GoString redacts for %#v.
func (r *Keyring) GoString() string { return r.String() }

// Format redacts for every fmt verb.
func (r *Keyring) Format(f fmt.State, _ rune) { io.WriteString(f, r.String()) }

// LogValue redacts for log/slog.
func (r *Keyring) LogValue() slog.Value { return slog.StringValue(r.String()) }

// MarshalJSON writes the public JWK Set, never private keys.
func (r *Keyring) MarshalJSON() ([]byte, error) { return json.Marshal(r.JWKS()) }

// validate checks a loaded ring: one active key, one next key, kids that are
// thumbprints of their keys, no duplicates.
func (r *Keyring) validate() error {
	if len(r.keys) < 2 || r.keys[0].State != KeyActive || r.keys[1].State != KeyNext {
		return fmt.Errorf("grant: a keyring needs an active key followed by a next key")
	}
	seen := map[string]bool{}
	for i, k := range r.keys {
		if !k.priv.valid() {
			return fmt.Errorf("grant: key %q has no valid private key", k.ID)
		}
		if k.ID != Thumbprint(k.Public()) {
			return fmt.Errorf("grant: key %q: kid is not the key's thumbprint", k.ID)
		}
		if seen[k.ID] {
			return fmt.Errorf("grant: key %q appears twice", k.ID)
		}
		seen[k.ID] = true
		if i >= 2 && k.State != KeyRetired {
			return fmt.Errorf("grant: key %q is %s; only the first two keys may be active and next", k.ID, k.State)
		}
	}
	if r.maxTokenTTL <= 0 {
		return fmt.Errorf("grant: the ring's maximum token TTL must be positive")
	}
	return nil
}
