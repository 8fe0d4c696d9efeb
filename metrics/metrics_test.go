package metrics

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
)

type counts struct{ fail bool }

func (c counts) CaseCounts(context.Context) (map[string]int, error) {
	if c.fail {
		return nil, errors.New("database down")
	}
	return map[string]int{"open": 3, "completed": 1, "cancelled": 0}, nil
}

func (c counts) OverdueTickets(context.Context) (int, error) {
	if c.fail {
		return 0, errors.New("database down")
	}
	return 2, nil
}

func scrape(t *testing.T, m *Metrics) string {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	b, _ := io.ReadAll(rec.Body)
	return string(b)
}

func TestMetrics(t *testing.T) {
	m := New(counts{}, nil)
	defer m.Close()
	e := echo.New()
	e.Use(m.Middleware())
	e.GET("/cases/:id", func(c echo.Context) error { return c.String(http.StatusOK, "ok") })
	e.GET("/fail", func(c echo.Context) error { return echo.NewHTTPError(http.StatusConflict) })
	for _, p := range []string{"/cases/01AB-20270715", "/cases/02CD-20270801", "/fail", "/no/such/route/secret-name"} {
		e.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, p, nil))
	}
	m.NotificationFailed("webhook")
	m.NotificationSent("email")
	out := scrape(t, m)
	for _, want := range []string{
		`cmr_http_request_duration_seconds_count{code="200",method="GET",route="/cases/:id"} 2`,
		`cmr_http_request_duration_seconds_count{code="409",method="GET",route="/fail"} 1`,
		`cmr_http_request_duration_seconds_count{code="404",method="GET",route="unmatched"} 1`,
		`cmr_cases{status="open"} 3`, `cmr_cases{status="completed"} 1`, `cmr_tickets_overdue 2`, `cmr_database_scrape_ok 1`,
		`cmr_notification_failures_total{channel="webhook"} 1`, `cmr_notifications_sent_total{channel="email"} 1`,
		`go_goroutines`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	for _, leak := range []string{"01AB-20270715", "secret-name"} {
		if strings.Contains(out, leak) {
			t.Errorf("a filled-in path (%s) became a label", leak)
		}
	}
}

func TestMetricsWithTheDatabaseDown(t *testing.T) {
	m := New(counts{fail: true}, nil)
	defer m.Close()
	out := scrape(t, m)
	if !strings.Contains(out, "cmr_database_scrape_ok 0") || strings.Contains(out, "cmr_cases{") {
		t.Errorf("scrape with the database down:\n%s", out)
	}
}

func TestTemporalMetricsShareTheRegistry(t *testing.T) {
	m := New(nil, nil)
	m.Temporal().Counter("cmr_test_counter").Inc(1)
	m.Close() // flushes the tally scope
	if out := scrape(t, m); !strings.Contains(out, "temporal_cmr_test_counter") {
		t.Errorf("the Temporal SDK's metrics are not in the registry")
	}
}
