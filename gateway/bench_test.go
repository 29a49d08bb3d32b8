package gateway_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lockbox-dev/lockbox"
	"github.com/lockbox-dev/lockbox/gateway"
)

// fsyncSink commits each shipment the way the server's store would: one
// write and one fsync per batch, to a file. It is the in-process stand-in
// for POST /v1/access-events, so the benchmark measures the gateway's own
// cost including a real durable commit per batch.
type fsyncSink struct {
	mu      sync.Mutex
	f       *os.File
	calls   atomic.Int64
	records atomic.Int64
}

func (s *fsyncSink) Ship(_ context.Context, recs []gateway.AccessRecord) error {
	b, err := json.Marshal(gateway.AccessEventsRequest{Records: recs})
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.f.Write(append(b, '\n')); err != nil {
		return err
	}
	if err := s.f.Sync(); err != nil {
		return err
	}
	s.calls.Add(1)
	s.records.Add(int64(len(recs)))
	return nil
}

// BenchmarkProxy compares, on loopback with 64 concurrent clients, the
// upstream reached directly, through a bare httputil.ReverseProxy, and
// through the lockbox gateway with a valid token and every access recorded
// (decision before, completion after) through a sink that fsyncs per batch
// — and, to separate the gateway's own cost from the commit's, through a
// sink that only keeps records in memory.
//
//	go test -run '^$' -bench BenchmarkProxy -benchtime 20000x ./gateway/
func BenchmarkProxy(b *testing.B) {
	body := []byte(strings.Repeat("x", 1024))
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Write(body)
	}))
	defer up.Close()
	upURL, _ := url.Parse(up.URL)

	// The bare proxy gets the gateway's upstream transport, so the
	// comparison measures lockbox's checks and records, not pool sizes.
	bare := httptest.NewServer(&httputil.ReverseProxy{
		Rewrite:   func(pr *httputil.ProxyRequest) { pr.SetURL(upURL) },
		Transport: gateway.UpstreamTransport(),
	})
	defer bare.Close()

	lb := newLockboxServer(b)
	sink := &fsyncSink{}
	var err error
	if sink.f, err = os.Create(filepath.Join(b.TempDir(), "events.log")); err != nil {
		b.Fatal(err)
	}
	defer sink.f.Close()
	g := startGateway(b, lb, &upstream{srv: up}, b.TempDir(), func(c *gateway.Config) { c.Sink = sink })
	// The same gateway with a sink that keeps records in memory: the
	// difference to "gateway" is the cost of the durable commit.
	mem := &memorySink{}
	gMem := startGateway(b, lb, &upstream{srv: up}, b.TempDir(), func(c *gateway.Config) { c.Sink = mem })
	tok := lb.token(grantReq("req_bench", lockbox.LevelRead, "mailbox:alice"))

	const path = "/tenants/ten_acme/mailboxes/alice/inbox"
	for _, tc := range []struct {
		name, base, token string
	}{
		{"direct", up.URL, ""},
		{"reverseproxy", bare.URL, ""},
		{"gateway", g.url, tok},
		{"gateway-memsink", gMem.url, tok},
	} {
		b.Run(tc.name, func(b *testing.B) {
			calls0, recs0 := sink.calls.Load(), sink.records.Load()
			runClients(b, tc.base+path, tc.token, 64)
			if tc.name == "gateway" {
				calls, recs := sink.calls.Load()-calls0, sink.records.Load()-recs0
				if calls > 0 {
					b.ReportMetric(float64(recs)/float64(calls), "records/commit")
				}
			}
		})
	}
}

// runClients sends b.N GETs from n concurrent clients over kept-alive
// connections and reports requests/s and latency percentiles.
func runClients(b *testing.B, u, token string, n int) {
	tr := &http.Transport{MaxIdleConns: 2 * n, MaxIdleConnsPerHost: 2 * n, IdleConnTimeout: time.Minute}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	var next atomic.Int64
	lat := make([][]time.Duration, n)
	var failed atomic.Int64
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for c := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(b.N) {
				req, _ := http.NewRequest("GET", u, nil)
				if token != "" {
					req.Header.Set("Authorization", "Bearer "+token)
				}
				t0 := time.Now()
				resp, err := client.Do(req)
				if err != nil {
					failed.Add(1)
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				lat[c] = append(lat[c], time.Since(t0))
				if resp.StatusCode != 200 {
					failed.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	if f := failed.Load(); f > 0 {
		b.Fatalf("%d of %d requests failed", f, b.N)
	}
	all := slices.Concat(lat...)
	slices.Sort(all)
	if len(all) == 0 {
		return
	}
	pct := func(p float64) float64 { return float64(all[int(p*float64(len(all)-1))].Microseconds()) }
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "req/s")
	b.ReportMetric(pct(0.50), "p50-µs")
	b.ReportMetric(pct(0.99), "p99-µs")
}
