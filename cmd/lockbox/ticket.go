package main

import (
	"io"

	"github.com/spf13/cobra"

	"github.com/lockbox-dev/lockbox"
	"github.com/lockbox-dev/lockbox/client"
)

func (c *cli) ticketCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "ticket",
		Short: "Open, read and resolve support tickets",
	}

	var in lockbox.CreateTicketInput
	var tenant, assignee string
	create := &cobra.Command{
		Use:   "create --tenant T --title TITLE --description TEXT --severity N [--assignee U]",
		Short: "Open a ticket",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			in.TenantID = lockbox.TenantID(tenant)
			in.AssigneeID = lockbox.UserID(assignee)
			cl, err := c.apiClient()
			if err != nil {
				return err
			}
			t, err := cl.CreateTicket(cmd.Context(), in)
			if err != nil {
				return err
			}
			return c.emit(t, func(w io.Writer) { showTicket(w, t) })
		},
	}
	cf := create.Flags()
	cf.StringVar(&tenant, "tenant", "", "tenant ID")
	cf.StringVar(&in.Title, "title", "", "title")
	cf.StringVar(&in.Description, "description", "", "what is wrong")
	cf.IntVar(&in.Severity, "severity", 0, "1 (critical) to 4 (low)")
	cf.StringVar(&assignee, "assignee", "", "operator user ID to assign")
	required(create, "tenant", "title", "description", "severity")

	var lf struct {
		tenant, status string
		page           lockbox.Page
	}
	list := &cobra.Command{
		Use:   "list [--tenant T] [--status open|resolved]",
		Short: "List tickets, newest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, err := c.apiClient()
			if err != nil {
				return err
			}
			l, err := cl.ListTickets(cmd.Context(), client.TicketFilter{
				TenantID: lockbox.TenantID(lf.tenant), Status: lockbox.TicketStatus(lf.status), Page: lf.page})
			if err != nil {
				return err
			}
			return emitList(c, cmd, args, l, []column[*lockbox.Ticket]{
				col("ID", func(t *lockbox.Ticket) any { return t.ID }),
				col("STATUS", func(t *lockbox.Ticket) any { return t.Status }),
				col("SEV", func(t *lockbox.Ticket) any { return t.Severity }),
				col("TENANT", func(t *lockbox.Ticket) any { return t.TenantID }),
				col("TITLE", func(t *lockbox.Ticket) any { return truncate(t.Title, 40) }),
				col("ASSIGNEE", func(t *lockbox.Ticket) any { return t.AssigneeID }),
				col("CREATED", func(t *lockbox.Ticket) any { return t.CreatedAt }),
			})
		},
	}
	list.Flags().StringVar(&lf.tenant, "tenant", "", "only tickets of this tenant")
	list.Flags().StringVar(&lf.status, "status", "", "only open or resolved tickets")
	pageFlags(list, &lf.page)

	show := &cobra.Command{
		Use:   "show ID",
		Short: "Show a ticket with its comments and history",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, err := c.apiClient()
			if err != nil {
				return err
			}
			t, err := cl.GetTicket(cmd.Context(), lockbox.TicketID(args[0]))
			if err != nil {
				return err
			}
			return c.emit(t, func(w io.Writer) { showTicket(w, t) })
		},
	}

	comment := &cobra.Command{
		Use:   "comment ID TEXT",
		Short: "Add a comment to a ticket",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, err := c.apiClient()
			if err != nil {
				return err
			}
			cm, err := cl.AddComment(cmd.Context(), lockbox.TicketID(args[0]), lockbox.CommentInput{Body: args[1]})
			if err != nil {
				return err
			}
			return c.emit(cm, func(w io.Writer) {
				newFields(w).add("Comment", cm.ID).add("Ticket", cm.TicketID).add("Author", cm.AuthorID).add("Created", cm.CreatedAt).flush()
			})
		},
	}

	resolve := &cobra.Command{
		Use:   "resolve ID",
		Short: "Resolve a ticket, ending its approved access",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, err := c.apiClient()
			if err != nil {
				return err
			}
			t, err := cl.ResolveTicket(cmd.Context(), lockbox.TicketID(args[0]))
			if err != nil {
				return err
			}
			return c.emit(t, func(w io.Writer) { showTicket(w, t) })
		},
	}
	cmd.AddCommand(create, list, show, comment, resolve)
	return cmd
}

// showTicket prints a ticket, its description, comments and history.
func showTicket(w io.Writer, t *lockbox.Ticket) {
	newFields(w).
		add("ID", t.ID).
		add("Tenant", t.TenantID).
		add("Title", t.Title).
		add("Status", t.Status).
		add("Severity", t.Severity).
		addIf("Severity set by", t.SeveritySetBy).
		add("Created by", t.CreatedBy).
		addIf("Opened by", t.OpenedBy).
		add("Assignee", t.AssigneeID).
		add("Created", t.CreatedAt).
		add("Updated", t.UpdatedAt).
		addIf("Resolved", t.ResolvedAt).
		flush()
	section(w, "Description", t.Description)
	for _, cm := range t.Comments {
		section(w, "Comment "+cell(cm.ID)+" by "+cell(cm.AuthorID)+" at "+cell(cm.CreatedAt), cm.Body)
	}
	subtable(w, "History", headersOf(eventColumns), rowsOf(t.History, eventColumns))
}
