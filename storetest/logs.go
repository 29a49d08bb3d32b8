package storetest

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/transparency-dev/merkle/compact"

	"github.com/lockbox-dev/lockbox"
	"github.com/lockbox-dev/lockbox/tlog"
)

// LogStore is a store that also keeps the tenant Merkle logs, as both SQL
// stores do: tlog.Storage over its events, and the list of logs the
// sequencer has to catch up on.
type LogStore interface {
	lockbox.Store
	tlog.Storage
	// PendingLogs returns the logs whose committed events go beyond their
	// integrated tree head, in byte order of their names.
	PendingLogs(ctx context.Context) ([]string, error)
}

// Logs runs the conformance tests of a store's tenant logs beyond tlog's
// own storage suite (tlog/storagetest, which the stores run too): the
// leaves are the events AppendEvent stores, and PendingLogs finds the logs
// the sequencer must integrate. newStore returns an empty, migrated store
// and closes it when the test ends.
func Logs(t *testing.T, newStore func(t *testing.T) LogStore) {
	for _, tc := range []struct {
		name string
		run  func(t *testing.T, s LogStore)
	}{
		{"LeavesAreEvents", testLeavesAreEvents},
		{"PendingLogs", testPendingLogs},
		{"StoreTreeExistingNodes", testStoreTreeExistingNodes},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.run(t, newStore(t)) })
	}
}

// integrateAll integrates log until nothing is left, in small batches.
func integrateAll(t *testing.T, s tlog.Storage, log string) tlog.Head {
	t.Helper()
	for {
		before, err := s.TreeHead(t.Context(), log)
		if err != nil {
			t.Fatal(err)
		}
		head, err := tlog.Integrate(t.Context(), s, log, 7)
		if err != nil {
			t.Fatalf("Integrate log %s: %v", log, err)
		}
		if head.Size == before.Size {
			return head
		}
	}
}

// testLeavesAreEvents checks that the leaves of a log are the leaf bytes of
// its events as AppendEvent stored them and ListEvents returns them, and
// that the tree the sequencer builds over them is the one a verifier
// computes from the events.
func testLeavesAreEvents(t *testing.T, s LogStore) {
	ctx := t.Context()
	tn := lockbox.TenantID(lockbox.NewID("ten"))
	var evs []*lockbox.Event
	for i := range 23 {
		e := newEventAt(tn, lockbox.EventRequestApproved, at(i))
		e.Data = []byte(`{"b": "<&>", "a": [1, 2.50]}`) // Seal re-encodes it
		evs = append(evs, e)
	}
	appendEvents(t, s, evs[:10]...)
	appendEvents(t, s, evs[10:]...)
	appendEvents(t, s, newEventAt(lockbox.SystemLog, lockbox.EventOperatorUserChanged, at(1)))

	listed := listEvents(t, s, lockbox.EventFilter{TenantID: tn, After: -1})
	leaves, err := s.Leaves(ctx, string(tn), 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(leaves) != len(evs) || len(listed) != len(evs) {
		t.Fatalf("%d leaves and %d listed events, want %d", len(leaves), len(listed), len(evs))
	}
	ref := tlog.NewMemStorage()
	for i, leaf := range leaves {
		if !bytes.Equal(leaf, evs[i].Leaf) || !bytes.Equal(leaf, listed[i].Leaf) {
			t.Fatalf("leaf %d = %s, want the appended event's %s", i, leaf, evs[i].Leaf)
		}
		ref.Append(string(tn), listed[i].LeafBytes())
	}
	if _, err := tlog.Integrate(ctx, ref, string(tn), len(evs)); err != nil {
		t.Fatal(err)
	}
	head := integrateAll(t, s, string(tn))
	want, _ := tlog.RootAt(ctx, ref, string(tn), uint64(len(evs)))
	if head.Size != uint64(len(evs)) || !bytes.Equal(head.Root, want) {
		t.Fatalf("integrated head = %d %x, want %d %x", head.Size, head.Root, len(evs), want)
	}
	if sys := integrateAll(t, s, string(lockbox.SystemLog)); sys.Size != 1 {
		t.Fatalf("system log integrated to size %d, want 1", sys.Size)
	}
	// Events appended after integration are leaves, not yet in the tree.
	appendEvents(t, s, newEventAt(tn, lockbox.EventRequestExpired, at(40)))
	if leaves, err := s.Leaves(ctx, string(tn), uint64(len(evs)), uint64(len(evs))+5); err != nil || len(leaves) != 1 {
		t.Fatalf("Leaves beyond the tree = %d leaves, %v; want 1", len(leaves), err)
	}
	if h, err := s.TreeHead(ctx, string(tn)); err != nil || h.Size != uint64(len(evs)) {
		t.Fatalf("TreeHead after an append = %+v, %v; want size %d", h, err, len(evs))
	}
}

// testPendingLogs follows the logs waiting for the sequencer through
// appends, integration and a rolled-back append.
func testPendingLogs(t *testing.T, s LogStore) {
	ctx := t.Context()
	pending := func(what string, want ...lockbox.TenantID) {
		t.Helper()
		got, err := s.PendingLogs(ctx)
		if err != nil {
			t.Fatalf("%s: PendingLogs: %v", what, err)
		}
		wantLogs := []string{}
		for _, l := range want {
			wantLogs = append(wantLogs, string(l))
		}
		slices.Sort(wantLogs)
		if got == nil {
			got = []string{}
		}
		wantEqual(t, what+": pending logs", got, wantLogs)
	}
	pending("empty store")

	a, b := lockbox.TenantID(lockbox.NewID("ten")), lockbox.TenantID(lockbox.NewID("ten"))
	appendEvents(t, s, newEventAt(a, lockbox.EventUserCreated, at(1)), newEventAt(a, lockbox.EventUserUpdated, at(2)))
	appendEvents(t, s, newEventAt(b, lockbox.EventUserCreated, at(3)))
	appendEvents(t, s, newEventAt(lockbox.SystemLog, lockbox.EventOperatorUserChanged, at(4)))
	pending("after appends", a, b, lockbox.SystemLog)

	integrateAll(t, s, string(a))
	pending("after integrating one log", b, lockbox.SystemLog)

	// A partly integrated log is pending.
	appendEvents(t, s, newEventAt(b, lockbox.EventUserUpdated, at(5)), newEventAt(b, lockbox.EventUserUpdated, at(6)))
	if _, err := tlog.Integrate(ctx, s, string(b), 2); err != nil {
		t.Fatal(err)
	}
	pending("after integrating part of a log", b, lockbox.SystemLog)

	// A rolled-back append leaves nothing to integrate.
	err := writeErr(t, s, func(ctx context.Context, tx lockbox.Tx) error {
		if err := tx.AppendEvent(ctx, newEventAt(a, lockbox.EventUserDeleted, at(7))); err != nil {
			return err
		}
		return errors.New("roll back")
	})
	if err == nil {
		t.Fatal("the failing Update succeeded")
	}
	pending("after a rolled-back append", b, lockbox.SystemLog)

	appendEvents(t, s, newEventAt(a, lockbox.EventUserDeleted, at(8)))
	pending("after appending to an integrated log", a, b, lockbox.SystemLog)

	for _, l := range []lockbox.TenantID{a, b, lockbox.SystemLog} {
		integrateAll(t, s, string(l))
	}
	pending("after integrating every log")
}

// testStoreTreeExistingNodes checks that StoreTree accepts a node already
// stored with the same hash, and refuses, changing nothing, one stored with
// another hash: the tree would no longer match its leaves.
func testStoreTreeExistingNodes(t *testing.T, s LogStore) {
	ctx := t.Context()
	tn := lockbox.TenantID(lockbox.NewID("ten"))
	for i := range 3 {
		appendEvents(t, s, newEventAt(tn, lockbox.EventUserCreated, at(i)))
	}
	leaves, err := s.Leaves(ctx, string(tn), 0, 3)
	if err != nil || len(leaves) != 3 {
		t.Fatalf("Leaves = %d, %v", len(leaves), err)
	}
	h1, err := tlog.Integrate(ctx, s, string(tn), 1)
	if err != nil || h1.Size != 1 {
		t.Fatalf("Integrate = %+v, %v", h1, err)
	}
	l0, l1, l2 := tlog.LeafHash(leaves[0]), tlog.LeafHash(leaves[1]), tlog.LeafHash(leaves[2])
	ref := tlog.NewMemStorage()
	ref.Append(string(tn), leaves...)
	root2, root3 := rootOf(t, ref, string(tn), 2), rootOf(t, ref, string(tn), 3)

	// Node (0, 0) is stored already, with this hash.
	nodes := []tlog.Node{
		{ID: compact.NewNodeID(0, 0), Hash: l0},
		{ID: compact.NewNodeID(0, 1), Hash: l1},
		{ID: compact.NewNodeID(1, 0), Hash: root2},
	}
	if err := s.StoreTree(ctx, string(tn), h1, tlog.Head{Size: 2, Root: root2}, nodes); err != nil {
		t.Fatalf("StoreTree with a node already stored: %v", err)
	}
	// Now (0, 1) is stored with another hash.
	bad := []tlog.Node{
		{ID: compact.NewNodeID(0, 1), Hash: l2},
		{ID: compact.NewNodeID(0, 2), Hash: l2},
	}
	err = s.StoreTree(ctx, string(tn), tlog.Head{Size: 2, Root: root2}, tlog.Head{Size: 3, Root: root3}, bad)
	if err == nil || errors.Is(err, tlog.ErrHeadMoved) {
		t.Fatalf("StoreTree over a node stored with another hash: %v, want an error other than ErrHeadMoved", err)
	}
	if h, err := s.TreeHead(ctx, string(tn)); err != nil || h.Size != 2 || !bytes.Equal(h.Root, root2) {
		t.Fatalf("head after a refused StoreTree = %+v, %v; want size 2", h, err)
	}
	// The leaf hash stays the one recorded with the leaf.
	if got, err := s.Nodes(ctx, string(tn), []compact.NodeID{compact.NewNodeID(0, 1)}); err != nil || !bytes.Equal(got[0], l1) {
		t.Fatalf("leaf hash 1 after a refused StoreTree = %x, %v; want %x", got, err, l1)
	}
	if h := integrateAll(t, s, string(tn)); h.Size != 3 || !bytes.Equal(h.Root, root3) {
		t.Fatalf("head after integrating = %d %x, want 3 %x", h.Size, h.Root, root3)
	}
	// Arguments the tree cannot hold are refused before the database.
	for _, tc := range []struct {
		name     string
		from, to tlog.Head
		nodes    []tlog.Node
	}{
		{"shrinking", tlog.Head{Size: 3}, tlog.Head{Size: 2, Root: root2}, nil},
		{"short root", tlog.Head{Size: 3}, tlog.Head{Size: 4, Root: []byte{1}}, nil},
		{"short node hash", tlog.Head{Size: 3}, tlog.Head{Size: 4, Root: root3}, []tlog.Node{{ID: compact.NewNodeID(0, 3), Hash: []byte{1}}}},
	} {
		if err := s.StoreTree(ctx, string(tn), tc.from, tc.to, tc.nodes); err == nil || errors.Is(err, tlog.ErrHeadMoved) {
			t.Errorf("StoreTree %s: %v, want an error other than ErrHeadMoved", tc.name, err)
		}
	}
}

func rootOf(t *testing.T, st tlog.Storage, log string, size uint64) []byte {
	t.Helper()
	if _, err := tlog.Integrate(t.Context(), st, log, int(size)); err != nil {
		t.Fatal(err)
	}
	root, err := tlog.RootAt(t.Context(), st, log, size)
	if err != nil {
		t.Fatal(err)
	}
	return root
}
