package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lockbox-dev/lockbox"
	"github.com/lockbox-dev/lockbox/app"
	"github.com/lockbox-dev/lockbox/gateway"
	"github.com/lockbox-dev/lockbox/postgres/pgtest"
)

const gwTestBoot = "bootstrap-token-for-the-gateway-test-0123"

// startTestServer runs a real lockbox server (app.New) on a test listener
// whose URL is also its public URL, the iss of its grant tokens.
// publicURL, when set, is the public URL instead (replicas behind one
// name share it).
func startTestServer(t *testing.T, dbURL, publicURL string) (*app.Server, string) {
	t.Helper()
	hs := httptest.NewUnstartedServer(nil)
	url := "http://" + hs.Listener.Addr().String()
	if publicURL == "" {
		publicURL = url
	}
	srv, err := app.New(context.Background(), app.Config{DataDir: t.TempDir(), DatabaseURL: dbURL, SecretKey: logTestSecret,
		BootstrapToken: gwTestBoot, PublicURL: publicURL, InternalGroup: "-",
		Argon2: &lockbox.Argon2Params{Memory: 1024, Time: 1, Threads: 1}})
	if err != nil {
		t.Fatal(err)
	}
	hs.Config.Handler = srv.API
	hs.Start()
	t.Cleanup(func() { hs.Close(); srv.Close() })
	return srv, url
}

func TestGatewayEndToEnd(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) { testGatewayEndToEnd(t, "", false) })
	t.Run("postgres", func(t *testing.T) { testGatewayEndToEnd(t, pgtest.URL(t), false) })
	// Two replicas on one database: the token is issued and the request
	// revoked through one, the gateway follows the other.
	t.Run("postgres two replicas", func(t *testing.T) { testGatewayEndToEnd(t, pgtest.URL(t), true) })
}

func testGatewayEndToEnd(t *testing.T, dbURL string, replicas bool) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv, serverURL := startTestServer(t, dbURL, "")
	gatewayServer := serverURL
	if replicas {
		_, gatewayServer = startTestServer(t, dbURL, serverURL)
	}
	svc := srv.Service
	mfa := []string{"pwd", "otp"}
	op, err := svc.Authenticate(ctx, gwTestBoot)
	if err != nil {
		t.Fatal(err)
	}
	op.AMR = mfa
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	tn, err := svc.CreateTenant(ctx, op, lockbox.CreateTenantInput{Name: "Contoso"})
	must(err)
	adminUser, err := svc.SeedUser(ctx, op, lockbox.CreateUserInput{Email: "adm@contoso.example", DisplayName: "adm",
		Kind: lockbox.KindCustomer, TenantID: tn.ID, Roles: []lockbox.Role{lockbox.RoleTenantAdmin}}, "password-0123456")
	must(err)
	admin := &lockbox.Principal{User: adminUser, AMR: mfa}
	engUser, err := svc.SeedUser(ctx, op, lockbox.CreateUserInput{Email: "eng@operator.example", DisplayName: "eng",
		Kind: lockbox.KindOperator, Roles: []lockbox.Role{lockbox.RoleEngineer}}, "password-0123456")
	must(err)
	eng := &lockbox.Principal{User: engUser, AMR: mfa}
	engTok, err := svc.CreateAPIToken(ctx, eng, engUser.ID, lockbox.CreateTokenInput{Name: "cli"})
	must(err)
	gwUser, err := svc.SeedUser(ctx, op, lockbox.CreateUserInput{Email: "gw@operator.example", DisplayName: "gw",
		Kind: lockbox.KindOperator, Roles: []lockbox.Role{lockbox.RoleGateway}}, "password-0123456")
	must(err)
	gwTok, err := svc.CreateAPIToken(ctx, op, gwUser.ID, lockbox.CreateTokenInput{Name: "gateway"})
	must(err)
	tk, err := svc.CreateTicket(ctx, admin, lockbox.CreateTicketInput{TenantID: tn.ID, Title: "Mail", Description: "lost", Severity: 2})
	must(err)
	req, err := svc.CreateRequest(ctx, eng, lockbox.CreateRequestInput{TicketID: tk.ID, Resources: []string{"mailbox:alice"},
		AccessLevel: lockbox.LevelRead, ReasonType: lockbox.ReasonCustomerInitiated, Justification: "Inspect the mail flow",
		Duration: lockbox.Duration(time.Hour)})
	must(err)
	req, err = svc.Review(ctx, admin, req.ID, lockbox.ReviewInput{Decision: lockbox.DecisionApprove, Reason: "ok"})
	must(err)
	if req.Status != lockbox.StatusApproved {
		t.Fatalf("request is %s", req.Status)
	}

	// The protected service.
	var mu sync.Mutex
	var seenAuth []string
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seenAuth = append(seenAuth, r.Header.Get("Authorization"))
		mu.Unlock()
		io.WriteString(w, "mail of "+r.PathValue("mailbox")+r.URL.Path)
	}))
	defer upstream.Close()
	routes := filepath.Join(t.TempDir(), "routes.json")
	must(os.WriteFile(routes, []byte(`[{"method":"GET","path":"/tenants/{tenant}/mailboxes/{mailbox}/{rest...}","tenant":"{tenant}","resource":"mailbox:{mailbox}"}]`), 0o600))

	// The engineer's grant token, through the CLI.
	h := newHarness(t)
	h.env["LOCKBOX_SERVER"] = serverURL
	h.env["LOCKBOX_TOKEN"] = engTok.Token
	grant := strings.TrimSpace(h.ok("request", "token", string(req.ID)))
	if strings.Count(grant, ".") != 2 {
		t.Fatalf("lockbox request token printed %q", grant)
	}

	// The gateway, as `lockbox gateway` runs it.
	metrics := prometheus.NewRegistry()
	addrc := make(chan string, 1)
	gwDone := make(chan error, 1)
	go func() {
		gwDone <- runGateway(ctx, io.Discard, gateway.Config{Listen: "127.0.0.1:0", Upstream: upstream.URL, Server: gatewayServer,
			Issuer: serverURL, RoutesFile: routes, APIToken: gwTok.Token, SpoolDir: t.TempDir(), Name: "gw-test",
			Metrics: metrics, SummaryInterval: 100 * time.Millisecond}, "",
			func(addr string) error { addrc <- addr; return nil })
	}()
	var gwURL string
	select {
	case a := <-addrc:
		gwURL = "http://" + a
	case err := <-gwDone:
		t.Fatalf("gateway: %v", err)
	}
	defer func() {
		cancel()
		if err := <-gwDone; err != nil {
			t.Errorf("gateway stopped: %v", err)
		}
	}()
	read := func() (int, string) {
		r, _ := http.NewRequest("GET", gwURL+"/tenants/"+string(tn.ID)+"/mailboxes/alice/inbox", nil)
		r.Header.Set("Authorization", "Bearer "+grant)
		res, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	// Allowed once the gateway synced its feed.
	deadline := time.Now().Add(10 * time.Second)
	status, body := read()
	for status != 200 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
		status, body = read()
	}
	if status != 200 || !strings.Contains(body, "/tenants/"+string(tn.ID)+"/mailboxes/alice/inbox") {
		t.Fatalf("read through the gateway: %d %s", status, body)
	}
	mu.Lock()
	for _, a := range seenAuth {
		if a != "" {
			t.Errorf("the upstream saw Authorization %q", a)
		}
	}
	mu.Unlock()
	// The access is in the tenant's log: the decision at once, the
	// completion soon after.
	waitEvents := func(typ lockbox.EventType) []*lockbox.Event {
		t.Helper()
		for end := time.Now().Add(5 * time.Second); ; {
			evs, err := svc.ListEvents(ctx, admin, lockbox.EventFilter{TenantID: tn.ID, After: -1, Type: typ, Limit: 1000})
			must(err)
			if len(evs) > 0 || time.Now().After(end) {
				return evs
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	if evs := waitEvents("access.allowed"); len(evs) == 0 || evs[0].RequestID != req.ID || evs[0].ActorID != gwUser.ID {
		t.Fatalf("access.allowed events: %+v", evs)
	}
	if evs := waitEvents("access.completed"); len(evs) == 0 {
		t.Fatal("no access.completed event")
	}

	// Issue 13, item 8 (invariant 13): 200 requests without a verified
	// token leave the tenant's log as it was; the gateway refuses each,
	// counts them by reason and summarizes them in the system log.
	countEvents := func(tenant lockbox.TenantID, p *lockbox.Principal) int {
		evs, err := svc.ListEvents(ctx, p, lockbox.EventFilter{TenantID: tenant, After: -1, Limit: 1000})
		must(err)
		return len(evs)
	}
	waitCount := func(tenant lockbox.TenantID, p *lockbox.Principal, want int) int {
		n := countEvents(tenant, p)
		for end := time.Now().Add(5 * time.Second); n < want && time.Now().Before(end); n = countEvents(tenant, p) {
			time.Sleep(50 * time.Millisecond)
		}
		return n
	}
	before := waitCount(tn.ID, admin, 0)
	forged := strings.Join(append(strings.SplitN(grant, ".", 3)[:2], "AAAA"), ".")
	for i := range 200 {
		r, _ := http.NewRequest("GET", gwURL+"/tenants/"+string(tn.ID)+"/mailboxes/alice/inbox", nil)
		switch i % 4 {
		case 1:
			r.Header.Set("Authorization", "Bearer "+forged)
		case 2:
			r.Header.Set("Authorization", "Bearer not-a-token")
		case 3:
			r.URL.Path = "/tenants/" + string(tn.ID) + "/export"
		}
		res, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode != 401 && res.StatusCode != 404 {
			t.Fatalf("anonymous request %d: %d", i, res.StatusCode)
		}
	}
	if status, body := read(); status != 200 { // queued behind them: once its events are in, theirs would be
		t.Fatalf("read after the anonymous requests: %d %s", status, body)
	}
	if after := waitCount(tn.ID, admin, before+2); after != before+2 {
		t.Fatalf("the tenant's log went from %d to %d events for 200 anonymous requests and one read", before, after)
	}
	var unverified float64
	families, err := metrics.Gather()
	must(err)
	for _, f := range families {
		if f.GetName() == "lockbox_gateway_unverified_refusals_total" {
			for _, m := range f.GetMetric() {
				unverified += m.GetCounter().GetValue()
			}
		}
	}
	if unverified != 200 {
		t.Errorf("lockbox_gateway_unverified_refusals_total = %v, want 200", unverified)
	}
	var summarized float64
	for end := time.Now().Add(5 * time.Second); summarized < 200 && time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		evs, err := svc.ListEvents(ctx, op, lockbox.EventFilter{TenantID: lockbox.SystemLog, After: -1, Type: lockbox.EventAccessUnverifiedSummary, Limit: 1000})
		must(err)
		summarized = 0
		for _, e := range evs {
			var d struct{ Total float64 }
			must(json.Unmarshal(e.Data, &d))
			summarized += d.Total
		}
	}
	if summarized != 200 {
		t.Errorf("the system log's summaries count %v anonymous refusals, want 200", summarized)
	}

	// Revoked: the next read is refused within a second.
	if _, err := svc.Revoke(ctx, admin, req.ID, "we are done"); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	for {
		status, body = read()
		if status == 403 {
			break
		}
		if time.Since(start) > time.Second {
			t.Fatalf("still %d %s a second after the revocation", status, body)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !strings.Contains(body, gateway.ReasonEnded) {
		t.Fatalf("refusal: %s", body)
	}
	t.Logf("refused %s after the revocation", time.Since(start))
	if evs := waitEvents("access.refused"); len(evs) == 0 {
		t.Fatal("the refusal is not in the tenant log")
	}
}

func TestGatewayCommandNeedsItsSettings(t *testing.T) {
	h := newHarness(t)
	r := h.run("gateway", "--upstream", "http://127.0.0.1:1", "--server", "http://127.0.0.1:2", "--routes", "routes.json", "--listen", "127.0.0.1:0")
	if r.code == 0 || !strings.Contains(r.stderr, "LOCKBOX_TOKEN") {
		t.Fatalf("without LOCKBOX_TOKEN: %d %q", r.code, r.stderr)
	}
	if r := h.run("gateway", "--server", "http://127.0.0.1:2"); r.code == 0 || !strings.Contains(r.stderr, "upstream") {
		t.Fatalf("without --upstream: %d %q", r.code, r.stderr)
	}
	h.env["LOCKBOX_TOKEN"] = "lbx_t_whatever"
	r = h.run("gateway", "--upstream", "http://127.0.0.1:1", "--server", "http://127.0.0.1:2", "--routes", filepath.Join(t.TempDir(), "missing.json"), "--listen", "127.0.0.1:0")
	if r.code == 0 || !strings.Contains(r.stderr, "missing.json") {
		t.Fatalf("missing routes file: %d %q", r.code, r.stderr)
	}
}

// TestGatewayFailsClosedByDefault (issue 13, item 16): `lockbox gateway`
// refuses every access when its revocation feed has been silent for 30 s
// unless told otherwise, and will not run without such a bound.
func TestGatewayFailsClosedByDefault(t *testing.T) {
	f := gatewayCmd().Flags().Lookup("max-feed-staleness")
	if f == nil || f.DefValue != "30s" {
		t.Fatalf("--max-feed-staleness defaults to %v, want 30s", f)
	}
	h := newHarness(t)
	h.env["LOCKBOX_TOKEN"] = "lbx_t_whatever"
	for _, v := range []string{"0", "-1s"} {
		r := h.run("gateway", "--upstream", "http://127.0.0.1:1", "--server", "http://127.0.0.1:2", "--routes", "routes.json", "--listen", "127.0.0.1:0", "--max-feed-staleness", v)
		if r.code == 0 || !strings.Contains(r.stderr, "--max-feed-staleness must be positive") {
			t.Errorf("--max-feed-staleness %s: %d %q", v, r.code, r.stderr)
		}
	}
	if r := h.run("gateway", "--help"); !strings.Contains(r.stdout, "max-feed-staleness duration") || !strings.Contains(r.stdout, "(default 30s)") {
		t.Errorf("help: %s", r.stdout)
	}
}
