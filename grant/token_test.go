package grant_test

import (
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	josejwt "github.com/go-jose/go-jose/v4/jwt"

	"github.com/lockbox-dev/lockbox"
	"github.com/lockbox-dev/lockbox/grant"
)

const issuerURL = "https://lockbox.example.com"

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

var t0 = time.Date(2030, 5, 1, 9, 0, 0, 0, time.UTC)

// approved returns an approved request whose window is [start, start+d).
func approved(start time.Time, d time.Duration) *lockbox.AccessRequest {
	end := start.Add(d)
	return &lockbox.AccessRequest{
		ID: "req_1", TenantID: "ten_1", TicketID: "tkt_1", RequesterID: "usr_eng",
		Resources: []string{"mailbox:alice", "mailbox:bob"}, AccessLevel: lockbox.LevelWrite,
		Status: lockbox.StatusApproved, AccessStartsAt: &start, AccessExpiresAt: &end,
	}
}

func newRing(t testing.TB, now time.Time) *grant.Keyring {
	t.Helper()
	r, err := grant.NewKeyring(now, 0)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func verifier(t testing.TB, keys grant.PublicKeys, now time.Time) *grant.Verifier {
	t.Helper()
	v, err := grant.NewVerifier(grant.VerifierConfig{Issuer: issuerURL, Keys: keys, Skew: 2 * time.Second, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// payload decodes the claims segment of a token as a generic map, to see the
// wire format itself rather than this package's reading of it.
func payload(t *testing.T, token string) (header, claims map[string]any) {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("token has %d parts", len(parts))
	}
	for i, dst := range []*map[string]any{&header, &claims} {
		b, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, dst); err != nil {
			t.Fatal(err)
		}
	}
	return header, claims
}

func TestIssueClaims(t *testing.T) {
	ring := newRing(t, t0)
	is := &grant.Issuer{Keys: ring, URL: issuerURL}
	now := t0.Add(10*time.Minute + 300*time.Millisecond)
	req := approved(t0, 8*time.Hour)
	tok, exp, err := is.Issue(req, now)
	if err != nil {
		t.Fatal(err)
	}
	header, c := payload(t, tok)
	if header["alg"] != "EdDSA" || header["kid"] != ring.Active().ID || header["typ"] != "JWT" {
		t.Errorf("header = %v", header)
	}
	want := map[string]any{
		"iss": issuerURL, "sub": "usr_eng", "aud": "lockbox-gateway",
		"iat": float64(now.Unix()), "nbf": float64(now.Unix()), "exp": float64(now.Add(15 * time.Minute).Unix()),
		"tenant": "ten_1", "request": "req_1", "ticket": "tkt_1",
		"resources": []any{"mailbox:alice", "mailbox:bob"}, "access_level": "write",
	}
	for k, v := range want {
		got, _ := json.Marshal(c[k])
		exp, _ := json.Marshal(v)
		if string(got) != string(exp) {
			t.Errorf("claim %s = %s, want %s", k, got, exp)
		}
	}
	if jti, _ := c["jti"].(string); !strings.HasPrefix(jti, "grt_") {
		t.Errorf("jti = %v", c["jti"])
	}
	if len(c) != len(want)+1 {
		t.Errorf("token has claims %v; want exactly the docs/design.md §5 set", c)
	}
	if !exp.Equal(time.Unix(now.Add(15*time.Minute).Unix(), 0)) {
		t.Errorf("expiry = %v", exp)
	}

	// Two tokens for the same request have distinct jti.
	tok2, _, _ := is.Issue(req, now)
	if _, c2 := payload(t, tok2); c2["jti"] == c["jti"] {
		t.Error("jti repeated")
	}
}

func TestIssueCapsAtWindowEnd(t *testing.T) {
	ring := newRing(t, t0)
	// The window ends at a fractional second: exp must round down, never up.
	req := approved(t0, 20*time.Minute+700*time.Millisecond)
	end := *req.AccessExpiresAt
	for _, ttl := range []time.Duration{15 * time.Minute, 30 * time.Minute, time.Hour} {
		is := &grant.Issuer{Keys: ring, URL: issuerURL, TTL: ttl}
		for _, now := range []time.Time{t0, t0.Add(10 * time.Minute), end.Add(-1500 * time.Millisecond)} {
			tok, exp, err := is.Issue(req, now)
			if err != nil {
				t.Fatalf("ttl %s now %s: %v", ttl, now, err)
			}
			if exp.After(end) {
				t.Errorf("ttl %s now %s: expiry %s after the window end %s", ttl, now, exp, end)
			}
			wantExp := now.Add(ttl)
			if end.Before(wantExp) {
				wantExp = end
			}
			if exp.Unix() != wantExp.Unix() {
				t.Errorf("ttl %s now %s: exp %s, want min(window end, now+ttl) = %s", ttl, now, exp, wantExp)
			}
			_, c := payload(t, tok)
			if int64(c["exp"].(float64)) != exp.Unix() {
				t.Errorf("exp claim %v != returned expiry %v", c["exp"], exp)
			}
		}
	}
}

func TestIssueRefused(t *testing.T) {
	ring := newRing(t, t0)
	is := &grant.Issuer{Keys: ring, URL: issuerURL}
	for _, st := range lockbox.AllStatuses {
		if st == lockbox.StatusApproved {
			continue
		}
		req := approved(t0, time.Hour)
		req.Status = st
		if _, _, err := is.Issue(req, t0.Add(time.Minute)); !errors.Is(err, lockbox.ErrConflict) {
			t.Errorf("status %s: err = %v, want a conflict", st, err)
		}
	}
	req := approved(t0, time.Hour)
	for name, now := range map[string]time.Time{
		"before the window":      t0.Add(-time.Nanosecond),
		"at the window end":      t0.Add(time.Hour),
		"after the window":       t0.Add(2 * time.Hour),
		"long before the window": t0.Add(-24 * time.Hour),
	} {
		if tok, _, err := is.Issue(req, now); !errors.Is(err, lockbox.ErrConflict) {
			t.Errorf("%s: token %q, err %v; want a conflict", name, tok, err)
		}
	}
	// The window closes within the second the token would be issued in: exp
	// rounded down would equal iat, a token valid for no time at all.
	short := approved(t0, time.Hour+700*time.Millisecond)
	if tok, _, err := is.Issue(short, t0.Add(time.Hour+200*time.Millisecond)); !errors.Is(err, lockbox.ErrConflict) {
		t.Errorf("window closing within the second: token %q, err %v", tok, err)
	}
	noWindow := approved(t0, time.Hour)
	noWindow.AccessExpiresAt = nil
	if _, _, err := is.Issue(noWindow, t0); err == nil {
		t.Error("issued without a window end")
	}
	long := &grant.Issuer{Keys: ring, URL: issuerURL, TTL: 2 * time.Hour}
	if _, _, err := long.Issue(req, t0); err == nil {
		t.Error("issued with a TTL beyond the ring's maximum: retired keys could vanish under live tokens")
	}
}

// TestIndependentLibrary verifies tokens with go-jose against the JWKS JSON,
// as any third party following docs/design.md §5 would.
func TestIndependentLibrary(t *testing.T) {
	ring := newRing(t, t0)
	if err := ring.Rotate(t0.Add(time.Minute)); err != nil { // a retired key in the set too
		t.Fatal(err)
	}
	now := t0.Add(2 * time.Minute)
	tok, _, err := (&grant.Issuer{Keys: ring, URL: issuerURL}).Issue(approved(t0, time.Hour), now)
	if err != nil {
		t.Fatal(err)
	}
	jwksJSON, err := json.Marshal(ring.JWKS())
	if err != nil {
		t.Fatal(err)
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(jwksJSON, &set); err != nil {
		t.Fatal(err)
	}
	if len(set.Keys) != 3 {
		t.Fatalf("go-jose read %d keys from %s", len(set.Keys), jwksJSON)
	}
	for _, k := range set.Keys {
		tp, err := k.Thumbprint(crypto.SHA256)
		if err != nil || base64.RawURLEncoding.EncodeToString(tp) != k.KeyID {
			t.Errorf("go-jose thumbprint of %s = %x, %v", k.KeyID, tp, err)
		}
	}
	parsed, err := josejwt.ParseSigned(tok, []jose.SignatureAlgorithm{jose.EdDSA})
	if err != nil {
		t.Fatal(err)
	}
	var std josejwt.Claims
	var custom struct {
		Tenant      string   `json:"tenant"`
		Request     string   `json:"request"`
		Ticket      string   `json:"ticket"`
		Resources   []string `json:"resources"`
		AccessLevel string   `json:"access_level"`
	}
	if err := parsed.Claims(set, &std, &custom); err != nil {
		t.Fatalf("go-jose rejects the token: %v", err)
	}
	if err := std.ValidateWithLeeway(josejwt.Expected{Issuer: issuerURL, AnyAudience: josejwt.Audience{"lockbox-gateway"}, Time: now}, 0); err != nil {
		t.Fatalf("go-jose validation: %v", err)
	}
	if custom.Tenant != "ten_1" || custom.Request != "req_1" || custom.AccessLevel != "write" || len(custom.Resources) != 2 {
		t.Errorf("custom claims = %+v", custom)
	}
	if err := std.ValidateWithLeeway(josejwt.Expected{Issuer: issuerURL, Time: now.Add(16 * time.Minute)}, 0); !errors.Is(err, josejwt.ErrExpired) {
		t.Errorf("go-jose after exp: %v", err)
	}

	// Another key's JWKS does not verify it.
	other, _ := json.Marshal(newRing(t, t0).JWKS())
	var otherSet jose.JSONWebKeySet
	_ = json.Unmarshal(other, &otherSet)
	if err := parsed.Claims(otherSet, &std); err == nil {
		t.Error("go-jose verified the token with an unrelated key set")
	}
}

// TestVerifyRefuses tries every way of getting a bad token past the
// verifier; each must be refused with the error that says why.
func TestVerifyRefuses(t *testing.T) {
	ring := newRing(t, t0)
	now := t0.Add(time.Minute)
	req := approved(t0, time.Hour)
	good, _, err := (&grant.Issuer{Keys: ring, URL: issuerURL}).Issue(req, now)
	if err != nil {
		t.Fatal(err)
	}
	v := verifier(t, ring, now)
	c, err := v.Verify(context.Background(), good)
	if err != nil {
		t.Fatalf("good token refused: %v", err)
	}
	if c.Tenant != "ten_1" || c.Request != "req_1" || c.Subject != "usr_eng" || !c.HasResource("mailbox:bob") {
		t.Errorf("claims = %+v", c)
	}

	claims, err := grant.NewClaims(req, issuerURL, 0, now)
	if err != nil {
		t.Fatal(err)
	}
	sign := func(mutate func(*grant.Claims)) string {
		c := *claims
		mutate(&c)
		s, err := ring.Sign(&c)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	forgerRing := newRing(t, t0)
	forged, _ := forgerRing.Sign(claims)
	// A forger who copies the real kid into a token signed with its own key.
	h, p, _ := strings.Cut(forged, ".")
	hdr, _ := base64.RawURLEncoding.DecodeString(h)
	hdr = []byte(strings.Replace(string(hdr), forgerRing.Active().ID, ring.Active().ID, 1))
	forgedKid := signRaw(t, forgerRing, base64.RawURLEncoding.EncodeToString(hdr)+"."+strings.Split(p, ".")[0])

	hs256 := hmacToken(t, ring.Active().ID, claims, ring.Active().Public())
	parts := strings.Split(good, ".")
	tamperedClaims := *claims
	tamperedClaims.AccessLevel = lockbox.LevelAdmin
	tb, _ := json.Marshal(&tamperedClaims)
	tampered := parts[0] + "." + base64.RawURLEncoding.EncodeToString(tb) + "." + parts[2]
	noneHeader := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","kid":"` + ring.Active().ID + `","typ":"JWT"}`))
	none := noneHeader + "." + parts[1] + "."
	unknownKid := strings.Replace(good, parts[0], base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"EdDSA","kid":"nope","typ":"JWT"}`)), 1)

	cases := []struct {
		name  string
		token string
		want  error
	}{
		{"forged with another key", forged, grant.ErrUnknownKey},
		{"forged with another key under the real kid", forgedKid, grant.ErrBadSignature},
		{"alg none", none, grant.ErrBadSignature},
		{"HS256 keyed with the public key", hs256, grant.ErrBadSignature},
		{"tampered payload", tampered, grant.ErrBadSignature},
		{"unknown kid", unknownKid, grant.ErrUnknownKey},
		{"expired", sign(func(c *grant.Claims) { c.IssuedAt -= 3600; c.NotBefore -= 3600; c.ExpiresAt = c.IssuedAt + 900 }), grant.ErrExpired},
		{"expires this very second", sign(func(c *grant.Claims) { c.IssuedAt -= 60; c.NotBefore -= 60; c.ExpiresAt = grant.NewNumericDate(now) }), grant.ErrExpired},
		{"not yet valid", sign(func(c *grant.Claims) { c.NotBefore += 60 }), grant.ErrNotYetValid},
		{"issued in the future", sign(func(c *grant.Claims) { c.IssuedAt += 60 }), grant.ErrNotYetValid},
		{"wrong audience", sign(func(c *grant.Claims) { c.Audience = grant.Audiences{"something-else"} }), grant.ErrWrongAudience},
		{"no audience", sign(func(c *grant.Claims) { c.Audience = nil }), grant.ErrWrongAudience},
		{"wrong issuer", sign(func(c *grant.Claims) { c.Issuer = "https://evil.example.com" }), grant.ErrWrongIssuer},
		{"issuer with a trailing slash", sign(func(c *grant.Claims) { c.Issuer = issuerURL + "/" }), grant.ErrWrongIssuer},
		{"no tenant", sign(func(c *grant.Claims) { c.Tenant = "" }), grant.ErrMalformed},
		{"no request", sign(func(c *grant.Claims) { c.Request = "" }), grant.ErrMalformed},
		{"no resources", sign(func(c *grant.Claims) { c.Resources = nil }), grant.ErrMalformed},
		{"bad level", sign(func(c *grant.Claims) { c.AccessLevel = "root" }), grant.ErrMalformed},
		{"no exp", sign(func(c *grant.Claims) { c.ExpiresAt = 0 }), grant.ErrMalformed},
		{"no nbf", sign(func(c *grant.Claims) { c.NotBefore = 0 }), grant.ErrMalformed},
		{"no jti", sign(func(c *grant.Claims) { c.ID = "" }), grant.ErrMalformed},
		{"lives too long", sign(func(c *grant.Claims) { c.ExpiresAt = c.IssuedAt + 2*3600 }), grant.ErrTooLong},
		{"empty", "", grant.ErrMalformed},
		{"garbage", "not.a.jwt", grant.ErrMalformed},
		{"two parts", parts[0] + "." + parts[1], grant.ErrMalformed},
		{"huge", strings.Repeat("a", grant.MaxTokenSize+1), grant.ErrMalformed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := v.Verify(context.Background(), tc.token)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Verify = %+v, %v; want %v", c, err, tc.want)
			}
			if c != nil {
				t.Fatal("claims returned with an error")
			}
		})
	}
}

func TestVerifySkew(t *testing.T) {
	ring := newRing(t, t0)
	tok, _, _ := (&grant.Issuer{Keys: ring, URL: issuerURL}).Issue(approved(t0, time.Hour), t0.Add(10*time.Second))
	// The gateway's clock is 1 s behind the server's: within a 2 s skew.
	if _, err := verifier(t, ring, t0.Add(9*time.Second)).Verify(context.Background(), tok); err != nil {
		t.Errorf("1 s of skew: %v", err)
	}
	if _, err := verifier(t, ring, t0.Add(5*time.Second)).Verify(context.Background(), tok); !errors.Is(err, grant.ErrNotYetValid) {
		t.Errorf("5 s early: %v", err)
	}
	// Skew never extends exp.
	exp := t0.Add(10*time.Second + 15*time.Minute)
	if _, err := verifier(t, ring, exp.Add(-time.Millisecond)).Verify(context.Background(), tok); err != nil {
		t.Errorf("just before exp: %v", err)
	}
	if _, err := verifier(t, ring, exp).Verify(context.Background(), tok); !errors.Is(err, grant.ErrExpired) {
		t.Errorf("at exp with skew configured: %v", err)
	}
}

// jwksServer serves ring's JWKS and counts the fetches.
func jwksServer(t *testing.T, ring *grant.Keyring) (*httptest.Server, *atomic.Int64) {
	var fetches atomic.Int64
	h := grant.JWKSHandler(ring)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != grant.JWKSPath {
			http.NotFound(w, r)
			return
		}
		fetches.Add(1)
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv, &fetches
}

func TestRemoteKeys(t *testing.T) {
	ring := newRing(t, t0)
	srv, fetches := jwksServer(t, ring)
	var clock atomic.Int64
	clock.Store(t0.UnixNano())
	now := func() time.Time { return time.Unix(0, clock.Load()) }
	remote, err := grant.NewRemoteKeys(grant.RemoteKeysConfig{URL: srv.URL + grant.JWKSPath, Now: now, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	v, err := grant.NewVerifier(grant.VerifierConfig{Issuer: issuerURL, Keys: remote, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	is := &grant.Issuer{Keys: ring, URL: issuerURL}
	req := approved(t0, 8*time.Hour)
	ctx := context.Background()

	tok, _, _ := is.Issue(req, now())
	if _, err := v.Verify(ctx, tok); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(ctx, tok); err != nil {
		t.Fatal(err)
	}
	if n := fetches.Load(); n != 1 {
		t.Errorf("%d fetches for two verifications; the JWKS should be cached", n)
	}

	// Unknown kids refresh at most once per MinInterval.
	stranger, _ := newRing(t, t0).Sign(mustClaims(t, req, now()))
	for range 20 {
		if _, err := v.Verify(ctx, stranger); !errors.Is(err, grant.ErrUnknownKey) {
			t.Fatalf("stranger: %v", err)
		}
	}
	if n := fetches.Load(); n != 1 {
		t.Errorf("%d fetches after 20 unknown kids within 10 s of the first fetch; want 1", n)
	}
	clock.Add(int64(11 * time.Second))
	for range 20 {
		v.Verify(ctx, stranger)
	}
	if n := fetches.Load(); n != 2 {
		t.Errorf("%d fetches after 20 more unknown kids 11 s later; want 2", n)
	}

	// A rotation: the new active key was published as next, and a rotation
	// announced since the last fetch is picked up on the first unknown kid
	// once the rate limit allows.
	ring.Rotate(now())
	ring.Rotate(now()) // the active key is now one the verifier has never seen
	tok2, _, _ := is.Issue(req, now())
	if _, err := v.Verify(ctx, tok2); !errors.Is(err, grant.ErrUnknownKey) {
		t.Errorf("within the rate limit the new key is unknown: %v", err)
	}
	clock.Add(int64(11 * time.Second))
	if _, err := v.Verify(ctx, tok2); err != nil {
		t.Errorf("after the rate limit the new key is fetched: %v", err)
	}

	// Server down: cached keys keep working, a stale cache refreshes in the
	// background without failing verifications.
	srv.Close()
	clock.Add(int64(6 * time.Minute))
	tok3, _, _ := is.Issue(req, now())
	if _, err := v.Verify(ctx, tok3); err != nil {
		t.Errorf("server down, cached key: %v", err)
	}
}

func TestRemoteKeysUnavailable(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "down", http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	remote, _ := grant.NewRemoteKeys(grant.RemoteKeysConfig{URL: srv.URL + grant.JWKSPath, Logger: quiet})
	v, _ := grant.NewVerifier(grant.VerifierConfig{Issuer: issuerURL, Keys: remote, Now: func() time.Time { return t0 }})
	ring := newRing(t, t0)
	tok, _, _ := (&grant.Issuer{Keys: ring, URL: issuerURL}).Issue(approved(t0, time.Hour), t0)
	_, err := v.Verify(context.Background(), tok)
	if !errors.Is(err, grant.ErrKeysUnavailable) || grant.IsTokenError(err) {
		t.Errorf("no keys at all: %v; want ErrKeysUnavailable, not the token's fault", err)
	}
}

func TestParseJWKSRejectsBadKids(t *testing.T) {
	pub, _, _ := ed25519.GenerateKey(rand.Reader)
	j := grant.PublicJWK(pub)
	j.Kid = "chosen-by-someone"
	b, _ := json.Marshal(grant.JWKS{Keys: []grant.JWK{j}})
	if _, err := grant.ParseJWKS(b); err == nil {
		t.Error("a kid that is not the thumbprint was accepted")
	}
	good := grant.PublicJWK(pub)
	b, _ = json.Marshal(grant.JWKS{Keys: []grant.JWK{good, good}})
	if _, err := grant.ParseJWKS(b); err == nil {
		t.Error("a duplicate kid was accepted")
	}
	b = []byte(`{"keys":[{"kty":"RSA","n":"x","e":"AQAB","kid":"r"},` + string(must(json.Marshal(good))) + `]}`)
	keys, err := grant.ParseJWKS(b)
	if err != nil || len(keys) != 1 {
		t.Errorf("keys of other types are skipped: %v %v", keys, err)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func mustClaims(t *testing.T, req *lockbox.AccessRequest, now time.Time) *grant.Claims {
	c, err := grant.NewClaims(req, issuerURL, 0, now)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// signRaw signs header.payload with the ring's active key by hand.
func signRaw(t *testing.T, ring *grant.Keyring, signingInput string) string {
	t.Helper()
	sig := ed25519.Sign(grant.ActivePrivate(ring), []byte(signingInput))
	return signingInput + "." + base64.RawURLEncoding.EncodeToString(sig)
}

// hmacToken builds the classic algorithm-confusion token: HS256 keyed with
// the bytes of the server's public key.
func hmacToken(t *testing.T, kid string, c *grant.Claims, pub ed25519.PublicKey) string {
	h := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"HS256","kid":"` + kid + `","typ":"JWT"}`))
	b, _ := json.Marshal(c)
	in := h + "." + base64.RawURLEncoding.EncodeToString(b)
	m := hmac.New(sha256.New, pub)
	m.Write([]byte(in))
	return in + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// TestVerifyCache: a remembered signature never outlives the key or the
// token: removing the key, or the clock passing exp, refuses the very token
// that verified a moment ago; and callers cannot alter what others see.
func TestVerifyCache(t *testing.T) {
	for _, size := range []int{0, -1} {
		ring := newRing(t, t0)
		var clock atomic.Int64
		clock.Store(t0.Add(time.Minute).UnixNano())
		v, err := grant.NewVerifier(grant.VerifierConfig{Issuer: issuerURL, Keys: ring, CacheSize: size,
			Now: func() time.Time { return time.Unix(0, clock.Load()) }})
		if err != nil {
			t.Fatal(err)
		}
		tok, exp, _ := (&grant.Issuer{Keys: ring, URL: issuerURL}).Issue(approved(t0, time.Hour), t0.Add(time.Minute))
		ctx := context.Background()
		c, err := v.Verify(ctx, tok)
		if err != nil {
			t.Fatal(err)
		}
		c.Resources[0] = "mailbox:everyone"
		c.Tenant = "ten_other"
		again, err := v.Verify(ctx, tok)
		if err != nil || again.Resources[0] != "mailbox:alice" || again.Tenant != "ten_1" {
			t.Fatalf("cache %d: second verification %+v, %v", size, again, err)
		}
		clock.Store(exp.UnixNano())
		if _, err := v.Verify(ctx, tok); !errors.Is(err, grant.ErrExpired) {
			t.Errorf("cache %d: at exp: %v", size, err)
		}
		clock.Store(t0.Add(2 * time.Minute).UnixNano())
		if _, err := v.Verify(ctx, tok); err != nil {
			t.Fatalf("cache %d: %v", size, err)
		}
		kid := ring.Active().ID
		ring.Rotate(t0.Add(2 * time.Minute))
		if err := ring.Remove(kid); err != nil {
			t.Fatal(err)
		}
		if _, err := v.Verify(ctx, tok); !errors.Is(err, grant.ErrUnknownKey) {
			t.Errorf("cache %d: after the key was removed: %v", size, err)
		}
	}
}

func BenchmarkVerify(b *testing.B) {
	ring := newRing(b, t0)
	tok, _, _ := (&grant.Issuer{Keys: ring, URL: issuerURL}).Issue(approved(t0, time.Hour), t0)
	for _, size := range []int{-1, 0} {
		name := map[int]string{-1: "uncached", 0: "cached"}[size]
		b.Run(name, func(b *testing.B) {
			v, _ := grant.NewVerifier(grant.VerifierConfig{Issuer: issuerURL, Keys: ring, CacheSize: size, Now: func() time.Time { return t0.Add(time.Minute) }})
			for b.Loop() {
				if _, err := v.Verify(context.Background(), tok); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
