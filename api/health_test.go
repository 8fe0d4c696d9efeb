package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/cmr-idp/cmr/api"
)

func TestReadiness(t *testing.T) {
	var logs bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&logs, nil))
	up := func(context.Context) error { return nil }
	down := func(context.Context) error { return errors.New("dial tcp 10.0.0.5:5432: connection refused") }
	for _, tt := range []struct {
		name   string
		db     func(context.Context) error
		status int
		want   string
	}{{"all up", up, 200, `"database":"ok"`}, {"database down", down, 503, `"database":"unreachable"`}} {
		t.Run(tt.name, func(t *testing.T) {
			e := api.NewRouter(&api.Server{Logger: logger})
			api.RegisterHealth(e, logger, api.Probe{Name: "database", Check: tt.db}, api.Probe{Name: "temporal", Check: up})
			rec := httptest.NewRecorder()
			e.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
			if rec.Code != tt.status || !strings.Contains(rec.Body.String(), tt.want) || !strings.Contains(rec.Body.String(), `"temporal":"ok"`) {
				t.Fatalf("%d %s", rec.Code, rec.Body)
			}
			if strings.Contains(rec.Body.String(), "10.0.0.5") {
				t.Errorf("the reason leaks into the answer: %s", rec.Body)
			}
			if tt.status == 503 {
				var body map[string]any
				_ = json.Unmarshal(rec.Body.Bytes(), &body)
				if body["error"] == "" || body["error_nl"] == nil {
					t.Errorf("503 without a clear error: %s", rec.Body)
				}
			}
			rec = httptest.NewRecorder()
			e.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/healthz", nil))
			if rec.Code != 200 {
				t.Errorf("healthz %d", rec.Code)
			}
		})
	}
}

// TestAccessLog: one line per request with its request ID and the route
// pattern; never the filled-in path or the query.
func TestAccessLog(t *testing.T) {
	var logs bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&logs, nil))
	e := api.NewRouter(&api.Server{Logger: logger})
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/api/v1/cases/01AB-20270715?q=Jansen", nil))
	rid := rec.Header().Get("X-Request-Id")
	var line map[string]any
	for _, l := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(l), &m) == nil && m["msg"] == "request" {
			line = m
		}
	}
	if line == nil || rid == "" || line["request_id"] != rid || line["route"] != "/api/v1/cases/:id" || line["status"] != float64(401) {
		t.Fatalf("access log %v (request ID %q)", line, rid)
	}
	if strings.Contains(logs.String(), "01AB-20270715") || strings.Contains(logs.String(), "Jansen") {
		t.Errorf("the log holds the path or query: %s", logs.String())
	}
}
