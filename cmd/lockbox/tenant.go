package main

import (
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/lockbox-dev/lockbox"
)

func (c *cli) tenantCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "tenant",
		Short: "Create and read tenants (customer organisations)",
	}
	create := &cobra.Command{
		Use:   "create NAME",
		Short: "Create a tenant (operator admins)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, err := c.apiClient()
			if err != nil {
				return err
			}
			t, err := cl.CreateTenant(cmd.Context(), lockbox.CreateTenantInput{Name: args[0]})
			if err != nil {
				return err
			}
			return c.emit(t, func(w io.Writer) { showTenant(w, t) })
		},
	}

	var page lockbox.Page
	list := &cobra.Command{
		Use:   "list",
		Short: "List the tenants you may see",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, err := c.apiClient()
			if err != nil {
				return err
			}
			l, err := cl.ListTenants(cmd.Context(), page)
			if err != nil {
				return err
			}
			return emitList(c, cmd, args, l, []column[*lockbox.Tenant]{
				col("ID", func(t *lockbox.Tenant) any { return t.ID }),
				col("NAME", func(t *lockbox.Tenant) any { return truncate(t.Name, 40) }),
				col("LOCKBOX", func(t *lockbox.Tenant) any { return onOff(t.Lockbox.Enabled) }),
				col("APPROVALS", func(t *lockbox.Tenant) any { return t.Lockbox.ApprovalsRequired }),
				col("CREATED", func(t *lockbox.Tenant) any { return t.CreatedAt }),
			})
		},
	}
	pageFlags(list, &page)

	show := &cobra.Command{
		Use:   "show ID",
		Short: "Show a tenant and its lockbox settings",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, err := c.apiClient()
			if err != nil {
				return err
			}
			t, err := cl.GetTenant(cmd.Context(), lockbox.TenantID(args[0]))
			if err != nil {
				return err
			}
			return c.emit(t, func(w io.Writer) { showTenant(w, t) })
		},
	}
	cmd.AddCommand(create, list, show)
	return cmd
}

func showTenant(w io.Writer, t *lockbox.Tenant) {
	f := newFields(w).
		add("ID", t.ID).
		add("Name", t.Name).
		add("Created", t.CreatedAt).
		add("Admin invited", t.AdminInvitedAt)
	settingsFields(f, &t.Lockbox, "Lockbox ")
	f.flush()
}

func settingsFields(f *fields, s *lockbox.LockboxSettings, prefix string) {
	hooks := make([]string, len(s.Webhooks))
	for i, h := range s.Webhooks {
		hooks[i] = h.URL
	}
	key := func(k string) string {
		if prefix == "" {
			return strings.ToUpper(k[:1]) + k[1:]
		}
		return prefix + k
	}
	f.add(key("enabled"), s.Enabled).
		add(key("approvals required"), s.ApprovalsRequired).
		add(key("pending TTL"), s.PendingTTL).
		add(key("max access duration"), s.MaxAccessDuration).
		add(key("notification emails"), s.NotificationEmails).
		add(key("webhooks"), hooks)
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}
