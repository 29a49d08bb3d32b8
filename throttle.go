package lockbox

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"time"
)

// ThrottleLimits are the failure budgets of the sign-in throttle, per fixed
// window. They are budgets of failures: an attempt that succeeds is given
// back. Nothing is keyed by the account alone where a stranger could spend
// it: wrong passwords count against the account from one client address
// and against that address, so a stranger who knows only an e-mail address
// exhausts their own budget and never the owner's. Wrong one-time codes
// count against the account from anywhere, since only a holder of the
// password (or of a session) can send one.
type ThrottleLimits struct {
	// Window is the length of a counting window (default 10 minutes).
	Window time.Duration
	// PerAccountAddress is how many wrong passwords one client address may
	// send for one account per window (default 10).
	PerAccountAddress int
	// PerAddress is how many wrong passwords one client address may send,
	// whatever the account, per window (default 100).
	PerAddress int
	// CodesPerAccount is how many wrong one-time codes an account may
	// receive per window, at sign-in, enrolment or any other code check
	// (default 10).
	CodesPerAccount int
}

// DefaultThrottle are the limits of a Service not told otherwise.
var DefaultThrottle = ThrottleLimits{Window: 10 * time.Minute, PerAccountAddress: 10, PerAddress: 100, CodesPerAccount: 10}

func (l ThrottleLimits) withDefaults() ThrottleLimits {
	if l.Window <= 0 {
		l.Window = DefaultThrottle.Window
	}
	if l.PerAccountAddress <= 0 {
		l.PerAccountAddress = DefaultThrottle.PerAccountAddress
	}
	if l.PerAddress <= 0 {
		l.PerAddress = DefaultThrottle.PerAddress
	}
	if l.CodesPerAccount <= 0 {
		l.CodesPerAccount = DefaultThrottle.CodesPerAccount
	}
	return l
}

type clientAddrKey struct{}

// WithClientAddr returns a context carrying the address the request came
// from, as the HTTP layer resolved it (trusted proxies considered). The
// throttle keys on it.
func WithClientAddr(ctx context.Context, addr string) context.Context {
	return context.WithValue(ctx, clientAddrKey{}, addr)
}

// ClientAddr is the client address WithClientAddr put in ctx ("unknown"
// when none was).
func ClientAddr(ctx context.Context) string {
	if a, _ := ctx.Value(clientAddrKey{}).(string); a != "" {
		return a
	}
	return "unknown"
}

// throttle is the one sign-in throttle of a Service: every password and
// one-time-code check, from the API and the portal alike, counts here, and
// the counters live in the database (Store.CountAttempt), so every replica
// sharing it spends one budget.
type throttle struct {
	store  Store
	limits ThrottleLimits
	now    Clock
}

// budget is one counter and its limit.
type budget struct {
	key   string
	limit int
	what  string // for the refusal message
}

func passwordBudgets(l ThrottleLimits, email, addr string) []budget {
	return []budget{
		{"pwd:" + strings.ToLower(strings.TrimSpace(email)) + "|" + addr, l.PerAccountAddress, "for this account from your address"},
		{"addr:" + addr, l.PerAddress, "from your address"},
	}
}

func codeBudget(l ThrottleLimits, u UserID) budget {
	return budget{"code:" + string(u), l.CodesPerAccount, "one-time codes for this account"}
}

// attempt is an attempt counted against its budgets, until it is known
// to have succeeded (then it is given back) or failed (then it stays).
type attempt struct {
	t       *throttle
	window  int64
	budgets []budget
}

// begin counts an attempt against every budget, before the check it
// guards runs: so concurrent guesses cannot all pass a check of the
// counters. When a budget is spent, the attempt is given back and refused
// (429).
func (t *throttle) begin(ctx context.Context, budgets ...budget) (*attempt, error) {
	win := int64(t.limits.Window / time.Second)
	now := t.now().Unix()
	a := &attempt{t: t, window: now - now%win}
	for _, b := range budgets {
		n, err := t.store.CountAttempt(ctx, b.key, a.window, 1, a.window-win)
		if err != nil {
			a.succeeded(ctx)
			return nil, err
		}
		a.budgets = append(a.budgets, b)
		if n > b.limit {
			a.succeeded(ctx)
			wait := time.Duration(a.window+win-now) * time.Second
			return nil, Errorf(CodeRateLimited, "too many failed attempts %s: wait %s and try again", b.what, humanWait(wait))
		}
	}
	return a, nil
}

// succeeded gives the attempt back: only failures spend a budget.
func (a *attempt) succeeded(ctx context.Context) {
	if a == nil {
		return
	}
	for _, b := range a.budgets {
		// Best effort: a lost give-back only spends one attempt.
		_, _ = a.t.store.CountAttempt(context.WithoutCancel(ctx), b.key, a.window, -1, 0)
	}
	a.budgets = nil
}

func humanWait(d time.Duration) string {
	if m := int((d + time.Minute - 1) / time.Minute); m > 1 {
		return fmt.Sprintf("%d minutes", m)
	}
	return "a minute"
}

// hasher runs argon2id under a concurrency bound: each hash holds about
// Argon2Params.Memory of memory, so at most cap(slots) of them run at once
// and the memory passwords take stays under cap(slots) × Memory, however
// many sign-ins and password changes arrive together. Callers wait their
// turn with their context, and give up after wait (429).
type hasher struct {
	params Argon2Params
	slots  chan struct{}
	wait   time.Duration
}

func newHasher(p Argon2Params, n int, wait time.Duration) *hasher {
	if n <= 0 {
		n = max(2, 2*runtime.GOMAXPROCS(0))
	}
	if wait <= 0 {
		wait = 10 * time.Second
	}
	return &hasher{params: p, slots: make(chan struct{}, n), wait: wait}
}

func (h *hasher) acquire(ctx context.Context) error {
	select {
	case h.slots <- struct{}{}:
		return nil
	default:
	}
	timer := time.NewTimer(h.wait)
	defer timer.Stop()
	select {
	case h.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return Errorf(CodeRateLimited, "the server is busy checking passwords: try again in a moment")
	}
}

func (h *hasher) release() { <-h.slots }

// hash returns the argon2id hash of a new password.
func (h *hasher) hash(ctx context.Context, password string) (string, error) {
	if err := h.acquire(ctx); err != nil {
		return "", err
	}
	defer h.release()
	return HashPassword(password, h.params), nil
}

// check reports whether password matches the encoded hash.
func (h *hasher) check(ctx context.Context, password, encoded string) (bool, error) {
	if err := h.acquire(ctx); err != nil {
		return false, err
	}
	defer h.release()
	return CheckPassword(password, encoded), nil
}
