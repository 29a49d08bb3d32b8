package tlog_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lockbox-dev/lockbox/tlog"
)

const (
	tenant = "ten_1"
	token  = "secret-token"
)

// event mirrors lockbox.Event, whose canonical JSON is the leaf; tlog does
// not import the root package, and neither do its tests.
type event struct {
	TenantID  string          `json:"tenant_id"`
	Index     int64           `json:"index"`
	ID        string          `json:"id"`
	Type      string          `json:"type"`
	Time      time.Time       `json:"time"`
	ActorID   string          `json:"actor_id,omitempty"`
	RequestID string          `json:"request_id,omitempty"`
	TicketID  string          `json:"ticket_id,omitempty"`
	Data      json.RawMessage `json:"data,omitempty"`
}

// eventLeaf returns the leaf of event i of tenant, of a realistic size.
func eventLeaf(tenant string, i int, salt string) []byte {
	e := event{
		TenantID:  tenant,
		Index:     int64(i),
		ID:        fmt.Sprintf("evt_%016x%s", uint64(i)*0x9e3779b97f4a7c15, salt),
		Type:      "request.reviewed",
		Time:      time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC).Add(time.Duration(i) * time.Second),
		ActorID:   "usr_5f1c2a9e0b7d",
		RequestID: fmt.Sprintf("req_%08d", i/7),
		Data:      json.RawMessage(`{"decision":"approve","stage":"customer","reason":"ticket 4711: mailbox restore"}`),
	}
	b, err := json.Marshal(e)
	if err != nil {
		panic(err)
	}
	return b
}

// appendEvents commits events [from, to) of tenant to st and integrates
// them.
func appendEvents(t testing.TB, st *tlog.MemStorage, tenant string, from, to int, salt string) {
	t.Helper()
	leaves := make([][]byte, 0, to-from)
	for i := from; i < to; i++ {
		leaves = append(leaves, eventLeaf(tenant, i, salt))
	}
	st.Append(tenant, leaves...)
	integrateAll(t, st, tenant)
}

func integrateAll(t testing.TB, st tlog.Storage, log string) tlog.Head {
	t.Helper()
	for {
		before, err := st.TreeHead(context.Background(), log)
		if err != nil {
			t.Fatal(err)
		}
		head, err := tlog.Integrate(context.Background(), st, log, 10000)
		if err != nil {
			t.Fatal(err)
		}
		if head.Size == before.Size {
			return head
		}
	}
}

// server serves st over the exact HTTP API, behind a bearer token.
func server(t testing.TB, st tlog.Storage, skey string, maxEntries int) *httptest.Server {
	t.Helper()
	vkey, err := tlog.VerifierKey(skey)
	if err != nil {
		t.Fatal(err)
	}
	h := &tlog.Handler{
		Storage:     st,
		Signer:      mustSigner(t, skey),
		VerifierKey: vkey,
		MaxEntries:  maxEntries,
		Authorize: func(w http.ResponseWriter, r *http.Request, log string) bool {
			if r.Header.Get("Authorization") != "Bearer "+token {
				w.WriteHeader(http.StatusUnauthorized)
				w.Write([]byte(`{"error":{"code":"unauthenticated","message":"who are you?"}}`))
				return false
			}
			return true
		},
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

func fetcher(srv *httptest.Server) *tlog.HTTPFetcher {
	f := tlog.NewHTTPFetcher(srv.URL, token, tenant)
	f.Client = srv.Client()
	return f
}

func verify(t testing.TB, f tlog.Fetcher, state *tlog.State) (tlog.Report, error) {
	t.Helper()
	return tlog.Verify(context.Background(), f, mustVerifier(t, testVKey), testOrigin, state)
}

// saveLoad round-trips a state through a file, as the command does.
func saveLoad(t *testing.T, s tlog.State) *tlog.State {
	t.Helper()
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "state.json")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	b, err = os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out tlog.State
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return &out
}

// countingFetcher records which entries were asked for.
type countingFetcher struct {
	tlog.Fetcher
	mu       sync.Mutex
	minStart uint64
	calls    int
}

func (f *countingFetcher) Entries(ctx context.Context, start, end uint64) ([]tlog.Entry, error) {
	f.mu.Lock()
	f.calls++
	f.minStart = min(f.minStart, start)
	f.mu.Unlock()
	return f.Fetcher.Entries(ctx, start, end)
}

// TestVerifyIncremental verifies a log from scratch, then only what was
// appended since, across a state file, through every small size.
func TestVerifyIncremental(t *testing.T) {
	defer tlog.SetPrefixCheckInterval(8)()
	st := tlog.NewMemStorage()
	srv := server(t, st, testSKey, 5) // tiny pages: the client must page through
	var state *tlog.State
	size := 0
	for _, next := range []int{0, 0, 1, 2, 3, 4, 5, 7, 8, 9, 16, 17, 31, 64, 100, 255, 256, 300} {
		appendEvents(t, st, tenant, size, next, "")
		f := &countingFetcher{Fetcher: fetcher(srv), minStart: ^uint64(0)}
		rep, err := verify(t, f, state)
		if err != nil {
			t.Fatalf("verify at size %d: %v", next, err)
		}
		if rep.OldSize != uint64(size) || rep.NewSize != uint64(next) || rep.EntriesChecked != uint64(next-size) {
			t.Fatalf("report %d→%d checked %d; want %d→%d checked %d", rep.OldSize, rep.NewSize, rep.EntriesChecked, size, next, next-size)
		}
		if f.calls > 0 && f.minStart < uint64(size) {
			t.Fatalf("at size %d the verifier fetched from %d: it should fetch only new entries", next, f.minStart)
		}
		if want, _ := tlog.RootAt(context.Background(), st, tenant, uint64(next)); !bytes.Equal(rep.Root, want) {
			t.Fatalf("report root %x, want %x", rep.Root, want)
		}
		if rep.State.Size != uint64(next) || rep.State.Origin != testOrigin || rep.State.Key != "lockbox.example.com+ed57245a" || !strings.HasPrefix(rep.State.Checkpoint, testOrigin+"\n") {
			t.Fatalf("state %+v", rep.State)
		}
		// The state given is never changed.
		var before []byte
		if state != nil {
			before, _ = json.Marshal(state)
		}
		state = saveLoad(t, rep.State)
		if before != nil {
			if after, _ := json.Marshal(state); bytes.Equal(before, after) && next != size {
				t.Fatal("state unchanged after growth")
			}
		}
		size = next
	}
}

// rows serves edited leaf rows over an intact tree: what a database whose
// event rows were changed after they were logged serves.
type rows struct {
	tlog.Storage
	leaves [][]byte
}

func (r rows) Leaves(_ context.Context, _ string, start, end uint64) ([][]byte, error) {
	if start >= uint64(len(r.leaves)) {
		return nil, nil
	}
	return r.leaves[start:min(end, uint64(len(r.leaves)))], nil
}

// eventFetcher shows a different event than the leaf for one entry.
type eventFetcher struct {
	tlog.Fetcher
	index uint64
	event func([]byte) []byte
}

func (f eventFetcher) Entries(ctx context.Context, start, end uint64) ([]tlog.Entry, error) {
	es, err := f.Fetcher.Entries(ctx, start, end)
	for i := range es {
		if es[i].Index == f.index {
			es[i].Event = f.event(es[i].Event)
		}
	}
	return es, err
}

// flipID changes one character of the event id: the leaf stays a valid
// event, only its hash betrays it.
func flipID(leaf []byte) []byte {
	out := bytes.Clone(leaf)
	i := bytes.Index(out, []byte(`"id":"evt_`)) + len(`"id":"evt_`)
	out[i] ^= 1
	return out
}

func TestVerifyDetectsTampering(t *testing.T) {
	const n = 300
	ctx := context.Background()
	st := tlog.NewMemStorage()
	appendEvents(t, st, tenant, 0, n, "")
	orig, err := st.Leaves(ctx, tenant, 0, n)
	if err != nil {
		t.Fatal(err)
	}
	edit := func(f func(l [][]byte) [][]byte) [][]byte {
		l := make([][]byte, len(orig))
		for i := range orig {
			l[i] = bytes.Clone(orig[i])
		}
		return f(l)
	}
	flip := func(i int) func(l [][]byte) [][]byte {
		return func(l [][]byte) [][]byte { l[i] = flipID(l[i]); return l }
	}
	for _, tc := range []struct {
		name   string
		leaves func(l [][]byte) [][]byte
		event  *eventFetcher
		want   uint64
		reason string
	}{
		{name: "flipped byte in the first leaf", leaves: flip(0), want: 0, reason: "not the one the signed checkpoint holds"},
		{name: "flipped byte in a middle leaf", leaves: flip(150), want: 150, reason: "not the one the signed checkpoint holds"},
		{name: "flipped byte in the last leaf", leaves: flip(n - 1), want: n - 1, reason: "not the one the signed checkpoint holds"},
		{name: "flipped bytes in several leaves", leaves: func(l [][]byte) [][]byte { return flip(250)(flip(97)(flip(260)(l))) }, want: 97},
		{name: "flipped byte breaking the JSON", leaves: func(l [][]byte) [][]byte { l[77][0] = '['; return l }, want: 77, reason: "not a JSON object"},
		{name: "changed tenant in a row", leaves: func(l [][]byte) [][]byte {
			l[12] = bytes.Replace(l[12], []byte(`"ten_1"`), []byte(`"ten_2"`), 1)
			return l
		}, want: 12, reason: `tenant "ten_2"`},
		{name: "deleted row", leaves: func(l [][]byte) [][]byte { return slices.Delete(l, 120, 121) }, want: 120, reason: "says it is entry 121"},
		{name: "deleted first row", leaves: func(l [][]byte) [][]byte { return l[1:] }, want: 0},
		{name: "duplicated row", leaves: func(l [][]byte) [][]byte { return slices.Insert(l, 61, l[60]) }, want: 61, reason: "says it is entry 60"},
		{name: "swapped neighbours", leaves: func(l [][]byte) [][]byte { l[40], l[41] = l[41], l[40]; return l }, want: 40},
		{name: "swapped far apart", leaves: func(l [][]byte) [][]byte { l[10], l[200] = l[200], l[10]; return l }, want: 10},
		{name: "reordered and renumbered", leaves: func(l [][]byte) [][]byte {
			// A careful forger also fixes the index fields: only the
			// hashes show it.
			a, b := l[30], l[31]
			l[30] = bytes.Replace(b, []byte(`"index":31`), []byte(`"index":30`), 1)
			l[31] = bytes.Replace(a, []byte(`"index":30`), []byte(`"index":31`), 1)
			return l
		}, want: 30, reason: "not the one the signed checkpoint holds"},
		{name: "truncated rows", leaves: func(l [][]byte) [][]byte { return l[:250] }, want: 250, reason: "no entry 250"},
		{name: "all rows gone", leaves: func(l [][]byte) [][]byte { return nil }, want: 0, reason: "no entry 0"},
		{name: "event differs from its leaf", event: &eventFetcher{index: 33, event: func(e []byte) []byte {
			return bytes.Replace(e, []byte("approve"), []byte("deny"), 1)
		}}, want: 33, reason: "the event the server shows"},
		{name: "event missing", event: &eventFetcher{index: 34, event: func([]byte) []byte { return nil }}, want: 34, reason: "the event the server shows"},
	} {
		for _, interval := range []uint64{1 << 16, 16} {
			t.Run(fmt.Sprintf("%s/check every %d", tc.name, interval), func(t *testing.T) {
				defer tlog.SetPrefixCheckInterval(interval)()
				var served tlog.Storage = st
				if tc.leaves != nil {
					served = rows{Storage: st, leaves: edit(tc.leaves)}
				}
				var f tlog.Fetcher = fetcher(server(t, served, testSKey, 64))
				if tc.event != nil {
					ef := *tc.event
					ef.Fetcher = f
					f = ef
				}
				_, err := verify(t, f, nil)
				var bad *tlog.BadLeafError
				if !errors.As(err, &bad) || !errors.Is(err, tlog.ErrBadLeaf) {
					t.Fatalf("err = %v, want a BadLeafError", err)
				}
				if bad.Index != tc.want || !strings.Contains(bad.Reason, tc.reason) {
					t.Fatalf("err = %v; want entry %d, saying %q", err, tc.want, tc.reason)
				}
				if testing.Verbose() {
					t.Log(err)
				}
			})
		}
	}
}

// TestVerifyBadEntriesInTheTree: the operator itself logged entries that
// are not what they should be; the tree is consistent, the entries are not.
func TestVerifyBadEntriesInTheTree(t *testing.T) {
	for _, tc := range []struct {
		name   string
		leaf   []byte
		reason string
	}{
		{"another tenant's event", eventLeaf("ten_2", 5, ""), `an event of tenant "ten_2"`},
		{"wrong index", eventLeaf(tenant, 6, ""), "says it is entry 6"},
		{"not an object", []byte(`["a"]`), "not a JSON object"},
		{"not JSON", []byte("hello"), "not a JSON object"},
		{"no index", []byte(`{"tenant_id":"ten_1"}`), `no valid "index"`},
		{"fractional index", []byte(`{"tenant_id":"ten_1","index":5.0}`), `no valid "index"`},
		{"no tenant", []byte(`{"index":5}`), `no valid "tenant_id"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer tlog.IntegrateBadLeaves()()
			st := tlog.NewMemStorage()
			appendEvents(t, st, tenant, 0, 5, "")
			st.Append(tenant, tc.leaf)
			appendEvents(t, st, tenant, 6, 20, "")
			_, err := verify(t, fetcher(server(t, st, testSKey, 0)), nil)
			var bad *tlog.BadLeafError
			if !errors.As(err, &bad) || bad.Index != 5 || !strings.Contains(bad.Reason, tc.reason) || !strings.Contains(bad.Reason, "the log itself recorded a bad entry") {
				t.Fatalf("err = %v; want entry 5, saying %q and that the log recorded it", err, tc.reason)
			}
		})
	}
}

// TestVerifyReformattedEvent: the event may be spelled differently from
// the leaf as long as it is the same JSON.
func TestVerifyReformattedEvent(t *testing.T) {
	st := tlog.NewMemStorage()
	appendEvents(t, st, tenant, 0, 10, "")
	f := eventFetcher{Fetcher: fetcher(server(t, st, testSKey, 0)), index: 3, event: func(e []byte) []byte {
		var m map[string]any
		json.Unmarshal(e, &m)
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetIndent("", "  ")
		enc.Encode(m) // keys sorted, indented
		return buf.Bytes()
	}}
	if _, err := verify(t, f, nil); err != nil {
		t.Fatal(err)
	}
}

func TestVerifyRollback(t *testing.T) {
	st := tlog.NewMemStorage()
	appendEvents(t, st, tenant, 0, 300, "")
	rep, err := verify(t, fetcher(server(t, st, testSKey, 0)), nil)
	if err != nil {
		t.Fatal(err)
	}
	// The operator restores a backup of 200 entries and serves it.
	old := tlog.NewMemStorage()
	appendEvents(t, old, tenant, 0, 200, "")
	_, err = verify(t, fetcher(server(t, old, testSKey, 0)), &rep.State)
	var rb *tlog.RollbackError
	if !errors.Is(err, tlog.ErrRollback) || !errors.As(err, &rb) {
		t.Fatalf("err = %v, want ErrRollback", err)
	}
	if !strings.Contains(err.Error(), "the log shrank from 300 to 200 entries") {
		t.Fatalf("message %q", err)
	}
	if rb.TrustedSize != 300 || rb.Size != 200 || string(rb.Trusted) != rep.State.Checkpoint || !bytes.HasPrefix(rb.Presented, []byte(testOrigin+"\n200\n")) {
		t.Fatalf("evidence: %+v", rb)
	}
}

func TestVerifyFork(t *testing.T) {
	a := tlog.NewMemStorage()
	appendEvents(t, a, tenant, 0, 300, "")
	rep, err := verify(t, fetcher(server(t, a, testSKey, 0)), nil)
	if err != nil {
		t.Fatal(err)
	}
	state := saveLoad(t, rep.State)
	for _, tc := range []struct {
		name string
		b    func() *tlog.MemStorage
		want string
	}{
		{"same size, other history", func() *tlog.MemStorage {
			b := tlog.NewMemStorage()
			appendEvents(t, b, tenant, 0, 150, "")
			appendEvents(t, b, tenant, 150, 300, "x")
			return b
		}, "same entries but their roots differ"},
		{"longer, other history", func() *tlog.MemStorage {
			b := tlog.NewMemStorage()
			appendEvents(t, b, tenant, 0, 299, "")
			appendEvents(t, b, tenant, 299, 400, "x")
			return b
		}, "consistency proof does not verify"},
		{"longer, rewritten from the start", func() *tlog.MemStorage {
			b := tlog.NewMemStorage()
			appendEvents(t, b, tenant, 0, 1000, "x")
			return b
		}, "consistency proof does not verify"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := tc.b()
			_, err := verify(t, fetcher(server(t, b, testSKey, 0)), state)
			var fork *tlog.ForkError
			if !errors.Is(err, tlog.ErrFork) || !errors.As(err, &fork) {
				t.Fatalf("err = %v, want ErrFork", err)
			}
			if !strings.HasPrefix(err.Error(), "the log forked: ") || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("message %q, want it to say %q", err, tc.want)
			}
			if testing.Verbose() {
				t.Log(err)
			}
			if string(fork.Trusted) != state.Checkpoint || !bytes.HasPrefix(fork.Presented, []byte(testOrigin+"\n")) {
				t.Fatalf("evidence: %+v", fork)
			}
			// The fork is a fork whatever the server's proofs say: a
			// fresh verifier sees a consistent log B.
			if _, err := verify(t, fetcher(server(t, b, testSKey, 0)), nil); err != nil {
				t.Fatalf("log B on its own: %v", err)
			}
		})
	}
	// An honest extension of A still verifies from the same state.
	appendEvents(t, a, tenant, 300, 310, "")
	if rep, err := verify(t, fetcher(server(t, a, testSKey, 0)), state); err != nil || rep.EntriesChecked != 10 {
		t.Fatalf("honest extension: %+v, %v", rep, err)
	}
}

// lyingProofs serves a log whose entries beyond the trusted size are bad,
// with a server that lies in its proofs: verification must still fail.
type lyingProofs struct{ tlog.Fetcher }

func (lyingProofs) ConsistencyProof(context.Context, uint64, uint64) ([][]byte, error) {
	return [][]byte{bytes.Repeat([]byte{1}, 32)}, nil
}

func (lyingProofs) InclusionProof(context.Context, uint64, uint64) ([][]byte, error) {
	return nil, errors.New("no")
}

func TestVerifyLyingServer(t *testing.T) {
	st := tlog.NewMemStorage()
	appendEvents(t, st, tenant, 0, 100, "")
	leaves, _ := st.Leaves(context.Background(), tenant, 0, 100)
	leaves = slices.Clone(leaves)
	leaves[50] = flipID(leaves[50])
	f := lyingProofs{fetcher(server(t, rows{Storage: st, leaves: leaves}, testSKey, 0))}
	if _, err := verify(t, f, nil); !errors.Is(err, tlog.ErrBadLeaf) {
		t.Fatalf("err = %v, want ErrBadLeaf", err)
	}
	// From a state, the lying consistency proof is a fork.
	good := fetcher(server(t, st, testSKey, 0))
	st2 := tlog.NewMemStorage()
	appendEvents(t, st2, tenant, 0, 50, "")
	rep, err := verify(t, fetcher(server(t, st2, testSKey, 0)), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := verify(t, lyingProofs{good}, &rep.State); !errors.Is(err, tlog.ErrFork) {
		t.Fatalf("err = %v, want ErrFork", err)
	}
}

func TestVerifyRefusesCheckpoint(t *testing.T) {
	st := tlog.NewMemStorage()
	appendEvents(t, st, tenant, 0, 10, "")
	sameName, _, err := tlog.GenerateKey("lockbox.example.com")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		skey string
		want string
	}{
		{"another key of the same name", sameName, "not signed by the trusted key lockbox.example.com+ed57245a"},
		{"another log's key", otherSKey, "not signed by the trusted key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := verify(t, fetcher(server(t, st, tc.skey, 0)), nil)
			if !errors.Is(err, tlog.ErrBadCheckpoint) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want ErrBadCheckpoint saying %q", err, tc.want)
			}
		})
	}
	// Another tenant's checkpoint for this tenant's log.
	f := fetcher(server(t, st, testSKey, 0))
	f.Tenant = "ten_2"
	_, err = tlog.Verify(context.Background(), f, mustVerifier(t, testVKey), testOrigin, nil)
	if !errors.Is(err, tlog.ErrBadCheckpoint) || !strings.Contains(err.Error(), `"lockbox.example.com/tenants/ten_2"`) {
		t.Fatalf("err = %v, want ErrBadCheckpoint for the wrong origin", err)
	}
}

func TestVerifyBadState(t *testing.T) {
	st := tlog.NewMemStorage()
	appendEvents(t, st, tenant, 0, 10, "")
	srv := server(t, st, testSKey, 0)
	rep, err := verify(t, fetcher(srv), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		change func(s *tlog.State)
	}{
		{"other origin", func(s *tlog.State) { s.Origin = "lockbox.example.com/tenants/ten_2" }},
		{"other key", func(s *tlog.State) { s.Key = "lockbox.example.com+00000000" }},
		{"frontier hash changed", func(s *tlog.State) { s.Frontier[0][0] ^= 1 }},
		{"frontier hash missing", func(s *tlog.State) { s.Frontier = s.Frontier[1:] }},
		{"frontier hash short", func(s *tlog.State) { s.Frontier[0] = s.Frontier[0][:31] }},
		{"root changed", func(s *tlog.State) { s.Root[0] ^= 1 }},
		{"size changed", func(s *tlog.State) { s.Size++ }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := saveLoad(t, rep.State)
			tc.change(s)
			if _, err := verify(t, fetcher(srv), s); !errors.Is(err, tlog.ErrBadState) {
				t.Fatalf("err = %v, want ErrBadState", err)
			}
		})
	}
	// The verifier's key must be the one of the state: checked via a
	// server that signs with the other key.
	s := saveLoad(t, rep.State)
	_, err = tlog.Verify(context.Background(), fetcher(srv), mustVerifier(t, otherVKey), testOrigin, s)
	if !errors.Is(err, tlog.ErrBadState) {
		t.Fatalf("err = %v, want ErrBadState for a state of another key", err)
	}
	if _, err := tlog.Verify(context.Background(), fetcher(srv), mustVerifier(t, testVKey), "lockbox.example.com", nil); err == nil {
		t.Fatal("Verify with an origin naming no tenant: no error")
	}
}

func TestHTTPFetcherErrors(t *testing.T) {
	st := tlog.NewMemStorage()
	appendEvents(t, st, tenant, 0, 10, "")
	srv := server(t, st, testSKey, 0)
	f := fetcher(srv)
	f.Token = "wrong"
	_, err := verify(t, f, nil)
	var he *tlog.HTTPError
	if !errors.As(err, &he) || he.Status != 401 || he.Code != "unauthenticated" || he.Message != "who are you?" {
		t.Fatalf("err = %v, want the server's 401", err)
	}
	f = fetcher(srv)
	if _, err := f.InclusionProof(context.Background(), 3, 11); !errors.As(err, &he) || he.Status != 422 || he.Code != "invalid" {
		t.Fatalf("inclusion beyond the tree: %v, want 422 invalid", err)
	}
	key, err := f.Key(context.Background())
	if err != nil || key != testVKey {
		t.Fatalf("Key = %q, %v", key, err)
	}
}

// TestHandlerShapes pins the JSON the server answers, field by field.
func TestHandlerShapes(t *testing.T) {
	st := tlog.NewMemStorage()
	appendEvents(t, st, tenant, 0, 5, "")
	st.Append(tenant, []byte("not json")) // committed, not integrated
	srv := server(t, st, testSKey, 3)
	get := func(path string) (int, string, string) {
		req, _ := http.NewRequest("GET", srv.URL+path, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b bytes.Buffer
		b.ReadFrom(resp.Body)
		return resp.StatusCode, resp.Header.Get("Content-Type"), b.String()
	}
	leaf0 := eventLeaf(tenant, 0, "")
	root5, _ := tlog.RootAt(context.Background(), st, tenant, 5)
	p, _ := tlog.InclusionProof(context.Background(), st, tenant, 1, 5)
	c, _ := tlog.ConsistencyProof(context.Background(), st, tenant, 3, 5)
	b64 := func(b []byte) string { s, _ := json.Marshal(b); return string(s) }
	hashes := func(p [][]byte) string {
		var s []string
		for _, h := range p {
			s = append(s, b64(h))
		}
		return `{"hashes":[` + strings.Join(s, ",") + `]}` + "\n"
	}
	if len(p) != 3 || len(c) != 4 {
		t.Fatalf("proofs of %d and %d hashes, want 3 and 4", len(p), len(c))
	}
	for _, tc := range []struct {
		path, ctype string
		status      int
		body        string
	}{
		{"/v1/log/key", "application/json", 200, `{"key":"` + testVKey + `"}` + "\n"},
		{"/v1/tenants/ten_1/log/entries?start=0&end=1", "application/json", 200,
			`{"entries":[{"index":0,"leaf":` + b64(leaf0) + `,"event":` + string(leaf0) + `}]}` + "\n"},
		{"/v1/tenants/ten_1/log/entries?start=5", "application/json", 200,
			`{"entries":[{"index":5,"leaf":"bm90IGpzb24=","event":null}]}` + "\n"},
		{"/v1/tenants/ten_1/log/entries?start=9&end=20", "application/json", 200, `{"entries":[]}` + "\n"},
		{"/v1/tenants/ten_1/log/proofs/inclusion?index=1&size=5", "application/json", 200,
			hashes(p)},
		{"/v1/tenants/ten_1/log/proofs/consistency?from=3&to=5", "application/json", 200,
			hashes(c)},
		{"/v1/tenants/ten_1/log/proofs/consistency?from=0&to=5", "application/json", 200, `{"hashes":[]}` + "\n"},
		{"/v1/tenants/ten_1/log/proofs/inclusion?index=5&size=5", "application/json", 422, ""},
		{"/v1/tenants/ten_1/log/proofs/inclusion?index=1&size=6", "application/json", 422, ""},
		{"/v1/tenants/ten_1/log/proofs/inclusion?index=1", "application/json", 400, ""},
		{"/v1/tenants/ten_1/log/proofs/consistency?from=-1&to=5", "application/json", 400, ""},
		{"/v1/tenants/ten_1/log/entries?start=4&end=2", "application/json", 400, ""},
		{"/v1/tenants/ten_1/log/nothing", "application/json", 404, ""},
	} {
		status, ctype, body := get(tc.path)
		if status != tc.status || ctype != tc.ctype || tc.body != "" && body != tc.body {
			t.Errorf("GET %s = %d %s %s\nwant %d %s %s", tc.path, status, ctype, body, tc.status, tc.ctype, tc.body)
		}
		if status != 200 {
			var e struct {
				Error struct{ Code, Message string } `json:"error"`
			}
			if json.Unmarshal([]byte(body), &e) != nil || e.Error.Code == "" || e.Error.Message == "" {
				t.Errorf("GET %s: error body %s", tc.path, body)
			}
		}
	}
	// Page size: at most 3 here.
	_, _, body := get("/v1/tenants/ten_1/log/entries?start=0&end=5")
	var page tlog.EntriesResponse
	if err := json.Unmarshal([]byte(body), &page); err != nil || len(page.Entries) != 3 {
		t.Errorf("page of %d entries (%v), want 3", len(page.Entries), err)
	}
	status, ctype, body := get("/v1/tenants/ten_1/log/checkpoint")
	wantCP, _ := tlog.SignCheckpoint(mustSigner(t, testSKey), testOrigin, tlog.Head{Size: 5, Root: root5})
	if status != 200 || ctype != "text/plain; charset=utf-8" || body != string(wantCP) {
		t.Errorf("checkpoint = %d %s %q, want %q", status, ctype, body, wantCP)
	}
}

// TestVerifyInclusion checks one event against a checkpoint, as a customer
// holding a single event would.
func TestVerifyInclusion(t *testing.T) {
	ctx := context.Background()
	st := tlog.NewMemStorage()
	appendEvents(t, st, tenant, 0, 50, "")
	f := fetcher(server(t, st, testSKey, 0))
	msg, err := f.Checkpoint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cp, err := tlog.OpenCheckpoint(msg, mustVerifier(t, testVKey), testOrigin)
	if err != nil {
		t.Fatal(err)
	}
	p, err := f.InclusionProof(ctx, 17, cp.Size)
	if err != nil {
		t.Fatal(err)
	}
	if err := tlog.VerifyInclusion(cp, 17, eventLeaf(tenant, 17, ""), p); err != nil {
		t.Fatalf("VerifyInclusion: %v", err)
	}
	for _, tc := range []struct {
		name  string
		index uint64
		leaf  []byte
		proof [][]byte
	}{
		{"other leaf", 17, eventLeaf(tenant, 18, ""), p},
		{"altered leaf", 17, flipID(eventLeaf(tenant, 17, "")), p},
		{"other index", 16, eventLeaf(tenant, 17, ""), p},
		{"short proof", 17, eventLeaf(tenant, 17, ""), p[1:]},
		{"short hash", 17, eventLeaf(tenant, 17, ""), append([][]byte{p[0][:31]}, p[1:]...)},
	} {
		err := tlog.VerifyInclusion(cp, tc.index, tc.leaf, tc.proof)
		if !errors.Is(err, tlog.ErrBadLeaf) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: err = %q, want ErrBadLeaf on one line", tc.name, err)
		}
	}
}
