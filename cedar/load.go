package cedar

import (
	"errors"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	cedar "github.com/cedar-policy/cedar-go"
	"github.com/cedar-policy/cedar-go/types"
	xast "github.com/cedar-policy/cedar-go/x/exp/ast"
	"github.com/cedar-policy/cedar-go/x/exp/schema"
	"github.com/cedar-policy/cedar-go/x/exp/schema/resolved"
	"github.com/cedar-policy/cedar-go/x/exp/schema/validate"

	"github.com/lockbox-dev/lockbox"
)

// The annotations lockbox reads. Any other is an error, so a misspelt
// requirement is never silently ignored.
const (
	annID          = "id"
	annReason      = "reason"
	annDescription = "description"
	annApprovers   = "approvers"
	annMaxDuration = "max_duration"
	annInternal    = "internal_approval"
)

var knownAnnotations = []string{annID, annReason, annDescription, annApprovers, annMaxDuration, annInternal}

// Limits of the annotations' values.
const (
	maxApprovalsPerGroup = 10
	maxIDLength          = 128
)

// LoadFile reads and validates a policy file.
func LoadFile(path string) (*PolicySet, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, lockbox.Errorf(lockbox.CodeInvalid, "reading the policy file: %v", err)
	}
	return Parse(path, src)
}

// schemaInfo is the embedded schema, ready to check policies.
type schemaInfo struct {
	validator *validate.Validator
	// records lists the attributes of every record a policy can reach:
	// "principal", "resource", "context", "context.ticket".
	records map[string][]string
}

// loadedSchema parses the embedded schema once.
var loadedSchema = sync.OnceValue(func() *schemaInfo {
	var s schema.Schema
	s.SetFilename("lockbox.cedarschema")
	if err := s.UnmarshalCedar(Schema); err != nil {
		panic("cedar: the embedded schema does not parse: " + err.Error())
	}
	r, err := s.Resolve()
	if err != nil {
		panic("cedar: the embedded schema does not resolve: " + err.Error())
	}
	info := &schemaInfo{validator: validate.New(r), records: map[string][]string{}}
	var add func(path string, rec resolved.RecordType)
	add = func(path string, rec resolved.RecordType) {
		for name, a := range rec {
			info.records[path] = append(info.records[path], string(name))
			if sub, ok := a.Type.(resolved.RecordType); ok {
				add(path+"."+string(name), sub)
			}
		}
		slices.Sort(info.records[path])
	}
	add("principal", r.Entities[EngineerType].Shape)
	add("resource", r.Entities[ResourceType].Shape)
	add("context", r.Actions[actions[lockbox.LevelRead]].AppliesTo.Context)
	return info
})

// source is a policy file being loaded, for positions.
type source struct {
	file string
	src  []byte
}

// pos formats a byte offset as FILE:LINE:COL (columns count characters,
// from 1).
func (s source) pos(offset int) string {
	offset = min(max(offset, 0), len(s.src))
	line := 1 + strings.Count(string(s.src[:offset]), "\n")
	start := strings.LastIndexByte(string(s.src[:offset]), '\n') + 1
	col := 1 + utf8.RuneCount(s.src[start:offset])
	return fmt.Sprintf("%s:%d:%d", s.file, line, col)
}

// span is the text of one policy: from its start (its first annotation) to
// the start of the next.
type span struct {
	source
	start, end int
}

// find returns the position of the first of the patterns found in the
// policy's text, or of the policy itself.
func (sp span) find(patterns ...*regexp.Regexp) string {
	text := string(sp.src[sp.start:sp.end])
	best := -1
	for _, p := range patterns {
		if loc := p.FindStringSubmatchIndex(text); loc != nil {
			at := loc[0]
			if len(loc) >= 4 && loc[2] >= 0 {
				at = loc[2] // the first group marks the spot
			}
			if best < 0 || at < best {
				best = at
			}
		}
	}
	if best < 0 {
		return sp.pos(sp.start)
	}
	return sp.pos(sp.start + best)
}

// load parses and validates a policy file; it returns the policies or every
// problem found, each as FILE:LINE:COL: message.
func load(file string, src []byte) ([]*rule, []string) {
	f := source{file: file, src: src}
	list, err := cedar.NewPolicyListFromBytes(file, src)
	if err != nil {
		return nil, []string{f.parseProblem(err)}
	}
	if len(list) == 0 {
		return nil, []string{file + ": the file holds no policy, so every request would be refused: start from the default policy (docs/policies.md)"}
	}
	var problems []string
	var out []*rule
	ids := map[types.PolicyID]string{} // id -> position
	permits := 0
	for i, p := range list {
		sp := span{source: f, start: p.Position().Offset, end: len(src)}
		if i+1 < len(list) {
			sp.end = list[i+1].Position().Offset
		}
		r, ps := checkPolicy(sp, i, p)
		problems = append(problems, ps...)
		if at, dup := ids[r.id]; dup {
			problems = append(problems, fmt.Sprintf("%s: policy id %q is already used by the policy at %s: give each policy its own @id", r.position, r.id, at))
		}
		ids[r.id] = r.position
		if !r.forbid {
			permits++
		}
		out = append(out, r)
	}
	if permits == 0 && len(problems) == 0 {
		problems = append(problems, file+": the file holds no permit, so every request would be refused: add a permit (docs/policies.md)")
	}
	return out, problems
}

// parseProblem turns cedar-go's parse error into FILE:LINE:COL: message.
func (f source) parseProblem(err error) string {
	msg := strings.TrimPrefix(err.Error(), "parser error: ")
	if m := parseErrorPattern.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		col, _ := strconv.Atoi(m[2])
		what, near := m[4], m[3]
		if e := exactPattern.FindStringSubmatch(what); e != nil {
			what = fmt.Sprintf("expected %q", e[2])
		}
		if near == `""` {
			return fmt.Sprintf("%s:%d:%d: syntax error: %s at the end of the file", f.file, line, col, what)
		}
		return fmt.Sprintf("%s:%d:%d: syntax error: %s, found %s", f.file, line, col, what, near)
	}
	if m := scanErrorPattern.FindStringSubmatch(msg); m != nil {
		return fmt.Sprintf("%s:%s:%s: syntax error: %s", f.file, m[1], m[2], m[3])
	}
	if m := eofErrorPattern.FindStringSubmatch(msg); m != nil {
		return fmt.Sprintf("%s: syntax error: %s at the end of the file", f.pos(len(f.src)), m[1])
	}
	return fmt.Sprintf("%s: syntax error: %s", f.file, msg)
}

var (
	parseErrorPattern = regexp.MustCompile(`^parse error at \S*?:(\d+):(\d+) ("(?:[^"\\]|\\.)*"): (.*)$`)
	exactPattern      = regexp.MustCompile(`^exact got (.*) want (.*)$`)
	scanErrorPattern  = regexp.MustCompile(`^\S*?:(\d+):(\d+): (.*)$`)
	eofErrorPattern   = regexp.MustCompile(`^parse error at \S* "": (.*)$`)
)

// checkPolicy reads one policy's annotations and validates it against the
// schema.
func checkPolicy(sp span, index int, p *cedar.Policy) (*rule, []string) {
	r := &rule{id: types.PolicyID(fmt.Sprintf("policy%d", index)), index: index, policy: p,
		forbid: p.Effect() == cedar.Forbid, position: sp.pos(sp.start)}
	var problems []string
	bad := func(key, format string, args ...any) {
		at := sp.find(regexp.MustCompile(`@\s*` + regexp.QuoteMeta(key) + `\b`))
		problems = append(problems, at+": "+fmt.Sprintf(format, args...))
	}
	pa := (*xast.Policy)(p.AST())
	var approvers, internal string
	for _, a := range pa.Annotations {
		key, value := string(a.Key), string(a.Value)
		switch key {
		case annID:
			if strings.TrimSpace(value) == "" || len(value) > maxIDLength || strings.ContainsFunc(value, isControl) {
				bad(key, `@id must be 1 to %d characters on one line, such as @id("mfa-required")`, maxIDLength)
				continue
			}
			r.id = types.PolicyID(value)
		case annReason, annDescription:
			if strings.TrimSpace(value) == "" {
				bad(key, "@%s is empty: say why in words the engineer can act on", key)
			}
			if key == annReason {
				r.reason = value
			}
		case annApprovers:
			approvers = value
			gs, err := parseApprovers(value)
			if err != nil {
				bad(key, "@approvers(%q): %v", value, err)
			}
			r.approvers = gs
		case annMaxDuration:
			d, err := time.ParseDuration(strings.TrimSpace(value))
			if err != nil || d <= 0 {
				bad(key, `@max_duration(%q) is not a positive Go duration such as "4h" or "90m"`, value)
				continue
			}
			if d > lockbox.MaxAccessDuration {
				bad(key, "@max_duration(%q) is longer than any access may last (%s)", value, lockbox.MaxAccessDuration)
				continue
			}
			r.maxDuration = lockbox.Duration(d)
		case annInternal:
			internal = value
			switch value {
			case "none":
				r.waiveInternal = true
			case "required":
			default:
				bad(key, `@internal_approval(%q): use "none" (skip the internal step) or "required"`, value)
			}
		case "customer_approval", "customer":
			bad(key, "@%s: the customer's approval cannot be waived by policy; only the tenant's admins switch lockbox off", key)
		default:
			bad(key, "unknown annotation @%s: lockbox reads @%s", key, strings.Join(knownAnnotations, ", @"))
		}
	}
	if r.forbid {
		for _, key := range []string{annApprovers, annMaxDuration, annInternal} {
			if _, ok := p.Annotations()[types.AnnotationKey(key)]; ok {
				bad(key, "@%s on a forbid: a forbid refuses; requirements belong on permits", key)
			}
		}
	} else {
		switch {
		case internal == "none" && approvers != "":
			bad(annInternal, `@internal_approval("none") and @approvers contradict each other: keep one`)
		case internal == "required" && approvers == "":
			bad(annInternal, `@internal_approval("required") needs @approvers("group:count") naming who approves`)
		case internal != "none" && approvers == "":
			problems = append(problems, fmt.Sprintf(`%s: permit %s says nothing of the internal step: name its approvers with @approvers("group:count") or skip it with @internal_approval("none")`, r.position, r.id))
		}
	}
	own, unknown := checkConditions(sp, pa)
	if err := loadedSchema().validator.Policy(string(r.id), pa); err != nil {
		for _, e := range flatten(err) {
			// checkConditions said it better, naming the record.
			if m := attrNotFound.FindStringSubmatch(e.Error()); m != nil && unknown[m[1]] {
				continue
			}
			if p := schemaProblem(sp, r.id, e.Error()); !slices.Contains(problems, p) {
				problems = append(problems, p)
			}
		}
	}
	problems = append(problems, own...)
	return r, problems
}

func isControl(c rune) bool {
	return c < ' ' || c == 0x7f
}

// flatten unwraps joined errors.
func flatten(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, flatten(e)...)
		}
		return out
	}
	return []error{err}
}

var (
	quoted       = regexp.MustCompile("`([^`]*)`")
	attrNotFound = regexp.MustCompile("attribute `([^`]*)` .*not found$")
)

// schemaProblem places one of the schema validator's messages: at the first
// name it quotes, found in the policy's text (an attribute after a dot or
// `has`, an entity type, an action id), else at the policy.
func schemaProblem(sp span, id types.PolicyID, msg string) string {
	msg = strings.TrimPrefix(msg, fmt.Sprintf("for policy `%s`, ", id))
	var patterns []*regexp.Regexp
	if m := quoted.FindStringSubmatch(msg); m != nil {
		name := m[1]
		if _, idPart, ok := strings.Cut(name, `::"`); ok { // an action or entity id
			patterns = append(patterns, regexp.MustCompile(`(`+regexp.QuoteMeta(`"`+idPart)+`)`))
		}
		q := regexp.QuoteMeta(name)
		patterns = append(patterns,
			regexp.MustCompile(`\.\s*(`+q+`)\b`),
			regexp.MustCompile(`\bhas\s+(`+q+`)\b`),
			regexp.MustCompile(`\[\s*("`+q+`")\s*\]`),
			regexp.MustCompile(`(?:^|[^\w:])(`+q+`)\b`))
	}
	return fmt.Sprintf("%s: %s (policy %s)", sp.find(patterns...), msg, id)
}

// knownValues are the string attributes whose values lockbox knows: a
// policy comparing one of them with another string could never match, so
// the comparison is an error at load rather than a silent never-match.
var knownValues = map[string][]string{
	"context.reason_type":            toStrings(lockbox.ReasonTypes),
	"principal.roles":                toStrings(lockbox.RolesOf(lockbox.KindOperator)),
	"context.ticket.opened_by":       {string(lockbox.KindCustomer), string(lockbox.KindOperator)},
	"context.ticket.severity_set_by": {string(lockbox.KindCustomer), string(lockbox.KindOperator)},
}

func toStrings[T ~string](xs []T) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = string(x)
	}
	return out
}

// checkConditions finds what the schema validator lets through but could
// never be true: `has` tests of attributes the schema does not declare (all
// of lockbox's attributes are always present, so `has` never guards
// anything), and string literals compared with attributes whose values are
// known (reason types, roles) or with principal.groups (whose names follow
// lockbox's group syntax).
//
// It also reports attributes the schema does not declare on principal,
// resource, context and context.ticket, naming the record and its
// attributes; unknown holds their names.
func checkConditions(sp span, p *xast.Policy) (problems []string, unknown map[string]bool) {
	unknown = map[string]bool{}
	records := loadedSchema().records
	// missing reports attr when the record at path lacks it, placed at the
	// first of the patterns (built only then) found in the policy.
	missing := func(path, attr string, patterns ...string) {
		attrs, ok := records[path]
		if !ok || slices.Contains(attrs, attr) {
			return
		}
		unknown[attr] = true
		q := regexp.QuoteMeta(attr)
		res := make([]*regexp.Regexp, len(patterns))
		for i, p := range patterns {
			res[i] = regexp.MustCompile(strings.ReplaceAll(p, "ATTR", q))
		}
		msg := fmt.Sprintf("%s: %s has no attribute %q: its attributes are %s", sp.find(res...), path, attr, strings.Join(attrs, ", "))
		if !slices.Contains(problems, msg) {
			problems = append(problems, msg)
		}
	}
	check := func(path string, lit xast.IsNode) {
		for _, s := range stringsOf(lit) {
			if msg := unmatchable(path, s); msg != "" {
				at := sp.find(regexp.MustCompile(`(` + regexp.QuoteMeta(strconv.Quote(s)) + `)`))
				problems = append(problems, at+": "+msg)
			}
		}
	}
	pair := func(a, b xast.IsNode) {
		if path := attrPath(a); path != "" {
			check(path, b)
		}
		if path := attrPath(b); path != "" {
			check(path, a)
		}
	}
	for _, c := range p.Conditions {
		xast.Inspect(xast.NewNode(c.Body), func(n xast.IsNode) bool {
			switch n := n.(type) {
			case xast.NodeTypeHas:
				missing(attrPath(n.Arg), string(n.Value), `\bhas\s+(ATTR)\b`, `\bhas\s+("ATTR")`)
			case xast.NodeTypeAccess:
				missing(attrPath(n.Arg), string(n.Value), `\.\s*(ATTR)\b`, `\[\s*("ATTR")\s*\]`)
			case xast.NodeTypeEquals:
				pair(n.Left, n.Right)
			case xast.NodeTypeNotEquals:
				pair(n.Left, n.Right)
			case xast.NodeTypeContains:
				pair(n.Left, n.Right)
			case xast.NodeTypeContainsAll:
				pair(n.Left, n.Right)
			case xast.NodeTypeContainsAny:
				pair(n.Left, n.Right)
			}
			return true
		})
	}
	return problems, unknown
}

// unmatchable says why a string can never be a value of the attribute, or
// "" when it can.
func unmatchable(path, s string) string {
	if path == "principal.groups" {
		if err := checkGroup(s); err != nil {
			return fmt.Sprintf("principal.groups can never contain %q: %v", s, err)
		}
		return ""
	}
	if vs, ok := knownValues[path]; ok && !slices.Contains(vs, s) {
		return fmt.Sprintf("%s is never %q: use one of %s", path, s, strings.Join(vs, ", "))
	}
	return ""
}

// attrPath is "principal.groups" for principal.groups, or "" for anything
// that is not a variable's attribute path.
func attrPath(n xast.IsNode) string {
	switch n := n.(type) {
	case xast.NodeTypeVariable:
		return string(n.Name)
	case xast.NodeTypeAccess:
		if base := attrPath(n.Arg); base != "" {
			return base + "." + string(n.Value)
		}
	}
	return ""
}

// stringsOf returns the string literals of a literal or a set of literals.
func stringsOf(n xast.IsNode) []string {
	switch n := n.(type) {
	case xast.NodeValue:
		switch v := n.Value.(type) {
		case types.String:
			return []string{string(v)}
		case types.Set:
			var out []string
			for e := range v.All() {
				if s, ok := e.(types.String); ok {
					out = append(out, string(s))
				}
			}
			return out
		}
	case xast.NodeTypeSet:
		var out []string
		for _, e := range n.Elements {
			out = append(out, stringsOf(e)...)
		}
		return out
	}
	return nil
}

var groupPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,62}$`)

// checkGroup checks an operator group name as lockbox accepts them.
func checkGroup(g string) error {
	if !groupPattern.MatchString(g) {
		return fmt.Errorf("%q is not a group name (lower-case letters, digits, '.', '_' or '-', at most 63)", g)
	}
	return nil
}

// parseApprovers reads "group:count,group:count".
func parseApprovers(v string) ([]lockbox.GroupApprovals, error) {
	if strings.TrimSpace(v) == "" {
		return nil, errors.New(`name at least one group, such as "support-leads:1"`)
	}
	var out []lockbox.GroupApprovals
	for item := range strings.SplitSeq(v, ",") {
		item = strings.TrimSpace(item)
		g, c, ok := strings.Cut(item, ":")
		if !ok {
			return nil, fmt.Errorf(`%q: write group:count, such as "support-leads:1"`, item)
		}
		g = strings.TrimSpace(g)
		if err := checkGroup(g); err != nil {
			return nil, err
		}
		n, err := strconv.Atoi(strings.TrimSpace(c))
		if err != nil || n < 1 || n > maxApprovalsPerGroup {
			return nil, fmt.Errorf("%q: the count must be a whole number from 1 to %d", item, maxApprovalsPerGroup)
		}
		if slices.ContainsFunc(out, func(x lockbox.GroupApprovals) bool { return x.Group == g }) {
			return nil, fmt.Errorf("group %q is named twice", g)
		}
		out = append(out, lockbox.GroupApprovals{Group: g, Count: n})
	}
	return out, nil
}
