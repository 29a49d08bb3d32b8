package httpapi_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/lockbox-dev/lockbox"
	"github.com/lockbox-dev/lockbox/app"
	"github.com/lockbox-dev/lockbox/postgres/pgtest"
)

// loginFrom signs in through the API as a client at addr: the test's peer
// is a trusted proxy in these servers, which names the client in
// X-Forwarded-For.
func loginFrom(t testing.TB, base, addr string, in lockbox.LoginInput) int {
	t.Helper()
	body := fmt.Sprintf(`{"email":%q,"password":%q,"otp":%q}`, in.Email, in.Password, in.OTP)
	req, err := http.NewRequest("POST", base+"/v1/auth/login", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if addr != "" {
		req.Header.Set("X-Forwarded-For", addr)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

func behindProxy(c *app.Config) { c.TrustedProxies = []string{"127.0.0.0/8", "::1"} }

// TestPasswordAloneNeverYieldsASecondFactor is issue 13's first attack: an
// MFA session starts re-enrolment and leaves it pending; a session opened
// with the password alone must neither confirm it nor start its own.
// Replacing the factor needs the MFA session and a current code.
func TestPasswordAloneNeverYieldsASecondFactor(t *testing.T) {
	e := newEnv(t)
	w := e.newWorld("Factors")
	u := w.approver
	pwd := e.loginPassword(u)

	// The password-only session cannot start a replacement.
	if r := e.call("POST", "/v1/me/totp", pwd, nil); r.Status != 403 {
		t.Fatalf("re-enrolment on a password-only session: %d %s, want 403", r.Status, r.Body)
	}
	// Neither can the MFA session without a current code of the app.
	if r := e.call("POST", "/v1/me/totp", u.token, nil); r.Status != 422 || !strings.Contains(string(r.Body), "current code") {
		t.Fatalf("re-enrolment without the current code: %d %s, want 422", r.Status, r.Body)
	}
	e.clock.Advance(30 * time.Second)
	var pending lockbox.TOTPEnrollment
	e.must(201, "POST", "/v1/me/totp", u.token, lockbox.TOTPEnrollInput{Code: e.code(u.secret)}, &pending)

	// The attacker, holding the password, tries to confirm the pending
	// secret with its right code (the worst case: it saw the secret).
	r := e.call("POST", "/v1/me/totp/verify", pwd, lockbox.TOTPVerifyInput{Code: e.code(pending.Secret)})
	if r.Status != 409 {
		t.Fatalf("password-only session confirming another session's enrolment: %d %s, want 409", r.Status, r.Body)
	}
	// The old factor still signs in; the pending secret does not.
	e.clock.Advance(30 * time.Second)
	if s := e.call("POST", "/v1/auth/login", "", lockbox.LoginInput{Email: u.Email, Password: u.password, OTP: e.code(pending.Secret)}).Status; s != 401 {
		t.Fatalf("sign-in with the unconfirmed secret: %d, want 401", s)
	}
	e.loginMFA(u)
	// The session that started it confirms it.
	e.clock.Advance(30 * time.Second)
	e.must(200, "POST", "/v1/me/totp/verify", u.token, lockbox.TOTPVerifyInput{Code: e.code(pending.Secret)}, nil)
	u.secret = pending.Secret
	e.loginMFA(u)
}

// TestCodeGuessingIsThrottled: wrong codes at /v1/me/totp/verify count
// against the account's code budget, which sign-in with a code shares: a
// few guesses, then 429, even for the right code.
func TestCodeGuessingIsThrottled(t *testing.T) {
	e := newEnv(t)
	w := e.newWorld("Guess")
	u := w.engineer
	e.clock.Advance(30 * time.Second)
	var pending lockbox.TOTPEnrollment
	e.must(201, "POST", "/v1/me/totp", u.token, lockbox.TOTPEnrollInput{Code: e.code(u.secret)}, &pending)
	right := e.code(pending.Secret)
	wrong := "000000"
	if wrong == right {
		wrong = "111111"
	}
	limit := lockbox.DefaultThrottle.CodesPerAccount
	for i := range limit - 2 {
		if r := e.call("POST", "/v1/me/totp/verify", u.token, lockbox.TOTPVerifyInput{Code: wrong}); r.Status != 422 {
			t.Fatalf("wrong code %d: %d %s, want 422", i+1, r.Status, r.Body)
		}
	}
	// Sign-in with a code spends the same budget.
	for i := range 2 {
		if s := e.call("POST", "/v1/auth/login", "", lockbox.LoginInput{Email: u.Email, Password: u.password, OTP: wrong}).Status; s != 401 {
			t.Fatalf("sign-in with wrong code %d: %d, want 401", i+1, s)
		}
	}
	r := e.call("POST", "/v1/me/totp/verify", u.token, lockbox.TOTPVerifyInput{Code: right})
	if r.Status != 429 || r.errCode() != lockbox.CodeRateLimited {
		t.Fatalf("code after %d wrong ones: %d %s, want 429", limit, r.Status, r.Body)
	}
	if s := e.call("POST", "/v1/auth/login", "", lockbox.LoginInput{Email: u.Email, Password: u.password, OTP: e.code(u.secret)}).Status; s != 429 {
		t.Fatalf("sign-in with a code after %d wrong ones: %d, want 429", limit, s)
	}
	// The window passes; the budget is back (and the enrolment expired).
	e.clock.Advance(lockbox.DefaultThrottle.Window)
	e.loginMFA(u)
}

// TestPendingEnrolmentExpires: an enrolment left pending cannot be
// confirmed after TOTPPendingTTL, even by its own session.
func TestPendingEnrolmentExpires(t *testing.T) {
	e := newEnv(t)
	u := e.newWorld("Expiry").member
	e.clock.Advance(30 * time.Second)
	var pending lockbox.TOTPEnrollment
	e.must(201, "POST", "/v1/me/totp", u.token, lockbox.TOTPEnrollInput{Code: e.code(u.secret)}, &pending)
	e.clock.Advance(lockbox.TOTPPendingTTL + time.Second)
	if r := e.call("POST", "/v1/me/totp/verify", u.token, lockbox.TOTPVerifyInput{Code: e.code(pending.Secret)}); r.Status != 409 {
		t.Fatalf("confirming an expired enrolment: %d %s, want 409", r.Status, r.Body)
	}
}

// TestStrangerCannotLockOutTheOwner is issue 13's sixth attack: wrong
// passwords for the victim's e-mail, from address A, are throttled (429),
// and the victim signs in from address B all the while.
func TestStrangerCannotLockOutTheOwner(t *testing.T) {
	e := newEnvWith(t, behindProxy)
	w := e.newWorld("Lockout")
	victim := w.approver
	const attacker, owner = "198.51.100.66", "203.0.113.5"
	throttled := false
	for i := range 3 * lockbox.DefaultThrottle.PerAccountAddress {
		s := loginFrom(t, e.http.URL, attacker, lockbox.LoginInput{Email: victim.Email, Password: fmt.Sprintf("guess number %d", i)})
		if s == 429 {
			throttled = true
		} else if s != 401 {
			t.Fatalf("guess %d: %d, want 401 or 429", i, s)
		}
		if i >= lockbox.DefaultThrottle.PerAccountAddress && s != 429 {
			t.Fatalf("guess %d from one address: %d, want 429", i+1, s)
		}
	}
	if !throttled {
		t.Fatal("the guesses were never throttled")
	}
	e.clock.Advance(30 * time.Second)
	if s := loginFrom(t, e.http.URL, owner, lockbox.LoginInput{Email: victim.Email, Password: victim.password, OTP: e.code(victim.secret)}); s != 200 {
		t.Fatalf("the owner, from its own address, during the attack: %d, want 200", s)
	}
	// The owner's address can still make a few mistakes of its own.
	if s := loginFrom(t, e.http.URL, owner, lockbox.LoginInput{Email: victim.Email, Password: "a typo in the password"}); s != 401 {
		t.Fatalf("the owner's typo: %d, want 401", s)
	}
}

// TestForwardedForIsIgnoredFromUntrustedPeers: without --trusted-proxies a
// client cannot pick the address it is counted under.
func TestForwardedForIsIgnoredFromUntrustedPeers(t *testing.T) {
	e := newEnv(t)
	u := e.newWorld("Spoof").member
	limit := lockbox.DefaultThrottle.PerAccountAddress
	for i := range limit + 1 {
		s := loginFrom(t, e.http.URL, fmt.Sprintf("198.51.100.%d", i+1), lockbox.LoginInput{Email: u.Email, Password: "wrong password"})
		if want := map[bool]int{true: 429, false: 401}[i >= limit]; s != want {
			t.Fatalf("guess %d with a made-up X-Forwarded-For: %d, want %d", i+1, s, want)
		}
	}
}

// TestReplicasShareTheThrottle: two servers on one PostgreSQL database
// count one budget, so alternating between replicas gains nothing.
func TestReplicasShareTheThrottle(t *testing.T) {
	dbURL := pgtest.URL(t)
	clock := &testClock{t: time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)}
	var bases []string
	for i := range 2 {
		c := app.Config{DatabaseURL: dbURL, SecretKey: testSecretKey, BootstrapToken: bootstrapToken, Clock: clock.Now,
			Argon2: cheapArgon, Logger: slog.New(slog.DiscardHandler)}
		behindProxy(&c)
		srv, err := app.New(context.Background(), c)
		if err != nil {
			t.Fatalf("replica %d: %v", i, err)
		}
		hs := httptest.NewServer(srv.API)
		t.Cleanup(func() { hs.Close(); srv.Close() })
		bases = append(bases, hs.URL)
	}
	limit := lockbox.DefaultThrottle.PerAccountAddress
	for i := range limit {
		if s := loginFrom(t, bases[i%2], "198.51.100.9", lockbox.LoginInput{Email: "victim@example.com", Password: "wrong password"}); s != 401 {
			t.Fatalf("guess %d on replica %d: %d, want 401", i+1, i%2, s)
		}
	}
	for i, base := range bases {
		if s := loginFrom(t, base, "198.51.100.9", lockbox.LoginInput{Email: "victim@example.com", Password: "wrong password"}); s != 429 {
			t.Errorf("replica %d after %d guesses spread over both: %d, want 429", i, limit, s)
		}
	}
}

// TestPasswordHashingMemoryIsBounded is issue 13's fifth attack: many
// concurrent password changes refused to a member, and many concurrent
// sign-ins, with the production argon2id cost (19 MiB each). The memory
// the server takes from the system grows by at most what the hashers'
// bound allows, not by one hash per request.
func TestPasswordHashingMemoryIsBounded(t *testing.T) {
	const hashers, n = 2, 48
	e := newEnvWith(t, func(c *app.Config) {
		c.Argon2 = nil // the production cost
		c.PasswordHashers = hashers
		c.Throttle = lockbox.ThrottleLimits{PerAccountAddress: 10 * n, PerAddress: 10 * n}
	})
	w := e.newWorld("Memory")
	target := w.approver.ID
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	var wg sync.WaitGroup
	statuses := make(chan int, 2*n)
	for i := range n {
		wg.Go(func() {
			pw := fmt.Sprintf("a new password number %d", i)
			r, err := e.do("PATCH", "/v1/users/"+string(target), w.member.token, lockbox.UpdateUserInput{Password: &pw})
			if err == nil {
				statuses <- r.Status
			}
		})
		wg.Go(func() {
			r, err := e.do("POST", "/v1/auth/login", "", lockbox.LoginInput{Email: w.member.Email, Password: fmt.Sprintf("wrong password %d", i)})
			if err == nil {
				statuses <- r.Status
			}
		})
	}
	wg.Wait()
	runtime.ReadMemStats(&after)
	close(statuses)
	counts := map[int]int{}
	for s := range statuses {
		counts[s]++
	}
	if counts[403]+counts[401]+counts[429] != 2*n || counts[403] != n {
		t.Fatalf("answers %v: want %d refused changes (403) and %d refused sign-ins", counts, n, n)
	}
	const mib = 1 << 20
	perHash := uint64(lockbox.DefaultArgon2.Memory) * 1024
	// Each running hash holds perHash; the collector may let the heap grow
	// to twice the live heap before it runs, twice more for the garbage of
	// hashes just finished; 64 MiB covers the rest of the server.
	bound := hashers*perHash*4 + 64*mib
	grew := int64(after.Sys) - int64(before.Sys)
	t.Logf("memory from the system grew by %d MiB (bound %d MiB; heap in use %d -> %d MiB)",
		grew/mib, bound/mib, before.HeapInuse/mib, after.HeapInuse/mib)
	if grew > int64(bound) {
		t.Errorf("memory from the system grew by %d MiB under %d concurrent password checks, more than the bound of %d MiB for %d hashers",
			grew/mib, 2*n, bound/mib, hashers)
	}
}

// querySQL runs a statement on the test server's database, either
// engine, and returns the first column of its first row ("" for none).
func (e *env) querySQL(query string) string {
	e.t.Helper()
	ctx := context.Background()
	var out string
	if e.dbURL != "" {
		conn, err := pgx.Connect(ctx, e.dbURL)
		if err != nil {
			e.t.Fatal(err)
		}
		defer conn.Close(ctx)
		if err := conn.QueryRow(ctx, query).Scan(&out); err != nil && !errors.Is(err, pgx.ErrNoRows) {
			e.t.Fatal(err)
		}
		return out
	}
	db, err := sql.Open("sqlite", e.dbPath)
	if err != nil {
		e.t.Fatal(err)
	}
	defer db.Close()
	if err := db.QueryRowContext(ctx, query).Scan(&out); err != nil && !errors.Is(err, sql.ErrNoRows) {
		e.t.Fatal(err)
	}
	return out
}

// TestTOTPSeedsAreSealed: TOTP seeds, confirmed and pending, are stored
// sealed with the secret key; a seed stored in clear by an older version
// is sealed at the next start and still signs in.
func TestTOTPSeedsAreSealed(t *testing.T) {
	e := newEnv(t)
	w := e.newWorld("Sealed")
	u := w.approver
	e.clock.Advance(30 * time.Second)
	var pending lockbox.TOTPEnrollment
	e.must(201, "POST", "/v1/me/totp", u.token, lockbox.TOTPEnrollInput{Code: e.code(u.secret)}, &pending)
	dump := e.databaseDump()
	for what, s := range map[string]string{"confirmed": u.secret, "pending": pending.Secret} {
		if bytes.Contains(dump, []byte(s)) {
			t.Errorf("the %s TOTP secret is stored in clear", what)
		}
	}

	// An older version's row: the seed in clear, a pending secret bound
	// to no session.
	column := fmt.Sprintf(`SELECT totp_secret || ' ' || totp_pending FROM users WHERE id = '%s'`, u.ID)
	e.querySQL(fmt.Sprintf(`UPDATE users SET totp_secret = '%s', totp_pending = 'KRSXG5CTMVRXEZLU' WHERE id = '%s' RETURNING id`, u.secret, u.ID))
	if got := e.querySQL(column); got != u.secret+" KRSXG5CTMVRXEZLU" {
		t.Fatalf("the test did not store the seed in clear: %q", got)
	}
	c := app.Config{DataDir: filepath.Dir(e.dbPath), DatabaseURL: e.dbURL, SecretKey: testSecretKey, Clock: e.clock.Now,
		Argon2: cheapArgon, Logger: slog.New(slog.DiscardHandler)}
	srv, err := app.New(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.API)
	t.Cleanup(func() { hs.Close(); srv.Close() })
	if got := e.querySQL(column); !strings.HasPrefix(got, lockbox.SealedPrefix) || strings.Contains(got, u.secret) || strings.Contains(got, "KRSXG5CTMVRXEZLU") {
		t.Fatalf("after the start the row holds %q: want the seed sealed and the unbound pending secret gone", got)
	}
	e.clock.Advance(30 * time.Second)
	if s := loginFrom(t, hs.URL, "", lockbox.LoginInput{Email: u.Email, Password: u.password, OTP: e.code(u.secret)}); s != 200 {
		t.Fatalf("sign-in with the sealed seed: %d, want 200", s)
	}
	// Starting again changes nothing (idempotent).
	n, err := srv.Service.SealTOTPSecrets(context.Background())
	if err != nil || n != 0 {
		t.Fatalf("sealing again: %d users changed, %v", n, err)
	}
}
