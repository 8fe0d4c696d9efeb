// Package metrics adapts the CMR to Prometheus: HTTP latency by route,
// cases by status and overdue tickets (read from the database when
// scraped, so every process reports the same truth), notification
// failures, and the Temporal SDK's own metrics, all in one registry.
package metrics

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/uber-go/tally/v4"
	tallyprom "github.com/uber-go/tally/v4/prometheus"
	"go.temporal.io/sdk/client"
	sdktally "go.temporal.io/sdk/contrib/tally"
)

// Counts is what the database says at scrape time.
type Counts interface {
	CaseCounts(ctx context.Context) (map[string]int, error)
	OverdueTickets(ctx context.Context) (int, error)
}

// Metrics is one process's registry.
type Metrics struct {
	registry       *prometheus.Registry
	requests       *prometheus.HistogramVec
	notifyFailures *prometheus.CounterVec
	notifySent     *prometheus.CounterVec
	temporal       io.Closer
	temporalScope  tally.Scope
}

// New makes a registry with the process and Go collectors; counts, when
// not nil, adds the case and ticket gauges.
func New(counts Counts, logger *slog.Logger) *Metrics {
	reg := prometheus.NewRegistry()
	m := &Metrics{
		registry: reg,
		requests: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "cmr_http_request_duration_seconds",
			Help:    "HTTP requests by method, route (the pattern, never the filled-in path) and status code.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"method", "route", "code"}),
		notifyFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cmr_notification_failures_total",
			Help: "Notification attempts that failed (each is retried), by channel (email, webhook).",
		}, []string{"channel"}),
		notifySent: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cmr_notifications_sent_total",
			Help: "Notifications delivered, by channel (email, webhook).",
		}, []string{"channel"}),
	}
	reg.MustRegister(m.requests, m.notifyFailures, m.notifySent,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if counts != nil {
		reg.MustRegister(&dbCollector{counts: counts, logger: logger})
	}
	scope, closer := tally.NewRootScope(tally.ScopeOptions{
		Prefix:          "temporal",
		CachedReporter:  tallyprom.NewReporter(tallyprom.Options{Registerer: reg}),
		Separator:       tallyprom.DefaultSeparator,
		SanitizeOptions: &sdktally.PrometheusSanitizeOptions,
	}, 5*time.Second)
	m.temporalScope, m.temporal = scope, closer
	return m
}

// Close stops reporting Temporal's metrics.
func (m *Metrics) Close() error { return m.temporal.Close() }

// Temporal is the metrics handler for the Temporal client and worker.
func (m *Metrics) Temporal() client.MetricsHandler {
	return sdktally.NewMetricsHandler(m.temporalScope)
}

// Handler serves the registry in Prometheus' text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{Registry: m.registry})
}

// NotificationSent and NotificationFailed count deliveries per channel.
func (m *Metrics) NotificationSent(channel string)   { m.notifySent.WithLabelValues(channel).Inc() }
func (m *Metrics) NotificationFailed(channel string) { m.notifyFailures.WithLabelValues(channel).Inc() }

// Middleware times every request by its route pattern. It answers errors
// itself (through Echo's error handler) so that the status it records is
// the one the client gets.
func (m *Metrics) Middleware() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			start := time.Now()
			if err := next(c); err != nil {
				c.Error(err)
			}
			route := c.Path()
			if route == "" {
				route = "unmatched" // 404s for made-up paths must not each make a series
			}
			m.requests.WithLabelValues(c.Request().Method, route, strconv.Itoa(c.Response().Status)).Observe(time.Since(start).Seconds())
			return nil
		}
	}
}

// dbCollector reads the case and ticket gauges at scrape time.
type dbCollector struct {
	counts Counts
	logger *slog.Logger
}

var (
	casesDesc   = prometheus.NewDesc("cmr_cases", "Cases by status.", []string{"status"}, nil)
	overdueDesc = prometheus.NewDesc("cmr_tickets_overdue", "Open LiKa tickets past their SLA due moment.", nil, nil)
	scrapeDesc  = prometheus.NewDesc("cmr_database_scrape_ok", "1 when the case and ticket gauges could be read from the database.", nil, nil)
)

func (d *dbCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- casesDesc
	ch <- overdueDesc
	ch <- scrapeDesc
}

func (d *dbCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ok := 1.0
	cases, err := d.counts.CaseCounts(ctx)
	if err == nil {
		for status, n := range cases {
			ch <- prometheus.MustNewConstMetric(casesDesc, prometheus.GaugeValue, float64(n), status)
		}
	}
	overdue, err2 := d.counts.OverdueTickets(ctx)
	if err2 == nil {
		ch <- prometheus.MustNewConstMetric(overdueDesc, prometheus.GaugeValue, float64(overdue))
	}
	if err != nil || err2 != nil {
		ok = 0
		if d.logger != nil {
			d.logger.Warn("metrics: database gauges unavailable", "error", errors.Join(err, err2))
		}
	}
	ch <- prometheus.MustNewConstMetric(scrapeDesc, prometheus.GaugeValue, ok)
}
