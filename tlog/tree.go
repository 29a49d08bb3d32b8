package tlog

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"

	"github.com/transparency-dev/merkle"
	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
)

// HashSize is the size of every hash of the log: SHA-256.
const HashSize = 32

// hasher is the RFC 6962 hasher of docs/design.md §6: leaf = SHA-256(0x00 || leaf),
// node = SHA-256(0x01 || left || right).
var hasher merkle.LogHasher = fastHasher{}

// rangeFactory makes the compact ranges that hold a tree's right edge.
var rangeFactory = &compact.RangeFactory{Hash: hasher.HashChildren}

// fastHasher computes exactly what rfc6962.DefaultHasher computes (the tests
// hold it to that, and to sumdb's tlog), with one allocation per hash
// instead of four: a sequencer and a first verification hash two million
// times per million entries, and the digest objects rfc6962 allocates
// through crypto.Hash.New were a third of their cost.
type fastHasher struct{}

// maxStackLeaf is the largest leaf hashed from a buffer on the stack; events
// are a few hundred bytes.
const maxStackLeaf = 2048

func (fastHasher) EmptyRoot() []byte {
	h := sha256.Sum256(nil)
	return h[:]
}

func (fastHasher) HashLeaf(leaf []byte) []byte {
	if len(leaf) > maxStackLeaf {
		return rfc6962.DefaultHasher.HashLeaf(leaf)
	}
	var buf [1 + maxStackLeaf]byte
	buf[0] = rfc6962.RFC6962LeafHashPrefix
	n := 1 + copy(buf[1:], leaf)
	h := sha256.Sum256(buf[:n])
	return h[:]
}

func (fastHasher) HashChildren(l, r []byte) []byte {
	if len(l) != HashSize || len(r) != HashSize {
		return rfc6962.DefaultHasher.HashChildren(l, r)
	}
	var buf [1 + 2*HashSize]byte
	buf[0] = rfc6962.RFC6962NodeHashPrefix
	copy(buf[1:], l)
	copy(buf[1+HashSize:], r)
	h := sha256.Sum256(buf[:])
	return h[:]
}

func (fastHasher) Size() int { return HashSize }

// LeafHash returns the RFC 6962 hash of a leaf.
func LeafHash(leaf []byte) []byte { return hasher.HashLeaf(leaf) }

// EmptyRoot returns the root of the empty tree, SHA-256 of nothing: the root
// a checkpoint of size 0 carries.
func EmptyRoot() []byte { return hasher.EmptyRoot() }

// checkLeaves is off only in tests that build logs holding bad entries, to
// check that verifiers catch them.
var checkLeaves = true

// maxIntegrateAttempts bounds how often Integrate starts again after losing a
// race: each loss means another sequencer made progress, so a few attempts
// are plenty unless many replicas integrate the same log at once.
const maxIntegrateAttempts = 8

// Integrate adds the next committed leaves of log, at most maxBatch of them,
// to its Merkle tree: it stores the hash of every subtree they complete and
// moves the head, in one StoreTree call. It returns the new head, or the
// unchanged head when no leaf waits.
//
// It is idempotent and safe to run from several processes at once: the head
// moves by compare-and-set, and a sequencer that loses the race starts again
// from the winner's head. A backlog takes several calls; call it until the
// size stops growing.
//
// Every leaf must be an event of log at its index: a JSON object whose
// "index" is its position and "tenant_id" is log. A leaf that is not stops
// integration with an error before anything is stored: the storage returned
// leaves out of order, with a gap, or of another log, and a signed tree
// holds its leaves forever, so the log stops growing rather than sign that.
func Integrate(ctx context.Context, st Storage, log string, maxBatch int) (Head, error) {
	if maxBatch <= 0 {
		return Head{}, fmt.Errorf("tlog: integrate: batch size %d, want > 0", maxBatch)
	}
	for attempt := 1; ; attempt++ {
		head, err := integrateOnce(ctx, st, log, maxBatch)
		if errors.Is(err, ErrHeadMoved) && attempt < maxIntegrateAttempts {
			continue
		}
		return head, err
	}
}

func integrateOnce(ctx context.Context, st Storage, log string, maxBatch int) (Head, error) {
	head, err := treeHead(ctx, st, log)
	if err != nil {
		return Head{}, err
	}
	leaves, err := st.Leaves(ctx, log, head.Size, head.Size+uint64(maxBatch))
	if err != nil {
		return Head{}, fmt.Errorf("tlog: integrate log %q: reading leaves from %d: %w", log, head.Size, err)
	}
	if len(leaves) == 0 {
		return head, nil
	}
	if len(leaves) > maxBatch {
		return Head{}, fmt.Errorf("tlog: integrate log %q: storage returned %d leaves, asked for at most %d", log, len(leaves), maxBatch)
	}
	rng, err := loadRange(ctx, st, log, head.Size)
	if err != nil {
		return Head{}, err
	}
	// The stored root must be the one the stored nodes give: integrating on
	// top of a corrupt tree would sign its corruption into every later
	// checkpoint.
	if root := rangeRoot(rng); !bytes.Equal(root, head.Root) {
		return Head{}, fmt.Errorf("tlog: integrate log %q: the stored nodes give root %x at size %d, but the stored head says %x", log, root, head.Size, head.Root)
	}
	// A batch of n leaves completes about 2n subtrees: n leaves and n-1
	// inner nodes, plus up to one per level where it joins the old edge.
	// Leaf hashes (level 0) are not stored here: the writer stored each
	// with its leaf (Storage.Nodes).
	nodes := make([]Node, 0, len(leaves)+64)
	visit := func(id compact.NodeID, hash []byte) {
		if id.Level > 0 {
			nodes = append(nodes, Node{ID: id, Hash: hash})
		}
	}
	for i, leaf := range leaves {
		if p := checkLeaf(leaf, head.Size+uint64(i), log); p != nil && checkLeaves {
			return Head{}, fmt.Errorf("tlog: integrate log %q: entry %d: %s", log, head.Size+uint64(i), p.msg)
		}
		if err := rng.Append(LeafHash(leaf), visit); err != nil {
			return Head{}, fmt.Errorf("tlog: integrate log %q: %w", log, err)
		}
	}
	to := Head{Size: rng.End(), Root: rangeRoot(rng)}
	if err := st.StoreTree(ctx, log, head, to, nodes); err != nil {
		return Head{}, fmt.Errorf("tlog: integrate log %q from %d to %d: %w", log, head.Size, to.Size, err)
	}
	return to, nil
}

// treeHead reads the head of log and gives an empty tree its root.
func treeHead(ctx context.Context, st Storage, log string) (Head, error) {
	head, err := st.TreeHead(ctx, log)
	if err != nil {
		return Head{}, fmt.Errorf("tlog: reading the head of log %q: %w", log, err)
	}
	if head.Size == 0 && head.Root == nil {
		head.Root = EmptyRoot()
	}
	return head, nil
}

// loadRange returns the compact range [0, size) of log: the hashes of the
// perfect subtrees along the right edge of the tree of that size, enough to
// append to the tree or to compute its root.
func loadRange(ctx context.Context, st Storage, log string, size uint64) (*compact.Range, error) {
	ids := compact.RangeNodes(0, size, nil)
	hashes, err := st.Nodes(ctx, log, ids)
	if err != nil {
		return nil, fmt.Errorf("tlog: log %q: reading the edge of the tree of size %d: %w", log, size, err)
	}
	rng, err := rangeFactory.NewRange(0, size, hashes)
	if err != nil {
		return nil, fmt.Errorf("tlog: log %q: %w", log, err)
	}
	return rng, nil
}

// rangeRoot returns the root of the tree a compact range starting at 0
// describes; the empty range has the empty root.
func rangeRoot(rng *compact.Range) []byte {
	if rng.End() == 0 {
		return EmptyRoot()
	}
	root, err := rng.GetRootHash(nil)
	if err != nil {
		panic(err) // only ranges starting at 0 are built here
	}
	return root
}

// RootAt returns the root of the tree of log at size, any size up to the
// integrated one.
func RootAt(ctx context.Context, st Storage, log string, size uint64) ([]byte, error) {
	head, err := treeHead(ctx, st, log)
	if err != nil {
		return nil, err
	}
	if size > head.Size {
		return nil, fmt.Errorf("%w: size %d is beyond the integrated size %d of log %q", ErrOutOfRange, size, head.Size, log)
	}
	if size == head.Size {
		return head.Root, nil
	}
	rng, err := loadRange(ctx, st, log, size)
	if err != nil {
		return nil, err
	}
	return rangeRoot(rng), nil
}

// InclusionProof returns the RFC 6962 audit path of leaf index in the tree
// of log at size, any size up to the integrated one, ordered from the leaf
// up as RFC 6962 and merkle/proof expect.
func InclusionProof(ctx context.Context, st Storage, log string, index, size uint64) ([][]byte, error) {
	if err := checkSize(ctx, st, log, size); err != nil {
		return nil, err
	}
	if index >= size {
		return nil, fmt.Errorf("%w: index %d is not in a tree of size %d", ErrOutOfRange, index, size)
	}
	nodes, err := proof.Inclusion(index, size)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrOutOfRange, err)
	}
	return fetchProof(ctx, st, log, nodes)
}

// ConsistencyProof returns the RFC 6962 proof that the tree of log at size
// from is a prefix of the tree at size to, for any from <= to up to the
// integrated size. It is empty when from is 0 or equals to.
func ConsistencyProof(ctx context.Context, st Storage, log string, from, to uint64) ([][]byte, error) {
	if err := checkSize(ctx, st, log, to); err != nil {
		return nil, err
	}
	if from > to {
		return nil, fmt.Errorf("%w: consistency from size %d to the smaller size %d", ErrOutOfRange, from, to)
	}
	nodes, err := proof.Consistency(from, to)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrOutOfRange, err)
	}
	return fetchProof(ctx, st, log, nodes)
}

func checkSize(ctx context.Context, st Storage, log string, size uint64) error {
	head, err := st.TreeHead(ctx, log)
	if err != nil {
		return fmt.Errorf("tlog: reading the head of log %q: %w", log, err)
	}
	if size > head.Size {
		return fmt.Errorf("%w: size %d is beyond the integrated size %d of log %q", ErrOutOfRange, size, head.Size, log)
	}
	return nil
}

// fetchProof reads the stored nodes a proof needs and folds the ones that
// stand for an ephemeral node (an incomplete subtree on the right edge,
// never stored) into its hash.
func fetchProof(ctx context.Context, st Storage, log string, nodes proof.Nodes) ([][]byte, error) {
	if len(nodes.IDs) == 0 {
		return [][]byte{}, nil
	}
	hashes, err := st.Nodes(ctx, log, nodes.IDs)
	if err != nil {
		return nil, fmt.Errorf("tlog: log %q: %w", log, err)
	}
	// Rehash rewrites the slice in place: never the storage's own.
	hashes = append([][]byte(nil), hashes...)
	return nodes.Rehash(hashes, hasher.HashChildren)
}
