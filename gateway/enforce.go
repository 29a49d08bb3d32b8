package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/lockbox-dev/lockbox"
	"github.com/lockbox-dev/lockbox/grant"
	"github.com/lockbox-dev/lockbox/internal/clientaddr"
)

// TokenVerifier checks a grant token; *grant.Verifier is the implementation.
type TokenVerifier interface {
	Verify(ctx context.Context, token string) (*grant.Claims, error)
}

// MiddlewareConfig configures enforcement, in the gateway and in a service
// using Middleware. Every field but Gateway, Logger, Now and Observe is
// required: there is no "off" for a check.
type MiddlewareConfig struct {
	// Resolver places each request: a *Routes table, or the service's own
	// ResolverFunc.
	Resolver Resolver
	// Verifier checks grant tokens (grant.NewVerifier with grant.RemoteKeys,
	// or with the server's own *grant.Keyring in process).
	Verifier TokenVerifier
	// Revocations is the set of ended requests (a running *Feed).
	Revocations Revocations
	// Recorder makes each access record durable before the access proceeds
	// (a *Recorder).
	Recorder AccessRecorder
	// Gateway names this enforcement point in records.
	Gateway string
	Logger  *slog.Logger
	Now     func() time.Time
	// Observe, if set, sees every record after it is made (metrics), and
	// every refusal that came before a token verified, which is counted
	// rather than recorded (see Unverified).
	Observe func(AccessRecord)
	// SummaryInterval is how often the refusals that came before a token
	// verified are summarized, as one record for the operator's system
	// log and one line in the gateway's own log (0:
	// DefaultSummaryInterval).
	SummaryInterval time.Duration
}

// DefaultSummaryInterval is how often unverified refusals are summarized.
const DefaultSummaryInterval = time.Minute

// Access is an allowed access, available to the protected handler through
// FromContext.
type Access struct {
	// RecordID is the id of the decision record in the tenant's log.
	RecordID string
	Target   Target
	Claims   *grant.Claims
}

type accessKey struct{}

// FromContext returns the access the middleware allowed for this request.
func FromContext(ctx context.Context) (*Access, bool) {
	a, ok := ctx.Value(accessKey{}).(*Access)
	return a, ok
}

// Middleware returns the enforcement point as net/http middleware, for a
// service that enforces in process: every request is placed by the
// resolver, its bearer grant token verified, checked against the ended
// requests, the tenant, the resources and the level, and recorded (durably,
// before the handler runs); refusals answer JSON errors and never reach the
// handler; allowed requests reach it without their Authorization header,
// with the Access in their context, and a completion record follows. The
// gateway's reverse proxy is this same middleware in front of an
// httputil.ReverseProxy.
//
// It panics if a required field is missing: a misconfigured enforcement
// point must not start.
func Middleware(cfg MiddlewareConfig) func(http.Handler) http.Handler {
	e := newEnforcer(cfg)
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { e.serve(w, r, next) })
	}
}

type enforcer struct {
	MiddlewareConfig
	tally refusalTally
}

// refusalTally counts the refusals that came before a token verified, by
// reason, since the last summary.
type refusalTally struct {
	mu     sync.Mutex
	since  time.Time
	counts map[string]int64
}

func newEnforcer(cfg MiddlewareConfig) *enforcer {
	switch {
	case cfg.Resolver == nil:
		panic("gateway: MiddlewareConfig.Resolver is required")
	case cfg.Verifier == nil:
		panic("gateway: MiddlewareConfig.Verifier is required")
	case cfg.Revocations == nil:
		panic("gateway: MiddlewareConfig.Revocations is required")
	case cfg.Recorder == nil:
		panic("gateway: MiddlewareConfig.Recorder is required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.SummaryInterval <= 0 {
		cfg.SummaryInterval = DefaultSummaryInterval
	}
	return &enforcer{MiddlewareConfig: cfg}
}

// refusal is a decision not to let a request through.
type refusal struct {
	status  int
	reason  string
	message string
	// anonymous: no token had verified when the request was refused (set
	// by the function anonymous).
	anonymous bool
}

func (e *enforcer) serve(w http.ResponseWriter, r *http.Request, next http.Handler) {
	start := e.Now()
	rec := AccessRecord{
		ID: lockbox.NewID("acc"), Phase: PhaseDecision, Time: start.UTC(), Gateway: e.Gateway,
		Method: r.Method, Path: truncate(r.URL.EscapedPath(), maxRecordedPath), ClientAddr: clientAddr(r),
	}
	target, claims, ref := e.decide(r, &rec)
	if ref != nil {
		rec.Decision, rec.Reason, rec.Message = Refused, ref.reason, ref.message
		if ref.anonymous {
			// Nothing but what an anonymous client sent: no tenant's log
			// grows for it (invariant 13). Counted, and summarized per
			// interval in the operator's system log.
			rec.TenantID = ""
			e.countUnverified(rec)
			e.observe(rec)
			writeRefusal(w, ref)
			return
		}
		// The refusal does not depend on its record, so the client does not
		// wait for the commit.
		e.Recorder.RecordAsync(rec)
		e.observe(rec)
		writeRefusal(w, ref)
		return
	}
	rec.Decision, rec.Reason = Allowed, ReasonGranted
	if err := e.Recorder.Record(r.Context(), rec); err != nil {
		e.Logger.Error("gateway: cannot record an access: refusing it", "path", rec.Path, "error", err)
		rec.Decision, rec.Reason, rec.Message = Refused, ReasonCannotRecord, "cannot record the access"
		e.observe(rec) // not recorded: that is the problem
		writeRefusal(w, &refusal{http.StatusServiceUnavailable, ReasonCannotRecord,
			"cannot record the access; lockbox refuses accesses it cannot put in the customer's log", false})
		return
	}
	e.observe(rec)

	r2 := r.Clone(context.WithValue(r.Context(), accessKey{}, &Access{RecordID: rec.ID, Target: target, Claims: claims}))
	r2.Header.Del("Authorization")
	StripLockboxHeaders(r2.Header)
	cw := &countingWriter{ResponseWriter: w}
	// The completion is recorded even when the handler panics — as
	// httputil.ReverseProxy does, with http.ErrAbortHandler, when the
	// upstream fails in the middle of a body.
	defer func() {
		p := recover()
		done := rec
		done.ID, done.Phase, done.DecisionID = lockbox.NewID("acc"), PhaseCompleted, rec.ID
		end := e.Now()
		done.Time, done.Reason, done.Status, done.Bytes = end.UTC(), ReasonCompleted, cw.status(), cw.bytes
		done.DurationMS = end.Sub(start).Milliseconds()
		switch {
		case p != nil:
			done.Reason = ReasonAborted
			if cw.code == 0 {
				done.Status = http.StatusInternalServerError
			}
		case cw.reason != "":
			done.Reason = cw.reason
		}
		// Queued, not awaited: the access has happened, and holding the
		// connection for a second commit would halve what a keep-alive
		// connection can carry. It joins the next batch (or the spool).
		e.Recorder.RecordAsync(done)
		e.observe(done)
		if p != nil {
			panic(p)
		}
	}()
	next.ServeHTTP(cw, r2)
}

// countUnverified counts a refusal that came before a token verified and
// summarizes the count when the interval has passed.
func (e *enforcer) countUnverified(rec AccessRecord) {
	e.Logger.Debug("gateway: refused a request without a verified grant token", "reason", rec.Reason,
		"method", rec.Method, "path", rec.Path, "client", rec.ClientAddr)
	now := e.Now()
	e.tally.mu.Lock()
	if len(e.tally.counts) == 0 {
		e.tally.counts, e.tally.since = map[string]int64{}, now
	}
	e.tally.counts[rec.Reason]++
	e.tally.mu.Unlock()
	e.summarize(false)
}

// summarize sends the summary of the unverified refusals counted since the
// last one — when the interval has passed, or now if force — to the
// operator's system log (a record without tenant, phase summary) and to
// the gateway's own log.
func (e *enforcer) summarize(force bool) {
	now := e.Now()
	e.tally.mu.Lock()
	if len(e.tally.counts) == 0 || (!force && now.Sub(e.tally.since) < e.SummaryInterval) {
		e.tally.mu.Unlock()
		return
	}
	counts, since := e.tally.counts, e.tally.since
	e.tally.counts = nil
	e.tally.mu.Unlock()
	var total int64
	args := []any{"since", since.UTC().Format(time.RFC3339)}
	for reason, n := range counts {
		total += n
		args = append(args, reason, n)
	}
	e.Logger.Info("gateway: refused requests without a verified grant token (in no tenant's log)", append(args, "total", total)...)
	s := since.UTC()
	e.Recorder.RecordAsync(AccessRecord{
		ID: lockbox.NewID("acc"), Phase: PhaseSummary, Time: now.UTC(), Since: &s, Gateway: e.Gateway,
		Decision: Refused, Reason: ReasonUnverifiedSummary, Counts: counts, Total: total,
		Message: fmt.Sprintf("%d requests refused before any grant token verified", total),
	})
}

func (e *enforcer) observe(rec AccessRecord) {
	if e.Observe != nil {
		e.Observe(rec)
	}
}

// decide runs the checks in order and fills in rec as it learns. The order
// matters: the route comes first (it says whose log the record belongs in),
// and nothing from the token is trusted before its signature is.
func (e *enforcer) decide(r *http.Request, rec *AccessRecord) (Target, *grant.Claims, *refusal) {
	if msg := nonCanonical(r.URL.Path); msg != "" {
		return Target{}, nil, anonymous(&refusal{http.StatusBadRequest, ReasonNonCanonicalPath, msg, false})
	}
	target, err := e.Resolver.Resolve(r)
	if err != nil {
		msg := "no route covers " + r.Method + " " + truncate(r.URL.EscapedPath(), 200) + "; the gateway refuses what its route table does not name"
		if !errors.Is(err, ErrNoRoute) {
			msg = err.Error()
		}
		return Target{}, nil, anonymous(&refusal{http.StatusNotFound, ReasonNoRoute, msg, false})
	}
	rec.TenantID, rec.Route, rec.Resource, rec.Level = target.Tenant, target.Route, target.Resource, target.Level

	token, ok := bearer(r)
	if !ok {
		return target, nil, anonymous(&refusal{http.StatusUnauthorized, ReasonNoToken, "a grant token is required: send Authorization: Bearer <token> (lockbox request token)", false})
	}
	claims, err := e.Verifier.Verify(r.Context(), token)
	if err != nil {
		return target, nil, anonymous(tokenRefusal(err))
	}
	rec.RequestID, rec.RequesterID, rec.TokenID = claims.Request, claims.Subject, claims.ID

	if err := e.Revocations.Ready(); err != nil {
		return target, nil, &refusal{http.StatusServiceUnavailable, ReasonFeedUnavailable, err.Error() + "; refusing until revocations are known", false}
	}
	if rev, ended := e.Revocations.Ended(claims.Request); ended {
		return target, nil, &refusal{http.StatusForbidden, ReasonEnded,
			fmt.Sprintf("request %s has ended (%s at %s)", claims.Request, orDefault(string(rev.Status), "ended"), rev.EndedAt.UTC().Format(time.RFC3339)), false}
	}
	if claims.Tenant != target.Tenant {
		return target, nil, &refusal{http.StatusForbidden, ReasonWrongTenant,
			fmt.Sprintf("the grant is for tenant %s, this content belongs to tenant %s", claims.Tenant, target.Tenant), false}
	}
	if !claims.HasResource(target.Resource) {
		return target, nil, &refusal{http.StatusForbidden, ReasonOutOfScope,
			fmt.Sprintf("resource %q is not in the grant of request %s", target.Resource, claims.Request), false}
	}
	if !grant.Covers(claims.AccessLevel, target.Level) {
		return target, nil, &refusal{http.StatusForbidden, ReasonLevel,
			fmt.Sprintf("%s %s needs %s access; the grant of request %s is %s", r.Method, target.Route, target.Level, claims.Request, claims.AccessLevel), false}
	}
	return target, claims, nil
}

// StripLockboxHeaders removes every header a client sent that a server
// could read as one of the X-Lockbox-* headers only the gateway sets:
// whatever the case, and with "_" for "-" (CGI, WSGI and others fold
// X_Lockbox_Requester into HTTP_X_LOCKBOX_REQUESTER, the same variable as
// X-Lockbox-Requester).
func StripLockboxHeaders(h http.Header) {
	for k := range h {
		if n := strings.ReplaceAll(strings.ToLower(k), "_", "-"); n == "x-lockbox" || strings.HasPrefix(n, "x-lockbox-") {
			delete(h, k)
		}
	}
}

// anonymous marks a refusal taken before any token verified.
func anonymous(r *refusal) *refusal {
	r.anonymous = true
	return r
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

// tokenRefusal maps a verification error to a refusal.
func tokenRefusal(err error) *refusal {
	for _, m := range []struct {
		err    error
		reason string
	}{
		{grant.ErrKeysUnavailable, ReasonKeysUnavailable},
		{grant.ErrExpired, ReasonExpired},
		{grant.ErrNotYetValid, ReasonNotYetValid},
		{grant.ErrWrongAudience, ReasonWrongAudience},
		{grant.ErrWrongIssuer, ReasonWrongIssuer},
		{grant.ErrUnknownKey, ReasonUnknownKey},
		{grant.ErrBadSignature, ReasonBadSignature},
		{grant.ErrTooLong, ReasonTooLong},
		{grant.ErrMalformed, ReasonMalformed},
	} {
		if errors.Is(err, m.err) {
			status := http.StatusUnauthorized
			if m.reason == ReasonKeysUnavailable {
				status = http.StatusServiceUnavailable
			}
			return &refusal{status: status, reason: m.reason, message: err.Error()}
		}
	}
	return &refusal{status: http.StatusUnauthorized, reason: ReasonMalformed, message: err.Error()}
}

// bearer extracts the token of "Authorization: Bearer <token>" (RFC 6750;
// the scheme is case-insensitive). A request with several Authorization
// headers has none that counts.
func bearer(r *http.Request) (string, bool) {
	h := r.Header.Values("Authorization")
	if len(h) != 1 {
		return "", false
	}
	scheme, token, ok := strings.Cut(h[0], " ")
	token = strings.TrimSpace(token)
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return "", false
	}
	return token, true
}

// nonCanonical explains why a decoded path is refused, or returns "". A path
// that ServeMux and the protected service could read differently — dot
// segments (also percent-encoded ones, which ServeMux does not clean),
// empty segments, backslashes, control characters — could be checked as one
// resource and served as another.
func nonCanonical(p string) string {
	if !strings.HasPrefix(p, "/") {
		return "the path must start with /"
	}
	for _, seg := range strings.Split(p[1:], "/") {
		switch seg {
		case ".", "..":
			return "the path contains a dot segment"
		}
	}
	if strings.Contains(p, "//") {
		return "the path contains an empty segment (//)"
	}
	for _, c := range p {
		if c == '\\' || c < 0x20 || c == 0x7f {
			return "the path contains a backslash or a control character"
		}
	}
	return ""
}

// clientAddr is the address a request came from, recorded with each
// access: the TCP peer (the gateway trusts no forwarding header).
func clientAddr(r *http.Request) string { return clientaddr.Peer(r) }

// writeRefusal answers {"error":{"code","message"}} — never upstream
// content.
func writeRefusal(w http.ResponseWriter, ref *refusal) {
	writeError(w, ref.status, ref.reason, ref.message)
}

func writeError(w http.ResponseWriter, status int, code, message string) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	if status == http.StatusUnauthorized {
		h.Set("WWW-Authenticate", `Bearer realm="lockbox", error="invalid_token"`)
	}
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(lockbox.ErrorBody{Error: lockbox.ErrorDetail{Code: lockbox.ErrorCode(code), Message: message}})
}

// countingWriter captures the status and the body bytes of a response. It
// unwraps for http.ResponseController, so flushing and hijacking (streamed
// responses, protocol upgrades) pass through.
type countingWriter struct {
	http.ResponseWriter
	code   int
	bytes  int64
	reason string // set by the proxy when it answers for a failed upstream
}

func (c *countingWriter) WriteHeader(code int) {
	// 1xx answers are interim, except 101: the connection now belongs to
	// the upgraded protocol.
	if c.code == 0 && (code >= 200 || code == http.StatusSwitchingProtocols) {
		c.code = code
	}
	c.ResponseWriter.WriteHeader(code)
}

func (c *countingWriter) Write(b []byte) (int, error) {
	if c.code == 0 {
		c.code = http.StatusOK
	}
	n, err := c.ResponseWriter.Write(b)
	c.bytes += int64(n)
	return n, err
}

func (c *countingWriter) Flush() {
	_ = http.NewResponseController(c.ResponseWriter).Flush()
}

func (c *countingWriter) Unwrap() http.ResponseWriter { return c.ResponseWriter }

func (c *countingWriter) status() int {
	if c.code == 0 {
		return http.StatusOK
	}
	return c.code
}
