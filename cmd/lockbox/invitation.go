package main

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/lockbox-dev/lockbox"
	"github.com/lockbox-dev/lockbox/client"
)

// invitationCmd is `lockbox invitation`: accepting an invitation from the
// command line, with the token of the link e-mailed to you (the part after
// /invitations/). No sign-in: the token is the credential.
func (c *cli) invitationCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "invitation",
		Short: "Accept an invitation: choose your own password and second factor",
		Long: `Accept the invitation e-mailed to you, with the token at the end of its link
(<server>/invitations/TOKEN), instead of the portal's invitation page:

  lockbox invitation show TOKEN        who is invited, which roles
  lockbox invitation totp TOKEN        enrol an authenticator app (prints the key)
  lockbox invitation accept TOKEN --otp CODE

Every role but member needs the second factor: run totp first, load the key
into your authenticator app, then accept with a current code. The password
comes from --password-stdin or a prompt on the terminal (asked twice).`,
	}
	cmd.AddCommand(c.invitationShowCmd(), c.invitationTOTPCmd(), c.invitationAcceptCmd())
	return cmd
}

// anonClient is a client without credentials, on the selected server.
func (c *cli) anonClient() (*client.Client, error) {
	creds, err := c.loadCredentials()
	if err != nil {
		return nil, err
	}
	return c.newClient(c.serverURL(creds.Profiles[c.profileName()]), ""), nil
}

func (c *cli) invitationShowCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "show TOKEN",
		Short: "Show who an invitation is for and whether it needs a second factor",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, err := c.anonClient()
			if err != nil {
				return err
			}
			inv, err := cl.GetInvitation(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return c.emit(inv, func(w io.Writer) {
				newFields(w).add("Email", inv.Email).add("Name", inv.DisplayName).add("Kind", inv.Kind).
					addIf("Tenant", inv.TenantName).add("Roles", inv.Roles).addIf("Invited by", inv.InvitedBy).
					add("Expires", inv.ExpiresAt).add("Second factor", inv.SecondFactorRequired).flush()
			})
		},
	}
}

func (c *cli) invitationTOTPCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "totp TOKEN",
		Short: "Enrol an authenticator app with the invitation (prints its key once)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, err := c.anonClient()
			if err != nil {
				return err
			}
			e, err := cl.InvitationTOTP(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return c.emit(e, func(w io.Writer) {
				newFields(w).add("Secret", e.Secret).add("URL", e.OTPAuthURL).flush()
				fmt.Fprintln(w, "\nLoad the secret into your authenticator app, then: lockbox invitation accept TOKEN --otp CODE")
			})
		},
	}
}

func (c *cli) invitationAcceptCmd() *cobra.Command {
	var (
		in            lockbox.AcceptInvitationInput
		passwordStdin bool
	)
	cmd := &cobra.Command{
		Use:   "accept TOKEN [--otp CODE] [--password-stdin]",
		Short: "Accept an invitation: set your password (and second factor)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			pw, err := c.password("", passwordStdin, "", "New password: ", true)
			if err != nil {
				return err
			}
			in.Password = pw
			cl, err := c.anonClient()
			if err != nil {
				return err
			}
			u, err := cl.AcceptInvitation(cmd.Context(), args[0], in)
			if err != nil {
				return err
			}
			return c.emit(u, func(w io.Writer) {
				showUser(w, u)
				fmt.Fprintln(w, "\nYour password is set. Sign in with: lockbox login --email "+u.Email+" --otp CODE")
			})
		},
	}
	cmd.Flags().StringVar(&in.OTP, "otp", "", "a current code of the authenticator enrolled with lockbox invitation totp")
	cmd.Flags().BoolVar(&passwordStdin, "password-stdin", false, "read the password from the first line of stdin")
	return cmd
}
