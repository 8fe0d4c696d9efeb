package api

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
)

// Probe is one dependency /readyz checks, such as the database or Temporal.
type Probe struct {
	Name  string
	Check func(ctx context.Context) error
}

// readiness is /readyz's answer: each dependency "ok" or "unreachable".
type readiness struct {
	Status  string            `json:"status"`
	Checks  map[string]string `json:"checks"`
	Error   string            `json:"error,omitempty"`
	ErrorNL string            `json:"error_nl,omitempty"`
}

// RegisterHealth mounts /healthz (the process answers: a restart would not
// help otherwise) and /readyz (every probe answers within two seconds: send
// traffic here). Neither needs a token; neither says more than which
// dependency is unreachable, the reason goes to the log.
func RegisterHealth(e *echo.Echo, logger *slog.Logger, probes ...Probe) {
	e.GET("/healthz", func(c echo.Context) error {
		return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
	})
	e.GET("/readyz", func(c echo.Context) error {
		c.Response().Header().Set(echo.HeaderCacheControl, "no-store")
		ctx, cancel := context.WithTimeout(c.Request().Context(), 2*time.Second)
		defer cancel()
		out := readiness{Status: "ready", Checks: map[string]string{}}
		type result struct {
			name string
			err  error
		}
		results := make(chan result, len(probes))
		for _, p := range probes {
			go func() { results <- result{p.Name, p.Check(ctx)} }()
		}
		for range probes {
			r := <-results
			out.Checks[r.name] = "ok"
			if r.err != nil {
				out.Checks[r.name] = "unreachable"
				out.Status = "unavailable"
				logger.Warn("readiness probe failed", "dependency", r.name, "error", r.err)
			}
		}
		if out.Status != "ready" {
			out.Error = "a dependency of the service is unreachable; the service retries by itself"
			out.ErrorNL = "een onderdeel waar de dienst van afhangt is niet bereikbaar; de dienst probeert het vanzelf opnieuw"
			return c.JSON(http.StatusServiceUnavailable, out)
		}
		return c.JSON(http.StatusOK, out)
	})
}

// accessLog logs every request once, with its request ID, method, route
// pattern (never the filled-in path or the query, which may hold search
// text), status and duration. Errors are answered here, through the one
// error handler, so that the status logged is the one sent.
func (s *Server) accessLog(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		if err := next(c); err != nil {
			c.Error(err)
		}
		status := c.Response().Status
		level := slog.LevelInfo
		if status >= 500 {
			level = slog.LevelError
		}
		route := c.Path()
		if route == "" {
			route = "unmatched"
		}
		attrs := []any{"request_id", c.Response().Header().Get(echo.HeaderXRequestID), "method", c.Request().Method,
			"route", route, "status", status, "duration_ms", float64(time.Since(start).Microseconds()) / 1000, "bytes_out", c.Response().Size}
		s.Logger.Log(c.Request().Context(), level, "request", attrs...)
		return nil
	}
}
