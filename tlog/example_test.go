package tlog_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"

	"github.com/lockbox-dev/lockbox/tlog"
)

// A server signs the checkpoint of a tenant's integrated tree.
func ExampleSignCheckpoint() {
	ctx := context.Background()
	st := tlog.NewMemStorage()
	st.Append("ten_123", []byte(`{"tenant_id":"ten_123","index":0,"id":"evt_1","type":"tenant.created","time":"2025-01-02T03:04:05Z"}`))
	head, err := tlog.Integrate(ctx, st, "ten_123", 1000)
	if err != nil {
		panic(err)
	}
	signer, err := tlog.NewSigner(testSKey) // the log origin is the key's name
	if err != nil {
		panic(err)
	}
	msg, err := tlog.SignCheckpoint(signer, tlog.CheckpointOrigin(signer.Name(), "ten_123"), head)
	if err != nil {
		panic(err)
	}
	fmt.Print(string(msg))
	// Output:
	// lockbox.example.com/tenants/ten_123
	// 1
	// JRDZPhcd4ZR5xPgH6MitMjP6KT7PpDor20K9A7OQ5zE=
	//
	// — lockbox.example.com 7VckWgnVYvKSgmzWwQp76lhf2K9rvxdrzQktdz8RVMgapvfAxsTHWPNRRseCl5DmwojK2QirRVxZzVj+qO3EcQf9SgI=
}

// `lockbox log verify` in a nutshell: verify a tenant's log against its
// pinned key, keep the state, and later check only what was appended.
func ExampleVerify() {
	ctx := context.Background()
	// The server side: a log of 1000 events, served over the HTTP API.
	st := tlog.NewMemStorage()
	for i := range 1000 {
		st.Append("ten_1", fmt.Appendf(nil, `{"tenant_id":"ten_1","index":%d,"type":"ticket.commented"}`, i))
	}
	tlog.Integrate(ctx, st, "ten_1", 10000)
	signer, _ := tlog.NewSigner(testSKey)
	vkey, _ := tlog.VerifierKey(testSKey)
	srv := httptest.NewServer(&tlog.Handler{Storage: st, Signer: signer, VerifierKey: vkey})
	defer srv.Close()

	// The verifier: the key is pinned (obtained out of band, or from
	// GET /v1/log/key on first use), the origin follows from it.
	verifier, err := tlog.NewVerifier(vkey)
	if err != nil {
		panic(err)
	}
	origin := tlog.CheckpointOrigin(verifier.Name(), "ten_1")
	f := tlog.NewHTTPFetcher(srv.URL, "api-token", "ten_1")

	rep, err := tlog.Verify(ctx, f, verifier, origin, nil)
	if err != nil {
		panic(err) // ErrRollback, ErrFork, ErrBadLeaf, ErrBadCheckpoint...
	}
	fmt.Printf("verified %d entries, %d → %d\n", rep.EntriesChecked, rep.OldSize, rep.NewSize)
	saved, _ := json.Marshal(rep.State) // kept in a file between runs

	// Later: 10 more events; only those are fetched.
	for i := 1000; i < 1010; i++ {
		st.Append("ten_1", fmt.Appendf(nil, `{"tenant_id":"ten_1","index":%d,"type":"ticket.commented"}`, i))
	}
	tlog.Integrate(ctx, st, "ten_1", 10000)
	var state tlog.State
	json.Unmarshal(saved, &state)
	rep, err = tlog.Verify(ctx, f, verifier, origin, &state)
	if err != nil {
		panic(err)
	}
	fmt.Printf("verified %d entries, %d → %d\n", rep.EntriesChecked, rep.OldSize, rep.NewSize)
	// Output:
	// verified 1000 entries, 0 → 1000
	// verified 10 entries, 1000 → 1010
}
