package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
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
	fs.StringVar(&f.GatewayURL, "gateway-url", "", "where engineers reach the enforcement gateway (lockbox gateway), shown with the grant token in the portal's curl example (default: a placeholder)")
	fs.StringVar(&f.LogOrigin, "log-origin", "", "origin of the tenant logs' checkpoints, <origin>/tenants/<id> (default: the public URL's host and path)")
	fs.StringVar(&f.PolicyFile, "policy", "", "JIT policy file (Cedar; see docs/policies.md): validated at start, reloaded on SIGHUP and POST /v1/admin/policy/reload (default: the built-in default policy)")
	fs.StringVar(&f.InternalGroup, "internal-approval-group", "", `with the default policy: the operator group whose approval it requires ("-" for none; default support-leads)`)
	fs.StringVar(&f.TLSCert, "tls-cert", "", "TLS certificate file (PEM); serve HTTPS with --tls-key")
	fs.StringVar(&f.TLSKey, "tls-key", "", "TLS private key file (PEM)")
	fs.DurationVar(&f.SweepInterval, "sweep-interval", time.Second, "how often passed deadlines are applied in the background")
	fs.DurationVar(&f.InvitationTTL, "invitation-ttl", 72*time.Hour, "how long the single-use link of an invitation (a new user choosing their own password) is valid")
	fs.StringVar(&f.Notify.SMTPURL, "smtp-url", "", "SMTP server for notification e-mails: smtp://user:pass@host:port (STARTTLS; ?starttls=false to disable) or smtps://… (TLS); without it e-mails are written to the log")
	fs.StringVar(&f.Notify.SMTPFrom, "smtp-from", "", "sender address of notification e-mails (required with --smtp-url)")
	fs.StringSliceVar(&f.Notify.WebhookURLs, "webhook-url", nil, "operator-wide webhook receiving every request event of every tenant (repeatable; https://, or http:// to localhost)")
	fs.StringVar(&f.Notify.WebhookSecret, "webhook-secret", "", "secret signing the operator-wide webhooks (Lockbox-Signature); prefer LOCKBOX_WEBHOOK_SECRET")
	fs.StringVar(&f.Notify.WebhookFormat, "webhook-format", "lockbox", "payload of the operator-wide webhooks: lockbox (the event), slack or teams")
	fs.BoolVar(&f.Notify.WebhookAllowPrivate, "webhook-allow-private", false, "let tenant webhooks reach special-purpose addresses (loopback, private, link-local, documentation… — the IANA registries) and this host's own (refused by default: tenants must not make the server probe its own network)")
	fs.DurationVar(&f.Notify.ReminderBefore, "reminder-before", time.Hour, "remind approvers this long before a pending request's decision deadline (negative: never)")
	fs.DurationVar(&f.Notify.Backoff, "notify-backoff", 10*time.Second, "first retry delay of a failed notification; it doubles at every failure")
	fs.DurationVar(&f.Notify.MaxBackoff, "notify-max-backoff", time.Hour, "longest retry delay of a failed notification")
	fs.DurationVar(&f.Notify.GiveUpAfter, "notify-give-up", 24*time.Hour, "how long after the change a notification is retried before it is marked failed")
	fs.DurationVar(&f.Notify.Lease, "notify-lease", 2*time.Minute, "how long a replica holds a notification it is sending before another may take it over")
	fs.StringSliceVar(&f.TrustedProxies, "trusted-proxies", nil, "load balancers and proxies (addresses or CIDR prefixes, comma-separated) whose X-Forwarded-For names the client; from any other peer the header is ignored. The sign-in throttle keys on the client address")
	fs.IntVar(&f.PasswordHashers, "password-hashers", 0, "how many password hashes (argon2id, 19 MiB each) may run at once; more sign-ins wait their turn (default 2 × CPUs)")
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
listens on when it is ready and stops cleanly on SIGTERM.

The JIT policy is --policy FILE (Cedar, see docs/policies.md), else the
built-in default policy (lockbox policy default prints it). An invalid file
stops the start with every problem as FILE:LINE:COL: message. SIGHUP (or
POST /v1/admin/policy/reload) reads the file again; an invalid file is
reported the same way and the running policy stays.`,
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
	// SIGHUP reloads the JIT policy.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	reloadCtx, stopReload := context.WithCancel(ctx)
	defer stopReload()
	go srv.ReloadPolicyOn(reloadCtx, hup)
	fmt.Fprintf(out, "lockbox listening on %s\n", srv.URL())
	if ready != nil {
		if err := ready(srv); err != nil {
			return err
		}
	}
	return srv.Serve(ctx)
}
