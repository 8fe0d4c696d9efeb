package api

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/cmr-idp/cmr"
)

// Beyond its capacity the service says so at once (503 with Retry-After)
// instead of letting requests queue until the clients' own timeouts fire:
// a client that is told to come back can, one that times out cannot tell
// whether its transition went through.
const (
	// DefaultMaxInFlight is enough for a two-core box: a request mostly
	// waits on Temporal or the database, whose pool has 20 connections.
	DefaultMaxInFlight = 64
	// DefaultQueueWait lets a short burst through without refusals.
	DefaultQueueWait = 200 * time.Millisecond
	// DefaultRequestTimeout is well past a normal transition (a Temporal
	// update and a projection write, well under a second) and past an
	// activity's first retries after a database restart, and below the
	// 10 s that clients commonly wait: they get a 503 to retry on rather
	// than a timeout of their own.
	DefaultRequestTimeout = 8 * time.Second
	// DefaultUploadTimeout covers reading a list of up to 40 MB within the
	// HTTP server's 60 s read timeout, and ends before its 90 s write
	// timeout so that the 503 still reaches the client.
	DefaultUploadTimeout = 75 * time.Second
)

// unlimited are the routes that never wait for a slot: the orchestrator's
// probes and the metrics scrape must answer exactly when the service is
// busiest, and cost next to nothing.
var unlimited = map[string]bool{"/healthz": true, "/readyz": true, "/metrics": true}

// overloadDefaults fills in the limits left zero.
func (s *Server) overloadDefaults() {
	if s.MaxInFlight == 0 {
		s.MaxInFlight = DefaultMaxInFlight
	}
	if s.QueueWait <= 0 {
		s.QueueWait = DefaultQueueWait
	}
	if s.RequestTimeout <= 0 {
		s.RequestTimeout = DefaultRequestTimeout
	}
	if s.UploadTimeout <= 0 {
		s.UploadTimeout = DefaultUploadTimeout
	}
}

func errBusy() *cmr.Error {
	return cmr.Errorf(cmr.KindUnavailable, "the service is busy; try again in a few seconds").
		NL("de dienst is even te druk; probeer het over een paar seconden opnieuw")
}

func errTooSlow() *cmr.Error {
	return cmr.Errorf(cmr.KindUnavailable, "the request took too long because a service it needs is slow or not reachable; try again shortly").
		NL("het verzoek duurde te lang omdat een onderdeel van de dienst traag of niet bereikbaar is; probeer het zo opnieuw")
}

// limitInFlight serves at most n requests at once, on every route of the
// instance (the web pages share it) but the unlimited ones. A request that
// finds no free slot within wait is answered 503 through the error
// handler, which adds Retry-After. A negative n turns the limit off.
func limitInFlight(n int, wait time.Duration) echo.MiddlewareFunc {
	if n < 0 {
		return func(next echo.HandlerFunc) echo.HandlerFunc { return next }
	}
	slots := make(chan struct{}, n)
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if unlimited[c.Path()] {
				return next(c)
			}
			select {
			case slots <- struct{}{}:
			default:
				t := time.NewTimer(wait)
				select {
				case slots <- struct{}{}:
					t.Stop()
				case <-t.C:
					return errBusy()
				case <-c.Request().Context().Done():
					// The client left while it waited: nobody reads
					// the answer, and it is no fault of ours.
					t.Stop()
					return errBusy()
				}
			}
			defer func() { <-slots }()
			return next(c)
		}
	}
}

// deadline gives a request at most d. Temporal's client and the database
// driver end their waits with the context, and those errors are classified
// as unavailable where they arise; anything else the deadline cut short is
// made unavailable here, so that no timed-out request ends as a 500.
func deadline(d time.Duration) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			ctx, cancel := context.WithTimeout(c.Request().Context(), d)
			defer cancel()
			c.SetRequest(c.Request().WithContext(ctx))
			err := next(c)
			if err != nil && cmr.KindOf(err) == "" && errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return fmt.Errorf("%w: %w", errTooSlow(), err)
			}
			return err
		}
	}
}
