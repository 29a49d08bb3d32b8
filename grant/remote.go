package grant

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"
)

// JWKSPath is where a lockbox server publishes its grant-token keys,
// relative to its public URL (the iss of its tokens).
const JWKSPath = "/.well-known/jwks.json"

// Defaults of RemoteKeys.
const (
	// DefaultJWKSRefresh is how old the cached JWKS may grow before a
	// background refresh. Shorter than any sensible rotation period, so the
	// next key is known before it signs.
	DefaultJWKSRefresh = 5 * time.Minute
	// DefaultJWKSMinInterval rate-limits the refreshes an unknown kid
	// triggers, so tokens with made-up kids cannot turn an enforcement point
	// into a flood of requests to the server.
	DefaultJWKSMinInterval = 10 * time.Second
	maxJWKSBytes           = 1 << 20
)

// RemoteKeysConfig configures RemoteKeys.
type RemoteKeysConfig struct {
	// URL of the JWK Set, usually issuer + JWKSPath.
	URL string
	// Client fetches it; nil means a client with a 10 s timeout.
	Client *http.Client
	// Refresh is the cache lifetime (0: DefaultJWKSRefresh).
	Refresh time.Duration
	// MinInterval is the least time between two fetches triggered by
	// unknown kids (0: DefaultJWKSMinInterval).
	MinInterval time.Duration
	// Logger reports failed refreshes; nil means slog.Default().
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// RemoteKeys is a PublicKeys that fetches a server's JWK Set and caches it.
// A kid it does not know triggers a refresh at most once per MinInterval; a
// cache older than Refresh is refreshed in the background while the cached
// keys keep serving, so a server outage does not stop verification of tokens
// whose keys are already known. Keys that leave the JWKS leave the cache at
// the next refresh.
type RemoteKeys struct {
	cfg RemoteKeysConfig

	mu        sync.Mutex
	keys      map[string]ed25519.PublicKey // nil until the first successful fetch
	fetchedAt time.Time                    // last successful fetch
	triedAt   time.Time                    // last attempt, successful or not
	inflight  chan struct{}                // closed when the running fetch ends
	lastErr   error
}

// NewRemoteKeys returns a RemoteKeys for cfg. It fetches nothing until
// asked; call Refresh to fail fast on a wrong URL.
func NewRemoteKeys(cfg RemoteKeysConfig) (*RemoteKeys, error) {
	if !strings.HasPrefix(cfg.URL, "https://") && !strings.HasPrefix(cfg.URL, "http://") {
		return nil, fmt.Errorf("grant: JWKS URL %q is not an http(s) URL", cfg.URL)
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{Timeout: 10 * time.Second}
	}
	if cfg.Refresh <= 0 {
		cfg.Refresh = DefaultJWKSRefresh
	}
	if cfg.MinInterval <= 0 {
		cfg.MinInterval = DefaultJWKSMinInterval
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &RemoteKeys{cfg: cfg}, nil
}

// PublicKey returns the key named kid, fetching the JWKS when kid is unknown
// (rate-limited) or the cache is stale (in the background).
func (r *RemoteKeys) PublicKey(ctx context.Context, kid string) (ed25519.PublicKey, error) {
	r.mu.Lock()
	now := r.cfg.Now()
	if k, ok := r.keys[kid]; ok {
		if now.Sub(r.fetchedAt) >= r.cfg.Refresh && now.Sub(r.triedAt) >= r.cfg.MinInterval && r.inflight == nil {
			r.startFetchLocked()
		}
		r.mu.Unlock()
		return k, nil
	}
	// Unknown kid: fetch now unless a fetch is running (wait for it) or one
	// ran too recently.
	wait := r.inflight
	if wait == nil && (r.triedAt.IsZero() || now.Sub(r.triedAt) >= r.cfg.MinInterval) {
		wait = r.startFetchLocked()
	}
	r.mu.Unlock()
	if wait != nil {
		select {
		case <-wait:
		case <-ctx.Done():
			return nil, fmt.Errorf("%w: %w", ErrKeysUnavailable, ctx.Err())
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if k, ok := r.keys[kid]; ok {
		return k, nil
	}
	if r.keys == nil {
		return nil, fmt.Errorf("%w: %v", ErrKeysUnavailable, r.lastErr)
	}
	return nil, fmt.Errorf("%w: %q", ErrUnknownKey, kid)
}

// Run refreshes the JWKS every Refresh until ctx ends, so keys announced
// ahead of use (a ring's next key) are known before the first token they
// sign, even on an idle verifier. Without Run, refreshes happen on use.
func (r *RemoteKeys) Run(ctx context.Context) {
	t := time.NewTicker(r.cfg.Refresh)
	defer t.Stop()
	if err := r.Refresh(ctx); err != nil && ctx.Err() == nil {
		r.cfg.Logger.Warn("grant: cannot fetch the JWKS yet; will retry", "url", r.cfg.URL, "error", err)
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			_ = r.Refresh(ctx) // failures are logged by the fetch
		}
	}
}

// Refresh fetches the JWKS now and waits for the result.
func (r *RemoteKeys) Refresh(ctx context.Context) error {
	r.mu.Lock()
	wait := r.inflight
	if wait == nil {
		wait = r.startFetchLocked()
	}
	r.mu.Unlock()
	select {
	case <-wait:
	case <-ctx.Done():
		return ctx.Err()
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.lastErr
}

// startFetchLocked starts one fetch in the background; callers hold mu. The
// fetch is not tied to any caller's context, so a client that gives up does
// not cancel the refresh others wait for.
func (r *RemoteKeys) startFetchLocked() chan struct{} {
	done := make(chan struct{})
	r.inflight = done
	r.triedAt = r.cfg.Now()
	go func() {
		keys, err := r.fetch()
		r.mu.Lock()
		r.lastErr = err
		if err == nil {
			r.keys = keys
			r.fetchedAt = r.cfg.Now()
		} else {
			r.cfg.Logger.Warn("grant: cannot refresh the JWKS; keeping the cached keys", "url", r.cfg.URL, "error", err)
		}
		r.inflight = nil
		r.mu.Unlock()
		close(done)
	}()
	return done
}

func (r *RemoteKeys) fetch() (map[string]ed25519.PublicKey, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.cfg.URL, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/jwk-set+json, application/json")
	resp, err := r.cfg.Client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetching %s: %w", r.cfg.URL, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetching %s: %s", r.cfg.URL, resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxJWKSBytes+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", r.cfg.URL, err)
	}
	if len(body) > maxJWKSBytes {
		return nil, fmt.Errorf("%s: JWKS larger than %d bytes", r.cfg.URL, maxJWKSBytes)
	}
	return ParseJWKS(body)
}

// ParseJWKS reads a JWK Set and returns its usable keys by kid. Keys of
// other types (a server may publish more in future) are skipped; an Ed25519
// key whose kid is not its thumbprint, or a kid given twice, makes the whole
// set an error, because it means the publisher is broken or tampered with.
func ParseJWKS(body []byte) (map[string]ed25519.PublicKey, error) {
	var set struct {
		Keys []JWK `json:"keys"`
	}
	if err := json.Unmarshal(body, &set); err != nil {
		return nil, fmt.Errorf("not a JWK Set: %w", err)
	}
	if set.Keys == nil {
		return nil, fmt.Errorf("not a JWK Set: no \"keys\" member")
	}
	keys := make(map[string]ed25519.PublicKey, len(set.Keys))
	for _, j := range set.Keys {
		if j.Kty != "OKP" || j.Crv != "Ed25519" {
			continue
		}
		pub, err := j.PublicKey()
		if err != nil {
			return nil, err
		}
		if _, dup := keys[j.Kid]; dup {
			return nil, fmt.Errorf("JWK Set lists kid %q twice", j.Kid)
		}
		keys[j.Kid] = pub
	}
	return keys, nil
}

// IsTokenError reports whether err is the token's fault (the caller should
// get a 401) rather than the verifier's (ErrKeysUnavailable: a 503).
func IsTokenError(err error) bool {
	return err != nil && !errors.Is(err, ErrKeysUnavailable)
}
