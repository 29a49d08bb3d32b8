package tlog

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/proof"
	"golang.org/x/mod/sumdb/note"
)

// Errors of verification. Each comes as a typed error carrying the details
// (RollbackError, ForkError, BadLeafError); errors.Is matches the class.
var (
	// ErrRollback: the log is smaller than a checkpoint trusted before.
	ErrRollback = errors.New("the log shrank")
	// ErrFork: the log is not an extension of a checkpoint trusted before.
	ErrFork = errors.New("the log forked")
	// ErrBadLeaf: an entry is not what the signed tree holds, or is not a
	// valid event of this log at its place.
	ErrBadLeaf = errors.New("bad log entry")
	// ErrBadState: the state given to Verify is corrupt or belongs to
	// another log or key.
	ErrBadState = errors.New("bad verification state")
)

// State is what a verifier remembers between runs, kept in a file as JSON:
// the last checkpoint it trusted and the right edge of the tree at that
// size, so a later run fetches and hashes only the entries added since.
// Byte slices are standard base64 in JSON.
type State struct {
	// Origin is the checkpoint origin of the log.
	Origin string `json:"origin"`
	// Key is the id ("<name>+<hash>") of the key that signed Checkpoint;
	// a later checkpoint must be signed by the same key.
	Key string `json:"key"`
	// Size and Root are those of the trusted checkpoint.
	Size uint64 `json:"size"`
	Root []byte `json:"root"`
	// Checkpoint is the trusted signed note, as evidence should the log
	// later contradict it.
	Checkpoint string `json:"checkpoint"`
	// Frontier holds the hashes of the compact range [0, Size): the perfect
	// subtrees along the tree's right edge, largest first.
	Frontier [][]byte `json:"frontier"`
}

// Report tells what a successful Verify checked.
type Report struct {
	Origin string
	// OldSize is the size trusted before (0 on a first run); NewSize the
	// size of the checkpoint now verified.
	OldSize, NewSize uint64
	// EntriesChecked counts the entries fetched and checked in this run.
	EntriesChecked uint64
	// Root is the verified root of the tree of NewSize entries.
	Root []byte
	// Checkpoint is the verified signed checkpoint.
	Checkpoint []byte
	// State is the state to keep for the next run.
	State State
}

// RollbackError reports a checkpoint smaller than one trusted before. Both
// signed checkpoints are evidence of the server's misbehaviour.
type RollbackError struct {
	Origin             string
	TrustedSize, Size  uint64
	Trusted, Presented []byte
}

func (e *RollbackError) Error() string {
	return fmt.Sprintf("the log shrank from %d to %d entries: the server now signs a checkpoint of %s older than the one trusted before, so entries were removed or the log was rolled back (keep both signed checkpoints as evidence)", e.TrustedSize, e.Size, e.Origin)
}

// Is makes errors.Is(err, ErrRollback) true.
func (e *RollbackError) Is(target error) bool { return target == ErrRollback }

// ForkError reports a checkpoint that is not an extension of the one
// trusted before: the server showed two different histories, and the two
// signed checkpoints prove it.
type ForkError struct {
	Origin             string
	TrustedSize, Size  uint64
	TrustedRoot, Root  []byte
	Trusted, Presented []byte
	Reason             string
}

func (e *ForkError) Error() string {
	return fmt.Sprintf("the log forked: the checkpoint of %s now served (%d entries, root %s) is not an extension of the one trusted before (%d entries, root %s): %s; entries were rewritten, or the server shows different logs to different readers (keep both signed checkpoints as evidence)",
		e.Origin, e.Size, b64(e.Root), e.TrustedSize, b64(e.TrustedRoot), e.Reason)
}

// Is makes errors.Is(err, ErrFork) true.
func (e *ForkError) Is(target error) bool { return target == ErrFork }

// BadLeafError reports the first entry of the log that fails verification.
type BadLeafError struct {
	Origin string
	Index  uint64
	Reason string
}

func (e *BadLeafError) Error() string {
	return fmt.Sprintf("entry %d of the log %s is bad: %s", e.Index, e.Origin, e.Reason)
}

// Is makes errors.Is(err, ErrBadLeaf) true.
func (e *BadLeafError) Is(target error) bool { return target == ErrBadLeaf }

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

// prefixCheckInterval is how many entries Verify hashes between checks of
// its prefix against the checkpoint (one consistency proof each). A failed
// check pins the first bad entry among the last interval, whose leaf hashes
// it keeps: memory stays bounded however long the log, and a million
// entries cost only about sixteen extra requests.
var prefixCheckInterval uint64 = 1 << 16

// Verify checks a tenant's log end to end against its latest checkpoint,
// starting from what state trusted before (nil or the zero State on a first
// run), and returns what it checked with the state to keep. origin is the
// checkpoint origin, CheckpointOrigin(log origin, tenant id); verifier is
// the log's key, which the caller pins.
//
// It checks that the checkpoint is signed by verifier for origin; that it is
// no smaller than the trusted one (else a *RollbackError) and extends it (a
// consistency proof; else a *ForkError); that every entry from the trusted
// size on sits at its index, is a JSON object whose "index" and "tenant_id"
// are its position and the tenant, and comes with an event meaning the same
// JSON; and that the leaves hash to the checkpoint's root. When they do not,
// it finds the first bad entry with consistency proofs of prefixes and
// returns a *BadLeafError naming it. state is never modified.
func Verify(ctx context.Context, f Fetcher, verifier note.Verifier, origin string, state *State) (Report, error) {
	_, tenant, ok := SplitCheckpointOrigin(origin)
	if !ok {
		return Report{}, fmt.Errorf("tlog: %q does not name a tenant log: want <log origin>/tenants/<tenant id>", origin)
	}
	var prev State
	if state != nil {
		prev = *state
	}
	rng, err := prev.open(origin, verifier)
	if err != nil {
		return Report{}, err
	}

	msg, err := f.Checkpoint(ctx)
	if err != nil {
		return Report{}, fmt.Errorf("fetching the checkpoint of %s: %w", origin, err)
	}
	cp, err := OpenCheckpoint(msg, verifier, origin)
	if err != nil {
		return Report{}, err
	}
	if cp.Size == 0 && !bytes.Equal(cp.Root, EmptyRoot()) {
		return Report{}, fmt.Errorf("%w: it counts no entries but its root %s is not the root of the empty tree", ErrBadCheckpoint, b64(cp.Root))
	}
	fork := func(reason string) error {
		return &ForkError{Origin: origin, TrustedSize: prev.Size, Size: cp.Size, TrustedRoot: prev.Root, Root: cp.Root,
			Trusted: []byte(prev.Checkpoint), Presented: cp.Note, Reason: reason}
	}
	switch {
	case cp.Size < prev.Size:
		return Report{}, &RollbackError{Origin: origin, TrustedSize: prev.Size, Size: cp.Size, Trusted: []byte(prev.Checkpoint), Presented: cp.Note}
	case cp.Size == prev.Size && !bytes.Equal(cp.Root, prev.Root):
		return Report{}, fork("both count the same entries but their roots differ")
	case cp.Size > prev.Size && prev.Size > 0:
		p, err := f.ConsistencyProof(ctx, prev.Size, cp.Size)
		if err != nil {
			return Report{}, fmt.Errorf("fetching the proof that %s extends its trusted checkpoint: %w", origin, err)
		}
		if err := verifyConsistency(prev.Size, cp.Size, p, prev.Root, cp.Root); err != nil {
			return Report{}, fork("the server's consistency proof does not verify: " + err.Error())
		}
	}

	r := &run{f: f, cp: cp, origin: origin, tenant: tenant, rng: rng, pos: prev.Size, base: prev.Size, baseRng: cloneRange(rng)}
	if err := r.entries(ctx); err != nil {
		return Report{}, err
	}
	frontier := make([][]byte, len(r.rng.Hashes()))
	copy(frontier, r.rng.Hashes())
	return Report{
		Origin:         origin,
		OldSize:        prev.Size,
		NewSize:        cp.Size,
		EntriesChecked: cp.Size - prev.Size,
		Root:           cp.Root,
		Checkpoint:     cp.Note,
		State: State{
			Origin:     origin,
			Key:        KeyID(verifier),
			Size:       cp.Size,
			Root:       cp.Root,
			Checkpoint: string(cp.Note),
			Frontier:   frontier,
		},
	}, nil
}

// open checks the state belongs to this log and key and is intact, and
// returns its compact range.
func (s *State) open(origin string, v note.Verifier) (*compact.Range, error) {
	if s.Size == 0 && s.Root == nil && len(s.Frontier) == 0 && s.Origin == "" {
		s.Root = EmptyRoot()
		return rangeFactory.NewEmptyRange(0), nil
	}
	if s.Origin != origin {
		return nil, fmt.Errorf("%w: it is the state of the log %q, not %q", ErrBadState, s.Origin, origin)
	}
	if id := KeyID(v); s.Key != id {
		return nil, fmt.Errorf("%w: it trusts the log key %s, not %s: if the operator rotated its key, check the new one out of band and start from an empty state", ErrBadState, s.Key, id)
	}
	if s.Size == 0 && s.Root == nil {
		s.Root = EmptyRoot()
	}
	for _, h := range s.Frontier {
		if len(h) != HashSize {
			return nil, fmt.Errorf("%w: a frontier hash has %d bytes, want %d", ErrBadState, len(h), HashSize)
		}
	}
	rng, err := rangeFactory.NewRange(0, s.Size, append([][]byte(nil), s.Frontier...))
	if err != nil {
		return nil, fmt.Errorf("%w: %d frontier hashes for size %d: %v", ErrBadState, len(s.Frontier), s.Size, err)
	}
	if root := rangeRoot(rng); !bytes.Equal(root, s.Root) {
		return nil, fmt.Errorf("%w: its frontier gives the root %s, but it records %s", ErrBadState, b64(root), b64(s.Root))
	}
	return rng, nil
}

// run is one verification of entries [pos, cp.Size) on top of a trusted
// prefix.
type run struct {
	f      Fetcher
	cp     Checkpoint
	origin string
	tenant string

	rng *compact.Range // the tree of the entries [0, pos) as fetched
	pos uint64

	// Entries [0, base) are proven to be the checkpoint's; baseRng is the
	// compact range of that prefix and pending the leaf hashes of
	// [base, pos).
	base    uint64
	baseRng *compact.Range
	pending [][]byte

	stopFetch context.CancelFunc
}

type page struct {
	entries []Entry
	err     error
}

// fetchPages fetches entries [start, end) page after page, one page ahead
// of the checks, and stops after an error or an empty page.
func fetchPages(ctx context.Context, f Fetcher, start, end uint64, pages chan<- page) {
	defer close(pages)
	for start < end {
		entries, err := f.Entries(ctx, start, end)
		select {
		case pages <- page{entries, err}:
		case <-ctx.Done():
			return
		}
		if err != nil || len(entries) == 0 {
			return
		}
		start += uint64(len(entries))
	}
}

func (r *run) entries(ctx context.Context) error {
	if r.pos < r.cp.Size {
		fctx, cancel := context.WithCancel(ctx)
		pages := make(chan page, 1)
		go fetchPages(fctx, r.f, r.pos, r.cp.Size, pages)
		r.stopFetch = cancel
		defer func() {
			cancel()
			for range pages {
			}
		}()
		for r.pos < r.cp.Size {
			p, ok := <-pages
			if !ok {
				if err := ctx.Err(); err != nil {
					return err
				}
				return errors.New("tlog: fetching entries stopped")
			}
			if p.err != nil {
				return fmt.Errorf("fetching entries of %s from %d: %w", r.origin, r.pos, p.err)
			}
			if len(p.entries) == 0 {
				return r.fault(ctx, nil, problemf(badPosition, "the server has no entry %d, but its checkpoint counts %d entries: entries were removed", r.pos, r.cp.Size))
			}
			if uint64(len(p.entries)) > r.cp.Size-r.pos {
				return fmt.Errorf("fetching entries of %s from %d: asked for at most %d, the server sent %d", r.origin, r.pos, r.cp.Size-r.pos, len(p.entries))
			}
			for i := range p.entries {
				e := &p.entries[i]
				if problem := checkEntry(e, r.pos, r.tenant); problem != nil {
					return r.fault(ctx, e, problem)
				}
				h := LeafHash(e.Leaf)
				if err := r.rng.Append(h, nil); err != nil {
					return fmt.Errorf("tlog: %w", err)
				}
				r.pending = append(r.pending, h)
				r.pos++
			}
			if r.pos-r.base >= prefixCheckInterval && r.pos < r.cp.Size {
				if err := r.checkPrefix(ctx); err != nil {
					return err
				}
			}
		}
	}
	if root := rangeRoot(r.rng); !bytes.Equal(root, r.cp.Root) {
		return r.mismatch(ctx, r.cp.Size)
	}
	return nil
}

// checkPrefix proves the entries fetched so far are the checkpoint's, and
// moves base up to them.
func (r *run) checkPrefix(ctx context.Context) error {
	good, err := r.prefixGood(ctx, r.pos, rangeRoot(r.rng))
	if err != nil {
		return err
	}
	if !good {
		return r.mismatch(ctx, r.pos)
	}
	r.base, r.baseRng, r.pending = r.pos, cloneRange(r.rng), r.pending[:0]
	return nil
}

// prefixGood tells whether the first size entries as fetched, of the given
// root, are a prefix of the checkpoint's tree.
func (r *run) prefixGood(ctx context.Context, size uint64, root []byte) (bool, error) {
	if size == r.cp.Size {
		return bytes.Equal(root, r.cp.Root), nil
	}
	p, err := r.f.ConsistencyProof(ctx, size, r.cp.Size)
	if err != nil {
		return false, fmt.Errorf("fetching the consistency proof from %d to %d entries of %s: %w", size, r.cp.Size, r.origin, err)
	}
	return verifyConsistency(size, r.cp.Size, p, root, r.cp.Root) == nil, nil
}

// mismatch handles entries [base, bad) as fetched that are not a prefix of
// the checkpoint's tree: it binary-searches the first entry whose prefix
// fails, keeping the invariant that the prefix lo is good and hi is bad.
func (r *run) mismatch(ctx context.Context, bad uint64) error {
	if r.stopFetch != nil {
		r.stopFetch()
	}
	lo, hi := r.base, bad
	loRng := cloneRange(r.baseRng)
	for hi-lo > 1 {
		mid := lo + (hi-lo)/2
		rng := cloneRange(loRng)
		for _, h := range r.pending[lo-r.base : mid-r.base] {
			rng.Append(h, nil)
		}
		good, err := r.prefixGood(ctx, mid, rangeRoot(rng))
		if err != nil {
			return fmt.Errorf("finding the first bad entry of %s: %w", r.origin, err)
		}
		if good {
			lo, loRng = mid, rng
		} else {
			hi = mid
		}
	}
	return &BadLeafError{Origin: r.origin, Index: lo, Reason: "its leaf is not the one the signed checkpoint holds at this index: the entry was changed after it was logged, or entries were removed, inserted or reordered here"}
}

// fault handles entry pos failing its own checks (e is nil when the server
// has no such entry): if an earlier entry already differs from the signed
// tree, that one is the first bad entry; otherwise this one is, and an
// inclusion proof tells whether the signed tree holds its leaf as served,
// that is whether the server changed the entry after logging it or logged
// a bad one.
func (r *run) fault(ctx context.Context, e *Entry, problem *entryProblem) error {
	if r.stopFetch != nil {
		r.stopFetch()
	}
	if r.pos > r.base {
		good, err := r.prefixGood(ctx, r.pos, rangeRoot(r.rng))
		if err != nil {
			return fmt.Errorf("checking the entries before entry %d of %s: %w", r.pos, r.origin, err)
		}
		if !good {
			return r.mismatch(ctx, r.pos)
		}
	}
	reason := problem.msg
	if e != nil && problem.kind != badPosition {
		if p, err := r.f.InclusionProof(ctx, r.pos, r.cp.Size); err == nil {
			switch {
			case verifyInclusion(r.pos, r.cp.Size, LeafHash(e.Leaf), p, r.cp.Root) != nil:
				reason += "; nor is its leaf the one the signed checkpoint holds at this index, so the entry was changed after it was logged, or entries were removed, inserted or reordered here"
			case problem.kind == badEvent:
				reason += "; the leaf is the one the signed checkpoint holds, so the server shows an event other than the one it logged"
			default:
				reason += "; the signed checkpoint does hold this leaf, so the log itself recorded a bad entry"
			}
		}
	}
	return &BadLeafError{Origin: r.origin, Index: r.pos, Reason: reason}
}

func cloneRange(rng *compact.Range) *compact.Range {
	c, err := rangeFactory.NewRange(rng.Begin(), rng.End(), append([][]byte(nil), rng.Hashes()...))
	if err != nil {
		panic(err) // a copy of a valid range is valid
	}
	return c
}

func checkHashes(p [][]byte) error {
	for i, h := range p {
		if len(h) != HashSize {
			return fmt.Errorf("proof hash %d has %d bytes, want %d", i, len(h), HashSize)
		}
	}
	return nil
}

// verifyConsistency checks a consistency proof, hash sizes included (the
// merkle package leaves those to the caller).
func verifyConsistency(size1, size2 uint64, p [][]byte, root1, root2 []byte) error {
	if err := checkHashes(p); err != nil {
		return err
	}
	return cleanProofError(proof.VerifyConsistency(hasher, size1, size2, p, root1, root2))
}

func verifyInclusion(index, size uint64, leafHash []byte, p [][]byte, root []byte) error {
	if err := checkHashes(p); err != nil {
		return err
	}
	return cleanProofError(proof.VerifyInclusion(hasher, index, size, leafHash, p, root))
}

// cleanProofError rewrites merkle/proof's root mismatch, which prints
// hashes as lists of decimal bytes over several lines, for a person.
func cleanProofError(err error) error {
	var mismatch proof.RootMismatchError
	if errors.As(err, &mismatch) {
		return fmt.Errorf("it leads to the root %s, not %s", b64(mismatch.CalculatedRoot), b64(mismatch.ExpectedRoot))
	}
	return err
}

// VerifyInclusion checks that leaf is entry index of the tree cp signs,
// given its inclusion proof: what a verifier needs to check one event
// without fetching the log.
func VerifyInclusion(cp Checkpoint, index uint64, leaf []byte, p [][]byte) error {
	if err := verifyInclusion(index, cp.Size, LeafHash(leaf), p, cp.Root); err != nil {
		return fmt.Errorf("%w: entry %d is not in the checkpoint of %s at %d entries: %v", ErrBadLeaf, index, cp.Origin, cp.Size, err)
	}
	return nil
}

// entryProblem says what is wrong with an entry on its own.
type entryProblem struct {
	kind problemKind
	msg  string
}

type problemKind int

const (
	badPosition problemKind = iota // the entry is not at its place in the answer
	badLeaf                        // the leaf is not a valid event of this log at this index
	badEvent                       // the event shown is not the leaf
)

func problemf(kind problemKind, format string, args ...any) *entryProblem {
	return &entryProblem{kind: kind, msg: fmt.Sprintf(format, args...)}
}

// checkEntry checks entry e served at position index of tenant's log on its
// own; the caller checks it against the tree.
func checkEntry(e *Entry, index uint64, tenant string) *entryProblem {
	if e.Index != index {
		return problemf(badPosition, "the server sent entry %d in its place: entries are missing, duplicated or out of order", e.Index)
	}
	if p := checkLeaf(e.Leaf, index, tenant); p != nil {
		return p
	}
	if !bytes.Equal(e.Event, e.Leaf) && !sameJSON(e.Event, e.Leaf) {
		return problemf(badEvent, "the event the server shows is not its leaf: %s", jsonDiff(e.Event, e.Leaf))
	}
	return nil
}

// checkLeaf checks that leaf is an event of log at index: a JSON object
// whose "index" is index and "tenant_id" is log. Integrate checks it before
// it hashes a leaf into the tree, Verify after.
func checkLeaf(leaf []byte, index uint64, log string) *entryProblem {
	// One pass over the leaf: valid JSON, an object, and its two fields. A
	// key repeated counts by its last value, as encoding/json decodes it.
	var rawIndex, rawTenant []byte
	if !objectMembers(leaf, func(key, value []byte) {
		switch {
		case keyIs(key, "index"):
			rawIndex = value
		case keyIs(key, "tenant_id"):
			rawTenant = value
		}
	}) {
		return problemf(badLeaf, "its leaf is not a JSON object (%q)", abbreviate(leaf))
	}
	// encoding/json decodes into a uint64 exactly the decimal integers
	// ParseUint accepts.
	leafIndex, err := strconv.ParseUint(string(rawIndex), 10, 64)
	if err != nil {
		return problemf(badLeaf, `its leaf has no valid "index" field (%q)`, abbreviate(leaf))
	}
	if leafIndex != index {
		return problemf(badLeaf, "its leaf says it is entry %d: entries are missing, duplicated or out of order", leafIndex)
	}
	leafTenant, ok := jsonString(rawTenant)
	if !ok {
		return problemf(badLeaf, `its leaf has no valid "tenant_id" field (%q)`, abbreviate(leaf))
	}
	if leafTenant != log {
		return problemf(badLeaf, "its leaf is an event of tenant %q, not of %q", leafTenant, log)
	}
	return nil
}

// jsonDiff says how an event shown differs from the leaf, in terms a
// person can check: which fields differ.
func jsonDiff(event, leaf []byte) string {
	if len(event) == 0 || string(event) == "null" {
		return "the server sent no event"
	}
	ev, ok1 := decodeJSON(event)
	lv, ok2 := decodeJSON(leaf)
	if !ok1 {
		return fmt.Sprintf("the event is not valid JSON (%q)", abbreviate(event))
	}
	if !ok2 {
		return fmt.Sprintf("the leaf is not valid JSON (%q)", abbreviate(leaf))
	}
	em, ok1 := ev.(map[string]any)
	lm, ok2 := lv.(map[string]any)
	if !ok1 || !ok2 {
		return fmt.Sprintf("%q is not %q", abbreviate(event), abbreviate(leaf))
	}
	var diffs []string
	for k, l := range lm {
		if ev, ok := em[k]; !ok {
			diffs = append(diffs, fmt.Sprintf("%q is missing", k))
		} else if !reflect.DeepEqual(ev, l) {
			diffs = append(diffs, fmt.Sprintf("%q is %s, the leaf says %s", k, abbreviate(mustJSON(ev)), abbreviate(mustJSON(l))))
		}
	}
	for k := range em {
		if _, ok := lm[k]; !ok {
			diffs = append(diffs, fmt.Sprintf("%q is not in the leaf", k))
		}
	}
	slices.Sort(diffs)
	return strings.Join(diffs, "; ")
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		return []byte(fmt.Sprint(v))
	}
	return b
}

// sameJSON tells whether a and b are the same JSON value: objects compare
// by keys and values whatever their order and spacing; numbers compare by
// their text, so 1 and 1.0 differ.
func sameJSON(a, b []byte) bool {
	va, ok1 := decodeJSON(a)
	vb, ok2 := decodeJSON(b)
	return ok1 && ok2 && reflect.DeepEqual(va, vb)
}

func decodeJSON(b []byte) (any, bool) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	if d.Decode(&v) != nil {
		return nil, false
	}
	if _, err := d.Token(); err != io.EOF {
		return nil, false // trailing data
	}
	return v, true
}

func abbreviate(b []byte) string {
	const max = 120
	if len(b) > max {
		return string(b[:max]) + "…"
	}
	return string(b)
}
