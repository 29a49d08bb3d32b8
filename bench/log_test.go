package bench

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/lockbox-dev/lockbox"
	"github.com/lockbox-dev/lockbox/app"
	"github.com/lockbox-dev/lockbox/sqlite"
	"github.com/lockbox-dev/lockbox/tlog"
)

// BenchmarkLogAppend measures events appended per second to a tenant's
// log on SQLite — one event per transaction (unbatched) and 100 per
// transaction (batched) — including the sequencer's work of integrating
// them into the Merkle tree (in its own batches after the appends, as the
// sequencer does beside the writers), next to plain inserts of the same rows
// into a table of the same shape and indexes without log or tree, on the
// same disk, interleaved. Target: at least 0.8x the plain inserts.
func BenchmarkLogAppend(b *testing.B) {
	for _, batch := range []int{1, 100} {
		b.Run(fmt.Sprintf("batch-%d", batch), func(b *testing.B) { benchLogAppend(b, batch) })
	}
}

func benchLogAppend(b *testing.B, batch int) {
	ctx := context.Background()
	dir := b.TempDir()
	store, err := sqlite.Open(ctx, filepath.Join(dir, "lockbox.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	plain, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "plain.db")+"?_txlock=immediate&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)")
	if err != nil {
		b.Fatal(err)
	}
	defer plain.Close()
	plain.SetMaxOpenConns(1)
	for _, q := range []string{
		`CREATE TABLE events (tenant_id TEXT NOT NULL, idx INTEGER NOT NULL, type TEXT NOT NULL,
			request_id TEXT, ticket_id TEXT, leaf BLOB NOT NULL, PRIMARY KEY (tenant_id, idx)) STRICT, WITHOUT ROWID`,
		`CREATE INDEX events_type ON events (tenant_id, type, idx)`,
		`CREATE INDEX events_request ON events (tenant_id, request_id, idx) WHERE request_id IS NOT NULL`,
		`CREATE INDEX events_ticket ON events (tenant_id, ticket_id, idx) WHERE ticket_id IS NOT NULL AND request_id IS NULL`,
	} {
		if _, err := plain.Exec(q); err != nil {
			b.Fatal(err)
		}
	}
	const tenant = "tnt_bench"
	newEvent := func() *lockbox.Event {
		e := lockbox.NewEvent(tenant, lockbox.EventRequestReviewed, "usr_benchbenchbenchbe", time.Now(),
			map[string]any{"stage": "customer", "decision": "approve", "reason": "looks right", "mfa": true})
		e.RequestID, e.TicketID = "req_benchbenchbenchbe", "tkt_benchbenchbenchbe"
		return e
	}
	var logTime, plainTime time.Duration
	var plainIdx int64
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		err := store.Update(ctx, func(tx lockbox.Tx) error {
			for range batch {
				if err := tx.AppendEvent(ctx, newEvent()); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
		mid := time.Now()
		tx, err := plain.Begin()
		if err != nil {
			b.Fatal(err)
		}
		for range batch {
			e := newEvent()
			if err := e.Seal(plainIdx); err != nil {
				b.Fatal(err)
			}
			plainIdx++
			if _, err := tx.Exec(`INSERT INTO events VALUES (?, ?, ?, ?, ?, ?)`, tenant, e.Index, e.Type, e.RequestID, e.TicketID, e.Leaf); err != nil {
				b.Fatal(err)
			}
		}
		if err := tx.Commit(); err != nil {
			b.Fatal(err)
		}
		logTime += mid.Sub(start)
		plainTime += time.Since(mid)
	}
	start := time.Now()
	for {
		head, err := tlog.Integrate(ctx, store, tenant, 2048)
		if err != nil {
			b.Fatal(err)
		}
		if head.Size == uint64(b.N*batch) {
			break
		}
	}
	logTime += time.Since(start)
	logRate := float64(b.N*batch) / logTime.Seconds()
	plainRate := float64(b.N*batch) / plainTime.Seconds()
	b.ReportMetric(logRate, "events/s")
	b.ReportMetric(plainRate, "plain-inserts/s")
	b.ReportMetric(logRate/plainRate, "ratio")
}

// BenchmarkLogMillion builds a tenant log of 10^6 events on SQLite through
// the store's append path (1000 per transaction), integrates it, and then
// measures inclusion-proof latency (median and p99 of random entries) and the
// time `lockbox log verify` takes to check the whole log from scratch through
// the HTTP API on loopback. Targets: a proof in under 1 ms; the full verify
// in under 10 s. It takes a few minutes; run it alone:
//
//	go test -run '^$' -bench LogMillion -benchtime 1x ./bench/
func BenchmarkLogMillion(b *testing.B) {
	const size = 1_000_000
	ctx := context.Background()
	const boot = "bootstrap-token-for-the-log-bench-0123"
	srv, err := app.New(ctx, app.Config{DataDir: b.TempDir(), BootstrapToken: boot, Logger: slog.New(slog.DiscardHandler),
		Argon2: &lockbox.Argon2Params{Memory: 1024, Time: 1, Threads: 1}})
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	svc := srv.Service
	op, _ := svc.Authenticate(ctx, boot)
	tn, err := svc.CreateTenant(ctx, op, lockbox.CreateTenantInput{Name: "Million"})
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	for n := 1; n < size; n += 1000 {
		err := svc.Store().Update(ctx, func(tx lockbox.Tx) error {
			for i := n; i < min(n+1000, size); i++ {
				e := lockbox.NewEvent(tn.ID, lockbox.EventType("access.allowed"), "usr_benchbenchbenchbe", time.Now(),
					map[string]any{"method": "GET", "path": fmt.Sprintf("/tenants/x/mailboxes/alice/messages/%d", i), "status": 200})
				e.RequestID = "req_benchbenchbenchbe"
				if err := tx.AppendEvent(ctx, e); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.Logf("appended %d events in %s", size, time.Since(start).Round(time.Millisecond))
	start = time.Now()
	if err := srv.IntegrateLogs(ctx); err != nil {
		b.Fatal(err)
	}
	b.Logf("integrated them in %s", time.Since(start).Round(time.Millisecond))

	// Inclusion proofs of random entries, straight from the store.
	var lat []time.Duration
	for i := range 2000 {
		idx := uint64((i * 7919 * 104729) % size)
		t0 := time.Now()
		if _, err := tlog.InclusionProof(ctx, srv.LogStore(), string(tn.ID), idx, size); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(t0))
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	p50, p99 := lat[len(lat)/2], lat[len(lat)*99/100]

	// The full verification, through the API as a customer runs it.
	hs := httptest.NewServer(srv.API)
	defer hs.Close()
	f := tlog.NewHTTPFetcher(hs.URL, boot, string(tn.ID))
	var key tlog.KeyResponse
	k, err := f.Key(ctx)
	if err != nil {
		b.Fatal(err)
	}
	key.Key = k
	verifier, err := tlog.NewVerifier(key.Key)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		rep, err := tlog.Verify(ctx, f, verifier, tlog.CheckpointOrigin(verifier.Name(), string(tn.ID)), nil)
		if err != nil || rep.NewSize != size {
			b.Fatalf("verify: %v (size %d)", err, rep.NewSize)
		}
	}
	b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "verify-s")
	// Reported after the timed loop: ResetTimer drops earlier metrics.
	b.ReportMetric(float64(p50.Nanoseconds())/1e3, "proof-p50-µs")
	b.ReportMetric(float64(p99.Nanoseconds())/1e3, "proof-p99-µs")
}
