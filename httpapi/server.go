// Package httpapi serves lockbox's REST API (docs/design.md §4): the handlers, the
// error mapping, authentication, rate limits, metrics and the OpenAPI
// document, which is generated from the same route table the mux serves.
package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/lockbox-dev/lockbox"
	"github.com/lockbox-dev/lockbox/internal/clientaddr"
)

// MaxBodyBytes bounds every request body.
const MaxBodyBytes = 1 << 20

// Server is the API's http.Handler.
type Server struct {
	svc     *lockbox.Service
	logger  *slog.Logger
	metrics *Metrics
	addr    clientaddr.Resolver
	mux     *http.ServeMux
	routes  []route
	openapi []byte
	log     http.Handler
	jwks    http.Handler
	// closing ends the long-lived revocation streams when the server
	// shuts down (http.Server.Shutdown waits for them otherwise).
	closing   chan struct{}
	closeOnce sync.Once
}

// CloseStreams ends every open revocation stream (the gateways reconnect,
// to another replica or to this one once it is back). Register it with
// http.Server.RegisterOnShutdown.
func (s *Server) CloseStreams() { s.closeOnce.Do(func() { close(s.closing) }) }

// Options configure a Server.
type Options struct {
	Logger  *slog.Logger
	Metrics *Metrics // default NewMetrics()
	// ClientAddr resolves the address a request came from (trusted
	// proxies considered); the service's sign-in throttle keys on it. The
	// zero value takes the TCP peer.
	ClientAddr clientaddr.Resolver
	Version    string
	// Log serves the transparency log endpoints (a *tlog.Handler); the API
	// authenticates and authorises before handing a call to it.
	Log http.Handler
	// JWKS serves the grant tokens' public keys (grant.JWKSHandler) at
	// GET /.well-known/jwks.json.
	JWKS http.Handler
}

// New returns the API handler for the service.
func New(svc *lockbox.Service, o Options) *Server {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Metrics == nil {
		o.Metrics = NewMetrics()
	}
	s := &Server{svc: svc, logger: o.Logger, metrics: o.Metrics, mux: http.NewServeMux(), log: o.Log, jwks: o.JWKS, closing: make(chan struct{}),
		addr: o.ClientAddr}
	s.routes = s.apiRoutes()
	for _, rt := range s.routes {
		s.mux.Handle(rt.Method+" "+rt.Path, s.wrap(rt))
	}
	doc, err := json.MarshalIndent(openAPIDocument(s.routes, o.Version), "", "  ")
	if err != nil {
		panic(err)
	}
	s.openapi = doc
	s.mux.HandleFunc("GET /v1/openapi.json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(s.openapi)
	})
	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	s.mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := svc.Store().Ping(ctx); err != nil {
			s.logger.Error("readiness check failed", "err", err)
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "database unavailable"})
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
	})
	s.mux.Handle("GET /metrics", o.Metrics.Handler())
	known := knownPaths(s.routes)
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if _, pattern := known.Handler(r); pattern != "" {
			// The path is an endpoint; the method is not one of its own.
			known.ServeHTTP(w, r)
			return
		}
		writeError(w, lockbox.Errorf(lockbox.CodeNotFound, "no such endpoint: %s %s (see GET /v1/openapi.json)", r.Method, r.URL.Path))
	})
	return s
}

// knownPaths answers 405 Method Not Allowed, with an Allow header, for the
// path of every route: the catch-all consults it so that a wrong method on
// a known path is told so rather than "no such endpoint".
func knownPaths(routes []route) *http.ServeMux {
	methods := map[string][]string{}
	var order []string
	for _, rt := range routes {
		if _, ok := methods[rt.Path]; !ok {
			order = append(order, rt.Path)
		}
		methods[rt.Path] = append(methods[rt.Path], rt.Method)
	}
	mux := http.NewServeMux()
	for _, path := range order {
		allow := methods[path]
		if slices.Contains(allow, http.MethodGet) {
			allow = append(allow, http.MethodHead)
		}
		allowed := strings.Join(allow, ", ")
		mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Allow", allowed)
			writeJSON(w, http.StatusMethodNotAllowed, lockbox.ErrorBody{Error: lockbox.ErrorDetail{
				Code:    "method_not_allowed",
				Message: fmt.Sprintf("%s is not allowed on %s: use %s (see GET /v1/openapi.json)", r.Method, r.URL.Path, allowed),
			}})
		})
	}
	return mux
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
	s.mux.ServeHTTP(w, r)
}

// OpenAPI returns the OpenAPI document served at /v1/openapi.json.
func (s *Server) OpenAPI() []byte { return s.openapi }

// call is one API call being handled.
type call struct {
	ctx     context.Context
	r       *http.Request
	p       *lockbox.Principal
	allowed map[string]bool
}

// path returns a path wildcard.
func (c *call) path(name string) string { return c.r.PathValue(name) }

// query returns a declared query parameter; reading an undeclared one is a
// programming error, which keeps the OpenAPI document honest.
func (c *call) query(name string) string {
	if !c.allowed[name] {
		panic("httpapi: query parameter " + name + " is not declared for " + c.r.Pattern)
	}
	return c.r.URL.Query().Get(name)
}

// page reads page_size and page_token.
func (c *call) page() (lockbox.Page, error) {
	p := lockbox.Page{Token: c.query("page_token")}
	if v := c.query("page_size"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return p, lockbox.Errorf(lockbox.CodeBadRequest, "page_size must be an integer")
		}
		if n < 1 || n > lockbox.MaxPageSize {
			return p, lockbox.Errorf(lockbox.CodeInvalid, "page_size must be between 1 and %d", lockbox.MaxPageSize)
		}
		p.Size = n
	}
	return p, nil
}

// wrap turns a route into a handler: authentication, strict decoding of the
// body and the query, the call, and the answer.
func (s *Server) wrap(rt route) http.Handler {
	allowed := map[string]bool{}
	for _, q := range rt.Query {
		allowed[q.Name] = true
	}
	return s.metrics.instrument(rt.Path, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		c := &call{ctx: lockbox.WithClientAddr(r.Context(), s.addr.Addr(r)), r: r, allowed: allowed}
		status, err := s.serve(w, c, rt)
		if err != nil {
			status = writeError(w, err)
		}
		attrs := []any{"method", r.Method, "route", rt.Path, "status", status, "duration", time.Since(start)}
		if c.p != nil {
			attrs = append(attrs, "user", c.p.ID())
		}
		if status >= 500 {
			s.logger.Error("request failed", append(attrs, "err", err)...)
		} else {
			s.logger.Info("request", attrs...)
		}
	}))
}

func (s *Server) serve(w http.ResponseWriter, c *call, rt route) (status int, err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("panic: %v", v)
		}
	}()
	for name := range c.r.URL.Query() {
		if !c.allowed[name] {
			return 0, lockbox.Errorf(lockbox.CodeBadRequest, "unknown query parameter %q", name)
		}
	}
	if !rt.Public {
		p, err := s.authenticate(c.r)
		if err != nil {
			return 0, err
		}
		c.p = p
	}
	if rt.rawCall != nil {
		if err := rt.authorize(c); err != nil {
			return 0, err
		}
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		rt.rawCall(c)(rec, c.r)
		return rec.status, nil
	}
	if rt.raw != nil {
		authorize := rt.authorize
		if authorize == nil {
			authorize = func(c *call) error { return s.svc.AuthorizeLogRead(c.ctx, c.p, lockbox.TenantID(c.path("id"))) }
		}
		if err := authorize(c); err != nil {
			return 0, err
		}
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		rt.raw.ServeHTTP(rec, c.r)
		return rec.status, nil
	}
	out, err := rt.handle(c, c.r.Body)
	if err != nil {
		return 0, err
	}
	if rt.Status == http.StatusNoContent {
		w.WriteHeader(http.StatusNoContent)
		return http.StatusNoContent, nil
	}
	writeJSON(w, rt.Status, out)
	return rt.Status, nil
}

func (s *Server) authenticate(r *http.Request) (*lockbox.Principal, error) {
	h := r.Header.Get("Authorization")
	scheme, token, ok := strings.Cut(h, " ")
	if h == "" || !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return nil, lockbox.Errorf(lockbox.CodeUnauthenticated, "send Authorization: Bearer <token> (sign in with POST /v1/auth/login)")
	}
	return s.svc.Authenticate(r.Context(), strings.TrimSpace(token))
}

// decode reads a JSON body strictly: unknown fields, trailing data and wrong
// types are 400 with a message naming the problem. An empty body decodes as
// {} so actions without fields need no body.
func decode(body io.Reader, dst any) error {
	b, err := io.ReadAll(io.LimitReader(body, MaxBodyBytes+1))
	if err != nil {
		return lockbox.Errorf(lockbox.CodeBadRequest, "reading the body: %v", err)
	}
	if len(b) > MaxBodyBytes {
		return lockbox.Errorf(lockbox.CodeBadRequest, "the body is larger than %d bytes", MaxBodyBytes)
	}
	trimmed := strings.TrimSpace(string(b))
	if trimmed == "" {
		trimmed = "{}"
	}
	if trimmed[0] != '{' {
		return lockbox.Errorf(lockbox.CodeBadRequest, "invalid JSON body: expected an object")
	}
	b = []byte(trimmed)
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return lockbox.Errorf(lockbox.CodeBadRequest, "invalid JSON body: %s", describeJSONError(err))
	}
	if dec.More() {
		return lockbox.Errorf(lockbox.CodeBadRequest, "invalid JSON body: unexpected data after the object")
	}
	return nil
}

func describeJSONError(err error) string {
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &te):
		if te.Field != "" {
			return fmt.Sprintf("field %q must be %s, not %s", te.Field, jsonKind(te.Type), te.Value)
		}
		return fmt.Sprintf("expected %s, not %s", jsonKind(te.Type), te.Value)
	case errors.As(err, &se):
		return fmt.Sprintf("syntax error at byte %d: %v", se.Offset, se)
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return "the JSON ends too early"
	}
	msg := err.Error()
	msg = strings.TrimPrefix(msg, "json: ")
	return msg
}

func jsonKind(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Int, reflect.Int64, reflect.Int32, reflect.Uint, reflect.Uint8, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float64, reflect.Float32:
		return "a number"
	case reflect.Bool:
		return "true or false"
	case reflect.Slice, reflect.Array:
		return "a list"
	case reflect.Struct, reflect.Map:
		return "an object"
	case reflect.Pointer:
		return jsonKind(t.Elem())
	}
	return t.String()
}

// statusOf maps a domain error code to its HTTP status (one table, in the
// root package, shared with the client).
func statusOf(code lockbox.ErrorCode) int { return code.HTTPStatus() }

// writeError answers an error. Internal errors say nothing of their cause.
func writeError(w http.ResponseWriter, err error) int {
	var e *lockbox.Error
	body := lockbox.ErrorDetail{Code: lockbox.CodeInternal, Message: "internal error: the server logged the cause"}
	if errors.As(err, &e) {
		body = lockbox.ErrorDetail{Code: e.Code, Message: e.Message, Details: e.Details}
	} else if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		body = lockbox.ErrorDetail{Code: lockbox.CodeInternal, Message: "the request was canceled or timed out"}
	}
	status := statusOf(body.Code)
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="lockbox"`)
	}
	writeJSON(w, status, lockbox.ErrorBody{Error: body})
	return status
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	_ = enc.Encode(v)
}
