package tlog

import (
	"bytes"
	"encoding/json"
	"errors"
	"maps"
	"strings"
	"testing"
)

// referenceEntries decodes an entries answer with encoding/json, under the
// rules decodeEntries documents (exact keys; a list is required; entries
// are objects): the reference FuzzScan holds the fast decoder to.
func referenceEntries(body []byte) ([]Entry, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(body, &top); err != nil || top == nil {
		return nil, errors.New("not an object")
	}
	list, ok := top["entries"]
	if !ok || string(list) == "null" {
		return nil, errors.New("no list")
	}
	var elems []json.RawMessage
	if err := json.Unmarshal(list, &elems); err != nil {
		return nil, err
	}
	entries := []Entry{}
	for _, raw := range elems {
		var fields map[string]json.RawMessage
		if raw[0] != '{' || json.Unmarshal(raw, &fields) != nil {
			return nil, errors.New("entry not an object")
		}
		var e Entry
		if v, ok := fields["index"]; ok {
			if err := json.Unmarshal(v, &e.Index); err != nil {
				return nil, err
			}
		}
		if v, ok := fields["leaf"]; ok {
			if err := json.Unmarshal(v, &e.Leaf); err != nil {
				return nil, err
			}
		}
		if v, ok := fields["event"]; ok {
			e.Event = v
		}
		entries = append(entries, e)
	}
	return entries, nil
}

func checkScan(t *testing.T, b []byte) {
	if got, want := validJSON(b), json.Valid(b); got != want {
		t.Fatalf("validJSON(%q) = %v, json.Valid says %v", b, got, want)
	}

	members := map[string]json.RawMessage{}
	ok := objectMembers(b, func(key, value []byte) {
		var k string
		if err := json.Unmarshal(key, &k); err != nil {
			t.Fatalf("objectMembers gave the key %q: %v", key, err)
		}
		members[k] = bytes.Clone(value)
	})
	var ref map[string]json.RawMessage
	refOK := json.Unmarshal(b, &ref) == nil && ref != nil
	if ok != refOK {
		t.Fatalf("objectMembers(%q) = %v, encoding/json says %v", b, ok, refOK)
	}
	if ok && !maps.EqualFunc(members, ref, func(a, b json.RawMessage) bool { return bytes.Equal(a, b) }) {
		t.Fatalf("objectMembers(%q) = %q, encoding/json says %q", b, members, ref)
	}

	got, err := decodeEntries(b)
	want, refErr := referenceEntries(b)
	if (err == nil) != (refErr == nil) {
		t.Fatalf("decodeEntries(%q): %v, the reference says %v", b, err, refErr)
	}
	if err != nil {
		return
	}
	if len(got) != len(want) {
		t.Fatalf("decodeEntries(%q): %d entries, the reference %d", b, len(got), len(want))
	}
	for i := range got {
		g, w := got[i], want[i]
		if g.Index != w.Index || !bytes.Equal(g.Leaf, w.Leaf) || (g.Leaf == nil) != (w.Leaf == nil) || !bytes.Equal(g.Event, w.Event) {
			t.Fatalf("decodeEntries(%q)[%d] = %+v, the reference %+v", b, i, g, w)
		}
	}
}

// FuzzScan holds the fast JSON scanner and entries decoder to encoding/json.
func FuzzScan(f *testing.F) {
	for _, s := range scanCases {
		f.Add([]byte(s))
	}
	// More seeds live in testdata/fuzz/FuzzScan.
	f.Fuzz(checkScan)
}

var scanCases = []string{
	``, ` `, `{}`, `[]`, `null`, `true`, `false`, `0`, `-0`, `01`, `1.`, `1.5e+3`, `-`, `1e`, `.5`,
	`"a"`, `"\u00e9"`, `"\u00g9"`, `"\x"`, "\"\x01\"", `"\"`, `"a\"b"`, "\"\xff\"",
	`{"a":1,}`, `{"a" 1}`, `{"a":1 "b":2}`, `[1,]`, `[1 2]`, `{"a":[1,{"b":null}]}`, ` {"a":1} `, `{"a":1} x`,
	`{"a":1,"a":2}`, `{"\u0061":1}`, `{"index":1,"Index":2}`,
	`{"entries":[{"index":0,"leaf":"e30=","event":{}}]}`,
	`{"entries":[{"index":0,"leaf":"e30=","event":{}},{"index":1,"leaf":null,"event":null}]}`,
	`{"entries":[]}`, `{"entries":null}`, `{"entries":{}}`, `{"entries":[null]}`, `{"entries":[1]}`,
	`{"entries":[{"index":1.0}]}`, `{"entries":[{"index":-1}]}`, `{"entries":[{"index":"1"}]}`,
	`{"entries":[{"leaf":"e30"}]}`, `{"entries":[{"leaf":"e3\u0030="}]}`, `{"entries":[{"leaf":5}]}`,
	`{"entries":[{"index":0}],"entries":[]}`, `{"entries":[{"index":18446744073709551616}]}`,
	`{"Entries":[]}`, `{"entries":[{"INDEX":3}]}`,
	// Found by FuzzScan: a repeated key's earlier, bad value does not count.
	`{"entries":[{"leaf":0,"leaf":null}]}`, `{"entries":[{"index":"x","index":3}]}`, `{"entries":[{"leaf":null,"leaf":0}]}`,
}

func TestScan(t *testing.T) {
	for _, s := range scanCases {
		checkScan(t, []byte(s))
	}
	for _, depth := range []int{maxDepth - 1, maxDepth, maxDepth + 1} {
		deep := []byte(strings.Repeat("[", depth) + strings.Repeat("]", depth))
		checkScan(t, deep)
		deep = []byte(`{"entries":[{"event":` + strings.Repeat("[", depth) + strings.Repeat("]", depth) + `}]}`)
		checkScan(t, deep)
	}
}
