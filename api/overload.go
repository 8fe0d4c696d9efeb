package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
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
	// DefaultMaxTransitions of them may ask the workflow engine for a
	// transition, and DefaultMaxOpenings open a case: see limitInFlight.
	// Four openings at once are what the embedded Temporal server of
	// `cmr dev` absorbs on two cores (TestMixedLoad).
	DefaultMaxTransitions = 16
	DefaultMaxOpenings    = 4
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
	if s.MaxTransitions == 0 {
		s.MaxTransitions = DefaultMaxTransitions
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
	all, transitions, openings int
	wait                       time.Duration
}

// transitionRoutes are the routes that ask the workflow engine for a
// transition, in the API (under /api/v1) and in the web pages alike; the
// first of them opens a case.
var transitionRoutes = map[string]bool{
	"/cases": true, "/cases/:id/steps/:step": true, "/cases/:id/cancel": true,
	"/tickets/:id/close": true, "/tickets/:id/waive": true, "/tickets/:id/return": true,
}

// limitInFlight serves at most l.all requests at once, on every route of
// the instance (the web pages share it) but the unlimited ones; of those
// at most l.transitions that ask the workflow engine for a transition
// (transitionRoutes), and of those at most l.openings that open a case. A
// request that finds no free slot within l.wait, all its slots counted
// together, is answered 503 through the error handler, which adds
// Retry-After.
//
// Transitions have limits of their own because each waits on the
// workflow engine, whose throughput is far below the API's, and opening a
// case, which starts a workflow per ticket and per notice, most of all:
// under a burst of openings they filled every slot for seconds each, the
// reads queued behind them were refused as busy, and the openings timed
// out after 8 s (TestMixedLoad). Now what the engine cannot absorb is told
// at once to come back, and reads and steps keep their slots. Sign-in,
// settings and uploads are not transitions: a burst of those (or a slow
// client) cannot keep the engine's slots from anyone.
func limitInFlight(l limits) echo.MiddlewareFunc {
	all, transitions, openings := slotsOf(l.all), slotsOf(l.transitions), slotsOf(l.openings)
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if unlimited[c.Path()] {
				return next(c)
			}
			ctx := c.Request().Context()
			until := time.Now().Add(l.wait)
			if route := strings.TrimPrefix(c.Path(), "/api/v1"); c.Request().Method == http.MethodPost && transitionRoutes[route] {
				if route == "/cases" {
					if err := take(ctx, openings, until); err != nil {
						return err
					}
					defer give(openings)
				}
				if err := take(ctx, transitions, until); err != nil {
					return err
				}
				defer give(transitions)
			}
			if err := take(ctx, all, until); err != nil {
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

// take waits until until at the latest for one of slots (nil: no limit).
func take(ctx context.Context, slots chan struct{}, until time.Time) error {
	if slots == nil {
		return nil
	}
	select {
	case slots <- struct{}{}:
		return nil
	default:
	}
	t := time.NewTimer(time.Until(until))
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
