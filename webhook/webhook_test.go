package webhook

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestSignVerify(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	body := []byte(`{"kind":"sla_breach"}`)
	h := Sign("geheim", now, body)
	if err := Verify("geheim", h, body, now.Add(time.Minute), DefaultWindow); err != nil {
		t.Fatalf("own signature refused: %v", err)
	}
	cases := []struct {
		name   string
		secret string
		header string
		body   string
		now    time.Time
		want   error
	}{
		{"other secret", "anders", h, string(body), now, ErrBadMAC},
		{"body changed", "geheim", h, `{"kind":"case_completed"}`, now, ErrBadMAC},
		{"replayed after the window", "geheim", h, string(body), now.Add(6 * time.Minute), ErrTooOld},
		{"timestamp from the future", "geheim", h, string(body), now.Add(-6 * time.Minute), ErrTooOld},
		{"timestamp swapped", "geheim", "t=1800000100," + h[len("t=1800000000,"):], string(body), now, ErrBadMAC},
		{"no header", "geheim", "", string(body), now, ErrNoSignature},
		{"garbage", "geheim", "v1=abc", string(body), now, ErrNoSignature},
	}
	for _, c := range cases {
		if err := Verify(c.secret, c.header, []byte(c.body), c.now, DefaultWindow); err != c.want {
			t.Errorf("%s: got %v, want %v", c.name, err, c.want)
		}
	}
}

func TestPostIsSignedAndRetriedOnNon2xx(t *testing.T) {
	var got []error
	status := http.StatusInternalServerError
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got = append(got, Verify("geheim", r.Header.Get(HeaderSignature), b, time.Now(), DefaultWindow))
		if r.Header.Get(HeaderDelivery) != "case#1.1/x" || r.Header.Get(HeaderEvent) != "case_opened" || r.Header.Get("Content-Type") != "application/json" {
			t.Errorf("headers: %v", r.Header)
		}
		w.WriteHeader(status)
	}))
	defer srv.Close()
	c := &Client{AllowLoopback: true}
	if code, err := c.Post(context.Background(), srv.URL, "geheim", "case#1.1/x", "case_opened", []byte(`{}`)); err == nil || code != 500 {
		t.Fatalf("a 500 must be an error to retry: %d %v", code, err)
	}
	status = http.StatusNoContent
	if code, err := c.Post(context.Background(), srv.URL, "geheim", "case#1.1/x", "case_opened", []byte(`{}`)); err != nil || code != 204 {
		t.Fatalf("accepted delivery: %d %v", code, err)
	}
	for i, err := range got {
		if err != nil {
			t.Errorf("delivery %d: receiver could not verify: %v", i, err)
		}
	}
}

// TestPostStaysOnTheInternet: a delivery does not reach this machine or a
// private network, whether the address names it or a receiver redirects
// there; its errors do not repeat the address.
func TestPostStaysOnTheInternet(t *testing.T) {
	inside := 0
	internal := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { inside++ }))
	defer internal.Close()
	redirect := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, internal.URL+"/admin", http.StatusTemporaryRedirect)
	}))
	defer redirect.Close()

	// The receivers of this test are on loopback: without AllowLoopback
	// nothing reaches them, by address or by name.
	strict := &Client{}
	for _, u := range []string{internal.URL, strings.Replace(internal.URL, "127.0.0.1", "localhost", 1)} {
		_, err := strict.Post(context.Background(), u, "s", "d", "e", []byte(`{}`))
		if err == nil || !strings.Contains(err.Error(), "private network") || strings.Contains(err.Error(), "127.0.0.1") {
			t.Errorf("%s: %v", u, err)
		}
	}
	// With loopback allowed (as in cmr dev), a redirect is still not
	// followed.
	loose := &Client{AllowLoopback: true}
	code, err := loose.Post(context.Background(), redirect.URL, "s", "d", "e", []byte(`{}`))
	if code != http.StatusTemporaryRedirect || err == nil || !strings.Contains(err.Error(), "redirect") || inside != 0 {
		t.Errorf("redirect: %d %v, %d posts inside", code, err, inside)
	}
	if _, err := loose.Post(context.Background(), "http://127.0.0.1:1/x", "s", "d", "e", []byte(`{}`)); err == nil || strings.Contains(err.Error(), "127.0.0.1") {
		t.Errorf("refused connection: %v", err)
	}
	for ip, refused := range map[string]bool{"10.0.0.5": true, "172.16.1.1": true, "192.168.1.1": true, "169.254.169.254": true, "100.64.0.1": true,
		"0.0.0.0": true, "127.0.0.1": true, "::1": true, "fd00::1": true, "fe80::1": true, "::ffff:10.0.0.1": true, "8.8.8.8": false, "2001:4860::8888": false,
		"64:ff9b::a00:1": true, "64:ff9b::808:808": false, "64:ff9b:1::a00:1": true, "::a00:1": true, "192.0.0.8": true, "198.18.0.1": true,
		"240.0.0.1": true, "255.255.255.255": true, "fec0::1": true} {
		if got := Refused(net.ParseIP(ip), false); got != refused {
			t.Errorf("Refused(%s) = %v", ip, got)
		}
	}
}
