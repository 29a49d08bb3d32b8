package tlog

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"sync"

	"github.com/transparency-dev/merkle/compact"
)

// MemStorage is a Storage in memory, for tests, benchmarks and demos. Its
// zero value is an empty set of logs, ready to use. It keeps every node hash
// in a slice per level, so reads are a few index operations.
type MemStorage struct {
	mu   sync.RWMutex
	logs map[string]*memLog
}

var _ Storage = (*MemStorage)(nil)

type memLog struct {
	leaves [][]byte
	levels [][][]byte // levels[l][i] is the hash of node (l, i)
	head   Head
}

// NewMemStorage returns an empty MemStorage.
func NewMemStorage() *MemStorage { return &MemStorage{} }

// Append commits leaves at the end of log, as the event tables do, and
// returns the index of the first. The bytes are copied.
func (m *MemStorage) Append(log string, leaves ...[]byte) uint64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	l := m.logLocked(log)
	first := uint64(len(l.leaves))
	// The leaf hashes are stored with the leaves, as the stores do
	// (Storage.Nodes).
	for len(l.levels) == 0 {
		l.levels = append(l.levels, nil)
	}
	for _, leaf := range leaves {
		l.leaves = append(l.leaves, bytes.Clone(leaf))
		l.levels[0] = append(l.levels[0], LeafHash(leaf))
	}
	return first
}

func (m *MemStorage) logLocked(log string) *memLog {
	if m.logs == nil {
		m.logs = make(map[string]*memLog)
	}
	l := m.logs[log]
	if l == nil {
		l = &memLog{}
		m.logs[log] = l
	}
	return l
}

// TreeHead implements Storage.
func (m *MemStorage) TreeHead(_ context.Context, log string) (Head, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if l := m.logs[log]; l != nil {
		return l.head, nil
	}
	return Head{}, nil
}

// Leaves implements Storage.
func (m *MemStorage) Leaves(_ context.Context, log string, start, end uint64) ([][]byte, error) {
	if end < start {
		return nil, fmt.Errorf("tlog: leaves [%d, %d): end before start", start, end)
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	l := m.logs[log]
	if l == nil || start >= uint64(len(l.leaves)) {
		return nil, nil
	}
	end = min(end, uint64(len(l.leaves)))
	return slices.Clone(l.leaves[start:end]), nil
}

// Nodes implements Storage.
func (m *MemStorage) Nodes(_ context.Context, log string, ids []compact.NodeID) ([][]byte, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	l := m.logs[log]
	hashes := make([][]byte, len(ids))
	for i, id := range ids {
		var h []byte
		if l != nil {
			h = l.node(id)
		}
		if h == nil {
			return nil, fmt.Errorf("%w: node (level %d, index %d) of log %q", ErrMissingNode, id.Level, id.Index, log)
		}
		hashes[i] = h
	}
	return hashes, nil
}

// StoreTree implements Storage.
func (m *MemStorage) StoreTree(_ context.Context, log string, from, to Head, nodes []Node) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	l := m.logLocked(log)
	if l.head.Size != from.Size {
		return fmt.Errorf("%w: log %q is at size %d, not %d", ErrHeadMoved, log, l.head.Size, from.Size)
	}
	if to.Size < from.Size {
		return fmt.Errorf("tlog: log %q cannot shrink from %d to %d", log, from.Size, to.Size)
	}
	// Check every node before storing any, so a refused call changes nothing.
	for _, n := range nodes {
		if old := l.node(n.ID); old != nil && !bytes.Equal(old, n.Hash) {
			return fmt.Errorf("tlog: log %q: node (level %d, index %d) already stored with another hash", log, n.ID.Level, n.ID.Index)
		}
	}
	// One allocation for all the hashes: a batch has thousands.
	slab := make([]byte, 0, HashSize*len(nodes))
	for _, n := range nodes {
		slab = append(slab, n.Hash...)
		hash := slab[len(slab)-len(n.Hash) : len(slab) : len(slab)]
		for uint(len(l.levels)) <= n.ID.Level {
			l.levels = append(l.levels, nil)
		}
		lv := l.levels[n.ID.Level]
		for uint64(len(lv)) <= n.ID.Index {
			lv = append(lv, nil)
		}
		lv[n.ID.Index] = hash
		l.levels[n.ID.Level] = lv
	}
	l.head = Head{Size: to.Size, Root: bytes.Clone(to.Root)}
	return nil
}

// node returns the stored hash of id, or nil.
func (l *memLog) node(id compact.NodeID) []byte {
	if id.Level >= uint(len(l.levels)) || id.Index >= uint64(len(l.levels[id.Level])) {
		return nil
	}
	return l.levels[id.Level][id.Index]
}
