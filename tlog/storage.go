package tlog

import (
	"context"
	"errors"
	"fmt"
	"math"

	"github.com/transparency-dev/merkle/compact"
)

// Errors of the server side. The HTTP layer maps ErrOutOfRange to 422
// (well-formed but invalid); the others are internal errors.
var (
	// ErrHeadMoved is returned by Storage.StoreTree when another sequencer
	// moved the tree head first. Integrate treats it as "somebody else did
	// the work" and starts again from the new head.
	ErrHeadMoved = errors.New("tlog: the tree head moved under the sequencer")
	// ErrOutOfRange is returned for a proof or root about a size beyond the
	// integrated tree, or an index outside the tree it is asked about.
	ErrOutOfRange = errors.New("tlog: out of range")
	// ErrMissingNode is returned by Storage.Nodes for a node that was never
	// stored: the tree is incomplete or corrupt.
	ErrMissingNode = errors.New("tlog: node hash not found")
)

// Head is the integrated tree head of a log: how many leaves the Merkle tree
// covers and its RFC 6962 root. The head of a log that has never been
// integrated is the zero Head; tlog treats its nil Root as EmptyRoot.
type Head struct {
	Size uint64
	Root []byte
}

// Node is the hash of one complete subtree, named by its compact-range node
// ID: Level is the height above the leaves (0 for a leaf hash), and the node
// covers leaves [Index<<Level, (Index+1)<<Level).
type Node struct {
	ID   compact.NodeID
	Hash []byte
}

// Storage holds the tenant logs. Leaves are written by the event tables (the
// store appends an event and its leaf bytes in the transaction that makes the
// change); the tree, as node hashes and a head, is written only by Integrate.
// log names one log: a tenant id, or "system".
//
// Implementations must be safe for concurrent use, and callers must not
// modify the slices they return.
type Storage interface {
	// TreeHead returns the integrated head of log: the zero Head when the
	// log has never been integrated, including when it does not exist.
	TreeHead(ctx context.Context, log string) (Head, error)

	// Leaves returns the committed leaves [start, end) of log in index
	// order, byte for byte as stored. It returns fewer (possibly none) when
	// fewer are committed; never more, and never a gap: leaf i of the result
	// is the leaf of index start+i. Leaves may be committed but not yet
	// integrated.
	Leaves(ctx context.Context, log string, start, end uint64) ([][]byte, error)

	// Nodes returns the hashes of the given nodes, in the order of ids. Every
	// node of a complete subtree inside the integrated tree exists; asking
	// for another is an error matching ErrMissingNode. Integrate stores the
	// inner nodes (level 1 and up); a leaf hash (level 0) is the storage's
	// own: it records SHA-256(0x00 || leaf) when the leaf is appended, and
	// keeps it when a leaf is later changed, as a node would be kept.
	Nodes(ctx context.Context, log string, ids []compact.NodeID) ([][]byte, error)

	// StoreTree atomically stores nodes and moves log's head from from to
	// to, but only while the stored head's size is still from.Size (a log
	// without a stored head has size 0); otherwise it changes nothing and
	// returns an error matching ErrHeadMoved. Sizes only grow and leaves
	// never change, so equal sizes mean equal trees: comparing sizes is
	// enough. The nodes are new (they cover leaves at or beyond from.Size),
	// but an implementation should tolerate one already stored with the
	// same hash.
	StoreTree(ctx context.Context, log string, from, to Head, nodes []Node) error
}

// CheckStoreTree checks the arguments of Storage.StoreTree, so that what a
// database would refuse gets a clear error; both stores call it.
func CheckStoreTree(log string, from, to Head, nodes []Node) error {
	if to.Size < from.Size {
		return fmt.Errorf("log %q cannot shrink from %d to %d", log, from.Size, to.Size)
	}
	if to.Size > math.MaxInt64 {
		return fmt.Errorf("log %q: tree size %d is too large", log, to.Size)
	}
	if len(to.Root) != HashSize {
		return fmt.Errorf("log %q: root of %d bytes, want %d", log, len(to.Root), HashSize)
	}
	for _, n := range nodes {
		if len(n.Hash) != HashSize || n.ID.Index > math.MaxInt64 || n.ID.Level > 64 {
			return fmt.Errorf("log %q: invalid node (level %d, index %d) with a hash of %d bytes", log, n.ID.Level, n.ID.Index, len(n.Hash))
		}
	}
	return nil
}
