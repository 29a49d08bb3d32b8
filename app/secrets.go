package app

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/lockbox-dev/lockbox"
)

// A secretKey encrypts the signing keys lockbox keeps in its database
// (AES-256-GCM, the secret's name as additional data), so that a copy of the
// database — a backup, a replica's dump — holds no usable key without it.
type secretKey struct {
	aead cipher.AEAD
	// grantKEK returns the key that encrypts the grant keyring (derived
	// from this one). A closure, so that printing a secretKey by
	// reflection cannot show it.
	grantKEK func() []byte
}

// secretKeySize is the size of the key-encryption key.
const secretKeySize = 32

// loadSecretKey reads the key-encryption key: from Config.SecretKey
// (base64), else from the file secret.key in the data directory, which an
// SQLite installation creates on first start (mode 0600). Replicas sharing
// PostgreSQL must all be given the same key.
func loadSecretKey(c Config) (*secretKey, error) {
	raw := strings.TrimSpace(c.SecretKey)
	if raw == "" {
		if c.DatabaseURL != "" {
			return nil, errors.New("LOCKBOX_SECRET_KEY is required with --database-url: every replica needs the same key to read the signing keys in the database (create one with: openssl rand -base64 32)")
		}
		path := filepath.Join(c.DataDir, "secret.key")
		b, err := os.ReadFile(path)
		switch {
		case errors.Is(err, os.ErrNotExist):
			k := make([]byte, secretKeySize)
			if _, err := rand.Read(k); err != nil {
				return nil, err
			}
			raw = base64.StdEncoding.EncodeToString(k)
			f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
			if err != nil {
				return nil, fmt.Errorf("creating %s: %w", path, err)
			}
			if _, err := f.WriteString(raw + "\n"); err != nil {
				f.Close()
				return nil, fmt.Errorf("writing %s: %w", path, err)
			}
			if err := f.Close(); err != nil {
				return nil, err
			}
		case err != nil:
			return nil, fmt.Errorf("reading %s: %w", path, err)
		default:
			if st, err := os.Stat(path); err == nil && st.Mode().Perm()&0o077 != 0 {
				return nil, fmt.Errorf("%s is readable by others (mode %v): chmod 600 it", path, st.Mode().Perm())
			}
			raw = strings.TrimSpace(string(b))
		}
	}
	k, err := base64.StdEncoding.DecodeString(raw)
	if err != nil || len(k) != secretKeySize {
		return nil, fmt.Errorf("the secret key must be %d bytes in base64 (openssl rand -base64 32)", secretKeySize)
	}
	block, err := aes.NewCipher(k)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	kek := grantKEK(k)
	return &secretKey{aead: aead, grantKEK: func() []byte { return kek }}, nil
}

func (k *secretKey) seal(name string, plain []byte) []byte {
	nonce := make([]byte, k.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		panic(err)
	}
	return k.aead.Seal(nonce, nonce, plain, []byte(name))
}

func (k *secretKey) open(name string, sealed []byte) ([]byte, error) {
	n := k.aead.NonceSize()
	if len(sealed) < n {
		return nil, fmt.Errorf("secret %s: too short to be sealed", name)
	}
	plain, err := k.aead.Open(nil, sealed[:n], sealed[n:], []byte(name))
	if err != nil {
		return nil, fmt.Errorf("secret %s cannot be decrypted: is this the secret key it was stored with? (%w)", name, err)
	}
	return plain, nil
}

// loadOrCreateSecret returns the named secret from the store, creating it
// with create on first use. Replicas starting together race to create it;
// the loser reads the winner's.
func loadOrCreateSecret(ctx context.Context, store lockbox.Store, key *secretKey, name string, create func() ([]byte, error)) ([]byte, error) {
	for range 3 {
		sealed, _, err := store.GetSecret(ctx, name)
		if err == nil {
			return key.open(name, sealed)
		}
		if !errors.Is(err, lockbox.ErrNotFound) {
			return nil, err
		}
		plain, err := create()
		if err != nil {
			return nil, err
		}
		err = store.PutSecret(ctx, name, key.seal(name, plain), 0)
		if err == nil {
			return plain, nil
		}
		if !errors.Is(err, lockbox.ErrConflict) {
			return nil, err
		}
	}
	return nil, fmt.Errorf("secret %s: could not create or read it", name)
}

// webhookBox seals the tenants' webhook secrets with the secret key; it is
// the lockbox.SecretBox of the service and the notification worker.
type webhookBox struct{ key *secretKey }

var _ lockbox.SecretBox = webhookBox{}

// Seal implements lockbox.SecretBox.
func (b webhookBox) Seal(plaintext, context string) (string, error) {
	return lockbox.SealedPrefix + base64.RawStdEncoding.EncodeToString(b.key.seal(context, []byte(plaintext))), nil
}

// Open implements lockbox.SecretBox.
func (b webhookBox) Open(sealed, context string) (string, error) {
	raw, err := base64.RawStdEncoding.DecodeString(strings.TrimPrefix(sealed, lockbox.SealedPrefix))
	if err != nil {
		return "", fmt.Errorf("a sealed secret that is not base64: %w", err)
	}
	plain, err := b.key.open(context, raw)
	if err != nil {
		return "", err
	}
	return string(plain), nil
}
