// Package loadgen is an open-model, constant-rate load generator for the
// performance figures (issue 7): requests are due at fixed intervals
// whether or not earlier ones have been answered, as users arriving
// independently would send them, and each request's latency runs from the
// moment it was due, not from when it was sent. A closed loop (N workers,
// each waiting for its answer) sends less while the service is slow and so
// hides every stall behind one slow request ("coordinated omission"); here
// a stall shows up in the latency of everything due during it.
//
// A Request is one call of any kind; GET and Send adapt HTTP.
package loadgen

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Request makes the i-th request of a run and returns the status it got
// (an HTTP status, or any code the caller likes) or the transport error.
// It must give up when ctx is done.
type Request func(ctx context.Context, i int) (status int, err error)

// Config is one constant-rate run.
type Config struct {
	Rate     float64       // requests per second
	Duration time.Duration // how long requests are scheduled
	// Timeout is the most a request may take from when it is sent, as a
	// client would wait; 10 s when zero.
	Timeout time.Duration
	// MaxInFlight caps the outstanding requests so that a service that
	// stops answering cannot make the generator eat the machine. A request
	// due while the cap is reached is not sent and counts as dropped (a
	// failure), so the schedule never slows down. Default 10,000.
	MaxInFlight int
}

// Result is what a run measured.
type Result struct {
	Rate      float64       // the target rate
	Duration  time.Duration // the scheduled period
	Scheduled int           // requests due in the schedule
	Sent      int           // requests sent (Scheduled - Dropped)
	Dropped   int           // due while MaxInFlight were outstanding: not sent, failed
	Status    map[int]int   // answers by status
	Errors    int           // transport errors other than timeouts
	Timeouts  int           // no answer within Timeout
	// ErrorSamples counts the distinct transport error messages (at most
	// ten kinds), to say what went wrong.
	ErrorSamples map[string]int
	// Latencies of every sent request, answered or failed, from the moment
	// it was due; a timed-out request counts with the time it waited.
	P50, P90, P99, Max time.Duration
	Achieved           float64       // requests sent per second of the schedule
	Throughput         float64       // answers per second, from the start until the last answer
	Elapsed            time.Duration // from the start until the last answer or failure
}

// OK is how many requests got a 2xx or 3xx answer.
func (r Result) OK() int {
	n := 0
	for s, c := range r.Status {
		if s >= 200 && s < 400 {
			n += c
		}
	}
	return n
}

// Failed is how many scheduled requests did not get a 2xx or 3xx answer:
// dropped, errors, timeouts and every other status.
func (r Result) Failed() int { return r.Scheduled - r.OK() }

// Count is how many answers had a status in [lo, hi].
func (r Result) Count(lo, hi int) int {
	n := 0
	for s, c := range r.Status {
		if s >= lo && s <= hi {
			n += c
		}
	}
	return n
}

// String is the run on one line, for logs and tables.
func (r Result) String() string {
	var st []string
	for _, s := range slices.Sorted(maps.Keys(r.Status)) {
		st = append(st, fmt.Sprintf("%d×%d", r.Status[s], s))
	}
	s := fmt.Sprintf("%4.0f/s × %s: sent %d (%.0f/s) p50 %s p90 %s p99 %s max %s; %s",
		r.Rate, r.Duration, r.Sent, r.Achieved, ms(r.P50), ms(r.P90), ms(r.P99), ms(r.Max), strings.Join(st, " "))
	if r.Dropped+r.Errors+r.Timeouts > 0 {
		s += fmt.Sprintf("; dropped %d, errors %d, timeouts %d", r.Dropped, r.Errors, r.Timeouts)
	}
	for msg, n := range r.ErrorSamples {
		s += fmt.Sprintf("; %d× %q", n, msg)
	}
	return s
}

// Ms is d in milliseconds, for b.ReportMetric.
func Ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func ms(d time.Duration) string { return fmt.Sprintf("%.1fms", Ms(d)) }

// Run sends requests at cfg.Rate for cfg.Duration and waits for the
// outstanding ones (at most cfg.Timeout). Request i is due at
// start + i/Rate; when the generator itself falls behind, the request goes
// out at once and the delay counts as latency.
func Run(ctx context.Context, cfg Config, do Request) Result {
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.MaxInFlight <= 0 {
		cfg.MaxInFlight = 10_000
	}
	n := int(math.Round(cfg.Rate * cfg.Duration.Seconds()))
	interval := time.Duration(float64(time.Second) / cfg.Rate)
	res := Result{Rate: cfg.Rate, Duration: cfg.Duration, Status: map[int]int{}, ErrorSamples: map[string]int{}}
	var (
		mu        sync.Mutex
		latencies = make([]time.Duration, 0, n)
		last      time.Time
		wg        sync.WaitGroup
		inFlight  atomic.Int64
	)
	record := func(due time.Time, status int, err error, timedOut bool) {
		now := time.Now()
		mu.Lock()
		defer mu.Unlock()
		latencies = append(latencies, now.Sub(due))
		if now.After(last) {
			last = now
		}
		switch {
		case timedOut:
			res.Timeouts++
		case err != nil:
			res.Errors++
			msg := err.Error()
			if _, ok := res.ErrorSamples[msg]; ok || len(res.ErrorSamples) < 10 {
				res.ErrorSamples[msg]++
			}
		default:
			res.Status[status]++
		}
	}
	start := time.Now()
	timer := time.NewTimer(0)
	defer timer.Stop()
	<-timer.C
schedule:
	for i := 0; i < n; i++ {
		due := start.Add(time.Duration(i) * interval)
		if wait := time.Until(due); wait > 0 {
			timer.Reset(wait)
			select {
			case <-timer.C:
			case <-ctx.Done():
				break schedule
			}
		}
		res.Scheduled++
		if inFlight.Load() >= int64(cfg.MaxInFlight) {
			res.Dropped++
			continue
		}
		inFlight.Add(1)
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer inFlight.Add(-1)
			rctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
			defer cancel()
			type answer struct {
				status int
				err    error
			}
			// The request runs apart, so that one which ignores its
			// context still counts as timed out after cfg.Timeout.
			ch := make(chan answer, 1)
			go func() {
				s, err := do(rctx, i)
				ch <- answer{s, err}
			}()
			select {
			case a := <-ch:
				timedOut := a.err != nil && (errors.Is(a.err, context.DeadlineExceeded) || errors.Is(rctx.Err(), context.DeadlineExceeded))
				record(due, a.status, a.err, timedOut)
			case <-rctx.Done():
				record(due, 0, rctx.Err(), errors.Is(rctx.Err(), context.DeadlineExceeded))
			}
		}()
	}
	scheduled := time.Since(start)
	wg.Wait()
	res.Sent = res.Scheduled - res.Dropped
	if scheduled > 0 {
		res.Achieved = float64(res.Sent) / max(scheduled.Seconds(), cfg.Duration.Seconds())
	}
	if !last.IsZero() {
		res.Elapsed = last.Sub(start)
		res.Throughput = float64(res.Count(0, math.MaxInt)) / res.Elapsed.Seconds()
	}
	res.P50, res.P90, res.P99, res.Max = Summarize(latencies)
	return res
}

// Summarize returns the 50th, 90th and 99th percentiles (nearest rank) and
// the maximum of ds, sorting ds.
func Summarize(ds []time.Duration) (p50, p90, p99, maxD time.Duration) {
	if len(ds) == 0 {
		return 0, 0, 0, 0
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	return percentile(ds, 50), percentile(ds, 90), percentile(ds, 99), ds[len(ds)-1]
}

// percentile is the nearest-rank p-th percentile of sorted: the smallest
// value that at least p% of the values do not exceed.
func percentile(sorted []time.Duration, p float64) time.Duration {
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	return sorted[min(max(rank, 1), len(sorted))-1]
}

// MaxRate runs at each of rates in turn (ascending) and returns the
// highest rate at which every request got a 2xx/3xx answer with a p99
// below target, with all the runs made; it stops at the first rate that
// misses. Without rates it doubles from 200 per second up to 25,600.
// cfg gives Duration, Timeout and MaxInFlight; its Rate is ignored. best
// is 0 when even the first rate misses.
func MaxRate(ctx context.Context, cfg Config, rates []float64, target time.Duration, do Request) (best float64, runs []Result) {
	if len(rates) == 0 {
		for r := 200.0; r <= 25_600; r *= 2 {
			rates = append(rates, r)
		}
	}
	for _, rate := range rates {
		if ctx.Err() != nil {
			break
		}
		cfg.Rate = rate
		r := Run(ctx, cfg, do)
		runs = append(runs, r)
		if r.Failed() > 0 || r.P99 >= target {
			break
		}
		best = rate
	}
	return best, runs
}

// NewClient is an HTTP client for load: enough idle connections kept per
// host that a high rate reuses them instead of opening (and leaving in
// TIME_WAIT) one per request. Its own timeout is left to Run.
func NewClient() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = 2000
	t.MaxIdleConnsPerHost = 2000
	return &http.Client{Transport: t}
}

// GET is a Request that gets url with the bearer token.
func GET(c *http.Client, url, token string) Request {
	return func(ctx context.Context, _ int) (int, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return 0, err
		}
		req.Header.Set("Authorization", "Bearer "+token)
		return Send(c, req)
	}
}

// Send does req and reads the whole answer, so that the transfer counts in
// the latency and the connection can be reused.
func Send(c *http.Client, req *http.Request) (int, error) {
	resp, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return 0, err
	}
	return resp.StatusCode, nil
}
