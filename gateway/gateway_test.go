package gateway_test

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lockbox-dev/lockbox"
	"github.com/lockbox-dev/lockbox/gateway"
	"github.com/lockbox-dev/lockbox/grant"
)

// findRecords returns the records of phase p whose path is path.
func findRecords(recs []gateway.AccessRecord, phase gateway.Phase, path string) []gateway.AccessRecord {
	var out []gateway.AccessRecord
	for _, r := range recs {
		if r.Phase == phase && r.Path == path {
			out = append(out, r)
		}
	}
	return out
}

func TestGatewayAllowsInScope(t *testing.T) {
	lb, up := newLockboxServer(t), newUpstream(t)
	g := startGateway(t, lb, up, t.TempDir())
	tok := lb.token(grantReq("req_a", lockbox.LevelRead, "mailbox:alice"))
	// The decision must be in the server's log before the upstream sees
	// the request.
	var unrecorded atomic.Int64
	check := func(r *http.Request) {
		if !lb.has(r.Header.Get("X-Lockbox-Access-Id")) {
			unrecorded.Add(1)
		}
	}
	up.onHit.Store(&check)

	path := "/tenants/ten_acme/mailboxes/alice/inbox/42"
	res := do(t, "GET", g.url+path+"?q=secret-search", tok, "X-Lockbox-Requester", "usr_spoofed", "X-Other", "kept")
	if res.status != http.StatusOK {
		t.Fatalf("status %d: %s", res.status, res.body)
	}
	var seen echo
	if err := json.Unmarshal([]byte(res.body), &seen); err != nil {
		t.Fatal(err)
	}
	if seen.Path != path || seen.Content != "SECRET CUSTOMER CONTENT" {
		t.Errorf("upstream saw %+v", seen)
	}
	if unrecorded.Load() != 0 {
		t.Error("the upstream was reached before the access was recorded")
	}
	if v := seen.Header.Get("Authorization"); v != "" {
		t.Errorf("the grant token reached the upstream: %q", v)
	}
	if seen.Header.Get("X-Lockbox-Requester") != "usr_eng" || seen.Header.Get("X-Lockbox-Request-Id") != "req_a" ||
		seen.Header.Get("X-Lockbox-Tenant") != "ten_acme" || seen.Header.Get("X-Other") != "kept" {
		t.Errorf("upstream headers %v", seen.Header)
	}

	// The decision was recorded before the access; the completion after,
	// with status and bytes, pointing at the decision.
	waitFor(t, 2*time.Second, "the completion record", func() bool {
		return len(findRecords(lb.recorded(), gateway.PhaseCompleted, path)) == 1
	})
	recs := lb.recorded()
	dec := findRecords(recs, gateway.PhaseDecision, path)
	done := findRecords(recs, gateway.PhaseCompleted, path)
	if len(dec) != 1 {
		t.Fatalf("decision records %+v", dec)
	}
	d, c := dec[0], done[0]
	if d.Decision != gateway.Allowed || d.Reason != gateway.ReasonGranted || d.TenantID != "ten_acme" || d.RequestID != "req_a" ||
		d.RequesterID != "usr_eng" || d.TokenID == "" || d.Resource != "mailbox:alice" || d.Level != lockbox.LevelRead ||
		d.Method != "GET" || d.Gateway != "gw-test" || d.Route != "GET /tenants/{tenant}/mailboxes/{mailbox}/{rest...}" {
		t.Errorf("decision record %+v", d)
	}
	if strings.Contains(d.Path, "secret-search") {
		t.Error("the query string was recorded")
	}
	if c.DecisionID != d.ID || c.Status != http.StatusOK || c.Bytes != int64(len(res.body)) || c.ID == d.ID {
		t.Errorf("completion record %+v (body %d bytes)", c, len(res.body))
	}
	if slicesIndex(recs, d.ID) > slicesIndex(recs, c.ID) {
		t.Error("completion recorded before the decision")
	}

	// Levels: admin covers write covers read.
	adm := lb.token(grantReq("req_adm", lockbox.LevelAdmin, "mailbox:alice"))
	for _, m := range []string{"GET", "HEAD", "POST"} {
		if res := do(t, m, g.url+"/tenants/ten_acme/mailboxes/alice/x", adm); res.status != http.StatusOK {
			t.Errorf("admin %s: %d %s", m, res.status, res.body)
		}
	}
	if res := do(t, "DELETE", g.url+"/tenants/ten_acme/mailboxes/alice", adm); res.status != http.StatusOK {
		t.Errorf("admin DELETE: %d %s", res.status, res.body)
	}
}

func slicesIndex(recs []gateway.AccessRecord, id string) int {
	for i, r := range recs {
		if r.ID == id {
			return i
		}
	}
	return -1
}

func TestGatewayRefuses(t *testing.T) {
	lb, up := newLockboxServer(t), newUpstream(t)
	g := startGateway(t, lb, up, t.TempDir())
	read := lb.token(grantReq("req_r", lockbox.LevelRead, "mailbox:alice"))
	write := lb.token(grantReq("req_w", lockbox.LevelWrite, "mailbox:alice"))
	otherTenant := grantReq("req_o", lockbox.LevelAdmin, "mailbox:alice")
	otherTenant.TenantID = "ten_globex"
	other := lb.token(otherTenant)
	forger := &grant.Issuer{Keys: must(grant.NewKeyring(time.Now(), 0)), URL: lb.srv.URL}
	forged, _, _ := forger.Issue(grantReq("req_f", lockbox.LevelAdmin, "mailbox:alice"), time.Now())
	shortIssuer := &grant.Issuer{Keys: lb.ring, URL: lb.srv.URL, TTL: time.Second}
	expiring, exp, _ := shortIssuer.Issue(grantReq("req_x", lockbox.LevelRead, "mailbox:alice"), time.Now())
	time.Sleep(time.Until(exp) + 10*time.Millisecond)

	cases := []struct {
		name, method, path, token string
		status                    int
		code                      string
		tenant                    lockbox.TenantID
	}{
		{"out of scope", "GET", "/tenants/ten_acme/mailboxes/bob/inbox", read, 403, gateway.ReasonOutOfScope, "ten_acme"},
		{"lower level", "POST", "/tenants/ten_acme/mailboxes/alice/inbox", read, 403, gateway.ReasonLevel, "ten_acme"},
		{"write is not admin", "DELETE", "/tenants/ten_acme/mailboxes/alice", write, 403, gateway.ReasonLevel, "ten_acme"},
		{"wrong tenant", "GET", "/tenants/ten_acme/mailboxes/alice/inbox", other, 403, gateway.ReasonWrongTenant, "ten_acme"},
		{"wrong tenant, path names its own", "GET", "/tenants/ten_globex/mailboxes/alice/inbox", read, 403, gateway.ReasonWrongTenant, "ten_globex"},
		{"fixed tenant route", "GET", "/acme/reports/q3", read, 403, gateway.ReasonOutOfScope, "ten_acme"},
		{"unmatched route", "GET", "/admin/export-everything", read, 404, gateway.ReasonNoRoute, ""},
		{"unmatched method", "PUT", "/tenants/ten_acme/mailboxes/alice/inbox", write, 404, gateway.ReasonNoRoute, ""},
		{"no token", "GET", "/tenants/ten_acme/mailboxes/alice/inbox", "", 401, gateway.ReasonNoToken, "ten_acme"},
		{"forged token", "GET", "/tenants/ten_acme/mailboxes/alice/inbox", forged, 401, gateway.ReasonUnknownKey, "ten_acme"},
		{"garbage token", "GET", "/tenants/ten_acme/mailboxes/alice/inbox", "abc.def.ghi", 401, gateway.ReasonMalformed, "ten_acme"},
		{"expired token", "GET", "/tenants/ten_acme/mailboxes/alice/inbox", expiring, 401, gateway.ReasonExpired, "ten_acme"},
		{"encoded dot segments", "GET", "/tenants/ten_acme/mailboxes/alice/%2e%2e/%2e%2e/mailboxes/bob/inbox", read, 400, gateway.ReasonNonCanonicalPath, ""},
		{"encoded slash traversal", "GET", "/tenants/ten_acme/mailboxes/alice/x%2F..%2F..%2Fbob", read, 400, gateway.ReasonNonCanonicalPath, ""},
		{"double slash", "GET", "/tenants/ten_acme/mailboxes/alice//inbox", read, 400, gateway.ReasonNonCanonicalPath, ""},
		{"backslash", "GET", "/tenants/ten_acme/mailboxes/alice/..%5Cbob", read, 400, gateway.ReasonNonCanonicalPath, ""},
		{"single dot segment", "GET", "/tenants/ten_acme/mailboxes/alice/./inbox", read, 400, gateway.ReasonNonCanonicalPath, ""},
		{"dot segment in place of the mailbox", "GET", "/tenants/ten_acme/mailboxes/./alice/inbox", read, 400, gateway.ReasonNonCanonicalPath, ""},
		{"encoded single dot", "GET", "/tenants/ten_acme/mailboxes/alice/%2e/inbox", read, 400, gateway.ReasonNonCanonicalPath, ""},
		{"encoded single dot, upper case", "GET", "/tenants/ten_acme/mailboxes/alice/%2E/inbox", read, 400, gateway.ReasonNonCanonicalPath, ""},
		{"trailing dot segment", "GET", "/tenants/ten_acme/mailboxes/alice/inbox/.", read, 400, gateway.ReasonNonCanonicalPath, ""},
		{"trailing encoded dot segment", "GET", "/tenants/ten_acme/mailboxes/alice/inbox/%2e", read, 400, gateway.ReasonNonCanonicalPath, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := up.hits.Load()
			res := do(t, tc.method, g.url+tc.path, tc.token)
			if res.status != tc.status || res.code != tc.code {
				t.Fatalf("got %d %s (%s), want %d %s", res.status, res.code, res.body, tc.status, tc.code)
			}
			if up.hits.Load() != before || strings.Contains(res.body, "SECRET") {
				t.Fatal("a refused request reached the upstream")
			}
			if ct := res.header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("content type %q", ct)
			}
			if tc.status == 401 && !strings.HasPrefix(res.header.Get("WWW-Authenticate"), "Bearer") {
				t.Error("401 without WWW-Authenticate")
			}
			if anonymousReasons[tc.code] {
				return // counted, never recorded per request: TestAnonymousRequestsLeaveNoRecord
			}
			var refused *gateway.AccessRecord
			waitFor(t, 2*time.Second, "the refusal record", func() bool {
				for _, r := range lb.recorded() {
					if r.Method == tc.method && r.Reason == tc.code && r.Path == strings.SplitN(tc.path, "?", 2)[0] {
						refused = &r
						return true
					}
				}
				return false
			})
			if refused.Decision != gateway.Refused || refused.TenantID != tc.tenant || refused.Message == "" {
				t.Errorf("record %+v", refused)
			}
		})
	}
	// The refusals before a token verified left no record of their own:
	// the gateway's next shipment (the summary, at its Close) carries them.
	g.stop()
	for _, r := range lb.recorded() {
		if r.Phase == gateway.PhaseDecision && anonymousReasons[r.Reason] {
			t.Errorf("an unverified refusal was recorded: %+v", r)
		}
	}
}

// anonymousReasons are the refusals taken before any token verified.
var anonymousReasons = map[string]bool{
	gateway.ReasonNoToken: true, gateway.ReasonUnknownKey: true, gateway.ReasonMalformed: true, gateway.ReasonExpired: true,
	gateway.ReasonNoRoute: true, gateway.ReasonNonCanonicalPath: true, gateway.ReasonBadSignature: true,
	gateway.ReasonWrongAudience: true, gateway.ReasonWrongIssuer: true, gateway.ReasonNotYetValid: true, gateway.ReasonTooLong: true,
	gateway.ReasonKeysUnavailable: true,
}

// TestRevokedWithinASecond: once the server announces the end of a request
// on the stream, its still-valid token is refused within a second.
func TestRevokedWithinASecond(t *testing.T) {
	lb, up := newLockboxServer(t), newUpstream(t)
	g := startGateway(t, lb, up, t.TempDir())
	tok := lb.token(grantReq("req_rev", lockbox.LevelRead, "mailbox:alice"))
	url := g.url + "/tenants/ten_acme/mailboxes/alice/inbox"
	if res := do(t, "GET", url, tok); res.status != 200 {
		t.Fatalf("before revocation: %d %s", res.status, res.body)
	}
	time.Sleep(300 * time.Millisecond) // the stream is open and idle
	announced := time.Now()
	lb.revoke("req_rev")
	for {
		res := do(t, "GET", url, tok)
		if res.status == http.StatusForbidden && res.code == gateway.ReasonEnded {
			if !strings.Contains(res.body, "revoked") {
				t.Errorf("message does not say why: %s", res.body)
			}
			break
		}
		if time.Since(announced) > time.Second {
			t.Fatalf("still %d a second after the revocation was announced", res.status)
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Logf("refused %s after the announcement", time.Since(announced).Round(time.Millisecond))
	// Other requests are unaffected.
	other := lb.token(grantReq("req_other", lockbox.LevelRead, "mailbox:alice"))
	if res := do(t, "GET", url, other); res.status != 200 {
		t.Errorf("another request: %d", res.status)
	}
}

// TestFeedDownRefusedAtExpiry: with the feed cut, the gateway cannot learn
// of a revocation, but the token still stops working at its exp — which is
// never after the window end.
func TestFeedDownRefusedAtExpiry(t *testing.T) {
	lb, up := newLockboxServer(t), newUpstream(t)
	g := startGateway(t, lb, up, t.TempDir())
	short := &grant.Issuer{Keys: lb.ring, URL: lb.srv.URL, TTL: 2 * time.Second}
	tok, exp, err := short.Issue(grantReq("req_cut", lockbox.LevelRead, "mailbox:alice"), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	lb.setFeedDown(true)
	lb.revoke("req_cut") // the gateway cannot hear this
	url := g.url + "/tenants/ten_acme/mailboxes/alice/inbox"
	for time.Now().Before(exp.Add(-300 * time.Millisecond)) {
		if res := do(t, "GET", url, tok); res.status != 200 {
			t.Fatalf("before exp, with the feed down: %d %s", res.status, res.body)
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(time.Until(exp))
	res := do(t, "GET", url, tok)
	if res.status != http.StatusUnauthorized || res.code != gateway.ReasonExpired {
		t.Fatalf("at exp: %d %s", res.status, res.body)
	}
	if late := time.Since(exp); late > 500*time.Millisecond {
		t.Errorf("refused only %s after exp", late)
	}
}

// TestWindowCapsToken: a token cannot outlive the access window, so the
// gateway refuses at the window end even with no feed at all.
func TestWindowCapsToken(t *testing.T) {
	lb, up := newLockboxServer(t), newUpstream(t)
	g := startGateway(t, lb, up, t.TempDir())
	req := grantReq("req_win", lockbox.LevelRead, "mailbox:alice")
	end := time.Now().Add(1500 * time.Millisecond)
	req.AccessExpiresAt = &end
	tok, exp, err := lb.issuer.Issue(req, time.Now()) // TTL 15 m, window 1.5 s
	if err != nil {
		t.Fatal(err)
	}
	if exp.After(end) {
		t.Fatalf("exp %s after the window end %s", exp, end)
	}
	lb.setFeedDown(true)
	time.Sleep(time.Until(end))
	if res := do(t, "GET", g.url+"/tenants/ten_acme/mailboxes/alice/inbox", tok); res.code != gateway.ReasonExpired {
		t.Fatalf("after the window: %d %s", res.status, res.body)
	}
}

// TestSpoolWhenSinkDown: with the server refusing records, accesses go on,
// their records wait in the spool — across a gateway restart — and reach
// the server, in order, once it is back.
func TestSpoolWhenSinkDown(t *testing.T) {
	lb, up := newLockboxServer(t), newUpstream(t)
	dir := t.TempDir()
	g := startGateway(t, lb, up, dir)
	tok := lb.token(grantReq("req_sp", lockbox.LevelRead, "mailbox:alice"))
	lb.sinkDown.Store(true)
	var paths []string
	for i := range 5 {
		p := "/tenants/ten_acme/mailboxes/alice/m" + string(rune('a'+i))
		paths = append(paths, p)
		if res := do(t, "GET", g.url+p, tok); res.status != 200 {
			t.Fatalf("sink down, spool working: %d %s", res.status, res.body)
		}
	}
	waitFor(t, 2*time.Second, "the last completion to be spooled", func() bool { return g.srv.Recorder().Stats().Spooled == 10 })
	if st := g.srv.Recorder().Stats(); st.Pending == 0 || st.Shipments != 0 {
		t.Fatalf("stats %+v: records should be in the spool", st)
	}
	if n := len(lb.recorded()); n != 0 {
		t.Fatalf("the server holds %d records while refusing them", n)
	}
	g.stop() // restart the gateway with the server still down

	g2 := startGateway(t, lb, up, dir)
	p := "/tenants/ten_acme/mailboxes/alice/after-restart"
	paths = append(paths, p)
	if res := do(t, "GET", g2.url+p, tok); res.status != 200 {
		t.Fatalf("after restart: %d", res.status)
	}
	lb.sinkDown.Store(false)
	waitFor(t, 15*time.Second, "the spool to drain", func() bool {
		return len(lb.recorded()) == 2*len(paths) && g2.srv.Recorder().Stats().Pending == 0
	})
	// In order: decisions in the order the accesses were made, each
	// completion after its decision.
	recs := lb.recorded()
	var decided []string
	seen := map[string]bool{}
	for _, r := range recs {
		switch r.Phase {
		case gateway.PhaseDecision:
			decided = append(decided, r.Path)
			seen[r.ID] = true
		case gateway.PhaseCompleted:
			if !seen[r.DecisionID] {
				t.Errorf("completion %s shipped before its decision %s", r.ID, r.DecisionID)
			}
		}
	}
	if strings.Join(decided, " ") != strings.Join(paths, " ") {
		t.Errorf("decisions shipped in the order\n%v\nwant\n%v", decided, paths)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "spool.log")); len(b) != 0 {
		t.Errorf("the spool keeps %d bytes after shipping", len(b))
	}
	// Direct shipping resumes.
	if res := do(t, "GET", g2.url+paths[0], tok); res.status != 200 {
		t.Fatal(res.status)
	}
	waitFor(t, 2*time.Second, "a direct shipment", func() bool { return len(lb.recorded()) == 2*len(paths)+2 })
}

// TestFailClosed: when the server does not take records and the spool
// cannot either, the access is refused with 503 and never reaches the
// upstream.
func TestFailClosed(t *testing.T) {
	t.Run("spool unwritable", func(t *testing.T) {
		lb, up := newLockboxServer(t), newUpstream(t)
		dir := filepath.Join(t.TempDir(), "spool")
		g := startGateway(t, lb, up, dir)
		tok := lb.token(grantReq("req_fc", lockbox.LevelRead, "mailbox:alice"))
		lb.sinkDown.Store(true)
		// The spool directory becomes unusable (a full or failed disk, an
		// unmounted volume): here it is replaced by a regular file, which
		// fails even for root, unlike a read-only mode.
		if err := os.Rename(dir, dir+".gone"); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dir, []byte("not a directory"), 0o600); err != nil {
			t.Fatal(err)
		}
		res := do(t, "GET", g.url+"/tenants/ten_acme/mailboxes/alice/inbox", tok)
		if res.status != http.StatusServiceUnavailable || res.code != gateway.ReasonCannotRecord || !strings.Contains(res.body, "cannot record the access") {
			t.Fatalf("got %d %s", res.status, res.body)
		}
		if up.hits.Load() != 0 {
			t.Fatal("an unrecorded access reached the upstream")
		}
	})
	t.Run("no spool", func(t *testing.T) {
		lb, up := newLockboxServer(t), newUpstream(t)
		g := startGateway(t, lb, up, "")
		tok := lb.token(grantReq("req_fc2", lockbox.LevelRead, "mailbox:alice"))
		lb.sinkDown.Store(true)
		res := do(t, "GET", g.url+"/tenants/ten_acme/mailboxes/alice/inbox", tok)
		if res.status != http.StatusServiceUnavailable || res.code != gateway.ReasonCannotRecord {
			t.Fatalf("got %d %s", res.status, res.body)
		}
		if up.hits.Load() != 0 {
			t.Fatal("an unrecorded access reached the upstream")
		}
		lb.sinkDown.Store(false)
		if res := do(t, "GET", g.url+"/tenants/ten_acme/mailboxes/alice/inbox", tok); res.status != 200 {
			t.Fatalf("server back: %d", res.status)
		}
	})
	t.Run("spool full", func(t *testing.T) {
		lb, up := newLockboxServer(t), newUpstream(t)
		g := startGateway(t, lb, up, t.TempDir(), func(c *gateway.Config) { c.SpoolMaxBytes = 2048 })
		tok := lb.token(grantReq("req_fc3", lockbox.LevelRead, "mailbox:alice"))
		lb.sinkDown.Store(true)
		var last result
		for range 20 {
			if last = do(t, "GET", g.url+"/tenants/ten_acme/mailboxes/alice/inbox", tok); last.status != 200 {
				break
			}
		}
		if last.status != http.StatusServiceUnavailable || last.code != gateway.ReasonCannotRecord {
			t.Fatalf("a full spool: %d %s", last.status, last.body)
		}
	})
}

// TestUpstreamErrorsDoNotLeak: a dead upstream yields a 502 that names no
// address or error text, and the completion record says so.
func TestUpstreamErrorsDoNotLeak(t *testing.T) {
	lb, up := newLockboxServer(t), newUpstream(t)
	g := startGateway(t, lb, up, t.TempDir())
	tok := lb.token(grantReq("req_up", lockbox.LevelRead, "mailbox:alice"))
	addr := strings.TrimPrefix(up.srv.URL, "http://")
	up.srv.Close()
	res := do(t, "GET", g.url+"/tenants/ten_acme/mailboxes/alice/inbox", tok)
	if res.status != http.StatusBadGateway || res.code != gateway.ReasonUpstream {
		t.Fatalf("got %d %s", res.status, res.body)
	}
	for _, leak := range []string{addr, "dial", "refused", "127.0.0.1"} {
		if strings.Contains(res.body, leak) {
			t.Errorf("the answer leaks %q: %s", leak, res.body)
		}
	}
	waitFor(t, 2*time.Second, "the completion record", func() bool {
		for _, r := range lb.recorded() {
			if r.Phase == gateway.PhaseCompleted && r.Status == http.StatusBadGateway && r.Reason == gateway.ReasonUpstream {
				return true
			}
		}
		return false
	})
}

// TestBatching: concurrent accesses share shipments.
func TestBatching(t *testing.T) {
	lb, up := newLockboxServer(t), newUpstream(t)
	lb.sinkDelay = 5 * time.Millisecond // a commit with an fsync
	g := startGateway(t, lb, up, t.TempDir())
	tok := lb.token(grantReq("req_batch", lockbox.LevelRead, "mailbox:alice"))
	before := lb.shipmentCount()
	const n = 64
	var wg sync.WaitGroup
	start := make(chan struct{})
	failed := make(chan string, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			res := do(t, "GET", g.url+"/tenants/ten_acme/mailboxes/alice/m"+strings.Repeat("x", i%7), tok)
			if res.status != 200 {
				failed <- res.body
			}
		}()
	}
	close(start)
	wg.Wait()
	close(failed)
	for f := range failed {
		t.Fatal(f)
	}
	waitFor(t, 2*time.Second, "all records", func() bool { return len(lb.recorded()) >= 2*n })
	calls := lb.shipmentCount() - before
	t.Logf("%d accesses, %d records, %d shipments", n, 2*n, calls)
	if calls > n/2 {
		t.Errorf("%d shipments for %d accesses (%d records): records are not batched", calls, n, 2*n)
	}
}

// TestPollingFallback: a server without the stream endpoint is polled.
func TestPollingFallback(t *testing.T) {
	lb, up := newLockboxServer(t), newUpstream(t)
	lb.noStream = true
	g := startGateway(t, lb, up, t.TempDir())
	tok := lb.token(grantReq("req_poll", lockbox.LevelRead, "mailbox:alice"))
	lb.revoke("req_poll")
	waitFor(t, 5*time.Second, "the poll to learn the revocation", func() bool {
		return do(t, "GET", g.url+"/tenants/ten_acme/mailboxes/alice/inbox", tok).code == gateway.ReasonEnded
	})
}

// TestNotSyncedRefuses: before the feed has ever synced the gateway cannot
// know which requests ended, so it refuses.
func TestNotSyncedRefuses(t *testing.T) {
	lb, up := newLockboxServer(t), newUpstream(t)
	lb.setFeedDown(true)
	g := startGateway(t, lb, up, t.TempDir())
	tok := lb.token(grantReq("req_ns", lockbox.LevelRead, "mailbox:alice"))
	res := do(t, "GET", g.url+"/tenants/ten_acme/mailboxes/alice/inbox", tok)
	if res.status != http.StatusServiceUnavailable || res.code != gateway.ReasonFeedUnavailable {
		t.Fatalf("got %d %s", res.status, res.body)
	}
	lb.setFeedDown(false)
	waitFor(t, 10*time.Second, "the feed to sync", func() bool { return g.srv.Ready() == nil })
	if res := do(t, "GET", g.url+"/tenants/ten_acme/mailboxes/alice/inbox", tok); res.status != 200 {
		t.Fatalf("after sync: %d %s", res.status, res.body)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// TestFeedResumes: a revocation announced while the gateway was cut off
// from the feed is learnt as soon as it reconnects, from its cursor.
func TestFeedResumes(t *testing.T) {
	lb, up := newLockboxServer(t), newUpstream(t)
	lb.revoke("req_earlier") // the cursor is past something
	g := startGateway(t, lb, up, t.TempDir())
	tok := lb.token(grantReq("req_res", lockbox.LevelRead, "mailbox:alice"))
	url := g.url + "/tenants/ten_acme/mailboxes/alice/inbox"
	lb.setFeedDown(true)
	time.Sleep(300 * time.Millisecond) // the stream drops; reconnects fail
	lb.revoke("req_res")
	if res := do(t, "GET", url, tok); res.status != 200 {
		t.Fatalf("the gateway cannot know yet: %d", res.status)
	}
	lb.setFeedDown(false)
	waitFor(t, 5*time.Second, "the gateway to resume the feed", func() bool {
		return do(t, "GET", url, tok).code == gateway.ReasonEnded
	})
	if _, ok := g.srv.Feed().Ended("req_earlier"); !ok {
		t.Error("an item before the outage was lost")
	}
}

// TestFeedStaleness: with MaxFeedStaleness set, a gateway that has not heard
// from the server for that long refuses rather than trust an old set.
func TestFeedStaleness(t *testing.T) {
	lb, up := newLockboxServer(t), newUpstream(t)
	g := startGateway(t, lb, up, t.TempDir(), func(c *gateway.Config) { c.MaxFeedStaleness = 700 * time.Millisecond })
	tok := lb.token(grantReq("req_stale", lockbox.LevelRead, "mailbox:alice"))
	url := g.url + "/tenants/ten_acme/mailboxes/alice/inbox"
	time.Sleep(time.Second) // heartbeats every 200 ms keep it fresh
	if res := do(t, "GET", url, tok); res.status != 200 {
		t.Fatalf("fresh feed: %d %s", res.status, res.body)
	}
	lb.setFeedDown(true)
	waitFor(t, 3*time.Second, "the gateway to refuse", func() bool {
		return do(t, "GET", url, tok).code == gateway.ReasonFeedUnavailable
	})
}

func TestBodyLimit(t *testing.T) {
	lb, up := newLockboxServer(t), newUpstream(t)
	g := startGateway(t, lb, up, t.TempDir(), func(c *gateway.Config) { c.MaxBodyBytes = 1024 })
	tok := lb.token(grantReq("req_body", lockbox.LevelWrite, "mailbox:alice"))
	for name, body := range map[string]io.Reader{
		"declared": strings.NewReader(strings.Repeat("x", 4096)),
		"chunked":  io.MultiReader(strings.NewReader(strings.Repeat("x", 4096))),
	} {
		req, _ := http.NewRequest("POST", g.url+"/tenants/ten_acme/mailboxes/alice/send", body)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(string(b), gateway.ReasonTooLarge) {
			t.Errorf("%s: %d %s", name, resp.StatusCode, b)
		}
	}
	if res := do(t, "POST", g.url+"/tenants/ten_acme/mailboxes/alice/send", tok); res.status != 200 {
		t.Errorf("small body: %d", res.status)
	}
}

// TestAbortedResponseRecorded: an upstream that dies in the middle of a body
// still leaves a completion record, saying so.
func TestAbortedResponseRecorded(t *testing.T) {
	lb, up := newLockboxServer(t), newUpstream(t)
	up.srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "100000")
		w.WriteHeader(200)
		w.Write([]byte("partial"))
		w.(http.Flusher).Flush()
		conn, _, err := http.NewResponseController(w).Hijack()
		if err == nil {
			conn.Close()
		}
	})
	g := startGateway(t, lb, up, t.TempDir())
	tok := lb.token(grantReq("req_abort", lockbox.LevelRead, "mailbox:alice"))
	req, _ := http.NewRequest("GET", g.url+"/tenants/ten_acme/mailboxes/alice/big", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	if resp, err := http.DefaultClient.Do(req); err == nil {
		io.ReadAll(resp.Body)
		resp.Body.Close()
	}
	waitFor(t, 2*time.Second, "the completion record", func() bool {
		for _, r := range lb.recorded() {
			if r.Phase == gateway.PhaseCompleted && r.Reason == gateway.ReasonAborted && r.Status == 200 {
				return true
			}
		}
		return false
	})
}

func TestMetrics(t *testing.T) {
	lb, up := newLockboxServer(t), newUpstream(t)
	reg := prometheus.NewRegistry()
	g := startGateway(t, lb, up, t.TempDir(), func(c *gateway.Config) { c.Metrics = reg })
	tok := lb.token(grantReq("req_m", lockbox.LevelRead, "mailbox:alice"))
	do(t, "GET", g.url+"/tenants/ten_acme/mailboxes/alice/inbox", tok)
	do(t, "GET", g.url+"/tenants/ten_acme/mailboxes/bob/inbox", tok)
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			key := f.GetName()
			for _, l := range m.GetLabel() {
				key += "," + l.GetName() + "=" + l.GetValue()
			}
			got[key] = m.GetCounter().GetValue() + m.GetGauge().GetValue()
		}
	}
	if got["lockbox_gateway_accesses_total,decision=allowed,reason=granted"] != 1 ||
		got["lockbox_gateway_accesses_total,decision=refused,reason=out_of_scope"] != 1 {
		t.Errorf("metrics %v", got)
	}
	if got["lockbox_gateway_record_shipments_total"] < 1 || got["lockbox_gateway_feed_last_contact_timestamp_seconds"] == 0 {
		t.Errorf("metrics %v", got)
	}
}
