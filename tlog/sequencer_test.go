package tlog

import (
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/transparency-dev/merkle/compact"
)

func errorsIs(err, target error) bool { return errors.Is(err, target) }

// TestIntegrateIdempotent: integrating again with nothing new changes
// nothing, and batch sizes do not change the tree.
func TestIntegrateIdempotent(t *testing.T) {
	ctx := context.Background()
	one, many := NewMemStorage(), NewMemStorage()
	for i := range 257 {
		one.Append("t", testLeaf(i))
		many.Append("t", testLeaf(i))
	}
	h1, err := Integrate(ctx, one, "t", 1000)
	if err != nil || h1.Size != 257 {
		t.Fatalf("Integrate = %+v, %v; want size 257", h1, err)
	}
	var h2 Head
	for range 300 {
		if h2, err = Integrate(ctx, many, "t", 1); err != nil {
			t.Fatal(err)
		}
	}
	if h2.Size != 257 || !bytes.Equal(h1.Root, h2.Root) {
		t.Fatalf("one batch gives %d/%x, batches of one give %d/%x", h1.Size, h1.Root, h2.Size, h2.Root)
	}
	for _, st := range []*MemStorage{one, many} {
		again, err := Integrate(ctx, st, "t", 10)
		if err != nil || again.Size != h1.Size || !bytes.Equal(again.Root, h1.Root) {
			t.Fatalf("Integrate with nothing new = %+v, %v; want %+v", again, err, h1)
		}
	}
	// Logs are independent.
	if h, _ := one.TreeHead(ctx, "u"); h.Size != 0 {
		t.Fatalf("log u has size %d", h.Size)
	}
	if _, err := Integrate(ctx, one, "t", 0); err == nil {
		t.Fatal("Integrate with batch 0: no error")
	}
}

// racyStorage makes concurrent sequencers collide: every StoreTree first
// lets the other goroutines run, and counts the races lost.
type racyStorage struct {
	*MemStorage
	lost atomic.Int64
}

func (s *racyStorage) StoreTree(ctx context.Context, log string, from, to Head, nodes []Node) error {
	err := s.MemStorage.StoreTree(ctx, log, from, to, nodes)
	if errors.Is(err, ErrHeadMoved) {
		s.lost.Add(1)
	}
	return err
}

func (s *racyStorage) Leaves(ctx context.Context, log string, start, end uint64) ([][]byte, error) {
	leaves, err := s.MemStorage.Leaves(ctx, log, start, end)
	// Give the other sequencers time to read the same head.
	for range 3 {
		runtime.Gosched()
	}
	return leaves, err
}

// TestConcurrentIntegrators runs several sequencers on one log while leaves
// keep coming: the compare-and-set must leave exactly the tree of all
// leaves, whoever wins each round.
func TestConcurrentIntegrators(t *testing.T) {
	ctx := context.Background()
	st := &racyStorage{MemStorage: NewMemStorage()}
	ref := NewMemStorage()
	const total = 3000
	var wg sync.WaitGroup
	done := make(chan struct{})
	wg.Go(func() {
		defer close(done)
		for i := range total {
			st.Append("t", testLeaf(i))
		}
	})
	errs := make(chan error, 8)
	for w := range 4 {
		wg.Go(func() {
			rnd := rand.New(rand.NewPCG(uint64(w), 9))
			for {
				select {
				case <-done:
					// Catch up with the last leaves, then stop.
					for {
						before, _ := st.TreeHead(ctx, "t")
						h, err := Integrate(ctx, st, "t", 1+rnd.IntN(64))
						if err != nil && !errors.Is(err, ErrHeadMoved) {
							errs <- err
							return
						}
						if err == nil && h.Size == before.Size {
							return
						}
					}
				default:
				}
				if _, err := Integrate(ctx, st, "t", 1+rnd.IntN(64)); err != nil && !errors.Is(err, ErrHeadMoved) {
					errs <- err
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
	for i := range total {
		ref.Append("t", testLeaf(i))
	}
	want, err := Integrate(ctx, ref, "t", total)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := st.TreeHead(ctx, "t")
	if got.Size != total || !bytes.Equal(got.Root, want.Root) {
		t.Fatalf("after concurrent integration: size %d root %x, want %d %x", got.Size, got.Root, total, want.Root)
	}
	// Every stored node is the reference's.
	for level := uint(0); level < 12; level++ {
		for i := uint64(0); i < total>>level; i++ {
			id := compact.NewNodeID(level, i)
			a, err1 := st.Nodes(ctx, "t", []compact.NodeID{id})
			b, err2 := ref.Nodes(ctx, "t", []compact.NodeID{id})
			if err1 != nil || err2 != nil || !bytes.Equal(a[0], b[0]) {
				t.Fatalf("node %v: %x (%v), want %x (%v)", id, a, err1, b, err2)
			}
		}
	}
	t.Logf("%d lost races", st.lost.Load())
}

// TestStoreTreeCAS: a sequencer holding a stale head cannot move the head,
// and its refused call stores nothing.
func TestStoreTreeCAS(t *testing.T) {
	ctx := context.Background()
	st := NewMemStorage()
	for i := range 4 {
		st.Append("t", testLeaf(i))
	}
	h, err := Integrate(ctx, st, "t", 2)
	if err != nil {
		t.Fatal(err)
	}
	stale := Head{}
	bogus := []Node{{ID: compact.NewNodeID(1, 1), Hash: bytes.Repeat([]byte{1}, 32)}}
	err = st.StoreTree(ctx, "t", stale, Head{Size: 3, Root: bytes.Repeat([]byte{2}, 32)}, bogus)
	if !errors.Is(err, ErrHeadMoved) {
		t.Fatalf("StoreTree from a stale head: %v, want ErrHeadMoved", err)
	}
	if got, _ := st.TreeHead(ctx, "t"); got.Size != h.Size || !bytes.Equal(got.Root, h.Root) {
		t.Fatalf("head moved to %+v", got)
	}
	if _, err := st.Nodes(ctx, "t", []compact.NodeID{compact.NewNodeID(1, 1)}); !errors.Is(err, ErrMissingNode) {
		t.Fatalf("node of a refused StoreTree: %v, want ErrMissingNode", err)
	}
	if h2, err := Integrate(ctx, st, "t", 10); err != nil || h2.Size != 4 {
		t.Fatalf("Integrate after refused StoreTree = %+v, %v", h2, err)
	}
}

// TestIntegrateRefusesCorruptTree: a stored head that the stored nodes do
// not give is corruption, and signing more on top of it would hide it.
func TestIntegrateRefusesCorruptTree(t *testing.T) {
	ctx := context.Background()
	st := NewMemStorage()
	for i := range 5 {
		st.Append("t", testLeaf(i))
	}
	if _, err := Integrate(ctx, st, "t", 3); err != nil {
		t.Fatal(err)
	}
	st.mu.Lock()
	st.logs["t"].levels[0][2] = bytes.Repeat([]byte{7}, 32)
	st.mu.Unlock()
	if _, err := Integrate(ctx, st, "t", 3); err == nil {
		t.Fatal("Integrate on a corrupt tree: no error")
	}
}

// competingStorage lets another sequencer win the race right before the
// first StoreTree of the sequencer under test.
type competingStorage struct {
	*MemStorage
	competed bool
}

func (s *competingStorage) StoreTree(ctx context.Context, log string, from, to Head, nodes []Node) error {
	if !s.competed {
		s.competed = true
		if _, err := Integrate(ctx, s.MemStorage, log, 2); err != nil {
			return err
		}
	}
	return s.MemStorage.StoreTree(ctx, log, from, to, nodes)
}

// TestIntegrateLosesRace: the loser of a race starts again from the
// winner's head and integrates the rest.
func TestIntegrateLosesRace(t *testing.T) {
	ctx := context.Background()
	st := &competingStorage{MemStorage: NewMemStorage()}
	for i := range 5 {
		st.Append("t", testLeaf(i))
	}
	h, err := Integrate(ctx, st, "t", 10)
	if err != nil || h.Size != 5 {
		t.Fatalf("Integrate after losing a race = %+v, %v; want size 5", h, err)
	}
	want, _ := RootAt(ctx, st.MemStorage, "t", 5)
	if !bytes.Equal(h.Root, want) {
		t.Fatal("root differs from the stored tree's")
	}
}

// TestIntegrateRefusesMisplacedLeaves: the sequencer never hashes a leaf
// that is not the event of its log at its index, and stores nothing then.
func TestIntegrateRefusesMisplacedLeaves(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		leaf []byte
	}{
		{"gap", testLeaf(4)},
		{"another log's", []byte(`{"tenant_id":"u","index":3}`)},
		{"not JSON", []byte(`{"tenant_id":"t","index":3`)},
		{"no index", []byte(`{"tenant_id":"t"}`)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := NewMemStorage()
			st.Append("t", testLeaf(0), testLeaf(1), testLeaf(2), tc.leaf, testLeaf(4))
			head, err := Integrate(ctx, st, "t", 2)
			if err != nil || head.Size != 2 {
				t.Fatalf("first batch: %+v, %v", head, err)
			}
			if _, err := Integrate(ctx, st, "t", 10); err == nil || !strings.Contains(err.Error(), "entry 3") {
				t.Fatalf("Integrate over a misplaced leaf: %v, want an error about entry 3", err)
			}
			if got, _ := st.TreeHead(ctx, "t"); got.Size != 2 {
				t.Fatalf("head moved to %d", got.Size)
			}
		})
	}
}
