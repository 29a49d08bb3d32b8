package bench

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/lockbox-dev/lockbox"
	"github.com/lockbox-dev/lockbox/postgres"
	"github.com/lockbox-dev/lockbox/postgres/pgtest"
)

// workers is the number of concurrent clients in the PostgreSQL benchmarks:
// each works its own tenant, as independent customers do.
const workers = 8

// BenchmarkPostgres measures the full lifecycle on PostgreSQL with one
// replica and with three (three stores, each with its own pool, as three
// `lockbox serve` processes have), next to the raw rate of one-row
// insert-and-commit transactions on the same server in the same run, from
// one connection and from as many connections as the lifecycle has workers.
func BenchmarkPostgres(b *testing.B) {
	url := pgtest.URL(b)
	b.Run("raw-commit-1conn", func(b *testing.B) { benchRawPG(b, url, 1) })
	b.Run(fmt.Sprintf("raw-commit-%dconn", workers), func(b *testing.B) { benchRawPG(b, url, workers) })
	b.Run("lifecycle-1replica", func(b *testing.B) { benchLifecyclePG(b, pgtest.URL(b), 1) })
	b.Run("lifecycle-3replicas", func(b *testing.B) { benchLifecyclePG(b, pgtest.URL(b), 3) })
}

func benchRawPG(b *testing.B, url string, conns int) {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		b.Fatal(err)
	}
	defer pool.Close()
	table := pgx.Identifier{fmt.Sprintf("raw_%d", conns)}.Sanitize()
	if _, err := pool.Exec(ctx, `CREATE TABLE IF NOT EXISTS `+table+` (id bigserial PRIMARY KEY, v text NOT NULL)`); err != nil {
		b.Fatal(err)
	}
	var next atomic.Int64
	b.ResetTimer()
	runWorkers(b, conns, func(int) error {
		return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
			_, err := tx.Exec(ctx, `INSERT INTO `+table+` (v) VALUES ($1)`, fmt.Sprint(next.Add(1)))
			return err
		})
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "commits/s")
}

func benchLifecyclePG(b *testing.B, url string, replicas int) {
	ctx := context.Background()
	var svcs []*lockbox.Service
	for range replicas {
		store, err := postgres.Open(ctx, url)
		if err != nil {
			b.Fatal(err)
		}
		defer store.Close()
		svcs = append(svcs, lockbox.NewService(lockbox.Config{Store: store, Policy: defaultPolicy(b), Argon2: &lockbox.Argon2Params{Memory: 1024, Time: 1, Threads: 1}}))
	}
	op := bootstrap(b, svcs[0])
	var tenants []*people
	for i := range workers {
		p := seedTenant(b, svcs[0], op, fmt.Sprintf("t%d", i))
		p.svc = svcs[i%replicas] // each worker talks to one replica
		tenants = append(tenants, p)
	}
	b.ResetTimer()
	runWorkers(b, workers, func(i int) error { return tenants[i].lifecycle(ctx) })
	rate := float64(b.N) / b.Elapsed().Seconds()
	b.ReportMetric(rate, "lifecycles/s")
	b.ReportMetric(rate*commitsPerLifecycle, "commits/s")
}

// runWorkers makes b.N calls of op in total from n goroutines; worker i
// calls op(i).
func runWorkers(b *testing.B, n int, op func(i int) error) {
	var (
		left = int64(b.N)
		wg   sync.WaitGroup
		errs = make(chan error, n)
	)
	for i := range n {
		wg.Go(func() {
			for atomic.AddInt64(&left, -1) >= 0 {
				if err := op(i); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
}
