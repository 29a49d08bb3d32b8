package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/spf13/cobra"

	"github.com/lockbox-dev/lockbox/gateway"
)

// gatewayFlags are the flags of `lockbox gateway`; each has a LOCKBOX_*
// twin (--spool-dir: LOCKBOX_SPOOL_DIR).
type gatewayFlags struct {
	gateway.Config
	admin               string
	logLevel, logFormat string
}

func gatewayCmd() *cobra.Command {
	f := &gatewayFlags{}
	cmd := &cobra.Command{
		Use:   "gateway --listen ADDR --upstream URL --server URL --routes FILE [--spool-dir DIR]",
		Short: "Run the enforcement point: a reverse proxy that lets approved access through",
		Long: `Run lockbox's enforcement point in front of a customer-content service.

Every request must carry a grant token (Authorization: Bearer, from
"lockbox request token") that verifies against the server's JWKS, names a
request the revocation feed has not ended, and covers the route's tenant,
resource and level; the gateway records every allowed and refused access as
an event in the tenant's log (failing closed when it cannot) and strips the
token before proxying.

The gateway authenticates to the server with LOCKBOX_TOKEN: an API token of
a user holding the operator role "gateway". The routes file (YAML or JSON)
lists {method, path, tenant, resource, level?}. With --spool-dir, records the
server has not acknowledged are kept on disk and sent later.

Requests refused before any grant token verifies (no route, no token, a
forged, expired or wrong-audience token) are in no tenant's log: anonymous
traffic must not grow a customer's permanent record. They are counted by
reason (lockbox_gateway_unverified_refusals_total on --admin-listen's
/metrics), logged, and summarized once per --refusal-summary-interval in the
server's system log.

A gateway that has not heard from the server's revocation feed for
--max-feed-staleness (default 30s; the server sends a heartbeat every 15s)
refuses every access until it hears again: cut off from the server, it fails
closed within a minute rather than admit a revoked grant.`,
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
			f.APIToken = envOf(cmd)("LOCKBOX_TOKEN")
			if f.MaxFeedStaleness <= 0 {
				return errors.New("--max-feed-staleness must be positive: a gateway that cannot hear of revocations must stop admitting")
			}
			return runGateway(cmd.Context(), cmd.OutOrStdout(), f.Config, f.admin, nil)
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&f.Listen, "listen", "127.0.0.1:8081", "listen address")
	fs.StringVar(&f.Upstream, "upstream", "", "the protected service's URL (http://127.0.0.1:9000)")
	fs.StringVar(&f.Server, "server", "", "the lockbox server's URL (its JWKS, revocation feed and access events)")
	fs.StringVar(&f.RoutesFile, "routes", "", "the route table (YAML or JSON)")
	fs.BoolVar(&f.SpoolFirst, "spool-first", false, "make each access record durable in the local spool (one fsync per batch) before proxying, and ship the spool to the server after; needs --spool-dir")
	fs.StringVar(&f.SpoolDir, "spool-dir", "", "directory of the durable spool of unacknowledged access records (default: none; refuse when the server cannot record)")
	fs.StringVar(&f.Name, "name", "", "this gateway's name in access records (default: the host name)")
	fs.StringVar(&f.Issuer, "issuer", "", "the iss grant tokens must carry: the server's public URL (default: --server)")
	fs.DurationVar(&f.MaxFeedStaleness, "max-feed-staleness", gateway.DefaultMaxFeedStaleness, "refuse every access when the revocation feed has been silent this long (the server's heartbeat comes every 15s)")
	fs.DurationVar(&f.SummaryInterval, "refusal-summary-interval", gateway.DefaultSummaryInterval, "how often requests refused before any token verified are summarized in the server's system log and this gateway's log")
	fs.StringVar(&f.admin, "admin-listen", "", "address serving /healthz, /readyz and Prometheus /metrics (default: none)")
	fs.StringVar(&f.logLevel, "log-level", "info", "debug, info, warn or error")
	fs.StringVar(&f.logFormat, "log-format", "text", "text or json")
	for _, name := range []string{"upstream", "server", "routes"} {
		required(cmd, name)
	}
	return cmd
}

// runGateway builds the gateway, prints where it listens, runs ready (if
// any) and serves until ctx ends.
func runGateway(ctx context.Context, out io.Writer, c gateway.Config, admin string, ready func(addr string) error) error {
	if c.APIToken == "" {
		return errors.New("LOCKBOX_TOKEN is required: an API token of a user with the gateway role")
	}
	var reg *prometheus.Registry
	if admin != "" && c.Metrics == nil {
		reg = prometheus.NewRegistry()
		c.Metrics = reg
	}
	gw, err := gateway.New(c)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", c.Listen)
	if err != nil {
		gw.Close()
		return fmt.Errorf("--listen: %w", err)
	}
	if admin != "" {
		aln, err := net.Listen("tcp", admin)
		if err != nil {
			ln.Close()
			gw.Close()
			return fmt.Errorf("--admin-listen: %w", err)
		}
		mux := http.NewServeMux()
		mux.Handle("/", gw.HealthHandler())
		if reg != nil {
			mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
		}
		as := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
		go func() { _ = as.Serve(aln) }()
		defer as.Close()
		fmt.Fprintf(out, "lockbox gateway admin (/healthz, /readyz, /metrics) on %s\n", aln.Addr())
	}
	fmt.Fprintf(out, "lockbox gateway listening on %s\n", ln.Addr())
	if ready != nil {
		if err := ready(ln.Addr().String()); err != nil {
			ln.Close()
			gw.Close()
			return err
		}
	}
	return gw.Serve(ctx, ln)
}
