package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/lockbox-dev/lockbox/app"
)

// serverCommands are the commands that run a server rather than talk to one.
func serverCommands() []*cobra.Command {
	return []*cobra.Command{serveCmd(), demoCmd(), migrateCmd(), gatewayCmd(), keysCmd()}
}

// serveFlags are the flags of `lockbox serve`; each has a LOCKBOX_* twin.
type serveFlags struct {
	app.Config
	logLevel  string
	logFormat string
}

func (f *serveFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&f.Addr, "addr", "127.0.0.1:8080", "listen address")
	fs.StringVar(&f.DataDir, "data-dir", defaultDataDir(), "directory of the embedded SQLite database")
	fs.StringVar(&f.DatabaseURL, "database-url", "", "PostgreSQL URL (postgres://…): replicas share one database; see docs/deployment.md")
	fs.StringVar(&f.PublicURL, "public-url", "", "the URL users reach the server at, used in links (default http://<addr>)")
	fs.StringVar(&f.LogOrigin, "log-origin", "", "origin of the tenant logs' checkpoints, <origin>/tenants/<id> (default: the public URL's host and path)")
	fs.StringVar(&f.InternalGroup, "internal-approval-group", "support-leads", `operator group whose approval the built-in JIT policy requires ("-" for none)`)
	fs.StringVar(&f.TLSCert, "tls-cert", "", "TLS certificate file (PEM); serve HTTPS with --tls-key")
	fs.StringVar(&f.TLSKey, "tls-key", "", "TLS private key file (PEM)")
	fs.DurationVar(&f.SweepInterval, "sweep-interval", time.Second, "how often passed deadlines are applied in the background")
	fs.StringVar(&f.logLevel, "log-level", "info", "debug, info, warn or error")
	fs.StringVar(&f.logFormat, "log-format", "text", "text or json")
}

// defaultDataDir is where `lockbox serve` keeps its database without setup.
func defaultDataDir() string {
	if d := os.Getenv("XDG_DATA_HOME"); d != "" {
		return filepath.Join(d, "lockbox")
	}
	if h, err := os.UserHomeDir(); err == nil {
		return filepath.Join(h, ".local", "share", "lockbox")
	}
	return "lockbox-data"
}

// applyEnv sets every flag not given on the command line from its LOCKBOX_*
// environment twin: --data-dir from LOCKBOX_DATA_DIR.
func applyEnv(fs *pflag.FlagSet, getenv func(string) string) error {
	var err error
	fs.VisitAll(func(f *pflag.Flag) {
		if f.Changed || err != nil {
			return
		}
		name := "LOCKBOX_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v := getenv(name); v != "" {
			if e := fs.Set(f.Name, v); e != nil {
				err = fmt.Errorf("%s: %w", name, e)
			}
		}
	})
	return err
}

// newLogger builds the structured logger of a server.
func newLogger(w io.Writer, level, format string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level: %q is not debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: l}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("--log-format: %q is not text or json", format)
}

func serveCmd() *cobra.Command {
	f := &serveFlags{}
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the lockbox server",
		Long: `Run the lockbox server on an embedded SQLite database.

Every flag has a LOCKBOX_* environment twin (--data-dir: LOCKBOX_DATA_DIR).
On an empty database, LOCKBOX_BOOTSTRAP_TOKEN creates the first operator
admin, whose API token is that value. LOCKBOX_SECRET_KEY (32 bytes in
base64) encrypts the signing keys kept in the database; with SQLite it is
created in the data directory (secret.key, mode 0600) when not given, with
PostgreSQL every replica must be given the same one. The server prints the address it
listens on when it is ready and stops cleanly on SIGTERM.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := applyEnv(cmd.Flags(), envOf(cmd)); err != nil {
				return err
			}
			log, err := newLogger(cmd.ErrOrStderr(), f.logLevel, f.logFormat)
			if err != nil {
				return err
			}
			f.Logger = log
			f.BootstrapToken = envOf(cmd)("LOCKBOX_BOOTSTRAP_TOKEN")
			f.SecretKey = envOf(cmd)("LOCKBOX_SECRET_KEY")
			return serve(cmd.Context(), cmd.OutOrStdout(), f.Config, nil)
		},
	}
	f.register(cmd.Flags())
	return cmd
}

// serve starts a server, prints where it listens, runs ready (if any) and
// serves until ctx ends.
func serve(ctx context.Context, out io.Writer, c app.Config, ready func(*app.Server) error) error {
	if err := app.EnsureDir(c.DataDir); err != nil {
		return fmt.Errorf("--data-dir: %w", err)
	}
	srv, err := app.New(ctx, c)
	if err != nil {
		return err
	}
	defer srv.Close()
	if err := srv.Listen(); err != nil {
		return err
	}
	fmt.Fprintf(out, "lockbox listening on %s\n", srv.URL())
	if ready != nil {
		if err := ready(srv); err != nil {
			return err
		}
	}
	return srv.Serve(ctx)
}
