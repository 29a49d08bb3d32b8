package gateway_test

import (
	"errors"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/lockbox-dev/lockbox"
	"github.com/lockbox-dev/lockbox/gateway"
)

func TestParseRoutesErrors(t *testing.T) {
	cases := []struct {
		name, doc, want string
	}{
		{"unknown field", "- method: GET\n  path: /a/{t}\n  tenant: \"{t}\"\n  resource: r\n  scope: x\n", "routes.yaml:5: unknown field \"scope\""},
		{"typo in a later route", "- method: GET\n  path: /a/{t}\n  tenant: \"{t}\"\n  resource: r\n- method: GET\n  path: /b/{t}\n  tenant: \"{t}\"\n  resorce: r\n", "routes.yaml:8: unknown field \"resorce\""},
		{"missing resource", "- method: GET\n  path: /a/{t}\n  tenant: \"{t}\"\n", "routes.yaml:1: route lacks \"resource\""},
		{"bad level", "- path: /a/{t}\n  tenant: \"{t}\"\n  resource: r\n  level: root\n", "routes.yaml:4: level \"root\" is not read, write or admin"},
		{"wildcard the path lacks", "- path: /a/{t}\n  tenant: \"{tenant}\"\n  resource: r\n", "routes.yaml:2: tenant \"{tenant}\": {tenant} is not a wildcard of the path"},
		{"resource wildcard the path lacks", "- path: /a/{t}\n  tenant: \"{t}\"\n  resource: \"mailbox:{mailbox}\"\n", "{mailbox} is not a wildcard of the path"},
		{"unclosed brace in template", "- path: /a/{t}\n  tenant: \"{t\"\n  resource: r\n", "unclosed {"},
		{"bad pattern", "- path: /a/{t...}/b\n  tenant: \"{t}\"\n  resource: r\n", "routes.yaml:1: pattern"},
		{"bad wildcard name", "- path: /a/{t-x}\n  tenant: x\n  resource: r\n", "routes.yaml:1: pattern"},
		{"relative path", "- path: a/{t}\n  tenant: \"{t}\"\n  resource: r\n", "must start with /"},
		{"method in path", "- path: GET /a\n  tenant: x\n  resource: r\n", "must start with /"},
		{"lower-case method", "- method: get\n  path: /a\n  tenant: x\n  resource: r\n", "not an upper-case HTTP method"},
		{"duplicate key", "- path: /a\n  path: /b\n  tenant: x\n  resource: r\n", "routes.yaml:2"},
		{"list value", "- path: [/a]\n  tenant: x\n  resource: r\n", "routes.yaml:1: path must be a string"},
		{"null value", "- path: /a\n  tenant: ~\n  resource: r\n", "routes.yaml:2: tenant must be a string"},
		{"empty", "", "no routes"},
		{"empty list", "[]", "no routes"},
		{"not a list", "path: /a\n", "routes.yaml:1: expected a list of routes"},
		{"scalar route", "- /a\n", "routes.yaml:1: a route must be a mapping"},
		{"conflict", "- method: GET\n  path: /a/{x}\n  tenant: t\n  resource: r\n- method: GET\n  path: /a/{y}\n  tenant: t\n  resource: r\n",
			"routes.yaml:5: \"GET /a/{y}\" conflicts with \"GET /a/{x}\" on line 1"},
		{"duplicate", "- path: /a\n  tenant: t\n  resource: r\n- path: /a\n  tenant: t\n  resource: r\n", "routes.yaml:4: \"/a\" conflicts with \"/a\" on line 1"},
		{"yaml syntax", "- path: /a\n   tenant: t\n", "routes.yaml: yaml: line 2"},
		{"json unknown field", "[\n {\"path\": \"/a\",\n  \"tenant\": \"t\",\n  \"resource\": \"r\",\n  \"levle\": \"read\"}\n]", "routes.yaml:5: unknown field \"levle\""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := gateway.ParseRoutes("routes.yaml", []byte(tc.doc))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v\nwant it to contain %q", err, tc.want)
			}
		})
	}
}

func TestRoutesResolve(t *testing.T) {
	doc := `routes:
  - method: GET
    path: /tenants/{tenant}/mailboxes/{mailbox}/{rest...}
    tenant: "{tenant}"
    resource: "mailbox:{mailbox}"
  - method: GET
    path: /tenants/{tenant}/mailboxes/shared/{rest...}
    tenant: "{tenant}"
    resource: "shared-mailbox"
    level: admin
  - method: POST
    path: /tenants/{tenant}/mailboxes/{mailbox}/{rest...}
    tenant: "{tenant}"
    resource: "mailbox:{mailbox}"
  - path: /tenants/{tenant}/files/{file}
    tenant: "{tenant}"
    resource: "file:{tenant}/{file}"
  - method: GET
    path: /tenants/{tenant}/exact/{$}
    tenant: "{tenant}"
    resource: exact
`
	routes, err := gateway.ParseRoutes("routes.yaml", []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		method, path string
		want         gateway.Target // zero: no route
	}{
		{"GET", "/tenants/t1/mailboxes/alice/inbox", gateway.Target{Tenant: "t1", Resource: "mailbox:alice", Level: lockbox.LevelRead, Route: "GET /tenants/{tenant}/mailboxes/{mailbox}/{rest...}"}},
		{"HEAD", "/tenants/t1/mailboxes/alice/inbox", gateway.Target{Tenant: "t1", Resource: "mailbox:alice", Level: lockbox.LevelRead, Route: "GET /tenants/{tenant}/mailboxes/{mailbox}/{rest...}"}},
		{"GET", "/tenants/t1/mailboxes/alice/", gateway.Target{Tenant: "t1", Resource: "mailbox:alice", Level: lockbox.LevelRead, Route: "GET /tenants/{tenant}/mailboxes/{mailbox}/{rest...}"}},
		// The more specific pattern wins, whatever the file order.
		{"GET", "/tenants/t1/mailboxes/shared/x", gateway.Target{Tenant: "t1", Resource: "shared-mailbox", Level: lockbox.LevelAdmin, Route: "GET /tenants/{tenant}/mailboxes/shared/{rest...}"}},
		{"POST", "/tenants/t1/mailboxes/alice/send", gateway.Target{Tenant: "t1", Resource: "mailbox:alice", Level: lockbox.LevelWrite, Route: "POST /tenants/{tenant}/mailboxes/{mailbox}/{rest...}"}},
		// A method-less route takes its level from the request.
		{"GET", "/tenants/t1/files/a.txt", gateway.Target{Tenant: "t1", Resource: "file:t1/a.txt", Level: lockbox.LevelRead, Route: "/tenants/{tenant}/files/{file}"}},
		{"PATCH", "/tenants/t1/files/a.txt", gateway.Target{Tenant: "t1", Resource: "file:t1/a.txt", Level: lockbox.LevelWrite, Route: "/tenants/{tenant}/files/{file}"}},
		{"GET", "/tenants/t1/exact/", gateway.Target{Tenant: "t1", Resource: "exact", Level: lockbox.LevelRead, Route: "GET /tenants/{tenant}/exact/{$}"}},
		{"GET", "/tenants/t1/exact/more", gateway.Target{}},
		{"PUT", "/tenants/t1/mailboxes/alice/inbox", gateway.Target{}},
		{"GET", "/tenants/t1/mailboxes/alice", gateway.Target{}}, // ServeMux would redirect to .../alice/
		{"GET", "/tenants/t1", gateway.Target{}},
		{"GET", "/", gateway.Target{}},
		{"GET", "/tenants/t1/files/a/../../t2/files/b", gateway.Target{}}, // ServeMux redirects unclean paths
	}
	for _, tc := range cases {
		r := httptest.NewRequest(tc.method, tc.path, nil)
		got, err := routes.Resolve(r)
		if tc.want == (gateway.Target{}) {
			if !errors.Is(err, gateway.ErrNoRoute) {
				t.Errorf("%s %s: %+v, %v; want no route", tc.method, tc.path, got, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%s %s: %+v, %v\nwant %+v", tc.method, tc.path, got, err, tc.want)
		}
		if r.Pattern != "" || r.PathValue("tenant") != "" {
			t.Errorf("Resolve changed the caller's request")
		}
	}
}

// TestExampleRoutes keeps the shipped example valid.
func TestExampleRoutes(t *testing.T) {
	routes, err := gateway.LoadRoutes("routes.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	got, err := routes.Resolve(httptest.NewRequest("GET", "/tenants/t1/mailboxes/alice/settings/", nil))
	if err != nil || got.Resource != "mailbox-settings:alice" {
		t.Errorf("%+v %v", got, err)
	}
}
