package notify

import (
	"net/netip"
	"testing"
)

// lastAddr is the last address of p.
func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Masked().Addr().AsSlice()
	for i := p.Bits(); i < len(b)*8; i++ {
		b[i/8] |= 0x80 >> (i % 8)
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

// TestWebhookGuardRefusesSpecialPurpose (issue 13, item 15): every range
// of the IANA special-purpose registries is refused, at its first and last
// address, and so are the host's own addresses; the internet at large is
// not.
func TestWebhookGuardRefusesSpecialPurpose(t *testing.T) {
	// The ranges the review named, and the registries' others: each must
	// be in the table (removing one fails here).
	for _, s := range []string{
		"0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12", "192.0.0.0/24", "192.0.2.0/24",
		"192.31.196.0/24", "192.52.193.0/24", "192.88.99.0/24", "192.168.0.0/16", "192.175.48.0/24", "198.18.0.0/15", "198.51.100.0/24",
		"203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4", "255.255.255.255/32",
		"::1/128", "::/128", "64:ff9b::/96", "64:ff9b:1::/48", "100::/64", "2001::/23", "2001:db8::/32", "2002::/16",
		"2620:4f:8000::/48", "3fff::/20", "5f00::/16", "fc00::/7", "fe80::/10", "ff00::/8",
	} {
		p := netip.MustParsePrefix(s)
		for _, a := range []netip.Addr{p.Addr(), lastAddr(p)} {
			if refusedAddress(a, nil) == "" {
				t.Errorf("%s (in %s) is allowed", a, p)
			}
		}
	}
	for _, sp := range specialPurpose {
		for _, a := range []netip.Addr{sp.prefix.Addr(), lastAddr(sp.prefix)} {
			if refusedAddress(a, nil) == "" {
				t.Errorf("%s (in %s) is allowed", a, sp.prefix)
			}
		}
		if sp.source == "" {
			t.Errorf("%s has no source", sp.prefix)
		}
	}
	for _, s := range []string{
		"::ffff:127.0.0.1", "::ffff:10.1.2.3", "::ffff:192.0.2.2", "::ffff:169.254.169.254", // IPv4-mapped: the IPv4 address counts
		"2002:c000:0202::1", "2002:0808:0808::1", // 6to4, whatever it embeds
		"64:ff9b::a00:1", "fe80::1%eth0", "::10.0.0.1", "100.127.255.255", "198.19.255.255", "192.0.2.2",
	} {
		if refusedAddress(netip.MustParseAddr(s), nil) == "" {
			t.Errorf("%s is allowed", s)
		}
	}
	for _, s := range []string{"8.8.8.8", "1.1.1.1", "93.184.215.14", "::ffff:8.8.8.8", "2606:4700:4700::1111", "2a00:1450:4001::1", "100.128.0.1", "198.20.0.1", "223.255.255.255"} {
		if why := refusedAddress(netip.MustParseAddr(s), nil); why != "" {
			t.Errorf("%s is refused: %s", s, why)
		}
	}
	// The host's own addresses, public ones included.
	own := []netip.Addr{netip.MustParseAddr("8.8.4.4"), netip.MustParseAddr("2606:4700::6810:84e5")}
	for _, s := range []string{"8.8.4.4", "::ffff:8.8.4.4", "2606:4700::6810:84e5"} {
		if refusedAddress(netip.MustParseAddr(s), own) == "" {
			t.Errorf("the host's own %s is allowed", s)
		}
	}
	if len(ownAddresses()) == 0 {
		t.Error("no interface addresses found")
	}
}
