package main

import (
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/lockbox-dev/lockbox"
)

func (c *cli) loginCmd() *cobra.Command {
	var in lockbox.LoginInput
	var passwordStdin bool
	cmd := &cobra.Command{
		Use:   "login --email E [--password P | --password-stdin] [--otp CODE]",
		Short: "Sign in and keep the session under the profile",
		Long: `Sign in with e-mail and password and keep the session in the credentials
file under the profile (--profile, LOCKBOX_PROFILE, or "default").

The password comes from --password, --password-stdin, LOCKBOX_PASSWORD, or a
prompt on the terminal. --otp with a current TOTP code makes the session MFA,
which filing requests and approving them as a customer need.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			pw, err := c.password(in.Password, passwordStdin, "LOCKBOX_PASSWORD", "Password for "+in.Email+": ", false)
			if err != nil {
				return err
			}
			in.Password = pw

			creds, err := c.loadCredentials()
			if err != nil {
				return err
			}
			profile := c.profileName()
			server := c.serverURL(creds.Profiles[profile])
			out, err := c.newClient(server, "").Login(cmd.Context(), in)
			if err != nil {
				return err
			}
			creds.Profiles[profile] = &profileCreds{Server: server, Token: out.Token, ExpiresAt: out.ExpiresAt, Email: in.Email}
			if err := c.saveCredentials(creds); err != nil {
				return err
			}
			// The session token stays in the credentials file: it is not
			// printed, not even with -o json.
			view := struct {
				Profile   string        `json:"profile"`
				Server    string        `json:"server"`
				ExpiresAt time.Time     `json:"expires_at"`
				User      *lockbox.User `json:"user"`
			}{profile, server, out.ExpiresAt, out.User}
			return c.emit(view, func(w io.Writer) {
				name := in.Email
				if out.User != nil {
					name = fmt.Sprintf("%s (%s, %s)", out.User.Email, out.User.ID, cell(out.User.Roles))
				}
				mfa := "without a second factor"
				if in.OTP != "" {
					mfa = "with a one-time code (MFA)"
				}
				fmt.Fprintf(w, "Signed in to %s as %s %s.\n", server, cell(name), mfa)
				fmt.Fprintf(w, "Profile %q; the session expires at %s.\n", profile, cell(out.ExpiresAt))
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&in.Email, "email", "", "e-mail address")
	f.StringVar(&in.Password, "password", "", "password (visible to other local users in the process list: prefer a prompt, --password-stdin or LOCKBOX_PASSWORD)")
	f.BoolVar(&passwordStdin, "password-stdin", false, "read the password from the first line of stdin")
	f.StringVar(&in.OTP, "otp", "", "current TOTP code, for an MFA session")
	cmd.MarkFlagRequired("email")
	return cmd
}

func (c *cli) logoutCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "logout",
		Short: "End the profile's session on the server and forget it",
		Long: `End the profile's session on the server (POST /v1/auth/logout), so its token
is refused from then on, and remove it from the credentials file. Other
profiles are kept.

The session is forgotten here even when the server cannot end it (it cannot
be reached, or the profile holds an API token, which logout does not end);
a warning then says until when the token stays valid on the server.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			creds, err := c.loadCredentials()
			if err != nil {
				return err
			}
			profile := c.profileName()
			p, ok := creds.Profiles[profile]
			if !ok {
				c.say("Profile %q was not signed in.", profile)
				return nil
			}
			ended := "The session had already expired."
			if p.ExpiresAt.IsZero() || c.now().Before(p.ExpiresAt) {
				ended = "The server ended the session."
				switch err := c.newClient(p.Server, p.Token).Logout(cmd.Context()); {
				case err == nil:
				case lockbox.ErrorCodeOf(err) == lockbox.CodeUnauthenticated:
					ended = "The session had already ended on the server."
				default:
					until := "it expires"
					if !p.ExpiresAt.IsZero() {
						until = cell(p.ExpiresAt)
					}
					fmt.Fprintf(c.stderr, "lockbox: warning: the server did not end the session (%s); it stays valid until %s\n",
						sanitizeLine(err.Error()), until)
					ended = "The session was forgotten here only."
				}
			}
			delete(creds.Profiles, profile)
			if err := c.saveCredentials(creds); err != nil {
				return err
			}
			c.say("Signed out of profile %q (%s at %s). %s", profile, cell(p.Email), p.Server, ended)
			return nil
		},
	}
}

func (c *cli) whoamiCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "whoami",
		Short: "Show who the profile is signed in as",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cl, err := c.apiClient()
			if err != nil {
				return err
			}
			me, err := cl.Me(cmd.Context())
			if err != nil {
				return err
			}
			return c.emit(me, func(w io.Writer) {
				f := newFields(w).
					add("Server", cl.BaseURL()).
					add("Credentials", c.credentials)
				userFields(f, &me.User)
				f.add("MFA session", me.MFA).add("Methods", me.AMR)
				f.flush()
			})
		},
	}
}
