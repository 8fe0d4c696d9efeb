package web

import (
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"golang.org/x/time/rate"
)

// Sign-in limits: per client address, and per account at a provider.
// Generous for a school's shared address, tight for a script.
const (
	signInPerAddress = 30              // attempts in a burst from one address
	signInRefill     = 2 * time.Second // then one more every refill
	signInPerAccount = 5               // attempts in a burst for one account
	accountRefill    = time.Minute
)

// limiter keeps a token bucket per key (a client address or an account),
// forgetting keys that have been quiet for a while.
type limiter struct {
	mu      sync.Mutex
	every   time.Duration
	burst   int
	buckets map[string]*bucket
}

type bucket struct {
	lim  *rate.Limiter
	seen time.Time
}

func newLimiter(burst int, every time.Duration) *limiter {
	return &limiter{every: every, burst: burst, buckets: map[string]*bucket{}}
}

// allow takes one attempt for key at t.
func (l *limiter) allow(key string, t time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.buckets) > 10_000 {
		for k, b := range l.buckets {
			if t.Sub(b.seen) > time.Duration(l.burst)*l.every {
				delete(l.buckets, k)
			}
		}
	}
	b, ok := l.buckets[key]
	if !ok {
		b = &bucket{lim: rate.NewLimiter(rate.Every(l.every), l.burst)}
		l.buckets[key] = b
	}
	b.seen = t
	return b.lim.AllowN(t, 1)
}

// limitSignIn answers 429 to a client address that tries to sign in too
// often. The address is echo's RealIP, which trusts forwarding headers only
// from the proxies the server is configured with.
func (s *Server) limitSignIn(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if !s.byAddress.allow(c.RealIP(), s.Now()) {
			return s.tooManySignIns(c)
		}
		return next(c)
	}
}

func (s *Server) tooManySignIns(c echo.Context) error {
	s.securityEvent(c, slog.LevelWarn, "sign_in_limited")
	c.Response().Header().Set("Retry-After", "60")
	return s.render(c, http.StatusTooManyRequests, "error", errorPage{page: page{Title: s.tr(c, "Inloggen niet gelukt"), Path: "/login"},
		Message: s.tr(c, "Te veel inlogpogingen. Wacht een minuut en probeer het opnieuw.")})
}
