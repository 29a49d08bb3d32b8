package app

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/lockbox-dev/lockbox"
	"github.com/lockbox-dev/lockbox/internal/clientaddr"
	"github.com/lockbox-dev/lockbox/tlog"
	"github.com/lockbox-dev/lockbox/web"
)

// newPortal builds the HTML portal on the service, with the tenant logs'
// checkpoints.
func newPortal(svc *lockbox.Service, c Config, logs *tlog.Handler, addrs clientaddr.Resolver) (*web.Handler, error) {
	return web.New(svc, web.Options{
		Logger:     c.Logger,
		ClientAddr: addrs,
		PublicURL:  c.publicURL(),
		GatewayURL: strings.TrimRight(c.GatewayURL, "/"),
		VerifyLog:  verifyLog(logs),
		Checkpoint: func(ctx context.Context, t lockbox.TenantID) ([]byte, error) {
			head, err := logs.Storage.TreeHead(ctx, string(t))
			if err != nil {
				return nil, err
			}
			if head.Size == 0 && head.Root == nil {
				head.Root = tlog.EmptyRoot()
			}
			return tlog.SignCheckpoint(logs.Signer, tlog.CheckpointOrigin(logs.Signer.Name(), string(t)), head)
		},
	})
}

// checkGatewayURL checks --gateway-url: empty, or an absolute http(s) URL
// engineers can paste into curl.
func checkGatewayURL(s string) error {
	if s == "" {
		return nil
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("--gateway-url %q: want the gateway's address as http://host[:port] or https://host[:port], optionally with a path, such as https://gateway.example.com", s)
	}
	return nil
}

// Handler is what the server serves: the API at its paths (/v1/,
// /.well-known/, /healthz, /readyz, /metrics) and the portal at every
// other path.
func (s *Server) Handler() http.Handler {
	if s.Web == nil {
		return s.API
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if isAPIPath(r.URL.Path) {
			s.API.ServeHTTP(w, r)
			return
		}
		s.Web.ServeHTTP(w, r)
	})
}

// isAPIPath reports whether the API owns a path.
func isAPIPath(p string) bool {
	switch p {
	case "/v1", "/healthz", "/readyz", "/metrics":
		return true
	}
	return strings.HasPrefix(p, "/v1/") || strings.HasPrefix(p, "/.well-known/")
}

// verifyLog checks a tenant's log as `lockbox log verify` would, reading
// it through the log endpoints' handler in process.
func verifyLog(logs *tlog.Handler) func(ctx context.Context, t lockbox.TenantID) (web.LogCheck, error) {
	return func(ctx context.Context, t lockbox.TenantID) (web.LogCheck, error) {
		verifier, err := tlog.NewVerifier(logs.VerifierKey)
		if err != nil {
			return web.LogCheck{}, err
		}
		f := &tlog.HTTPFetcher{BaseURL: "http://lockbox.internal", Tenant: string(t), Client: &http.Client{Transport: handlerTransport{logs}}}
		rep, err := tlog.Verify(ctx, f, verifier, tlog.CheckpointOrigin(logs.Signer.Name(), string(t)), nil)
		if err != nil {
			return web.LogCheck{}, err
		}
		return web.LogCheck{Size: rep.NewSize, Root: base64.StdEncoding.EncodeToString(rep.Root),
			Entries: rep.EntriesChecked, Key: tlog.KeyID(verifier)}, nil
	}
}

// handlerTransport answers HTTP requests with a handler, in process.
type handlerTransport struct{ h http.Handler }

func (t handlerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	rec := &recorder{header: http.Header{}}
	t.h.ServeHTTP(rec, req)
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	return &http.Response{
		Status: fmt.Sprintf("%d %s", rec.status, http.StatusText(rec.status)), StatusCode: rec.status,
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1, Header: rec.header,
		Body: io.NopCloser(&rec.body), ContentLength: int64(rec.body.Len()), Request: req,
	}, nil
}

// recorder is the http.ResponseWriter of handlerTransport.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }

func (r *recorder) WriteHeader(status int) {
	if r.status == 0 {
		r.status = status
	}
}

func (r *recorder) Write(b []byte) (int, error) {
	r.WriteHeader(http.StatusOK)
	return r.body.Write(b)
}
