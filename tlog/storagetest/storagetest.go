// Package storagetest is the conformance suite of tlog.Storage: every
// implementation (MemStorage, the SQLite and PostgreSQL stores) runs Run, so
// the sequencer's compare-and-set and the proofs behave the same on each.
package storagetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/lockbox-dev/lockbox/tlog"
	"github.com/transparency-dev/merkle/compact"
)

// Harness gives the suite what it needs of an implementation.
type Harness struct {
	// New returns an empty Storage for one test.
	New func(t *testing.T) tlog.Storage
	// Append commits leaves at the end of log, as the event tables do when
	// events commit (for the SQL stores: append events whose leaf bytes
	// are these, through the store's own transaction).
	Append func(t *testing.T, st tlog.Storage, log string, leaves ...[]byte)
}

// Run runs the suite.
func Run(t *testing.T, h Harness) {
	for _, tc := range []struct {
		name string
		fn   func(*testing.T, Harness)
	}{
		{"EmptyLog", testEmptyLog},
		{"Leaves", testLeaves},
		{"StoreTreeCAS", testStoreTreeCAS},
		{"Nodes", testNodes},
		{"IntegrateAndProve", testIntegrateAndProve},
		{"ConcurrentIntegrators", testConcurrentIntegrators},
		{"SeparateLogs", testSeparateLogs},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, h) })
	}
}

func leaf(log string, i int) []byte {
	// Storage must keep the bytes as they are: no re-encoding of the JSON,
	// of its escapes or of its UTF-8.
	return fmt.Appendf(nil, "{\"tenant_id\":%q, \"index\":%d,\"x\":\"\\u0000\u00ff\\\"é%d\"}", log, i, i*i)
}

func testEmptyLog(t *testing.T, h Harness) {
	ctx := context.Background()
	st := h.New(t)
	head, err := st.TreeHead(ctx, "nobody")
	if err != nil || head.Size != 0 || head.Root != nil {
		t.Fatalf("TreeHead of an unknown log = %+v, %v; want the zero Head", head, err)
	}
	leaves, err := st.Leaves(ctx, "nobody", 0, 10)
	if err != nil || len(leaves) != 0 {
		t.Fatalf("Leaves of an unknown log = %d leaves, %v", len(leaves), err)
	}
	if _, err := st.Nodes(ctx, "nobody", []compact.NodeID{compact.NewNodeID(0, 0)}); !errors.Is(err, tlog.ErrMissingNode) {
		t.Fatalf("Nodes of an unknown log: %v, want ErrMissingNode", err)
	}
	if hashes, err := st.Nodes(ctx, "nobody", nil); err != nil || len(hashes) != 0 {
		t.Fatalf("Nodes(no ids) = %d hashes, %v", len(hashes), err)
	}
	if head, err := tlog.Integrate(ctx, st, "nobody", 10); err != nil || head.Size != 0 {
		t.Fatalf("Integrate of an empty log = %+v, %v", head, err)
	}
}

func testLeaves(t *testing.T, h Harness) {
	ctx := context.Background()
	st := h.New(t)
	var want [][]byte
	for i := range 25 {
		want = append(want, leaf("t", i))
	}
	h.Append(t, st, "t", want[:10]...)
	h.Append(t, st, "t", want[10:]...)
	for _, tc := range []struct{ start, end, n uint64 }{
		{0, 25, 25}, {0, 100, 25}, {3, 7, 4}, {24, 25, 1}, {24, 30, 1}, {25, 30, 0}, {100, 200, 0}, {5, 5, 0},
	} {
		got, err := st.Leaves(ctx, "t", tc.start, tc.end)
		if err != nil {
			t.Fatalf("Leaves(%d, %d): %v", tc.start, tc.end, err)
		}
		if uint64(len(got)) != tc.n {
			t.Fatalf("Leaves(%d, %d) = %d leaves, want %d", tc.start, tc.end, len(got), tc.n)
		}
		for i, l := range got {
			if !bytes.Equal(l, want[tc.start+uint64(i)]) {
				t.Fatalf("Leaves(%d, %d)[%d] = %q, want %q", tc.start, tc.end, i, l, want[tc.start+uint64(i)])
			}
		}
	}
}

func testStoreTreeCAS(t *testing.T, h Harness) {
	ctx := context.Background()
	st := h.New(t)
	h.Append(t, st, "t", leaf("t", 0), leaf("t", 1), leaf("t", 2))
	h1 := tlog.Head{Size: 1, Root: tlog.LeafHash(leaf("t", 0))}
	n0 := tlog.Node{ID: compact.NewNodeID(0, 0), Hash: h1.Root}
	if err := st.StoreTree(ctx, "t", tlog.Head{}, h1, []tlog.Node{n0}); err != nil {
		t.Fatalf("StoreTree from the empty head: %v", err)
	}
	got, err := st.TreeHead(ctx, "t")
	if err != nil || got.Size != 1 || !bytes.Equal(got.Root, h1.Root) {
		t.Fatalf("TreeHead = %+v, %v; want %+v", got, err, h1)
	}
	// A second sequencer that also read the empty head loses.
	bogus := tlog.Node{ID: compact.NewNodeID(1, 0), Hash: bytes.Repeat([]byte{9}, 32)}
	err = st.StoreTree(ctx, "t", tlog.Head{}, tlog.Head{Size: 2, Root: bytes.Repeat([]byte{8}, 32)}, []tlog.Node{n0, bogus})
	if !errors.Is(err, tlog.ErrHeadMoved) {
		t.Fatalf("StoreTree from a stale head: %v, want ErrHeadMoved", err)
	}
	// ... and changed nothing.
	if got, _ := st.TreeHead(ctx, "t"); got.Size != 1 || !bytes.Equal(got.Root, h1.Root) {
		t.Fatalf("head after a refused StoreTree = %+v", got)
	}
	if _, err := st.Nodes(ctx, "t", []compact.NodeID{bogus.ID}); !errors.Is(err, tlog.ErrMissingNode) {
		t.Fatalf("node of a refused StoreTree: %v, want ErrMissingNode", err)
	}
	// A stale head from the future loses too.
	if err := st.StoreTree(ctx, "t", tlog.Head{Size: 2}, tlog.Head{Size: 3, Root: h1.Root}, nil); !errors.Is(err, tlog.ErrHeadMoved) {
		t.Fatalf("StoreTree from a head never stored: %v, want ErrHeadMoved", err)
	}
	// The sequencer carries on from the stored head.
	head, err := tlog.Integrate(ctx, st, "t", 10)
	if err != nil || head.Size != 3 {
		t.Fatalf("Integrate = %+v, %v", head, err)
	}
}

func testNodes(t *testing.T, h Harness) {
	ctx := context.Background()
	st := h.New(t)
	for i := range 8 {
		h.Append(t, st, "t", leaf("t", i))
	}
	if _, err := tlog.Integrate(ctx, st, "t", 8); err != nil {
		t.Fatal(err)
	}
	// Order kept, repeats allowed.
	ids := []compact.NodeID{compact.NewNodeID(3, 0), compact.NewNodeID(0, 5), compact.NewNodeID(1, 2), compact.NewNodeID(0, 5)}
	hashes, err := st.Nodes(ctx, "t", ids)
	if err != nil || len(hashes) != len(ids) {
		t.Fatalf("Nodes = %d hashes, %v", len(hashes), err)
	}
	root, _ := tlog.RootAt(ctx, st, "t", 8)
	if !bytes.Equal(hashes[0], root) || !bytes.Equal(hashes[1], tlog.LeafHash(leaf("t", 5))) || !bytes.Equal(hashes[1], hashes[3]) {
		t.Fatal("Nodes returned hashes out of order")
	}
	if _, err := st.Nodes(ctx, "t", []compact.NodeID{compact.NewNodeID(0, 8)}); !errors.Is(err, tlog.ErrMissingNode) {
		t.Fatalf("Nodes beyond the tree: %v, want ErrMissingNode", err)
	}
	if _, err := st.Nodes(ctx, "t", []compact.NodeID{compact.NewNodeID(4, 0)}); !errors.Is(err, tlog.ErrMissingNode) {
		t.Fatalf("Nodes above the tree: %v, want ErrMissingNode", err)
	}
}

// reference integrates the same leaves in a MemStorage.
func reference(t *testing.T, log string, n int) *tlog.MemStorage {
	ref := tlog.NewMemStorage()
	for i := range n {
		ref.Append(log, leaf(log, i))
	}
	if _, err := tlog.Integrate(context.Background(), ref, log, n+1); err != nil {
		t.Fatal(err)
	}
	return ref
}

func testIntegrateAndProve(t *testing.T, h Harness) {
	ctx := context.Background()
	st := h.New(t)
	rnd := rand.New(rand.NewPCG(7, 7))
	const n = 300
	for i := 0; i < n; {
		k := min(n-i, 1+rnd.IntN(30))
		var batch [][]byte
		for j := range k {
			batch = append(batch, leaf("t", i+j))
		}
		h.Append(t, st, "t", batch...)
		i += k
		for {
			before, _ := st.TreeHead(ctx, "t")
			head, err := tlog.Integrate(ctx, st, "t", 1+rnd.IntN(20))
			if err != nil {
				t.Fatal(err)
			}
			if head.Size == before.Size {
				break
			}
		}
	}
	ref := reference(t, "t", n)
	for size := uint64(1); size <= n; size += 1 + size/8 {
		want, _ := tlog.RootAt(ctx, ref, "t", size)
		if got, err := tlog.RootAt(ctx, st, "t", size); err != nil || !bytes.Equal(got, want) {
			t.Fatalf("RootAt(%d) = %x, %v; want %x", size, got, err, want)
		}
		index := rnd.Uint64N(size)
		want2, _ := tlog.InclusionProof(ctx, ref, "t", index, size)
		got2, err := tlog.InclusionProof(ctx, st, "t", index, size)
		if err != nil || !equalHashes(got2, want2) {
			t.Fatalf("InclusionProof(%d, %d): %v", index, size, err)
		}
		from := rnd.Uint64N(size + 1)
		want3, _ := tlog.ConsistencyProof(ctx, ref, "t", from, size)
		got3, err := tlog.ConsistencyProof(ctx, st, "t", from, size)
		if err != nil || !equalHashes(got3, want3) {
			t.Fatalf("ConsistencyProof(%d, %d): %v", from, size, err)
		}
	}
}

func equalHashes(a, b [][]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !bytes.Equal(a[i], b[i]) {
			return false
		}
	}
	return true
}

// testConcurrentIntegrators: sequencers racing on one log (as on replicas
// sharing a database) leave exactly the tree of all leaves.
func testConcurrentIntegrators(t *testing.T, h Harness) {
	ctx := context.Background()
	st := h.New(t)
	const n = 400
	for i := 0; i < n; i += 50 {
		var batch [][]byte
		for j := range 50 {
			batch = append(batch, leaf("t", i+j))
		}
		h.Append(t, st, "t", batch...)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for w := range 4 {
		wg.Go(func() {
			rnd := rand.New(rand.NewPCG(uint64(w), 1))
			for {
				head, err := tlog.Integrate(ctx, st, "t", 1+rnd.IntN(40))
				if err != nil && !errors.Is(err, tlog.ErrHeadMoved) {
					errs <- err
					return
				}
				if head.Size == n {
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	want, _ := tlog.RootAt(ctx, reference(t, "t", n), "t", n)
	head, err := st.TreeHead(ctx, "t")
	if err != nil || head.Size != n || !bytes.Equal(head.Root, want) {
		t.Fatalf("head after racing sequencers = %+v, %v; want size %d root %x", head, err, n, want)
	}
	for size := uint64(1); size <= n; size += 37 {
		want, _ := tlog.RootAt(ctx, reference(t, "t", int(size)), "t", size)
		if got, err := tlog.RootAt(ctx, st, "t", size); err != nil || !bytes.Equal(got, want) {
			t.Fatalf("RootAt(%d) = %x, %v; want %x", size, got, err, want)
		}
	}
}

func testSeparateLogs(t *testing.T, h Harness) {
	ctx := context.Background()
	st := h.New(t)
	for i := range 20 {
		h.Append(t, st, "a", leaf("a", i))
		if i%2 == 0 {
			h.Append(t, st, "b", leaf("b", i/2))
		}
	}
	for _, log := range []string{"a", "b"} {
		for {
			before, _ := st.TreeHead(ctx, log)
			head, err := tlog.Integrate(ctx, st, log, 3)
			if err != nil {
				t.Fatal(err)
			}
			if head.Size == before.Size {
				break
			}
		}
	}
	for log, n := range map[string]int{"a": 20, "b": 10} {
		head, err := st.TreeHead(ctx, log)
		want, _ := tlog.RootAt(ctx, reference(t, log, n), log, uint64(n))
		if err != nil || head.Size != uint64(n) || !bytes.Equal(head.Root, want) {
			t.Fatalf("log %s: head %+v, %v; want size %d root %x", log, head, err, n, want)
		}
	}
}
