package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
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
	// DefaultMaxWrites of them may change something, and
	// DefaultMaxOpenings open a case: see limitInFlight. Four openings at
	// once are what the embedded Temporal server of `cmr dev` absorbs on
	// two cores (TestMixedLoad).
	DefaultMaxWrites   = 16
	DefaultMaxOpenings = 4
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
	if s.MaxWrites == 0 {
		s.MaxWrites = DefaultMaxWrites
	}
	if s.MaxOpenings == 0 {
		s.MaxOpenings = DefaultMaxOpenings
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

// limits are the caps on requests served at once (see limitInFlight); a
// negative one is no cap.
type limits struct {
	all, writes, openings int
	wait                  time.Duration
}

// openingRoutes are where cases are opened: the API's and the web
// wizard's.
var openingRoutes = map[string]bool{"/api/v1/cases": true, "/cases": true}

// limitInFlight serves at most l.all requests at once, on every route of
// the instance (the web pages share it) but the unlimited ones; of those
// at most l.writes that change something (any method but GET, HEAD and
// OPTIONS), and of those at most l.openings that open a case. A request
// that finds no free slot within l.wait is answered 503 through the error
// handler, which adds Retry-After.
//
// Writes have limits of their own because nearly every one waits on the
// workflow engine, whose throughput is far below the API's, and opening a
// case, which starts a workflow per ticket and per notice, most of all:
// under a burst of openings they filled every slot for seconds each, the
// reads queued behind them were refused as busy, and the openings timed
// out after 8 s (TestMixedLoad). Now what the engine cannot absorb is told
// at once to come back, and reads and steps keep their slots.
func limitInFlight(l limits) echo.MiddlewareFunc {
	all, writes, openings := slotsOf(l.all), slotsOf(l.writes), slotsOf(l.openings)
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if unlimited[c.Path()] {
				return next(c)
			}
			ctx := c.Request().Context()
			switch c.Request().Method {
			case http.MethodGet, http.MethodHead, http.MethodOptions:
			case http.MethodPost:
				if openingRoutes[c.Path()] {
					if err := take(ctx, openings, l.wait); err != nil {
						return err
					}
					defer give(openings)
				}
				fallthrough
			default:
				if err := take(ctx, writes, l.wait); err != nil {
					return err
				}
				defer give(writes)
			}
			if err := take(ctx, all, l.wait); err != nil {
				return err
			}
			defer give(all)
			return next(c)
		}
	}
}

// slotsOf is a limit of n at once; nil (no limit) when n is negative.
func slotsOf(n int) chan struct{} {
	if n < 0 {
		return nil
	}
	return make(chan struct{}, n)
}

// take waits at most wait for one of slots (nil: no limit).
func take(ctx context.Context, slots chan struct{}, wait time.Duration) error {
	if slots == nil {
		return nil
	}
	select {
	case slots <- struct{}{}:
		return nil
	default:
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case slots <- struct{}{}:
		return nil
	case <-t.C:
		return errBusy()
	case <-ctx.Done():
		// The client left while it waited: nobody reads the answer, and
		// it is no fault of ours.
		return errBusy()
	}
}

func give(slots chan struct{}) {
	if slots != nil {
		<-slots
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
