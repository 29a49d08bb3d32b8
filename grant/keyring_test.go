package grant_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lockbox-dev/lockbox"
	"github.com/lockbox-dev/lockbox/grant"
)

// RFC 8037 Appendix A.3: the thumbprint of the example Ed25519 key.
func TestThumbprintRFC8037(t *testing.T) {
	x, _ := base64.RawURLEncoding.DecodeString("11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo")
	if got := grant.Thumbprint(x); got != "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k" {
		t.Errorf("thumbprint = %s", got)
	}
}

func kids(set grant.JWKS) []string {
	var out []string
	for _, k := range set.Keys {
		out = append(out, k.Kid)
	}
	return out
}

func TestJWKSShape(t *testing.T) {
	ring := newRing(t, t0)
	b, err := json.Marshal(ring.JWKS())
	if err != nil {
		t.Fatal(err)
	}
	var generic struct {
		Keys []map[string]string `json:"keys"`
	}
	if err := json.Unmarshal(b, &generic); err != nil {
		t.Fatal(err)
	}
	if len(generic.Keys) != 2 {
		t.Fatalf("a new ring publishes its active and next keys: %s", b)
	}
	for _, k := range generic.Keys {
		if k["kty"] != "OKP" || k["crv"] != "Ed25519" || k["alg"] != "EdDSA" || k["use"] != "sig" || len(k) != 6 {
			t.Errorf("JWK = %v", k)
		}
		x, _ := base64.RawURLEncoding.DecodeString(k["x"])
		if k["kid"] != grant.Thumbprint(x) {
			t.Errorf("kid %s is not the thumbprint", k["kid"])
		}
	}
}

// TestRotation: a retired key stays published until the last token it signed
// has expired, and not a moment less.
func TestRotation(t *testing.T) {
	ring := newRing(t, t0) // max token TTL 1 h
	first, next := ring.Active().ID, ring.Keys()[1].ID
	req := approved(t0, 24*time.Hour)
	is := &grant.Issuer{Keys: ring, URL: issuerURL, TTL: time.Hour}

	rot := t0.Add(6 * time.Hour)
	lastOld, _, err := is.Issue(req, rot.Add(-time.Second)) // the last token of the first key
	if err != nil {
		t.Fatal(err)
	}
	if err := ring.Rotate(rot); err != nil {
		t.Fatal(err)
	}
	if ring.Active().ID != next {
		t.Error("rotation did not activate the pre-published next key")
	}
	set := kids(ring.JWKS())
	if !slices.Contains(set, first) || len(set) != 3 {
		t.Fatalf("after rotation JWKS = %v; the retired key must stay", set)
	}
	newTok, _, _ := is.Issue(req, rot)
	if h, _ := payload(t, newTok); h["kid"] != next {
		t.Errorf("new tokens signed by %v, want %s", h["kid"], next)
	}

	// The old token is valid until its exp, and the key stays until then.
	for _, at := range []time.Time{rot, rot.Add(30 * time.Minute), rot.Add(time.Hour - 2*time.Second)} {
		if gone := ring.Prune(at); len(gone) > 0 {
			t.Fatalf("pruned %v at %s, while tokens it signed are valid", gone, at)
		}
		if _, err := verifier(t, ring, at).Verify(context.Background(), lastOld); err != nil {
			t.Fatalf("old token at %s: %v", at, err)
		}
	}
	if gone := ring.Prune(rot.Add(time.Hour)); !slices.Equal(gone, []string{first}) {
		t.Fatalf("pruned %v at retired_at + max TTL", gone)
	}
	if slices.Contains(kids(ring.JWKS()), first) {
		t.Error("pruned key still published")
	}
	if _, err := verifier(t, ring, rot.Add(time.Hour)).Verify(context.Background(), newTok); err == nil {
		// newTok was issued at rot with TTL 1h: it expires exactly now.
		t.Error("token accepted at its exp")
	}
	if err := ring.Remove(ring.Active().ID); err == nil {
		t.Error("removed the active key")
	}
}

type memBlob struct {
	mu      sync.Mutex
	value   []byte
	version int64
}

func (m *memBlob) GetBlob(_ context.Context, name string) ([]byte, int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.version == 0 {
		return nil, 0, lockbox.Errorf(lockbox.CodeNotFound, "no blob %s", name)
	}
	return bytes.Clone(m.value), m.version, nil
}

func (m *memBlob) PutBlob(_ context.Context, name string, v []byte, version int64) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if version != m.version {
		return 0, lockbox.Errorf(lockbox.CodeConflict, "blob %s is at version %d, not %d", name, m.version, version)
	}
	m.value, m.version = bytes.Clone(v), m.version+1
	return m.version, nil
}

func testKEK() []byte { return bytes.Repeat([]byte{7}, 32) }

// stores returns a fresh instance of each KeyStore implementation.
func stores(t *testing.T) map[string]func() grant.KeyStore {
	dir := t.TempDir()
	blob := &memBlob{}
	return map[string]func() grant.KeyStore{
		"file": func() grant.KeyStore { return &grant.FileStore{Path: filepath.Join(dir, "keys", "ring.json")} },
		"encrypted": func() grant.KeyStore {
			s, err := grant.NewEncryptedStore(blob, "", testKEK())
			if err != nil {
				t.Fatal(err)
			}
			return s
		},
	}
}

func TestKeyStores(t *testing.T) {
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			s := open()
			if _, err := s.Load(ctx); !errors.Is(err, grant.ErrNoKeyring) {
				t.Fatalf("empty store: %v", err)
			}
			ring, err := grant.LoadOrCreate(ctx, s, t0, 0)
			if err != nil {
				t.Fatal(err)
			}
			tok, _, _ := (&grant.Issuer{Keys: ring, URL: issuerURL}).Issue(approved(t0, time.Hour), t0)

			// Another process (replica) loads the same ring and can verify.
			other, err := open().Load(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if other.Active().ID != ring.Active().ID || !slices.Equal(kids(other.JWKS()), kids(ring.JWKS())) {
				t.Fatalf("loaded %v, stored %v", other, ring)
			}
			if _, err := verifier(t, other, t0).Verify(ctx, tok); err != nil {
				t.Fatal(err)
			}
			// The loaded private key signs tokens the original verifies.
			tok2, _, _ := (&grant.Issuer{Keys: other, URL: issuerURL}).Issue(approved(t0, time.Hour), t0)
			if _, err := verifier(t, ring, t0).Verify(ctx, tok2); err != nil {
				t.Fatal(err)
			}

			// Two replicas decide to rotate at once: one rotation wins, and
			// the loser, reloading, sees it and does not rotate again.
			a, _ := open().Load(ctx)
			b, _ := open().Load(ctx)
			at := t0.Add(25 * time.Hour)
			rotatedA, err := grant.RotateIfDue(ctx, open(), a, 24*time.Hour, at)
			if err != nil || !rotatedA {
				t.Fatalf("A: %v %v", rotatedA, err)
			}
			// B saves the ring it loaded before A's rotation: refused.
			if err := b.Rotate(at); err != nil {
				t.Fatal(err)
			}
			if err := open().Save(ctx, b); !errors.Is(err, grant.ErrStaleKeyring) {
				t.Fatalf("stale save: %v", err)
			}
			rotatedB, err := grant.RotateIfDue(ctx, open(), b, 24*time.Hour, at)
			if err != nil || rotatedB {
				t.Fatalf("B after A rotated: rotated=%v %v", rotatedB, err)
			}
			if a.Active().ID != b.Active().ID {
				t.Errorf("replicas disagree: %v vs %v", a, b)
			}
			final, _ := open().Load(ctx)
			if len(final.Keys()) != 3 {
				t.Errorf("after one rotation the ring has %d keys: %v", len(final.Keys()), final)
			}
			if err := grant.Reload(ctx, open(), ring); err != nil || ring.Active().ID != a.Active().ID {
				t.Errorf("reload: %v %v", ring, err)
			}
		})
	}
}

func TestFileStorePermissions(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "data")
	s := &grant.FileStore{Path: filepath.Join(dir, "grant-keys.json")}
	if _, err := grant.LoadOrCreate(ctx, s, t0, 0); err != nil {
		t.Fatal(err)
	}
	st, _ := os.Stat(s.Path)
	if st.Mode().Perm() != 0o600 {
		t.Errorf("ring file mode %v", st.Mode())
	}
	dst, _ := os.Stat(dir)
	if dst.Mode().Perm() != 0o700 {
		t.Errorf("directory mode %v", dst.Mode())
	}
	for _, mode := range []os.FileMode{0o640, 0o604, 0o660, 0o644} {
		os.Chmod(s.Path, mode)
		_, err := s.Load(ctx)
		if err == nil || !strings.Contains(err.Error(), "chmod 600") {
			t.Errorf("mode %#o: %v", mode, err)
		}
	}
	os.Chmod(s.Path, 0o600)
	if _, err := s.Load(ctx); err != nil {
		t.Error(err)
	}
	// Garbage is refused with a message, not a panic.
	os.WriteFile(s.Path, []byte(`{"format":"lockbox-grant-keyring/1","keys":[]}`), 0o600)
	if _, err := s.Load(ctx); err == nil {
		t.Error("a ring without keys loaded")
	}
}

func TestEncryptedStoreTamper(t *testing.T) {
	ctx := context.Background()
	blob := &memBlob{}
	s, _ := grant.NewEncryptedStore(blob, "", testKEK())
	ring, err := grant.LoadOrCreate(ctx, s, t0, 0)
	if err != nil {
		t.Fatal(err)
	}
	// The stored bytes hold no key material in the clear.
	seed := grant.ActivePrivate(ring).Seed()
	for _, enc := range []string{base64.RawURLEncoding.EncodeToString(seed), base64.StdEncoding.EncodeToString(seed), string(seed)} {
		if bytes.Contains(blob.value, []byte(enc)) {
			t.Fatal("private key stored in the clear")
		}
	}
	if bytes.Contains(blob.value, []byte(ring.Active().ID)) {
		t.Error("kid visible: the blob is not encrypted")
	}
	good := bytes.Clone(blob.value)
	for i := range good {
		blob.value = bytes.Clone(good)
		blob.value[i] ^= 0x01
		if _, err := s.Load(ctx); err == nil {
			t.Fatalf("flipping byte %d went unnoticed", i)
		}
	}
	blob.value = good[:len(good)-1]
	if _, err := s.Load(ctx); err == nil {
		t.Error("truncation went unnoticed")
	}
	blob.value = bytes.Clone(good)
	wrong, _ := grant.NewEncryptedStore(blob, "", bytes.Repeat([]byte{8}, 32))
	if _, err := wrong.Load(ctx); err == nil || !strings.Contains(err.Error(), "does not decrypt") {
		t.Errorf("wrong KEK: %v", err)
	}
	moved, _ := grant.NewEncryptedStore(blob, "another-name", testKEK())
	if _, err := moved.Load(ctx); err == nil {
		t.Error("a ciphertext moved to another blob name decrypted")
	}
	if _, err := s.Load(ctx); err != nil {
		t.Errorf("untouched: %v", err)
	}
	if _, err := grant.NewEncryptedStore(blob, "", []byte("short")); err == nil {
		t.Error("a short KEK was accepted")
	}
	k, err := grant.ParseKEK(base64.StdEncoding.EncodeToString(testKEK()) + "\n")
	if err != nil || !bytes.Equal(k, testKEK()) {
		t.Errorf("ParseKEK: %v", err)
	}
	if _, err := grant.ParseKEK("c2hvcnQ="); err == nil {
		t.Error("ParseKEK accepted 5 bytes")
	}
}

// TestRedaction prints keys, rings and stores every way a careless log line
// might, and looks for the private key in any encoding.
func TestRedaction(t *testing.T) {
	ring := newRing(t, t0)
	ring.Rotate(t0)
	var secrets []string
	priv := grant.ActivePrivate(ring)
	for _, b := range [][]byte{priv.Seed(), priv} {
		secrets = append(secrets,
			base64.RawURLEncoding.EncodeToString(b), base64.StdEncoding.EncodeToString(b),
			hex.EncodeToString(b), fmt.Sprint([]byte(b)), fmt.Sprintf("%#v", []byte(b)), string(b))
		// A prefix of the decimal dump, in case a format truncates.
		secrets = append(secrets, fmt.Sprint([]byte(b[:8]))[1:20])
	}
	key := ring.Active()
	store, _ := grant.NewEncryptedStore(&memBlob{}, "", testKEK())
	type wrapper struct {
		Key   *grant.Key
		key   *grant.Key
		Ring  *grant.Keyring
		ring  *grant.Keyring
		val   grant.Key
		store *grant.EncryptedStore
	}
	w := wrapper{Key: key, key: key, Ring: ring, ring: ring, val: *key, store: store}
	var out []string
	for _, v := range []any{key, *key, ring, store, w, &w, []*grant.Key{key}, map[string]*grant.Key{"k": key}} {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%x", "%q", "%d"} {
			out = append(out, fmt.Sprintf(verb, v))
		}
		b, _ := json.Marshal(v)
		out = append(out, string(b))
	}
	var logs bytes.Buffer
	for _, h := range []slog.Handler{slog.NewJSONHandler(&logs, nil), slog.NewTextHandler(&logs, nil)} {
		l := slog.New(h)
		l.Info("keys", "key", key, "ring", ring, "store", store, "value", *key, "wrapped", w)
		l.Info("group", slog.Any("key", key))
	}
	out = append(out, logs.String())
	all := strings.Join(out, "\n")
	for _, s := range secrets {
		if strings.Contains(all, s) {
			t.Fatalf("private key material %q printed in:\n%s", s, all)
		}
	}
	if !strings.Contains(all, key.ID) {
		t.Error("the kid should still be visible, for operators")
	}
	// The KEK must not show either (a repeated byte: look for runs).
	for _, s := range []string{hex.EncodeToString(testKEK())[:16], fmt.Sprint(testKEK())[1:30], "7 7 7 7 7 7"} {
		if strings.Contains(all, s) {
			t.Fatalf("KEK printed")
		}
	}
}

// TestLoadOrCreateRace: replicas starting together on an empty store end up
// with one ring.
func TestLoadOrCreateRace(t *testing.T) {
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) {
			var wg sync.WaitGroup
			active := make([]string, 8)
			for i := range active {
				wg.Add(1)
				go func() {
					defer wg.Done()
					r, err := grant.LoadOrCreate(context.Background(), open(), t0, 0)
					if err != nil {
						t.Error(err)
						return
					}
					active[i] = r.Active().ID
				}()
			}
			wg.Wait()
			for _, a := range active {
				if a != active[0] {
					t.Fatalf("replicas hold different rings: %v", active)
				}
			}
		})
	}
}

// TestMaintain: each replica's maintenance loop rotates on schedule and
// picks up the other's rotations; the rings agree and one rotation happens
// per period, not one per replica.
func TestMaintain(t *testing.T) {
	blob := &memBlob{}
	open := func() grant.KeyStore { s, _ := grant.NewEncryptedStore(blob, "", testKEK()); return s }
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	start := time.Now()
	a, err := grant.LoadOrCreate(ctx, open(), start, 0)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := open().Load(ctx)
	go grant.Maintain(ctx, open(), a, 150*time.Millisecond, 10*time.Millisecond, quiet)
	go grant.Maintain(ctx, open(), b, 150*time.Millisecond, 10*time.Millisecond, quiet)
	time.Sleep(500 * time.Millisecond)
	cancel()
	time.Sleep(30 * time.Millisecond)
	final, _ := open().Load(context.Background())
	retired := len(final.Keys()) - 2
	if retired < 2 || retired > 4 {
		t.Errorf("%d rotations in 500 ms at one per 150 ms: %v", retired, final)
	}
	if a.Active().ID != final.Active().ID && b.Active().ID != final.Active().ID {
		t.Errorf("neither replica holds the stored active key")
	}
}
