package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/lockbox-dev/lockbox"
	"github.com/lockbox-dev/lockbox/cedar"
)

// policyCmd groups the JIT policy commands: check and eval work on a file
// here, without a server; show and reload ask the server.
func (c *cli) policyCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "policy",
		Short: "Check, try out, show and reload JIT policies (Cedar)",
		Long: `JIT policies decide, when an access request is filed, whether it is allowed
and which internal approvals it needs. They are written in Cedar; see
docs/policies.md. Test a change before deploying it:

  lockbox policy default > policy.cedar      # start from the default
  lockbox policy check policy.cedar
  lockbox policy eval policy.cedar --request '{"requester": {"mfa": true}, ...}'

then start the server with --policy policy.cedar, or reload a running one
(SIGHUP, or lockbox policy reload).`,
	}
	cmd.AddCommand(c.policyCheckCmd(), c.policyEvalCmd(), c.policyDefaultCmd(), c.policyShowCmd(), c.policyReloadCmd())
	return cmd
}

// policyCheckOutput is what policy check prints with -o json.
type policyCheckOutput struct {
	File     string   `json:"file"`
	SHA256   string   `json:"sha256"`
	Policies []string `json:"policies"`
}

func (c *cli) policyCheckCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "check FILE",
		Short: "Validate a policy file against the schema and print its policy ids",
		Long: `Validate a policy file as the server does at start and at reload: Cedar
syntax, the schema (entity types, actions, attributes), and lockbox's
annotations. Each problem is printed on stderr as FILE:LINE:COL: message,
and the command exits non-zero.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			set, err := c.loadPolicy(args[0])
			if err != nil {
				return err
			}
			info := set.Info()
			out := policyCheckOutput{File: args[0], SHA256: info.SHA256, Policies: info.Policies}
			return c.emit(out, func(w io.Writer) {
				fmt.Fprintf(w, "%s: valid, %d policies\n", args[0], len(out.Policies))
				for _, id := range out.Policies {
					fmt.Fprintf(w, "  %s\n", sanitizeLine(id))
				}
			})
		},
	}
}

// loadPolicy loads a policy file; its problems go to stderr one per line
// (FILE:LINE:COL: message, as compilers print them) and the error counts
// them.
func (c *cli) loadPolicy(path string) (*cedar.PolicySet, error) {
	set, err := cedar.LoadFile(path)
	var le *lockbox.Error
	if errors.As(err, &le) && len(le.Details) > 0 {
		for _, p := range le.Details {
			fmt.Fprintln(c.stderr, sanitizeLine(p))
		}
		return nil, errors.New(le.Message)
	}
	return set, err
}

// evalRequest is the hypothetical request of policy eval. Omitted fields
// take the values documented in the command's help.
type evalRequest struct {
	Requester struct {
		ID       lockbox.UserID `json:"id"`
		Groups   []string       `json:"groups"`
		Isolated bool           `json:"isolated"`
		MFA      bool           `json:"mfa"`
		Roles    []lockbox.Role `json:"roles"`
	} `json:"requester"`
	Resources   []string            `json:"resources"`
	AccessLevel lockbox.AccessLevel `json:"access_level"`
	ReasonType  lockbox.ReasonType  `json:"reason_type"`
	Duration    lockbox.Duration    `json:"duration"`
	Ticket      struct {
		Severity            int              `json:"severity"`
		Age                 lockbox.Duration `json:"age"`
		AssigneeIsRequester bool             `json:"assignee_is_requester"`
		// Who opened the ticket and set its severity (customer or
		// operator), and whether that was the requester.
		OpenedBy               lockbox.UserKind `json:"opened_by"`
		OpenedByRequester      bool             `json:"opened_by_requester"`
		SeveritySetBy          lockbox.UserKind `json:"severity_set_by"`
		SeveritySetByRequester *bool            `json:"severity_set_by_requester"`
	} `json:"ticket"`
	Tenant struct {
		ID                lockbox.TenantID  `json:"id"`
		LockboxEnabled    *bool             `json:"lockbox_enabled"`
		MaxAccessDuration *lockbox.Duration `json:"max_access_duration"`
	} `json:"tenant"`
}

// input turns the hypothetical request into what the server would hand the
// policy, at now.
func (r *evalRequest) input(now time.Time) (lockbox.PolicyInput, error) {
	var in lockbox.PolicyInput
	switch {
	case len(r.Resources) == 0:
		return in, errors.New(`resources: name at least one resource, such as ["mailbox:alice"]`)
	case !slices.Contains(lockbox.AccessLevels, r.AccessLevel):
		return in, fmt.Errorf("access_level must be one of %v", lockbox.AccessLevels)
	case !slices.Contains(lockbox.ReasonTypes, r.ReasonType):
		return in, fmt.Errorf("reason_type must be one of %v", lockbox.ReasonTypes)
	case r.Duration <= 0:
		return in, errors.New(`duration must be a positive duration, such as "2h"`)
	case r.Ticket.Severity < lockbox.SeverityCritical || r.Ticket.Severity > lockbox.SeverityLow:
		return in, fmt.Errorf("ticket.severity must be %d (critical) to %d (low)", lockbox.SeverityCritical, lockbox.SeverityLow)
	case r.Ticket.Age < 0:
		return in, errors.New("ticket.age must not be negative")
	}
	u := &lockbox.User{ID: r.Requester.ID, Kind: lockbox.KindOperator, Groups: r.Requester.Groups,
		Roles: r.Requester.Roles, Isolated: r.Requester.Isolated}
	if u.ID == "" {
		u.ID = "usr_eval"
	}
	if u.Roles == nil {
		u.Roles = []lockbox.Role{lockbox.RoleEngineer}
	}
	tn := &lockbox.Tenant{ID: r.Tenant.ID, Lockbox: lockbox.DefaultLockboxSettings()}
	if tn.ID == "" {
		tn.ID = "ten_eval"
	}
	if r.Tenant.LockboxEnabled != nil {
		tn.Lockbox.Enabled = *r.Tenant.LockboxEnabled
	}
	if d := r.Tenant.MaxAccessDuration; d != nil {
		if *d <= 0 {
			return in, errors.New("tenant.max_access_duration must be positive")
		}
		tn.Lockbox.MaxAccessDuration = *d
	}
	tk := &lockbox.Ticket{ID: "tkt_eval", TenantID: tn.ID, Severity: r.Ticket.Severity, Status: lockbox.TicketOpen,
		CreatedAt: now.Add(-r.Ticket.Age.D())}
	if r.Ticket.AssigneeIsRequester {
		tk.AssigneeID = u.ID
	}
	if err := r.ticketFacts(tk, u.ID); err != nil {
		return in, err
	}
	return lockbox.PolicyInput{Requester: u, MFA: r.Requester.MFA, Tenant: tn, Ticket: tk, Resources: r.Resources,
		AccessLevel: r.AccessLevel, ReasonType: r.ReasonType, Duration: r.Duration, Now: now}, nil
}

// ticketFacts sets who opened the hypothetical ticket and who set its
// severity: a customer unless told otherwise; the severity by whoever
// opened the ticket unless told otherwise, as on the server.
func (r *evalRequest) ticketFacts(tk *lockbox.Ticket, requester lockbox.UserID) error {
	t := r.Ticket
	who := func(field string, kind lockbox.UserKind, byRequester bool, def lockbox.UserKind) (lockbox.UserKind, lockbox.UserID, error) {
		if kind == "" {
			kind = def
		}
		switch {
		case kind != lockbox.KindCustomer && kind != lockbox.KindOperator:
			return "", "", fmt.Errorf("ticket.%s must be %q or %q", field, lockbox.KindCustomer, lockbox.KindOperator)
		case byRequester && kind != lockbox.KindOperator:
			return "", "", fmt.Errorf("ticket.%s_requester needs ticket.%s \"operator\": the requester is an operator engineer", field, field)
		case byRequester:
			return kind, requester, nil
		}
		return kind, "usr_eval_" + lockbox.UserID(kind), nil
	}
	var err error
	if tk.OpenedBy, tk.CreatedBy, err = who("opened_by", t.OpenedBy, t.OpenedByRequester, lockbox.KindCustomer); err != nil {
		return err
	}
	bySelf := t.OpenedByRequester && t.SeveritySetBy == ""
	if t.SeveritySetByRequester != nil {
		bySelf = *t.SeveritySetByRequester
	}
	tk.SeveritySetBy, tk.SeveritySetByUser, err = who("severity_set_by", t.SeveritySetBy, bySelf, tk.OpenedBy)
	return err
}

// readRequestArg reads --request: JSON itself, @FILE, or - for stdin.
func (c *cli) readRequestArg(v string) ([]byte, error) {
	switch {
	case v == "-":
		return io.ReadAll(c.stdin)
	case strings.HasPrefix(v, "@"):
		return os.ReadFile(v[1:])
	}
	return []byte(v), nil
}

func (c *cli) policyEvalCmd() *cobra.Command {
	var request string
	cmd := &cobra.Command{
		Use:   "eval FILE --request JSON",
		Short: "Show the decision a policy file makes on a hypothetical request",
		Long: `Decide a hypothetical access request with a policy file, exactly as the
server would (the tenant's customer step and duration cap included), and
print the decision: allowed or refused and why, internal approvals, the
duration cap and the policies that determined it.

--request is JSON (or @FILE, or - for stdin):

  {
    "requester": {"groups": ["support-leads"], "isolated": false, "mfa": true, "roles": ["engineer"]},
    "resources": ["mailbox:alice"],
    "access_level": "read",
    "reason_type": "customer_initiated_support",
    "duration": "2h",
    "ticket": {"severity": 2, "age": "30m", "assignee_is_requester": true,
               "opened_by": "customer"},
    "tenant": {"lockbox_enabled": true, "max_access_duration": "8h"}
  }

resources, access_level, reason_type, duration and ticket.severity are
required. requester.roles defaults to ["engineer"]; the tenant to the
defaults of a new tenant (lockbox enabled, max_access_duration 8h);
ticket.age to 0; ticket.opened_by to "customer" ("operator" with
"opened_by_requester": true for the engineer's own ticket); the
severity's setter (severity_set_by, severity_set_by_requester) to whoever
opened the ticket. Unknown fields are an error.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if request == "" {
				return usagef("--request is required: the hypothetical request as JSON (see --help)")
			}
			raw, err := c.readRequestArg(request)
			if err != nil {
				return fmt.Errorf("--request: %w", err)
			}
			var r evalRequest
			dec := json.NewDecoder(bytes.NewReader(raw))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&r); err != nil {
				return fmt.Errorf("--request: %s", strings.TrimPrefix(err.Error(), "json: "))
			}
			in, err := r.input(c.now().UTC())
			if err != nil {
				return fmt.Errorf("--request: %w", err)
			}
			set, err := c.loadPolicy(args[0])
			if err != nil {
				return err
			}
			d, err := set.Evaluate(cmd.Context(), in)
			if err != nil {
				return err
			}
			d = lockbox.ApplyTenant(d, in.Tenant.Lockbox)
			return c.emit(d, func(w io.Writer) { showDecision(w, d) })
		},
	}
	cmd.Flags().StringVar(&request, "request", "", "the hypothetical request: JSON, @FILE or - (stdin)")
	return cmd
}

func (c *cli) policyDefaultCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "default",
		Short: "Print the built-in default policy file, to start your own from",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := c.stdout.Write(cedar.DefaultText)
			return err
		},
	}
}

func (c *cli) policyShowCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "show",
		Short: "Show the server's running JIT policy: source, digest and policy ids (operators)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cl, err := c.apiClient()
			if err != nil {
				return err
			}
			info, err := cl.PolicyInfo(cmd.Context())
			if err != nil {
				return err
			}
			return c.emit(info, func(w io.Writer) { showPolicyInfo(w, info) })
		},
	}
}

func (c *cli) policyReloadCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "reload",
		Short: "Make the server read its policy file again (operator admins); an invalid file keeps the running policy",
		Long: `Make the server you talk to read its --policy file again. An invalid file
changes nothing: every problem is printed as FILE:LINE:COL: message and the
running policy stays. Behind a load balancer this reaches one replica;
send SIGHUP to each replica instead.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cl, err := c.apiClient()
			if err != nil {
				return err
			}
			info, err := cl.ReloadPolicy(cmd.Context())
			if err != nil {
				return err
			}
			return c.emit(info, func(w io.Writer) { showPolicyInfo(w, info) })
		},
	}
}

func showPolicyInfo(w io.Writer, info *lockbox.PolicyInfo) {
	newFields(w).
		add("Source", info.Source).
		add("SHA-256", info.SHA256).
		add("Loaded", info.LoadedAt).
		add("Policies", info.Policies).
		flush()
}

// showDecision prints a policy decision as fields.
func showDecision(w io.Writer, d lockbox.Decision) {
	f := newFields(w)
	addDecision(f, d)
	f.flush()
}

// addDecision adds a policy decision's fields: for policy eval and for a
// request's "Policy decision" block.
func addDecision(f *fields, d lockbox.Decision) {
	approvals := make([]string, len(d.InternalApprovals))
	for i, g := range d.InternalApprovals {
		approvals[i] = fmt.Sprintf("%s ×%d", g.Group, g.Count)
	}
	var internal any = approvals
	if len(approvals) == 0 && d.InternalApprovalWaived {
		internal = "none (waived by policy)"
	}
	f.add("Allowed", d.Allowed).
		add("Internal approvals", internal).
		add("Customer approval", d.CustomerApprovalRequired).
		add("Max duration", d.MaxDuration).
		add("Policies", d.Policies)
	for i, reason := range d.Reasons {
		key := ""
		if i == 0 {
			key = "Reasons"
		}
		f.add(key, reason)
	}
}
