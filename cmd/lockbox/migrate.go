package main

import (
	"fmt"
	"path/filepath"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/lockbox-dev/lockbox/postgres"
	"github.com/lockbox-dev/lockbox/sqlite"
)

// migrateCmd is `lockbox migrate up|status`: schema changes as a separate
// deployment step. `lockbox serve` applies pending migrations itself, under
// a lock, so this is for operators who migrate with a more privileged role
// before rolling out new servers.
func migrateCmd() *cobra.Command {
	var dbURL, dataDir string
	cmd := &cobra.Command{
		Use:   "migrate",
		Short: "Apply or list database migrations",
	}
	pf := cmd.PersistentFlags()
	pf.StringVar(&dbURL, "database-url", "", "PostgreSQL URL (env LOCKBOX_DATABASE_URL)")
	pf.StringVar(&dataDir, "data-dir", defaultDataDir(), "SQLite database directory, when no --database-url (env LOCKBOX_DATA_DIR)")
	env := func(cmd *cobra.Command) error { return applyEnv(cmd.Flags(), envOf(cmd)) }

	up := &cobra.Command{
		Use:   "up",
		Short: "Apply every pending migration",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := env(cmd); err != nil {
				return err
			}
			if dbURL != "" {
				if err := postgres.Migrate(cmd.Context(), dbURL); err != nil {
					return err
				}
			} else {
				s, err := sqlite.Open(cmd.Context(), filepath.Join(dataDir, "lockbox.db"))
				if err != nil {
					return err
				}
				if err := s.Close(); err != nil {
					return err
				}
			}
			fmt.Fprintln(cmd.OutOrStdout(), "migrations applied")
			return nil
		},
	}
	status := &cobra.Command{
		Use:   "status",
		Short: "List the migrations and whether each is applied",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := env(cmd); err != nil {
				return err
			}
			w := tabwriter.NewWriter(cmd.OutOrStdout(), 2, 4, 2, ' ', 0)
			defer w.Flush()
			if dbURL == "" {
				s, err := sqlite.Open(cmd.Context(), filepath.Join(dataDir, "lockbox.db"))
				if err != nil {
					return err
				}
				defer s.Close()
				cur, latest, err := s.SchemaVersion(cmd.Context())
				if err != nil {
					return err
				}
				fmt.Fprintf(w, "SQLite schema version %d of %d (SQLite migrates when opened)\n", cur, latest)
				return nil
			}
			states, err := postgres.MigrationStatus(cmd.Context(), dbURL)
			if err != nil {
				return err
			}
			fmt.Fprintln(w, "VERSION\tNAME\tAPPLIED")
			for _, m := range states {
				applied := "pending"
				if m.Applied {
					applied = m.AppliedAt.UTC().Format(time.RFC3339)
				}
				fmt.Fprintf(w, "%d\t%s\t%s\n", m.Version, m.Name, applied)
			}
			return nil
		},
	}
	cmd.AddCommand(up, status)
	return cmd
}
