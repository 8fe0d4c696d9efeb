package api_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/cmr-idp/cmr"
	"github.com/cmr-idp/cmr/api"
)

// stuckStore holds every request in authentication until release is
// closed or the request's context ends, like a database that stopped
// answering; with only set, just the requests with that token. Only what
// GET /api/v1/me reads is implemented.
type stuckStore struct {
	api.Store
	entered chan struct{}
	release chan struct{}
	only    string
}

func newStuckStore() *stuckStore {
	return &stuckStore{entered: make(chan struct{}, 100), release: make(chan struct{})}
}

func (s *stuckStore) Authenticate(ctx context.Context, token string) (cmr.User, error) {
	if s.only != "" && token != s.only {
		return cmr.User{ID: "u1", OrganisationID: "dist", Name: "D", Role: cmr.RoleDistributor}, nil
	}
	s.entered <- struct{}{}
	select {
	case <-s.release:
		return cmr.User{ID: "u1", OrganisationID: "dist", Name: "D", Role: cmr.RoleDistributor}, nil
	case <-ctx.Done():
		return cmr.User{}, ctx.Err() // unclassified, as a driver would return it
	}
}

func (s *stuckStore) Organisation(ctx context.Context, id string) (cmr.Organisation, error) {
	return cmr.Organisation{ID: id, Name: "Distributor", Role: cmr.RoleDistributor}, nil
}

func serve(e *echo.Echo, path string) *httptest.ResponseRecorder {
	req := httptest.NewRequest("GET", path, nil)
	req.Header.Set("Authorization", "Bearer cmr_test")
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, req)
	return rec
}

// wantUnavailable checks a 503 with Retry-After and the usual error body,
// in English and Dutch, whose English contains want.
func wantUnavailable(t *testing.T, rec *httptest.ResponseRecorder, want string) {
	t.Helper()
	if rec.Code != 503 {
		t.Fatalf("got %d %s, want 503", rec.Code, rec.Body)
	}
	if rec.Header().Get("Retry-After") == "" {
		t.Errorf("503 without Retry-After")
	}
	var body struct {
		Error   string `json:"error"`
		ErrorNL string `json:"error_nl"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatalf("body %q: %v", rec.Body, err)
	}
	if !strings.Contains(body.Error, want) || body.ErrorNL == "" || body.ErrorNL == body.Error {
		t.Errorf("body %s: want an error saying %q, and in Dutch", rec.Body, want)
	}
}

// TestOverloadRefusedAtOnce fills every slot with requests stuck on the
// store: the next request is refused within the queue wait, the health
// routes still answer, and the slots are free again once the stuck ones
// end.
func TestOverloadRefusedAtOnce(t *testing.T) {
	store := newStuckStore()
	srv := &api.Server{Store: store, MaxInFlight: 2, QueueWait: 50 * time.Millisecond, Logger: slog.New(slog.DiscardHandler)}
	e := api.NewRouter(srv)
	api.RegisterHealth(e, slog.New(slog.DiscardHandler), api.Probe{Name: "database", Check: func(context.Context) error { return nil }})

	stuck := make(chan int, 2)
	for range 2 {
		go func() { stuck <- serve(e, "/api/v1/me").Code }()
	}
	for range 2 {
		select {
		case <-store.entered:
		case <-time.After(5 * time.Second):
			t.Fatal("the first requests did not reach the store")
		}
	}

	start := time.Now()
	wantUnavailable(t, serve(e, "/api/v1/me"), "busy")
	if d := time.Since(start); d > time.Second {
		t.Errorf("refusal took %v: want it within the queue wait", d)
	}
	for _, path := range []string{"/healthz", "/readyz"} {
		if rec := serve(e, path); rec.Code != 200 {
			t.Errorf("%s while busy: %d %s", path, rec.Code, rec.Body)
		}
	}

	close(store.release)
	for range 2 {
		if code := <-stuck; code != 200 {
			t.Errorf("stuck request ended with %d, want 200", code)
		}
	}
	for i := range 5 {
		if rec := serve(e, "/api/v1/me"); rec.Code != 200 {
			t.Fatalf("request %d after the burst: %d %s", i, rec.Code, rec.Body)
		}
	}
}

// TestOverloadWritesLeaveReads: case openings stuck on the store fill
// their own slots, not the service's: one more opening is refused within
// the queue wait, a step still gets a slot until the transitions' slots
// are full, and reads are served throughout. A POST that is no transition
// takes the service's last slot. The slots are free again once the stuck
// requests end.
func TestOverloadWritesLeaveReads(t *testing.T) {
	store := newStuckStore()
	store.only = "cmr_stuck"
	// One slot is left for everything else: the reads below fail if a
	// step or opening takes it.
	srv := &api.Server{Store: store, MaxInFlight: 4, MaxTransitions: 3, MaxOpenings: 2, QueueWait: 50 * time.Millisecond, Logger: slog.New(slog.DiscardHandler)}
	e := api.NewRouter(srv)
	send := func(ctx context.Context, method, path, token string) *httptest.ResponseRecorder {
		req := httptest.NewRequestWithContext(ctx, method, path, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, req)
		return rec
	}
	entered := func(what string) {
		t.Helper()
		select {
		case <-store.entered:
		case <-time.After(5 * time.Second):
			t.Fatalf("%s did not reach the store", what)
		}
	}
	bg := context.Background()
	stuck, unstick := context.WithCancel(bg)
	ended := make(chan struct{}, 4)
	hold := func(method, path string) {
		go func() { send(stuck, method, path, "cmr_stuck"); ended <- struct{}{} }()
		entered(method + " " + path)
	}
	const opening, step = "/api/v1/cases", "/api/v1/cases/01AB-20270715/steps/plan.identity"

	hold("POST", opening)
	hold("POST", opening)
	start := time.Now()
	wantUnavailable(t, send(bg, "POST", opening, "cmr_stuck"), "busy")
	if d := time.Since(start); d > time.Second {
		t.Errorf("refusing a third opening took %v: want it within the queue wait", d)
	}
	hold("POST", step)
	wantUnavailable(t, send(bg, "POST", step, "cmr_stuck"), "busy")
	for i := range 5 {
		if rec := send(bg, "GET", "/api/v1/me", "cmr_test"); rec.Code != 200 {
			t.Fatalf("read %d while the transitions' slots are full: %d %s", i, rec.Code, rec.Body)
		}
	}
	// Sign-in, settings and the like are not transitions: a stuck one
	// takes a slot of the service's, not the engine's.
	hold("POST", "/api/v1/scenarios/check")
	wantUnavailable(t, send(bg, "GET", "/api/v1/me", "cmr_test"), "busy")

	unstick()
	for range 4 {
		<-ended
	}
	again, done := context.WithCancel(bg)
	defer done()
	go send(again, "POST", opening, "cmr_stuck")
	entered("an opening after the stuck ones ended")
}

// TestOverloadDeadline: a request stuck on a dependency ends with 503 when
// its deadline passes, not when the client gives up, and gives its slot
// back.
func TestOverloadDeadline(t *testing.T) {
	store := newStuckStore()
	srv := &api.Server{Store: store, MaxInFlight: 1, RequestTimeout: 100 * time.Millisecond, Logger: slog.New(slog.DiscardHandler)}
	e := api.NewRouter(srv)
	for i := range 3 {
		start := time.Now()
		done := make(chan *httptest.ResponseRecorder)
		go func() { done <- serve(e, "/api/v1/me") }()
		select {
		case rec := <-done:
			// The same 503 each time, not "busy": the slot was given back.
			wantUnavailable(t, rec, "took too long")
		case <-time.After(5 * time.Second):
			t.Fatalf("request %d still running after 5 s", i)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("request %d took %v", i, d)
		}
	}
}
