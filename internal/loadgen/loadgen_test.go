package loadgen

import (
	"context"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// A slow service does not slow the schedule: at 100/s for 2 s, 200
// requests go out although each takes 50 ms (a closed loop of one worker
// would send 40).
func TestOpenModelKeepsSchedule(t *testing.T) {
	var calls atomic.Int64
	start := time.Now()
	r := Run(context.Background(), Config{Rate: 100, Duration: 2 * time.Second}, func(ctx context.Context, i int) (int, error) {
		calls.Add(1)
		time.Sleep(50 * time.Millisecond)
		return 200, nil
	})
	took := time.Since(start)
	if r.Scheduled != 200 || r.Sent != 200 || calls.Load() != 200 || r.Status[200] != 200 {
		t.Fatalf("scheduled %d, sent %d, called %d, 200s %d; want 200 each", r.Scheduled, r.Sent, calls.Load(), r.Status[200])
	}
	if r.Achieved < 90 || r.Achieved > 110 {
		t.Errorf("achieved %.1f/s, want about 100", r.Achieved)
	}
	if took > 3*time.Second {
		t.Errorf("run took %s, want about 2 s", took)
	}
	if r.P50 < 50*time.Millisecond {
		t.Errorf("p50 %s below the service's 50 ms", r.P50)
	}
	if r.Failed() != 0 {
		t.Errorf("failed %d: %s", r.Failed(), r)
	}
}

func TestPercentiles(t *testing.T) {
	for _, tc := range []struct {
		name               string
		n                  int
		p50, p90, p99, max time.Duration
	}{
		{"1..100 ms", 100, 50 * time.Millisecond, 90 * time.Millisecond, 99 * time.Millisecond, 100 * time.Millisecond},
		{"1..1000 ms", 1000, 500 * time.Millisecond, 900 * time.Millisecond, 990 * time.Millisecond, 1000 * time.Millisecond},
		{"1..10 ms", 10, 5 * time.Millisecond, 9 * time.Millisecond, 10 * time.Millisecond, 10 * time.Millisecond},
		{"one", 1, time.Millisecond, time.Millisecond, time.Millisecond, time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ds := make([]time.Duration, tc.n)
			for i := range ds {
				ds[i] = time.Duration(i+1) * time.Millisecond
			}
			rand.Shuffle(len(ds), func(i, j int) { ds[i], ds[j] = ds[j], ds[i] })
			p50, p90, p99, mx := Summarize(ds)
			if p50 != tc.p50 || p90 != tc.p90 || p99 != tc.p99 || mx != tc.max {
				t.Errorf("got p50 %s p90 %s p99 %s max %s, want %s %s %s %s", p50, p90, p99, mx, tc.p50, tc.p90, tc.p99, tc.max)
			}
		})
	}
}

// A service that stops for 500 ms shows it in the latency of everything
// due during the stall, not as fewer requests: a closed loop would see one
// slow request among ~150 and report a p99 near the normal latency.
func TestStallShowsAsLatency(t *testing.T) {
	var mu sync.Mutex
	r := Run(context.Background(), Config{Rate: 100, Duration: 2 * time.Second}, func(ctx context.Context, i int) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		if i == 10 {
			time.Sleep(500 * time.Millisecond)
		}
		return 200, nil
	})
	if r.Sent != 200 || r.Status[200] != 200 {
		t.Fatalf("sent %d, answered %d; want 200 each", r.Sent, r.Status[200])
	}
	// Requests 10..59 wait until 600 ms: the slowest 10% (20 of 200) wait
	// 300 ms or more.
	if r.P90 < 200*time.Millisecond || r.P99 < 400*time.Millisecond {
		t.Errorf("p90 %s, p99 %s: the stall is hidden (%s)", r.P90, r.P99, r)
	}
}

// A service that never answers gives timeouts, still at the full rate.
func TestStalledServiceTimesOut(t *testing.T) {
	start := time.Now()
	r := Run(context.Background(), Config{Rate: 100, Duration: time.Second, Timeout: 200 * time.Millisecond}, func(ctx context.Context, i int) (int, error) {
		if i < 50 {
			return 200, nil
		}
		if i%2 == 0 {
			<-ctx.Done() // honours its context
			return 0, ctx.Err()
		}
		time.Sleep(time.Hour) // does not: still counted after the timeout
		return 200, nil
	})
	if r.Sent != 100 || r.Status[200] != 50 || r.Timeouts != 50 || r.Errors != 0 {
		t.Fatalf("sent %d, 200s %d, timeouts %d, errors %d; want 100, 50, 50, 0", r.Sent, r.Status[200], r.Timeouts, r.Errors)
	}
	if r.P90 < 200*time.Millisecond || r.Failed() != 50 {
		t.Errorf("p90 %s, failed %d: %s", r.P90, r.Failed(), r)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("run took %s: it waited for a request past its timeout", took)
	}
}

// Beyond MaxInFlight requests are dropped and counted, and the schedule
// keeps its pace.
func TestMaxInFlightDrops(t *testing.T) {
	release := make(chan struct{})
	var calls atomic.Int64
	done := make(chan Result)
	go func() {
		done <- Run(context.Background(), Config{Rate: 100, Duration: 500 * time.Millisecond, MaxInFlight: 5}, func(ctx context.Context, i int) (int, error) {
			calls.Add(1)
			<-release
			return 200, nil
		})
	}()
	time.Sleep(700 * time.Millisecond)
	close(release)
	r := <-done
	if r.Scheduled != 50 || r.Sent != 5 || r.Dropped != 45 || calls.Load() != 5 {
		t.Fatalf("scheduled %d, sent %d, dropped %d, called %d; want 50, 5, 45, 5", r.Scheduled, r.Sent, r.Dropped, calls.Load())
	}
	if r.Failed() != 45 {
		t.Errorf("failed %d, want the 45 dropped", r.Failed())
	}
}

// A service that handles one request at a time in 5 ms (capacity 200/s)
// meets a 1 s p99 at 25 and 50 per second, not at 800, where the queue
// grows by 600 a second (its last requests wait about 3 s), and the search
// stops there. The limit leaves room for a machine busy with other tests:
// CI once saw a 291 ms p99 at 50 per second, against a 250 ms limit.
func TestMaxRate(t *testing.T) {
	var mu sync.Mutex
	best, runs := MaxRate(context.Background(), Config{Duration: time.Second, Timeout: 5 * time.Second}, []float64{25, 50, 800, 1600}, time.Second,
		func(ctx context.Context, i int) (int, error) {
			mu.Lock()
			defer mu.Unlock()
			time.Sleep(5 * time.Millisecond)
			return 200, nil
		})
	for _, r := range runs {
		t.Log(r)
	}
	if best != 50 || len(runs) != 3 {
		t.Errorf("best %.0f after %d runs, want 50 after 3", best, len(runs))
	}
}

func TestGET(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer tok" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		if r.URL.Query().Get("busy") != "" {
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte(`{"ok":true}`))
	}))
	defer srv.Close()
	c := NewClient()
	cfg := Config{Rate: 200, Duration: 250 * time.Millisecond}
	if r := Run(context.Background(), cfg, GET(c, srv.URL, "tok")); r.Status[200] != 50 || r.Failed() != 0 {
		t.Errorf("good token: %s", r)
	}
	if r := Run(context.Background(), cfg, GET(c, srv.URL, "nope")); r.Status[401] != 50 || r.Failed() != 50 {
		t.Errorf("bad token: %s", r)
	}
	if r := Run(context.Background(), cfg, GET(c, srv.URL+"?busy=1", "tok")); r.Count(500, 599) != 50 {
		t.Errorf("busy: %s", r)
	}
	srv.Close()
	if r := Run(context.Background(), cfg, GET(c, srv.URL, "tok")); r.Errors != 50 || len(r.ErrorSamples) == 0 {
		t.Errorf("closed server: %s", r)
	}
}
