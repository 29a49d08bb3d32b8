package bench

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/lockbox-dev/lockbox"
	"github.com/lockbox-dev/lockbox/cedar"
	"github.com/lockbox-dev/lockbox/sqlite"
)

// defaultPolicy is the JIT policy a server runs without --policy.
func defaultPolicy(b *testing.B) lockbox.Policy {
	p, err := cedar.Default("")
	if err != nil {
		b.Fatal(err)
	}
	return p
}

// commitsPerLifecycle is the number of transactions of one lifecycle:
// create, internal approve, customer approve, complete.
const commitsPerLifecycle = 4

// BenchmarkSQLite measures the full request lifecycle on the SQLite store
// with durable commits (WAL, synchronous=FULL) next to the raw rate of
// durable one-row commits on the same disk. Each iteration runs one lifecycle
// and then four raw commits, timed apart, so both figures see the same
// machine at the same moment (disk latency here drifts by 2x within a
// minute). Target: lifecycles/s × 4 (its commits) at least half of the raw
// commits/s, reported as "ratio".
func BenchmarkSQLite(b *testing.B) {
	ctx := context.Background()
	store, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "lockbox.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	svc := lockbox.NewService(lockbox.Config{Store: store, Policy: defaultPolicy(b), Argon2: &lockbox.Argon2Params{Memory: 1024, Time: 1, Threads: 1}})
	p := seed(b, svc)
	raw := openRaw(b)
	defer raw.Close()

	var lifeTime, rawTime time.Duration
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		start := time.Now()
		if err := p.lifecycle(ctx); err != nil {
			b.Fatal(err)
		}
		mid := time.Now()
		for j := range commitsPerLifecycle {
			if err := rawCommit(raw, i*commitsPerLifecycle+j); err != nil {
				b.Fatal(err)
			}
		}
		lifeTime += mid.Sub(start)
		rawTime += time.Since(mid)
	}
	lifecycles := float64(b.N) / lifeTime.Seconds()
	rawRate := float64(b.N*commitsPerLifecycle) / rawTime.Seconds()
	b.ReportMetric(lifecycles, "lifecycles/s")
	b.ReportMetric(rawRate, "raw-commits/s")
	b.ReportMetric(lifecycles*commitsPerLifecycle/rawRate, "ratio")
}

// openRaw opens a database for one-row insert-and-commit transactions with
// the pragmas the store uses.
func openRaw(b *testing.B) *sql.DB {
	path := filepath.Join(b.TempDir(), "raw.db")
	db, err := sql.Open("sqlite", "file:"+path+"?_txlock=immediate&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_pragma=busy_timeout(10000)")
	if err != nil {
		b.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	if _, err := db.Exec(`CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)`); err != nil {
		b.Fatal(err)
	}
	return db
}

// rawCommit inserts one row in its own durable transaction.
func rawCommit(db *sql.DB, i int) error {
	tx, err := db.Begin()
	if err != nil {
		return err
	}
	if _, err := tx.Exec(`INSERT INTO t (v) VALUES (?)`, fmt.Sprint(i)); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

// people is a seeded tenant with the principals of one lifecycle.
type people struct {
	svc                      *lockbox.Service
	ticket                   lockbox.TicketID
	engineer, lead, approver *lockbox.Principal
}

func seed(b *testing.B, svc *lockbox.Service) *people {
	return seedTenant(b, svc, bootstrap(b, svc), "bench")
}

// bootstrap creates the first operator admin and returns its principal.
func bootstrap(b *testing.B, svc *lockbox.Service) *lockbox.Principal {
	ctx := context.Background()
	token := lockbox.NewSecret("bench_")
	if _, err := svc.Bootstrap(ctx, token); err != nil {
		b.Fatal(err)
	}
	op, err := svc.Authenticate(ctx, token)
	if err != nil {
		b.Fatal(err)
	}
	return op
}

// seedTenant onboards a tenant with an approver, an engineer, a lead and a
// ticket; name keeps the e-mails of several tenants apart.
func seedTenant(b *testing.B, svc *lockbox.Service, op *lockbox.Principal, name string) *people {
	ctx := context.Background()
	tn, err := svc.CreateTenant(ctx, op, lockbox.CreateTenantInput{Name: name})
	if err != nil {
		b.Fatal(err)
	}
	mk := func(by *lockbox.Principal, who string, in lockbox.CreateUserInput) *lockbox.Principal {
		in.Email, in.DisplayName = who+"@"+name+".example", who
		u, err := svc.SeedUser(ctx, by, in, "bench-password-123")
		if err != nil {
			b.Fatal(err)
		}
		return &lockbox.Principal{User: u, AMR: []string{"pwd", "otp"}}
	}
	admin := mk(op, "admin", lockbox.CreateUserInput{Kind: lockbox.KindCustomer, TenantID: tn.ID, Roles: []lockbox.Role{lockbox.RoleTenantAdmin}})
	p := &people{svc: svc}
	p.approver = mk(admin, "approver", lockbox.CreateUserInput{Kind: lockbox.KindCustomer, TenantID: tn.ID, Roles: []lockbox.Role{lockbox.RoleLockboxApprover}})
	p.engineer = mk(op, "eng", lockbox.CreateUserInput{Kind: lockbox.KindOperator, Roles: []lockbox.Role{lockbox.RoleEngineer}})
	p.lead = mk(op, "lead", lockbox.CreateUserInput{Kind: lockbox.KindOperator, Roles: []lockbox.Role{lockbox.RoleEngineer}, Groups: []string{"support-leads"}})
	tk, err := svc.CreateTicket(ctx, admin, lockbox.CreateTicketInput{TenantID: tn.ID, Title: "bench", Severity: 2})
	if err != nil {
		b.Fatal(err)
	}
	p.ticket = tk.ID
	return p
}

// lifecycle runs create → internal approve → customer approve → complete.
func (p *people) lifecycle(ctx context.Context) error {
	r, err := p.svc.CreateRequest(ctx, p.engineer, lockbox.CreateRequestInput{
		TicketID: p.ticket, Resources: []string{"mailbox:alice"}, AccessLevel: lockbox.LevelRead,
		ReasonType: lockbox.ReasonCustomerInitiated, Justification: "bench", Duration: lockbox.Duration(time.Hour),
	})
	if err != nil {
		return err
	}
	if _, err := p.svc.Review(ctx, p.lead, r.ID, lockbox.ReviewInput{Decision: lockbox.DecisionApprove, Reason: "ok"}); err != nil {
		return err
	}
	if r, err = p.svc.Review(ctx, p.approver, r.ID, lockbox.ReviewInput{Decision: lockbox.DecisionApprove, Reason: "ok"}); err != nil {
		return err
	}
	if r.Status != lockbox.StatusApproved {
		return fmt.Errorf("request is %s after both approvals", r.Status)
	}
	_, err = p.svc.Complete(ctx, p.engineer, r.ID)
	return err
}
