package main

import (
	"github.com/spf13/cobra"

	"github.com/lockbox-dev/lockbox"
	"github.com/lockbox-dev/lockbox/client"
)

func (c *cli) eventsCmd() *cobra.Command {
	var (
		after int64
		typ   string
		page  lockbox.Page
	)
	cmd := &cobra.Command{
		Use:   "events TENANT [--after N] [--type T]",
		Short: "List a tenant's log of events, oldest first",
		Long: `List the events of a tenant's append-only log, oldest first: every change
and every recorded data access. --after N starts after the event with index N.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			f := client.EventFilter{Type: lockbox.EventType(typ), Page: page}
			if changed(cmd, "after") {
				f.After = &after
			}
			cl, err := c.apiClient()
			if err != nil {
				return err
			}
			l, err := cl.ListEvents(cmd.Context(), lockbox.TenantID(args[0]), f)
			if err != nil {
				return err
			}
			return emitList(c, cmd, args, l, eventColumns)
		},
	}
	cmd.Flags().Int64Var(&after, "after", 0, "only events with a greater index")
	cmd.Flags().StringVar(&typ, "type", "", "only events of this type, such as request.approved")
	pageFlags(cmd, &page)
	return cmd
}

// eventColumns are the columns of an event list, shared by events and the
// history of ticket show.
var eventColumns = []column[*lockbox.Event]{
	col("INDEX", func(e *lockbox.Event) any { return e.Index }),
	col("TIME", func(e *lockbox.Event) any { return e.Time }),
	col("TYPE", func(e *lockbox.Event) any { return e.Type }),
	col("ACTOR", func(e *lockbox.Event) any { return actorOf(e) }),
	col("REQUEST", func(e *lockbox.Event) any { return e.RequestID }),
	col("TICKET", func(e *lockbox.Event) any { return e.TicketID }),
	col("DATA", func(e *lockbox.Event) any { return truncate(string(e.Data), 60) }),
}

// actorOf names who acted: the display name the server gives, else the
// user id.
func actorOf(e *lockbox.Event) string {
	if e.ActorName != "" {
		return e.ActorName
	}
	return string(e.ActorID)
}
