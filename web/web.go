// Package web is lockbox's HTML portal: the customer's approval pages (the
// "lockbox blade") and the operator's console. Pages are rendered on the
// server with html/template; templates, CSS and the one small script are
// embedded, so the portal needs nothing but the binary.
//
// Every page is a plain form-and-link page: actions are POSTed and answered
// with a redirect and a flash message (POST-redirect-GET). Sessions are the
// service's own sign-in sessions, kept in an HttpOnly, SameSite=Lax cookie;
// unsafe methods pass net/http's cross-origin protection first.
package web

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/lockbox-dev/lockbox"
	"github.com/lockbox-dev/lockbox/internal/clientaddr"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Options configure the portal. Every field has a usable zero value.
type Options struct {
	Logger *slog.Logger
	// Checkpoint returns the current signed checkpoint of a tenant's log
	// (the note served by /v1/tenants/{id}/log/checkpoint). Nil hides the
	// checkpoint on the log page.
	Checkpoint func(ctx context.Context, tenant lockbox.TenantID) ([]byte, error)
	// VerifyLog checks a tenant's log end to end against its signed
	// checkpoint (signature, every entry, the root), on the log page's
	// "Verify now". Nil hides the button.
	VerifyLog func(ctx context.Context, tenant lockbox.TenantID) (LogCheck, error)
	// PublicURL is the server's URL, shown in the grant token's curl
	// example (the JWKS issuer). When it is https, the portal takes every
	// request as sent over HTTPS (TLS ended at a proxy in front): cookies
	// are Secure and HSTS is sent even on plain HTTP.
	PublicURL string
	// GatewayURL is where engineers send grant tokens, shown in the curl
	// example; empty shows a placeholder.
	GatewayURL string
	// ClientAddr resolves the address a request came from (trusted
	// proxies considered), which the service's sign-in throttle keys on.
	// The zero value takes the TCP peer.
	ClientAddr clientaddr.Resolver
	// PageSize is how many rows the history and ticket lists show per page
	// (default 100); older rows are a link away.
	PageSize int
}

// LogCheck is what a successful verification of a tenant log checked.
type LogCheck struct {
	Size    uint64 // entries under the verified checkpoint
	Root    string // its root hash, base64
	Entries uint64 // entries fetched and checked
	Key     string // the id of the key that signed the checkpoint
}

// Handler serves the portal.
type Handler struct {
	svc      *lockbox.Service
	opts     Options
	log      *slog.Logger
	pages    map[string]*template.Template
	mux      *http.ServeMux
	root     http.Handler
	httpsURL bool // the public URL is https
}

// New returns the portal's handler, which serves every path it is given.
// Mount it at "/" beside the API.
func New(svc *lockbox.Service, opts Options) (*Handler, error) {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.PageSize <= 0 || opts.PageSize > lockbox.MaxPageSize {
		opts.PageSize = 100
	}
	h := &Handler{
		svc: svc, opts: opts, log: opts.Logger, mux: http.NewServeMux(),
		httpsURL: strings.HasPrefix(strings.ToLower(opts.PublicURL), "https://"),
	}
	var err error
	if h.pages, err = parsePages(); err != nil {
		return nil, err
	}
	h.routes()
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(h.crossOrigin))
	h.root = securityHeaders(cop.Handler(h.mux))
	return h, nil
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	r = r.WithContext(lockbox.WithClientAddr(r.Context(), h.opts.ClientAddr.Addr(r)))
	if h.httpsURL {
		r = r.WithContext(context.WithValue(r.Context(), httpsKey{}, true))
	}
	h.root.ServeHTTP(w, r)
}

// httpsKey marks a request the browser sent over HTTPS although it arrived
// here in plain HTTP: the public URL is https, so TLS ends at a proxy.
type httpsKey struct{}

// overTLS reports whether the browser reached the portal over HTTPS: then
// cookies are Secure and HSTS is sent.
func overTLS(r *http.Request) bool {
	https, _ := r.Context().Value(httpsKey{}).(bool)
	return r.TLS != nil || https
}

// csp is the Content-Security-Policy of every answer: nothing inline,
// nothing from elsewhere, no framing, forms post only here.
const csp = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'"

// securityHeaders sets the headers every answer carries.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", csp)
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Referrer-Policy", "same-origin")
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("Cross-Origin-Opener-Policy", "same-origin")
		if overTLS(r) {
			hd.Set("Strict-Transport-Security", "max-age=31536000")
		}
		next.ServeHTTP(w, r)
	})
}

// crossOrigin answers a request refused by the cross-origin protection.
func (h *Handler) crossOrigin(w http.ResponseWriter, r *http.Request) {
	h.render(w, r, nil, http.StatusForbidden, "error", &errorView{
		Title:   "Refused: cross-site form",
		Message: "This form was sent from another site, so it was refused.",
		Hint:    "Open the portal directly (type its address or use a bookmark) and submit the form from there.",
	})
}

// parsePages parses each page template together with the layout.
func parsePages() (map[string]*template.Template, error) {
	layout, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/partials.html")
	if err != nil {
		return nil, err
	}
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	pages := map[string]*template.Template{}
	for _, n := range names {
		base := strings.TrimSuffix(strings.TrimPrefix(n, "templates/"), ".html")
		if base == "layout" || base == "partials" {
			continue
		}
		t, err := template.Must(layout.Clone()).ParseFS(templateFS, n)
		if err != nil {
			return nil, fmt.Errorf("template %s: %w", n, err)
		}
		pages[base] = t
	}
	return pages, nil
}

// session is the signed-in caller of one request.
type session struct {
	P      *lockbox.Principal
	Tenant *lockbox.Tenant // customers: their tenant
	token  string
}

// U is the signed-in user.
func (s *session) U() *lockbox.User { return s.P.User }

// Customer reports whether the user is a customer user.
func (s *session) Customer() bool { return s.P.User.Kind == lockbox.KindCustomer }

// Approver reports whether the customer may decide its tenant's requests.
func (s *session) Approver() bool { return s.Customer() && s.P.User.IsApproverOf(s.P.User.TenantID) }

// TenantAdmin reports whether the customer administers its tenant.
func (s *session) TenantAdmin() bool {
	return s.Customer() && s.P.User.IsTenantAdminOf(s.P.User.TenantID)
}

// Operator reports whether the user is operator staff.
func (s *session) Operator() bool { return s.P.User.IsOperator() }

// OperatorAdmin reports whether the user is an operator admin.
func (s *session) OperatorAdmin() bool { return s.P.User.IsOperatorAdmin() }

// Engineer reports whether the operator may request access.
func (s *session) Engineer() bool {
	return s.P.User.IsOperator() && s.P.User.HasRole(lockbox.RoleEngineer)
}

// MFA reports whether the session was signed in with a one-time code.
func (s *session) MFA() bool { return s.P.MFA() }

// RoleNames lists the user's roles for the header.
func (s *session) RoleNames() string {
	var out []string
	for _, r := range s.P.User.Roles {
		out = append(out, roleLabel(r))
	}
	return strings.Join(out, ", ")
}

const sessionCookie = "lockbox_session"
const flashCookie = "lockbox_flash"

// setSessionCookie stores the session token: HttpOnly, SameSite=Lax, Secure
// over TLS (or behind a TLS proxy, when the public URL is https), expiring
// with the session.
func setSessionCookie(w http.ResponseWriter, r *http.Request, token string, exp time.Time) {
	http.SetCookie(w, &http.Cookie{
		Name: sessionCookie, Value: token, Path: "/", Expires: exp,
		HttpOnly: true, Secure: overTLS(r), SameSite: http.SameSiteLaxMode,
	})
}

func clearCookie(w http.ResponseWriter, r *http.Request, name string) {
	http.SetCookie(w, &http.Cookie{
		Name: name, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: overTLS(r), SameSite: http.SameSiteLaxMode,
	})
}

// current resolves the session cookie to the signed-in caller, or nil.
func (h *Handler) current(r *http.Request) *session {
	c, err := r.Cookie(sessionCookie)
	if err != nil || c.Value == "" || !strings.HasPrefix(c.Value, lockbox.SessionPrefix) {
		return nil
	}
	p, err := h.svc.Authenticate(r.Context(), c.Value)
	if err != nil {
		return nil
	}
	s := &session{P: p, token: c.Value}
	if p.User.Kind == lockbox.KindCustomer {
		if t, err := h.svc.GetTenant(r.Context(), p, p.User.TenantID); err == nil {
			s.Tenant = t
		}
	}
	return s
}

// page wraps a handler that needs a signed-in user: without one it sends
// the browser to the sign-in page and back.
func (h *Handler) page(fn func(w http.ResponseWriter, r *http.Request, s *session)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s := h.current(r)
		if s == nil {
			if _, err := r.Cookie(sessionCookie); err == nil {
				clearCookie(w, r, sessionCookie)
				setFlash(w, r, "error", "Your session ended: sign in again.")
			}
			next := "/"
			if r.Method == http.MethodGet {
				next = r.URL.RequestURI()
			}
			http.Redirect(w, r, "/signin?next="+url.QueryEscape(next), http.StatusSeeOther)
			return
		}
		if s.U().Kind == lockbox.KindOperator && !s.Operator() {
			h.render(w, r, s, http.StatusForbidden, "error", &errorView{Title: "Not for service accounts",
				Message: "This account is a gateway service account: it has no portal.",
				Hint:    "Sign in with a person's account."})
			return
		}
		fn(w, r, s)
	}
}

// flash is a one-time message shown on the next page.
type flash struct {
	Kind    string // "ok" or "error"
	Message string
}

func setFlash(w http.ResponseWriter, r *http.Request, kind, msg string) {
	http.SetCookie(w, &http.Cookie{
		Name: flashCookie, Value: url.QueryEscape(kind + ":" + msg), Path: "/", MaxAge: 60,
		HttpOnly: true, Secure: overTLS(r), SameSite: http.SameSiteLaxMode,
	})
}

func takeFlash(w http.ResponseWriter, r *http.Request) *flash {
	c, err := r.Cookie(flashCookie)
	if err != nil {
		return nil
	}
	clearCookie(w, r, flashCookie)
	v, err := url.QueryUnescape(c.Value)
	if err != nil {
		return nil
	}
	kind, msg, ok := strings.Cut(v, ":")
	if !ok || (kind != "ok" && kind != "error") || msg == "" || len(msg) > 500 {
		return nil
	}
	return &flash{Kind: kind, Message: msg}
}

// done confirms an action: a flash message, then a redirect (PRG).
func (h *Handler) done(w http.ResponseWriter, r *http.Request, to, msg string) {
	setFlash(w, r, "ok", msg)
	http.Redirect(w, r, to, http.StatusSeeOther)
}

// view is what every page template receives.
type view struct {
	Title string
	S     *session
	Flash *flash
	Nav   string
	Data  any
	Now   time.Time
}

// errorView describes a failure: what happened and what to do.
type errorView struct {
	Title   string
	Message string
	Details []string
	Hint    string
	Back    string
}

// render writes a page. It never caches: pages show live state and, on the
// TOTP page, a secret.
func (h *Handler) render(w http.ResponseWriter, r *http.Request, s *session, status int, page string, data any) {
	t, ok := h.pages[page]
	if !ok {
		h.log.Error("web: no such page template", "page", page)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	v := &view{S: s, Flash: takeFlash(w, r), Data: data, Now: h.svc.Now(), Nav: page}
	if t, ok := data.(interface{ title() string }); ok {
		v.Title = t.title()
	}
	if e, ok := data.(*errorView); ok {
		v.Title = e.Title
	}
	var b strings.Builder
	if err := t.ExecuteTemplate(&b, "layout", v); err != nil {
		h.log.Error("web: rendering a page", "page", page, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(b.String()))
}

// fail renders a failure of the service with its status and what to do.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, s *session, err error, back string) {
	code := lockbox.ErrorCodeOf(err)
	ev := &errorView{Back: back}
	var le *lockbox.Error
	if errors.As(err, &le) {
		ev.Message, ev.Details = sentence(le.Message), le.Details
	}
	switch code {
	case lockbox.CodeNotFound:
		ev.Title = "Not found"
		ev.Hint = "It does not exist, or it is not visible to your account. Check the link, or go back to the list."
	case lockbox.CodeForbidden:
		ev.Title = "Not allowed"
		ev.Hint = "Your account's roles do not allow this. Ask your administrator if you need it."
	case lockbox.CodeConflict:
		ev.Title = "Already changed"
		ev.Hint = "Its state changed since the page was shown. Reload it to see where it stands now."
	case lockbox.CodeInvalid, lockbox.CodeBadRequest:
		ev.Title = "Check the form"
		ev.Hint = "Correct what the message names and send the form again."
	case lockbox.CodeUnauthenticated:
		ev.Title = "Sign in again"
		ev.Hint = "Your session is not valid for this. Sign out, then sign in with your one-time code."
	case lockbox.CodeRateLimited:
		ev.Title = "Too many attempts"
		ev.Hint = "Wait a minute, then try again."
	default:
		h.log.Error("web: internal error", "path", r.URL.Path, "err", err)
		ev.Title = "Something went wrong"
		ev.Message = "The server could not complete this."
		ev.Hint = "Try again in a moment; if it keeps failing, tell your operator's support."
	}
	h.render(w, r, s, code.HTTPStatus(), "error", ev)
}

// sentence makes a service message a sentence: capitalized, with a full
// stop.
func sentence(s string) string {
	s = capitalize(strings.TrimSpace(s))
	if s != "" && !strings.ContainsAny(s[len(s)-1:], ".!?") {
		s += "."
	}
	return s
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// notFound answers a path the portal does not have.
func (h *Handler) notFound(w http.ResponseWriter, r *http.Request) {
	s := h.current(r)
	h.render(w, r, s, http.StatusNotFound, "error", &errorView{Title: "Not found",
		Message: "There is no page at " + r.URL.Path + ".", Hint: "Use the menu to find your way.", Back: "/"})
}
