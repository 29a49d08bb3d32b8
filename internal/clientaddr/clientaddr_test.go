package clientaddr

import (
	"net/http"
	"testing"
)

func TestAddr(t *testing.T) {
	r, err := New([]string{"10.0.0.0/8", "192.0.2.7", " "})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, peer string
		xff        []string
		want       string
	}{
		{"untrusted peer: header ignored", "203.0.113.9:5000", []string{"198.51.100.1"}, "203.0.113.9"},
		{"trusted peer without header", "10.1.2.3:5000", nil, "10.1.2.3"},
		{"trusted peer names the client", "10.1.2.3:5000", []string{"198.51.100.1"}, "198.51.100.1"},
		{"client-supplied entries left of the real one are ignored", "10.1.2.3:5000", []string{"1.1.1.1, 198.51.100.1"}, "198.51.100.1"},
		{"chain of trusted proxies", "192.0.2.7:1", []string{"198.51.100.1, 10.9.9.9", "10.0.0.1"}, "198.51.100.1"},
		{"garbage stops at the last trusted hop", "10.1.2.3:5000", []string{"nonsense"}, "10.1.2.3"},
		{"port and brackets", "10.1.2.3:5000", []string{"[2001:db8::1]:443"}, "2001:db8::1"},
		{"mapped peer", "[::ffff:10.1.2.3]:5000", []string{"198.51.100.1"}, "198.51.100.1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := &http.Request{RemoteAddr: tc.peer, Header: http.Header{}}
			for _, v := range tc.xff {
				req.Header.Add("X-Forwarded-For", v)
			}
			if got := r.Addr(req); got != tc.want {
				t.Errorf("Addr = %q, want %q", got, tc.want)
			}
		})
	}
	var none Resolver
	req := &http.Request{RemoteAddr: "10.1.2.3:5000", Header: http.Header{"X-Forwarded-For": {"198.51.100.1"}}}
	if got := none.Addr(req); got != "10.1.2.3" {
		t.Errorf("no trusted proxies: Addr = %q, want the peer", got)
	}
	if _, err := New([]string{"not-an-address"}); err == nil {
		t.Error("New accepted a bad entry")
	}
	if _, err := New([]string{"10.0.0.0/33"}); err == nil {
		t.Error("New accepted a bad prefix")
	}
}
