package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lockbox-dev/lockbox"
	"github.com/lockbox-dev/lockbox/cedar"
)

func writePolicy(t *testing.T, src string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "policy.cedar")
	if err := os.WriteFile(path, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestPolicyCheck(t *testing.T) {
	h := newHarness(t)
	out := h.ok("policy", "check", "../../docs/policies/admin-isolated-two-groups.cedar")
	want := "../../docs/policies/admin-isolated-two-groups.cedar: valid, 3 policies\n  admin-needs-isolated\n  admin-two-groups\n  read-write-one-lead\n"
	if out != want {
		t.Fatalf("check printed %q, want %q", out, want)
	}
	var js policyCheckOutput
	if err := json.Unmarshal([]byte(h.ok("-o", "json", "policy", "check", "../../docs/policies/incident-4h.cedar")), &js); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(js.Policies, []string{"four-hours-outside-incidents", "support-lead-approves"}) || len(js.SHA256) != 64 {
		t.Fatalf("-o json: %+v", js)
	}

	// The default policy, printed, checks.
	def := h.ok("policy", "default")
	if def != string(cedar.DefaultText) {
		t.Fatal("policy default does not print the default policy")
	}
	if out := h.ok("policy", "check", writePolicy(t, def)); !strings.Contains(out, "valid, 3 policies") {
		t.Fatalf("the default policy: %q", out)
	}

	// Problems: one per line on stderr, as FILE:LINE:COL: message.
	bad := writePolicy(t, "@approvers(\"support-leads:1\")\npermit (principal, action, resource)\nwhen { principal.mfaa && context.duration > 60 };\n\n@max_duration(\"4 hours\")\n@approvers(\"support-leads:1\")\npermit (principal, action, resource);\n")
	r := h.run("policy", "check", bad)
	wantErr := bad + `:3:18: principal has no attribute "mfaa": its attributes are groups, isolated, mfa, roles` + "\n" +
		bad + `:5:1: @max_duration("4 hours") is not a positive Go duration such as "4h" or "90m"` + "\n" +
		"lockbox: policy file " + bad + " is invalid (2 problems)\n"
	if r.code == 0 || r.stdout != "" || r.stderr != wantErr {
		t.Fatalf("check of an invalid file: exit %d\nstdout %q\nstderr %q\nwant   %q", r.code, r.stdout, r.stderr, wantErr)
	}
	h.fails("no such file or directory", "policy", "check", bad+".missing")
	h.fails("accepts 1 arg(s)", "policy", "check")
}

func TestPolicyEval(t *testing.T) {
	h := newHarness(t)
	h.now = time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	sev1 := "../../docs/policies/sev1-mailbox-read.cedar"
	request := func(severity int, resources ...string) string {
		b, _ := json.Marshal(map[string]any{
			"requester": map[string]any{"groups": []string{"oncall"}, "mfa": true}, "resources": resources,
			"access_level": "read", "reason_type": "incident_response", "duration": "6h",
			"ticket": map[string]any{"severity": severity, "age": "30m"}, "tenant": map[string]any{"max_access_duration": "5h"},
		})
		return string(b)
	}
	out := h.ok("policy", "eval", sev1, "--request", request(1, "mailbox:alice"))
	for _, want := range []string{"Allowed:             yes", "Internal approvals:  support-leads ×1", "Customer approval:   yes",
		"Max duration:        4h", "Policies:            sev1-one-mailbox-read", "capped at 4h0m0s (policy sev1-one-mailbox-read)"} {
		if !strings.Contains(out, want) {
			t.Errorf("eval printed\n%s\nwithout %q", out, want)
		}
	}
	var d lockbox.Decision
	if err := json.Unmarshal([]byte(h.ok("-o", "json", "policy", "eval", sev1, "--request", request(2, "mailbox:alice"))), &d); err != nil {
		t.Fatal(err)
	}
	if !d.Allowed || len(d.InternalApprovals) != 2 || d.MaxDuration != lockbox.Duration(5*time.Hour) || !slices.Equal(d.Policies, []string{"everything-else"}) {
		t.Fatalf("-o json: %+v", d)
	}

	// A refusal, and the tenant's switch: lockbox off, no customer step.
	h.stdin = `{"requester": {"isolated": false, "mfa": false}, "resources": ["mailbox:a"], "access_level": "admin",
		"reason_type": "customer_initiated_support", "duration": "1h", "ticket": {"severity": 3}, "tenant": {"lockbox_enabled": false}}`
	out = h.ok("policy", "eval", writePolicy(t, string(cedar.DefaultText)), "--request", "-")
	for _, want := range []string{"Allowed:             no", "Customer approval:   no", "Policies:            default/mfa-or-isolated, default/admin-needs-isolated",
		"admin access needs an isolated identity (policy default/admin-needs-isolated)"} {
		if !strings.Contains(out, want) {
			t.Errorf("eval printed\n%s\nwithout %q", out, want)
		}
	}
	reqFile := filepath.Join(t.TempDir(), "req.json")
	if err := os.WriteFile(reqFile, []byte(request(1, "mailbox:a", "mailbox:b")), 0o600); err != nil {
		t.Fatal(err)
	}
	if out := h.ok("policy", "eval", sev1, "--request", "@"+reqFile); !strings.Contains(out, "devops-managers ×1") {
		t.Fatalf("two mailboxes: %s", out)
	}
	// The engineer's own severity-1 ticket does not buy the fast path.
	own := strings.Replace(request(1, "mailbox:alice"), `"severity":1`, `"severity":1,"opened_by":"operator","opened_by_requester":true`, 1)
	if out := h.ok("policy", "eval", sev1, "--request", own); !strings.Contains(out, "devops-managers ×1") {
		t.Fatalf("the requester's own severity-1 ticket: %s", out)
	}

	// Bad requests say what is wrong.
	for _, c := range []struct{ req, want string }{
		{`{"resources": ["a"], "access_level": "read", "reason_type": "incident_response", "duration": "1h", "ticket": {"severity": 1}, "mfa": true}`, `unknown field "mfa"`},
		{`{"resources": [], "access_level": "read"}`, "resources: name at least one resource"},
		{`{"resources": ["a"], "access_level": "root"}`, "access_level must be one of [read write admin]"},
		{`{"resources": ["a"], "access_level": "read", "reason_type": "curiosity"}`, "reason_type must be one of"},
		{`{"resources": ["a"], "access_level": "read", "reason_type": "incident_response", "duration": "1h"}`, "ticket.severity must be 1 (critical) to 4 (low)"},
		{`{"resources": ["a"], "access_level": "read", "reason_type": "incident_response", "duration": 3600}`, "--request:"},
		{`not json`, "--request: invalid character"},
		{`{"resources": ["a"], "access_level": "read", "reason_type": "incident_response", "duration": "1h", "ticket": {"severity": 1, "opened_by": "engineer"}}`,
			`ticket.opened_by must be "customer" or "operator"`},
		{`{"resources": ["a"], "access_level": "read", "reason_type": "incident_response", "duration": "1h", "ticket": {"severity": 1, "opened_by_requester": true}}`,
			`ticket.opened_by_requester needs ticket.opened_by "operator"`},
	} {
		h.fails(c.want, "policy", "eval", sev1, "--request", c.req)
	}
	h.fails("--request is required", "policy", "eval", sev1)
	if r := h.run("policy", "eval", writePolicy(t, "permit (principal, action, resource);"), "--request", request(1, "a")); r.code == 0 ||
		!strings.Contains(r.stderr, "policy.cedar:1:1: permit policy0 says nothing of the internal step") || !strings.Contains(r.stderr, "is invalid (1 problem)") {
		t.Fatalf("eval with an invalid file: exit %d, stderr %q", r.code, r.stderr)
	}
}
