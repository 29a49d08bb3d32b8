package bench

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/lockbox-dev/lockbox"
	"github.com/lockbox-dev/lockbox/app"
	"github.com/lockbox-dev/lockbox/gateway"
)

// proxyClients is the concurrency of the proxy comparison.
const proxyClients = 64

// BenchmarkProxies compares, in one run, on loopback, with the same
// upstream (1 KiB answers) and 64 concurrent clients: (a) the upstream
// direct, (b) a bare httputil.ReverseProxy, (c) oauth2-proxy verifying the
// same grant token from the lockbox server's JWKS (and recording nothing),
// and (d) the lockbox gateway with the token, every access recorded durably
// in the tenant's log on the real server (SQLite) before it proceeds, and
// (e) the gateway recording each access durably in its local spool first. It reports requests per
// second and p50/p99 latency. oauth2-proxy is built from the Go module
// github.com/oauth2-proxy/oauth2-proxy/v7, a tool of the bench/tools module
// (its first build takes a minute).
//
//	go test -run '^$' -bench Proxies -benchtime 20000x ./bench/
func BenchmarkProxies(b *testing.B) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	body := strings.Repeat("x", 1024)
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, body)
	}))
	defer upstream.Close()

	// The lockbox server, with an approved request and its grant token.
	hs := httptest.NewUnstartedServer(nil)
	serverURL := "http://" + hs.Listener.Addr().String()
	const boot = "bootstrap-token-for-the-proxy-bench-0123"
	srv, err := app.New(ctx, app.Config{DataDir: b.TempDir(), BootstrapToken: boot, PublicURL: serverURL, InternalGroup: "-",
		Argon2: &lockbox.Argon2Params{Memory: 1024, Time: 1, Threads: 1}, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	hs.Config.Handler = srv.API
	hs.Start()
	defer hs.Close()
	go srv.Serve(ctx) // background work: key maintenance, sequencer
	token, tenant, gwToken := grantToken(b, ctx, srv.Service)

	path := "/tenants/" + string(tenant) + "/mailboxes/alice/messages"
	targets := map[string]string{"a-direct": upstream.URL}

	// (b) a bare reverse proxy.
	up, _ := url.Parse(upstream.URL)
	rp := httputil.NewSingleHostReverseProxy(up)
	rp.Transport = gateway.UpstreamTransport()
	bare := httptest.NewServer(rp)
	defer bare.Close()
	targets["b-reverseproxy"] = bare.URL

	// (c) oauth2-proxy.
	if u, stop, err := startOAuth2Proxy(b, upstream.URL, serverURL); err != nil {
		b.Logf("oauth2-proxy not measured: %v", err)
	} else {
		defer stop()
		targets["c-oauth2-proxy"] = u
	}

	// (d) the lockbox gateway, each access durable at the server before
	// it proceeds; (e) the same, durable first in its local spool (one
	// fsync per batch) and shipped to the server after.
	routes := filepath.Join(b.TempDir(), "routes.json")
	os.WriteFile(routes, []byte(`[{"method":"GET","path":"/tenants/{tenant}/mailboxes/{mailbox}/{rest...}","tenant":"{tenant}","resource":"mailbox:{mailbox}"}]`), 0o600)
	for name, spoolFirst := range map[string]bool{"d-lockbox-gateway": false, "e-lockbox-gateway-spool-first": true} {
		gw, err := gateway.New(gateway.Config{Listen: "127.0.0.1:0", Upstream: upstream.URL, Server: serverURL, Issuer: serverURL,
			RoutesFile: routes, APIToken: gwToken, SpoolDir: b.TempDir(), SpoolFirst: spoolFirst, Name: name})
		if err != nil {
			b.Fatal(err)
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		go gw.Serve(ctx, ln)
		targets[name] = "http://" + ln.Addr().String()
	}
	defer cancel() // runs first: the gateways let go of the server's streams

	var names []string
	for n := range targets {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		b.Run(name, func(b *testing.B) {
			if !strings.HasPrefix(name, "a-") && !strings.HasPrefix(name, "b-") {
				waitOK(b, targets[name]+path, token)
			}
			rps, p50, p99 := load(b, targets[name]+path, token)
			b.ReportMetric(rps, "req/s")
			b.ReportMetric(float64(p50.Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(p99.Microseconds())/1000, "p99-ms")
		})
	}
}

// grantToken seeds a tenant whose engineer holds approved read access to
// mailbox:alice, and returns the engineer's grant token and a gateway
// account's API token.
func grantToken(b *testing.B, ctx context.Context, svc *lockbox.Service) (token string, tenant lockbox.TenantID, gwToken string) {
	op := bootstrapPrincipal(b, ctx, svc)
	mfa := []string{"pwd", "otp"}
	tn, err := svc.CreateTenant(ctx, op, lockbox.CreateTenantInput{Name: "Proxied"})
	if err != nil {
		b.Fatal(err)
	}
	mk := func(by *lockbox.Principal, in lockbox.CreateUserInput) *lockbox.Principal {
		in.DisplayName = in.Email
		u, err := svc.SeedUser(ctx, by, in, "bench-password-123")
		if err != nil {
			b.Fatal(err)
		}
		return &lockbox.Principal{User: u, AMR: mfa}
	}
	admin := mk(op, lockbox.CreateUserInput{Email: "adm@proxied.example", Kind: lockbox.KindCustomer, TenantID: tn.ID, Roles: []lockbox.Role{lockbox.RoleTenantAdmin}})
	eng := mk(op, lockbox.CreateUserInput{Email: "eng@op.example", Kind: lockbox.KindOperator, Roles: []lockbox.Role{lockbox.RoleEngineer}})
	gw := mk(op, lockbox.CreateUserInput{Email: "gw@op.example", Kind: lockbox.KindOperator, Roles: []lockbox.Role{lockbox.RoleGateway}})
	gt, err := svc.CreateAPIToken(ctx, op, gw.ID(), lockbox.CreateTokenInput{Name: "gateway"})
	if err != nil {
		b.Fatal(err)
	}
	tk, err := svc.CreateTicket(ctx, admin, lockbox.CreateTicketInput{TenantID: tn.ID, Title: "bench", Severity: 2})
	if err != nil {
		b.Fatal(err)
	}
	r, err := svc.CreateRequest(ctx, eng, lockbox.CreateRequestInput{TicketID: tk.ID, Resources: []string{"mailbox:alice"},
		AccessLevel: lockbox.LevelRead, ReasonType: lockbox.ReasonCustomerInitiated, Justification: "bench", Duration: lockbox.Duration(8 * time.Hour)})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := svc.Review(ctx, admin, r.ID, lockbox.ReviewInput{Decision: lockbox.DecisionApprove}); err != nil {
		b.Fatal(err)
	}
	g, err := svc.IssueToken(ctx, eng, r.ID)
	if err != nil {
		b.Fatal(err)
	}
	return g.Token, tn.ID, gt.Token
}

func bootstrapPrincipal(b *testing.B, ctx context.Context, svc *lockbox.Service) *lockbox.Principal {
	op, err := svc.Authenticate(ctx, "bootstrap-token-for-the-proxy-bench-0123")
	if err != nil {
		b.Fatal(err)
	}
	return op
}

// waitOK waits until url answers 200 with the token (feeds synced, keys
// fetched).
func waitOK(b *testing.B, url, token string) {
	deadline := time.Now().Add(20 * time.Second)
	for {
		req, _ := http.NewRequest("GET", url, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		res, err := http.DefaultClient.Do(req)
		if err == nil {
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode == 200 {
				return
			}
			if time.Now().After(deadline) {
				b.Fatalf("%s: %d %s", url, res.StatusCode, body)
			}
		} else if time.Now().After(deadline) {
			b.Fatal(err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// load sends b.N GETs from proxyClients goroutines and returns the rate
// and latency percentiles. Every answer must be 200.
func load(b *testing.B, url, token string) (rps float64, p50, p99 time.Duration) {
	tr := &http.Transport{MaxIdleConnsPerHost: proxyClients, MaxConnsPerHost: proxyClients}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	lat := make([]time.Duration, b.N)
	var next atomic.Int64
	var failed atomic.Value
	var wg sync.WaitGroup
	cpu0 := processCPU()
	b.ResetTimer()
	start := time.Now()
	for range proxyClients {
		wg.Go(func() {
			for {
				i := next.Add(1) - 1
				if i >= int64(b.N) {
					return
				}
				req, _ := http.NewRequest("GET", url, nil)
				req.Header.Set("Authorization", "Bearer "+token)
				t0 := time.Now()
				res, err := client.Do(req)
				if err != nil {
					failed.Store(err.Error())
					return
				}
				io.Copy(io.Discard, res.Body)
				res.Body.Close()
				lat[i] = time.Since(t0)
				if res.StatusCode != 200 {
					failed.Store(fmt.Sprintf("status %d", res.StatusCode))
					return
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64((processCPU()-cpu0).Microseconds())/float64(b.N), "cpu-µs/req")
	if f := failed.Load(); f != nil {
		b.Fatalf("%s: %v", url, f)
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	return float64(b.N) / elapsed.Seconds(), lat[len(lat)/2], lat[len(lat)*99/100]
}

// startOAuth2Proxy runs oauth2-proxy in front of upstream, checking bearer
// grant tokens against the lockbox server's JWKS, with the flags a user
// would give it; login and redeem URLs are placeholders it never uses.
func startOAuth2Proxy(b *testing.B, upstream, serverURL string) (string, func(), error) {
	_, file, _, _ := runtime.Caller(0)
	tools := filepath.Join(filepath.Dir(file), "tools")
	bin := filepath.Join(b.TempDir(), "oauth2-proxy")
	build := exec.Command("go", "build", "-o", bin, "github.com/oauth2-proxy/oauth2-proxy/v7")
	build.Dir = tools
	if out, err := build.CombinedOutput(); err != nil {
		return "", nil, fmt.Errorf("building oauth2-proxy: %v\n%s", err, out)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	addr := ln.Addr().String()
	ln.Close()
	cmd := exec.Command(bin,
		"--http-address", addr,
		"--upstream", upstream,
		"--provider", "oidc",
		"--oidc-issuer-url", serverURL,
		"--skip-oidc-discovery",
		"--oidc-jwks-url", serverURL+"/.well-known/jwks.json",
		"--login-url", serverURL+"/placeholder/login",
		"--redeem-url", serverURL+"/placeholder/redeem",
		"--client-id", "lockbox-gateway",
		"--client-secret", "placeholder-client-secret",
		"--cookie-secret", "0123456789abcdef0123456789abcdef",
		"--oidc-enabled-signing-alg", "EdDSA",
		"--skip-jwt-bearer-tokens",
		"--bearer-token-login-fallback=false",
		"--email-domain", "*",
		"--oidc-email-claim", "sub",
		"--insecure-oidc-allow-unverified-email",
		"--request-logging=false", "--auth-logging=false", "--standard-logging=false",
	)
	out := &strings.Builder{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		return "", nil, err
	}
	stop := func() { cmd.Process.Kill(); cmd.Wait() }
	for end := time.Now().Add(15 * time.Second); ; {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return "http://" + addr, stop, nil
		}
		if time.Now().After(end) {
			stop()
			return "", nil, fmt.Errorf("oauth2-proxy did not start: %s", out.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// processCPU returns the CPU time (user and system) this process has used:
// the clients, the upstream, the proxy under test and, for the lockbox
// gateway, the lockbox server all run in it (oauth2-proxy runs in its own
// process, so its own CPU is not counted).
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
