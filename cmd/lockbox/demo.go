package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
	"github.com/spf13/cobra"

	"github.com/lockbox-dev/lockbox"
	"github.com/lockbox-dev/lockbox/app"
)

// demoPassword is every demo user's password. The demo is for a laptop; its
// database lives in a fresh directory.
const demoPassword = "lockbox-demo-password"

// demoPerson is a seeded demo user.
type demoPerson struct {
	role, profile string
	user          *lockbox.User
	secret        string
}

// demoWorld is what the demo seeds.
type demoWorld struct {
	tenant *lockbox.Tenant
	ticket *lockbox.Ticket
	people []*demoPerson
	// gatewayToken is the API token of the gateway's service account, an
	// operator user with the role gateway.
	gatewayToken string
}

func demoCmd() *cobra.Command {
	var addr, gatewayAddr, dataDir, bootstrap string
	var keep bool
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run a server with a seeded tenant, people, ticket and a gateway, and print a walk-through",
		Long: `Run a lockbox server on a fresh embedded database, seeded with a tenant
(Contoso) with a customer admin and an approver, an operator engineer and a
support lead, and an open ticket. Beside it run a small customer-content
service (the tenant's mailboxes, as JSON) and a lockbox gateway in front of
it (--gateway-addr), so approved access can be exercised with curl. It
prints the addresses, the credentials and the commands that walk the whole
workflow. Stop it with Ctrl-C.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if dataDir == "" {
				d, err := os.MkdirTemp("", "lockbox-demo-")
				if err != nil {
					return err
				}
				dataDir = d
				// A directory the demo made is the demo's: gone when it
				// stops, also after a failed start, unless asked to keep.
				if !keep {
					defer func() {
						if err := os.RemoveAll(d); err != nil {
							fmt.Fprintf(cmd.ErrOrStderr(), "lockbox demo: removing %s: %v\n", d, err)
						}
					}()
				}
			}
			// The server's log goes to a file beside the database, out of
			// the walk-through's way.
			logFile, err := os.OpenFile(filepath.Join(dataDir, "server.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
			if err != nil {
				return err
			}
			defer logFile.Close()
			log, err := newLogger(logFile, "info", "text")
			if err != nil {
				return err
			}
			// Grant tokens name the server's public URL, http://<addr>, and
			// the gateway fetches its keys there: the port must be real.
			if addr, err = concretePort(addr); err != nil {
				return fmt.Errorf("--addr: %w", err)
			}
			// The portal's grant-token page shows a curl example against
			// the demo's gateway, so its port must be known now too.
			if gatewayAddr, err = concretePort(gatewayAddr); err != nil {
				return fmt.Errorf("--gateway-addr: %w", err)
			}
			out := cmd.OutOrStdout()
			// No mail server: e-mails are announced here and kept in a file.
			c := app.Config{Addr: addr, DataDir: dataDir, Logger: log, GatewayURL: "http://" + gatewayAddr,
				Notify: app.NotifyConfig{Mailer: &demoMailer{out: out, path: filepath.Join(dataDir, "mail.txt")}}}
			ctx := cmd.Context()
			// The server outlives the gateway, which records its last
			// accesses on the way out.
			srvCtx, stopServer := context.WithCancel(context.WithoutCancel(ctx))
			defer stopServer()
			var stack *demoStack
			err = serve(srvCtx, out, c, func(srv *app.Server) error {
				if bootstrap == "" {
					bootstrap = envOf(cmd)("LOCKBOX_BOOTSTRAP_TOKEN")
				}
				w, err := seedDemo(ctx, srv.Service, bootstrap)
				if err != nil {
					return fmt.Errorf("seeding the demo: %w", err)
				}
				boxes := newDemoMailboxes(w.tenant.ID, srv.Service.Now())
				if stack, err = startDemoStack(ctx, srv.URL(), gatewayAddr, dataDir, w.gatewayToken, boxes, log); err != nil {
					return err
				}
				go func() {
					select {
					case <-ctx.Done():
					case <-srvCtx.Done():
					}
					stack.Stop()
					stopServer()
				}()
				// The server serves once this returns; the walk-through
				// follows when the gateway has synced its revocation feed.
				go func() {
					ready := stack.WaitReady(ctx, 10*time.Second)
					if ctx.Err() == nil {
						printDemo(out, srv.URL(), dataDir, w, stack, ready)
					}
				}()
				return nil
			})
			if stack != nil {
				err = errors.Join(err, stack.Stop())
			}
			return err
		},
	}
	cmd.Flags().StringVar(&addr, "addr", "127.0.0.1:8080", "listen address")
	cmd.Flags().StringVar(&gatewayAddr, "gateway-addr", "127.0.0.1:8081", "listen address of the gateway in front of the demo mailboxes")
	cmd.Flags().StringVar(&dataDir, "data-dir", "", "database directory (default: a new temporary directory, removed when the demo stops)")
	cmd.Flags().BoolVar(&keep, "keep-data", false, "keep the temporary data directory (database, secret key, server log, mail) when the demo stops")
	cmd.AddCommand(demoMailCmd())
	cmd.Flags().StringVar(&bootstrap, "bootstrap-token", "", "API token of the demo's operator admin, for scripts such as lockbox soak (env LOCKBOX_BOOTSTRAP_TOKEN; default a random one, not printed)")
	return cmd
}

// concretePort turns a listen address with port 0 into one with a port that
// was free a moment ago, and leaves others as they are.
func concretePort(addr string) (string, error) {
	if _, port, err := net.SplitHostPort(addr); err != nil || port != "0" {
		return addr, nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// seedDemo creates the demo's tenant, people and ticket through the
// service's use cases: the operator admin onboards the tenant's first
// admin, who adds the approver. Unlike the API, which only invites people
// (they choose their own password), the demo seeds them with a password it
// prints on purpose (SeedUser, which the HTTP API does not offer).
func seedDemo(ctx context.Context, svc *lockbox.Service, token string) (*demoWorld, error) {
	if token == "" {
		token = lockbox.NewSecret("demo_")
	}
	if _, err := svc.Bootstrap(ctx, token); err != nil {
		return nil, err
	}
	op, err := svc.Authenticate(ctx, token)
	if err != nil {
		return nil, err
	}
	w := &demoWorld{}
	if w.tenant, err = svc.CreateTenant(ctx, op, lockbox.CreateTenantInput{Name: "Contoso"}); err != nil {
		return nil, err
	}
	add := func(creator *lockbox.Principal, role, profile string, in lockbox.CreateUserInput) (*demoPerson, error) {
		u, err := svc.SeedUser(ctx, creator, in, demoPassword)
		if err != nil {
			return nil, err
		}
		// Enrol TOTP as the user would: start, then confirm with a code.
		// The enrolment belongs to a session: the demo's own, here.
		self := &lockbox.Principal{User: u, CredentialID: "demo-enrolment", AMR: []string{"pwd"}}
		enrol, err := svc.EnrollTOTP(ctx, self, lockbox.TOTPEnrollInput{})
		if err != nil {
			return nil, err
		}
		// Confirm with the previous step's code (accepted as clock skew), so
		// the current code is still unused when the walk-through signs in.
		code, err := totp.GenerateCodeCustom(enrol.Secret, svc.Now().Add(-30*time.Second), totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
		if err != nil {
			return nil, err
		}
		if _, err := svc.VerifyTOTP(ctx, self, code); err != nil {
			return nil, err
		}
		p := &demoPerson{role: role, profile: profile, user: u, secret: enrol.Secret}
		w.people = append(w.people, p)
		return p, nil
	}
	admin, err := add(op, "customer admin (tenant_admin)", "alice", lockbox.CreateUserInput{
		Email: "alice@contoso.example", DisplayName: "Alice (Contoso admin)", Kind: lockbox.KindCustomer,
		TenantID: w.tenant.ID, Roles: []lockbox.Role{lockbox.RoleTenantAdmin}})
	if err != nil {
		return nil, err
	}
	// The tenant admin adds the approver, on a session signed in with MFA.
	adminMFA := &lockbox.Principal{User: admin.user, AMR: []string{"pwd", "otp"}}
	if _, err := add(adminMFA, "customer approver (lockbox_approver)", "bob", lockbox.CreateUserInput{
		Email: "bob@contoso.example", DisplayName: "Bob (Contoso approver)", Kind: lockbox.KindCustomer,
		TenantID: w.tenant.ID, Roles: []lockbox.Role{lockbox.RoleLockboxApprover}}); err != nil {
		return nil, err
	}
	eng, err := add(op, "operator engineer", "eve", lockbox.CreateUserInput{
		Email: "eve@operator.example", DisplayName: "Eve (support engineer)", Kind: lockbox.KindOperator,
		Roles: []lockbox.Role{lockbox.RoleEngineer}})
	if err != nil {
		return nil, err
	}
	if _, err := add(op, "support lead (group support-leads)", "lee", lockbox.CreateUserInput{
		Email: "lee@operator.example", DisplayName: "Lee (support lead)", Kind: lockbox.KindOperator,
		Roles: []lockbox.Role{lockbox.RoleEngineer}, Groups: []string{"support-leads"}}); err != nil {
		return nil, err
	}
	// The gateway's service account: it may read the revocation feed and
	// record accesses, nothing else, and signs in with an API token (it has
	// no password and is not invited).
	gw, err := svc.CreateUser(ctx, op, lockbox.CreateUserInput{
		Email: "gateway@operator.example", DisplayName: "Mailbox gateway", Kind: lockbox.KindOperator,
		Roles: []lockbox.Role{lockbox.RoleGateway}})
	if err != nil {
		return nil, err
	}
	gwTok, err := svc.CreateAPIToken(ctx, op, gw.ID, lockbox.CreateTokenInput{Name: "demo-gateway"})
	if err != nil {
		return nil, err
	}
	w.gatewayToken = gwTok.Token
	if w.ticket, err = svc.CreateTicket(ctx, &lockbox.Principal{User: admin.user, AMR: []string{"pwd"}}, lockbox.CreateTicketInput{
		TenantID: w.tenant.ID, Title: "Mail to alice@contoso.example is not delivered", Severity: 2,
		Description: "Since this morning no external mail reaches Alice's mailbox.", AssigneeID: eng.user.ID,
	}); err != nil {
		return nil, err
	}
	return w, nil
}

// cliSetup is the line that makes "lockbox" the demo's command in another
// shell. Under go run the executable is a temporary build, so it prints the
// build command (on the toolchain the project needs) instead of an alias of
// "lockbox" to itself, which would break every later command.
func cliSetup(exe string) string {
	if exe == "lockbox" {
		return "GOTOOLCHAIN=go1.27.3 go build -o bin/lockbox ./cmd/lockbox && alias lockbox=$PWD/bin/lockbox   # in the lockbox checkout"
	}
	return "alias lockbox=" + shellQuote(exe)
}

// printDemo prints the addresses, the people and the walk-through. ready
// tells whether the gateway has synced its revocation feed.
func printDemo(out io.Writer, url, dataDir string, w *demoWorld, stack *demoStack, ready bool) {
	exe := "lockbox"
	if p, err := os.Executable(); err == nil && !strings.Contains(p, "go-build") {
		if abs, err := filepath.Abs(p); err == nil {
			exe = abs
		}
	}
	printDemoAs(out, exe, url, dataDir, w, stack, ready)
}

// printDemoAs is printDemo for the lockbox executable exe.
func printDemoAs(out io.Writer, exe, url, dataDir string, w *demoWorld, stack *demoStack, ready bool) {
	fmt.Fprintf(out, "\nlockbox demo: API at %s, database and server log (server.log) in %s\n", url, dataDir)
	fmt.Fprintf(out, "Gateway at %s in front of the mailbox service at %s (routes in %s)\n", stack.gatewayURL, stack.mailboxURL, stack.routesFile)
	fmt.Fprintf(out, "Web portal at %s/ (sign in as anyone below; its grant-token page shows curl against the gateway)\n", url)
	if !ready {
		fmt.Fprintf(out, "(the gateway has not synced the revocation feed yet; until it does it answers 503)\n")
	}
	fmt.Fprintf(out, "\nPeople (every password is %q; each has TOTP enrolled):\n", demoPassword)
	tw := tabwriter.NewWriter(out, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  PROFILE\tWHO\tE-MAIL\tTOTP SECRET")
	for _, p := range w.people {
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", p.profile, p.role, p.user.Email, p.secret)
	}
	tw.Flush()
	fmt.Fprintf(out, "\nTenant %s (%s), open ticket %s: %q\n", w.tenant.ID, w.tenant.Name, w.ticket.ID, w.ticket.Title)
	fmt.Fprintf(out, "\nWalk the workflow in another terminal:\n\n")
	fmt.Fprintf(out, "  %s\n  export LOCKBOX_SERVER=%s LOCKBOX_CONFIG=%s\n", cliSetup(exe), url, filepath.Join(dataDir, "credentials.json"))
	for _, p := range w.people {
		fmt.Fprintf(out, "  lockbox --profile %-5s login --email %s --password %s --otp $(lockbox totp code %s)\n", p.profile, p.user.Email, demoPassword, p.secret)
	}
	mailbox := stack.gatewayURL + "/tenants/" + string(w.tenant.ID) + "/mailboxes/alice/messages"
	fmt.Fprintf(out, `
  # the engineer asks for an hour of read access to Alice's mailbox
  REQ=$(lockbox --profile eve -o id request create --ticket %[1]s --resource mailbox:alice --level read \
      --reason-type customer_initiated_support --justification "Trace the lost mail" --duration 1h)
  lockbox --profile lee request approve $REQ --reason "scope is right"     # internal approval
  lockbox --profile bob request show $REQ                                  # the customer sees it, and every e-mail and webhook about it
  lockbox demo mail --data-dir %[4]s   # the e-mails to Alice and Bob (no mail server needed)
  lockbox --profile bob request approve $REQ --reason "go ahead" --duration 30m

  # the engineer reads the mailbox through the gateway with a grant token
  TOKEN=$(lockbox --profile eve request token $REQ)
  curl -s -H "Authorization: Bearer $TOKEN" %[3]s
  curl -s -H "Authorization: Bearer $TOKEN" %[3]s/msg_3

  lockbox --profile bob request revoke $REQ --reason "fixed, thanks"       # ends access at once
  curl -s -H "Authorization: Bearer $TOKEN" %[3]s   # refused: access_ended
  lockbox --profile bob events %[2]s   # every step and every access, in the tenant's log

Stop the demo with Ctrl-C.
`, w.ticket.ID, w.tenant.ID, mailbox, dataDir)
}
