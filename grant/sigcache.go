package grant

import (
	"slices"
	"sync"
	"time"
)

// sigCache remembers tokens whose signature verified, by the SHA-256 of the
// token (the token itself, a bearer secret, is not kept). A nil *sigCache
// remembers nothing.
type sigCache struct {
	mu  sync.Mutex
	max int
	m   map[[32]byte]sigEntry
}

type sigEntry struct {
	claims *Claims
	kid    string
	exp    time.Time
}

func newSigCache(max int) *sigCache {
	return &sigCache{max: max, m: make(map[[32]byte]sigEntry)}
}

// get returns a copy of the cached claims, so a caller that changes them
// does not change what the next caller sees.
func (c *sigCache) get(k [32]byte) (*Claims, string, bool) {
	if c == nil {
		return nil, "", false
	}
	c.mu.Lock()
	e, ok := c.m[k]
	c.mu.Unlock()
	if !ok {
		return nil, "", false
	}
	cl := *e.claims
	cl.Audience = slices.Clone(cl.Audience)
	cl.Resources = slices.Clone(cl.Resources)
	return &cl, e.kid, true
}

func (c *sigCache) put(k [32]byte, cl *Claims, kid string) {
	if c == nil {
		return
	}
	stored := *cl
	stored.Audience = slices.Clone(cl.Audience)
	stored.Resources = slices.Clone(cl.Resources)
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= c.max {
		c.evictLocked()
	}
	c.m[k] = sigEntry{claims: &stored, kid: kid, exp: cl.Expiry()}
}

func (c *sigCache) drop(k [32]byte) {
	if c == nil {
		return
	}
	c.mu.Lock()
	delete(c.m, k)
	c.mu.Unlock()
}

// evictLocked drops expired entries, then, if the cache is still full, an
// arbitrary quarter of it (map order): a full cache only costs signature
// checks, never correctness.
func (c *sigCache) evictLocked() {
	now := time.Now()
	for k, e := range c.m {
		if !now.Before(e.exp) {
			delete(c.m, k)
		}
	}
	drop := len(c.m) - c.max*3/4
	for k := range c.m {
		if drop <= 0 {
			break
		}
		delete(c.m, k)
		drop--
	}
}
