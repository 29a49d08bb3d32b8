package gateway

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/lockbox-dev/lockbox"
)

// Route maps requests to the tenant, resource and level they touch. Path is
// a net/http.ServeMux pattern path ("/tenants/{tenant}/mailboxes/{mailbox}/{rest...}");
// Tenant and Resource are templates that may name its wildcards
// ("{tenant}", "mailbox:{mailbox}").
type Route struct {
	// Method is an HTTP method; "" or "*" matches every method. As with
	// ServeMux, GET also matches HEAD.
	Method   string              `yaml:"method" json:"method"`
	Path     string              `yaml:"path" json:"path"`
	Tenant   string              `yaml:"tenant" json:"tenant"`
	Resource string              `yaml:"resource" json:"resource"`
	Level    lockbox.AccessLevel `yaml:"level,omitempty" json:"level,omitempty"`
	// Line is where the route was read from, for messages.
	Line int `yaml:"-" json:"-"`
	// fieldLines are the lines of the route's fields, so a message points
	// at the value that is wrong.
	fieldLines map[string]int
}

func (r *Route) lineOf(field string) int {
	if l, ok := r.fieldLines[field]; ok {
		return l
	}
	return r.Line
}

// pattern is the ServeMux pattern of the route.
func (r *Route) pattern() string {
	if r.Method == "" || r.Method == "*" {
		return r.Path
	}
	return r.Method + " " + r.Path
}

// Target is what a request touches: the tenant whose content it is, the
// resource as grant tokens name it, and the level it needs.
type Target struct {
	Tenant   lockbox.TenantID
	Resource string
	Level    lockbox.AccessLevel
	// Route names the rule that matched (its pattern), for the record.
	Route string
}

// Resolver tells which Target a request touches. *Routes is the table-driven
// one; a service using the middleware may give its own per-route logic as a
// ResolverFunc. A request a resolver cannot place is refused (ErrNoRoute):
// enforcement is closed by default.
type Resolver interface {
	Resolve(r *http.Request) (Target, error)
}

// ResolverFunc adapts a function to Resolver.
type ResolverFunc func(r *http.Request) (Target, error)

// Resolve calls f.
func (f ResolverFunc) Resolve(r *http.Request) (Target, error) { return f(r) }

// ErrNoRoute is returned by resolvers for a request no route covers.
var ErrNoRoute = errors.New("no route covers this request")

// Routes is a route table matched with ServeMux semantics: the most specific
// pattern wins, and patterns that overlap with neither more specific than
// the other are refused at load.
type Routes struct {
	routes []*Route
	mux    *http.ServeMux
}

var _ Resolver = (*Routes)(nil)

// LoadRoutes reads a route file, YAML or JSON (JSON is read as YAML, which
// it is, so errors carry line numbers either way).
func LoadRoutes(path string) (*Routes, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("route file: %w", err)
	}
	return ParseRoutes(path, b)
}

// ParseRoutes reads a route table. The document is a list of routes, or a
// mapping with the single key "routes" holding that list:
//
//	routes:
//	  - method: GET
//	    path: /tenants/{tenant}/mailboxes/{mailbox}/{rest...}
//	    tenant: "{tenant}"
//	    resource: "mailbox:{mailbox}"
//	    level: read     # optional: GET/HEAD read, other methods write
//
// Unknown keys, duplicate keys, non-string values, bad patterns, patterns
// that conflict, templates naming wildcards the path lacks and unknown
// levels are errors that name the file and line. An empty table is an
// error too: a gateway that routes nothing is a misconfiguration.
func ParseRoutes(name string, data []byte) (*Routes, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return nil, fmt.Errorf("%s: no routes", name)
	}
	list := doc.Content[0]
	if list.Kind == yaml.MappingNode {
		if len(list.Content) != 2 || list.Content[0].Value != "routes" {
			return nil, fmt.Errorf("%s:%d: expected a list of routes, or a mapping with the single key \"routes\"", name, list.Line)
		}
		list = list.Content[1]
	}
	if list.Kind != yaml.SequenceNode {
		return nil, fmt.Errorf("%s:%d: expected a list of routes", name, list.Line)
	}
	var routes []Route
	for _, item := range list.Content {
		r, err := decodeRoute(item)
		if err != nil {
			return nil, inFile(name, err)
		}
		routes = append(routes, r)
	}
	t, err := NewRoutes(routes)
	if err != nil {
		return nil, inFile(name, err)
	}
	return t, nil
}

// RouteError is an invalid route, with the line it was read from (0 for
// routes built in code).
type RouteError struct {
	Line int
	Msg  string
}

func (e *RouteError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("line %d: %s", e.Line, e.Msg)
	}
	return e.Msg
}

func routeErr(line int, format string, args ...any) error {
	return &RouteError{Line: line, Msg: fmt.Sprintf(format, args...)}
}

// inFile formats err as file:line: message, the form editors jump to.
func inFile(name string, err error) error {
	var re *RouteError
	if errors.As(err, &re) && re.Line > 0 {
		return fmt.Errorf("%s:%d: %s", name, re.Line, re.Msg)
	}
	return fmt.Errorf("%s: %w", name, err)
}

// decodeRoute reads one route mapping strictly.
func decodeRoute(n *yaml.Node) (Route, error) {
	if n.Kind != yaml.MappingNode {
		return Route{}, routeErr(n.Line, "a route must be a mapping with method, path, tenant, resource and optional level")
	}
	r := Route{Line: n.Line, fieldLines: map[string]int{}}
	fields := map[string]*string{"method": &r.Method, "path": &r.Path, "tenant": &r.Tenant, "resource": &r.Resource, "level": (*string)(&r.Level)}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		dst, ok := fields[k.Value]
		if !ok {
			return Route{}, routeErr(k.Line, "unknown field %q (a route has method, path, tenant, resource and level)", k.Value)
		}
		if seen[k.Value] {
			return Route{}, routeErr(k.Line, "field %q given twice", k.Value)
		}
		seen[k.Value] = true
		r.fieldLines[k.Value] = v.Line
		if v.Kind != yaml.ScalarNode || v.Tag == "!!null" {
			return Route{}, routeErr(v.Line, "%s must be a string", k.Value)
		}
		*dst = v.Value
	}
	for _, f := range []string{"path", "tenant", "resource"} {
		if !seen[f] {
			return Route{}, routeErr(n.Line, "route lacks %q", f)
		}
	}
	return r, nil
}

var methodRE = regexp.MustCompile(`^[A-Z]+$`)

// NewRoutes builds a table from routes (for programs that build it in code;
// files go through ParseRoutes). Errors are *RouteError.
func NewRoutes(routes []Route) (*Routes, error) {
	if len(routes) == 0 {
		return nil, fmt.Errorf("no routes: the gateway would refuse everything")
	}
	t := &Routes{mux: http.NewServeMux()}
	for i := range routes {
		r := routes[i]
		if field, err := r.validate(); err != nil {
			return nil, &RouteError{Line: r.lineOf(field), Msg: err.Error()}
		}
		if err := register(t.mux, &r); err != nil {
			// Find the earlier route it conflicts with, for the message.
			for _, prev := range t.routes {
				m := http.NewServeMux()
				_ = register(m, prev)
				if register(m, &r) != nil {
					return nil, routeErr(r.Line, "%q conflicts with %q on line %d: both match some requests and neither is more specific",
						r.pattern(), prev.pattern(), prev.Line)
				}
			}
			return nil, &RouteError{Line: r.lineOf("path"), Msg: err.Error()}
		}
		t.routes = append(t.routes, &r)
	}
	return t, nil
}

// register adds route to mux, turning ServeMux's panics (bad pattern,
// conflict) into errors.
func register(mux *http.ServeMux, route *Route) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("pattern %q: %v", route.pattern(), p)
		}
	}()
	mux.Handle(route.pattern(), http.HandlerFunc(func(_ http.ResponseWriter, req *http.Request) {
		if s, ok := req.Context().Value(matchKey{}).(*match); ok {
			s.route, s.req = route, req
		}
	}))
	return nil
}

// validate checks the route and names the field at fault.
func (r *Route) validate() (field string, err error) {
	switch {
	case r.Method != "" && r.Method != "*" && !methodRE.MatchString(r.Method):
		return "method", fmt.Errorf("method %q is not an upper-case HTTP method (or \"*\" for any)", r.Method)
	case !strings.HasPrefix(r.Path, "/"):
		return "path", fmt.Errorf("path %q must start with / (host patterns are not supported)", r.Path)
	case strings.ContainsAny(r.Path, " \t"):
		return "path", fmt.Errorf("path %q contains spaces; put the method in the method field", r.Path)
	case strings.TrimSpace(r.Tenant) == "":
		return "tenant", fmt.Errorf("tenant is empty")
	case strings.TrimSpace(r.Resource) == "":
		return "resource", fmt.Errorf("resource is empty")
	case r.Level != "" && !slices.Contains(lockbox.AccessLevels, r.Level):
		return "level", fmt.Errorf("level %q is not read, write or admin", r.Level)
	}
	names, err := wildcards(r.Path)
	if err != nil {
		return "path", fmt.Errorf("path %q: %w", r.Path, err)
	}
	for _, f := range []struct{ field, tmpl string }{{"tenant", r.Tenant}, {"resource", r.Resource}} {
		if _, err := expand(f.tmpl, func(name string) (string, bool) { return "", slices.Contains(names, name) }); err != nil {
			return f.field, fmt.Errorf("%s %q: %w", f.field, f.tmpl, err)
		}
	}
	return "", nil
}

// wildcards lists the wildcard names of a ServeMux path ({name} and
// {name...}; {$} has none).
func wildcards(path string) ([]string, error) {
	var names []string
	for rest := path; ; {
		i := strings.IndexByte(rest, '{')
		if i < 0 {
			break
		}
		j := strings.IndexByte(rest[i:], '}')
		if j < 0 {
			return nil, fmt.Errorf("unclosed {")
		}
		name := strings.TrimSuffix(rest[i+1:i+j], "...")
		if name != "$" {
			names = append(names, name)
		}
		rest = rest[i+j+1:]
	}
	return names, nil
}

// expand substitutes {name} in tmpl with lookup(name). Braces are only for
// wildcards; a name lookup does not know is an error.
func expand(tmpl string, lookup func(string) (string, bool)) (string, error) {
	var b strings.Builder
	for rest := tmpl; rest != ""; {
		i := strings.IndexAny(rest, "{}")
		if i < 0 {
			b.WriteString(rest)
			break
		}
		if rest[i] == '}' {
			return "", fmt.Errorf("unmatched }")
		}
		b.WriteString(rest[:i])
		j := strings.IndexByte(rest[i:], '}')
		if j < 0 {
			return "", fmt.Errorf("unclosed {")
		}
		name := rest[i+1 : i+j]
		v, ok := lookup(name)
		if !ok {
			return "", fmt.Errorf("{%s} is not a wildcard of the path", name)
		}
		b.WriteString(v)
		rest = rest[i+j+1:]
	}
	return b.String(), nil
}

type matchKey struct{}

// match is filled in by the handler of the route ServeMux picks.
type match struct {
	route *Route
	req   *http.Request
}

// discard is the ResponseWriter ServeMux's own not-found, method-not-allowed
// and redirect handlers write to: their answers are replaced by the
// gateway's refusal.
type discard struct{ h http.Header }

func (d *discard) Header() http.Header {
	if d.h == nil {
		d.h = http.Header{}
	}
	return d.h
}
func (*discard) Write(b []byte) (int, error) { return len(b), nil }
func (*discard) WriteHeader(int)             {}

// Resolve finds the route ServeMux would pick for r and fills in its
// templates from the path's wildcards. A request ServeMux would not hand to
// a route — no pattern matches, the method is not allowed, or the path is
// not canonical and ServeMux would redirect — resolves to ErrNoRoute.
func (t *Routes) Resolve(r *http.Request) (Target, error) {
	m := &match{}
	// ServeMux records the match on the request it is given; give it a
	// shallow copy so the caller's request is left as it was.
	t.mux.ServeHTTP(&discard{}, r.WithContext(context.WithValue(r.Context(), matchKey{}, m)))
	if m.route == nil {
		return Target{}, ErrNoRoute
	}
	value := func(name string) (string, bool) { return m.req.PathValue(name), true }
	tenant, err := expand(m.route.Tenant, value)
	if err != nil {
		return Target{}, err // validated at load; cannot happen
	}
	resource, err := expand(m.route.Resource, value)
	if err != nil {
		return Target{}, err
	}
	return Target{
		Tenant:   lockbox.TenantID(tenant),
		Resource: resource,
		Level:    m.route.levelFor(r.Method),
		Route:    m.route.pattern(),
	}, nil
}

// levelFor is the route's level, or the default for the method: read for
// GET and HEAD (which cannot change content), write for everything else.
func (r *Route) levelFor(method string) lockbox.AccessLevel {
	if r.Level != "" {
		return r.Level
	}
	m := r.Method
	if m == "" || m == "*" {
		m = method
	}
	if m == http.MethodGet || m == http.MethodHead {
		return lockbox.LevelRead
	}
	return lockbox.LevelWrite
}

// Routes returns a copy of the table's routes.
func (t *Routes) Routes() []Route {
	out := make([]Route, len(t.routes))
	for i, r := range t.routes {
		out[i] = *r
	}
	return out
}
