package tlog_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/lockbox-dev/lockbox/tlog"
)

// Run with:
//
//	go test -run '^$' -bench . -benchtime 1x ./tlog/      (the 10^6 figures)
//	go test -run '^$' -bench 'Integrate|Proof' ./tlog/    (throughput, latency)

const million = 1_000_000

// bigLog is a log of a million realistic events, integrated, shared by the
// benchmarks that need one (building it takes a few seconds).
var bigLog = sync.OnceValue(func() *tlog.MemStorage {
	st := tlog.NewMemStorage()
	const batch = 10000
	leaves := make([][]byte, 0, batch)
	for i := 0; i < million; i++ {
		leaves = append(leaves, eventLeaf(tenant, i, ""))
		if len(leaves) == batch {
			st.Append(tenant, leaves...)
			leaves = leaves[:0]
			if _, err := tlog.Integrate(context.Background(), st, tenant, batch); err != nil {
				panic(err)
			}
		}
	}
	return st
})

// BenchmarkIntegrate measures the sequencer: commit a batch of leaves,
// integrate it. One op is one leaf.
func BenchmarkIntegrate(b *testing.B) {
	for _, batch := range []int{100, 1000, 10000} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			ctx := context.Background()
			st := tlog.NewMemStorage()
			leaves := make([][]byte, 0, batch)
			for done := 0; done < b.N; done += batch {
				b.StopTimer()
				leaves = leaves[:0]
				for i := done; i < min(done+batch, b.N); i++ {
					leaves = append(leaves, eventLeaf(tenant, i, ""))
				}
				b.StartTimer()
				st.Append(tenant, leaves...)
				if _, err := tlog.Integrate(ctx, st, tenant, batch); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "leaves/s")
		})
	}
}

// BenchmarkIntegrateMillion integrates a million committed leaves from
// scratch in batches of 10000: what a sequencer catching up does.
func BenchmarkIntegrateMillion(b *testing.B) {
	leaves := make([][]byte, million)
	for i := range leaves {
		leaves[i] = eventLeaf(tenant, i, "")
	}
	ctx := context.Background()
	for b.Loop() {
		b.StopTimer()
		st := tlog.NewMemStorage()
		st.Append(tenant, leaves...)
		b.StartTimer()
		for {
			h, err := tlog.Integrate(ctx, st, tenant, 10000)
			if err != nil {
				b.Fatal(err)
			}
			if h.Size == million {
				break
			}
		}
	}
}

// BenchmarkInclusionProof measures serving a proof of a random entry of a
// log of a million entries, at the latest size and at an older one.
func BenchmarkInclusionProof(b *testing.B) {
	st := bigLog()
	ctx := context.Background()
	rnd := rand.New(rand.NewPCG(1, 1))
	b.Run("size=1e6", func(b *testing.B) {
		for b.Loop() {
			if _, err := tlog.InclusionProof(ctx, st, tenant, rnd.Uint64N(million), million); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("size=random", func(b *testing.B) {
		for b.Loop() {
			size := 1 + rnd.Uint64N(million)
			if _, err := tlog.InclusionProof(ctx, st, tenant, rnd.Uint64N(size), size); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkConsistencyProof measures serving a consistency proof between
// random sizes of a log of a million entries.
func BenchmarkConsistencyProof(b *testing.B) {
	st := bigLog()
	ctx := context.Background()
	rnd := rand.New(rand.NewPCG(2, 2))
	for b.Loop() {
		if _, err := tlog.ConsistencyProof(ctx, st, tenant, 1+rnd.Uint64N(million), million); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyMillion verifies a log of a million entries from scratch,
// through the HTTP fetcher against Handler on loopback: what `lockbox log
// verify` does on its first run. Client and server share the machine.
func BenchmarkVerifyMillion(b *testing.B) {
	st := bigLog()
	srv := server(b, st, testSKey, tlog.DefaultMaxEntries)
	verifier := mustVerifier(b, testVKey)
	for b.Loop() {
		start := time.Now()
		rep, err := tlog.Verify(context.Background(), fetcher(srv), verifier, testOrigin, nil)
		if err != nil {
			b.Fatal(err)
		}
		if rep.EntriesChecked != million {
			b.Fatalf("checked %d entries", rep.EntriesChecked)
		}
		b.ReportMetric(float64(million)/time.Since(start).Seconds(), "entries/s")
	}
}
