package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/lockbox-dev/lockbox"
	"github.com/lockbox-dev/lockbox/client"
)

func (c *cli) userCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "user",
		Short: "Manage operator and customer users",
	}
	cmd.AddCommand(c.userInviteCmd(), c.userListCmd(), c.userShowCmd(), c.userUpdateCmd(), c.userDeleteCmd(), c.userTokenCmd(),
		c.userReinviteCmd(), c.userRevokeInvitationCmd())
	return cmd
}

func (c *cli) userInviteCmd() *cobra.Command {
	var (
		in            lockbox.CreateUserInput
		kind, tenant  string
		roles, groups []string
	)
	cmd := &cobra.Command{
		Use:     "invite --email E --name N --role R [--kind K] [--tenant T] [flags]",
		Aliases: []string{"create"},
		Short:   "Create a user and e-mail them an invitation",
		Long: `Create an operator user (roles operator_admin, engineer, gateway; groups;
--isolated) or a customer user of a tenant (roles tenant_admin,
lockbox_approver, member). --kind defaults to customer when --tenant is
given and to operator otherwise.

Nobody sets another person's password: the user receives a single-use link
(valid 72 hours by default) at their e-mail address, chooses their own
password and, for every role but member, sets up one-time codes in the same
step (in the portal, or with lockbox invitation accept). The link is never
shown to you. A gateway service account (only the gateway role) is not
invited: create an API token for it with lockbox user token.

Operator admins create operator users, and a tenant's tenant_admin while the
tenant has no active admin; after that only the tenant's own admins manage
its users. A lost password or an expired link: lockbox user reinvite.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			in.TenantID = lockbox.TenantID(tenant)
			switch {
			case kind != "":
				in.Kind = lockbox.UserKind(kind)
			case tenant != "":
				in.Kind = lockbox.KindCustomer
			default:
				in.Kind = lockbox.KindOperator
			}
			in.Roles = toRoles(roles)
			in.Groups = groups
			cl, err := c.apiClient()
			if err != nil {
				return err
			}
			u, err := cl.CreateUser(cmd.Context(), in)
			if err != nil {
				return err
			}
			return c.emit(u, func(w io.Writer) {
				showUser(w, u)
				if u.IsServiceAccount() {
					fmt.Fprintln(w, "\nA service account: it is not invited. Create its API token with: lockbox user token "+string(u.ID)+" --name NAME")
				} else {
					fmt.Fprintln(w, "\nInvited: "+u.Email+" receives a single-use link to choose their own password.")
				}
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&in.Email, "email", "", "e-mail address (the sign-in name)")
	f.StringVar(&in.DisplayName, "name", "", "display name")
	f.StringVar(&kind, "kind", "", "operator or customer")
	f.StringVar(&tenant, "tenant", "", "tenant ID (customer users)")
	f.StringSliceVar(&roles, "role", nil, "role (repeatable)")
	f.StringSliceVar(&groups, "group", nil, "operator group, such as support-leads (repeatable)")
	f.BoolVar(&in.Isolated, "isolated", false, "mark an isolated (hardened, separate) operator identity")
	required(cmd, "email", "name", "role")
	return cmd
}

func (c *cli) userReinviteCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "reinvite ID",
		Short: "Send a user a new invitation (a lost password or an expired link)",
		Long: `Send the user a new single-use link by e-mail. The earlier link stops
working, and so do the user's password, one-time codes, sessions and API
tokens: the user chooses new ones through the link. A tenant's admins
re-invite its users; operator admins operator users, and a tenant's
tenant_admin only while the tenant has no active admin (its notification
e-mails are told).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, err := c.apiClient()
			if err != nil {
				return err
			}
			u, err := cl.Reinvite(cmd.Context(), lockbox.UserID(args[0]))
			if err != nil {
				return err
			}
			return c.emit(u, func(w io.Writer) {
				showUser(w, u)
				fmt.Fprintln(w, "\nInvited again: "+u.Email+" receives a new single-use link.")
			})
		},
	}
}

func (c *cli) userRevokeInvitationCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "revoke-invitation ID",
		Short: "Withdraw a user's open invitation: its link stops working",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, err := c.apiClient()
			if err != nil {
				return err
			}
			if err := cl.RevokeInvitation(cmd.Context(), lockbox.UserID(args[0])); err != nil {
				return err
			}
			c.say("Withdrew the invitation of user %s.", cell(args[0]))
			return nil
		},
	}
}

func (c *cli) userListCmd() *cobra.Command {
	var f struct {
		tenant, kind string
		page         lockbox.Page
	}
	cmd := &cobra.Command{
		Use:   "list [--tenant T] [--kind K]",
		Short: "List users",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, err := c.apiClient()
			if err != nil {
				return err
			}
			l, err := cl.ListUsers(cmd.Context(), client.UserFilter{
				TenantID: lockbox.TenantID(f.tenant), Kind: lockbox.UserKind(f.kind), Page: f.page})
			if err != nil {
				return err
			}
			return emitList(c, cmd, args, l, []column[*lockbox.User]{
				col("ID", func(u *lockbox.User) any { return u.ID }),
				col("EMAIL", func(u *lockbox.User) any { return u.Email }),
				col("NAME", func(u *lockbox.User) any { return truncate(u.DisplayName, 30) }),
				col("KIND", func(u *lockbox.User) any { return u.Kind }),
				col("TENANT", func(u *lockbox.User) any { return u.TenantID }),
				col("ROLES", func(u *lockbox.User) any { return u.Roles }),
				col("GROUPS", func(u *lockbox.User) any { return u.Groups }),
				col("TOTP", func(u *lockbox.User) any { return u.TOTPEnabled }),
			})
		},
	}
	cmd.Flags().StringVar(&f.tenant, "tenant", "", "only users of this tenant")
	cmd.Flags().StringVar(&f.kind, "kind", "", "only operator or customer users")
	pageFlags(cmd, &f.page)
	return cmd
}

func (c *cli) userShowCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "show ID",
		Short: "Show a user",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, err := c.apiClient()
			if err != nil {
				return err
			}
			u, err := cl.GetUser(cmd.Context(), lockbox.UserID(args[0]))
			if err != nil {
				return err
			}
			return c.emit(u, func(w io.Writer) { showUser(w, u) })
		},
	}
}

func (c *cli) userUpdateCmd() *cobra.Command {
	var (
		name, password, current string
		roles, groups           []string
		isolated                bool
		passwordStdin           bool
	)
	cmd := &cobra.Command{
		Use:   "update ID [--name N] [--role R ...] [--group G ...] [--isolated] [--password P --current-password C]",
		Short: "Change a user",
		Long: `Change the fields the flags name; the others stay as they are. --role and
--group replace the whole list. --isolated=false clears the isolated mark.

--password changes your own password only, on a signed-in session (lockbox
login; never an API token), and needs your current password
(--current-password, or a prompt on the terminal). Your other sessions and
API tokens end, and you are e-mailed about the change. Nobody sets another
user's password: a user who lost theirs is re-invited (lockbox user reinvite).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var in lockbox.UpdateUserInput
			if changed(cmd, "name") {
				in.DisplayName = &name
			}
			if changed(cmd, "role") {
				r := toRoles(nonEmpty(roles))
				in.Roles = &r
			}
			if changed(cmd, "group") {
				g := nonEmpty(groups)
				in.Groups = &g
			}
			if changed(cmd, "isolated") {
				in.Isolated = &isolated
			}
			if changed(cmd, "password") || passwordStdin {
				pw, err := c.password(password, passwordStdin, "", "", false)
				if err != nil {
					return err
				}
				in.Password = &pw
				cur, err := c.password(current, false, "", "Current password: ", false)
				if err != nil {
					return err
				}
				in.CurrentPassword = &cur
			}
			if in == (lockbox.UpdateUserInput{}) {
				return usagef("nothing to change: give at least one of --name, --role, --group, --isolated, --password")
			}
			cl, err := c.apiClient()
			if err != nil {
				return err
			}
			u, err := cl.UpdateUser(cmd.Context(), lockbox.UserID(args[0]), in)
			if err != nil {
				return err
			}
			return c.emit(u, func(w io.Writer) { showUser(w, u) })
		},
	}
	f := cmd.Flags()
	f.StringVar(&name, "name", "", "display name")
	f.StringSliceVar(&roles, "role", nil, "role (repeatable; replaces the roles)")
	f.StringSliceVar(&groups, "group", nil, "operator group (repeatable; replaces the groups)")
	f.BoolVar(&isolated, "isolated", false, "isolated operator identity")
	f.StringVar(&password, "password", "", "new password")
	f.BoolVar(&passwordStdin, "password-stdin", false, "read the new password from the first line of stdin")
	f.StringVar(&current, "current-password", "", "your current password (with --password; prompted for when absent)")
	return cmd
}

func (c *cli) userDeleteCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "delete ID",
		Short: "Remove a user and end its sessions and API tokens",
		Long: `Remove a user: it can no longer sign in and its sessions and API tokens
stop working. An engineer's approved access is revoked in the same change
(end_reason requester_removed, on the revocation feed, notified) and its
pending requests are canceled; approvals the user gave to requests still
pending stop counting. Taking the engineer role away (user update --role)
ends its access the same way (requester_role_removed).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, err := c.apiClient()
			if err != nil {
				return err
			}
			if err := cl.DeleteUser(cmd.Context(), lockbox.UserID(args[0])); err != nil {
				return err
			}
			c.say("Deleted user %s.", cell(args[0]))
			return nil
		},
	}
}

func (c *cli) userTokenCmd() *cobra.Command {
	var in lockbox.CreateTokenInput
	var expiresIn lockbox.Duration
	cmd := &cobra.Command{
		Use:   "token ID --name N [--expires-in D]",
		Short: "Create a long-lived API token for yourself or a gateway service account (shown once)",
		Long: `Create an API token for automation (your own: ID is your user ID) or for an
enforcement point (an operator admin, for a gateway service account). Nobody
creates a token for another person. The token is printed once and cannot be
read again; use it with --token or LOCKBOX_TOKEN.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if changed(cmd, "expires-in") {
				in.ExpiresIn = &expiresIn
			}
			cl, err := c.apiClient()
			if err != nil {
				return err
			}
			t, err := cl.CreateToken(cmd.Context(), lockbox.UserID(args[0]), in)
			if err != nil {
				return err
			}
			return c.emit(t, func(w io.Writer) {
				newFields(w).add("Token", t.Token).add("ID", t.ID).add("Expires", t.ExpiresAt).flush()
				fmt.Fprintln(w, "\nThe token is shown only now: store it safely.")
			})
		},
	}
	cmd.Flags().StringVar(&in.Name, "name", "", "what the token is for, such as gateway-eu1")
	durationVar(cmd.Flags(), &expiresIn, "expires-in", "lifetime, such as 720h (default: the server's)")
	required(cmd, "name")
	return cmd
}

// showUser prints a user's details.
func showUser(w io.Writer, u *lockbox.User) {
	f := newFields(w)
	userFields(f, u)
	f.flush()
}

func userFields(f *fields, u *lockbox.User) {
	f.add("ID", u.ID).
		add("Email", u.Email).
		add("Name", u.DisplayName).
		add("Kind", u.Kind).
		addIf("Tenant", u.TenantID).
		add("Roles", u.Roles)
	if u.Kind == lockbox.KindOperator {
		f.add("Groups", u.Groups).add("Isolated", u.Isolated)
	}
	f.add("TOTP", u.TOTPEnabled).
		add("Created", u.CreatedAt).
		add("Updated", u.UpdatedAt).
		addIf("Deleted", u.DeletedAt)
}

func toRoles(ss []string) []lockbox.Role {
	out := make([]lockbox.Role, len(ss))
	for i, s := range ss {
		out[i] = lockbox.Role(s)
	}
	return out
}

// password returns a password from, in order: the flag's value, the first
// line of stdin, the environment variable env (when not ""), or a prompt on
// the terminal (asked twice when confirm is set).
func (c *cli) password(value string, fromStdin bool, env, prompt string, confirm bool) (string, error) {
	switch {
	case value != "":
		return value, nil
	case fromStdin:
		line, err := bufio.NewReader(c.stdin).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return "", fmt.Errorf("reading the password from stdin: %w", err)
		}
		if line = strings.TrimRight(line, "\r\n"); line == "" {
			return "", usagef("--password-stdin: stdin holds no password")
		}
		return line, nil
	case env != "" && c.getenv(env) != "":
		return c.getenv(env), nil
	case c.readSecret != nil:
		if prompt == "" {
			prompt = "Password: "
		}
		p, err := c.readSecret(prompt)
		if err != nil {
			return "", fmt.Errorf("reading the password: %w", err)
		}
		if confirm {
			again, err := c.readSecret("Again: ")
			if err != nil {
				return "", fmt.Errorf("reading the password: %w", err)
			}
			if again != p {
				return "", errors.New("the passwords differ")
			}
		}
		if p != "" {
			return p, nil
		}
	}
	hint := "--password or --password-stdin"
	if env != "" {
		hint += " or " + env
	}
	return "", usagef("no password: give %s, or run on a terminal", hint)
}
