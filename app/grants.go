package app

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"fmt"
	"time"

	"github.com/lockbox-dev/lockbox"
	"github.com/lockbox-dev/lockbox/grant"
)

// Grant key rotation: the active signing key signs for keyRotationEvery,
// and every replica looks at the stored ring every keyCheckInterval, well
// under the gateways' JWKS refresh period.
const (
	keyRotationEvery = 24 * time.Hour
	keyCheckInterval = time.Minute
)

// secretBlob is grant's Blob over the store's secrets, so the grant
// keyring lives in the database every replica shares, by compare-and-set.
type secretBlob struct{ store lockbox.Store }

func (b secretBlob) GetBlob(ctx context.Context, name string) ([]byte, int64, error) {
	return b.store.GetSecret(ctx, name)
}

func (b secretBlob) PutBlob(ctx context.Context, name string, value []byte, version int64) (int64, error) {
	if err := b.store.PutSecret(ctx, name, value, version); err != nil {
		return 0, err
	}
	return version + 1, nil
}

// grantKEK derives the grant keyring's key-encryption key from the secret
// key, so the two uses of the one key configured never share a key.
func grantKEK(raw []byte) []byte {
	m := hmac.New(sha256.New, raw)
	m.Write([]byte("lockbox grant keyring key-encryption key"))
	return m.Sum(nil)
}

// newGrants loads (or, on first start, creates) the grant keyring from the
// database, encrypted under a key derived from the secret key.
func newGrants(ctx context.Context, store lockbox.Store, key *secretKey, now time.Time) (*grant.EncryptedStore, *grant.Keyring, error) {
	ks, err := grant.NewEncryptedStore(secretBlob{store}, "", key.grantKEK())
	if err != nil {
		return nil, nil, err
	}
	ring, err := grant.LoadOrCreate(ctx, ks, now, grant.DefaultMaxTTL)
	if err != nil {
		return nil, nil, fmt.Errorf("the grant keyring: %w", err)
	}
	return ks, ring, nil
}

// Keyring returns the grant keyring the server signs with.
func (s *Server) Keyring() *grant.Keyring { return s.ring }

// maintainKeys rotates and prunes the keyring while this replica holds the
// lease; reloadKeys picks up what the holder did, on every replica.
func (s *Server) maintainKeys(ctx context.Context) {
	grant.Maintain(ctx, s.keys, s.ring, keyRotationEvery, keyCheckInterval, s.log)
}

func (s *Server) reloadKeys(ctx context.Context) {
	t := time.NewTicker(keyCheckInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := grant.Reload(ctx, s.keys, s.ring); err != nil && ctx.Err() == nil {
				s.log.Error("grant: reloading the keyring failed", "err", err)
			}
		}
	}
}

// RotateGrantKeys rotates the grant signing key in the configured database
// now, without a running server: the next key (already published) starts
// signing, the active one retires and stays published until its tokens
// expired. Running servers pick the change up within keyCheckInterval. It
// returns the kid of the new active key.
func RotateGrantKeys(ctx context.Context, c Config) (string, error) {
	store, err := OpenStore(ctx, c)
	if err != nil {
		return "", err
	}
	defer store.Close()
	key, err := loadSecretKey(c)
	if err != nil {
		return "", err
	}
	now := time.Now()
	if c.Clock != nil {
		now = c.Clock()
	}
	keys, ring, err := newGrants(ctx, store, key, now)
	if err != nil {
		return "", err
	}
	if _, err := grant.Update(ctx, keys, ring, func(r *grant.Keyring) error { return r.Rotate(now) }); err != nil {
		return "", fmt.Errorf("rotating the grant keys: %w", err)
	}
	return ring.Active().ID, nil
}
