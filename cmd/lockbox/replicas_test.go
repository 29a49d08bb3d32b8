package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/lockbox-dev/lockbox"
	"github.com/lockbox-dev/lockbox/app"
	"github.com/lockbox-dev/lockbox/client"
	"github.com/lockbox-dev/lockbox/postgres/pgtest"
)

// replica is one `lockbox serve` process.
type replica struct {
	cmd    *exec.Cmd
	url    string
	stderr *lockedBuffer
}

// startReplica runs `lockbox serve` (this test binary as the command) on
// the shared database.
func startReplica(t *testing.T, dbURL string) *replica {
	t.Helper()
	return startServe(t, []string{"LOCKBOX_DATABASE_URL=" + dbURL, "LOCKBOX_DATA_DIR=" + t.TempDir(), "LOCKBOX_BOOTSTRAP_TOKEN=" + replicaBootstrap})
}

// startServe runs `lockbox serve` (this test binary as the command) on a
// free port with a fast sweeper, configured by env (LOCKBOX_* settings on
// top of a fixed secret key) and extra flags, and waits for the line that
// says where it listens. The process is killed when the test ends.
func startServe(t *testing.T, env []string, args ...string) *replica {
	t.Helper()
	cmd := exec.Command(os.Args[0], append([]string{"serve", "--addr", "127.0.0.1:0", "--sweep-interval", "100ms", "--log-format", "json"}, args...)...)
	cmd.Env = append(os.Environ(), "LOCKBOX_TEST_AS_MAIN=1", "LOCKBOX_SECRET_KEY=MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=")
	cmd.Env = append(cmd.Env, env...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	r := &replica{cmd: cmd, stderr: &lockedBuffer{}}
	var db app.Config
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "LOCKBOX_DATA_DIR="); ok {
			db.DataDir = v
		}
		if v, ok := strings.CutPrefix(kv, "LOCKBOX_DATABASE_URL="); ok {
			db.DatabaseURL = v
		}
	}
	cmd.Stderr = r.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	line := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		if sc.Scan() {
			line <- sc.Text()
		}
		for sc.Scan() {
		}
	}()
	select {
	case l := <-line:
		url, ok := strings.CutPrefix(l, "lockbox listening on ")
		if !ok {
			t.Fatalf("serve printed %q: %s", l, r.stderr.String())
		}
		r.url = url
		serveDatabases.Store(url, db)
	case <-time.After(60 * time.Second):
		t.Fatalf("serve did not start: %s", r.stderr.String())
	}
	return r
}

const replicaBootstrap = "replica-test-bootstrap-token-0123456789"

// serveDatabases maps the URL of a started `lockbox serve` to the database
// it runs on, so tests can seed people directly.
var serveDatabases sync.Map

// seedUser creates a user as creator would, with a password, directly in
// the database of the server at base: the API only invites people (they
// choose their own password through an e-mailed link), so tests seed them
// the way `lockbox demo` does.
func seedUser(t *testing.T, ctx context.Context, base string, creator *client.Client, in lockbox.CreateUserInput, password string) *lockbox.User {
	t.Helper()
	v, ok := serveDatabases.Load(base)
	if !ok {
		t.Fatalf("no database known for %s: start it with startServe", base)
	}
	me, err := creator.Me(ctx)
	if err != nil {
		t.Fatal(err)
	}
	db := v.(app.Config)
	db.Logger = slog.New(slog.DiscardHandler)
	st, err := app.OpenStore(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	svc := lockbox.NewService(lockbox.Config{Store: st, Argon2: &lockbox.Argon2Params{Memory: 1024, Time: 1, Threads: 1}})
	u, err := svc.SeedUser(ctx, &lockbox.Principal{User: &me.User, AMR: me.AMR, CredentialKind: lockbox.CredentialSession}, in, password)
	if err != nil {
		t.Fatalf("seed %s: %v", in.Email, err)
	}
	return u
}

// setPendingTTL writes a tenant's decision window straight into the
// database of the server at base, past the settings' lower bound.
func setPendingTTL(t *testing.T, ctx context.Context, base string, id lockbox.TenantID, ttl time.Duration) {
	t.Helper()
	v, ok := serveDatabases.Load(base)
	if !ok {
		t.Fatalf("no database known for %s: start it with startServe", base)
	}
	db := v.(app.Config)
	db.Logger = slog.New(slog.DiscardHandler)
	st, err := app.OpenStore(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	err = st.Update(ctx, func(tx lockbox.Tx) error {
		tn, err := tx.GetTenant(ctx, id)
		if err != nil {
			return err
		}
		tn.Lockbox.PendingTTL = lockbox.Duration(ttl)
		return tx.UpdateTenant(ctx, tn)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// mfaClient seeds a user as creator, enrols TOTP and signs in with a
// one-time code, returning a client on that MFA session.
func mfaClient(t *testing.T, ctx context.Context, base string, creator *client.Client, in lockbox.CreateUserInput) (*client.Client, *lockbox.User, string) {
	t.Helper()
	password := "replica-password-" + in.Email
	u := seedUser(t, ctx, base, creator, in, password)
	anon := client.New(base, "")
	s, err := anon.Login(ctx, lockbox.LoginInput{Email: in.Email, Password: password})
	if err != nil {
		t.Fatal(err)
	}
	c := anon.WithToken(s.Token)
	enrol, err := c.EnrollTOTP(ctx, lockbox.TOTPEnrollInput{})
	if err != nil {
		t.Fatal(err)
	}
	opts := totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}
	// Confirm with the previous step's code (accepted as skew) so the
	// current one is still unused for the sign-in.
	prev, _ := totp.GenerateCodeCustom(enrol.Secret, time.Now().Add(-30*time.Second), opts)
	if _, err := c.VerifyTOTP(ctx, lockbox.TOTPVerifyInput{Code: prev}); err != nil {
		t.Fatal(err)
	}
	cur, _ := totp.GenerateCodeCustom(enrol.Secret, time.Now(), opts)
	s, err = anon.Login(ctx, lockbox.LoginInput{Email: in.Email, Password: password, OTP: cur})
	if err != nil {
		t.Fatalf("MFA login of %s: %v", in.Email, err)
	}
	return anon.WithToken(s.Token), u, s.Token
}

// TestThreeReplicas runs three `lockbox serve` processes on one PostgreSQL
// database. Approvers race to decide the same requests through different
// replicas while one replica is killed (SIGKILL): every request ends with
// exactly one outcome, no acknowledged review is lost, and deadlines still
// fire once.
func TestThreeReplicas(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three server processes")
	}
	dbURL := pgtest.URL(t)
	ctx := context.Background()
	reps := []*replica{startReplica(t, dbURL)} // the first migrates and bootstraps
	reps = append(reps, startReplica(t, dbURL), startReplica(t, dbURL))

	base := reps[0].url
	op := client.New(base, replicaBootstrap)
	tn, err := op.CreateTenant(ctx, lockbox.CreateTenantInput{Name: "Replicated"})
	if err != nil {
		t.Fatal(err)
	}
	admin, _, _ := mfaClient(t, ctx, base, op, lockbox.CreateUserInput{Email: "admin@r.example", DisplayName: "admin", Kind: lockbox.KindCustomer, TenantID: tn.ID, Roles: []lockbox.Role{lockbox.RoleTenantAdmin}})
	const approvers = 6
	var apr []*lockbox.User
	var aprTokens []string
	for i := range approvers {
		_, u, tok := mfaClient(t, ctx, base, admin, lockbox.CreateUserInput{Email: fmt.Sprintf("a%d@r.example", i), DisplayName: "a", Kind: lockbox.KindCustomer, TenantID: tn.ID, Roles: []lockbox.Role{lockbox.RoleLockboxApprover}})
		apr = append(apr, u)
		aprTokens = append(aprTokens, tok)
	}
	eng, _, _ := mfaClient(t, ctx, base, op, lockbox.CreateUserInput{Email: "eng@op.example", DisplayName: "eng", Kind: lockbox.KindOperator, Roles: []lockbox.Role{lockbox.RoleEngineer}})
	lead, _, _ := mfaClient(t, ctx, base, op, lockbox.CreateUserInput{Email: "lead@op.example", DisplayName: "lead", Kind: lockbox.KindOperator, Roles: []lockbox.Role{lockbox.RoleEngineer}, Groups: []string{"support-leads"}})
	tk, err := eng.CreateTicket(ctx, lockbox.CreateTicketInput{TenantID: tn.ID, Title: "t", Severity: 2})
	if err != nil {
		t.Fatal(err)
	}
	newPending := func() lockbox.RequestID {
		r, err := eng.CreateRequest(ctx, lockbox.CreateRequestInput{TicketID: tk.ID, Resources: []string{"mailbox:x"},
			AccessLevel: lockbox.LevelRead, ReasonType: lockbox.ReasonCustomerInitiated, Justification: "j", Duration: lockbox.Duration(time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := lead.Approve(ctx, r.ID, lockbox.ApproveInput{Reason: "ok"}); err != nil {
			t.Fatal(err)
		}
		return r.ID
	}
	const requests = 24
	var ids []lockbox.RequestID
	for range requests {
		ids = append(ids, newPending())
	}

	// The race: every approver approves or denies every request, each call
	// through a replica chosen round-robin; replica 2 is killed half-way.
	type ack struct {
		id       lockbox.RequestID
		reviewer lockbox.UserID
		decision lockbox.ReviewDecision
	}
	var (
		mu    sync.Mutex
		acks  []ack
		wg    sync.WaitGroup
		calls int
	)
	killed := make(chan struct{})
	for i, id := range ids {
		if i == requests/2 {
			if err := reps[2].cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			close(killed)
		}
		for a := range approvers {
			wg.Add(1)
			calls++
			go func() {
				defer wg.Done()
				c := client.New(reps[(i+a)%3].url, aprTokens[a])
				var err error
				decision := lockbox.DecisionApprove
				if a%2 == 1 {
					decision = lockbox.DecisionDeny
					_, err = c.Deny(ctx, id, lockbox.ReasonInput{Reason: "no"})
				} else {
					_, err = c.Approve(ctx, id, lockbox.ApproveInput{Reason: "yes"})
				}
				var ae *client.APIError
				switch {
				case err == nil:
					mu.Lock()
					acks = append(acks, ack{id, apr[a].ID, decision})
					mu.Unlock()
				case errors.As(err, &ae) && ae.StatusCode == http.StatusConflict:
				case errors.As(err, &ae):
					t.Errorf("review of %s: %v", id, err)
				default: // the killed replica: not acknowledged
				}
			}()
		}
	}
	wg.Wait()
	<-killed

	// Read everything back through a survivor.
	reader := client.New(reps[1].url, replicaBootstrap)
	winners := map[lockbox.RequestID]int{}
	for _, a := range acks {
		winners[a.id]++
	}
	for _, id := range ids {
		r, err := reader.GetRequest(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if r.Status != lockbox.StatusApproved && r.Status != lockbox.StatusDenied {
			if winners[id] == 0 {
				continue // every call for it went to the dead replica
			}
			t.Errorf("%s is %s after the race", id, r.Status)
		}
		if winners[id] != 1 {
			t.Errorf("%s: %d acknowledged decisions, want exactly 1", id, winners[id])
		}
		var customer []lockbox.Review
		for _, rv := range r.Reviews {
			if rv.Stage == lockbox.StageCustomer {
				customer = append(customer, rv)
			}
		}
		for _, a := range acks {
			if a.id != id {
				continue
			}
			found := false
			for _, rv := range customer {
				found = found || (rv.ReviewerID == a.reviewer && rv.Decision == a.decision)
			}
			if !found {
				t.Errorf("%s: the acknowledged %s by %s is lost", id, a.decision, a.reviewer)
			}
		}
		if len(customer) > 1 {
			t.Errorf("%s has %d customer reviews; the first decides, the rest must be refused", id, len(customer))
		}
	}
	events := allEvents(t, ctx, reader, tn.ID)
	outcomes := map[lockbox.RequestID]int{}
	for _, e := range events {
		if e.Type == lockbox.EventRequestApproved || e.Type == lockbox.EventRequestDenied {
			outcomes[e.RequestID]++
		}
	}
	for _, id := range ids {
		if winners[id] == 1 && outcomes[id] != 1 {
			t.Errorf("%s: %d outcome events, want 1", id, outcomes[id])
		}
	}
	t.Logf("%d review calls, %d acknowledged, across 3 replicas (one killed mid-load)", calls, len(acks))

	// Deadlines fire once on the survivors, whichever held the sweeper.
	// A two-second decision window is below what the API accepts (a person
	// could never decide in it), so the test writes it to the database.
	setPendingTTL(t, ctx, reps[1].url, tn.ID, 2*time.Second)
	var expiring []lockbox.RequestID
	for range 5 {
		expiring = append(expiring, newPending())
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		events := allEvents(t, ctx, reader, tn.ID)
		expired := map[lockbox.RequestID]int{}
		for _, e := range events {
			if e.Type == lockbox.EventRequestExpired {
				expired[e.RequestID]++
			}
		}
		done := true
		for _, id := range expiring {
			if expired[id] > 1 {
				t.Fatalf("%s expired %d times", id, expired[id])
			}
			done = done && expired[id] == 1
		}
		if done {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the survivors did not expire the requests within 30s: %v", expired)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func allEvents(t *testing.T, ctx context.Context, c *client.Client, tn lockbox.TenantID) []*lockbox.Event {
	t.Helper()
	var out []*lockbox.Event
	f := client.EventFilter{Page: lockbox.Page{Size: 1000}}
	for {
		page, err := c.ListEvents(ctx, tn, f)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, page.Items...)
		if page.NextPageToken == "" {
			return out
		}
		f.Page.Token = page.NextPageToken
	}
}
