package grant

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// fuzzNow and fuzzRing are fixed so that the checked-in seed corpus
// (testdata/fuzz/FuzzVerify) holds tokens that really verify, and the fuzzer
// starts from the accepting path, not only from garbage.
var fuzzNow = time.Date(2030, 5, 1, 9, 5, 0, 0, time.UTC)

func fuzzRing() *Keyring {
	active := keyFromSeed(bytes.Repeat([]byte{1}, ed25519.SeedSize), fuzzNow).with(KeyActive)
	next := keyFromSeed(bytes.Repeat([]byte{2}, ed25519.SeedSize), fuzzNow)
	return &Keyring{keys: []*Key{active, next}, maxTokenTTL: DefaultMaxTTL}
}

// FuzzVerify feeds arbitrary strings to the verifier. Whatever it accepts
// must be a token the ring's key really signed, with the audience, issuer
// and times the contract requires.
func FuzzVerify(f *testing.F) {
	ring := fuzzRing()
	f.Add("")
	f.Add("a.b.c")
	f.Add("eyJhbGciOiJub25lIn0.e30.")
	v, err := NewVerifier(VerifierConfig{Issuer: "https://lockbox.example.com", Keys: ring, Skew: 2 * time.Second,
		Now: func() time.Time { return fuzzNow }})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, token string) {
		c, err := v.Verify(context.Background(), token)
		if err != nil {
			if c != nil {
				t.Fatal("claims with an error")
			}
			return
		}
		parts := strings.Split(token, ".")
		if len(parts) != 3 {
			t.Fatalf("accepted a token of %d parts", len(parts))
		}
		sig, err := base64.RawURLEncoding.DecodeString(parts[2])
		if err != nil {
			t.Fatal(err)
		}
		signedByRing := slices.ContainsFunc(ring.Keys(), func(k *Key) bool {
			return ed25519.Verify(k.Public(), []byte(parts[0]+"."+parts[1]), sig)
		})
		switch {
		case !signedByRing:
			t.Fatal("accepted a token no ring key signed")
		case c.Issuer != "https://lockbox.example.com" || !slices.Contains(c.Audience, Audience):
			t.Fatalf("accepted iss %q aud %v", c.Issuer, c.Audience)
		case !fuzzNow.Before(c.Expiry()) || c.Tenant == "" || c.Request == "" || len(c.Resources) == 0:
			t.Fatalf("accepted claims %+v", c)
		}
	})
}

// TestFuzzSeedVerifies keeps the seed corpus honest: its "valid" token must
// still pass, or the fuzzer would never explore the accepting path.
func TestFuzzSeedVerifies(t *testing.T) {
	b, err := os.ReadFile("testdata/fuzz/FuzzVerify/valid")
	if err != nil {
		t.Fatal(err)
	}
	_, lit, _ := strings.Cut(strings.TrimSpace(string(b)), "string(")
	tok, err := strconv.Unquote(strings.TrimSuffix(lit, ")"))
	if err != nil {
		t.Fatal(err)
	}
	v, _ := NewVerifier(VerifierConfig{Issuer: "https://lockbox.example.com", Keys: fuzzRing(), Now: func() time.Time { return fuzzNow }})
	if _, err := v.Verify(context.Background(), tok); err != nil {
		t.Fatalf("seed token: %v", err)
	}
}
