package httpapi_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"

	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"golang.org/x/mod/sumdb/note"
	sumtlog "golang.org/x/mod/sumdb/tlog"

	"github.com/lockbox-dev/lockbox/tlog"
)

// TestLogEndpoints checks the transparency log through the API: the
// checkpoint is a signed note over the tenant's events, and its entries and
// proofs verify with two independent RFC 6962 implementations.
func TestLogEndpoints(t *testing.T) {
	e := newEnv(t)
	w := e.newWorld("Logged")
	for range 3 {
		r := e.approvedRequest(w, w.ticket.ID, "1h")
		e.must(200, "POST", reqPath(r.ID, "revoke"), w.approver.token, map[string]string{"reason": "done"}, nil)
	}
	if err := e.srv.IntegrateLogs(context.Background()); err != nil {
		t.Fatal(err)
	}
	tn := string(w.tenant.ID)

	var key tlog.KeyResponse
	e.must(200, "GET", "/v1/log/key", w.approver.token, nil, &key)
	verifier, err := note.NewVerifier(key.Key)
	if err != nil {
		t.Fatalf("the served key %q is not a note verifier key: %v", key.Key, err)
	}
	cpBytes := e.must(200, "GET", "/v1/tenants/"+tn+"/log/checkpoint", w.approver.token, nil, nil).Body
	n, err := note.Open(cpBytes, note.VerifierList(verifier))
	if err != nil {
		t.Fatalf("checkpoint does not verify: %v\n%s", err, cpBytes)
	}
	lines := strings.Split(n.Text, "\n")
	if len(lines) != 4 || lines[0] != verifier.Name()+"/tenants/"+tn || lines[3] != "" {
		t.Fatalf("checkpoint body %q", n.Text)
	}
	var size int64
	fmt.Sscan(lines[1], &size)
	root, _ := base64.StdEncoding.DecodeString(lines[2])
	events := e.events(w.tenant.ID)
	if size != int64(len(events)) || size < 10 {
		t.Fatalf("checkpoint size %d, the tenant has %d events", size, len(events))
	}

	var entries tlog.EntriesResponse
	e.must(200, "GET", fmt.Sprintf("/v1/tenants/%s/log/entries?start=0&end=%d", tn, size), w.approver.token, nil, &entries)
	if len(entries.Entries) != int(size) {
		t.Fatalf("%d entries, want %d", len(entries.Entries), size)
	}
	hashes := make([]sumtlog.Hash, size)
	for i, en := range entries.Entries {
		if en.Index != uint64(i) {
			t.Fatalf("entry %d has index %d", i, en.Index)
		}
		hashes[i] = sumtlog.RecordHash(en.Leaf)
	}
	// The independent implementation computes the same root from the leaves.
	got, err := sumtlog.TreeHash(size, hashReader(hashes))
	if err != nil || !bytesEqual(got[:], root) {
		t.Fatalf("sumdb/tlog root %x, checkpoint root %x (%v)", got, root, err)
	}
	for _, idx := range []int64{0, 1, size / 2, size - 1} {
		var p tlog.ProofResponse
		e.must(200, "GET", fmt.Sprintf("/v1/tenants/%s/log/proofs/inclusion?index=%d&size=%d", tn, idx, size), w.approver.token, nil, &p)
		var rp sumtlog.RecordProof
		for _, h := range p.Hashes {
			var hh sumtlog.Hash
			copy(hh[:], h)
			rp = append(rp, hh)
		}
		var th sumtlog.Hash
		copy(th[:], root)
		if err := sumtlog.CheckRecord(rp, size, th, idx, hashes[idx]); err != nil {
			t.Errorf("inclusion of %d: sumdb/tlog: %v", idx, err)
		}
		if err := proof.VerifyInclusion(rfc6962.DefaultHasher, uint64(idx), uint64(size), hashes[idx][:], p.Hashes, root); err != nil {
			t.Errorf("inclusion of %d: transparency-dev/merkle: %v", idx, err)
		}
	}
	for _, from := range []int64{1, 3, size / 2, size - 1} {
		var p tlog.ProofResponse
		e.must(200, "GET", fmt.Sprintf("/v1/tenants/%s/log/proofs/consistency?from=%d&to=%d", tn, from, size), w.approver.token, nil, &p)
		oldRoot, _ := sumtlog.TreeHash(from, hashReader(hashes))
		var tp sumtlog.TreeProof
		for _, h := range p.Hashes {
			var hh sumtlog.Hash
			copy(hh[:], h)
			tp = append(tp, hh)
		}
		var th sumtlog.Hash
		copy(th[:], root)
		if err := sumtlog.CheckTree(tp, size, th, from, oldRoot); err != nil {
			t.Errorf("consistency %d→%d: sumdb/tlog: %v", from, size, err)
		}
		if err := proof.VerifyConsistency(rfc6962.DefaultHasher, uint64(from), uint64(size), p.Hashes, oldRoot[:], root); err != nil {
			t.Errorf("consistency %d→%d: transparency-dev/merkle: %v", from, size, err)
		}
	}

	// Who may read: the tenant's approvers and admins and operators; a
	// member is refused, another tenant learns nothing, strangers 401.
	other := e.newWorld("Other")
	for _, path := range []string{"/checkpoint", "/entries", "/proofs/inclusion?index=0&size=1", "/proofs/consistency?from=1&to=2"} {
		p := "/v1/tenants/" + tn + "/log" + path
		if r := e.call("GET", p, w.member.token, nil); r.Status != 403 {
			t.Errorf("member: GET %s: %d", p, r.Status)
		}
		if r := e.call("GET", p, other.approver.token, nil); r.Status != 404 {
			t.Errorf("another tenant's approver: GET %s: %d", p, r.Status)
		}
		if r := e.call("GET", p, "", nil); r.Status != 401 {
			t.Errorf("no token: GET %s: %d", p, r.Status)
		}
		if r := e.call("GET", p, w.engineer.token, nil); r.Status != 200 {
			t.Errorf("operator: GET %s: %d %s", p, r.Status, r.Body)
		}
	}
	if r := e.call("GET", "/v1/tenants/"+tn+"/log/proofs/inclusion?index=5&size=2", w.approver.token, nil); r.Status != 422 {
		t.Errorf("index beyond size: %d", r.Status)
	}
	if r := e.call("GET", "/v1/tenants/"+tn+"/log/entries?bogus=1", w.approver.token, nil); r.Status != 400 {
		t.Errorf("unknown query parameter: %d", r.Status)
	}
}

type hashReader []sumtlog.Hash

func (h hashReader) ReadHashes(indexes []int64) ([]sumtlog.Hash, error) {
	// Stored hashes of the sumdb layout, computed from the leaf hashes.
	out := make([]sumtlog.Hash, len(indexes))
	for i, idx := range indexes {
		level, n := sumtlog.SplitStoredHashIndex(idx)
		out[i] = subtree(h, level, n)
	}
	return out, nil
}

// subtree hashes the complete subtree of 2^level leaves starting at n<<level.
func subtree(leaves []sumtlog.Hash, level int, n int64) sumtlog.Hash {
	if level == 0 {
		return leaves[n]
	}
	return sumtlog.NodeHash(subtree(leaves, level-1, 2*n), subtree(leaves, level-1, 2*n+1))
}

func bytesEqual(a, b []byte) bool { return string(a) == string(b) }
