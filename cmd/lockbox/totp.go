package main

import (
	"fmt"
	"io"
	"time"

	"github.com/pquerna/otp/totp"
	"github.com/spf13/cobra"

	"github.com/lockbox-dev/lockbox"
)

func (c *cli) totpCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "totp",
		Short: "Enrol and use a TOTP second factor",
	}
	var current string
	enrol := &cobra.Command{
		Use:     "enrol",
		Aliases: []string{"enroll"},
		Short:   "Start TOTP enrolment: print the secret and the otpauth URL",
		Long: `Start TOTP enrolment: print the secret and the otpauth URL. Confirm it with
lockbox totp verify CODE from the same session within 10 minutes; after
that, start again. To replace an enrolled app, sign in with --otp (an MFA
session) and give a current code of that app with --current-code.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cl, err := c.apiClient()
			if err != nil {
				return err
			}
			e, err := cl.EnrollTOTP(cmd.Context(), lockbox.TOTPEnrollInput{Code: current})
			if err != nil {
				return err
			}
			return c.emit(e, func(w io.Writer) {
				newFields(w).add("Secret", e.Secret).add("URL", e.OTPAuthURL).flush()
				fmt.Fprintf(w, "\nAdd the secret to an authenticator app, then confirm with: lockbox%s totp verify CODE\n", c.profileArg())
			})
		},
	}
	enrol.Flags().StringVar(&current, "current-code", "", "a current code of the app enrolled now (needed to replace it)")
	verify := &cobra.Command{
		Use:   "verify CODE",
		Short: "Confirm TOTP enrolment with a current code",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, err := c.apiClient()
			if err != nil {
				return err
			}
			me, err := cl.VerifyTOTP(cmd.Context(), lockbox.TOTPVerifyInput{Code: args[0]})
			if err != nil {
				return err
			}
			return c.emit(me, func(w io.Writer) {
				fmt.Fprintf(w, "TOTP is on for %s. Sign in with --otp CODE for an MFA session: lockbox%s login --email %s --otp CODE\n",
					cell(me.Email), c.profileArg(), shellQuote(me.Email))
			})
		},
	}
	code := &cobra.Command{
		Use:   "code [SECRET]",
		Short: "Print the current TOTP code for a secret (computed locally)",
		Long: `Print the current 6-digit TOTP code for a base32 secret, computed on this
machine. A convenience for demos and scripts; the secret may also come from
LOCKBOX_TOTP_SECRET, which keeps it out of the process list.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			secret := c.getenv("LOCKBOX_TOTP_SECRET")
			if len(args) == 1 {
				secret = args[0]
			}
			if secret == "" {
				return usagef("give the secret as an argument or in LOCKBOX_TOTP_SECRET")
			}
			now := c.now()
			code, err := totp.GenerateCode(secret, now)
			if err != nil {
				return fmt.Errorf("the secret is not a base32 TOTP secret")
			}
			const period = 30
			validUntil := time.Unix((now.Unix()/period+1)*period, 0).UTC()
			view := struct {
				Code       string    `json:"code"`
				ValidUntil time.Time `json:"valid_until"`
			}{code, validUntil}
			return c.emit(view, func(w io.Writer) { fmt.Fprintln(w, code) })
		},
	}
	cmd.AddCommand(enrol, verify, code)
	return cmd
}
