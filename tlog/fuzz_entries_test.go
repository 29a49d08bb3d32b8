package tlog

import (
	"bytes"
	"encoding/json"
	"strconv"
	"testing"
)

// FuzzEntries feeds arbitrary answers to the entries decoder and the entry
// checks, and arbitrary leaves to the server's encoder: nothing panics, an
// entry passes only when its leaf really is the event at its place, and the
// encoder always writes JSON that decodes back to the same leaves.
func FuzzEntries(f *testing.F) {
	leaf := []byte(`{"tenant_id":"ten_1","index":0,"id":"evt_1","type":"tenant.created","time":"2025-01-02T03:04:05Z"}`)
	f.Add(AppendEntriesJSON(nil, 0, [][]byte{leaf}))
	f.Add([]byte(`{"entries":[{"index":0,"leaf":"e30=","event":{}}]}`))
	f.Add([]byte(`{"entries":[{"index":0,"leaf":"bm90IGpzb24=","event":null}]}`))
	f.Add([]byte(`{"entries":[]}`))
	f.Add([]byte(`{"entries":null}`))
	// More seeds live in testdata/fuzz/FuzzEntries.
	f.Fuzz(func(t *testing.T, body []byte) {
		entries, err := decodeEntries(body)
		if err == nil {
			for i := range entries {
				e := &entries[i]
				if checkEntry(e, e.Index, "ten_1") != nil {
					continue
				}
				// Checked independently of checkEntry's own decoding.
				v, ok := decodeJSON(e.Leaf)
				m, _ := v.(map[string]any)
				if !ok || m["index"] != json.Number(strconv.FormatUint(e.Index, 10)) || m["tenant_id"] != "ten_1" {
					t.Fatalf("entry %d passed with leaf %q", e.Index, e.Leaf)
				}
				if !sameJSON(e.Event, e.Leaf) {
					t.Fatalf("entry %d passed with event %q for leaf %q", e.Index, e.Event, e.Leaf)
				}
			}
		}
		// The body as a leaf: the server's encoding of it round-trips.
		leaves := [][]byte{body, leaf}
		out := AppendEntriesJSON(nil, 7, leaves)
		if !json.Valid(out) {
			t.Fatalf("AppendEntriesJSON wrote invalid JSON: %q", out)
		}
		back, err := decodeEntries(out)
		if err != nil || len(back) != 2 {
			t.Fatalf("decoding %q: %v", out, err)
		}
		for i, e := range back {
			if e.Index != 7+uint64(i) || !bytes.Equal(e.Leaf, leaves[i]) {
				t.Fatalf("entry %d came back as %+v", i, e)
			}
			if json.Valid(leaves[i]) != (string(e.Event) != "null") && !bytes.Equal(bytes.TrimSpace(leaves[i]), []byte("null")) {
				t.Fatalf("entry %d: event %q for leaf %q", i, e.Event, leaves[i])
			}
		}
	})
}
