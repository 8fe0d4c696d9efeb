// Package webhook delivers the CMR's events to the parties' own systems as
// signed HTTP POSTs, and verifies such signatures (for receivers, and for
// the tests that play one).
//
// The signature header is `CMR-Signature: t=<unix seconds>,v1=<hex>`
// where the hex is HMAC-SHA256 under the organisation's secret of
// "<t>.<body>". The timestamp is inside the signature, so a receiver that
// refuses old timestamps (see Verify) cannot be fed a replayed request.
package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Headers a delivery carries.
const (
	HeaderSignature = "CMR-Signature"
	HeaderDelivery  = "CMR-Delivery" // the same on every retry: receivers deduplicate on it
	HeaderEvent     = "CMR-Event"
)

// DefaultWindow is how old a signature Verify accepts.
const DefaultWindow = 5 * time.Minute

// Sign returns the signature header for body at t.
func Sign(secret string, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	return "t=" + ts + ",v1=" + mac(secret, ts, body)
}

func mac(secret, ts string, body []byte) string {
	h := hmac.New(sha256.New, []byte(secret))
	h.Write([]byte(ts))
	h.Write([]byte("."))
	h.Write(body)
	return hex.EncodeToString(h.Sum(nil))
}

// Errors Verify returns.
var (
	ErrNoSignature = errors.New("webhook: no valid signature header")
	ErrBadMAC      = errors.New("webhook: signature does not match")
	ErrTooOld      = errors.New("webhook: signature timestamp outside the replay window")
)

// Verify checks header against body: the MAC under secret, and a timestamp
// no further than window from now.
func Verify(secret, header string, body []byte, now time.Time, window time.Duration) error {
	var ts, sig string
	for _, part := range strings.Split(header, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "t":
			ts = v
		case "v1":
			sig = v
		}
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || sig == "" {
		return ErrNoSignature
	}
	if !hmac.Equal([]byte(sig), []byte(mac(secret, ts, body))) {
		return ErrBadMAC
	}
	if d := now.Sub(time.Unix(sec, 0)); d > window || d < -window {
		return ErrTooOld
	}
	return nil
}

// Client posts deliveries. Its own HTTP client (when HTTP is nil) connects
// only to addresses on the internet, checked at the moment it connects,
// after the host name is resolved: a name that resolves to this machine
// or a private network, or a receiver that redirects there, cannot make
// the CMR post into its own network. Redirects are not followed at all.
type Client struct {
	HTTP *http.Client
	Now  func() time.Time
	// AllowLoopback lets deliveries go to this machine (cmr dev, tests).
	AllowLoopback bool

	once sync.Once
	hc   *http.Client
}

// Timeout is how long a delivery may take.
const Timeout = 15 * time.Second

// special are the ranges beyond net.IP's own predicates that lead inside
// or nowhere: shared (carrier-grade NAT), IETF protocol assignments,
// benchmarking, reserved and broadcast, and IPv6 site-local.
var special = cidrs("100.64.0.0/10", "192.0.0.0/24", "198.18.0.0/15", "240.0.0.0/4", "fec0::/10")

// nat64 are the NAT64 prefixes (RFC 6052, RFC 8215): the well-known one,
// whose addresses reach the IPv4 address in their last four bytes, and
// the local-use one.
var nat64 = cidrs("64:ff9b::/96", "64:ff9b:1::/48")

func cidrs(cs ...string) []*net.IPNet {
	out := make([]*net.IPNet, len(cs))
	for i, c := range cs {
		_, out[i], _ = net.ParseCIDR(c)
	}
	return out
}

// Refused says whether a delivery may not go to ip: this machine, a
// private or shared network, link-local (where cloud metadata services
// answer), multicast, reserved or unspecified, also when wrapped in a
// NAT64 or IPv4-compatible IPv6 address; loopback only with
// allowLoopback.
func Refused(ip net.IP, allowLoopback bool) bool {
	if ip16 := ip.To16(); ip16 != nil && ip.To4() == nil {
		if nat64[0].Contains(ip16) { // the well-known prefix: the IPv4 address in the last four bytes
			return Refused(net.IP(ip16[12:16]), allowLoopback)
		}
		if nat64[1].Contains(ip16) {
			return true // local-use NAT64: a network of its own
		}
		if isZero(ip16[:12]) && !isZero(ip16[12:]) && !ip16.Equal(net.IPv6loopback) {
			return Refused(net.IP(ip16[12:16]), allowLoopback) // ::a.b.c.d
		}
	}
	if ip4 := ip.To4(); ip4 != nil {
		ip = ip4
		if ip4[0] == 0 {
			return true // 0.0.0.0/8: "this network"
		}
	}
	if ip.IsLoopback() {
		return !allowLoopback
	}
	if ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() || ip.IsInterfaceLocalMulticast() || ip.IsMulticast() || ip.IsUnspecified() {
		return true
	}
	for _, n := range special {
		if n.Contains(ip) {
			return true
		}
	}
	return false
}

func isZero(b []byte) bool {
	for _, x := range b {
		if x != 0 {
			return false
		}
	}
	return true
}

// errRefusedAddress is a connection Refused stopped.
var errRefusedAddress = errors.New("the address leads to this machine or a private network; deliveries go to addresses on the internet only")

func (c *Client) client() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	c.once.Do(func() {
		dialer := &net.Dialer{Timeout: 10 * time.Second, Control: func(_, address string, _ syscall.RawConn) error {
			host, _, err := net.SplitHostPort(address)
			if ip := net.ParseIP(host); err != nil || ip == nil || Refused(ip, c.AllowLoopback) {
				return errRefusedAddress
			}
			return nil
		}}
		// No proxy: the address checked must be the receiver's.
		tr := &http.Transport{DialContext: dialer.DialContext, TLSHandshakeTimeout: 10 * time.Second, MaxIdleConnsPerHost: 2, IdleConnTimeout: 90 * time.Second}
		c.hc = &http.Client{Timeout: Timeout, Transport: tr,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	})
	return c.hc
}

// Post sends body to url, signed, and returns the receiver's status. Any
// answer but 2xx is an error, so the delivery is retried. Its errors say
// what went wrong without the address or what the network answered: an
// organisation's admin reads them in its delivery log.
func (c *Client) Post(ctx context.Context, url, secret, deliveryID, event string, body []byte) (int, error) {
	now := time.Now
	if c.Now != nil {
		now = c.Now
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, errors.New("webhook: the address is not a web address")
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "CMR-Webhook/1")
	req.Header.Set(HeaderSignature, Sign(secret, now(), body))
	req.Header.Set(HeaderDelivery, deliveryID)
	req.Header.Set(HeaderEvent, event)
	resp, err := c.client().Do(req)
	if err != nil {
		return 0, postError(err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	switch {
	case resp.StatusCode >= 300 && resp.StatusCode <= 399:
		return resp.StatusCode, fmt.Errorf("webhook: the receiver answered %d, a redirect, which is not followed: set the address it redirects to", resp.StatusCode)
	case resp.StatusCode < 200 || resp.StatusCode > 299:
		return resp.StatusCode, fmt.Errorf("webhook: the receiver answered %d", resp.StatusCode)
	}
	return resp.StatusCode, nil
}

// postError says why a post got no answer, in words without the address.
func postError(err error) error {
	var dns *net.DNSError
	var ne net.Error
	switch {
	case errors.Is(err, errRefusedAddress):
		return fmt.Errorf("webhook: %w", errRefusedAddress)
	case errors.As(err, &dns):
		return errors.New("webhook: the host name was not found")
	case errors.Is(err, syscall.ECONNREFUSED):
		return errors.New("webhook: the receiver refused the connection")
	case errors.As(err, &ne) && ne.Timeout():
		return fmt.Errorf("webhook: no answer within %s", Timeout)
	case strings.Contains(err.Error(), "tls:") || strings.Contains(err.Error(), "x509:"):
		return errors.New("webhook: the secure connection failed (check the receiver's certificate)")
	}
	return errors.New("webhook: the receiver could not be reached")
}
