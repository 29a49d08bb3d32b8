package policy

import (
	"fmt"
	"strings"
	"time"
)

// rule is one policy of the benchmark's 50-policy set, written once and
// rendered both as Cedar and as Rego, so the two engines decide the same
// policy. A condition is over r (the resource: kind, name, tenant), p (the
// principal: groups, isolated, mfa, roles), a (the action) and c (the
// context: ticket, reason_type, duration, resource_count).
type rule struct {
	id        string
	forbid    bool
	reason    string
	approvers string // "group:count,…"
	max       string // Go duration
	waive     bool
	cedar     string   // the when condition; "" for none
	rego      []string // the same condition, one Rego expression a line
}

// The conditions both languages share.
func readOnly() (string, string) {
	return `action == Lockbox::Action::"read"`, `input.action == "read"`
}
func readWrite() (string, string) {
	return `action in [Lockbox::Action::"read", Lockbox::Action::"write"]`, `input.action in {"read", "write"}`
}

var kinds = []string{"mailbox", "calendar", "drive", "contacts", "chat", "wiki", "billing", "audit-log", "database", "backup",
	"queue", "cache", "dns", "cert", "vm", "bucket", "secret-meta", "attachment", "search-index", "analytics"}

// benchRules is the 50-policy set: the default policy's three rules, one
// permit per resource kind (20), and 27 rules of the kinds the docs show
// (forbids on scope, duration, reason, ticket; group-based permits).
func benchRules() []rule {
	rs := []rule{
		{id: "default/mfa-or-isolated", forbid: true, reason: "sign in with a one-time code",
			cedar: `!(principal.mfa || principal.isolated)`, rego: []string{`not input.principal.mfa`, `not input.principal.isolated`}},
		{id: "default/admin-needs-isolated", forbid: true, reason: "admin access needs an isolated identity",
			cedar: `action == Lockbox::Action::"admin" && !principal.isolated`, rego: []string{`input.action == "admin"`, `not input.principal.isolated`}},
		{id: "default/internal-approval", approvers: "support-leads:1"},
	}
	approvers := []string{"support-leads:1", "devops-managers:1", "dba:1", "support-leads:2", "security:1"}
	maxes := []string{"8h", "4h", "2h", "1h", "12h"}
	for i, k := range kinds {
		r := rule{id: "kind-" + k, approvers: approvers[i%len(approvers)], max: maxes[i%len(maxes)]}
		switch i % 3 {
		case 0:
			lc, lr := readOnly()
			r.cedar, r.rego = fmt.Sprintf(`resource.kind == %q && %s`, k, lc), []string{fmt.Sprintf(`r.kind == %q`, k), lr}
		case 1:
			lc, lr := readWrite()
			r.cedar, r.rego = fmt.Sprintf(`resource.kind == %q && %s`, k, lc), []string{fmt.Sprintf(`r.kind == %q`, k), lr}
		default:
			r.cedar, r.rego = fmt.Sprintf(`resource.kind == %q`, k), []string{fmt.Sprintf(`r.kind == %q`, k)}
		}
		rs = append(rs, r)
	}
	rs = append(rs,
		rule{id: "at-most-20-resources", forbid: true, reason: "at most 20 resources",
			cedar: `context.resource_count > 20`, rego: []string{`input.context.resource_count > 20`}},
		rule{id: "four-hours-outside-incidents", forbid: true, reason: "at most 4 hours outside incidents",
			cedar: `context.duration > 14400 && context.reason_type != "incident_response"`,
			rego:  []string{`input.context.duration > 14400`, `input.context.reason_type != "incident_response"`}},
		rule{id: "no-admin-on-billing", forbid: true, reason: "billing is never administered through lockbox",
			cedar: `action == Lockbox::Action::"admin" && resource.kind == "billing"`, rego: []string{`input.action == "admin"`, `r.kind == "billing"`}},
		rule{id: "audit-log-read-only", forbid: true, reason: "the audit log is read-only",
			cedar: `action != Lockbox::Action::"read" && resource.kind == "audit-log"`, rego: []string{`input.action != "read"`, `r.kind == "audit-log"`}},
		rule{id: "no-admin-on-low-tickets", forbid: true, reason: "admin access needs a ticket of severity 1 to 3",
			cedar: `action == Lockbox::Action::"admin" && context.ticket.severity == 4`, rego: []string{`input.action == "admin"`, `input.context.ticket.severity == 4`}},
		rule{id: "legal-needs-legal", forbid: true, reason: "legal requests are filed by the legal group",
			cedar: `context.reason_type == "legal_request" && !principal.groups.contains("legal")`,
			rego:  []string{`input.context.reason_type == "legal_request"`, `not "legal" in input.principal.groups`}},
		rule{id: "stale-tickets", forbid: true, reason: "the ticket is older than 30 days",
			cedar: `context.ticket.age > 2592000`, rego: []string{`input.context.ticket.age > 2592000`}},
		rule{id: "frozen-tenant", forbid: true, reason: "the tenant is frozen",
			cedar: `resource.tenant == "ten_frozen"`, rego: []string{`r.tenant == "ten_frozen"`}},
		rule{id: "exec-mailboxes", forbid: true, reason: "executive mailboxes need exec-support",
			cedar: `resource.kind == "mailbox" && resource.name like "exec-*" && !principal.groups.contains("exec-support")`,
			rego:  []string{`r.kind == "mailbox"`, `startswith(r.name, "exec-")`, `not "exec-support" in input.principal.groups`}},
		rule{id: "operator-initiated-short", forbid: true, reason: "operator-initiated access lasts at most 2 hours",
			cedar: `context.reason_type == "operator_initiated_service" && context.duration > 7200`,
			rego:  []string{`input.context.reason_type == "operator_initiated_service"`, `input.context.duration > 7200`}},
		rule{id: "write-needs-assignee", forbid: true, reason: "write access is for the ticket's assignee",
			cedar: `action == Lockbox::Action::"write" && !context.ticket.assignee_is_requester && !principal.groups.contains("oncall")`,
			rego:  []string{`input.action == "write"`, `not input.context.ticket.assignee_is_requester`, `not "oncall" in input.principal.groups`}},
		rule{id: "gateways-never", forbid: true, reason: "service accounts never request access",
			cedar: `principal.roles.contains("gateway")`, rego: []string{`"gateway" in input.principal.roles`}},

		rule{id: "incident-commander", approvers: "incident-commanders:1", max: "12h",
			cedar: `context.reason_type == "incident_response" && context.ticket.severity == 1`,
			rego:  []string{`input.context.reason_type == "incident_response"`, `input.context.ticket.severity == 1`}},
		rule{id: "sev1-databases", approvers: "dba:1,devops-managers:1", max: "4h",
			cedar: `resource.kind == "database" && context.ticket.severity == 1`, rego: []string{`r.kind == "database"`, `input.context.ticket.severity == 1`}},
		rule{id: "wide-requests", approvers: "support-leads:2", max: "2h",
			cedar: `context.resource_count > 5`, rego: []string{`input.context.resource_count > 5`}},
		rule{id: "long-requests", approvers: "devops-managers:1",
			cedar: `context.duration > 28800`, rego: []string{`input.context.duration > 28800`}},
		rule{id: "admin-two-groups", approvers: "support-leads:1,devops-managers:1", max: "2h",
			cedar: `action == Lockbox::Action::"admin" && principal.isolated`, rego: []string{`input.action == "admin"`, `input.principal.isolated`}},
		rule{id: "write-lead", approvers: "support-leads:1", max: "4h",
			cedar: `action == Lockbox::Action::"write"`, rego: []string{`input.action == "write"`}},
		rule{id: "legal-review", approvers: "legal:1,security:1", max: "8h",
			cedar: `context.reason_type == "legal_request"`, rego: []string{`input.context.reason_type == "legal_request"`}},
		rule{id: "security-assets", approvers: "security:2", max: "1h",
			cedar: `resource.kind == "cert" || resource.kind == "secret-meta" || resource.kind == "dns"`,
			rego:  nil}, // an or: rendered below as three Rego rules
		rule{id: "exec-support", approvers: "exec-support-leads:1", max: "2h",
			cedar: `resource.kind == "mailbox" && resource.name like "exec-*"`, rego: []string{`r.kind == "mailbox"`, `startswith(r.name, "exec-")`}},
		rule{id: "unassigned-ticket", approvers: "support-leads:1,duty-managers:1",
			cedar: `!context.ticket.assignee_is_requester`, rego: []string{`not input.context.ticket.assignee_is_requester`}},
		rule{id: "fresh-ticket", approvers: "support-leads:1", max: "6h",
			cedar: `context.ticket.age < 3600`, rego: []string{`input.context.ticket.age < 3600`}},
		rule{id: "operator-initiated", approvers: "devops-managers:1", max: "2h",
			cedar: `context.reason_type == "operator_initiated_service"`, rego: []string{`input.context.reason_type == "operator_initiated_service"`}},
		rule{id: "oncall-backup-restore", approvers: "oncall-leads:1", max: "3h",
			cedar: `resource.kind == "backup" && principal.groups.contains("oncall")`, rego: []string{`r.kind == "backup"`, `"oncall" in input.principal.groups`}},
		rule{id: "eu-tenants", approvers: "eu-support-leads:1",
			cedar: `resource.tenant like "ten_eu_*"`, rego: []string{`startswith(r.tenant, "ten_eu_")`}},
		rule{id: "wiki-self-service", waive: true, max: "8h",
			cedar: `resource.kind == "wiki" && action == Lockbox::Action::"read"`, rego: []string{`r.kind == "wiki"`, `input.action == "read"`}},
	)
	if len(rs) != 50 {
		panic(fmt.Sprintf("the benchmark set has %d policies, not 50", len(rs)))
	}
	return rs
}

// cedarText renders the rules as a Cedar policy file.
func cedarText(rs []rule) string {
	var b strings.Builder
	for _, r := range rs {
		fmt.Fprintf(&b, "@id(%q)\n", r.id)
		if r.reason != "" {
			fmt.Fprintf(&b, "@reason(%q)\n", r.reason)
		}
		if r.approvers != "" {
			fmt.Fprintf(&b, "@approvers(%q)\n", r.approvers)
		}
		if r.waive {
			b.WriteString("@internal_approval(\"none\")\n")
		}
		if r.max != "" {
			fmt.Fprintf(&b, "@max_duration(%q)\n", r.max)
		}
		effect := "permit"
		if r.forbid {
			effect = "forbid"
		}
		fmt.Fprintf(&b, "%s (principal, action, resource)", effect)
		if r.cedar != "" {
			fmt.Fprintf(&b, "\nwhen { %s }", r.cedar)
		}
		b.WriteString(";\n\n")
	}
	return b.String()
}

// regoText renders the rules as a Rego module computing the same decision
// as the Cedar set with lockbox's combination rules: every resource needs a
// permit and no forbid; the permits that applied combine strictest first
// (union of groups with the largest count, the shortest cap, the internal
// step skipped only if every one skips it).
func regoText(rs []rule) string {
	var b strings.Builder
	b.WriteString("package lockbox\n\n")
	for _, r := range rs {
		set := "permit_hits"
		if r.forbid {
			set = "forbid_hits"
		}
		bodies := [][]string{r.rego}
		if r.id == "security-assets" {
			bodies = [][]string{{`r.kind == "cert"`}, {`r.kind == "secret-meta"`}, {`r.kind == "dns"`}}
		}
		for _, body := range bodies {
			fmt.Fprintf(&b, "%s contains [i, %q] if {\n\tsome i, r in input.resources\n", set, r.id)
			for _, line := range body {
				fmt.Fprintf(&b, "\t%s\n", line)
			}
			b.WriteString("}\n\n")
		}
	}
	b.WriteString("requirements := {\n")
	for _, r := range rs {
		if r.forbid {
			continue
		}
		var groups []string
		if r.approvers != "" {
			for item := range strings.SplitSeq(r.approvers, ",") {
				g, n, _ := strings.Cut(item, ":")
				groups = append(groups, fmt.Sprintf("%q: %s", g, n))
			}
		}
		var capSeconds int64
		if r.max != "" {
			d, _ := time.ParseDuration(r.max)
			capSeconds = int64(d / time.Second)
		}
		fmt.Fprintf(&b, "\t%q: {\"approvers\": {%s}, \"max\": %d, \"waive\": %v},\n", r.id, strings.Join(groups, ", "), capSeconds, r.waive)
	}
	b.WriteString("}\n\n")
	b.WriteString("reasons := {\n")
	for _, r := range rs {
		if r.forbid {
			fmt.Fprintf(&b, "\t%q: %q,\n", r.id, r.reason)
		}
	}
	b.WriteString("}\n\n")
	b.WriteString(`permitted contains i if some [i, _] in permit_hits

allowed if {
	count(forbid_hits) == 0
	every i, _ in input.resources { i in permitted }
}

default allowed := false

applied contains id if {
	allowed
	some [_, id] in permit_hits
}

refusing contains id if some [_, id] in forbid_hits

approvals[g] := n if {
	some id in applied
	some g, _ in requirements[id].approvers
	n := max({c | some id2 in applied; c := requirements[id2].approvers[g]})
}

caps contains m if {
	some id in applied
	m := requirements[id].max
	m > 0
}

caps contains input.tenant_max if input.tenant_max > 0

waived if {
	allowed
	every id in applied { requirements[id].waive }
}

default waived := false

decision := {
	"allowed": allowed,
	"approvals": approvals,
	"max_duration": min(caps),
	"waived": waived,
	"policies": applied,
	"refused_by": refusing,
	"reasons": [reasons[id] | some id in refusing],
}
`)
	return b.String()
}
