package cedar_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lockbox-dev/lockbox"
	"github.com/lockbox-dev/lockbox/cedar"
)

var now = time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)

// req describes a hypothetical request compactly for the tables below.
type req struct {
	groups    []string
	mfa       bool
	isolated  bool
	level     lockbox.AccessLevel
	resources []string
	reason    lockbox.ReasonType
	duration  time.Duration
	severity  int
	assigned  bool
	// opener is who opened the ticket and set its severity: "" a
	// customer, "self" the requester, "colleague" another operator.
	opener    string
	tenantMax time.Duration // 0: the default 8h
}

func (r req) input() lockbox.PolicyInput {
	u := &lockbox.User{ID: "usr_eng", Kind: lockbox.KindOperator, Roles: []lockbox.Role{lockbox.RoleEngineer}, Groups: r.groups, Isolated: r.isolated}
	tn := &lockbox.Tenant{ID: "ten_acme", Lockbox: lockbox.DefaultLockboxSettings()}
	if r.tenantMax > 0 {
		tn.Lockbox.MaxAccessDuration = lockbox.Duration(r.tenantMax)
	}
	tk := &lockbox.Ticket{ID: "tkt_1", TenantID: tn.ID, Severity: r.severity, Status: lockbox.TicketOpen, CreatedAt: now.Add(-time.Hour)}
	if tk.Severity == 0 {
		tk.Severity = 2
	}
	if r.assigned {
		tk.AssigneeID = u.ID
	}
	tk.CreatedBy, tk.OpenedBy = "usr_customer", lockbox.KindCustomer
	switch r.opener {
	case "self":
		tk.CreatedBy, tk.OpenedBy = u.ID, lockbox.KindOperator
	case "colleague":
		tk.CreatedBy, tk.OpenedBy = "usr_colleague", lockbox.KindOperator
	}
	tk.SeveritySetBy, tk.SeveritySetByUser = tk.OpenedBy, tk.CreatedBy
	in := lockbox.PolicyInput{Requester: u, MFA: r.mfa, Tenant: tn, Ticket: tk, Resources: r.resources,
		AccessLevel: r.level, ReasonType: r.reason, Duration: lockbox.Duration(r.duration), Now: now}
	if in.AccessLevel == "" {
		in.AccessLevel = lockbox.LevelRead
	}
	if in.ReasonType == "" {
		in.ReasonType = lockbox.ReasonCustomerInitiated
	}
	if in.Duration == 0 {
		in.Duration = lockbox.Duration(time.Hour)
	}
	if len(in.Resources) == 0 {
		in.Resources = []string{"mailbox:alice"}
	}
	return in
}

// decide evaluates the request with the set as the service does: the
// policy, then what the tenant's settings impose.
func decide(t *testing.T, s lockbox.Policy, r req) lockbox.Decision {
	t.Helper()
	in := r.input()
	d, err := s.Evaluate(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	return lockbox.ApplyTenant(d, in.Tenant.Lockbox)
}

func load(t *testing.T, path string) *cedar.PolicySet {
	t.Helper()
	s, err := cedar.LoadFile(path)
	if err != nil {
		t.Fatalf("%s: %v %q", path, err, details(err))
	}
	return s
}

func details(err error) []string {
	if e, ok := err.(*lockbox.Error); ok {
		return e.Details
	}
	return nil
}

// want is the expected decision.
type want struct {
	allowed   bool
	approvals []lockbox.GroupApprovals // nil: none, and the internal step waived
	max       time.Duration
	policies  []string
	reasonHas string
}

func check(t *testing.T, d lockbox.Decision, w want) {
	t.Helper()
	if d.Allowed != w.allowed {
		t.Fatalf("allowed = %v, want %v (reasons %q, policies %v)", d.Allowed, w.allowed, d.Reasons, d.Policies)
	}
	if w.reasonHas != "" && !strings.Contains(strings.Join(d.Reasons, "; "), w.reasonHas) {
		t.Fatalf("reasons %q do not say %q", d.Reasons, w.reasonHas)
	}
	if w.policies != nil && !slices.Equal(d.Policies, w.policies) {
		t.Fatalf("policies %v, want %v", d.Policies, w.policies)
	}
	if !w.allowed {
		return
	}
	wantApprovals := w.approvals
	if wantApprovals == nil {
		wantApprovals = []lockbox.GroupApprovals{}
	}
	if !slices.Equal(d.InternalApprovals, wantApprovals) {
		t.Fatalf("internal approvals %v, want %v", d.InternalApprovals, wantApprovals)
	}
	if d.InternalApprovalWaived != (w.approvals == nil) {
		t.Fatalf("internal step waived = %v with approvals %v", d.InternalApprovalWaived, d.InternalApprovals)
	}
	if d.MaxDuration.D() != w.max {
		t.Fatalf("max duration %s, want %s", d.MaxDuration, w.max)
	}
	if !d.CustomerApprovalRequired {
		t.Fatal("a policy waived the customer step of a tenant with lockbox enabled")
	}
}

var (
	leads1    = []lockbox.GroupApprovals{{Group: "support-leads", Count: 1}}
	leadsOps  = []lockbox.GroupApprovals{{Group: "support-leads", Count: 1}, {Group: "devops-managers", Count: 1}}
	hour      = time.Hour
	eightHour = 8 * time.Hour
)

// TestExamples runs the example policies of docs/policies.md.
func TestExamples(t *testing.T) {
	many := make([]string, 21)
	for i := range many {
		many[i] = fmt.Sprintf("mailbox:user%d", i)
	}
	cases := []struct {
		file string
		name string
		req  req
		want want
	}{
		{"mfa-required", "MFA session", req{mfa: true}, want{allowed: true, approvals: leads1, max: eightHour, policies: []string{"support-lead-approves"}}},
		{"mfa-required", "isolated without MFA is refused too", req{isolated: true}, want{reasonHas: "TOTP code (policy mfa-required)", policies: []string{"mfa-required"}}},
		{"mfa-required", "admin level on MFA", req{mfa: true, level: lockbox.LevelAdmin}, want{allowed: true, approvals: leads1, max: eightHour}},

		{"admin-isolated-two-groups", "admin from an isolated identity needs two groups", req{isolated: true, level: lockbox.LevelAdmin},
			want{allowed: true, approvals: leadsOps, max: 2 * time.Hour, policies: []string{"admin-two-groups"}}},
		{"admin-isolated-two-groups", "admin from an ordinary identity is refused", req{mfa: true, level: lockbox.LevelAdmin},
			want{reasonHas: "admin access needs an isolated identity", policies: []string{"admin-needs-isolated"}}},
		{"admin-isolated-two-groups", "write needs one lead", req{mfa: true, level: lockbox.LevelWrite},
			want{allowed: true, approvals: leads1, max: eightHour, policies: []string{"read-write-one-lead"}}},

		{"sev1-mailbox-read", "one mailbox, read, severity 1: one lead", req{severity: 1},
			want{allowed: true, approvals: leads1, max: 4 * time.Hour, policies: []string{"sev1-one-mailbox-read"}}},
		{"sev1-mailbox-read", "the requester's own severity-1 ticket: two groups", req{severity: 1, opener: "self"},
			want{allowed: true, approvals: leadsOps, max: eightHour, policies: []string{"everything-else"}}},
		{"sev1-mailbox-read", "a colleague's severity-1 ticket: two groups", req{severity: 1, opener: "colleague"},
			want{allowed: true, approvals: leadsOps, max: eightHour, policies: []string{"everything-else"}}},
		{"sev1-mailbox-read", "severity 2: two groups", req{severity: 2},
			want{allowed: true, approvals: leadsOps, max: eightHour, policies: []string{"everything-else"}}},
		{"sev1-mailbox-read", "two mailboxes: two groups", req{severity: 1, resources: []string{"mailbox:a", "mailbox:b"}},
			want{allowed: true, approvals: leadsOps, max: eightHour, policies: []string{"everything-else"}}},
		{"sev1-mailbox-read", "write: two groups", req{severity: 1, level: lockbox.LevelWrite},
			want{allowed: true, approvals: leadsOps, max: eightHour}},
		{"sev1-mailbox-read", "a calendar: two groups", req{severity: 1, resources: []string{"calendar:a"}},
			want{allowed: true, approvals: leadsOps, max: eightHour}},

		{"max-20-resources", "20 resources", req{mfa: true, resources: many[:20]}, want{allowed: true, approvals: leads1, max: eightHour}},
		{"max-20-resources", "21 resources", req{mfa: true, resources: many},
			want{reasonHas: "at most 20 resources: split it (policy at-most-20-resources)", policies: []string{"at-most-20-resources"}}},

		{"incident-4h", "4h for support", req{duration: 4 * time.Hour}, want{allowed: true, approvals: leads1, max: eightHour}},
		{"incident-4h", "4h1s for support is refused", req{duration: 4*time.Hour + time.Second},
			want{reasonHas: "at most 4 hours", policies: []string{"four-hours-outside-incidents"}}},
		{"incident-4h", "6h for legal is refused", req{duration: 6 * time.Hour, reason: lockbox.ReasonLegal}, want{reasonHas: "at most 4 hours"}},
		{"incident-4h", "6h for an incident", req{duration: 6 * time.Hour, reason: lockbox.ReasonIncident},
			want{allowed: true, approvals: leads1, max: eightHour, policies: []string{"support-lead-approves"}, reasonHas: ""}},
	}
	sets := map[string]*cedar.PolicySet{}
	for _, c := range cases {
		t.Run(c.file+"/"+c.name, func(t *testing.T) {
			s, ok := sets[c.file]
			if !ok {
				s = load(t, filepath.Join("..", "docs", "policies", c.file+".cedar"))
				sets[c.file] = s
			}
			check(t, decide(t, s, c.req), c.want)
		})
	}
}

// TestStrictestWins runs permits that apply together, across one resource
// and across several, and forbids that override permits.
func TestStrictestWins(t *testing.T) {
	s := load(t, "testdata/conflicting.cedar")
	leads2Ops := []lockbox.GroupApprovals{{Group: "support-leads", Count: 2}, {Group: "devops-managers", Count: 1}}
	cases := []struct {
		name string
		req  req
		want want
	}{
		{"one permit", req{}, want{allowed: true, approvals: leads1, max: 4 * time.Hour, policies: []string{"mailboxes"}}},
		{"across resources: union of groups, highest count, shortest cap",
			req{resources: []string{"mailbox:a", "database:b"}},
			want{allowed: true, approvals: leads2Ops, max: 2 * time.Hour, policies: []string{"mailboxes", "databases"}}},
		{"a waiver alone skips the internal step", req{resources: []string{"wiki:home"}},
			want{allowed: true, max: eightHour, policies: []string{"wiki-read"}}},
		{"a waiver and a requirement: the requirement wins",
			req{resources: []string{"wiki:home", "mailbox:a"}},
			want{allowed: true, approvals: leads1, max: 4 * time.Hour, policies: []string{"mailboxes", "wiki-read"}}},
		{"on one resource, a waiver and a requirement: the requirement and the shorter cap win",
			req{severity: 1, assigned: true},
			want{allowed: true, approvals: leads1, max: hour, policies: []string{"mailboxes", "own-critical-ticket"}}},
		{"two waivers: waived, shortest cap",
			req{severity: 1, assigned: true, resources: []string{"wiki:home"}},
			want{allowed: true, max: hour, policies: []string{"own-critical-ticket", "wiki-read"}}},
		{"the tenant's cap is lower than every policy's", req{tenantMax: 30 * time.Minute},
			want{allowed: true, approvals: leads1, max: 30 * time.Minute}},
		{"forbid overrides a permit", req{resources: []string{"secret:root"}},
			want{reasonHas: "secrets are never accessed through lockbox (policy no-secrets)", policies: []string{"no-secrets"}}},
		{"one forbidden resource refuses the whole request", req{resources: []string{"mailbox:a", "secret:root"}},
			want{reasonHas: "never accessed", policies: []string{"no-secrets"}}},
		{"no permit for a resource refuses", req{resources: []string{"mailbox:a", "calendar:b"}},
			want{reasonHas: "no policy permits read access to calendar:b", policies: []string{}}},
		{"a forbid that fails to evaluate refuses", req{resources: []string{"overflow:x"}},
			want{reasonHas: "policy overflow (testdata/conflicting.cedar:38:1) could not be evaluated for overflow:x: integer overflow"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { check(t, decide(t, s, c.req), c.want) })
	}
}

// builtinPolicy is the Go policy lockbox ran before Cedar, kept verbatim
// (less its reasons' wording) as the oracle the default policy file must
// reproduce. An empty InternalGroup skipped the internal step.
type builtinPolicy struct{ InternalGroup string }

func (b builtinPolicy) Evaluate(_ context.Context, in lockbox.PolicyInput) (lockbox.Decision, error) {
	d := lockbox.Decision{Allowed: true, InternalApprovals: []lockbox.GroupApprovals{}, MaxDuration: in.Tenant.Lockbox.MaxAccessDuration}
	if !in.MFA && !in.Requester.Isolated {
		d.Allowed = false
	}
	if in.AccessLevel == lockbox.LevelAdmin && !in.Requester.Isolated {
		d.Allowed = false
	}
	if b.InternalGroup != "" {
		d.InternalApprovals = append(d.InternalApprovals, lockbox.GroupApprovals{Group: b.InternalGroup, Count: 1})
	} else {
		d.InternalApprovalWaived = true
	}
	return d, nil
}

// TestDefaultReproducesBuiltin compares the default policy file with the
// former built-in policy over every combination of the inputs either reads.
func TestDefaultReproducesBuiltin(t *testing.T) {
	for _, group := range []string{"", "-", "oncall"} {
		set, err := cedar.Default(group)
		if err != nil {
			t.Fatal(err)
		}
		oracle := builtinPolicy{InternalGroup: map[string]string{"": "support-leads", "-": "", "oncall": "oncall"}[group]}
		n := 0
		for _, mfa := range []bool{false, true} {
			for _, isolated := range []bool{false, true} {
				for _, groups := range [][]string{nil, {"support-leads"}, {"oncall", "devops-managers"}} {
					for _, level := range lockbox.AccessLevels {
						for _, reason := range lockbox.ReasonTypes {
							for _, dur := range []time.Duration{time.Minute, 4 * time.Hour, 8 * time.Hour, 24 * time.Hour} {
								for _, tenantMax := range []time.Duration{time.Hour, 8 * time.Hour, 72 * time.Hour} {
									for _, resources := range [][]string{{"mailbox:alice"}, {"mailbox:a", "db:b", "plain"}} {
										for _, severity := range []int{1, 4} {
											r := req{groups: groups, mfa: mfa, isolated: isolated, level: level, reason: reason, duration: dur,
												tenantMax: tenantMax, resources: resources, severity: severity}
											got, want := decide(t, set, r), decide(t, oracle, r)
											n++
											if got.Allowed != want.Allowed || got.MaxDuration != want.MaxDuration ||
												got.CustomerApprovalRequired != want.CustomerApprovalRequired ||
												(want.Allowed && (!slices.Equal(got.InternalApprovals, want.InternalApprovals) ||
													got.InternalApprovalWaived != want.InternalApprovalWaived)) {
												t.Fatalf("group %q, %+v:\ndefault.cedar %+v\nbuilt-in      %+v", group, r, got, want)
											}
											if len(got.Policies) == 0 {
												t.Fatalf("%+v: the decision names no policy", r)
											}
										}
									}
								}
							}
						}
					}
				}
			}
		}
		t.Logf("group %q: %d inputs agree", group, n)
	}
	d := decide(t, mustDefault(t, ""), req{mfa: true})
	if !slices.Equal(d.Policies, []string{"default/internal-approval"}) {
		t.Fatalf("policies %v", d.Policies)
	}
	d = decide(t, mustDefault(t, ""), req{level: lockbox.LevelAdmin})
	if !slices.Equal(d.Policies, []string{"default/mfa-or-isolated", "default/admin-needs-isolated"}) || len(d.Reasons) != 2 {
		t.Fatalf("refusal: policies %v, reasons %q", d.Policies, d.Reasons)
	}
	if _, err := cedar.Default("Support Leads"); err == nil || !strings.Contains(err.Error(), "--internal-approval-group") {
		t.Fatalf("a bad group name: %v", err)
	}
}

func mustDefault(t *testing.T, group string) *cedar.PolicySet {
	t.Helper()
	s, err := cedar.Default(group)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestLoadErrors checks that each mistake is reported at its place, with
// a message that says what to do, and that nothing is loaded.
func TestLoadErrors(t *testing.T) {
	const permit = "@approvers(\"support-leads:1\")\npermit (principal, action, resource)"
	cases := []struct {
		name, src string
		want      []string // the problems, exactly, in order
	}{
		{"unknown principal attribute", permit + " when {\n  principal.mfaa };",
			[]string{"p.cedar:3:13: principal has no attribute \"mfaa\": its attributes are groups, isolated, mfa, roles"}},
		{"unknown context attribute", permit + " when { context has severity && context.severity == 1 };",
			[]string{"p.cedar:2:57: context has no attribute \"severity\": its attributes are duration, reason_type, resource_count, ticket",
				"p.cedar:2:77: context has no attribute \"severity\": its attributes are duration, reason_type, resource_count, ticket"}},
		{"unknown ticket attribute", permit + " when { context.ticket.sev == 1 };",
			[]string{"p.cedar:2:60: context.ticket has no attribute \"sev\": its attributes are age, assignee_is_requester, opened_by, opened_by_requester, severity, severity_set_by, severity_set_by_requester"}},
		{"who opened a ticket is a kind of user", permit + " when { context.ticket.opened_by == \"engineer\" };",
			[]string{"p.cedar:2:73: context.ticket.opened_by is never \"engineer\": use one of customer, operator"}},
		{"unknown resource attribute after an id", "@id(\"x\")\n" + permit + " when { resource.owner == \"me\" };",
			[]string{"p.cedar:3:54: resource has no attribute \"owner\": its attributes are kind, name, tenant"}},
		{"unknown entity type", permit[:len(permit)-len("resource)")] + "resource is Lockbox::Mailbox);",
			[]string{"p.cedar:2:40: unrecognized entity type `Lockbox::Mailbox` (policy policy0)",
				"p.cedar:1:1: unable to find an applicable action given the policy scope constraints (policy policy0)"}},
		{"unknown action", "@approvers(\"support-leads:1\")\npermit (principal, action == Lockbox::Action::\"delete\", resource);",
			[]string{"p.cedar:2:47: unrecognized action `Lockbox::Action::\"delete\"` (policy policy0)",
				"p.cedar:1:1: unable to find an applicable action given the policy scope constraints (policy policy0)"}},
		{"wrong type", permit + " when { context.duration > \"4h\" };",
			[]string{"p.cedar:1:1: unexpected type: expected Long but saw String (policy policy0)"}},
		{"a reason type that does not exist", permit + " when { context.reason_type == \"incident\" };",
			[]string{"p.cedar:2:68: context.reason_type is never \"incident\": use one of customer_initiated_support, operator_initiated_service, incident_response, legal_request"}},
		{"a group name that cannot exist", permit + " when { principal.groups.contains(\"Support Leads\") };",
			[]string{"p.cedar:2:71: principal.groups can never contain \"Support Leads\": \"Support Leads\" is not a group name (lower-case letters, digits, '.', '_' or '-', at most 63)"}},
		{"syntax error", permit + " when { principal.mfa && };",
			[]string{"p.cedar:2:63: syntax error: invalid primary, found \";\""}},
		{"unterminated", permit,
			[]string{"p.cedar:2:37: syntax error: expected \";\" at the end of the file"}},
		{"approvers without a count", "@approvers(\"support-leads\")\npermit (principal, action, resource);",
			[]string{"p.cedar:1:1: @approvers(\"support-leads\"): \"support-leads\": write group:count, such as \"support-leads:1\""}},
		{"approvers with a zero count", "@approvers(\"support-leads:0\")\npermit (principal, action, resource);",
			[]string{"p.cedar:1:1: @approvers(\"support-leads:0\"): \"support-leads:0\": the count must be a whole number from 1 to 10"}},
		{"a group twice", "@approvers(\"a:1, a:2\")\npermit (principal, action, resource);",
			[]string{"p.cedar:1:1: @approvers(\"a:1, a:2\"): group \"a\" is named twice"}},
		{"max_duration that is not a duration", "@max_duration(\"4 hours\")\n" + permit + ";",
			[]string{"p.cedar:1:1: @max_duration(\"4 hours\") is not a positive Go duration such as \"4h\" or \"90m\""}},
		{"negative max_duration", "@max_duration(\"-1h\")\n" + permit + ";",
			[]string{"p.cedar:1:1: @max_duration(\"-1h\") is not a positive Go duration such as \"4h\" or \"90m\""}},
		{"internal_approval maybe", "@internal_approval(\"maybe\")\n" + permit + ";",
			[]string{"p.cedar:1:1: @internal_approval(\"maybe\"): use \"none\" (skip the internal step) or \"required\""}},
		{"none and approvers", "@internal_approval(\"none\")\n" + permit + ";",
			[]string{"p.cedar:1:1: @internal_approval(\"none\") and @approvers contradict each other: keep one"}},
		{"a permit silent on the internal step", "@id(\"quiet\")\npermit (principal, action, resource);",
			[]string{"p.cedar:1:1: permit quiet says nothing of the internal step: name its approvers with @approvers(\"group:count\") or skip it with @internal_approval(\"none\")"}},
		{"required without approvers", "@internal_approval(\"required\")\npermit (principal, action, resource);",
			[]string{"p.cedar:1:1: @internal_approval(\"required\") needs @approvers(\"group:count\") naming who approves"}},
		{"requirements on a forbid", permit + ";\n@max_duration(\"1h\") forbid (principal, action, resource);",
			[]string{"p.cedar:3:1: @max_duration on a forbid: a forbid refuses; requirements belong on permits"}},
		{"waiving the customer", permit + ";\n@customer_approval(\"none\")\n" + permit + ";",
			[]string{"p.cedar:3:1: @customer_approval: the customer's approval cannot be waived by policy; only the tenant's admins switch lockbox off"}},
		{"unknown annotation", "@aprovers(\"support-leads:1\")\npermit (principal, action, resource);",
			[]string{"p.cedar:1:1: unknown annotation @aprovers: lockbox reads @id, @reason, @description, @approvers, @max_duration, @internal_approval",
				"p.cedar:1:1: permit policy0 says nothing of the internal step: name its approvers with @approvers(\"group:count\") or skip it with @internal_approval(\"none\")"}},
		{"duplicate ids", "@id(\"a\")\n" + permit + ";\n\n@id(\"a\")\n" + permit + ";",
			[]string{"p.cedar:5:1: policy id \"a\" is already used by the policy at p.cedar:1:1: give each policy its own @id"}},
		{"an @id colliding with a position id", permit + ";\n@id(\"policy0\")\n" + permit + ";",
			[]string{"p.cedar:3:1: policy id \"policy0\" is already used by the policy at p.cedar:1:1: give each policy its own @id"}},
		{"empty", "// nothing yet\n",
			[]string{"p.cedar: the file holds no policy, so every request would be refused: start from the default policy (docs/policies.md)"}},
		{"forbids only", "forbid (principal, action, resource) when { context.resource_count > 20 };",
			[]string{"p.cedar: the file holds no permit, so every request would be refused: add a permit (docs/policies.md)"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, err := cedar.Parse("p.cedar", []byte(c.src))
			if err == nil {
				t.Fatalf("loaded %v", s.IDs())
			}
			if lockbox.ErrorCodeOf(err) != lockbox.CodeInvalid {
				t.Fatalf("error code %s: %v", lockbox.ErrorCodeOf(err), err)
			}
			if got := details(err); !slices.Equal(got, c.want) {
				t.Fatalf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(c.want, "\n"))
			}
			if !strings.HasPrefix(err.Error(), "policy file p.cedar is invalid (") {
				t.Fatalf("message %q", err)
			}
		})
	}
}

// TestHolderReload checks that an invalid file at reload keeps the running
// policy, that a refused commit keeps it too, and that a valid file
// replaces it.
func TestHolderReload(t *testing.T) {
	path := filepath.Join(t.TempDir(), "policy.cedar")
	write := func(src string) {
		if err := os.WriteFile(path, []byte(src), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("@id(\"v1\")\n@approvers(\"support-leads:1\")\npermit (principal, action, resource);\n")
	clock := now
	h, err := cedar.FileHolder(path, func() time.Time { return clock })
	if err != nil {
		t.Fatal(err)
	}
	first := h.PolicyInfo()
	if first.Source != path || !slices.Equal(first.Policies, []string{"v1"}) || !first.LoadedAt.Equal(now) || len(first.SHA256) != 64 {
		t.Fatalf("info %+v", first)
	}
	policiesNow := func() []string { return decide(t, h, req{mfa: true}).Policies }

	clock = now.Add(time.Minute)
	write("@id(\"v2\")\n@approvers(\"support-leads:1\")\npermit (principal, action, resource) when { principal.mfaa };\n")
	_, err = h.Reload(func(old, next lockbox.PolicyInfo) error { t.Fatal("commit called for an invalid file"); return nil })
	if got := details(err); len(got) != 1 || !strings.HasPrefix(got[0], path+":3:55: principal has no attribute \"mfaa\"") {
		t.Fatalf("reload of an invalid file: %v %q", err, got)
	}
	if h.PolicyInfo().SHA256 != first.SHA256 || !slices.Equal(policiesNow(), []string{"v1"}) {
		t.Fatal("an invalid file replaced the running policy")
	}

	write("@id(\"v2\")\n@internal_approval(\"none\")\npermit (principal, action, resource);\n")
	if _, err := h.Reload(func(old, next lockbox.PolicyInfo) error { return fmt.Errorf("the log is down") }); err == nil {
		t.Fatal("a refused commit reloaded")
	}
	if !slices.Equal(policiesNow(), []string{"v1"}) {
		t.Fatal("a refused commit replaced the running policy")
	}

	var seenOld, seenNext lockbox.PolicyInfo
	info, err := h.Reload(func(old, next lockbox.PolicyInfo) error { seenOld, seenNext = old, next; return nil })
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(info.Policies, []string{"v2"}) || !info.LoadedAt.Equal(clock) || seenOld.SHA256 != first.SHA256 || seenNext.SHA256 != info.SHA256 {
		t.Fatalf("reload: %+v (commit saw %+v -> %+v)", info, seenOld, seenNext)
	}
	if !slices.Equal(policiesNow(), []string{"v2"}) || !decide(t, h, req{mfa: true}).InternalApprovalWaived {
		t.Fatal("the new policy does not run")
	}

	// A missing file at reload keeps the policy too.
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Reload(nil); err == nil || lockbox.ErrorCodeOf(err) != lockbox.CodeInvalid {
		t.Fatalf("reload of a missing file: %v", err)
	}
	if !slices.Equal(policiesNow(), []string{"v2"}) {
		t.Fatal("a missing file replaced the running policy")
	}
	// An invalid file never starts.
	if _, err := cedar.FileHolder(path, nil); err == nil {
		t.Fatal("a holder started on a missing file")
	}
}

// TestHolderConcurrent decides while reloading (run with -race).
func TestHolderConcurrent(t *testing.T) {
	h, err := cedar.DefaultHolder("", nil)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 50 {
			if _, err := h.Reload(nil); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	in := req{mfa: true}.input()
	for range 200 {
		if d, err := h.Evaluate(context.Background(), in); err != nil || !d.Allowed {
			t.Fatalf("%+v %v", d, err)
		}
	}
	<-done
}

// TestEvaluateInput checks what the policy sees of a request: resource
// kind and name, tenant, ticket age, and that an unknown level is refused
// as invalid input.
func TestEvaluateInput(t *testing.T) {
	s, err := cedar.Parse("p.cedar", []byte(`
@id("exact")
@internal_approval("none")
permit (principal == Lockbox::Engineer::"usr_eng", action == Lockbox::Action::"write", resource == Lockbox::Resource::"mailbox:alice:inbox")
when {
  resource.kind == "mailbox" && resource.name == "alice:inbox" && resource.tenant == "ten_acme" &&
  context.ticket.age == 3600 && context.ticket.severity == 3 && context.ticket.assignee_is_requester &&
  context.ticket.opened_by == "operator" && context.ticket.opened_by_requester &&
  context.ticket.severity_set_by == "operator" && context.ticket.severity_set_by_requester &&
  context.duration == 5400 && context.resource_count == 2 && context.reason_type == "legal_request" &&
  principal.groups.contains("dba") && principal.roles.contains("engineer") && principal.mfa && !principal.isolated
};
@id("plain")
@internal_approval("none")
permit (principal, action, resource)
when { resource.kind == "" && resource.name == "plain" };
`))
	if err != nil {
		t.Fatalf("%v %q", err, details(err))
	}
	d := decide(t, s, req{groups: []string{"dba"}, mfa: true, level: lockbox.LevelWrite, resources: []string{"mailbox:alice:inbox", "plain"},
		reason: lockbox.ReasonLegal, duration: 90 * time.Minute, severity: 3, assigned: true, opener: "self"})
	check(t, d, want{allowed: true, max: eightHour, policies: []string{"exact", "plain"}})
	// A ticket a colleague opened is an operator's, not the requester's.
	d = decide(t, s, req{groups: []string{"dba"}, mfa: true, level: lockbox.LevelWrite, resources: []string{"mailbox:alice:inbox", "plain"},
		reason: lockbox.ReasonLegal, duration: 90 * time.Minute, severity: 3, assigned: true, opener: "colleague"})
	check(t, d, want{reasonHas: "no policy permits write access to mailbox:alice:inbox"})

	in := req{}.input()
	in.AccessLevel = "root"
	if _, err := s.Evaluate(context.Background(), in); lockbox.ErrorCodeOf(err) != lockbox.CodeInvalid {
		t.Fatalf("unknown level: %v", err)
	}
	in = req{}.input()
	in.Resources = nil
	if _, err := s.Evaluate(context.Background(), in); lockbox.ErrorCodeOf(err) != lockbox.CodeInvalid {
		t.Fatalf("no resources: %v", err)
	}
	if kind, name := cedar.SplitResource("db:orders:eu"); kind != "db" || name != "orders:eu" {
		t.Fatalf("SplitResource: %q %q", kind, name)
	}
}

// FuzzParse feeds arbitrary files to the loader: it never panics, and a
// file it accepts decides a request without error.
func FuzzParse(f *testing.F) {
	f.Add(string(cedar.DefaultText))
	for _, p := range []string{"../docs/policies/sev1-mailbox-read.cedar", "testdata/conflicting.cedar"} {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(b))
	}
	f.Add("@approvers(\"a:1\") permit(principal, action, resource) when { principal.mfaa };")
	in := req{mfa: true, resources: []string{"mailbox:a", "database:b"}}.input()
	f.Fuzz(func(t *testing.T, src string) {
		s, err := cedar.Parse("f.cedar", []byte(src))
		if err != nil {
			if lockbox.ErrorCodeOf(err) != lockbox.CodeInvalid || len(details(err)) == 0 {
				t.Fatalf("error without problems: %v", err)
			}
			return
		}
		if _, err := s.Evaluate(context.Background(), in); err != nil {
			t.Fatal(err)
		}
	})
}
