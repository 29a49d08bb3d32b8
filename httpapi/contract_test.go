package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
)

// The API tests hold the server to its OpenAPI document: every exchange a
// test makes through env.do (and withAuth) is validated against the
// document the server serves at GET /v1/openapi.json, so the document that
// clients are generated from cannot drift from what the handlers do.
//
//   - Every answer is validated: a success must match its operation's
//     response schema, an error the documented error body.
//   - A request is validated when the server accepted it (2xx): what the
//     server takes, the document must allow. Requests that tests send
//     malformed on purpose are answered 4xx, so they need no marking.
//   - An answer of 2xx on a path the document does not name is an
//     undocumented operation, except for the few endpoints that are not
//     API (health, metrics, the document itself).

// contract is the served document and its router, built once per package.
var contract struct {
	once   sync.Once
	router routers.Router
	err    error
}

// notAPI are the endpoints the server answers that are not API operations.
var notAPI = map[string]bool{"/v1/openapi.json": true, "/healthz": true, "/readyz": true, "/metrics": true}

func contractRouter(base string) (routers.Router, error) {
	contract.once.Do(func() {
		contract.err = func() error {
			res, err := http.Get(base + "/v1/openapi.json")
			if err != nil {
				return err
			}
			defer res.Body.Close()
			b, err := io.ReadAll(res.Body)
			if err != nil {
				return err
			}
			doc, err := openapi3.NewLoader().LoadFromData(b)
			if err != nil {
				return fmt.Errorf("loading the served OpenAPI document: %w", err)
			}
			if err := doc.Validate(context.Background()); err != nil {
				return fmt.Errorf("the served OpenAPI document is invalid: %w", err)
			}
			// kin-openapi's 3.1 validator compiles the JSON Schema again on
			// every call (about 30 times the cost of the whole check), and
			// for schemas with a $ref falls back to its 3.0 validator anyway.
			// The generator writes only keywords that mean the same in 3.0
			// and 3.1 (one type, properties, required, additionalProperties,
			// items, enum, format, $ref): validating the document as 3.0
			// proves that, and then the cached 3.0 validator is exact.
			doc.OpenAPI = "3.0.3"
			if err := doc.Validate(context.Background()); err != nil {
				return fmt.Errorf("the served OpenAPI document uses a keyword that is not OpenAPI 3.0 (teach checkContract to validate it as 3.1): %w", err)
			}
			contract.router, err = legacy.NewRouter(doc)
			return err
		}()
	})
	return contract.router, contract.err
}

// bearerPresent is the document's security check: a request the server
// accepted on an operation that requires a bearer token carried one.
func bearerPresent(_ context.Context, in *openapi3filter.AuthenticationInput) error {
	scheme, token, ok := strings.Cut(in.RequestValidationInput.Request.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return errors.New("no bearer token")
	}
	return nil
}

// checkContract validates one exchange (the request sent, with its body,
// and the answer) against the served OpenAPI document, failing the test
// when they do not match. It may be called from any goroutine.
func (e *env) checkContract(req *http.Request, body []byte, r resp) {
	e.t.Helper()
	router, err := contractRouter(e.http.URL)
	if err != nil {
		e.t.Errorf("OpenAPI contract: %v", err)
		return
	}
	// A fresh request with the body that was sent: the validators read it.
	vreq, err := http.NewRequest(req.Method, req.URL.String(), bytes.NewReader(body))
	if err != nil {
		e.t.Errorf("OpenAPI contract: %v", err)
		return
	}
	vreq.Header = req.Header.Clone()
	ok := r.Status >= 200 && r.Status < 300
	route, params, err := router.FindRoute(vreq)
	if err != nil {
		if ok && !notAPI[req.URL.Path] {
			e.t.Errorf("OpenAPI contract: %s %s answered %d but the document has no such operation (%v)", req.Method, req.URL.Path, r.Status, err)
		}
		return
	}
	in := &openapi3filter.RequestValidationInput{Request: vreq, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: bearerPresent, SkipSettingDefaults: true}}
	if ok {
		if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil {
			e.t.Errorf("OpenAPI contract: request %s %s (answered %d) does not match the document: %s", req.Method, req.URL.RequestURI(), r.Status, contractError(err))
		}
	}
	opts := &openapi3filter.Options{IncludeResponseStatus: true}
	if strings.HasPrefix(r.Header.Get("Content-Type"), "text/event-stream") {
		opts.ExcludeResponseBody = true // a stream: its events are not one document
	}
	err = openapi3filter.ValidateResponse(context.Background(), &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in, Status: r.Status, Header: r.Header,
		Body: io.NopCloser(bytes.NewReader(r.Body)), Options: opts})
	if err != nil {
		e.t.Errorf("OpenAPI contract: answer %d to %s %s does not match the document: %s\n%s", r.Status, req.Method, req.URL.RequestURI(), contractError(err), truncate(r.Body, 300))
	}
}

// contractError says where a value breaks the schema, without the schema
// dump of the validator's own message.
func contractError(err error) string {
	var se *openapi3.SchemaError
	if errors.As(err, &se) {
		msg := fmt.Sprintf("at /%s: %s", strings.Join(se.JSONPointer(), "/"), se.Reason)
		if cause := errors.Unwrap(se); cause != nil {
			// The JSON Schema validator's own lines name each place.
			var at []string
			for line := range strings.Lines(cause.Error()) {
				if l := strings.TrimSpace(line); strings.HasPrefix(l, "- at ") && !slices.Contains(at, l) {
					at = append(at, l)
				}
			}
			if len(at) == 0 {
				at = append(at, strings.SplitN(cause.Error(), "\n", 2)[0])
			}
			msg += ": " + strings.Join(at, " ")
		}
		return msg
	}
	return err.Error()
}

func truncate(b []byte, n int) string {
	if len(b) > n {
		return string(b[:n]) + "..."
	}
	return string(b)
}

// errorRecorder is a testing.TB that keeps what Errorf reports.
type errorRecorder struct {
	testing.TB
	mu   sync.Mutex
	errs []string
}

func (r *errorRecorder) Helper() {}
func (r *errorRecorder) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

// The contract check itself fails on drift: answers and accepted requests
// that the document does not describe are reported, real ones are not.
func TestContractCatchesDrift(t *testing.T) {
	e := newEnv(t)
	w := e.newWorld("Contract")
	real := e.call("GET", "/v1/tickets/"+string(w.ticket.ID), w.member.token, nil)
	if real.Status != http.StatusOK {
		t.Fatalf("reading the ticket: %d %s", real.Status, real.Body)
	}
	get := func(path string) *http.Request {
		req, _ := http.NewRequest("GET", e.http.URL+path, nil)
		req.Header.Set("Authorization", "Bearer "+w.member.token)
		return req
	}
	post := func(path string) *http.Request {
		req, _ := http.NewRequest("POST", e.http.URL+path, nil)
		req.Header.Set("Authorization", "Bearer "+w.member.token)
		return req
	}
	withBody := func(status int, body string) resp {
		return resp{Status: status, Header: http.Header{"Content-Type": {"application/json"}}, Body: []byte(body)}
	}
	ticketPath := "/v1/tickets/" + string(w.ticket.ID)
	var ticket map[string]any
	real.decode(t, &ticket)
	with := func(k string, v any) string {
		m := maps.Clone(ticket)
		m[k] = v
		b, _ := json.Marshal(m)
		return string(b)
	}
	validTicket := `{"tenant_id":"` + string(w.tenant.ID) + `","title":"t","description":"d","severity":2}`
	cases := []struct {
		name   string
		req    *http.Request
		sent   string
		answer resp
		want   string // "" when the exchange matches the document
	}{
		{"the real answer", get(ticketPath), "", real, ""},
		{"an undocumented field", get(ticketPath), "", withBody(200, with("assignee", "bob")), `"assignee"`},
		{"a field of the wrong type", get(ticketPath), "", withBody(200, with("severity", "high")), "/severity"},
		{"a missing required field", get(ticketPath), "", withBody(200, `{"id":"x"}`), "answer 200"},
		{"null for a list", get("/v1/tickets"), "", withBody(200, `{"items":null}`), "/items"},
		{"an error of another shape", get(ticketPath), "", withBody(404, `{"message":"no"}`), "answer 404"},
		{"a documented error", get(ticketPath), "", withBody(404, `{"error":{"code":"not_found","message":"no"}}`), ""},
		{"an accepted request with an undocumented field", post("/v1/tickets"), validTicket[:len(validTicket)-1] + `,"priority":1}`,
			withBody(201, `{}`), "request POST /v1/tickets"},
		{"an accepted request without a token", func() *http.Request { r := get(ticketPath); r.Header.Del("Authorization"); return r }(), "", real, "security"},
		{"a success on an undocumented path", get("/v1/tickets/x/labels"), "", withBody(200, `{}`), "no such operation"},
		{"a refused request may be malformed", post("/v1/tickets"), `{"title": 5`, withBody(400, `{"error":{"code":"bad_request","message":"no"}}`), ""},
	}
	for _, c := range cases {
		rec := &errorRecorder{TB: t}
		ce := *e
		ce.t = rec
		ce.checkContract(c.req, []byte(c.sent), c.answer)
		got := strings.Join(rec.errs, "\n")
		switch {
		case c.want == "" && got != "":
			t.Errorf("%s: reported %s", c.name, got)
		case c.want != "" && !strings.Contains(got, c.want):
			t.Errorf("%s: reported %q, want a report naming %q", c.name, got, c.want)
		}
	}
}

// The server reads an empty body as {}, an approval needs no reason and a
// ticket no description: the document must allow what the server accepts
// (the check in env.do fails this test otherwise).
func TestContractOptionalBodies(t *testing.T) {
	e := newEnv(t)
	w := e.newWorld("Optional")
	r := e.request(w, "1h")
	e.must(200, "POST", reqPath(r.ID, "approve"), w.lead.token, nil, nil)
	r = e.request(w, "1h")
	e.must(200, "POST", reqPath(r.ID, "approve"), w.lead.token, map[string]any{}, nil)
	e.must(200, "PATCH", "/v1/users/"+string(w.member.ID), w.member.token, nil, nil)
	e.must(201, "POST", "/v1/tickets", w.member.token, map[string]any{"tenant_id": w.tenant.ID, "title": "No details", "severity": 3}, nil)
}
