// Package clientaddr finds the address a request came from: the TCP peer,
// or, when the peer is a proxy the operator trusts, the client that proxy
// names in X-Forwarded-For. The sign-in throttle, the API and the portal
// all key on it, so behind a load balancer each client keeps its own budget
// while nobody outside can choose the address they are counted under.
package clientaddr

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// Resolver resolves client addresses. The zero value trusts no proxy: the
// TCP peer is the client and forwarding headers are ignored.
type Resolver struct {
	trusted []netip.Prefix
}

// New returns a Resolver that honours X-Forwarded-For from peers inside
// the trusted prefixes ("10.0.0.0/8", "192.0.2.7": a lone address is a
// /32 or /128).
func New(trusted []string) (Resolver, error) {
	var r Resolver
	for _, s := range trusted {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		if !strings.Contains(s, "/") {
			a, err := netip.ParseAddr(s)
			if err != nil {
				return Resolver{}, fmt.Errorf("trusted proxy %q is neither an address nor a CIDR prefix", s)
			}
			r.trusted = append(r.trusted, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return Resolver{}, fmt.Errorf("trusted proxy %q is not a CIDR prefix (such as 10.0.0.0/8): %v", s, err)
		}
		if p.Addr().Is4In6() {
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		r.trusted = append(r.trusted, p.Masked())
	}
	return r, nil
}

// Addr returns the client address of r. From a trusted peer, it walks
// X-Forwarded-For from the right (the entry the nearest proxy appended)
// past every trusted proxy, and returns the first address no trusted proxy
// stands for; an unparsable entry stops the walk at the last trusted hop.
// From any other peer the header is ignored: a client cannot name itself.
func (res Resolver) Addr(r *http.Request) string {
	peer := Peer(r)
	if len(res.trusted) == 0 {
		return peer
	}
	addr, err := netip.ParseAddr(peer)
	if err != nil || !res.isTrusted(addr) {
		return peer
	}
	hops := forwarded(r.Header.Values("X-Forwarded-For"))
	client := addr
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(hops[i])
		if err != nil {
			break
		}
		client = a.Unmap()
		if !res.isTrusted(client) {
			break
		}
	}
	return client.String()
}

func (res Resolver) isTrusted(a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range res.trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// forwarded splits X-Forwarded-For header lines into their entries, in
// order. An entry may carry a port or brackets ("[2001:db8::1]:443").
func forwarded(lines []string) []string {
	var out []string
	for _, l := range lines {
		for _, e := range strings.Split(l, ",") {
			e = strings.TrimSpace(e)
			if host, _, err := net.SplitHostPort(e); err == nil {
				e = host
			}
			out = append(out, strings.Trim(e, "[]"))
		}
	}
	return out
}

// Peer is the TCP peer's address, without the port.
func Peer(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	if a, err := netip.ParseAddr(host); err == nil {
		return a.Unmap().String()
	}
	return host
}
