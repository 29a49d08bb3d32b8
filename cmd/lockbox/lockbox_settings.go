package main

import (
	"io"

	"github.com/spf13/cobra"

	"github.com/lockbox-dev/lockbox"
)

func (c *cli) lockboxCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "lockbox",
		Short: "Read and change a tenant's lockbox settings",
	}
	show := &cobra.Command{
		Use:   "show TENANT",
		Short: "Show a tenant's lockbox settings",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, err := c.apiClient()
			if err != nil {
				return err
			}
			s, err := cl.GetLockbox(cmd.Context(), lockbox.TenantID(args[0]))
			if err != nil {
				return err
			}
			return c.emit(s, func(w io.Writer) { showSettings(w, s) })
		},
	}

	var (
		enabled       bool
		approvals     int
		pendingTTL    lockbox.Duration
		maxDuration   lockbox.Duration
		emails        []string
		webhooks      []string
		webhookFormat string
	)
	set := &cobra.Command{
		Use:   "set TENANT [flags]",
		Short: "Change a tenant's lockbox settings (the tenant's own admins)",
		Long: `Change the lockbox settings the flags name; the others stay as they are.
Only a tenant_admin of the tenant may; no operator role can.

--enabled=false switches the customer approval step off. A list flag replaces
the whole list; give it empty (--webhook=) to clear it.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var p lockbox.LockboxPatch
			if changed(cmd, "enabled") {
				p.Enabled = &enabled
			}
			if changed(cmd, "approvals-required") {
				p.ApprovalsRequired = &approvals
			}
			if changed(cmd, "pending-ttl") {
				p.PendingTTL = &pendingTTL
			}
			if changed(cmd, "max-access-duration") {
				p.MaxAccessDuration = &maxDuration
			}
			if changed(cmd, "notification-email") {
				e := nonEmpty(emails)
				p.NotificationEmails = &e
			}
			if changed(cmd, "webhook") {
				hooks := []lockbox.Webhook{}
				for _, u := range nonEmpty(webhooks) {
					hooks = append(hooks, lockbox.Webhook{URL: u, Format: webhookFormat})
				}
				p.Webhooks = &hooks
			}
			if p == (lockbox.LockboxPatch{}) {
				return usagef("nothing to change: give at least one of --enabled, --approvals-required, --pending-ttl, --max-access-duration, --notification-email, --webhook")
			}
			cl, err := c.apiClient()
			if err != nil {
				return err
			}
			s, err := cl.UpdateLockbox(cmd.Context(), lockbox.TenantID(args[0]), p)
			if err != nil {
				return err
			}
			return c.emit(s, func(w io.Writer) { showSettings(w, s) })
		},
	}
	f := set.Flags()
	f.BoolVar(&enabled, "enabled", true, "require customer approval (--enabled=false turns it off)")
	f.IntVar(&approvals, "approvals-required", 1, "distinct customer approvals a request needs")
	durationVar(f, &pendingTTL, "pending-ttl", "how long customers have to decide, such as 12h")
	durationVar(f, &maxDuration, "max-access-duration", "longest access window, such as 8h")
	f.StringSliceVar(&emails, "notification-email", nil, "address notified of new requests (repeatable; replaces the list)")
	f.StringArrayVar(&webhooks, "webhook", nil, "https:// URL receiving every request event, signed (repeatable; replaces the list; the answer shows the secret of each webhook added, once)")
	f.StringVar(&webhookFormat, "webhook-format", "", "payload of the --webhook URLs: lockbox (the event, default), slack or teams")
	webhook := &cobra.Command{
		Use:   "webhook",
		Short: "Manage a tenant's webhooks' signing secrets",
	}
	rotate := &cobra.Command{
		Use:   "rotate TENANT URL",
		Short: "Give a webhook a new signing secret, shown once (tenant admins, signed in with a one-time code)",
		Long: `Replace the signing secret of the tenant's webhook at URL and print the new
one. Deliveries are signed with it from now on: give it to the receiver.

A secret is shown once, here or when the webhook is added ("lockbox set
--webhook"), and never again by any read of the settings. Only a tenant_admin
of the tenant, on a session signed in with a one-time code, may rotate; the
rotation is an event in the tenant's log (without the secret).`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, err := c.apiClient()
			if err != nil {
				return err
			}
			h, err := cl.RotateWebhookSecret(cmd.Context(), lockbox.TenantID(args[0]), args[1])
			if err != nil {
				return err
			}
			return c.emit(h, func(w io.Writer) {
				subtable(w, "New webhook signing secret (shown once)", []string{"URL", "FORMAT", "SECRET"}, [][]string{{h.URL, cell(h.Format), h.Secret}})
			})
		},
	}
	webhook.AddCommand(rotate)
	cmd.AddCommand(show, set, webhook)
	return cmd
}

func showSettings(w io.Writer, s *lockbox.LockboxSettings) {
	f := newFields(w)
	settingsFields(f, s, "")
	f.flush()
	// Secrets come once, in the answer that adds a webhook
	// (docs/notifications.md).
	var rows [][]string
	for _, h := range s.Webhooks {
		if h.Secret != "" {
			rows = append(rows, []string{h.URL, cell(h.Format), h.Secret})
		}
	}
	subtable(w, "Webhook signing secrets", []string{"URL", "FORMAT", "SECRET"}, rows)
}
