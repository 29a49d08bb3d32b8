package gateway_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lockbox-dev/lockbox"
	"github.com/lockbox-dev/lockbox/gateway"
	"github.com/lockbox-dev/lockbox/grant"
)

// counterSum adds up the counter name of reg over all its labels.
func counterSum(t *testing.T, reg *prometheus.Registry, name string) (float64, map[string]float64) {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	by := map[string]float64{}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			key := ""
			for _, l := range m.GetLabel() {
				key += l.GetName() + "=" + l.GetValue() + " "
			}
			sum += m.GetCounter().GetValue()
			by[strings.TrimSpace(key)] = m.GetCounter().GetValue()
		}
	}
	return sum, by
}

// TestAnonymousRequestsLeaveNoRecord (issue 13, item 8; invariant 13): 200
// requests without a verified grant token — none, forged, expired, garbage,
// unrouted — against a tenant's content add nothing to any tenant's log.
// They are counted by reason (no tenant label), summarized in records for
// the system log, and the gateway still refuses every one of them.
func TestAnonymousRequestsLeaveNoRecord(t *testing.T) {
	lb, up := newLockboxServer(t), newUpstream(t)
	reg := prometheus.NewRegistry()
	g := startGateway(t, lb, up, t.TempDir(), func(c *gateway.Config) { c.Metrics = reg; c.SummaryInterval = time.Hour })
	forger := &grant.Issuer{Keys: must(grant.NewKeyring(time.Now(), 0)), URL: lb.srv.URL}
	forged, _, _ := forger.Issue(grantReq("req_f", lockbox.LevelAdmin, "mailbox:alice"), time.Now())
	short := &grant.Issuer{Keys: lb.ring, URL: lb.srv.URL, TTL: time.Second}
	expired, exp, _ := short.Issue(grantReq("req_x", lockbox.LevelRead, "mailbox:alice"), time.Now())
	time.Sleep(time.Until(exp) + 10*time.Millisecond)

	tokens := []string{"", forged, expired, "abc.def.ghi"}
	for i := range 200 {
		path := "/tenants/ten_acme/mailboxes/alice/inbox/" + string(rune('a'+i%26))
		if i%5 == 4 {
			path = "/tenants/ten_acme/export-all" // no route
		}
		res := do(t, "GET", g.url+path, tokens[i%4])
		if res.status != http.StatusUnauthorized && res.status != http.StatusNotFound {
			t.Fatalf("anonymous request %d: %d %s", i, res.status, res.body)
		}
	}
	if up.hits.Load() != 0 {
		t.Fatal("an anonymous request reached the upstream")
	}
	// A real access after them: once its completion is shipped, everything
	// queued before it has been too.
	tok := lb.token(grantReq("req_ok", lockbox.LevelRead, "mailbox:alice"))
	if res := do(t, "GET", g.url+"/tenants/ten_acme/mailboxes/alice/inbox", tok); res.status != 200 {
		t.Fatalf("a granted access: %d %s", res.status, res.body)
	}
	waitFor(t, 2*time.Second, "the completion record", func() bool {
		return len(findRecords(lb.recorded(), gateway.PhaseCompleted, "/tenants/ten_acme/mailboxes/alice/inbox")) == 1
	})
	var tenantRecords []gateway.AccessRecord
	for _, r := range lb.recorded() {
		if r.TenantID != "" {
			tenantRecords = append(tenantRecords, r)
		}
	}
	if len(tenantRecords) != 2 || tenantRecords[0].RequestID != "req_ok" || tenantRecords[1].RequestID != "req_ok" {
		t.Fatalf("the tenant's records after 200 anonymous requests and one access: %+v", tenantRecords)
	}
	sum, by := counterSum(t, reg, "lockbox_gateway_unverified_refusals_total")
	if sum != 200 || by["reason="+gateway.ReasonNoToken] != 40 || by["reason="+gateway.ReasonNoRoute] != 40 ||
		by["reason="+gateway.ReasonUnknownKey] != 40 || by["reason="+gateway.ReasonExpired] != 40 || by["reason="+gateway.ReasonMalformed] != 40 {
		t.Errorf("lockbox_gateway_unverified_refusals_total: %v (sum %v)", by, sum)
	}
	// The summary, at the latest when the gateway stops: no tenant, the
	// counts by reason.
	g.stop()
	var total int64
	counts := map[string]int64{}
	for _, r := range lb.recorded() {
		if r.Phase == gateway.PhaseSummary {
			if r.TenantID != "" || r.RequestID != "" || r.Reason != gateway.ReasonUnverifiedSummary || r.Since == nil {
				t.Errorf("summary record %+v", r)
			}
			total += r.Total
			for k, v := range r.Counts {
				counts[k] += v
			}
		}
	}
	if total != 200 || counts[gateway.ReasonNoToken] != 40 || counts[gateway.ReasonNoRoute] != 40 {
		t.Errorf("summaries: total %d, counts %v", total, counts)
	}
}

// TestUnverifiedSummaryPerInterval: a gateway under a steady stream of
// anonymous requests sends one summary per interval, not one record per
// request.
func TestUnverifiedSummaryPerInterval(t *testing.T) {
	lb, up := newLockboxServer(t), newUpstream(t)
	g := startGateway(t, lb, up, t.TempDir(), func(c *gateway.Config) { c.SummaryInterval = 200 * time.Millisecond })
	for range 50 {
		do(t, "GET", g.url+"/tenants/ten_acme/mailboxes/alice/inbox", "")
	}
	waitFor(t, 3*time.Second, "a summary record", func() bool {
		for _, r := range lb.recorded() {
			if r.Phase == gateway.PhaseSummary && r.Total == 50 {
				return true
			}
		}
		return false
	})
	if n := len(lb.recorded()); n != 1 {
		t.Errorf("%d records for 50 anonymous requests, want the one summary", n)
	}
}

// TestSpooledAnonymousRefusalsDropped: a spool written by an older gateway
// may hold per-request anonymous refusals for a tenant; the server does not
// take them (invariant 13), so the recorder drops them instead of blocking
// the spool behind them, and ships the rest.
func TestSpooledAnonymousRefusalsDropped(t *testing.T) {
	lb := newLockboxServer(t)
	sink, err := gateway.NewHTTPSink(lb.srv.URL, apiToken, nil)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := gateway.NewRecorder(gateway.RecorderConfig{Sink: sink, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Close()
	old := gateway.AccessRecord{ID: "acc_old", Phase: gateway.PhaseDecision, Time: time.Now(), TenantID: "ten_acme",
		Method: "GET", Path: "/x", Decision: gateway.Refused, Reason: gateway.ReasonNoToken}
	ok := gateway.AccessRecord{ID: "acc_ok", Phase: gateway.PhaseDecision, Time: time.Now(), TenantID: "ten_acme", RequestID: "req_1",
		Method: "GET", Path: "/x", Decision: gateway.Refused, Reason: gateway.ReasonOutOfScope}
	if err := rec.Record(context.Background(), old); err != nil {
		t.Fatal(err)
	}
	if err := rec.Record(context.Background(), ok); err != nil {
		t.Fatal(err)
	}
	if lb.has("acc_old") || !lb.has("acc_ok") {
		t.Errorf("shipped: %+v", lb.recorded())
	}
}

// TestLockboxHeaderSpellingsStripped (issue 13, item 13): a client cannot
// speak for lockbox to the upstream with any spelling of X-Lockbox-* that
// a server could fold into one (CGI and WSGI read X_Lockbox_Requester as
// HTTP_X_LOCKBOX_REQUESTER): the upstream sees only what the gateway set.
func TestLockboxHeaderSpellingsStripped(t *testing.T) {
	lb, up := newLockboxServer(t), newUpstream(t)
	g := startGateway(t, lb, up, t.TempDir())
	tok := lb.token(grantReq("req_h", lockbox.LevelRead, "mailbox:alice"))
	req, _ := http.NewRequest("GET", g.url+"/tenants/ten_acme/mailboxes/alice/inbox", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	spoofed := []string{"X-Lockbox-Requester", "x-lockbox-tenant", "X_Lockbox_Requester", "x_lockbox_tenant", "X_LOCKBOX_REQUEST_ID",
		"X-Lockbox_Access-Id", "x_lockbox-access_id", "X-LOCKBOX-ADMIN", "X_Lockbox_Approved", "X-Lockbox", "X_LOCKBOX"}
	for _, k := range spoofed {
		req.Header[k] = []string{"usr_spoofed"} // as written, not canonicalized
	}
	req.Header.Set("X-Lockboxer", "kept") // another header altogether
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var seen echo
	if err := json.NewDecoder(resp.Body).Decode(&seen); err != nil || resp.StatusCode != 200 {
		t.Fatalf("%d %v", resp.StatusCode, err)
	}
	want := map[string]string{"x-lockbox-requester": "usr_eng", "x-lockbox-tenant": "ten_acme", "x-lockbox-request-id": "req_h"}
	var lockboxHeaders []string
	for k, vs := range seen.Header {
		n := strings.ReplaceAll(strings.ToLower(k), "_", "-")
		if n != "x-lockbox" && !strings.HasPrefix(n, "x-lockbox-") {
			continue
		}
		lockboxHeaders = append(lockboxHeaders, k)
		if k != http.CanonicalHeaderKey(n) || len(vs) != 1 || strings.Contains(vs[0], "spoofed") {
			t.Errorf("the upstream received %s: %q", k, vs)
		}
		if w, ok := want[n]; ok && vs[0] != w {
			t.Errorf("%s = %q, want %q", k, vs[0], w)
		}
	}
	if len(lockboxHeaders) != 4 { // Access-Id, Request-Id, Requester, Tenant
		t.Errorf("lockbox headers at the upstream: %v", lockboxHeaders)
	}
	if seen.Header.Get("X-Lockboxer") != "kept" {
		t.Error("an unrelated header was stripped")
	}
}

// TestStripLockboxHeaders: the spellings the gateway (and the in-process
// middleware) remove, and what it keeps.
func TestStripLockboxHeaders(t *testing.T) {
	h := http.Header{"X_lockbox_requester": {"x"}, "X-Lockbox-Tenant": {"x"}, "x-LOCKBOX_a": {"x"}, "X-Lockbox": {"x"}, "X-Lockboxer": {"kept"}, "Accept": {"kept"}}
	gateway.StripLockboxHeaders(h)
	if len(h) != 2 || h.Get("X-Lockboxer") != "kept" || h.Get("Accept") != "kept" {
		t.Errorf("left %v", h)
	}
}

// fakeClock is a settable clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// TestFeedStaleByDefault (issue 13, item 16): without any staleness
// setting, a feed cut off from the server stops being ready within a
// minute — DefaultMaxFeedStaleness, 30 s — so the gateway refuses instead
// of admitting a revoked grant for the rest of its token's life.
func TestFeedStaleByDefault(t *testing.T) {
	if gateway.DefaultMaxFeedStaleness <= 0 || gateway.DefaultMaxFeedStaleness > time.Minute {
		t.Fatalf("DefaultMaxFeedStaleness = %s", gateway.DefaultMaxFeedStaleness)
	}
	lb := newLockboxServer(t)
	lb.noStream = true
	clock := &fakeClock{t: time.Now()}
	feed, err := gateway.NewFeed(gateway.FeedConfig{Server: lb.srv.URL, Token: apiToken, Now: clock.Now, PollInterval: time.Hour,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go feed.Run(ctx)
	waitFor(t, 5*time.Second, "the feed to sync", func() bool { return feed.Ready() == nil })
	lb.setFeedDown(true) // and the next poll is an hour away
	clock.Add(gateway.DefaultMaxFeedStaleness - time.Second)
	if err := feed.Ready(); err != nil {
		t.Fatalf("within the bound: %v", err)
	}
	clock.Add(2 * time.Second)
	if err := feed.Ready(); err == nil {
		t.Fatalf("%s after the last contact, the feed still counts as current", gateway.DefaultMaxFeedStaleness+time.Second)
	}
}
