package httpapi_test

import (
	"encoding/json"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/lockbox-dev/lockbox"
)

// apiOperation is one operation of the server's OpenAPI document.
type apiOperation struct {
	Method, Path string
	HasBody      bool
	Query        []string
}

// apiOperations lists the operations the server documents at
// /v1/openapi.json, in a fixed order. The fuzz target takes them from there,
// so a route added to the table is fuzzed without a change here.
func (e *env) apiOperations() []apiOperation {
	e.t.Helper()
	var doc struct {
		Paths map[string]map[string]struct {
			Parameters []struct {
				Name string `json:"name"`
				In   string `json:"in"`
			} `json:"parameters"`
			RequestBody json.RawMessage `json:"requestBody"`
		} `json:"paths"`
	}
	e.must(200, "GET", "/v1/openapi.json", "", nil, &doc)
	var ops []apiOperation
	for path, methods := range doc.Paths {
		for method, op := range methods {
			o := apiOperation{Method: strings.ToUpper(method), Path: path, HasBody: len(op.RequestBody) > 0}
			for _, p := range op.Parameters {
				if p.In == "query" {
					o.Query = append(o.Query, p.Name)
				}
			}
			ops = append(ops, o)
		}
	}
	sort.Slice(ops, func(i, j int) bool {
		if ops[i].Path != ops[j].Path {
			return ops[i].Path < ops[j].Path
		}
		return ops[i].Method < ops[j].Method
	})
	return ops
}

var pathParam = regexp.MustCompile(`\{([a-z_]+)\}`)

// FuzzAPIRequests sends every documented operation of the API arbitrary
// JSON bodies and query strings, as any of the world's people (or nobody),
// and checks what a stranger's input must never do: make the server fail
// (5xx), answer an error without the documented error body, or change the
// tenant's log while answering 4xx (invariant 9). Streams are left out:
// they do not answer until closed.
//
//	go test -run '^$' -fuzz FuzzAPIRequests -fuzztime 10m ./httpapi/
func FuzzAPIRequests(f *testing.F) {
	e := newEnv(f)
	w := e.newWorld("Fuzzed")
	gw := e.createUser(e.admin, lockbox.CreateUserInput{Kind: lockbox.KindOperator, Roles: []lockbox.Role{lockbox.RoleGateway}})
	req := e.request(w, "1h")
	tokens := []string{"", e.admin, w.engineer.token, w.lead.token, w.customerAdmin.token, w.approver.token, w.member.token, gw.token, "not-a-token"}
	ids := map[string]string{
		"tenant": string(w.tenant.ID), "request": string(req.ID), "ticket": string(w.ticket.ID), "user": string(w.member.ID),
	}
	var ops []apiOperation
	for _, op := range e.apiOperations() {
		if !strings.HasSuffix(op.Path, "/stream") {
			ops = append(ops, op)
		}
	}
	pathFor := func(p string) string { path, _ := fillPath(p, ids); return path }
	seeds := []string{`{}`, `null`, `[]`, `{"reason":"x","duration":"1h"}`, `{"ticket_id":"` + ids["ticket"] + `","resources":["mailbox:a"],"access_level":"read","reason_type":"customer_initiated_support","justification":"j","duration":"1h"}`,
		`{"enabled":false,"approvals_required":0}`, `{"name":"n","email":"a@b.c","kind":"customer","roles":["tenant_admin"],"password":"p"}`, `{"records":[{"id":"a","phase":"decision"}]}`}
	for i, op := range ops {
		q := ""
		if len(op.Query) > 0 {
			q = op.Query[0] + "=-1&page_size=0"
		}
		for j, s := range seeds {
			f.Add(uint16(i), uint8((i+j)%len(tokens)), q, []byte(s))
		}
	}
	f.Fuzz(func(t *testing.T, opIndex uint16, who uint8, query string, body []byte) {
		e := e.withT(t)
		op := ops[int(opIndex)%len(ops)]
		path := pathFor(op.Path)
		if q, err := url.ParseQuery(query); err == nil && len(q) > 0 {
			path += "?" + q.Encode()
		}
		var payload any
		if op.HasBody || len(body) > 0 {
			payload = string(body)
		}
		before := e.eventCount(w.tenant.ID)
		r, err := e.do(op.Method, path, tokens[int(who)%len(tokens)], payload)
		if err != nil {
			t.Fatalf("%s %s: %v", op.Method, path, err)
		}
		if r.Status >= 500 {
			t.Fatalf("%s %s with %q: status %d: %s", op.Method, path, body, r.Status, r.Body)
		}
		if r.Status < 400 {
			return
		}
		checkErrorShape(t, r, "")
		if code := r.errCode(); code.HTTPStatus() != r.Status {
			t.Fatalf("%s %s: status %d with error code %q, which means %d", op.Method, path, r.Status, code, code.HTTPStatus())
		}
		if after := e.eventCount(w.tenant.ID); after != before {
			t.Fatalf("%s %s with %q: answered %d but the tenant's log grew from %d to %d events", op.Method, path, body, r.Status, before, after)
		}
	})
}

// fillPath fills a path's parameters with ids: the segment before a
// parameter names what it is ("/v1/tenants/{id}" takes ids["tenant"]). It
// reports whether it knew every one.
func fillPath(p string, ids map[string]string) (string, bool) {
	ok := true
	out := pathParam.ReplaceAllStringFunc(p, func(m string) string {
		before := strings.TrimSuffix(p[:strings.Index(p, m)], "/")
		kind := strings.TrimSuffix(before[strings.LastIndex(before, "/")+1:], "s")
		if id, known := ids[kind]; known {
			return id
		}
		ok = false
		return "x"
	})
	return out, ok
}

// TestFuzzReachesEveryOperation keeps the fuzz target honest: it takes
// every operation the OpenAPI document lists, and fills every path
// parameter with the id of a real object, so its inputs get past routing
// and lookup into the handlers.
func TestFuzzReachesEveryOperation(t *testing.T) {
	e := newEnv(t)
	ops := e.apiOperations()
	if len(ops) < 40 {
		t.Fatalf("the OpenAPI document lists %d operations; expected the whole API", len(ops))
	}
	ids := map[string]string{"tenant": "t", "request": "r", "ticket": "k", "user": "u", "invitation": "lbx_i_x"}
	for _, op := range ops {
		if _, ok := fillPath(op.Path, ids); !ok {
			t.Errorf("%s %s: a path parameter FuzzAPIRequests cannot fill: add its kind to the fuzz target's ids", op.Method, op.Path)
		}
	}
	t.Logf("%d operations", len(ops))
}
