// Command lockbox is the lockbox server and its command-line client.
//
// The client commands (login, tenant, user, ticket, request, events, …) talk
// to a lockbox server over its HTTP API with the Go client in package client.
// Credentials are kept per profile, so one terminal can act as several people:
//
//	lockbox --profile engineer login --email eve@operator.test --otp 123456
//	lockbox --profile customer request approve req_… --reason "go ahead"
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/lockbox-dev/lockbox"
	"github.com/lockbox-dev/lockbox/client"
)

// DefaultServer is the server the client commands talk to when neither
// --server, LOCKBOX_SERVER nor the profile names one.
const DefaultServer = "http://127.0.0.1:8080"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}

// run executes the lockbox command line in-process and returns the exit
// status: 0 on success, 1 on any error, which it prints to stderr as
// "lockbox: <message>". env stands for os.Getenv, so tests control the
// environment (LOCKBOX_CONFIG above all) without touching the process's.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, env func(string) string) int {
	c := newCLI(stdout, stderr, env)
	c.stdin = os.Stdin
	if fd := int(os.Stdin.Fd()); term.IsTerminal(fd) {
		c.readSecret = func(prompt string) (string, error) {
			fmt.Fprint(c.stderr, prompt)
			b, err := term.ReadPassword(fd)
			fmt.Fprintln(c.stderr)
			return string(b), err
		}
	}
	return c.run(ctx, args)
}

// cli holds what every command shares: its streams, environment and the
// global flags.
type cli struct {
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	getenv func(string) string
	now    func() time.Time
	// readSecret prompts on the terminal and reads a line without echo; nil
	// when stdin is not a terminal.
	readSecret func(prompt string) (string, error)
	// httpClient sends the API requests.
	httpClient *http.Client
	// invitationLink reads the invitation link e-mailed to an address, for
	// `lockbox soak`, whose people are invited (tests set it; without it
	// soak cannot set up its people).
	invitationLink func(ctx context.Context, email string) (string, error)

	// Global flags.
	server  string
	token   string
	profile string
	output  string

	// credentials says where the last apiClient took its token from.
	credentials string
}

func newCLI(stdout, stderr io.Writer, env func(string) string) *cli {
	if env == nil {
		env = func(string) string { return "" }
	}
	return &cli{
		stdin:      strings.NewReader(""),
		stdout:     stdout,
		stderr:     stderr,
		getenv:     env,
		now:        time.Now,
		httpClient: &http.Client{Timeout: 2 * time.Minute},
	}
}

// run parses args, runs the command and reports its error.
func (c *cli) run(ctx context.Context, args []string) int {
	return c.execute(ctx, c.newRootCmd(), args)
}

// execute runs the command tree under root with args.
func (c *cli) execute(ctx context.Context, root *cobra.Command, args []string) int {
	root.SetArgs(args)
	cmd, err := root.ExecuteContextC(context.WithValue(ctx, envKey{}, c.getenv))
	if err == nil {
		return 0
	}
	c.printError(cmd, err)
	return 1
}

type envKey struct{}

// envOf returns the environment of the run executing cmd: os.Getenv in the
// real program, the test's map in-process. Server commands read their
// LOCKBOX_* settings through it.
func envOf(cmd *cobra.Command) func(string) string {
	if env, ok := cmd.Context().Value(envKey{}).(func(string) string); ok {
		return env
	}
	return os.Getenv
}

// printError writes err as "lockbox: <message>", with an API error's details
// on lines of their own and a hint where one helps.
func (c *cli) printError(cmd *cobra.Command, err error) {
	var ae *client.APIError
	var le *lockbox.Error
	switch {
	case errors.As(err, &ae) && len(ae.Details) > 0:
		short := *ae
		short.Details = nil
		fmt.Fprintf(c.stderr, "lockbox: %s\n", sanitizeLine(short.Error()))
		for _, d := range ae.Details {
			fmt.Fprintf(c.stderr, "  - %s\n", sanitizeLine(d))
		}
	case errors.As(err, &le) && len(le.Details) > 0:
		// A local domain error with details, such as an invalid --policy
		// file at start: its problems on lines of their own.
		fmt.Fprintf(c.stderr, "lockbox: %s\n", sanitizeLine(err.Error()))
		for _, d := range le.Details {
			fmt.Fprintf(c.stderr, "  - %s\n", sanitizeLine(d))
		}
	default:
		fmt.Fprintf(c.stderr, "lockbox: %s\n", sanitizeLine(err.Error()))
	}
	switch {
	case isUsage(err):
		if cmd != nil {
			fmt.Fprintf(c.stderr, "Run '%s --help' for usage.\n", cmd.CommandPath())
		}
	case errors.Is(err, lockbox.ErrUnauthenticated) && c.token == "" && c.getenv("LOCKBOX_TOKEN") == "":
		fmt.Fprintf(c.stderr, "Sign in again: lockbox%s login --email …\n", c.profileArg())
	}
}

// errUsage marks errors in the command line itself.
var errUsage = errors.New("usage error")

type usageError struct{ err error }

func (e usageError) Error() string        { return e.err.Error() }
func (e usageError) Is(target error) bool { return target == errUsage }
func (e usageError) Unwrap() error        { return e.err }

// isUsage reports whether err is about the command line, including the
// errors cobra itself reports about flags and commands.
func isUsage(err error) bool {
	if errors.Is(err, errUsage) {
		return true
	}
	msg := err.Error()
	for _, p := range []string{"required flag", "unknown command", "if any flags in the group", "invalid argument"} {
		if strings.HasPrefix(msg, p) {
			return true
		}
	}
	return false
}

// usagef returns an error about the command line.
func usagef(format string, args ...any) error {
	return usageError{fmt.Errorf(format, args...)}
}

// newRootCmd builds the command tree.
func (c *cli) newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "lockbox",
		Short: "Customer Lockbox: just-in-time, customer-approved operator access",
		Long: `lockbox runs the lockbox server and talks to it.

The client commands sign in once per profile (lockbox login) and keep the
session in a credentials file ($LOCKBOX_CONFIG, by default
` + "`<user config dir>/lockbox/credentials.json`" + `). --token or LOCKBOX_TOKEN
uses an API token instead.

The server is --server, else LOCKBOX_SERVER, else the server the profile
signed in to, else ` + DefaultServer + `.`,
		SilenceErrors:     true,
		SilenceUsage:      true,
		CompletionOptions: cobra.CompletionOptions{HiddenDefaultCmd: true},
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			if c.output != "table" && c.output != "json" && c.output != "id" {
				return usagef("--output must be table, json or id, not %q", c.output)
			}
			return validProfile(c.profileName())
		},
	}
	root.SetOut(c.stdout)
	root.SetErr(c.stderr)
	root.SetIn(c.stdin)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })

	pf := root.PersistentFlags()
	pf.StringVar(&c.server, "server", "", "lockbox server URL (env LOCKBOX_SERVER; default: the profile's server, else "+DefaultServer+")")
	pf.StringVar(&c.token, "token", "", "API token to use instead of the profile's session (env LOCKBOX_TOKEN)")
	pf.StringVar(&c.profile, "profile", "", `credentials profile (env LOCKBOX_PROFILE; default "default")`)
	pf.StringVarP(&c.output, "output", "o", "table", "output format: table, json, or id (just the IDs, for scripts)")

	root.AddCommand(
		c.loginCmd(), c.logoutCmd(), c.whoamiCmd(), c.totpCmd(),
		c.tenantCmd(), c.lockboxCmd(), c.userCmd(), c.invitationCmd(), c.ticketCmd(), c.requestCmd(), c.eventsCmd(), c.logCmd(), c.policyCmd(), c.soakCmd(),
	)
	addServerCommands(root)
	for _, cmd := range root.Commands() {
		finishCommands(cmd)
	}
	return root
}

// finishCommands walks the tree under cmd: argument-count errors become
// usage errors, so they print with a pointer to --help, and a command group
// run without a subcommand shows its help but refuses an unknown one.
func finishCommands(cmd *cobra.Command) {
	if cmd.HasSubCommands() && !cmd.Runnable() {
		cmd.Args = cobra.NoArgs
		cmd.RunE = func(cmd *cobra.Command, _ []string) error { return cmd.Help() }
	}
	if args := cmd.Args; args != nil {
		cmd.Args = func(cmd *cobra.Command, a []string) error {
			if err := args(cmd, a); err != nil {
				return usageError{err}
			}
			return nil
		}
	}
	for _, sub := range cmd.Commands() {
		finishCommands(sub)
	}
}

// profileName is the profile the command acts as.
func (c *cli) profileName() string {
	switch {
	case c.profile != "":
		return c.profile
	case c.getenv("LOCKBOX_PROFILE") != "":
		return c.getenv("LOCKBOX_PROFILE")
	}
	return "default"
}

// profileArg is " --profile P" for hints, or "" for the default profile.
func (c *cli) profileArg() string {
	if p := c.profileName(); p != "default" {
		return " --profile " + shellQuote(p)
	}
	return ""
}

// serverURL resolves the server: --server, LOCKBOX_SERVER, the profile's,
// then DefaultServer.
func (c *cli) serverURL(stored *profileCreds) string {
	switch {
	case c.server != "":
		return normalizeServer(c.server)
	case c.getenv("LOCKBOX_SERVER") != "":
		return normalizeServer(c.getenv("LOCKBOX_SERVER"))
	case stored != nil && stored.Server != "":
		return stored.Server
	}
	return DefaultServer
}

func normalizeServer(s string) string { return strings.TrimRight(strings.TrimSpace(s), "/") }

// newClient returns a client for the resolved server, authenticated with
// token (which may be empty).
func (c *cli) newClient(server, token string) *client.Client {
	return client.New(server, token, client.WithHTTPClient(c.httpClient), client.WithUserAgent("lockbox-cli/1"))
}

// apiClient returns a client signed in as the profile, or with --token or
// LOCKBOX_TOKEN, which override the stored session.
//
// A stored session is only ever sent to the server it was issued by: with a
// different --server the command fails rather than hand the token to
// another host.
func (c *cli) apiClient() (*client.Client, error) {
	server, token, err := c.credentialsFor()
	if err != nil {
		return nil, err
	}
	return c.newClient(server, token), nil
}

// credentialsFor resolves the server and bearer token of this command, with
// the rules of apiClient.
func (c *cli) credentialsFor() (server, token string, err error) {
	profile := c.profileName()
	explicit := c.token
	if explicit == "" {
		explicit = c.getenv("LOCKBOX_TOKEN")
	}
	var stored *profileCreds
	creds, err := c.loadCredentials()
	switch {
	case err == nil:
		stored = creds.Profiles[profile]
	case explicit == "":
		return "", "", err
	}
	server = c.serverURL(stored)
	switch {
	case c.token != "":
		c.credentials = "--token"
		return server, c.token, nil
	case explicit != "":
		c.credentials = "LOCKBOX_TOKEN"
		return server, explicit, nil
	case stored == nil || stored.Token == "":
		return "", "", fmt.Errorf("not signed in (profile %q): run lockbox%s login --email … or set LOCKBOX_TOKEN", profile, c.profileArg())
	case stored.Server != server:
		return "", "", fmt.Errorf("profile %q is signed in to %s, not %s: sign in there with lockbox%s --server %s login, or use another --profile",
			profile, stored.Server, server, c.profileArg(), shellQuote(server))
	case !stored.ExpiresAt.IsZero() && !c.now().Before(stored.ExpiresAt):
		return "", "", fmt.Errorf("the session of profile %q expired at %s: run lockbox%s login again",
			profile, fmtTime(stored.ExpiresAt), c.profileArg())
	}
	c.credentials = fmt.Sprintf("profile %q (%s)", profile, stored.Email)
	return server, stored.Token, nil
}
