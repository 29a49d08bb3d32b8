package gateway_test

import (
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/lockbox-dev/lockbox/gateway"
)

// FuzzParseRoutes: no route file makes the parser panic, and a table it
// accepts resolves requests to its own paths without panicking, to targets
// with a tenant and a resource.
func FuzzParseRoutes(f *testing.F) {
	f.Add([]byte(testRoutes))
	f.Add([]byte(`[{"method":"GET","path":"/a/{x}","tenant":"t","resource":"r:{x}"}]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		routes, err := gateway.ParseRoutes("fuzz.yaml", data)
		if err != nil {
			if routes != nil {
				t.Fatal("a table with an error")
			}
			return
		}
		for _, r := range routes.Routes() {
			path := instantiate(r.Path)
			method := r.Method
			if method == "" || method == "*" {
				method = "GET"
			}
			req := httptest.NewRequest(method, "http://gw.example"+path, nil)
			target, err := routes.Resolve(req)
			if err != nil {
				continue // a more specific pattern elsewhere may refuse it, or the path is not canonical
			}
			if target.Route == "" || target.Level == "" {
				t.Fatalf("%s %s resolved to %+v", method, path, target)
			}
		}
	})
}

// instantiate fills a pattern's wildcards with a value.
func instantiate(pattern string) string {
	var b strings.Builder
	for rest := pattern; rest != ""; {
		i := strings.IndexByte(rest, '{')
		if i < 0 {
			b.WriteString(rest)
			break
		}
		b.WriteString(rest[:i])
		j := strings.IndexByte(rest[i:], '}')
		if j < 0 {
			b.WriteString(rest[i:])
			break
		}
		if rest[i+1:i+j] != "$" {
			b.WriteString("v")
		}
		rest = rest[i+j+1:]
	}
	s := b.String()
	if !strings.HasPrefix(s, "/") || strings.ContainsAny(s, " \t\r\n?#%") {
		return "/"
	}
	return s
}

// FuzzDecodeFrames: spool decoding never panics, never claims more bytes
// than it was given, and what it decodes re-encodes to frames that decode to
// the same records.
func FuzzDecodeFrames(f *testing.F) {
	good, _ := gateway.EncodeFrames(nil, sampleRecords(3, "seed"))
	f.Add(good)
	f.Add(good[:len(good)-5])
	f.Add([]byte{0, 0, 0, 2, 0, 0, 0, 0, '{', '}'})
	f.Fuzz(func(t *testing.T, data []byte) {
		recs, n, err := gateway.DecodeFrames(data)
		if n < 0 || n > len(data) || (err == nil && n != len(data)) {
			t.Fatalf("n=%d len=%d err=%v", n, len(data), err)
		}
		again, m, err2 := gateway.DecodeFrames(data[:n])
		if err2 != nil || m != n || !reflect.DeepEqual(again, recs) {
			t.Fatalf("the intact prefix does not decode to the same records: %v", err2)
		}
		enc, err := gateway.EncodeFrames(nil, recs)
		if err != nil {
			t.Fatal(err)
		}
		back, _, err := gateway.DecodeFrames(enc)
		if err != nil || len(back) != len(recs) {
			t.Fatalf("re-encoded frames: %v", err)
		}
		if len(recs) == 0 && n != 0 {
			t.Fatal("bytes consumed without records")
		}
	})
}
