package grant

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/lockbox-dev/lockbox"
)

// KeyStore keeps a Keyring at rest, private keys included. Save is a
// compare-and-set: it writes only if the stored ring is still the version
// the Keyring was loaded from (or saved as), and fails with ErrStaleKeyring
// otherwise, so two replicas that rotate at once cannot overwrite each
// other's keys. Use Update rather than Load/Save by hand.
type KeyStore interface {
	// Load returns the stored ring, or ErrNoKeyring when there is none.
	Load(ctx context.Context) (*Keyring, error)
	// Save stores ring if the stored version is still ring's, then advances
	// ring's version.
	Save(ctx context.Context, ring *Keyring) error
}

// Errors of KeyStores.
var (
	ErrNoKeyring    = errors.New("grant: no keyring stored yet")
	ErrStaleKeyring = errors.New("grant: the stored keyring changed since it was loaded")
)

// LoadOrCreate loads the stored ring, or creates and stores a new one with
// maxTokenTTL when there is none. When two processes start on an empty store
// at once, one ring wins and both return it.
func LoadOrCreate(ctx context.Context, store KeyStore, now time.Time, maxTokenTTL time.Duration) (*Keyring, error) {
	for range 5 {
		r, err := store.Load(ctx)
		if err == nil {
			return r, nil
		}
		if !errors.Is(err, ErrNoKeyring) {
			return nil, err
		}
		r, err = NewKeyring(now, maxTokenTTL)
		if err != nil {
			return nil, err
		}
		switch err := store.Save(ctx, r); {
		case err == nil:
			return r, nil
		case !errors.Is(err, ErrStaleKeyring):
			return nil, err
		}
	}
	return nil, fmt.Errorf("grant: keyring creation kept conflicting")
}

// Update loads the stored ring, applies change and saves the result with
// compare-and-set, reloading and reapplying on conflict. change must decide
// from the ring it is given (for example "rotate if the active key is older
// than a day"), so that the replica that loses the race sees the winner's
// rotation and does nothing. ring, if not nil, is refreshed in place with the
// result, so a server can keep handing the same *Keyring to its Issuer.
func Update(ctx context.Context, store KeyStore, ring *Keyring, change func(*Keyring) error) (*Keyring, error) {
	for range 5 {
		r, err := store.Load(ctx)
		if err != nil {
			return nil, err
		}
		if err := change(r); err != nil {
			return nil, err
		}
		switch err := store.Save(ctx, r); {
		case err == nil:
			if ring != nil {
				ring.replace(r)
				return ring, nil
			}
			return r, nil
		case !errors.Is(err, ErrStaleKeyring):
			return nil, err
		}
	}
	return nil, fmt.Errorf("grant: keyring update kept conflicting")
}

// RotateIfDue brings ring up to date with the store and, when the stored
// active key has signed for every or longer, rotates it; it also prunes
// retired keys whose tokens have all expired. It writes only when something
// changed, with compare-and-set: when replicas run it at once, one rotation
// wins and the others load it. It reports whether it rotated.
func RotateIfDue(ctx context.Context, store KeyStore, ring *Keyring, every time.Duration, now time.Time) (bool, error) {
	for range 5 {
		r, err := store.Load(ctx)
		if err != nil {
			return false, err
		}
		pruned := r.Prune(now)
		due := now.Sub(r.Active().ActivatedAt) >= every
		if !due && len(pruned) == 0 {
			ring.replace(r)
			return false, nil
		}
		if due {
			if err := r.Rotate(now); err != nil {
				return false, err
			}
		}
		switch err := store.Save(ctx, r); {
		case err == nil:
			ring.replace(r)
			return due, nil
		case !errors.Is(err, ErrStaleKeyring):
			return false, err
		}
	}
	return false, fmt.Errorf("grant: keyring rotation kept conflicting")
}

// Maintain runs RotateIfDue every interval until ctx ends, so a server (each
// replica) rotates its signing key every `every`, prunes expired keys, and
// picks up rotations other replicas made. interval must be well under the
// verifiers' JWKS refresh period and every (a minute is typical); errors are
// logged and retried at the next tick, while the ring in memory keeps
// signing.
func Maintain(ctx context.Context, store KeyStore, ring *Keyring, every, interval time.Duration, logger *slog.Logger) {
	if logger == nil {
		logger = slog.Default()
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			rotated, err := RotateIfDue(ctx, store, ring, every, now)
			switch {
			case err != nil:
				logger.Error("grant: keyring maintenance failed", "error", err)
			case rotated:
				logger.Info("grant: signing key rotated", "active", ring.Active().ID)
			}
		}
	}
}

// Reload refreshes ring in place from store, for replicas that did not make
// the latest change themselves.
func Reload(ctx context.Context, store KeyStore, ring *Keyring) error {
	r, err := store.Load(ctx)
	if err != nil {
		return err
	}
	ring.replace(r)
	return nil
}

// keyringFormat names the serialised form, so a future format is told apart.
const keyringFormat = "lockbox-grant-keyring/1"

// storedRing is the serialised ring. It holds private keys: only KeyStores
// see it, and they protect it (file mode 0600, or encryption).
type storedRing struct {
	Format      string           `json:"format"`
	Version     int64            `json:"version,omitempty"`
	MaxTokenTTL lockbox.Duration `json:"max_token_ttl"`
	Keys        []storedKey      `json:"keys"`
}

type storedKey struct {
	Kid            string    `json:"kid"`
	State          KeyState  `json:"state"`
	Seed           string    `json:"seed"` // base64url Ed25519 seed (RFC 8032 private key)
	CreatedAt      time.Time `json:"created_at"`
	ActivatedAt    time.Time `json:"activated_at,omitzero"`
	RetiredAt      time.Time `json:"retired_at,omitzero"`
	PublishedUntil time.Time `json:"published_until,omitzero"`
}

// marshalRing serialises ring with version as its stored version.
func marshalRing(ring *Keyring, version int64) ([]byte, error) {
	ring.mu.RLock()
	defer ring.mu.RUnlock()
	s := storedRing{Format: keyringFormat, Version: version, MaxTokenTTL: lockbox.Duration(ring.maxTokenTTL)}
	for _, k := range ring.keys {
		s.Keys = append(s.Keys, storedKey{
			Kid: k.ID, State: k.State,
			Seed:      base64.RawURLEncoding.EncodeToString(k.priv.seed()),
			CreatedAt: k.CreatedAt, ActivatedAt: k.ActivatedAt,
			RetiredAt: k.RetiredAt, PublishedUntil: k.PublishedUntil,
		})
	}
	return json.MarshalIndent(s, "", "  ")
}

// unmarshalRing reads a serialised ring and checks it.
func unmarshalRing(b []byte) (*Keyring, int64, error) {
	var s storedRing
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, 0, fmt.Errorf("grant: stored keyring is not valid JSON: %w", err)
	}
	if s.Format != keyringFormat {
		return nil, 0, fmt.Errorf("grant: stored keyring has format %q, expected %q", s.Format, keyringFormat)
	}
	r := &Keyring{maxTokenTTL: s.MaxTokenTTL.D(), version: s.Version}
	for _, sk := range s.Keys {
		seed, err := base64.RawURLEncoding.DecodeString(sk.Seed)
		if err != nil || len(seed) != ed25519.SeedSize {
			return nil, 0, fmt.Errorf("grant: stored key %q has no valid seed", sk.Kid)
		}
		k := keyFromSeed(seed, sk.CreatedAt)
		if k.ID != sk.Kid {
			return nil, 0, fmt.Errorf("grant: stored key %q does not match its seed", sk.Kid)
		}
		k.State, k.ActivatedAt, k.RetiredAt, k.PublishedUntil = sk.State, sk.ActivatedAt, sk.RetiredAt, sk.PublishedUntil
		r.keys = append(r.keys, k)
	}
	if err := r.validate(); err != nil {
		return nil, 0, err
	}
	return r, s.Version, nil
}
