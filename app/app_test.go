package app_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/lockbox-dev/lockbox"
	"github.com/lockbox-dev/lockbox/app"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// start runs a server until the test ends and returns it.
func start(t *testing.T, c app.Config) *app.Server {
	t.Helper()
	c.Addr = "127.0.0.1:0"
	if c.DataDir == "" {
		c.DataDir = t.TempDir()
	}
	srv, err := app.New(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Listen(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- srv.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve after shutdown: %v", err)
		}
		srv.Close()
	})
	return srv
}

// TestSweeperAppliesDeadlines checks that the background sweeper expires a
// pending request with nobody reading it: the expiry is in the tenant's log.
func TestSweeperAppliesDeadlines(t *testing.T) {
	clk := &clock{t: time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)}
	srv := start(t, app.Config{Clock: clk.now, SweepInterval: 20 * time.Millisecond, BootstrapToken: "bootstrap-token-0123456789abcdef",
		Argon2: &lockbox.Argon2Params{Memory: 1024, Time: 1, Threads: 1}})
	ctx := context.Background()
	svc := srv.Service
	op, err := svc.Authenticate(ctx, "bootstrap-token-0123456789abcdef")
	if err != nil {
		t.Fatal(err)
	}
	tn, _ := svc.CreateTenant(ctx, op, lockbox.CreateTenantInput{Name: "T"})
	eng, err := svc.SeedUser(ctx, op, lockbox.CreateUserInput{Email: "e@x.example", DisplayName: "e", Kind: lockbox.KindOperator, Roles: []lockbox.Role{lockbox.RoleEngineer}}, "password-123456")
	if err != nil {
		t.Fatal(err)
	}
	engP := &lockbox.Principal{User: eng, AMR: []string{"pwd", "otp"}}
	tk, err := svc.CreateTicket(ctx, engP, lockbox.CreateTicketInput{TenantID: tn.ID, Title: "t", Severity: 3})
	if err != nil {
		t.Fatal(err)
	}
	r, err := svc.CreateRequest(ctx, engP, lockbox.CreateRequestInput{TicketID: tk.ID, Resources: []string{"db:1"}, AccessLevel: lockbox.LevelRead,
		ReasonType: lockbox.ReasonIncident, Justification: "x", Duration: lockbox.Duration(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	clk.advance(13 * time.Hour) // past the 12h decision deadline
	deadline := time.Now().Add(10 * time.Second)
	for {
		var events []*lockbox.Event
		_ = svc.Store().View(ctx, func(rd lockbox.Reader) error {
			events, err = rd.ListEvents(ctx, lockbox.EventFilter{TenantID: tn.ID, After: -1, RequestID: r.ID, Type: lockbox.EventRequestExpired})
			return err
		})
		if len(events) == 1 {
			break
		}
		if len(events) > 1 || time.Now().After(deadline) {
			t.Fatalf("%d request.expired events after 10s of sweeping", len(events))
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond) // several more sweeps: still one event
	var n int
	_ = svc.Store().View(ctx, func(rd lockbox.Reader) error {
		events, err := rd.ListEvents(ctx, lockbox.EventFilter{TenantID: tn.ID, After: -1, RequestID: r.ID, Type: lockbox.EventRequestExpired})
		n = len(events)
		return err
	})
	if n != 1 {
		t.Fatalf("%d request.expired events, want exactly 1", n)
	}
}

func TestServesHTTPAndTLSAndStopsCleanly(t *testing.T) {
	srv := start(t, app.Config{})
	res, err := http.Get(srv.URL() + "/readyz")
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("readyz: %v %v", res, err)
	}
	res.Body.Close()

	dir := t.TempDir()
	cert, key := selfSigned(t, dir)
	tsrv := start(t, app.Config{TLSCert: cert, TLSKey: key})
	pool := x509.NewCertPool()
	pem, _ := os.ReadFile(cert)
	pool.AppendCertsFromPEM(pem)
	cl := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	res, err = cl.Get(tsrv.URL() + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || res.TLS == nil {
		t.Fatalf("healthz over TLS: %d %s", res.StatusCode, b)
	}
	// Plain HTTP to the TLS listener is not served.
	if res, err := http.Get("http://" + tsrv.URL()[len("https://"):] + "/healthz"); err == nil && res.StatusCode == 200 {
		t.Fatal("the TLS server answered plain HTTP")
	}
}

func TestBadConfigurationIsRefused(t *testing.T) {
	for name, c := range map[string]app.Config{
		"no data dir":          {},
		"cert without key":     {DataDir: t.TempDir(), TLSCert: "x.pem"},
		"unreachable postgres": {DataDir: t.TempDir(), DatabaseURL: "postgres://postgres@127.0.0.1:1/x?connect_timeout=2"},
		"short bootstrap":      {DataDir: t.TempDir(), BootstrapToken: "short"},
		"file as a data dir":   {DataDir: "/dev/null/x"},
	} {
		if _, err := app.New(context.Background(), c); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func selfSigned(t *testing.T, dir string) (certFile, keyFile string) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(k)
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
	return certFile, keyFile
}
