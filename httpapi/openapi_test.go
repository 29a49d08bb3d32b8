package httpapi_test

import (
	"net/http"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/lockbox-dev/lockbox"
)

type openAPIDoc struct {
	OpenAPI string `json:"openapi"`
	Paths   map[string]map[string]struct {
		Parameters []struct {
			Name string `json:"name"`
			In   string `json:"in"`
		} `json:"parameters"`
		RequestBody *struct {
			Content map[string]struct {
				Schema map[string]any `json:"schema"`
			} `json:"content"`
		} `json:"requestBody"`
		Responses map[string]any `json:"responses"`
	} `json:"paths"`
	Components struct {
		Schemas map[string]struct {
			Properties map[string]any `json:"properties"`
			Required   []string       `json:"required"`
		} `json:"schemas"`
	} `json:"components"`
}

// The API table of docs/design.md §4 (without the rows of the enforcement issue):
// each row must be in the document.
var designRoutes = []string{
	"POST /v1/auth/login", "POST /v1/me/totp", "POST /v1/me/totp/verify", "GET /v1/me",
	"POST /v1/tenants", "GET /v1/tenants", "GET /v1/tenants/{id}",
	"GET /v1/tenants/{id}/lockbox", "PATCH /v1/tenants/{id}/lockbox",
	"POST /v1/users", "GET /v1/users", "GET /v1/users/{id}", "PATCH /v1/users/{id}", "DELETE /v1/users/{id}",
	"POST /v1/users/{id}/tokens", "POST /v1/invitations/{token}/accept",
	"POST /v1/tickets", "GET /v1/tickets", "GET /v1/tickets/{id}", "POST /v1/tickets/{id}/comments", "POST /v1/tickets/{id}/resolve",
	"POST /v1/requests", "GET /v1/requests", "GET /v1/requests/{id}",
	"POST /v1/requests/{id}/approve", "POST /v1/requests/{id}/deny", "POST /v1/requests/{id}/cancel",
	"POST /v1/requests/{id}/complete", "POST /v1/requests/{id}/revoke",
	"GET /v1/tenants/{id}/events",
	"GET /v1/tenants/{id}/log/checkpoint", "GET /v1/tenants/{id}/log/entries",
	"GET /v1/tenants/{id}/log/proofs/inclusion", "GET /v1/tenants/{id}/log/proofs/consistency", "GET /v1/log/key",
	"POST /v1/requests/{id}/token", "GET /.well-known/jwks.json", "GET /v1/revocations", "GET /v1/revocations/stream", "POST /v1/access-events",
}

func TestOpenAPIMatchesTheHandlers(t *testing.T) {
	e := newEnv(t)
	r := e.must(200, "GET", "/v1/openapi.json", "", nil, nil)
	var doc openAPIDoc
	r.decode(t, &doc)
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Fatalf("openapi version %q", doc.OpenAPI)
	}
	documented := map[string]bool{}
	for path, ops := range doc.Paths {
		for method := range ops {
			documented[strings.ToUpper(method)+" "+path] = true
		}
	}
	for _, rt := range designRoutes {
		if !documented[rt] {
			t.Errorf("%s is in docs/design.md §4 but not in the OpenAPI document", rt)
		}
	}
	// Every documented operation is served: without a token it answers 401
	// (or, for login, a 400 for the empty body), never the mux's 404 or 405.
	wildcard := regexp.MustCompile(`\{[a-z_]+\}`)
	for rt := range documented {
		method, path, _ := strings.Cut(rt, " ")
		res := e.call(method, wildcard.ReplaceAllString(path, "x"), "", nil)
		want := http.StatusUnauthorized
		switch rt {
		case "POST /v1/auth/login":
			want = http.StatusBadRequest
		case "GET /.well-known/jwks.json":
			want = http.StatusOK // public
		case "GET /v1/invitations/{token}", "POST /v1/invitations/{token}/totp", "POST /v1/invitations/{token}/accept":
			// Public: the token is the credential, and "x" is none.
			want = http.StatusNotFound
			if strings.Contains(string(res.Body), "no such endpoint") {
				t.Errorf("%s is not served: %s", rt, res.Body)
			}
		}
		if res.Status != want {
			t.Errorf("%s: %d %s, want %d", rt, res.Status, res.Body, want)
		}
	}
	// An undocumented operation is not served.
	if res := e.call("PUT", "/v1/requests/x", e.admin, nil); res.Status != http.StatusMethodNotAllowed && res.Status != http.StatusNotFound {
		t.Errorf("PUT /v1/requests/x: %d", res.Status)
	}

	// Bodies: the documented request body of POST /v1/requests has exactly
	// the fields the handler accepts.
	body := doc.Paths["/v1/requests"]["post"].RequestBody
	if body == nil {
		t.Fatal("POST /v1/requests has no documented body")
	}
	ref, _ := body.Content["application/json"].Schema["$ref"].(string)
	schema := doc.Components.Schemas[strings.TrimPrefix(ref, "#/components/schemas/")]
	got := keys(schema.Properties)
	want := []string{"access_level", "duration", "justification", "reason_type", "resources", "ticket_id"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("documented request fields %v, want %v", got, want)
	}
	// The access request as served has every field the document names.
	ar := doc.Components.Schemas["AccessRequest"]
	for _, f := range []string{"id", "tenant_id", "ticket_id", "requester_id", "resources", "access_level", "reason_type",
		"justification", "requested_duration", "status", "policy", "reviews", "created_at", "decision_deadline",
		"access_starts_at", "access_expires_at", "ended_at", "end_reason"} {
		if _, ok := ar.Properties[f]; !ok {
			t.Errorf("AccessRequest schema lacks %q", f)
		}
	}
	w := e.newWorld("Doc")
	req := e.request(w, "1h")
	served := map[string]any{}
	e.must(200, "GET", "/v1/requests/"+string(req.ID), w.engineer.token, nil, &served)
	for f := range served {
		if _, ok := ar.Properties[f]; !ok {
			t.Errorf("the served request has %q, which the document does not name", f)
		}
	}
	for _, f := range ar.Required {
		if _, ok := served[f]; !ok {
			t.Errorf("the document requires %q, which the served request lacks", f)
		}
	}
}

func keys(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func TestHealthAndMetrics(t *testing.T) {
	e := newEnv(t)
	e.must(200, "GET", "/healthz", "", nil, nil)
	e.must(200, "GET", "/readyz", "", nil, nil)
	w := e.newWorld("Metrics")
	e.request(w, "1h")
	m := e.must(200, "GET", "/metrics", "", nil, nil)
	for _, want := range []string{
		`lockbox_http_requests_total{code="201",method="POST",route="/v1/requests"} 1`,
		`lockbox_events_total{type="request.created"} 1`,
		"lockbox_http_request_duration_seconds_bucket",
		"go_goroutines",
	} {
		if !strings.Contains(string(m.Body), want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	var me lockbox.Me
	e.must(200, "GET", "/v1/me", w.approver.token, nil, &me)
	if !me.MFA || me.ID != w.approver.ID || me.TenantID != w.tenant.ID {
		t.Fatalf("/v1/me: %+v", me)
	}
}
