package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/lockbox-dev/lockbox"
	"github.com/lockbox-dev/lockbox/client"
	"github.com/lockbox-dev/lockbox/postgres/pgtest"
	"github.com/lockbox-dev/lockbox/tlog"
)

// TestCrashConsistency is the crash-consistency harness: a `lockbox serve`
// process under a scripted load of requests, reviews, revocations and
// releases is killed with SIGKILL at a random moment, then started again on
// the same database, many times, on both engines. After every restart:
//
//   - no acknowledged change is lost: every request whose creation or
//     action was answered 2xx is there, in the state it was answered with
//     or a state the state machine reaches from it (a later action may have
//     committed without its answer arriving);
//   - no request is in an impossible state (approved without the reviews
//     it needs, terminal without an end, pending with one, …);
//   - every change has its event in the tenant's log;
//   - the tenant's log verifies end to end (tlog.Verify, as `lockbox log
//     verify` runs it) and extends the checkpoint trusted before the crash.
//
// LOCKBOX_CRASH_RUNS sets the kills per engine (default 6).
func TestCrashConsistency(t *testing.T) {
	if testing.Short() {
		t.Skip("starts and kills server processes")
	}
	runs := 6
	if s := os.Getenv("LOCKBOX_CRASH_RUNS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			t.Fatalf("LOCKBOX_CRASH_RUNS=%q: want a positive number", s)
		}
		runs = n
	}
	t.Run("sqlite", func(t *testing.T) {
		crashRuns(t, runs, "LOCKBOX_DATA_DIR="+t.TempDir())
	})
	t.Run("postgres", func(t *testing.T) {
		crashRuns(t, runs, "LOCKBOX_DATABASE_URL="+pgtest.URL(t), "LOCKBOX_DATA_DIR="+t.TempDir())
	})
}

const crashBootstrap = "crash-test-bootstrap-token-0123456789"

// crashWorld is the tenant and the people the load acts as; their sessions
// live in the database, so they outlive the process.
type crashWorld struct {
	tenant                         lockbox.TenantID
	op, admin, approver, eng, lead string // tokens
	ticket                         lockbox.TicketID
	mu                             sync.Mutex
	acked                          map[lockbox.RequestID]lockbox.RequestStatus
	acks                           int
	state                          *tlog.State
	verifiedSize                   uint64
	runs                           int
}

func crashRuns(t *testing.T, runs int, env ...string) {
	ctx := context.Background()
	srv := startServe(t, append(env, "LOCKBOX_BOOTSTRAP_TOKEN="+crashBootstrap))
	op := client.New(srv.url, crashBootstrap)
	tn, err := op.CreateTenant(ctx, lockbox.CreateTenantInput{Name: "Crashed"})
	if err != nil {
		t.Fatal(err)
	}
	w := &crashWorld{tenant: tn.ID, op: crashBootstrap, acked: map[lockbox.RequestID]lockbox.RequestStatus{}}
	adminC, _, adminTok := mfaClient(t, ctx, srv.url, op, lockbox.CreateUserInput{Email: "admin@crash.example", DisplayName: "admin", Kind: lockbox.KindCustomer, TenantID: tn.ID, Roles: []lockbox.Role{lockbox.RoleTenantAdmin}})
	_, _, w.approver = mfaClient(t, ctx, srv.url, adminC, lockbox.CreateUserInput{Email: "approver@crash.example", DisplayName: "approver", Kind: lockbox.KindCustomer, TenantID: tn.ID, Roles: []lockbox.Role{lockbox.RoleLockboxApprover}})
	w.admin = adminTok
	engC, _, engTok := mfaClient(t, ctx, srv.url, op, lockbox.CreateUserInput{Email: "eng@crash.example", DisplayName: "eng", Kind: lockbox.KindOperator, Roles: []lockbox.Role{lockbox.RoleEngineer}})
	w.eng = engTok
	_, _, w.lead = mfaClient(t, ctx, srv.url, op, lockbox.CreateUserInput{Email: "lead@crash.example", DisplayName: "lead", Kind: lockbox.KindOperator, Roles: []lockbox.Role{lockbox.RoleEngineer}, Groups: []string{"support-leads"}})
	tk, err := engC.CreateTicket(ctx, lockbox.CreateTicketInput{TenantID: tn.ID, Title: "crash", Severity: 2})
	if err != nil {
		t.Fatal(err)
	}
	w.ticket = tk.ID

	rnd := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
	for run := range runs {
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for worker := range 4 {
			wg.Go(func() { w.load(ctx, srv.url, worker, stop) })
		}
		time.Sleep(time.Duration(150+rnd.IntN(700)) * time.Millisecond)
		if err := srv.cmd.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		_ = srv.cmd.Wait()
		close(stop)
		wg.Wait()
		srv = startServe(t, append(env, "LOCKBOX_BOOTSTRAP_TOKEN="+crashBootstrap))
		if err := w.check(ctx, srv.url); err != nil {
			t.Fatalf("after kill %d of %d: %v\nserver log: %s", run+1, runs, err, srv.stderr.String())
		}
		w.runs++
	}
	_ = srv.cmd.Process.Kill()
	t.Logf("%d kills; %d acknowledged changes on %d requests checked after the restarts; log verified up to %d entries; 0 violations",
		w.runs, w.acks, len(w.acked), w.verifiedSize)
}

// load acts until stop: worker 0 files requests, 1 reviews internally, 2
// reviews as the customer (approving most, denying some), 3 ends access
// (revokes or releases). Every answered change is recorded as acknowledged.
func (w *crashWorld) load(ctx context.Context, base string, worker int, stop <-chan struct{}) {
	c := func(tok string) *client.Client { return client.New(base, tok) }
	rnd := rand.New(rand.NewPCG(uint64(worker), uint64(time.Now().UnixNano())))
	for {
		select {
		case <-stop:
			return
		default:
		}
		var (
			r   *lockbox.AccessRequest
			err error
		)
		switch worker {
		case 0:
			r, err = c(w.eng).CreateRequest(ctx, lockbox.CreateRequestInput{TicketID: w.ticket, Resources: []string{"mailbox:m"},
				AccessLevel: lockbox.LevelRead, ReasonType: lockbox.ReasonCustomerInitiated, Justification: "crash test", Duration: lockbox.Duration(time.Hour)})
		default:
			want := map[int]lockbox.RequestStatus{1: lockbox.StatusPendingInternal, 2: lockbox.StatusPendingCustomer, 3: lockbox.StatusApproved}[worker]
			id, ok := w.pick(want, rnd)
			if !ok {
				time.Sleep(5 * time.Millisecond)
				continue
			}
			switch {
			case worker == 1:
				r, err = c(w.lead).Approve(ctx, id, lockbox.ApproveInput{Reason: "internal ok"})
			case worker == 2 && rnd.IntN(5) == 0:
				r, err = c(w.approver).Deny(ctx, id, lockbox.ReasonInput{Reason: "not now"})
			case worker == 2:
				r, err = c(w.approver).Approve(ctx, id, lockbox.ApproveInput{Reason: "customer ok"})
			case rnd.IntN(2) == 0:
				r, err = c(w.admin).Revoke(ctx, id, lockbox.ReasonInput{Reason: "done"})
			default:
				r, err = c(w.eng).Complete(ctx, id)
			}
		}
		if err == nil {
			w.ack(r)
		}
		var ae *client.APIError
		if err != nil && !errors.As(err, &ae) {
			time.Sleep(10 * time.Millisecond) // the server is down
		}
	}
}

func (w *crashWorld) ack(r *lockbox.AccessRequest) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.acked[r.ID] = r.Status
	w.acks++
}

// pick returns a request last acknowledged in status s.
func (w *crashWorld) pick(s lockbox.RequestStatus, rnd *rand.Rand) (lockbox.RequestID, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	var ids []lockbox.RequestID
	for id, st := range w.acked {
		if st == s {
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		return "", false
	}
	slices.Sort(ids)
	return ids[rnd.IntN(len(ids))], true
}

// reachable reports whether the state machine goes from one status to
// another in any number of steps (zero included).
func reachable(from, to lockbox.RequestStatus) bool {
	seen := map[lockbox.RequestStatus]bool{from: true}
	queue := []lockbox.RequestStatus{from}
	for len(queue) > 0 {
		s := queue[0]
		queue = queue[1:]
		for _, n := range lockbox.AllStatuses {
			if !seen[n] && lockbox.CanTransition(s, n) {
				seen[n] = true
				queue = append(queue, n)
			}
		}
	}
	return seen[to]
}

// check runs the four checks of TestCrashConsistency against the restarted
// server.
func (w *crashWorld) check(ctx context.Context, base string) error {
	op := client.New(base, w.op)
	// The whole tenant: every request and every event.
	var all []*lockbox.AccessRequest
	f := client.RequestFilter{TenantID: w.tenant, Page: lockbox.Page{Size: 1000}}
	for {
		page, err := op.ListRequests(ctx, f)
		if err != nil {
			return fmt.Errorf("listing requests: %w", err)
		}
		all = append(all, page.Items...)
		if page.NextPageToken == "" {
			break
		}
		f.Page.Token = page.NextPageToken
	}
	var events []*lockbox.Event
	ef := client.EventFilter{Page: lockbox.Page{Size: 1000}}
	for {
		page, err := op.ListEvents(ctx, w.tenant, ef)
		if err != nil {
			return fmt.Errorf("listing events: %w", err)
		}
		events = append(events, page.Items...)
		if page.NextPageToken == "" {
			break
		}
		ef.Page.Token = page.NextPageToken
	}
	byID := map[lockbox.RequestID]*lockbox.AccessRequest{}
	for _, r := range all {
		byID[r.ID] = r
	}
	types := map[lockbox.RequestID][]lockbox.EventType{}
	for _, e := range events {
		types[e.RequestID] = append(types[e.RequestID], e.Type)
	}

	w.mu.Lock()
	defer w.mu.Unlock()
	// 1. No acknowledged change lost.
	for id, st := range w.acked {
		r := byID[id]
		if r == nil {
			return fmt.Errorf("request %s was acknowledged (%s) but is gone", id, st)
		}
		if !reachable(st, r.Status) {
			return fmt.Errorf("request %s was acknowledged %s but is now %s: a change was lost", id, st, r.Status)
		}
		w.acked[id] = r.Status // what later runs build on
	}
	// 2. No impossible state; 3. every change has its event.
	for _, r := range all {
		if err := possible(r); err != nil {
			return fmt.Errorf("request %s (%s): %w", r.ID, r.Status, err)
		}
		want := []lockbox.EventType{lockbox.EventRequestCreated}
		if r.Status != lockbox.StatusPendingInternal {
			want = append(want, lockbox.EventRequestPendingCust)
		}
		if slices.Contains([]lockbox.RequestStatus{lockbox.StatusApproved, lockbox.StatusRevoked, lockbox.StatusCompleted}, r.Status) {
			want = append(want, lockbox.EventRequestApproved)
		}
		switch r.Status {
		case lockbox.StatusDenied:
			want = append(want, lockbox.EventRequestDenied)
		case lockbox.StatusRevoked:
			want = append(want, lockbox.EventRequestRevoked)
		case lockbox.StatusCompleted:
			want = append(want, lockbox.EventRequestCompleted)
		case lockbox.StatusExpired:
			want = append(want, lockbox.EventRequestExpired)
		}
		for _, ty := range want {
			if !slices.Contains(types[r.ID], ty) {
				return fmt.Errorf("request %s is %s but the log has no %s event (it has %v)", r.ID, r.Status, ty, types[r.ID])
			}
		}
	}
	// 4. The log verifies and extends what was trusted before the crash.
	fetcher := tlog.NewHTTPFetcher(base, w.op, string(w.tenant))
	key, err := fetcher.Key(ctx)
	if err != nil {
		return fmt.Errorf("log key: %w", err)
	}
	verifier, err := tlog.NewVerifier(key)
	if err != nil {
		return err
	}
	rep, err := tlog.Verify(ctx, fetcher, verifier, tlog.CheckpointOrigin(verifier.Name(), string(w.tenant)), w.state)
	if err != nil {
		return fmt.Errorf("log verify: %w", err)
	}
	w.state, w.verifiedSize = &rep.State, rep.NewSize
	return nil
}

// possible checks what a request's status implies about the rest of it,
// with lockbox on, one customer approval and one internal approval
// required (the defaults the world runs with).
func possible(r *lockbox.AccessRequest) error {
	count := func(stage lockbox.Stage, d lockbox.ReviewDecision) int {
		n := 0
		for _, rv := range r.Reviews {
			if rv.Stage == stage && rv.Decision == d {
				n++
			}
		}
		return n
	}
	if !r.Status.Valid() {
		return errors.New("not a status")
	}
	if r.Status.Terminal() != (r.EndedAt != nil) {
		return fmt.Errorf("terminal %v but ended_at %v", r.Status.Terminal(), r.EndedAt)
	}
	granted := slices.Contains([]lockbox.RequestStatus{lockbox.StatusApproved, lockbox.StatusRevoked, lockbox.StatusCompleted}, r.Status)
	if granted && (count(lockbox.StageInternal, lockbox.DecisionApprove) < 1 || count(lockbox.StageCustomer, lockbox.DecisionApprove) < 1) {
		return fmt.Errorf("access was granted with reviews %+v", r.Reviews)
	}
	if granted != (r.AccessStartsAt != nil && r.AccessExpiresAt != nil) {
		return fmt.Errorf("granted %v but window %v to %v", granted, r.AccessStartsAt, r.AccessExpiresAt)
	}
	if (r.Status == lockbox.StatusDenied) != (count(lockbox.StageInternal, lockbox.DecisionDeny)+count(lockbox.StageCustomer, lockbox.DecisionDeny) > 0) {
		return fmt.Errorf("status %s with reviews %+v", r.Status, r.Reviews)
	}
	if r.Status == lockbox.StatusPendingInternal && len(r.Reviews) > 0 {
		return fmt.Errorf("awaiting internal approval with reviews %+v", r.Reviews)
	}
	return nil
}

// TestCrashChecksCatchViolations holds the harness's checks to what they
// must catch, so that a quiet harness means a sound server.
func TestCrashChecksCatchViolations(t *testing.T) {
	now := time.Now()
	later := now.Add(time.Hour)
	internal := lockbox.Review{Stage: lockbox.StageInternal, Decision: lockbox.DecisionApprove}
	customer := lockbox.Review{Stage: lockbox.StageCustomer, Decision: lockbox.DecisionApprove}
	good := &lockbox.AccessRequest{Status: lockbox.StatusApproved, Reviews: []lockbox.Review{internal, customer}, AccessStartsAt: &now, AccessExpiresAt: &later}
	if err := possible(good); err != nil {
		t.Fatalf("a sound approved request: %v", err)
	}
	for name, r := range map[string]*lockbox.AccessRequest{
		"approved without the customer":  {Status: lockbox.StatusApproved, Reviews: []lockbox.Review{internal}, AccessStartsAt: &now, AccessExpiresAt: &later},
		"approved without a window":      {Status: lockbox.StatusApproved, Reviews: []lockbox.Review{internal, customer}},
		"revoked without an end":         {Status: lockbox.StatusRevoked, Reviews: []lockbox.Review{internal, customer}, AccessStartsAt: &now, AccessExpiresAt: &later},
		"pending with an end":            {Status: lockbox.StatusPendingCustomer, Reviews: []lockbox.Review{internal}, EndedAt: &now},
		"denied without a deny":          {Status: lockbox.StatusDenied, EndedAt: &now},
		"pending internal with a review": {Status: lockbox.StatusPendingInternal, Reviews: []lockbox.Review{internal}},
		"no such status":                 {Status: "approvedish"},
	} {
		if possible(r) == nil {
			t.Errorf("%s: not caught", name)
		}
	}
	if !reachable(lockbox.StatusPendingInternal, lockbox.StatusRevoked) || reachable(lockbox.StatusRevoked, lockbox.StatusApproved) || reachable(lockbox.StatusApproved, lockbox.StatusPendingCustomer) {
		t.Fatal("reachable does not follow the state machine")
	}
}
