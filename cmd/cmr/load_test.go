package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cmr-idp/cmr/internal/loadgen"
)

var (
	// loadTests opts in to TestMixedLoad: it measures latency, so .ci/run
	// runs it after the suite, not within `go test ./...` beside the other
	// packages' tests.
	loadTests    = flag.Bool("load", false, "run TestMixedLoad (cmr dev under issue 7's load)")
	loadDuration = flag.Duration("load-duration", 2*time.Minute, "TestMixedLoad: how long the mixed load runs (with -short: 20s)")
	loadRate     = flag.Float64("load-rate", 100, "TestMixedLoad: requests per second (issue 7's goal is for 100)")
	loadOpenings = flag.Int("load-openings", 2, "TestMixedLoad: requests in each hundred that open a case (at most 20; the mix before 2026-11-23 opened 10)")
	// The goal is the default; .ci/run sets wider limits (README,
	// performance): they catch a step that hangs or errors, not a
	// machine's noise, which moves the p99 by more than the goal's margin.
	loadP99Limit     = flag.Duration("load-p99-limit", 250*time.Millisecond, "TestMixedLoad: fail at this p99 or above (the goal: 250ms)")
	loadRefusedLimit = flag.Int("load-refused-limit", 0, "TestMixedLoad: fail when more answers than this are 503 (busy, come back; the goal: none)")
)

// TestMixedLoad runs `cmr dev` as a process and puts issue 7's load on it:
// 100 requests per second, open model, of 80% reads and 20% writes (see
// mix.request), for -load-duration. The writes move cases the way their
// parties do, step by step to completed, and open new ones. Goal: p99 below 250 ms, no 5xx, no
// transport error or timeout. The embedded Temporal server and SQLite run
// in the same process as the API, as in `cmr dev`.
func TestMixedLoad(t *testing.T) {
	if !*loadTests {
		t.Skip("opt in with -load (see README, performance)")
	}
	d := *loadDuration
	if testing.Short() {
		d = 20 * time.Second
	}
	p := startDev(t, t.TempDir(), "CMR_NOTIFY_ANYTIME=1")
	m := newMix(t, p, time.Date(2027, 1, 4, 0, 0, 0, 0, time.UTC))
	m.warmUp(t, 10)
	r := loadgen.Run(context.Background(), loadgen.Config{Rate: *loadRate, Duration: d, Timeout: 10 * time.Second}, m.request)
	t.Logf("mixed load: %s", r)
	m.log(t)
	defer logStderr(t, p)
	goal := "met"
	if r.P99 >= 250*time.Millisecond || r.Count(500, 599) > 0 {
		goal = "missed"
	}
	t.Logf("goal (p99 < 250 ms, no 5xx): %s", goal)
	if r.P99 >= *loadP99Limit {
		t.Errorf("p99 %s, limit %s (goal < 250 ms)", r.P99, *loadP99Limit)
	}
	if n := r.Count(500, 599); n > r.Status[503] {
		t.Errorf("%d answers 5xx other than 503", n-r.Status[503])
	}
	if n := r.Status[503]; n > *loadRefusedLimit {
		t.Errorf("%d answers 503 (busy), limit %d (goal: none)", n, *loadRefusedLimit)
	}
	if r.Errors+r.Timeouts+r.Dropped > 0 {
		t.Errorf("%d transport errors, %d timeouts, %d dropped", r.Errors, r.Timeouts, r.Dropped)
	}
	m.mu.Lock()
	landed := m.landedBefore
	m.mu.Unlock()
	if landed > 0 {
		t.Logf("%d moves sent again after a 503 whose outcome was unknown found done (409): their first attempt had landed", landed)
	}
	if n := r.Count(400, 499) - landed; n > 0 {
		t.Errorf("%d answers 4xx: the load itself sends only valid requests", n)
	}
	p.stop(t)
}

// TestOverload sends the same mix at 1,500 requests per second for 5 s,
// far beyond what `cmr dev` handles: every request must still be answered
// within a client's 10 s, with 2xx, or 429/503 to say "not now" — never a
// timeout, a 500 or a reset connection. Afterwards the service answers as
// before.
func TestOverload(t *testing.T) {
	if testing.Short() {
		t.Skip("starts cmr dev as a process")
	}
	p := startDev(t, t.TempDir(), "CMR_NOTIFY_ANYTIME=1")
	m := newMix(t, p, time.Date(2028, 1, 3, 0, 0, 0, 0, time.UTC))
	m.warmUp(t, 10)
	r := loadgen.Run(context.Background(), loadgen.Config{Rate: 1500, Duration: 5 * time.Second, Timeout: 10 * time.Second, MaxInFlight: 20_000}, m.request)
	t.Logf("overload: %s", r)
	t.Logf("answered %d of %d: %d 2xx, %d refused (429/503), in %s", r.Count(0, 999), r.Scheduled, r.OK(), r.Status[429]+r.Status[503], r.Elapsed.Round(time.Millisecond))
	m.log(t)
	defer logStderr(t, p)
	if r.Errors+r.Timeouts+r.Dropped > 0 {
		t.Errorf("%d transport errors, %d timeouts, %d dropped: beyond capacity the service must refuse, not hang or reset", r.Errors, r.Timeouts, r.Dropped)
	}
	for status, n := range r.Status {
		if (status < 200 || status > 299) && status != 429 && status != 503 {
			t.Errorf("%d answers %d, want only 2xx, 429 or 503", n, status)
		}
	}
	start := time.Now()
	p.call(t, "distri-noord", "GET", "/cases", nil, 200)
	t.Logf("first case list after the burst: %s", time.Since(start).Round(time.Millisecond))
	p.stop(t)
}

// logStderr shows the end of what `cmr dev` logged (warnings and errors)
// when the test failed.
func logStderr(t *testing.T, p *devProcess) {
	if !t.Failed() {
		return
	}
	lines := strings.Split(strings.TrimSpace(p.stderr.String()), "\n")
	t.Logf("cmr dev logged %d lines; the last:\n%s", len(lines), strings.Join(lines[max(0, len(lines)-20):], "\n"))
}

// mix is the load of TestMixedLoad: reads of the distributor's case list,
// case details and a LiKa's queue, and writes that open cases and complete
// their steps, each case advancing step by step as its owners would.
type mix struct {
	p        *devProcess
	c        *http.Client
	switchOn time.Time // the first new case's switch date; each next one a day later (opened)

	mu        sync.Mutex
	opened    int
	completed int
	cases     []string
	queued    map[string]bool // "case/step", "case/ticket/ID" handed out
	todo      []move
	kinds     map[string]map[int]int     // request kind → status → count
	took      map[string][]time.Duration // request kind → time from sending to the whole answer
	bad       []string                   // a few non-2xx answers, to say why
	// landedBefore counts moves sent again after a 503 whose outcome was
	// unknown (not answered in time), refused as done (409): the first
	// attempt had landed. Not a fault of the load.
	landedBefore int
}

// move is a write a case waits for: a step completed, a ticket closed by
// its LiKa, or the school's list uploaded, after which step 11 can be
// completed (then).
type move struct {
	kind, org, path string
	body            any // JSON, or a string sent as CSV
	then            *move
	sentBefore      bool // sent before, answered 503
}

func newMix(t *testing.T, p *devProcess, switchOn time.Time) *mix {
	return &mix{p: p, c: loadgen.NewClient(), switchOn: switchOn, queued: map[string]bool{}, kinds: map[string]map[int]int{}, took: map[string][]time.Duration{}}
}

// warmUp opens n cases, so that the first detail reads have cases to read.
func (m *mix) warmUp(t *testing.T, n int) {
	t.Helper()
	var took []time.Duration
	for range n {
		start := time.Now()
		status, err := m.openCase(context.Background())
		if err != nil || status != 201 {
			t.Fatalf("warm-up: open case: %d %v %v", status, err, m.bad)
		}
		took = append(took, time.Since(start))
	}
	p50, _, _, mx := loadgen.Summarize(took)
	t.Logf("warm-up: %d cases opened one at a time, median %s, max %s", n, p50.Round(time.Millisecond), mx.Round(time.Millisecond))
}

// request is the i-th request of the mix, by its place in each hundred:
// -load-openings open a case (2: the season's clients open one case in
// about 55 calls), the rest of the first 20 move a case on (or open one
// when no case waits for a move), 30 read the distributor's case list,
// 30 a case's details (a person looking at a case, which shows what it
// waits for next), 20 a LiKa's queue.
func (m *mix) request(ctx context.Context, i int) (int, error) {
	switch n := i % 100; {
	case n < min(*loadOpenings, 20):
		return m.openCase(ctx)
	case n < 20:
		return m.move(ctx)
	case n < 50:
		return m.send(ctx, "case list", "distri-noord", "GET", "/cases", nil, nil)
	case n < 80:
		m.mu.Lock()
		id := m.cases[i%len(m.cases)]
		m.mu.Unlock()
		org := "distri-noord"
		if i%2 == 0 {
			org = "lyceum-de-linde"
		}
		var c map[string]any
		status, err := m.send(ctx, "case detail", org, "GET", "/cases/"+id, nil, &c)
		if status == 200 {
			m.queueMoves(c)
		}
		return status, err
	default:
		return m.send(ctx, "LiKa queue", "uitgeverij-alfa", "GET", "/tickets", nil, nil)
	}
}

func (m *mix) openCase(ctx context.Context) (int, error) {
	return m.open(ctx, "open case")
}

// open opens a case, counted as kind.
func (m *mix) open(ctx context.Context, kind string) (int, error) {
	m.mu.Lock()
	// A date at most 1,000 days on (the long run opens 1,800 cases): an
	// opening more than five years ahead is refused as a year mistyped;
	// a date used again opens the school's next case of that day.
	on := m.switchOn.AddDate(0, 0, m.opened%1000)
	m.opened++
	m.mu.Unlock()
	var c map[string]any
	status, err := m.send(ctx, kind, "distri-noord", "POST", "/cases", map[string]any{
		"school": "01AB", "from": map[string]any{"quadrant": 1, "idp": "Magister"}, "to": map[string]any{"quadrant": 1, "idp": "itslearning"},
		"likas": []string{"uitgeverij-alfa", "uitgeverij-beta"}, "switch_on": on.Format("2006-01-02"),
	}, &c)
	if status == 201 {
		m.mu.Lock()
		m.cases = append(m.cases, c["id"].(string))
		m.mu.Unlock()
		m.queueMoves(c)
	}
	return status, err
}

// move sends the longest-waiting move, or opens a case when none waits
// (counted apart, as "open case (idle)"). A move refused as busy (503) or
// not answered waits its turn again, as its owner would try again later.
func (m *mix) move(ctx context.Context) (int, error) {
	m.mu.Lock()
	if len(m.todo) == 0 {
		m.mu.Unlock()
		return m.open(ctx, "open case (idle)")
	}
	mv := m.todo[0]
	m.todo = m.todo[1:]
	m.mu.Unlock()
	var out map[string]any
	status, err := m.send(ctx, mv.kind, mv.org, "POST", mv.path, mv.body, &out)
	// A 503 that says the action is recorded must not be sent again (the
	// API's contract): the case shows it shortly, and its next moves come
	// from reading the case. Sent again, it would be refused as done.
	details, _ := out["details"].(map[string]any)
	if (status == http.StatusServiceUnavailable && details["recorded"] != true) || status == 0 {
		m.mu.Lock()
		mv.sentBefore = true
		m.todo = append(m.todo, mv)
		m.mu.Unlock()
	}
	if msg, _ := out["error"].(string); status == http.StatusConflict && mv.sentBefore && strings.Contains(msg, " already ") {
		m.mu.Lock()
		m.landedBefore++
		m.mu.Unlock()
	}
	if status/100 == 2 {
		if mv.then != nil {
			m.mu.Lock()
			m.todo = append(m.todo, *mv.then)
			m.mu.Unlock()
		}
		if mv.kind == "complete step" {
			if out["status"] == "completed" {
				m.mu.Lock()
				m.completed++
				m.mu.Unlock()
			}
			m.queueMoves(out)
		}
	}
	return status, err
}

// queueMoves hands out what the case waits for, each once: its open
// tickets' closing by their LiKas, and its open steps by their owners,
// step 11 after the school's list.
func (m *mix) queueMoves(c map[string]any) {
	id, _ := c["id"].(string)
	if c["status"] != "open" {
		return
	}
	steps, _ := c["steps"].([]any)
	tickets, _ := c["tickets"].([]any)
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, x := range tickets {
		tk, _ := x.(map[string]any)
		tid, _ := tk["id"].(string)
		lika, _ := tk["lika_id"].(string)
		if tk["state"] != "open" || m.queued[id+"/ticket/"+tid] {
			continue
		}
		m.queued[id+"/ticket/"+tid] = true
		m.todo = append(m.todo, move{kind: "close ticket", org: lika, path: "/tickets/" + tid + "/close", body: map[string]any{"note": "verwerkt"}})
	}
	for _, x := range steps {
		st := x.(map[string]any)
		key, _ := st["key"].(string)
		org := demoOwner[fmt.Sprint(st["owner"])]
		if st["state"] != "open" || st["kind"] == "tickets" || st["kind"] == "auto" || org == "" || m.queued[id+"/"+key] {
			continue
		}
		m.queued[id+"/"+key] = true
		body := map[string]any{"passed": true}
		if st["kind"] != "test" {
			records, _ := st["records"].([]any)
			body = map[string]any{"data": sampleData(records)}
		}
		step := move{kind: "complete step", org: org, path: "/cases/" + id + "/steps/" + key, body: body}
		if key == "11" {
			m.todo = append(m.todo, move{kind: "upload list", org: demoOwner["school"], path: "/cases/" + id + "/lists", body: seasonList, then: &step})
			continue
		}
		m.todo = append(m.todo, step)
	}
}

// send makes one API call, reads the whole answer and decodes it into out
// when it is a 2xx; it counts the status by kind and keeps a few refusals.
func (m *mix) send(ctx context.Context, kind, org, method, path string, body, out any) (int, error) {
	var r io.Reader
	contentType := "application/json"
	switch b := body.(type) {
	case nil:
	case string:
		r, contentType = strings.NewReader(b), "text/csv"
	default:
		raw, _ := json.Marshal(b)
		r = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(ctx, method, m.p.url+"/api/v1"+path, r)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+m.p.tokens[org])
	req.Header.Set("Content-Type", contentType)
	start := time.Now()
	resp, err := m.c.Do(req)
	if err != nil {
		m.count(kind, 0, time.Since(start))
		return 0, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		m.count(kind, 0, time.Since(start))
		return 0, err
	}
	m.count(kind, resp.StatusCode, time.Since(start))
	if out != nil {
		_ = json.Unmarshal(raw, out) // an answer, or a refusal's details
	}
	if resp.StatusCode/100 != 2 {
		m.mu.Lock()
		if len(m.bad) < 10 {
			m.bad = append(m.bad, fmt.Sprintf("%s %s as %s: %d %.200s", method, path, org, resp.StatusCode, raw))
		}
		m.mu.Unlock()
	}
	return resp.StatusCode, nil
}

func (m *mix) count(kind string, status int, took time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.kinds[kind] == nil {
		m.kinds[kind] = map[int]int{}
	}
	m.kinds[kind][status]++
	m.took[kind] = append(m.took[kind], took)
}

func (m *mix) log(t *testing.T) {
	t.Helper()
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, k := range []string{"case list", "case detail", "LiKa queue", "open case", "open case (idle)", "complete step", "upload list", "close ticket"} {
		var codes []string
		for _, s := range slices.Sorted(maps.Keys(m.kinds[k])) {
			codes = append(codes, fmt.Sprintf("%d×%d", m.kinds[k][s], s))
		}
		p50, _, p99, mx := loadgen.Summarize(m.took[k])
		t.Logf("  %-16s p50 %6.1fms p99 %7.1fms max %7.1fms (from sending) %v", k, loadgen.Ms(p50), loadgen.Ms(p99), loadgen.Ms(mx), codes)
	}
	t.Logf("  %d cases opened, %d completed, %d moves waiting", len(m.cases), m.completed, len(m.todo))
	for _, b := range m.bad {
		t.Logf("  refused: %s", b)
	}
}
