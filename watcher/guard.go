package watcher

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"syscall"
	"time"
)

// AddressPolicy decides whether the fetcher may connect to an address, after DNS resolution; a
// non-nil error refuses it. Tests inject one that allows a single loopback address.
type AddressPolicy func(netip.Addr) error

// Internal IPv4 ranges that the netip predicates do not cover.
var internal4 = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),     // "this network": reaches this host on Linux
	netip.MustParsePrefix("100.64.0.0/10"), // carrier-grade NAT, RFC 6598
	netip.MustParsePrefix("192.0.0.0/24"),  // IETF protocol assignments
	netip.MustParsePrefix("198.18.0.0/15"), // benchmarking
	netip.MustParsePrefix("240.0.0.0/4"),   // reserved, and the broadcast address
}

// Internal IPv6 ranges that the netip predicates do not cover.
var internal6 = []netip.Prefix{
	netip.MustParsePrefix("::ffff:0:0/96"),  // IPv4-mapped: never what a dial connects to
	netip.MustParsePrefix("64:ff9b:1::/48"), // local-use NAT64, RFC 8215: a private translator
	netip.MustParsePrefix("2001::/32"),      // Teredo: a tunnel to an IPv4 host behind a NAT
	netip.MustParsePrefix("fec0::/10"),      // site-local (deprecated, RFC 3879), still routed by some
}

// IPv6 ranges that embed an IPv4 address, which must pass the IPv4 rules too.
var (
	compat4 = netip.MustParsePrefix("::/96")        // IPv4-compatible (deprecated)
	nat64   = netip.MustParsePrefix("64:ff9b::/96") // NAT64 well-known prefix
	sixTo4  = netip.MustParsePrefix("2002::/16")    // 6to4
)

// PublicOnly is the default AddressPolicy: it refuses loopback, private (RFC 1918), link-local,
// unique-local (fc00::/7), site-local (fec0::/10), CGNAT, unspecified, broadcast and multicast
// addresses, local-use NAT64 (64:ff9b:1::/48), Teredo (2001::/32) and every IPv4-mapped IPv6
// address (::ffff:0:0/96), with an error that wraps ErrPrivateAddress. A dial never meets the
// mapped form, which Go dials as the IPv4 address it maps, so refusing it refuses no public host.
//
// The IPv4 address embedded in an IPv4-compatible, NAT64 or 6to4 address is checked as well.
func PublicOnly(a netip.Addr) error {
	if internal(a) {
		return fmt.Errorf("%w: %s", ErrPrivateAddress, a)
	}
	return nil
}

func internal(a netip.Addr) bool {
	if a.Is6() {
		for _, p := range internal6 {
			if p.Contains(a) {
				return true
			}
		}
	}
	u := a.Unmap()
	switch {
	case !u.IsValid(),
		u.IsLoopback(),
		u.IsPrivate(), // 10/8, 172.16/12, 192.168/16, fc00::/7
		u.IsLinkLocalUnicast(),
		u.IsMulticast(),
		u.IsUnspecified():
		return true
	case u.Is4():
		for _, p := range internal4 {
			if p.Contains(u) {
				return true
			}
		}
		return false
	}
	b := u.As16()
	switch {
	case compat4.Contains(u), nat64.Contains(u):
		return internal(netip.AddrFrom4([4]byte(b[12:16])))
	case sixTo4.Contains(u):
		return internal(netip.AddrFrom4([4]byte(b[2:6])))
	}
	return false
}

// Connection deadlines of the fetcher's own transport; the total deadline is the feed's Timeout.
const (
	connectTimeout        = 10 * time.Second
	tlsHandshakeTimeout   = 10 * time.Second
	responseHeaderTimeout = 30 * time.Second
)

// guardedDialer returns a dialer that checks every address it connects to against policy, after
// DNS resolution: a name that resolves (or re-resolves, or redirects) to a refused address is
// refused, whatever the URL said. A nil policy allows every address.
func guardedDialer(policy AddressPolicy) *net.Dialer {
	d := &net.Dialer{Timeout: connectTimeout, KeepAlive: 30 * time.Second}
	if policy == nil {
		return d
	}
	d.ControlContext = func(_ context.Context, _, address string, _ syscall.RawConn) error {
		ap, err := netip.ParseAddrPort(address)
		if err != nil {
			return fmt.Errorf("%w: unparsable address %q", ErrPrivateAddress, address)
		}
		return policy(ap.Addr())
	}
	return d
}
