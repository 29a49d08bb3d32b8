package gateway_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lockbox-dev/lockbox"
	"github.com/lockbox-dev/lockbox/gateway"
	"github.com/lockbox-dev/lockbox/grant"
)

// The lockbox server is not wired to the gateway yet (the lead does that),
// so these tests stand up a small httptest server that serves the three
// endpoints of the contract in doc.go from real components: a grant.Keyring
// for the JWKS and tokens, a list of revocations with cursors, and an
// append-only list of access records with id deduplication.

const apiToken = "lbx_gateway_test_token"

type lockboxServer struct {
	t      testing.TB
	srv    *httptest.Server
	ring   *grant.Keyring
	issuer *grant.Issuer

	sinkDown  atomic.Bool
	feedDown  atomic.Bool
	noStream  bool
	sinkDelay time.Duration

	mu        sync.Mutex
	records   []gateway.AccessRecord
	ids       map[string]bool
	shipments int
	revs      []gateway.Revocation
	changed   chan struct{} // closed and replaced on each revocation or cut
}

func newLockboxServer(t testing.TB) *lockboxServer {
	t.Helper()
	ring, err := grant.NewKeyring(time.Now(), 0)
	if err != nil {
		t.Fatal(err)
	}
	s := &lockboxServer{t: t, ring: ring, ids: map[string]bool{}, changed: make(chan struct{})}
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+grant.JWKSPath, func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(ring.JWKS())
	})
	mux.HandleFunc("GET "+gateway.RevocationsPath, s.auth(s.list))
	mux.HandleFunc("GET "+gateway.RevocationsStreamPath, s.auth(s.stream))
	mux.HandleFunc("POST "+gateway.AccessEventsPath, s.auth(s.accessEvents))
	s.srv = httptest.NewServer(mux)
	t.Cleanup(s.srv.Close)
	s.issuer = &grant.Issuer{Keys: ring, URL: s.srv.URL}
	return s
}

func (s *lockboxServer) auth(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+apiToken {
			http.Error(w, `{"error":{"code":"unauthenticated","message":"bad token"}}`, http.StatusUnauthorized)
			return
		}
		h(w, r)
	}
}

func cursorIndex(c string) int {
	n, _ := strconv.Atoi(strings.TrimPrefix(c, "c_"))
	return n
}

func (s *lockboxServer) list(w http.ResponseWriter, r *http.Request) {
	if s.feedDown.Load() {
		http.Error(w, "down", http.StatusServiceUnavailable)
		return
	}
	after := r.URL.Query().Get("after")
	s.mu.Lock()
	items := slices.Clone(s.revs[min(cursorIndex(after), len(s.revs)):])
	head := len(s.revs)
	s.mu.Unlock()
	next := "c_" + strconv.Itoa(head) // the head, when there are no items
	if len(items) > 0 {
		next = items[len(items)-1].Cursor
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(gateway.RevocationPage{Items: items, Next: next})
}

func (s *lockboxServer) stream(w http.ResponseWriter, r *http.Request) {
	if s.noStream {
		http.NotFound(w, r)
		return
	}
	if s.feedDown.Load() {
		http.Error(w, "down", http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	rc.Flush()
	sent := cursorIndex(r.URL.Query().Get("after"))
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		s.mu.Lock()
		items, changed := slices.Clone(s.revs[min(sent, len(s.revs)):]), s.changed
		s.mu.Unlock()
		if s.feedDown.Load() {
			return // cut: the connection drops
		}
		for _, it := range items {
			b, _ := json.Marshal(it)
			fmt.Fprintf(w, "id: %s\nevent: revocation\ndata: %s\n\n", it.Cursor, b)
			sent++
		}
		rc.Flush()
		select {
		case <-r.Context().Done():
			return
		case <-changed:
		case <-tick.C:
			fmt.Fprint(w, ": keepalive\n\n")
			rc.Flush()
		}
	}
}

func (s *lockboxServer) accessEvents(w http.ResponseWriter, r *http.Request) {
	if s.sinkDown.Load() {
		http.Error(w, `{"error":{"code":"internal","message":"database unavailable"}}`, http.StatusServiceUnavailable)
		return
	}
	var body gateway.AccessEventsRequest
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	time.Sleep(s.sinkDelay) // the commit
	s.mu.Lock()
	s.shipments++
	for _, rec := range body.Records {
		if !s.ids[rec.ID] {
			s.ids[rec.ID] = true
			s.records = append(s.records, rec)
		}
	}
	s.mu.Unlock()
	json.NewEncoder(w).Encode(gateway.AccessEventsResponse{Recorded: len(body.Records)})
}

// revoke announces that a request ended.
func (s *lockboxServer) revoke(id lockbox.RequestID) {
	s.mu.Lock()
	s.revs = append(s.revs, gateway.Revocation{RequestID: id, TenantID: "ten_acme", Status: lockbox.StatusRevoked,
		EndedAt: time.Now().UTC(), Cursor: "c_" + strconv.Itoa(len(s.revs)+1)})
	s.bump()
	s.mu.Unlock()
}

func (s *lockboxServer) bump() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// setFeedDown cuts (or restores) the revocation endpoints, open streams
// included.
func (s *lockboxServer) setFeedDown(down bool) {
	s.feedDown.Store(down)
	s.mu.Lock()
	s.bump()
	s.mu.Unlock()
}

func (s *lockboxServer) recorded() []gateway.AccessRecord {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.records)
}

func (s *lockboxServer) has(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ids[id]
}

func (s *lockboxServer) shipmentCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.shipments
}

// grantReq is an approved request of tenant ten_acme.
func grantReq(id lockbox.RequestID, level lockbox.AccessLevel, resources ...string) *lockbox.AccessRequest {
	start := time.Now().Add(-time.Minute)
	end := start.Add(8 * time.Hour)
	return &lockbox.AccessRequest{ID: id, TenantID: "ten_acme", TicketID: "tkt_1", RequesterID: "usr_eng",
		Resources: resources, AccessLevel: level, Status: lockbox.StatusApproved, AccessStartsAt: &start, AccessExpiresAt: &end}
}

func (s *lockboxServer) token(req *lockbox.AccessRequest) string {
	s.t.Helper()
	tok, _, err := s.issuer.Issue(req, time.Now())
	if err != nil {
		s.t.Fatal(err)
	}
	return tok
}

// upstream is the protected service: it echoes what it received.
type upstream struct {
	srv   *httptest.Server
	hits  atomic.Int64
	onHit atomic.Pointer[func(*http.Request)]
}

type echo struct {
	Method  string      `json:"method"`
	Path    string      `json:"path"`
	Header  http.Header `json:"header"`
	Body    string      `json:"body"`
	Content string      `json:"content"`
}

func newUpstream(t testing.TB) *upstream {
	u := &upstream{}
	u.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.hits.Add(1)
		if f := u.onHit.Load(); f != nil {
			(*f)(r)
		}
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(echo{Method: r.Method, Path: r.URL.Path, Header: r.Header, Body: string(b), Content: "SECRET CUSTOMER CONTENT"})
	}))
	t.Cleanup(u.srv.Close)
	return u
}

const testRoutes = `
- method: GET
  path: /tenants/{tenant}/mailboxes/{mailbox}/{rest...}
  tenant: "{tenant}"
  resource: "mailbox:{mailbox}"
- method: POST
  path: /tenants/{tenant}/mailboxes/{mailbox}/{rest...}
  tenant: "{tenant}"
  resource: "mailbox:{mailbox}"
- method: DELETE
  path: /tenants/{tenant}/mailboxes/{mailbox}
  tenant: "{tenant}"
  resource: "mailbox:{mailbox}"
  level: admin
- method: GET
  path: /acme/reports/{report}
  tenant: ten_acme
  resource: "report:{report}"
`

type gw struct {
	url    string
	dir    string
	srv    *gateway.Server
	cancel context.CancelFunc
	done   chan error
}

type gwOption func(*gateway.Config)

// startGateway runs a gateway.Server on a loopback port and waits until its
// feed has synced (unless the feed is down).
func startGateway(t testing.TB, lb *lockboxServer, up *upstream, spoolDir string, opts ...gwOption) *gw {
	t.Helper()
	routesFile := filepath.Join(t.TempDir(), "routes.yaml")
	if err := os.WriteFile(routesFile, []byte(testRoutes), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := gateway.Config{
		Upstream: up.srv.URL, Server: lb.srv.URL, RoutesFile: routesFile, APIToken: apiToken,
		SpoolDir: spoolDir, Name: "gw-test",
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	for _, o := range opts {
		o(&cfg)
	}
	srv, err := gateway.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	g := &gw{url: "http://" + ln.Addr().String(), dir: spoolDir, srv: srv, cancel: cancel, done: make(chan error, 1)}
	go func() { g.done <- srv.Serve(ctx, ln) }()
	t.Cleanup(g.stop)
	if !lb.feedDown.Load() {
		waitFor(t, 5*time.Second, "the feed to sync", func() bool { return srv.Ready() == nil })
	}
	return g
}

func (g *gw) stop() {
	if g.cancel != nil {
		g.cancel()
		<-g.done
		g.cancel = nil
	}
}

func waitFor(t testing.TB, d time.Duration, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

type result struct {
	status int
	code   string // the error code of a refusal
	body   string
	header http.Header
}

func do(t testing.TB, method, url, token string, header ...string) result {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(""))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	r := result{status: resp.StatusCode, body: string(b), header: resp.Header}
	var e lockbox.ErrorBody
	if resp.StatusCode >= 400 && json.Unmarshal(b, &e) == nil {
		r.code = string(e.Error.Code)
	}
	return r
}
