package webhook

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
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
	c := &Client{}
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
