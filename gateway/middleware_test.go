package gateway_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lockbox-dev/lockbox"
	"github.com/lockbox-dev/lockbox/gateway"
	"github.com/lockbox-dev/lockbox/grant"
)

// memorySink stands in for the lead's in-process sink (a service that
// writes access events to the lockbox store directly).
type memorySink struct {
	mu      sync.Mutex
	records []gateway.AccessRecord
}

func (m *memorySink) Ship(_ context.Context, recs []gateway.AccessRecord) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.records = append(m.records, recs...)
	return nil
}

func (m *memorySink) all() []gateway.AccessRecord {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]gateway.AccessRecord(nil), m.records...)
}

// TestMiddleware: a service enforcing in process with its own resolver, the
// server's keyring for verification, the real feed and recorder.
func TestMiddleware(t *testing.T) {
	lb := newLockboxServer(t)
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	verifier, err := grant.NewVerifier(grant.VerifierConfig{Issuer: lb.srv.URL, Keys: lb.ring, Skew: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	feed, err := gateway.NewFeed(gateway.FeedConfig{Server: lb.srv.URL, Token: apiToken, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go feed.Run(ctx)
	waitFor(t, 5*time.Second, "the feed", func() bool { return feed.Ready() == nil })
	sink := &memorySink{}
	rec, err := gateway.NewRecorder(gateway.RecorderConfig{Sink: sink, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Close()

	// The service knows its routes in code: /docs/<id> belongs to the
	// tenant in a header its own authentication set.
	resolver := gateway.ResolverFunc(func(r *http.Request) (gateway.Target, error) {
		id, ok := strings.CutPrefix(r.URL.Path, "/docs/")
		if !ok || id == "" {
			return gateway.Target{}, gateway.ErrNoRoute
		}
		level := lockbox.LevelRead
		if r.Method != http.MethodGet {
			level = lockbox.LevelWrite
		}
		return gateway.Target{Tenant: "ten_acme", Resource: "doc:" + id, Level: level, Route: "docs"}, nil
	})
	var seen struct {
		sync.Mutex
		access *gateway.Access
		auth   string
	}
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a, _ := gateway.FromContext(r.Context())
		seen.Lock()
		seen.access, seen.auth = a, r.Header.Get("Authorization")
		seen.Unlock()
		io.WriteString(w, "document body")
	})
	svc := httptest.NewServer(gateway.Middleware(gateway.MiddlewareConfig{
		Resolver: resolver, Verifier: verifier, Revocations: feed, Recorder: rec, Gateway: "docs-svc", Logger: quiet,
	})(handler))
	defer svc.Close()

	tok := lb.token(grantReq("req_doc", lockbox.LevelRead, "doc:7"))
	if res := do(t, "GET", svc.URL+"/docs/7", tok); res.status != 200 || res.body != "document body" {
		t.Fatalf("allowed: %d %s", res.status, res.body)
	}
	seen.Lock()
	if seen.access == nil || seen.access.Claims.Request != "req_doc" || seen.access.Target.Resource != "doc:7" || seen.auth != "" {
		t.Errorf("handler saw access %+v, Authorization %q", seen.access, seen.auth)
	}
	seen.Unlock()
	if res := do(t, "GET", svc.URL+"/docs/8", tok); res.status != 403 || res.code != gateway.ReasonOutOfScope {
		t.Errorf("out of scope: %d %s", res.status, res.body)
	}
	if res := do(t, "PUT", svc.URL+"/docs/7", tok); res.status != 403 || res.code != gateway.ReasonLevel {
		t.Errorf("level: %d %s", res.status, res.body)
	}
	if res := do(t, "GET", svc.URL+"/other", tok); res.status != 404 || res.code != gateway.ReasonNoRoute {
		t.Errorf("no route: %d %s", res.status, res.body)
	}
	lb.revoke("req_doc")
	waitFor(t, time.Second, "the revocation", func() bool { return do(t, "GET", svc.URL+"/docs/7", tok).code == gateway.ReasonEnded })

	// The revocation loop above may have been allowed a few times before
	// the feed delivered; every allowed access has its completion, every
	// refusal after a verified token its record (the unrouted request is
	// counted, not recorded: TestAnonymousRequestsLeaveNoRecord).
	count := func() (allowed, refused, completed int) {
		for _, r := range sink.all() {
			switch {
			case r.Phase == gateway.PhaseCompleted:
				completed++
				if r.Bytes != int64(len("document body")) || r.Status != 200 {
					t.Errorf("completion %+v", r)
				}
			case r.Decision == gateway.Allowed:
				allowed++
			default:
				refused++
			}
		}
		return
	}
	waitFor(t, 2*time.Second, "the records", func() bool {
		allowed, refused, completed := count()
		return allowed >= 1 && completed == allowed && refused >= 3
	})
}

func TestMiddlewareRequiresEveryCheck(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("a middleware without revocations was built")
		}
	}()
	gateway.Middleware(gateway.MiddlewareConfig{Resolver: gateway.ResolverFunc(nil), Verifier: &grant.Verifier{}, Recorder: &gateway.Recorder{}})
}
