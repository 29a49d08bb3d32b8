// Package cedar is lockbox's JIT policy (lockbox.Policy) written in Cedar
// and evaluated with cedar-go.
//
// A policy file is a list of Cedar policies over the schema in
// lockbox.cedarschema. The principal is the requesting engineer
// (Lockbox::Engineer: groups, isolated, mfa, roles), the action is the
// access level (Lockbox::Action::"read", "write" or "admin"), the resource
// is each requested resource in turn (Lockbox::Resource: kind, name,
// tenant), and the context holds the ticket (severity, age in seconds,
// assignee_is_requester), the reason type, the requested duration in
// seconds and the number of resources.
//
// A request is allowed when, for every resource, a permit applies and no
// forbid does. The permits that applied state what the request then needs,
// in annotations:
//
//	@approvers("support-leads:1,devops-managers:1")  internal approvals
//	@max_duration("4h")                              a duration cap
//	@internal_approval("none")                       no internal step
//
// When several permits apply (to one resource or across resources), the
// strictest requirement wins: every group any of them names, with the
// largest count any of them asks of it; the shortest max_duration; and the
// internal step is skipped only when every one of them says
// @internal_approval("none"). A forbid refuses; its @reason, if any, is
// shown to the engineer. @id names a policy in decisions and errors
// (default: policy0, policy1, … by position in the file).
//
// Files are validated when they are loaded: Cedar syntax, the schema
// (entity types, actions, attribute names and types, with cedar-go's
// validator), and lockbox's annotations. Every problem is reported as
// FILE:LINE:COL: message, and a file with a problem is never used.
package cedar

import (
	"context"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"fmt"
	"iter"
	"slices"
	"strings"
	"time"

	cedar "github.com/cedar-policy/cedar-go"
	"github.com/cedar-policy/cedar-go/types"

	"github.com/lockbox-dev/lockbox"
)

// Schema is the Cedar schema every policy file is validated against.
//
//go:embed lockbox.cedarschema
var Schema []byte

// DefaultText is the default policy file, which reproduces lockbox's
// original built-in policy; see Default.
//
//go:embed default.cedar
var DefaultText []byte

// DefaultSource names the embedded default policy in positions and in
// PolicyInfo.Source.
const DefaultSource = "default.cedar"

// DefaultInternalGroup is the operator group whose single approval the
// default policy asks for.
const DefaultInternalGroup = "support-leads"

// The entity types and actions of the schema.
const (
	EngineerType = types.EntityType("Lockbox::Engineer")
	ResourceType = types.EntityType("Lockbox::Resource")
	ActionType   = types.EntityType("Lockbox::Action")
)

var actions = map[lockbox.AccessLevel]types.EntityUID{
	lockbox.LevelRead:  types.NewEntityUID(ActionType, "read"),
	lockbox.LevelWrite: types.NewEntityUID(ActionType, "write"),
	lockbox.LevelAdmin: types.NewEntityUID(ActionType, "admin"),
}

// PolicySet is a validated policy file, ready to decide requests. It never
// changes once loaded and is safe for concurrent use.
type PolicySet struct {
	info  lockbox.PolicyInfo
	rules []*rule
	byID  map[types.PolicyID]*rule
}

// rule is one policy of the file with what its annotations require.
type rule struct {
	id       types.PolicyID
	index    int // in the file
	policy   *cedar.Policy
	forbid   bool
	position string // FILE:LINE:COL
	// reason is the @reason annotation, shown when a forbid refuses.
	reason string
	// approvers, maxDuration and waiveInternal are a permit's requirements.
	approvers     []lockbox.GroupApprovals
	maxDuration   lockbox.Duration
	waiveInternal bool
}

// rules iterates the policies in file order for cedar.Authorize.
type rules []*rule

func (rs rules) All() iter.Seq2[types.PolicyID, *cedar.Policy] {
	return func(yield func(types.PolicyID, *cedar.Policy) bool) {
		for _, r := range rs {
			if !yield(r.id, r.policy) {
				return
			}
		}
	}
}

var _ lockbox.Policy = (*PolicySet)(nil)

// Parse reads and validates a policy file. file names it in positions. An
// invalid file is a *lockbox.Error with code invalid whose Details list
// every problem as FILE:LINE:COL: message.
func Parse(file string, src []byte) (*PolicySet, error) {
	rs, problems := load(file, src)
	if len(problems) > 0 {
		return nil, invalidFile(file, problems)
	}
	sum := sha256.Sum256(src)
	s := &PolicySet{
		info:  lockbox.PolicyInfo{Source: file, SHA256: hex.EncodeToString(sum[:]), Policies: make([]string, len(rs))},
		rules: rs, byID: make(map[types.PolicyID]*rule, len(rs)),
	}
	for i, r := range rs {
		s.info.Policies[i] = string(r.id)
		s.byID[r.id] = r
	}
	return s, nil
}

// invalidFile is the error of a file with problems: its message counts
// them, its details list them.
func invalidFile(file string, problems []string) error {
	n := "1 problem"
	if len(problems) != 1 {
		n = fmt.Sprintf("%d problems", len(problems))
	}
	return &lockbox.Error{Code: lockbox.CodeInvalid, Details: problems,
		Message: fmt.Sprintf("policy file %s is invalid (%s)", file, n)}
}

// Default returns the default policy with its internal approval group:
// group "" keeps support-leads, "-" waives the internal step.
func Default(group string) (*PolicySet, error) {
	src := DefaultText
	if group != "" && group != DefaultInternalGroup {
		line := fmt.Sprintf("@approvers(%q)", DefaultInternalGroup+":1")
		repl := fmt.Sprintf("@approvers(%q)", group+":1")
		if group == "-" {
			repl = `@internal_approval("none")`
		} else if err := checkGroup(group); err != nil {
			return nil, lockbox.Errorf(lockbox.CodeInvalid, "--internal-approval-group: %v", err)
		}
		src = []byte(strings.Replace(string(src), line, repl, 1))
	}
	s, err := Parse(DefaultSource, src)
	if err != nil {
		return nil, err
	}
	if group != "" && group != DefaultInternalGroup {
		s.info.Source = fmt.Sprintf("%s (internal approval group %q)", DefaultSource, group)
	}
	return s, nil
}

// Info describes the policy set; LoadedAt is left for the holder to set.
func (s *PolicySet) Info() lockbox.PolicyInfo {
	info := s.info
	info.Policies = slices.Clone(info.Policies)
	return info
}

// IDs returns the ids of the policies, in file order.
func (s *PolicySet) IDs() []string { return slices.Clone(s.info.Policies) }

// SplitResource splits a resource string into its kind and name: the parts
// before and after the first colon ("mailbox:alice" is kind "mailbox",
// name "alice"). Without a colon the kind is empty and the name is the
// whole string.
func SplitResource(r string) (kind, name string) {
	if k, n, ok := strings.Cut(r, ":"); ok {
		return k, n
	}
	return "", r
}

// Evaluate implements lockbox.Policy: each resource is authorised on its
// own, and the permits that applied are combined, strictest first.
func (s *PolicySet) Evaluate(_ context.Context, in lockbox.PolicyInput) (lockbox.Decision, error) {
	if len(in.Resources) == 0 {
		// Nothing to authorise must not read as "every resource permitted".
		return lockbox.Decision{}, lockbox.Errorf(lockbox.CodeInvalid, "resources: name at least one resource, such as \"mailbox:alice\"")
	}
	req, entities, err := request(in)
	if err != nil {
		return lockbox.Decision{}, err
	}
	var (
		applied     = make([]bool, len(s.rules)) // permits that applied, by index
		forbids     = map[*rule][]string{}       // forbids that applied, with their resources
		unpermitted []string                     // resources no permit applied to
		failed      []string
	)
	for i, res := range in.Resources {
		entities.current = i
		req.Resource = entities.resources[i].UID
		dec, diag := cedar.Authorize(rules(s.rules), entities, req)
		for _, e := range diag.Errors {
			r := s.byID[e.PolicyID]
			failed = append(failed, fmt.Sprintf("policy %s (%s) could not be evaluated for %s: %s", e.PolicyID, r.position, res, e.Message))
		}
		if dec == cedar.Allow {
			for _, reason := range diag.Reasons {
				applied[s.byID[reason.PolicyID].index] = true
			}
			continue
		}
		if len(diag.Reasons) == 0 {
			unpermitted = append(unpermitted, res)
		}
		for _, reason := range diag.Reasons {
			r := s.byID[reason.PolicyID]
			forbids[r] = append(forbids[r], res)
		}
	}
	d := lockbox.Decision{InternalApprovals: []lockbox.GroupApprovals{}, Policies: []string{}}
	if len(forbids) > 0 || len(unpermitted) > 0 || len(failed) > 0 {
		// Refused: the forbids that applied say why, in file order.
		for _, r := range s.rules {
			res, ok := forbids[r]
			if !ok {
				continue
			}
			d.Policies = append(d.Policies, string(r.id))
			if r.reason != "" {
				d.Reasons = append(d.Reasons, fmt.Sprintf("%s (policy %s)", r.reason, r.id))
			} else {
				d.Reasons = append(d.Reasons, fmt.Sprintf("policy %s forbids %s access to %s", r.id, in.AccessLevel, strings.Join(res, ", ")))
			}
		}
		if len(unpermitted) > 0 {
			d.Reasons = append(d.Reasons, fmt.Sprintf("no policy permits %s access to %s", in.AccessLevel, strings.Join(unpermitted, ", ")))
		}
		// A policy that fails to evaluate refuses: a forbid that cannot be
		// evaluated must not let the request through.
		d.Reasons = append(d.Reasons, failed...)
		return d, nil
	}
	d.Allowed = true
	d.InternalApprovalWaived = true
	var capBy string
	for i, r := range s.rules {
		if !applied[i] {
			continue
		}
		d.Policies = append(d.Policies, string(r.id))
		d.InternalApprovalWaived = d.InternalApprovalWaived && r.waiveInternal
		for _, g := range r.approvers {
			j := slices.IndexFunc(d.InternalApprovals, func(h lockbox.GroupApprovals) bool { return h.Group == g.Group })
			if j < 0 {
				d.InternalApprovals = append(d.InternalApprovals, g)
			} else if g.Count > d.InternalApprovals[j].Count {
				d.InternalApprovals[j].Count = g.Count
			}
		}
		if r.maxDuration > 0 && (d.MaxDuration == 0 || r.maxDuration < d.MaxDuration) {
			d.MaxDuration, capBy = r.maxDuration, "policy "+string(r.id)
		}
	}
	if in.Tenant != nil {
		if t := in.Tenant.Lockbox.MaxAccessDuration; t > 0 && (d.MaxDuration == 0 || t < d.MaxDuration) {
			d.MaxDuration, capBy = t, "the tenant's max_access_duration"
		}
	}
	if d.MaxDuration > 0 && in.Duration > d.MaxDuration {
		d.Reasons = append(d.Reasons, fmt.Sprintf("the requested duration %s is capped at %s (%s)", in.Duration, d.MaxDuration, capBy))
	}
	return d, nil
}

// request builds the Cedar request of in, without its resource, and the
// entities the policies may read: the engineer and every resource.
func request(in lockbox.PolicyInput) (cedar.Request, *entities, error) {
	action, ok := actions[in.AccessLevel]
	if !ok {
		return cedar.Request{}, nil, lockbox.Errorf(lockbox.CodeInvalid, "access_level must be one of %v", lockbox.AccessLevels)
	}
	if in.Requester == nil {
		return cedar.Request{}, nil, lockbox.Errorf(lockbox.CodeInvalid, "the policy input has no requester")
	}
	u := in.Requester
	groups := make([]types.Value, len(u.Groups))
	for i, g := range u.Groups {
		groups[i] = types.String(g)
	}
	roles := make([]types.Value, len(u.Roles))
	for i, r := range u.Roles {
		roles[i] = types.String(r)
	}
	principal := types.NewEntityUID(EngineerType, types.String(u.ID))
	entities := &entities{principal: types.Entity{UID: principal, Attributes: types.NewRecord(types.RecordMap{
		"groups":   types.NewSet(groups...),
		"isolated": types.Boolean(u.Isolated),
		"mfa":      types.Boolean(in.MFA),
		"roles":    types.NewSet(roles...),
	})}, resources: make([]types.Entity, len(in.Resources))}
	var tenant types.String
	if in.Tenant != nil {
		tenant = types.String(in.Tenant.ID)
	}
	for i, res := range in.Resources {
		kind, name := SplitResource(res)
		entities.resources[i] = types.Entity{UID: types.NewEntityUID(ResourceType, types.String(res)), Attributes: types.NewRecord(types.RecordMap{
			"kind": types.String(kind), "name": types.String(name), "tenant": tenant,
		})}
	}
	var severity, age int64
	var assigned, openedByRequester, severityByRequester bool
	var openedBy, severityBy types.String
	if t := in.Ticket; t != nil {
		severity = int64(t.Severity)
		if !t.CreatedAt.IsZero() && in.Now.After(t.CreatedAt) {
			age = int64(in.Now.Sub(t.CreatedAt) / time.Second)
		}
		assigned = t.AssigneeID != "" && t.AssigneeID == u.ID
		openedBy, severityBy = types.String(t.OpenedBy), types.String(t.SeveritySetBy)
		openedByRequester = t.CreatedBy != "" && t.CreatedBy == u.ID
		severityByRequester = t.SeveritySetByUser != "" && t.SeveritySetByUser == u.ID
	}
	ctx := types.NewRecord(types.RecordMap{
		"ticket": types.NewRecord(types.RecordMap{
			"severity": types.Long(severity), "age": types.Long(age), "assignee_is_requester": types.Boolean(assigned),
			"opened_by": openedBy, "opened_by_requester": types.Boolean(openedByRequester),
			"severity_set_by": severityBy, "severity_set_by_requester": types.Boolean(severityByRequester),
		}),
		"reason_type":    types.String(in.ReasonType),
		"duration":       types.Long(in.Duration.D() / time.Second),
		"resource_count": types.Long(len(in.Resources)),
	})
	return cedar.Request{Principal: principal, Action: action, Context: ctx}, entities, nil
}

// entities are the entities of one request: the engineer and the requested
// resources. A request names few resources, so a scan beats building a map
// (types.EntityMap) for every decision.
type entities struct {
	principal types.Entity
	resources []types.Entity
	current   int // the resource being authorised, looked up first
}

// Get implements types.EntityGetter.
func (e *entities) Get(uid types.EntityUID) (types.Entity, bool) {
	if uid == e.principal.UID {
		return e.principal, true
	}
	if r := e.resources[e.current]; r.UID == uid {
		return r, true
	}
	for _, r := range e.resources {
		if r.UID == uid {
			return r, true
		}
	}
	return types.Entity{}, false
}
