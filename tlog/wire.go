package tlog

import (
	"encoding/base64"
	"encoding/json"
	"strconv"
)

// Entry is one entry of a tenant log as GET /v1/tenants/{id}/log/entries
// serves it (see the package documentation for the exact JSON).
type Entry struct {
	// Index is the entry's position in the log, from 0.
	Index uint64 `json:"index"`
	// Leaf is the leaf exactly as hashed into the tree: the event's
	// canonical JSON. It travels as standard padded base64.
	Leaf []byte `json:"leaf"`
	// Event is the event as JSON, for people and tools to read. A verifier
	// checks that it means what Leaf says.
	Event json.RawMessage `json:"event"`
}

// EntriesResponse is the body of GET /v1/tenants/{id}/log/entries.
type EntriesResponse struct {
	Entries []Entry `json:"entries"`
}

// ProofResponse is the body of both proof endpoints: hashes in RFC 6962
// order, each standard padded base64 of 32 bytes.
type ProofResponse struct {
	Hashes [][]byte `json:"hashes"`
}

// KeyResponse is the body of GET /v1/log/key.
type KeyResponse struct {
	// Key is the note verifier key "<name>+<hash>+<base64 key>"; its name is
	// the log origin.
	Key string `json:"key"`
}

// AppendEntriesJSON appends the EntriesResponse of leaves, the first of
// index start, to dst: {"entries":[{"index":n,"leaf":"…","event":…},…]}.
// It writes the JSON by hand because a page holds thousands of entries: the
// leaf goes out as its base64 and, when it is valid JSON, byte for byte as
// the event; a leaf that is not valid JSON (a corrupt row) gets "event":
// null, which a verifier reports at that index.
func AppendEntriesJSON(dst []byte, start uint64, leaves [][]byte) []byte {
	dst = append(dst, `{"entries":[`...)
	for i, leaf := range leaves {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, `{"index":`...)
		dst = strconv.AppendUint(dst, start+uint64(i), 10)
		dst = append(dst, `,"leaf":"`...)
		dst = base64.StdEncoding.AppendEncode(dst, leaf)
		dst = append(dst, `","event":`...)
		if validJSON(leaf) {
			dst = append(dst, leaf...)
		} else {
			dst = append(dst, "null"...)
		}
		dst = append(dst, '}')
	}
	return append(dst, "]}\n"...)
}
