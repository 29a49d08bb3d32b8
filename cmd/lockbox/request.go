package main

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/lockbox-dev/lockbox"
	"github.com/lockbox-dev/lockbox/client"
)

func (c *cli) requestCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "request",
		Short: "File, review and end access requests",
	}
	cmd.AddCommand(c.requestCreateCmd(), c.requestListCmd(), c.requestShowCmd())
	cmd.AddCommand(c.requestActionCmds()...)
	cmd.AddCommand(c.requestTokenCmd())
	return cmd
}

func (c *cli) requestCreateCmd() *cobra.Command {
	var (
		in                    lockbox.CreateRequestInput
		ticket, level, reason string
	)
	cmd := &cobra.Command{
		Use:   "create --ticket T --resource R --level L --reason-type TYPE --justification TEXT --duration D",
		Short: "File an access request (engineers)",
		Long: `File a request for time-limited access to a tenant's resources. The JIT
policy runs at once: the answer says whether it allowed the request and which
approvals it needs.

--level is read, write or admin. --reason-type is one of
` + strings.Join(reasonTypeNames(), ", ") + `.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			in.TicketID = lockbox.TicketID(ticket)
			in.AccessLevel = lockbox.AccessLevel(level)
			in.ReasonType = lockbox.ReasonType(reason)
			cl, err := c.apiClient()
			if err != nil {
				return err
			}
			r, err := cl.CreateRequest(cmd.Context(), in)
			if err != nil {
				return err
			}
			return c.emit(r, func(w io.Writer) { showRequest(w, r) })
		},
	}
	f := cmd.Flags()
	f.StringVar(&ticket, "ticket", "", "ticket ID the access is for")
	f.StringArrayVar(&in.Resources, "resource", nil, "resource to access, such as mailbox:42 (repeatable)")
	f.StringVar(&level, "level", "", "access level: read, write or admin")
	f.StringVar(&reason, "reason-type", "", "why access is needed, such as customer_initiated_support")
	f.StringVar(&in.Justification, "justification", "", "what you will do and why")
	durationVar(f, &in.Duration, "duration", "how long access is wanted, such as 1h")
	required(cmd, "ticket", "resource", "level", "reason-type", "justification", "duration")
	return cmd
}

func reasonTypeNames() []string {
	out := make([]string, len(lockbox.ReasonTypes))
	for i, r := range lockbox.ReasonTypes {
		out[i] = string(r)
	}
	return out
}

func (c *cli) requestListCmd() *cobra.Command {
	var lf struct {
		tenant, status, ticket, requester string
		page                              lockbox.Page
	}
	cmd := &cobra.Command{
		Use:   "list [--tenant T] [--status S] [--ticket T] [--requester U]",
		Short: "List access requests, newest first",
		Long: `List access requests, newest first. EXPIRES is the decision deadline of a
pending request and the end of the access window of an approved one.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, err := c.apiClient()
			if err != nil {
				return err
			}
			l, err := cl.ListRequests(cmd.Context(), client.RequestFilter{
				TenantID: lockbox.TenantID(lf.tenant), Status: lockbox.RequestStatus(lf.status),
				TicketID: lockbox.TicketID(lf.ticket), RequesterID: lockbox.UserID(lf.requester), Page: lf.page})
			if err != nil {
				return err
			}
			return emitList(c, cmd, args, l, requestColumns)
		},
	}
	cmd.Flags().StringVar(&lf.tenant, "tenant", "", "only requests of this tenant")
	cmd.Flags().StringVar(&lf.status, "status", "", "only requests with this status, such as pending_customer")
	cmd.Flags().StringVar(&lf.ticket, "ticket", "", "only requests for this ticket")
	cmd.Flags().StringVar(&lf.requester, "requester", "", "only requests filed by this user ID")
	pageFlags(cmd, &lf.page)
	return cmd
}

// requestColumns are what a person scans in a list of requests.
var requestColumns = []column[*lockbox.AccessRequest]{
	col("ID", func(r *lockbox.AccessRequest) any { return r.ID }),
	col("STATUS", func(r *lockbox.AccessRequest) any { return requestStatus(r, true) }),
	col("TENANT", func(r *lockbox.AccessRequest) any { return r.TenantID }),
	col("TICKET", func(r *lockbox.AccessRequest) any { return r.TicketID }),
	col("LEVEL", func(r *lockbox.AccessRequest) any { return r.AccessLevel }),
	col("RESOURCES", func(r *lockbox.AccessRequest) any { return truncate(strings.Join(r.Resources, ","), 40) }),
	col("DURATION", func(r *lockbox.AccessRequest) any { return requestDuration(r) }),
	col("REQUESTER", func(r *lockbox.AccessRequest) any { return person(r.RequesterName, "", r.RequesterID, false) }),
	col("CREATED", func(r *lockbox.AccessRequest) any { return r.CreatedAt }),
	col("EXPIRES", func(r *lockbox.AccessRequest) any { return requestExpiry(r) }),
}

// requestExpiry is when the request next changes by itself: the decision
// deadline while pending, the window end while approved.
func requestExpiry(r *lockbox.AccessRequest) any {
	switch {
	case r.Status.Pending():
		return r.DecisionDeadline
	case r.Status == lockbox.StatusApproved:
		return r.AccessExpiresAt
	}
	return nil
}

func (c *cli) requestShowCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "show ID",
		Short: "Show an access request: policy decision, reviews and access window",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, err := c.apiClient()
			if err != nil {
				return err
			}
			r, err := cl.GetRequest(cmd.Context(), lockbox.RequestID(args[0]))
			if err != nil {
				return err
			}
			return c.emit(r, func(w io.Writer) {
				showRequest(w, r)
				ns, err := cl.RequestNotifications(cmd.Context(), r.ID)
				if err != nil {
					fmt.Fprintf(w, "\nNotifications: cannot be read: %v\n", err)
					return
				}
				showNotifications(w, ns)
			})
		},
	}
}

// requestActionCmds are approve, deny, cancel, complete and revoke: each
// posts to /v1/requests/{id}/<action> and shows the updated request.
func (c *cli) requestActionCmds() []*cobra.Command {
	type action struct {
		use, short string
		reason     bool // takes a required --reason
		duration   bool // takes an optional --duration
		do         func(cl *client.Client, cmd *cobra.Command, id lockbox.RequestID, reason string, d *lockbox.Duration) (*lockbox.AccessRequest, error)
	}
	actions := []action{
		{use: "approve ID --reason TEXT [--duration D]", short: "Approve a request at its current stage (internal or customer)", reason: true, duration: true,
			do: func(cl *client.Client, cmd *cobra.Command, id lockbox.RequestID, reason string, d *lockbox.Duration) (*lockbox.AccessRequest, error) {
				return cl.Approve(cmd.Context(), id, lockbox.ApproveInput{Reason: reason, Duration: d})
			}},
		{use: "deny ID --reason TEXT", short: "Deny a request, which ends it", reason: true,
			do: func(cl *client.Client, cmd *cobra.Command, id lockbox.RequestID, reason string, _ *lockbox.Duration) (*lockbox.AccessRequest, error) {
				return cl.Deny(cmd.Context(), id, lockbox.ReasonInput{Reason: reason})
			}},
		{use: "cancel ID", short: "Withdraw your pending request",
			do: func(cl *client.Client, cmd *cobra.Command, id lockbox.RequestID, _ string, _ *lockbox.Duration) (*lockbox.AccessRequest, error) {
				return cl.Cancel(cmd.Context(), id)
			}},
		{use: "complete ID", short: "Release your approved access before the window ends",
			do: func(cl *client.Client, cmd *cobra.Command, id lockbox.RequestID, _ string, _ *lockbox.Duration) (*lockbox.AccessRequest, error) {
				return cl.Complete(cmd.Context(), id)
			}},
		{use: "revoke ID --reason TEXT", short: "End approved access at once (the tenant's approvers, operator admins)", reason: true,
			do: func(cl *client.Client, cmd *cobra.Command, id lockbox.RequestID, reason string, _ *lockbox.Duration) (*lockbox.AccessRequest, error) {
				return cl.Revoke(cmd.Context(), id, lockbox.ReasonInput{Reason: reason})
			}},
	}
	var cmds []*cobra.Command
	for _, a := range actions {
		var reason string
		var d lockbox.Duration
		cmd := &cobra.Command{
			Use:   a.use,
			Short: a.short,
			Args:  cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				var dp *lockbox.Duration
				if a.duration && changed(cmd, "duration") {
					dp = &d
				}
				cl, err := c.apiClient()
				if err != nil {
					return err
				}
				r, err := a.do(cl, cmd, lockbox.RequestID(args[0]), reason, dp)
				if err != nil {
					return err
				}
				return c.emit(r, func(w io.Writer) { showRequest(w, r) })
			},
		}
		if a.reason {
			cmd.Flags().StringVar(&reason, "reason", "", "why, for the record")
			required(cmd, "reason")
		}
		if a.duration {
			durationVar(cmd.Flags(), &d, "duration", "shorten the access window to this duration")
		}
		cmds = append(cmds, cmd)
	}
	return cmds
}

// person names a user the server named: "Eve <eve@op.test> (usr_1)", or
// the name alone in a list (withID false); the id when no name came.
func person(name, email string, id lockbox.UserID, withID bool) string {
	if name == "" {
		return string(id)
	}
	if email != "" {
		name += " <" + email + ">"
	}
	if withID {
		name += " (" + string(id) + ")"
	}
	return name
}

// requestStatus is a request's status with, while it awaits the customer,
// how many of the approvals it needs it has: "pending_customer (1/2)" in a
// table, "pending_customer: 1 of 2 customer approvals (Bob)" on its own.
func requestStatus(r *lockbox.AccessRequest, short bool) string {
	p := r.CustomerApprovals
	switch {
	case p == nil:
		return string(r.Status)
	case short:
		return fmt.Sprintf("%s (%d/%d)", r.Status, p.Counted, p.Required)
	}
	return fmt.Sprintf("%s: %s", r.Status, p)
}

// requestDuration is the length of the access window: granted, else asked.
func requestDuration(r *lockbox.AccessRequest) lockbox.Duration {
	if r.GrantedDuration > 0 {
		return r.GrantedDuration
	}
	return r.RequestedDuration
}

// ticketRef is the request's ticket id with its title, when the server
// gives it.
func ticketRef(r *lockbox.AccessRequest) string {
	if r.TicketTitle == "" {
		return string(r.TicketID)
	}
	return string(r.TicketID) + " (" + r.TicketTitle + ")"
}

// showRequest prints every field of a request, its policy decision, its
// reviews and its access window.
func showRequest(w io.Writer, r *lockbox.AccessRequest) {
	newFields(w).
		add("ID", r.ID).
		add("Status", requestStatus(r, false)).
		add("Tenant", r.TenantID).
		add("Ticket", ticketRef(r)).
		add("Requester", person(r.RequesterName, r.RequesterEmail, r.RequesterID, true)).
		add("Access level", r.AccessLevel).
		add("Reason type", r.ReasonType).
		add("Resources", r.Resources).
		add("Requested duration", r.RequestedDuration).
		add("Created", r.CreatedAt).
		add("Updated", r.UpdatedAt).
		add("Decision deadline", r.DecisionDeadline).
		flush()
	section(w, "Justification", r.Justification)

	block(w, "Policy decision", func(f *fields) { addDecision(f, r.Policy) })

	rows := make([][]string, len(r.Reviews))
	for i, rv := range r.Reviews {
		rows[i] = []string{cell(rv.CreatedAt), cell(rv.Stage), cell(rv.Decision), cell(person(rv.ReviewerName, "", rv.ReviewerID, true)),
			cell(rv.MFA), cell(rv.Duration), cell(truncate(rv.Reason, 60))}
	}
	subtable(w, "Reviews", []string{"TIME", "STAGE", "DECISION", "REVIEWER", "MFA", "DURATION", "REASON"}, rows)

	if r.AccessStartsAt != nil || r.EndedAt != nil {
		block(w, "Access window", func(f *fields) {
			f.addIf("Granted duration", r.GrantedDuration).
				addIf("Starts", r.AccessStartsAt).
				addIf("Expires", r.AccessExpiresAt).
				addIf("Ended", r.EndedAt).
				addIf("End reason", r.EndReason).
				addIf("Ended by", person(r.EndedByName, "", r.EndedBy, true)).
				addIf("Comment", r.EndComment)
		})
	}
}

// requestTokenCmd obtains a grant token. In human mode it prints the token
// alone on stdout (TOKEN=$(lockbox request token ID)) and its expiry on
// stderr; -o json prints {token, expires_at}.
func (c *cli) requestTokenCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "token ID",
		Short: "Obtain a short-lived grant token for your approved request (send it to the gateway as a Bearer token)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, err := c.apiClient()
			if err != nil {
				return err
			}
			g, err := cl.IssueToken(cmd.Context(), lockbox.RequestID(args[0]))
			if err != nil {
				return err
			}
			if c.jsonMode() {
				return writeJSON(c.stdout, g)
			}
			fmt.Fprintln(c.stdout, g.Token)
			fmt.Fprintf(c.stderr, "expires at %s\n", g.ExpiresAt.Format(time.RFC3339))
			return nil
		},
	}
}
