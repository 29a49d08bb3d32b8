package tlog

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	sumdb "golang.org/x/mod/sumdb/tlog"
)

// refTree is the tree of golang.org/x/mod/sumdb/tlog, an independent RFC
// 6962 implementation, to check ours against.
type refTree struct {
	hashes []sumdb.Hash // stored hashes, in sumdb's own layout
	n      int64
}

func (r *refTree) ReadHashes(indexes []int64) ([]sumdb.Hash, error) {
	out := make([]sumdb.Hash, len(indexes))
	for i, x := range indexes {
		if x >= int64(len(r.hashes)) {
			return nil, fmt.Errorf("ref: no stored hash %d", x)
		}
		out[i] = r.hashes[x]
	}
	return out, nil
}

func (r *refTree) add(t *testing.T, leaf []byte) {
	t.Helper()
	hs, err := sumdb.StoredHashes(r.n, leaf, r)
	if err != nil {
		t.Fatal(err)
	}
	r.hashes = append(r.hashes, hs...)
	r.n++
}

func (r *refTree) root(t *testing.T, n int64) sumdb.Hash {
	t.Helper()
	h, err := sumdb.TreeHash(n, r)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func testLeaf(i int) []byte {
	return fmt.Appendf(nil, `{"tenant_id":"t","index":%d,"id":"evt_%d"}`, i, i*7919)
}

// grow appends n leaves to log in st and the reference, and integrates them
// in batches of random sizes, as a sequencer catching up would.
func grow(t *testing.T, st *MemStorage, ref *refTree, log string, n int, rnd *rand.Rand) {
	t.Helper()
	for i := 0; i < n; i++ {
		leaf := testLeaf(int(ref.n))
		st.Append(log, leaf)
		ref.add(t, leaf)
	}
	ctx := context.Background()
	for {
		before, _ := st.TreeHead(ctx, log)
		head, err := Integrate(ctx, st, log, 1+rnd.IntN(40))
		if err != nil {
			t.Fatal(err)
		}
		if head.Size == before.Size {
			break
		}
	}
}

func TestEmptyRoot(t *testing.T) {
	ref := &refTree{}
	if got, want := EmptyRoot(), ref.root(t, 0); !bytes.Equal(got, want[:]) {
		t.Fatalf("EmptyRoot = %x, sumdb says %x", got, want)
	}
	st := NewMemStorage()
	root, err := RootAt(context.Background(), st, "nobody", 0)
	if err != nil || !bytes.Equal(root, EmptyRoot()) {
		t.Fatalf("RootAt(empty log, 0) = %x, %v; want the empty root", root, err)
	}
}

// TestProofsAgainstSumdb checks roots, inclusion proofs and consistency
// proofs for every size up to 300 against sumdb's tlog, hash for hash, and
// verifies them with merkle/proof and with sumdb's checkers.
func TestProofsAgainstSumdb(t *testing.T) {
	ctx := context.Background()
	rnd := rand.New(rand.NewPCG(1, 2))
	st, ref := NewMemStorage(), &refTree{}
	const max = 300
	grow(t, st, ref, "t", max, rnd)

	for n := uint64(1); n <= max; n++ {
		root, err := RootAt(ctx, st, "t", n)
		if err != nil {
			t.Fatal(err)
		}
		want := ref.root(t, int64(n))
		if !bytes.Equal(root, want[:]) {
			t.Fatalf("root at %d = %x, sumdb says %x", n, root, want)
		}
		// Every inclusion proof of small trees, a sample of larger ones.
		for i := uint64(0); i < n; i += 1 + n/40 {
			checkInclusion(t, st, ref, i, n, root)
		}
		checkInclusion(t, st, ref, n-1, n, root)
		for m := uint64(0); m <= n; m += 1 + n/40 {
			checkConsistency(t, st, ref, m, n, root)
		}
		checkConsistency(t, st, ref, n-1, n, root)
		checkConsistency(t, st, ref, n, n, root)
	}
}

// TestLargeTrees checks a few large sizes, around powers of two, where
// proofs are longest and ephemeral nodes deepest.
func TestLargeTrees(t *testing.T) {
	ctx := context.Background()
	rnd := rand.New(rand.NewPCG(3, 4))
	st, ref := NewMemStorage(), &refTree{}
	size := 0
	for _, n := range []int{1023, 1024, 1025, 4097, 20000} {
		grow(t, st, ref, "t", n-size, rnd)
		size = n
		root, err := RootAt(ctx, st, "t", uint64(n))
		if err != nil {
			t.Fatal(err)
		}
		want := ref.root(t, int64(n))
		if !bytes.Equal(root, want[:]) {
			t.Fatalf("root at %d = %x, sumdb says %x", n, root, want)
		}
		for range 20 {
			checkInclusion(t, st, ref, rnd.Uint64N(uint64(n)), uint64(n), root)
			m := rnd.Uint64N(uint64(n) + 1)
			checkConsistency(t, st, ref, m, uint64(n), root)
			// Proofs about older sizes come from the same stored nodes.
			old := 1 + rnd.Uint64N(uint64(n))
			oldRoot, err := RootAt(ctx, st, "t", old)
			if err != nil {
				t.Fatal(err)
			}
			checkInclusion(t, st, ref, rnd.Uint64N(old), old, oldRoot)
			checkConsistency(t, st, ref, rnd.Uint64N(old+1), old, oldRoot)
		}
	}
}

func checkInclusion(t *testing.T, st *MemStorage, ref *refTree, index, size uint64, root []byte) {
	t.Helper()
	p, err := InclusionProof(context.Background(), st, "t", index, size)
	if err != nil {
		t.Fatalf("inclusion %d in %d: %v", index, size, err)
	}
	want, err := sumdb.ProveRecord(int64(size), int64(index), ref)
	if err != nil {
		t.Fatal(err)
	}
	if len(p) != len(want) {
		t.Fatalf("inclusion %d in %d: %d hashes, sumdb gives %d", index, size, len(p), len(want))
	}
	for i := range p {
		if !bytes.Equal(p[i], want[i][:]) {
			t.Fatalf("inclusion %d in %d: hash %d differs from sumdb's", index, size, i)
		}
	}
	leafHash := LeafHash(testLeaf(int(index)))
	if err := proof.VerifyInclusion(hasher, index, size, leafHash, p, root); err != nil {
		t.Fatalf("inclusion %d in %d: merkle/proof says %v", index, size, err)
	}
	if err := sumdb.CheckRecord(want, int64(size), sumdb.Hash(root), int64(index), sumdb.Hash(leafHash)); err != nil {
		t.Fatalf("inclusion %d in %d: sumdb says %v", index, size, err)
	}
	// A proof for a neighbour's leaf must not verify.
	other := LeafHash(testLeaf(int(index) + 1))
	if proof.VerifyInclusion(hasher, index, size, other, p, root) == nil {
		t.Fatalf("inclusion %d in %d verifies for another leaf", index, size)
	}
}

func checkConsistency(t *testing.T, st *MemStorage, ref *refTree, from, to uint64, root []byte) {
	t.Helper()
	ctx := context.Background()
	p, err := ConsistencyProof(ctx, st, "t", from, to)
	if err != nil {
		t.Fatalf("consistency %d to %d: %v", from, to, err)
	}
	fromRoot, err := RootAt(ctx, st, "t", from)
	if err != nil {
		t.Fatal(err)
	}
	if err := proof.VerifyConsistency(hasher, from, to, p, fromRoot, root); err != nil {
		t.Fatalf("consistency %d to %d: merkle/proof says %v", from, to, err)
	}
	if from == 0 {
		if len(p) != 0 {
			t.Fatalf("consistency from 0: %d hashes, want none", len(p))
		}
		return
	}
	want, err := sumdb.ProveTree(int64(to), int64(from), ref)
	if err != nil {
		t.Fatal(err)
	}
	if len(p) != len(want) {
		t.Fatalf("consistency %d to %d: %d hashes, sumdb gives %d", from, to, len(p), len(want))
	}
	for i := range p {
		if !bytes.Equal(p[i], want[i][:]) {
			t.Fatalf("consistency %d to %d: hash %d differs from sumdb's", from, to, i)
		}
	}
	if err := sumdb.CheckTree(want, int64(to), sumdb.Hash(root), int64(from), sumdb.Hash(fromRoot)); err != nil {
		t.Fatalf("consistency %d to %d: sumdb says %v", from, to, err)
	}
}

func TestProofOutOfRange(t *testing.T) {
	ctx := context.Background()
	st := NewMemStorage()
	for i := range 10 {
		st.Append("t", testLeaf(i))
	}
	if _, err := Integrate(ctx, st, "t", 7); err != nil { // 7 of 10 integrated
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		call func() error
	}{
		{"inclusion beyond integrated", func() error { _, err := InclusionProof(ctx, st, "t", 7, 8); return err }},
		{"inclusion index = size", func() error { _, err := InclusionProof(ctx, st, "t", 5, 5); return err }},
		{"consistency beyond integrated", func() error { _, err := ConsistencyProof(ctx, st, "t", 3, 8); return err }},
		{"consistency backwards", func() error { _, err := ConsistencyProof(ctx, st, "t", 6, 5); return err }},
		{"root beyond integrated", func() error { _, err := RootAt(ctx, st, "t", 8); return err }},
		{"unknown log", func() error { _, err := InclusionProof(ctx, st, "other", 0, 1); return err }},
	} {
		if err := tc.call(); !errorsIs(err, ErrOutOfRange) {
			t.Errorf("%s: err = %v, want ErrOutOfRange", tc.name, err)
		}
	}
}

// TestFastHasher holds the hasher to rfc6962.DefaultHasher, on leaves of
// every size around the stack buffer and on odd-sized children.
func TestFastHasher(t *testing.T) {
	ref := rfc6962.DefaultHasher
	rnd := rand.New(rand.NewPCG(5, 6))
	buf := make([]byte, maxStackLeaf+100)
	for i := range buf {
		buf[i] = byte(rnd.Uint32())
	}
	for _, n := range []int{0, 1, 31, 32, 33, 300, maxStackLeaf - 1, maxStackLeaf, maxStackLeaf + 1, maxStackLeaf + 100} {
		if got, want := hasher.HashLeaf(buf[:n]), ref.HashLeaf(buf[:n]); !bytes.Equal(got, want) {
			t.Fatalf("HashLeaf of %d bytes = %x, rfc6962 says %x", n, got, want)
		}
	}
	for _, sizes := range [][2]int{{32, 32}, {0, 32}, {32, 0}, {31, 33}, {64, 1}} {
		l, r := buf[:sizes[0]], buf[100:100+sizes[1]]
		if got, want := hasher.HashChildren(l, r), ref.HashChildren(l, r); !bytes.Equal(got, want) {
			t.Fatalf("HashChildren(%d, %d bytes) = %x, rfc6962 says %x", sizes[0], sizes[1], got, want)
		}
	}
	if !bytes.Equal(hasher.EmptyRoot(), ref.EmptyRoot()) || hasher.Size() != ref.Size() {
		t.Fatal("EmptyRoot or Size differ from rfc6962's")
	}
}
