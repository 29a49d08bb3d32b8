package notify

import (
	"errors"
	"net"
	"net/netip"
)

// errPrivateAddress refuses a tenant webhook whose address is not on the
// internet at large.
var errPrivateAddress = errors.New("the webhook's address is loopback, private or link-local, another special-purpose address or one of the server's own, which tenant webhooks may not reach (the operator may allow it with --webhook-allow-private)")

// specialPurpose is every range of the IANA IPv4 and IPv6 Special-Purpose
// Address Registries (RFC 6890 and its updates;
// https://www.iana.org/assignments/iana-ipv4-special-registry,
// https://www.iana.org/assignments/iana-ipv6-special-registry), plus
// multicast and the deprecated ranges a dialer could still reach. A tenant
// webhook to any of them is refused: they are the server's own network, a
// neighbour's, or addresses that should reach nobody (documentation,
// benchmarking), which on some networks reach somebody anyway.
var specialPurpose = []struct {
	prefix netip.Prefix
	source string
}{
	// IPv4
	{netip.MustParsePrefix("0.0.0.0/8"), `RFC 791: "this network"`},
	{netip.MustParsePrefix("10.0.0.0/8"), "RFC 1918: private use"},
	{netip.MustParsePrefix("100.64.0.0/10"), "RFC 6598: shared address space (carrier-grade NAT)"},
	{netip.MustParsePrefix("127.0.0.0/8"), "RFC 1122: loopback"},
	{netip.MustParsePrefix("169.254.0.0/16"), "RFC 3927: link local (cloud metadata services)"},
	{netip.MustParsePrefix("172.16.0.0/12"), "RFC 1918: private use"},
	{netip.MustParsePrefix("192.0.0.0/24"), "RFC 6890: IETF protocol assignments (DS-Lite RFC 7335, PCP RFC 7723, TURN RFC 8155, NAT64 discovery RFC 8880)"},
	{netip.MustParsePrefix("192.0.2.0/24"), "RFC 5737: documentation (TEST-NET-1)"},
	{netip.MustParsePrefix("192.31.196.0/24"), "RFC 7535: AS112-v4"},
	{netip.MustParsePrefix("192.52.193.0/24"), "RFC 7450: AMT"},
	{netip.MustParsePrefix("192.88.99.0/24"), "RFC 7526: deprecated 6to4 relay anycast"},
	{netip.MustParsePrefix("192.168.0.0/16"), "RFC 1918: private use"},
	{netip.MustParsePrefix("192.175.48.0/24"), "RFC 7534: direct delegation AS112 service"},
	{netip.MustParsePrefix("198.18.0.0/15"), "RFC 2544: benchmarking"},
	{netip.MustParsePrefix("198.51.100.0/24"), "RFC 5737: documentation (TEST-NET-2)"},
	{netip.MustParsePrefix("203.0.113.0/24"), "RFC 5737: documentation (TEST-NET-3)"},
	{netip.MustParsePrefix("224.0.0.0/4"), "RFC 5771: multicast"},
	{netip.MustParsePrefix("240.0.0.0/4"), "RFC 1112: reserved"},
	{netip.MustParsePrefix("255.255.255.255/32"), "RFC 8190: limited broadcast"},
	// IPv6
	{netip.MustParsePrefix("::/128"), "RFC 4291: unspecified address"},
	{netip.MustParsePrefix("::1/128"), "RFC 4291: loopback"},
	{netip.MustParsePrefix("::/96"), "RFC 4291: deprecated IPv4-compatible addresses"},
	// ::ffff:0:0/96 (RFC 4291, IPv4-mapped) is judged by the IPv4 address
	// it maps: see refusedAddress.
	{netip.MustParsePrefix("64:ff9b::/96"), "RFC 6052: IPv4/IPv6 translation"},
	{netip.MustParsePrefix("64:ff9b:1::/48"), "RFC 8215: local-use IPv4/IPv6 translation"},
	{netip.MustParsePrefix("100::/64"), "RFC 6666: discard-only"},
	{netip.MustParsePrefix("2001::/23"), "RFC 2928: IETF protocol assignments (Teredo RFC 4380, benchmarking RFC 5180, AMT RFC 7450, AS112 RFC 7535, ORCHIDv2 RFC 7343, drone DETs RFC 9374)"},
	{netip.MustParsePrefix("2001:db8::/32"), "RFC 3849: documentation"},
	{netip.MustParsePrefix("2002::/16"), "RFC 3056: 6to4, which tunnels to the IPv4 address it embeds"},
	{netip.MustParsePrefix("2620:4f:8000::/48"), "RFC 7534: direct delegation AS112 service"},
	{netip.MustParsePrefix("3fff::/20"), "RFC 9637: documentation"},
	{netip.MustParsePrefix("5f00::/16"), "RFC 9602: segment routing (SRv6) SIDs"},
	{netip.MustParsePrefix("fc00::/7"), "RFC 4193: unique local"},
	{netip.MustParsePrefix("fe80::/10"), "RFC 4291: link-local unicast"},
	{netip.MustParsePrefix("fec0::/10"), "RFC 3879: deprecated site-local"},
	{netip.MustParsePrefix("ff00::/8"), "RFC 4291: multicast"},
}

// refusedAddress says why a tenant webhook may not reach ip — a range of
// specialPurpose, or one of the host's own addresses (own) — or returns ""
// for an address on the internet at large. An IPv4-mapped IPv6 address
// (::ffff:a.b.c.d) is judged as the IPv4 address it maps.
func refusedAddress(ip netip.Addr, own []netip.Addr) string {
	if !ip.IsValid() {
		return "not an IP address"
	}
	ip = ip.WithZone("")
	if ip.Is4In6() {
		ip = ip.Unmap()
	}
	for _, sp := range specialPurpose {
		if sp.prefix.Contains(ip) {
			return sp.prefix.String() + " (" + sp.source + ")"
		}
	}
	for _, o := range own {
		if o.WithZone("").Unmap() == ip {
			return "an address of this server"
		}
	}
	return ""
}

// ownAddresses are the host's interface addresses: a webhook to the
// server's own public address would reach its own services from inside.
func ownAddresses() []netip.Addr {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return nil
	}
	out := make([]netip.Addr, 0, len(addrs))
	for _, a := range addrs {
		var ip net.IP
		switch v := a.(type) {
		case *net.IPNet:
			ip = v.IP
		case *net.IPAddr:
			ip = v.IP
		}
		if addr, ok := netip.AddrFromSlice(ip); ok {
			out = append(out, addr.Unmap())
		}
	}
	return out
}
