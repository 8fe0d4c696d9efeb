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
	"net/http"
	"strconv"
	"strings"
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

// Client posts deliveries.
type Client struct {
	HTTP *http.Client
	Now  func() time.Time
}

// Post sends body to url, signed, and returns the receiver's status. Any
// answer but 2xx is an error, so the delivery is retried.
func (c *Client) Post(ctx context.Context, url, secret, deliveryID, event string, body []byte) (int, error) {
	now := time.Now
	if c.Now != nil {
		now = c.Now
	}
	hc := c.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: 15 * time.Second}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, fmt.Errorf("webhook address: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "CMR-Webhook/1")
	req.Header.Set(HeaderSignature, Sign(secret, now(), body))
	req.Header.Set(HeaderDelivery, deliveryID)
	req.Header.Set(HeaderEvent, event)
	resp, err := hc.Do(req)
	if err != nil {
		return 0, fmt.Errorf("webhook post: %w", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return resp.StatusCode, fmt.Errorf("webhook receiver answered %d", resp.StatusCode)
	}
	return resp.StatusCode, nil
}
