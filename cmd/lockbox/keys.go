package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/lockbox-dev/lockbox/app"
)

// keysCmd is `lockbox keys rotate`: rotate the grant-token signing key now,
// for example after a suspected leak, rather than at the daily rotation. It
// works on the database directly, like `lockbox migrate`.
func keysCmd() *cobra.Command {
	var c app.Config
	cmd := &cobra.Command{
		Use:   "keys",
		Short: "Manage the grant-token signing keys",
	}
	pf := cmd.PersistentFlags()
	pf.StringVar(&c.DatabaseURL, "database-url", "", "PostgreSQL URL (env LOCKBOX_DATABASE_URL)")
	pf.StringVar(&c.DataDir, "data-dir", defaultDataDir(), "SQLite database directory, when no --database-url (env LOCKBOX_DATA_DIR)")
	rotate := &cobra.Command{
		Use:   "rotate",
		Short: "Rotate the grant signing key now (running servers follow within a minute)",
		Long: `Rotate the grant-token signing key now. The next key, already in the JWK
Set, starts signing; the active key retires and stays published until every
token it signed has expired, so no valid token is refused. Give the server's
LOCKBOX_SECRET_KEY (with SQLite, secret.key in the data directory is used).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := applyEnv(cmd.Flags(), envOf(cmd)); err != nil {
				return err
			}
			c.SecretKey = envOf(cmd)("LOCKBOX_SECRET_KEY")
			kid, err := app.RotateGrantKeys(cmd.Context(), c)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "grant signing key rotated; active key %s\n", kid)
			return nil
		},
	}
	cmd.AddCommand(rotate)
	return cmd
}
