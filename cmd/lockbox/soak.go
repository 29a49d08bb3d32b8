package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/pquerna/otp/totp"
	"github.com/spf13/cobra"

	"github.com/lockbox-dev/lockbox"
	"github.com/lockbox-dev/lockbox/client"
)

// soakCmd is `lockbox soak`: a mixed load against a running server for a
// set time, printing throughput, latency percentiles, errors and the
// server's memory at every interval, so an operator sees whether latency
// and memory stay flat. It needs an operator admin's API token (--token or
// LOCKBOX_TOKEN): it creates its own tenant and people, and its workers
// each run the whole workflow in a loop — create a request, approve it
// internally and as the customer, take a grant token, read through the
// gateway (with --gateway), then revoke or release it.
func (c *cli) soakCmd() *cobra.Command {
	var (
		duration, interval time.Duration
		workers, reads     int
		gateway, gwPath    string
	)
	cmd := &cobra.Command{
		Use:   "soak",
		Short: "Run a mixed load against a server and report throughput, latency, errors and memory over time",
		Long: `Run a mixed load against a running lockbox server for --duration and report,
every --interval, the operations per second, the p50 and p99 latency of each
kind, the errors, and the server's memory (from its /metrics). Each worker
loops over the whole workflow: create a request, approve it internally and as
the customer, take a grant token, read through the gateway --reads times
(with --gateway), then revoke or release the access. The load runs in a
tenant of its own, created with the operator admin token given by --token or
LOCKBOX_TOKEN; the server must run the default JIT policy (one support-leads
approval). For example, against the demo:

  lockbox demo &
  lockbox soak --server http://127.0.0.1:8080 --token $BOOTSTRAP --gateway http://127.0.0.1:8081 --duration 30m`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if duration <= 0 || interval <= 0 || workers < 1 || reads < 0 {
				return usagef("--duration and --interval must be positive, --workers at least 1, --reads at least 0")
			}
			server, token, err := c.credentialsFor()
			if err != nil {
				return err
			}
			s := &soak{out: cmd.OutOrStdout(), server: server, gateway: strings.TrimRight(gateway, "/"), gwPath: gwPath, reads: reads,
				op: c.newClient(server, token), http: &http.Client{Timeout: 30 * time.Second}}
			return s.run(cmd.Context(), duration, interval, workers)
		},
	}
	f := cmd.Flags()
	f.DurationVar(&duration, "duration", 5*time.Minute, "how long to run")
	f.DurationVar(&interval, "interval", 10*time.Second, "how often to report")
	f.IntVar(&workers, "workers", 8, "concurrent workers, each running the workflow in a loop")
	f.IntVar(&reads, "reads", 5, "gateway reads per grant (with --gateway)")
	f.StringVar(&gateway, "gateway", "", "the lockbox gateway's URL (e.g. the demo's); without it, no reads")
	f.StringVar(&gwPath, "gateway-path", "/tenants/{tenant}/mailboxes/alice/messages", "the path read through the gateway; {tenant} is the soak's tenant, the resource is mailbox:alice")
	return cmd
}

// soak holds one run's people and figures.
type soak struct {
	out             io.Writer
	server, gateway string
	gwPath          string
	reads           int
	op              *client.Client
	http            *http.Client

	tenant                      lockbox.TenantID
	ticket                      lockbox.TicketID
	eng, lead, approver, admin  *client.Client
	mu                          sync.Mutex
	lat                         map[string][]time.Duration // this interval's latencies by operation
	errs                        map[string]int             // this interval's errors by operation
	lastErr                     string
	totalOps, totalErrs         int
	firstMem, lastMem, peakMem  float64
	firstP99, lastP99, peakP99  time.Duration
	intervals                   int
	firstHeap, lastHeap         float64
	firstThroughput, lastThrput float64
}

var soakOps = []string{"create", "review", "token", "read", "end"}

func (s *soak) run(ctx context.Context, duration, interval time.Duration, workers int) error {
	if err := s.setup(ctx); err != nil {
		return fmt.Errorf("soak: setting up: %w", err)
	}
	fmt.Fprintf(s.out, "soak: %d workers for %s against %s (tenant %s)", workers, duration, s.server, s.tenant)
	if s.gateway != "" {
		fmt.Fprintf(s.out, ", reading through %s", s.gateway)
	}
	fmt.Fprintln(s.out)
	tw := tabwriter.NewWriter(s.out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "elapsed\tops/s\t"+strings.Join(soakHeader(), "\t")+"\terrors\tserver RSS MiB\theap MiB\t")
	tw.Flush()

	s.lat, s.errs = map[string][]time.Duration{}, map[string]int{}
	ctx, cancel := context.WithTimeout(ctx, duration)
	defer cancel()
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() { s.worker(ctx) })
	}
	start, last := time.Now(), time.Now()
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for done := false; !done; {
		select {
		case <-ctx.Done():
			done = true
		case <-tick.C:
		}
		now := time.Now()
		// The run's end often falls on a tick: a sliver of an interval
		// after it would only add a line of zeros.
		if done && now.Sub(last) < interval/10 {
			break
		}
		s.report(tw, now.Sub(start), now.Sub(last))
		last = now
	}
	wg.Wait()
	s.summary(time.Since(start))
	return nil
}

func soakHeader() []string {
	var h []string
	for _, op := range soakOps {
		h = append(h, op+" p50/p99 ms")
	}
	return h
}

// setup creates the soak's tenant and people, each signed in with a
// one-time code.
func (s *soak) setup(ctx context.Context) error {
	tn, err := s.op.CreateTenant(ctx, lockbox.CreateTenantInput{Name: "Soak " + time.Now().UTC().Format(time.RFC3339)})
	if err != nil {
		return err
	}
	s.tenant = tn.ID
	suffix := strings.ToLower(lockbox.NewID("s"))
	person := func(creator *client.Client, name string, in lockbox.CreateUserInput) (*client.Client, error) {
		in.Email, in.DisplayName, in.Password = name+"."+suffix+"@soak.example", name, "soak-password-"+suffix
		if _, err := creator.CreateUser(ctx, in); err != nil {
			return nil, fmt.Errorf("creating %s: %w", name, err)
		}
		anon := client.New(s.server, "", client.WithHTTPClient(s.http))
		ses, err := anon.Login(ctx, lockbox.LoginInput{Email: in.Email, Password: in.Password})
		if err != nil {
			return nil, err
		}
		c := anon.WithToken(ses.Token)
		enrol, err := c.EnrollTOTP(ctx, lockbox.TOTPEnrollInput{})
		if err != nil {
			return nil, err
		}
		// Confirm with the previous step's code, sign in with the current.
		prev, _ := totp.GenerateCode(enrol.Secret, time.Now().Add(-30*time.Second))
		if _, err := c.VerifyTOTP(ctx, lockbox.TOTPVerifyInput{Code: prev}); err != nil {
			return nil, err
		}
		cur, _ := totp.GenerateCode(enrol.Secret, time.Now())
		if ses, err = anon.Login(ctx, lockbox.LoginInput{Email: in.Email, Password: in.Password, OTP: cur}); err != nil {
			return nil, err
		}
		return anon.WithToken(ses.Token), nil
	}
	if s.admin, err = person(s.op, "admin", lockbox.CreateUserInput{Kind: lockbox.KindCustomer, TenantID: tn.ID, Roles: []lockbox.Role{lockbox.RoleTenantAdmin}}); err != nil {
		return err
	}
	if s.approver, err = person(s.admin, "approver", lockbox.CreateUserInput{Kind: lockbox.KindCustomer, TenantID: tn.ID, Roles: []lockbox.Role{lockbox.RoleLockboxApprover}}); err != nil {
		return err
	}
	if s.eng, err = person(s.op, "engineer", lockbox.CreateUserInput{Kind: lockbox.KindOperator, Roles: []lockbox.Role{lockbox.RoleEngineer}}); err != nil {
		return err
	}
	if s.lead, err = person(s.op, "lead", lockbox.CreateUserInput{Kind: lockbox.KindOperator, Roles: []lockbox.Role{lockbox.RoleEngineer}, Groups: []string{"support-leads"}}); err != nil {
		return err
	}
	tk, err := s.eng.CreateTicket(ctx, lockbox.CreateTicketInput{TenantID: tn.ID, Title: "soak", Description: "load", Severity: 3})
	if err != nil {
		return err
	}
	s.ticket = tk.ID
	return nil
}

// worker runs the workflow in a loop until ctx ends.
func (s *soak) worker(ctx context.Context) {
	for n := 0; ctx.Err() == nil; n++ {
		var r *lockbox.AccessRequest
		if !s.do(ctx, "create", func() (err error) {
			r, err = s.eng.CreateRequest(ctx, lockbox.CreateRequestInput{TicketID: s.ticket, Resources: []string{"mailbox:alice"},
				AccessLevel: lockbox.LevelRead, ReasonType: lockbox.ReasonCustomerInitiated, Justification: "soak", Duration: lockbox.Duration(time.Hour)})
			return err
		}) {
			continue
		}
		if !s.do(ctx, "review", func() error { _, err := s.lead.Approve(ctx, r.ID, lockbox.ApproveInput{Reason: "soak"}); return err }) ||
			!s.do(ctx, "review", func() error {
				_, err := s.approver.Approve(ctx, r.ID, lockbox.ApproveInput{Reason: "soak"})
				return err
			}) {
			continue
		}
		var g *lockbox.GrantToken
		if !s.do(ctx, "token", func() (err error) { g, err = s.eng.IssueToken(ctx, r.ID); return err }) {
			continue
		}
		if s.gateway != "" {
			url := s.gateway + strings.ReplaceAll(s.gwPath, "{tenant}", string(s.tenant))
			for range s.reads {
				s.do(ctx, "read", func() error { return s.read(ctx, url, g.Token) })
			}
		}
		if n%2 == 0 {
			s.do(ctx, "end", func() error { _, err := s.admin.Revoke(ctx, r.ID, lockbox.ReasonInput{Reason: "soak"}); return err })
		} else {
			s.do(ctx, "end", func() error { _, err := s.eng.Complete(ctx, r.ID); return err })
		}
	}
}

// read GETs url through the gateway with the grant token; the gateway must
// let it through (whatever the service behind answers).
func (s *soak) read(ctx context.Context, url, token string) error {
	req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := s.http.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(res.Body, 4096))
	if res.StatusCode == http.StatusUnauthorized || res.StatusCode == http.StatusForbidden || res.StatusCode >= 500 {
		return fmt.Errorf("gateway answered %d: %s", res.StatusCode, strings.TrimSpace(string(body)))
	}
	return nil
}

// do times one operation and counts it; it reports whether it succeeded.
// An operation cut short by the end of the run counts as neither.
func (s *soak) do(ctx context.Context, op string, fn func() error) bool {
	t0 := time.Now()
	err := fn()
	d := time.Since(t0)
	if ctx.Err() != nil {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		s.errs[op]++
		s.lastErr = op + ": " + err.Error()
		var ae *client.APIError
		if !errors.As(err, &ae) {
			time.Sleep(100 * time.Millisecond) // the server is away: do not spin
		}
		return false
	}
	s.lat[op] = append(s.lat[op], d)
	return true
}

// report prints one interval's line and starts the next interval.
func (s *soak) report(w *tabwriter.Writer, elapsed, span time.Duration) {
	s.mu.Lock()
	lat, errs, lastErr := s.lat, s.errs, s.lastErr
	s.lat, s.errs, s.lastErr = map[string][]time.Duration{}, map[string]int{}, ""
	s.mu.Unlock()
	ops, nerr := 0, 0
	var all []time.Duration
	cells := []string{}
	for _, op := range soakOps {
		l := lat[op]
		ops += len(l)
		all = append(all, l...)
		p50, p99 := percentiles(l)
		cells = append(cells, fmt.Sprintf("%s/%s", ms(p50), ms(p99)))
	}
	for _, n := range errs {
		nerr += n
	}
	rss, heap := s.serverMemory()
	rate := float64(ops) / span.Seconds()
	fmt.Fprintf(w, "%s\t%.0f\t%s\t%d\t%.1f\t%.1f\t\n", elapsed.Round(time.Second), rate, strings.Join(cells, "\t"), nerr, rss/(1<<20), heap/(1<<20))
	w.Flush()
	if lastErr != "" {
		fmt.Fprintf(s.out, "  last error: %s\n", lastErr)
	}
	_, p99 := percentiles(all)
	s.totalOps += ops
	s.totalErrs += nerr
	s.intervals++
	// The first interval warms up (connections, caches, tables): the
	// figures to compare start at the second.
	if s.intervals == 2 || (s.intervals == 1 && s.firstMem == 0) {
		s.firstMem, s.firstHeap, s.firstP99, s.firstThroughput = rss, heap, p99, rate
	}
	s.lastMem, s.lastHeap, s.lastP99, s.lastThrput = rss, heap, p99, rate
	s.peakMem, s.peakP99 = max(s.peakMem, rss), max(s.peakP99, p99)
}

func (s *soak) summary(elapsed time.Duration) {
	fmt.Fprintf(s.out, "\nsoak: %d operations in %s (%.0f/s), %d errors\n", s.totalOps, elapsed.Round(time.Second), float64(s.totalOps)/elapsed.Seconds(), s.totalErrs)
	if s.intervals < 3 {
		fmt.Fprintln(s.out, "soak: too few intervals to compare the start with the end")
		return
	}
	fmt.Fprintf(s.out, "soak: from the 2nd interval to the last: throughput %.0f -> %.0f ops/s, p99 (all operations) %s -> %s ms (peak %s), server RSS %.1f -> %.1f MiB (peak %.1f), heap in use %.1f -> %.1f MiB\n",
		s.firstThroughput, s.lastThrput, ms(s.firstP99), ms(s.lastP99), ms(s.peakP99), s.firstMem/(1<<20), s.lastMem/(1<<20), s.peakMem/(1<<20), s.firstHeap/(1<<20), s.lastHeap/(1<<20))
}

func percentiles(l []time.Duration) (p50, p99 time.Duration) {
	if len(l) == 0 {
		return 0, 0
	}
	l = slices.Clone(l)
	slices.Sort(l)
	return l[len(l)/2], l[len(l)*99/100]
}

func ms(d time.Duration) string { return strconv.FormatFloat(float64(d)/1e6, 'f', 1, 64) }

// serverMemory reads the server's resident memory and Go heap in use from
// its Prometheus /metrics; zeros when they cannot be read.
func (s *soak) serverMemory() (rss, heap float64) {
	res, err := s.http.Get(s.server + "/metrics")
	if err != nil {
		return 0, 0
	}
	defer res.Body.Close()
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), " ")
		if !ok {
			continue
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
		if err != nil {
			continue
		}
		switch name {
		case "process_resident_memory_bytes":
			rss = v
		case "go_memstats_heap_inuse_bytes":
			heap = v
		}
	}
	return rss, heap
}
