package cedar

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lockbox-dev/lockbox"
)

// Holder is the running JIT policy of a server: a PolicySet that can be
// replaced while requests are decided. Evaluations read the current set
// without locking; a reload validates the new file completely before it
// replaces the running set, so an invalid file never takes effect.
type Holder struct {
	load func() (*PolicySet, error)
	now  func() time.Time

	mu      sync.Mutex // serialises reloads
	current atomic.Pointer[loaded]
}

// loaded is a policy set with the moment it was installed.
type loaded struct {
	set *PolicySet
	at  time.Time
}

var _ lockbox.ReloadablePolicy = (*Holder)(nil)

// NewHolder loads the policy with load, which Reload calls again later. It
// fails when the first load fails: a server does not start on an invalid
// policy.
func NewHolder(load func() (*PolicySet, error), now func() time.Time) (*Holder, error) {
	if now == nil {
		now = time.Now
	}
	h := &Holder{load: load, now: now}
	s, err := load()
	if err != nil {
		return nil, err
	}
	h.current.Store(&loaded{set: s, at: now().UTC()})
	return h, nil
}

// FileHolder holds the policy file at path.
func FileHolder(path string, now func() time.Time) (*Holder, error) {
	return NewHolder(func() (*PolicySet, error) { return LoadFile(path) }, now)
}

// DefaultHolder holds the embedded default policy with its internal
// approval group (see Default).
func DefaultHolder(group string, now func() time.Time) (*Holder, error) {
	return NewHolder(func() (*PolicySet, error) { return Default(group) }, now)
}

// Current returns the running policy set.
func (h *Holder) Current() *PolicySet { return h.current.Load().set }

// Evaluate implements lockbox.Policy with the running policy set.
func (h *Holder) Evaluate(ctx context.Context, in lockbox.PolicyInput) (lockbox.Decision, error) {
	return h.current.Load().set.Evaluate(ctx, in)
}

// PolicyInfo implements lockbox.ReloadablePolicy.
func (h *Holder) PolicyInfo() lockbox.PolicyInfo {
	l := h.current.Load()
	info := l.set.Info()
	info.LoadedAt = l.at
	return info
}

// Reload implements lockbox.ReloadablePolicy: it loads the source again and
// installs it once commit (if any) accepted it. On any error the running
// policy stays.
func (h *Holder) Reload(commit func(old, next lockbox.PolicyInfo) error) (lockbox.PolicyInfo, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	s, err := h.load()
	if err != nil {
		return lockbox.PolicyInfo{}, err
	}
	next := &loaded{set: s, at: h.now().UTC()}
	info := s.Info()
	info.LoadedAt = next.at
	if commit != nil {
		if err := commit(h.PolicyInfo(), info); err != nil {
			return lockbox.PolicyInfo{}, err
		}
	}
	h.current.Store(next)
	return info, nil
}
