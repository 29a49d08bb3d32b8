package httpapi_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/lockbox-dev/lockbox"
	"github.com/lockbox-dev/lockbox/app"
)

const (
	policyV1 = `@id("v1-lead-approves")
@approvers("support-leads:1")
permit (principal, action, resource);
`
	// policyV2 waives the internal step: the customer's approval is still
	// required, since no policy can waive it.
	policyV2 = `@id("v2-no-internal-step")
@internal_approval("none")
@max_duration("2h")
permit (principal, action, resource);

@id("v2-no-admin")
@reason("admin access is not granted through this lockbox")
forbid (principal, action == Lockbox::Action::"admin", resource);
`
	// policyBroken names an attribute the schema does not have.
	policyBroken = `@id("v3")
@approvers("support-leads:1")
permit (principal, action, resource)
when { principal.mfa_used };
`
)

// TestPolicyReload replaces the running policy through the API: an invalid
// file answers 422 with the problem's place and changes nothing; a valid
// one runs from then on and is recorded in the system log.
func TestPolicyReload(t *testing.T) {
	path := filepath.Join(t.TempDir(), "policy.cedar")
	write := func(src string) {
		if err := os.WriteFile(path, []byte(src), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(policyV1)
	e := newEnvWith(t, func(c *app.Config) { c.PolicyFile = path })
	w := e.newWorld("Acme")

	var info lockbox.PolicyInfo
	e.must(200, "GET", "/v1/admin/policy", w.engineer.token, nil, &info)
	if info.Source != path || !slices.Equal(info.Policies, []string{"v1-lead-approves"}) || len(info.SHA256) != 64 {
		t.Fatalf("running policy %+v", info)
	}
	first := info
	r := e.request(w, "1h")
	if r.Status != lockbox.StatusPendingInternal || !slices.Equal(r.Policy.Policies, []string{"v1-lead-approves"}) {
		t.Fatalf("request under v1: %s %+v", r.Status, r.Policy)
	}

	// Who may reload.
	for name, tok := range map[string]string{"engineer": w.engineer.token, "support lead": w.lead.token,
		"tenant admin": w.customerAdmin.token, "approver": w.approver.token} {
		if res := e.call("POST", "/v1/admin/policy/reload", tok, nil); res.Status != 403 {
			t.Errorf("%s reloaded the policy: %d %s", name, res.Status, res.Body)
		}
	}
	if res := e.call("GET", "/v1/admin/policy", w.approver.token, nil); res.Status != 403 {
		t.Errorf("a customer read the policy: %d", res.Status)
	}

	// An invalid file: 422 with the exact problem, the running policy stays,
	// nothing is logged.
	systemBefore := e.eventCount(lockbox.SystemLog)
	write(policyBroken)
	res := e.call("POST", "/v1/admin/policy/reload", w.opAdmin.token, nil)
	var body lockbox.ErrorBody
	res.decode(t, &body)
	wantProblem := path + `:4:18: principal has no attribute "mfa_used": its attributes are groups, isolated, mfa, roles`
	if res.Status != 422 || body.Error.Code != lockbox.CodeInvalid || !slices.Equal(body.Error.Details, []string{wantProblem}) ||
		!strings.Contains(body.Error.Message, "the running policy ("+path+", sha256 "+first.SHA256[:12]+") stays") {
		t.Fatalf("reload of an invalid file: %d %s", res.Status, res.Body)
	}
	e.must(200, "GET", "/v1/admin/policy", w.opAdmin.token, nil, &info)
	if info.SHA256 != first.SHA256 {
		t.Fatalf("an invalid file replaced the policy: %+v", info)
	}
	if r := e.request(w, "1h"); !slices.Equal(r.Policy.Policies, []string{"v1-lead-approves"}) {
		t.Fatalf("after a failed reload the request was decided by %v", r.Policy.Policies)
	}
	if n := e.eventCount(lockbox.SystemLog); n != systemBefore {
		t.Fatalf("a failed reload logged %d events", n-systemBefore)
	}
	if !strings.Contains(e.logs.String(), "JIT policy reload failed") || !strings.Contains(e.logs.String(), "mfa_used") {
		t.Fatal("the server log does not say what is wrong")
	}

	// A valid file runs from now on.
	write(policyV2)
	e.must(200, "POST", "/v1/admin/policy/reload", w.opAdmin.token, nil, &info)
	if !slices.Equal(info.Policies, []string{"v2-no-internal-step", "v2-no-admin"}) || info.SHA256 == first.SHA256 {
		t.Fatalf("reloaded policy %+v", info)
	}
	r = e.request(w, "4h")
	if r.Status != lockbox.StatusPendingCustomer || !r.Policy.CustomerApprovalRequired || !r.Policy.InternalApprovalWaived ||
		len(r.Policy.InternalApprovals) != 0 || r.Policy.MaxDuration != lockbox.Duration(2*60*60e9) ||
		!slices.Equal(r.Policy.Policies, []string{"v2-no-internal-step"}) {
		t.Fatalf("request under v2: %s %+v", r.Status, r.Policy)
	}
	res = e.call("POST", "/v1/requests", w.engineer.token, lockbox.CreateRequestInput{TicketID: w.ticket.ID, Resources: []string{"mailbox:alice"},
		AccessLevel: lockbox.LevelAdmin, ReasonType: lockbox.ReasonIncident, Justification: "x", Duration: lockbox.Duration(3600e9)})
	if res.Status != 403 || !strings.Contains(string(res.Body), "admin access is not granted through this lockbox (policy v2-no-admin)") {
		t.Fatalf("admin under v2: %d %s", res.Status, res.Body)
	}

	events := e.events(lockbox.SystemLog)[systemBefore:]
	if len(events) != 1 || events[0].Type != lockbox.EventPolicyReloaded || events[0].ActorID != w.opAdmin.ID {
		t.Fatalf("system log after the reload: %+v", events)
	}
	var data map[string]any
	if err := json.Unmarshal(events[0].Data, &data); err != nil {
		t.Fatal(err)
	}
	if data["sha256"] != info.SHA256 || data["previous_sha256"] != first.SHA256 || data["source"] != path {
		t.Fatalf("policy.reloaded data %v", data)
	}
	// The same text again changes nothing and records nothing.
	e.must(200, "POST", "/v1/admin/policy/reload", w.opAdmin.token, nil, &info)
	if n := e.eventCount(lockbox.SystemLog); n != systemBefore+1 || !slices.Equal(info.Policies, []string{"v2-no-internal-step", "v2-no-admin"}) {
		t.Fatalf("an unchanged file: %d new events, %+v", n-systemBefore, info)
	}
}

// TestPolicyStartup checks that a server does not start on an invalid
// policy file, nor with both a file and the default policy's group.
func TestPolicyStartup(t *testing.T) {
	path := filepath.Join(t.TempDir(), "policy.cedar")
	if err := os.WriteFile(path, []byte(policyBroken), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]app.Config{
		"invalid file":        {DataDir: t.TempDir(), PolicyFile: path},
		"missing file":        {DataDir: t.TempDir(), PolicyFile: path + ".missing"},
		"file and group":      {DataDir: t.TempDir(), PolicyFile: path, InternalGroup: "oncall"},
		"invalid group":       {DataDir: t.TempDir(), InternalGroup: "On Call"},
		"invalid file, no db": {PolicyFile: path},
	} {
		if _, err := app.New(t.Context(), c); err == nil {
			t.Errorf("%s: the server started", name)
		} else if name == "invalid file" && !strings.Contains(err.Error(), "--policy: policy file "+path+" is invalid (1 problem)") {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// TestRequestShowsPolicies checks that the decision stored on a request
// lists the policies that determined it, and that operators and the
// tenant's approvers both see it.
func TestRequestShowsPolicies(t *testing.T) {
	e := newEnv(t)
	w := e.newWorld("Acme")
	r := e.request(w, "1h")
	want := []string{"default/internal-approval"}
	for name, tok := range map[string]string{"requester": w.engineer.token, "operator admin": w.opAdmin.token,
		"tenant admin": w.customerAdmin.token, "approver": w.approver.token} {
		var got lockbox.AccessRequest
		e.must(200, "GET", reqPath(r.ID), tok, nil, &got)
		if !slices.Equal(got.Policy.Policies, want) || !got.Policy.Allowed || !got.Policy.CustomerApprovalRequired ||
			!slices.Equal(got.Policy.InternalApprovals, []lockbox.GroupApprovals{{Group: "support-leads", Count: 1}}) {
			t.Errorf("%s sees the decision %+v", name, got.Policy)
		}
		var list lockbox.List[*lockbox.AccessRequest]
		e.must(200, "GET", "/v1/requests?tenant_id="+string(w.tenant.ID), tok, nil, &list)
		if len(list.Items) != 1 || !slices.Equal(list.Items[0].Policy.Policies, want) {
			t.Errorf("%s lists %+v", name, list.Items)
		}
	}
	// A refusal names the forbids that refused, in the tenant's log too.
	plain := e.loginPassword(w.engineer)
	res := e.call("POST", "/v1/requests", plain, lockbox.CreateRequestInput{TicketID: w.ticket.ID, Resources: []string{"mailbox:alice"},
		AccessLevel: lockbox.LevelRead, ReasonType: lockbox.ReasonCustomerInitiated, Justification: "x", Duration: lockbox.Duration(3600e9)})
	if res.Status != 403 || !strings.Contains(string(res.Body), "(policy default/mfa-or-isolated)") {
		t.Fatalf("without MFA: %d %s", res.Status, res.Body)
	}
	var refused *lockbox.Event
	for _, ev := range e.events(w.tenant.ID) {
		if ev.Type == lockbox.EventRequestRefused {
			refused = ev
		}
	}
	if refused == nil || !strings.Contains(string(refused.Data), `"policies":["default/mfa-or-isolated"]`) {
		t.Fatalf("the refusal in the tenant's log: %+v", refused)
	}
}
