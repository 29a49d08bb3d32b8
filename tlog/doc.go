// Package tlog keeps the tenant logs of lockbox as RFC 6962 Merkle trees,
// proves their contents, signs their checkpoints and verifies them from the
// client side (docs/design.md §6), so a tenant's security people can check with
// standard tools that the operator neither rewrote nor hid anything.
//
// # The tree
//
// Each tenant has one log, named by its tenant id ("system" for the log of
// operator changes). Its leaves are the events' canonical JSON, byte for
// byte (lockbox.Event.LeafBytes), at indexes 0, 1, 2… fixed when the event
// commits. Leaf hash = SHA-256(0x00 || leaf), node hash =
// SHA-256(0x01 || left || right), the root of the empty tree is SHA-256 of
// nothing.
//
// The tree is built after commit by a sequencer, Integrate, which stores the
// hash of every complete subtree as a compact-range node (level, index) and
// moves the tree head (size, root) by compare-and-set, so any number of
// replicas may run it. Storage is the small interface the SQL stores
// implement; MemStorage is an implementation in memory. Proofs and roots
// for any size up to the integrated one come from stored nodes only:
// InclusionProof, ConsistencyProof, RootAt.
//
// # Checkpoints
//
// A checkpoint is a C2SP tlog-checkpoint: a signed note
// (golang.org/x/mod/sumdb/note, Ed25519) whose text is exactly
//
//	<log origin>/tenants/<tenant id>
//	<tree size, decimal>
//	<root hash, standard padded base64>
//
// followed by a blank line and one signature line per key:
//
//	lockbox.example.com/tenants/ten_123
//	1
//	JRDZPhcd4ZR5xPgH6MitMjP6KT7PpDor20K9A7OQ5zE=
//
//	— lockbox.example.com 7VckWgnVYvKSgmzWwQp76lhf2K9rvxdrzQktdz8RVMgapvfAxsTHWPNRRseCl5DmwojK2QirRVxZzVj+qO3EcQf9SgI=
//
// The log origin is a schema-less URL (LogOrigin derives it from the public
// URL), and it is also the name of the signing key, so the verifier key
// reads "lockbox.example.com+<8 hex digits>+<base64 key>".
//
// # HTTP API
//
// The server answers, for each tenant log (the authorization of docs/design.md §4
// applies; Handler serves all five from a Storage):
//
// GET /v1/log/key → 200, application/json:
//
//	{"key": "lockbox.example.com+1a2b3c4d+AcP7…="}
//
// the note verifier key of the log signing key, "<name>+<hash>+<key>",
// which `lockbox log verify` pins.
//
// GET /v1/tenants/{id}/log/checkpoint → 200, text/plain; charset=utf-8: the
// signed checkpoint above for the integrated head, byte for byte.
//
// GET /v1/tenants/{id}/log/entries?start=S&end=E → 200, application/json:
//
//	{"entries": [
//	  {"index": 0, "leaf": "eyJ0ZW5hbnRfaWQiOi…", "event": {"tenant_id": "ten_123", "index": 0, …}},
//	  …
//	]}
//
// the entries of index S (default 0) up to E (exclusive; default S plus the
// page size), oldest first, without gaps. The server may answer fewer than
// asked, at most its page size (DefaultMaxEntries, 10000) and none past
// the last committed entry (possibly beyond the latest checkpoint); a
// client pages on from the index after the last it got, and an empty list
// means there is nothing from S on. "index" is a JSON number; "leaf" the
// leaf bytes in standard padded base64; "event" the event as a JSON object,
// which is the leaf itself (AppendEntriesJSON writes this exact body), or
// null for a stored leaf that is not valid JSON. E < S is 400. Keys are
// matched exactly and other keys are ignored; a verifier accepts an
// "event" spelled differently from the leaf (key order, spacing, escapes)
// as long as it is the same JSON.
//
// GET /v1/tenants/{id}/log/proofs/inclusion?index=I&size=N and
// GET /v1/tenants/{id}/log/proofs/consistency?from=M&to=N → 200,
// application/json:
//
//	{"hashes": ["base64…", "base64…"]}
//
// the RFC 6962 audit path of entry I in the tree of size N, or the RFC 6962
// consistency proof from size M to size N (empty for M = 0 or M = N), each
// hash 32 bytes in standard padded base64, in RFC 6962 order. Every
// parameter is required; N may be any size up to the integrated one. I ≥ N,
// M > N or N beyond the integrated size is 422 {"error": {"code":
// "invalid", …}}; a parameter that is not a non-negative integer is 400
// {"error": {"code": "bad_request", …}}.
//
// # Verification
//
// Verify, the heart of `lockbox log verify`, reads a log through a Fetcher
// (HTTPFetcher for the API above) and checks the checkpoint's signature and
// origin, that it extends the checkpoint trusted before (a State the
// command keeps in a file), every new entry on its own, and that the
// entries hash to the signed root; on failure it names the first bad entry.
// The errors say what the operator did: ErrRollback, ErrFork, ErrBadLeaf,
// ErrBadCheckpoint; the first two carry both signed checkpoints as evidence.
//
// The state file is State as JSON, hashes in standard padded base64:
//
//	{
//	  "origin": "lockbox.example.com/tenants/ten_123",
//	  "key": "lockbox.example.com+ed57245a",
//	  "size": 1010,
//	  "root": "<base64 root>",
//	  "checkpoint": "<the signed checkpoint note, verbatim>",
//	  "frontier": ["<base64 hash>", …]
//	}
//
// where frontier holds the roots of the perfect subtrees along the right
// edge of the tree of size entries, largest first (one per bit set in size).
package tlog
