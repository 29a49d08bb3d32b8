package grant

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/lockbox-dev/lockbox"
)

// Blob is a small named value with a version, kept where every replica sees
// it: the lead's SQLite and PostgreSQL stores implement it on a table such as
//
//	CREATE TABLE blobs (name TEXT PRIMARY KEY, value BLOB NOT NULL, version BIGINT NOT NULL)
//
// The stores need not import this package: errors are the root package's
// sentinels.
type Blob interface {
	// GetBlob returns the value stored under name and its version (>= 1).
	// It fails with an error that errors.Is lockbox.ErrNotFound when there
	// is none.
	GetBlob(ctx context.Context, name string) (value []byte, version int64, err error)
	// PutBlob stores value under name if the stored version is version —
	// 0 meaning "no value yet" (INSERT), otherwise UPDATE … WHERE version =
	// $version — and returns the new version (version+1). When the stored
	// version differs (another replica wrote first) it stores nothing and
	// fails with an error that errors.Is lockbox.ErrConflict.
	PutBlob(ctx context.Context, name string, value []byte, version int64) (newVersion int64, err error)
}

// DefaultBlobName is the blob the server keeps its grant keyring under.
const DefaultBlobName = "grant-keyring"

// KEKSize is the size of a key-encryption key: AES-256.
const KEKSize = 32

// EncryptedStore keeps the ring in a Blob, encrypted with AES-256-GCM under
// a 32-byte key-encryption key (KEK) that lives outside the database (an
// environment variable or a secret manager), so a database dump or backup
// alone does not yield the signing keys. The blob name is authenticated as
// additional data, so a ciphertext cannot be moved to another name; any
// change to the stored bytes fails decryption.
//
// Stored bytes: "LBK1" || 12-byte random nonce || GCM ciphertext and tag of
// the ring's JSON.
type EncryptedStore struct {
	blob Blob
	name string
	// aead returns the cipher. It is a closure, not a field holding the
	// cipher, because the cipher holds the expanded KEK, and fmt dumps
	// nested fields by reflection without asking them to redact themselves;
	// it cannot look into a closure.
	aead func() cipher.AEAD
}

var _ KeyStore = (*EncryptedStore)(nil)

var blobMagic = []byte("LBK1")

// NewEncryptedStore returns a store that keeps the ring in blob under name
// ("" means DefaultBlobName), encrypted with kek (KEKSize bytes; see
// ParseKEK).
func NewEncryptedStore(blob Blob, name string, kek []byte) (*EncryptedStore, error) {
	if blob == nil {
		return nil, fmt.Errorf("grant: an encrypted store needs a blob store")
	}
	if len(kek) != KEKSize {
		return nil, fmt.Errorf("grant: the key-encryption key must be %d bytes, not %d", KEKSize, len(kek))
	}
	if name == "" {
		name = DefaultBlobName
	}
	block, err := aes.NewCipher(kek)
	if err != nil {
		return nil, fmt.Errorf("grant: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("grant: %w", err)
	}
	return &EncryptedStore{blob: blob, name: name, aead: func() cipher.AEAD { return aead }}, nil
}

// ParseKEK reads a key-encryption key written as base64 (standard or URL
// alphabet, padded or not) of 32 bytes, such as the output of
// `openssl rand -base64 32`.
func ParseKEK(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil && len(b) == KEKSize {
			return b, nil
		}
	}
	return nil, fmt.Errorf("grant: the key-encryption key must be %d bytes in base64 (openssl rand -base64 32)", KEKSize)
}

func (s *EncryptedStore) additionalData() []byte { return []byte(keyringFormat + "\x00" + s.name) }

// Load decrypts the stored ring. A wrong KEK and tampered bytes both fail.
func (s *EncryptedStore) Load(ctx context.Context) (*Keyring, error) {
	b, version, err := s.blob.GetBlob(ctx, s.name)
	if errors.Is(err, lockbox.ErrNotFound) {
		return nil, ErrNoKeyring
	}
	if err != nil {
		return nil, fmt.Errorf("grant: reading blob %q: %w", s.name, err)
	}
	aead := s.aead()
	ns := aead.NonceSize()
	if len(b) < len(blobMagic)+ns+aead.Overhead() || !bytes.Equal(b[:len(blobMagic)], blobMagic) {
		return nil, fmt.Errorf("grant: blob %q is not an encrypted keyring", s.name)
	}
	nonce, ct := b[len(blobMagic):len(blobMagic)+ns], b[len(blobMagic)+ns:]
	plain, err := aead.Open(nil, nonce, ct, s.additionalData())
	if err != nil {
		return nil, fmt.Errorf("grant: blob %q does not decrypt: wrong key-encryption key, or the stored keyring was altered", s.name)
	}
	r, _, err := unmarshalRing(plain)
	clear(plain)
	if err != nil {
		return nil, err
	}
	r.version = version
	return r, nil
}

// Save encrypts ring and stores it with compare-and-set on the blob version.
func (s *EncryptedStore) Save(ctx context.Context, ring *Keyring) error {
	ring.mu.RLock()
	version := ring.version
	ring.mu.RUnlock()
	plain, err := marshalRing(ring, 0) // the blob's version is authoritative
	if err != nil {
		return err
	}
	aead := s.aead()
	out := make([]byte, len(blobMagic)+aead.NonceSize(), len(blobMagic)+aead.NonceSize()+len(plain)+aead.Overhead())
	copy(out, blobMagic)
	if _, err := io.ReadFull(rand.Reader, out[len(blobMagic):]); err != nil {
		return fmt.Errorf("grant: %w", err)
	}
	out = aead.Seal(out, out[len(blobMagic):], plain, s.additionalData())
	clear(plain)
	nv, err := s.blob.PutBlob(ctx, s.name, out, version)
	if errors.Is(err, lockbox.ErrConflict) {
		return fmt.Errorf("%w: blob %q: %v", ErrStaleKeyring, s.name, err)
	}
	if err != nil {
		return fmt.Errorf("grant: writing blob %q: %w", s.name, err)
	}
	ring.mu.Lock()
	ring.version = nv
	ring.mu.Unlock()
	return nil
}

// String names the blob, never the key-encryption key.
func (s *EncryptedStore) String() string {
	return fmt.Sprintf("grant.EncryptedStore{blob: %q}", s.name)
}

// GoString redacts for %#v.
func (s *EncryptedStore) GoString() string { return s.String() }

// Format redacts for every fmt verb: the AEAD holds the expanded KEK.
func (s *EncryptedStore) Format(f fmt.State, _ rune) { io.WriteString(f, s.String()) }

// LogValue redacts for log/slog.
func (s *EncryptedStore) LogValue() slog.Value { return slog.StringValue(s.String()) }
