package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/mail"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	smtpmock "github.com/mocktools/go-smtp-mock/v2"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/cmr-idp/cmr"
	"github.com/cmr-idp/cmr/gormdb"
	"github.com/cmr-idp/cmr/gormdb/gormdbtest"
	"github.com/cmr-idp/cmr/workflows"
)

var (
	faultLong = flag.Bool("fault-long", false, "TestFaultsLoseNothing: the full run (50 cases × 3 LiKas, 20 worker kills) instead of the short one")
	faultSeed = flag.Uint64("fault-seed", 0, "TestFaultsLoseNothing: seed of the fault schedule (0: a new one, logged)")
)

// faultPlan is how hard a fault run pushes.
type faultPlan struct {
	cases, likas, clients int
	workerKills           int
	// temporalStops are the signals Temporal is stopped with, once each.
	temporalStops []syscall.Signal
	// deadline bounds driving the cases; the checks afterwards have their
	// own time limits.
	deadline time.Duration
}

// TestFaultsLoseNothing drives VO cases with three LiKas each through
// `cmr serve`, `cmr worker` and `cmr temporal` as separate processes, while
// the worker is SIGKILLed at random moments and Temporal is stopped and
// started again (twice gracefully, once killed). Afterwards every case must
// be completed, every ticket closed, no audit event and no notification
// duplicated or missing, and no workflow task failed on non-determinism.
//
// The short variant (10 cases, 5 worker kills) runs with the other tests;
// -fault-long runs the full one:
//
//	go test ./cmd/cmr -run TestFaultsLoseNothing -v -timeout 60m -args -fault-long
func TestFaultsLoseNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes and kills them")
	}
	plan := faultPlan{cases: 10, likas: 3, clients: 4, workerKills: 5,
		temporalStops: []syscall.Signal{syscall.SIGINT, syscall.SIGKILL, syscall.SIGINT}, deadline: 5 * time.Minute}
	if *faultLong {
		plan.cases, plan.clients, plan.workerKills, plan.deadline = 50, 8, 20, 40*time.Minute
	}
	seed := *faultSeed
	if seed == 0 {
		seed = rand.Uint64()
	}
	t.Logf("fault plan: %d cases × %d LiKas, %d clients, %d worker kills, Temporal stopped with %v; seed %d (-fault-seed to repeat the schedule)",
		plan.cases, plan.likas, plan.clients, plan.workerKills, plan.temporalStops, seed)
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), plan.deadline)
	defer cancel()

	dsn := gormdbtest.EmptyPostgres(t)
	smtp := smtpmock.New(smtpmock.ConfigurationAttr{MultipleMessageReceiving: true})
	if err := smtp.Start(); err != nil {
		t.Fatal(err)
	}
	defer smtp.Stop()
	// The processes' logs (stderr, one file per run) outlive a failed
	// test, for finding out what happened.
	logs, err := os.MkdirTemp("", "cmr-fault-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("process logs kept in %s", logs)
			return
		}
		os.RemoveAll(logs)
	})
	env := []string{"DATABASE_URL=" + dsn, "CMR_MASTER_KEY=" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{5}, 32)),
		"CMR_SMTP_HOST=127.0.0.1", fmt.Sprintf("CMR_SMTP_PORT=%d", smtp.PortNumber()), "CMR_SMTP_TLS=none",
		"CMR_SMTP_FROM=CMR <noreply@cmr.example>", "CMR_NOTIFY_ANYTIME=true", "CMR_METRICS_TOKEN=fault-test"}
	runCmr(t, env, "migrate")
	tokens := seedFaultParties(t, dsn, plan.likas)

	temporal, worker, serve := startFaultProcesses(t, env, logs)
	t.Logf("processes up in %s: Temporal %s, API %s", time.Since(start).Round(time.Millisecond), temporal.addr, serve.addr)

	fc := &faultClient{url: serve.addr, tokens: tokens, http: &http.Client{Timeout: 2 * time.Minute}}
	for i := range plan.likas {
		fc.likas = append(fc.likas, fmt.Sprintf("lika-%d", i+1))
	}
	// The first case opens before any fault, to count what a case takes;
	// the others open while the faults happen.
	cases := make([]*faultCase, plan.cases)
	for i := range cases {
		cases[i] = &faultCase{i: i}
	}
	first, err := fc.open(ctx, cases[0])
	if err != nil {
		t.Fatal(err)
	}
	actions := plan.cases * first
	t.Logf("first case open after %s; %d actions to go", time.Since(start).Round(time.Millisecond), actions)

	var progress atomic.Int64
	stop := make(chan struct{})
	chaosDone := make(chan chaosLog, 1)
	go func() { chaosDone <- runChaos(ctx, stop, rng, plan, actions, &progress, worker, temporal) }()
	driveStart := time.Now()
	var wg sync.WaitGroup
	var mu sync.Mutex
	for k := range plan.clients {
		var mine []*faultCase
		for i := k; i < len(cases); i += plan.clients {
			mine = append(mine, cases[i])
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs := fc.driveAll(ctx, mine, &progress)
			mu.Lock()
			defer mu.Unlock()
			for _, err := range errs {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	close(stop)
	var ids []string
	for _, c := range cases {
		if c.id != "" {
			ids = append(ids, c.id)
		}
	}
	chaos := <-chaosDone
	t.Logf("cases driven in %s; %s", time.Since(driveStart).Round(time.Millisecond), fc.stats.String())
	t.Logf("chaos: %s", chaos.summary())
	logServeFailures(t, logs)
	if len(fc.stats.duplicates) > 0 {
		t.Errorf("resent openings opened %d second cases: %v", len(fc.stats.duplicates), fc.stats.duplicates)
	}
	if chaos.err != nil {
		t.Fatalf("chaos: %v", chaos.err)
	}
	if chaos.done < plan.workerKills+len(plan.temporalStops) {
		t.Errorf("only %d of %d faults happened before the cases were done (%s)", chaos.done, plan.workerKills+len(plan.temporalStops), chaos.summary())
	}
	if fc.stats.max > 90*time.Second {
		t.Errorf("a request took %s (%s): a client waited longer than the server's write timeout", fc.stats.max, fc.stats.maxWhat)
	}

	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	tc := dialQuiet(t, temporal.addr)
	defer tc.Close()

	// Each check gets its own time: notifications may still be on their
	// way, and a run that overran its deadline is still worth examining.
	within := func(d time.Duration, check func(ctx context.Context)) {
		ctx, cancel := context.WithTimeout(context.Background(), d)
		defer cancel()
		check(ctx)
	}
	within(time.Minute, func(ctx context.Context) { checkFaultCases(ctx, t, fc, db, ids, plan) })
	// A delivery cut off by a worker kill is retried once its minute
	// (StartToCloseTimeout) has passed, with backoff after that.
	within(4*time.Minute, func(ctx context.Context) { checkFaultWorkflows(ctx, t, tc, db) })
	// The audit trails only once the workflows have ended: a case ends
	// when every write it owes has landed. A snapshot whose caller gave up
	// waiting and whose SaveCase a worker kill cut off is written when
	// that activity is retried, after its start-to-close timeout; a later
	// snapshot can show the case completed sooner (its state, not the
	// earlier transition's events).
	within(time.Minute, func(ctx context.Context) { checkFaultEvents(ctx, t, fc, db, ids) })
	within(2*time.Minute, func(ctx context.Context) { checkNoticesSignalled(ctx, t, tc, db) })
	within(time.Minute, func(ctx context.Context) { checkFaultMail(ctx, t, smtp, db, tc, chaos.done) })
	within(3*time.Minute, func(ctx context.Context) { checkNoNondeterminism(ctx, t, tc, db, logs) })
	t.Logf("fault run done in %s", time.Since(start).Round(time.Millisecond))
}

// startFaultProcesses starts `cmr temporal`, then `cmr worker` and `cmr
// serve` against it.
func startFaultProcesses(t testing.TB, env []string, logs string) (temporal, worker, serve *chaosProc) {
	t.Helper()
	// Temporal's data sits with the logs, so a failed run's histories
	// can be read afterwards (`cmr temporal --data DIR`).
	temporal = &chaosProc{name: "temporal", args: []string{"temporal", "--data", filepath.Join(logs, "temporal")},
		env: env, ready: regexp.MustCompile(`Temporal ready at (\S+)`), logDir: logs}
	t.Cleanup(temporal.cleanup)
	if err := temporal.start(); err != nil {
		t.Fatal(err)
	}
	// Restarts insist on the first address: serve and worker keep it.
	temporal.args = append(temporal.args, "--port", temporal.addr[strings.LastIndex(temporal.addr, ":")+1:])
	env = append(slices.Clip(env), "TEMPORAL_ADDRESS="+temporal.addr)
	worker = &chaosProc{name: "worker", args: []string{"worker", "--metrics-addr", "127.0.0.1:0"}, env: env,
		ready: regexp.MustCompile(`(CMR worker polling)`), logDir: logs}
	t.Cleanup(worker.cleanup)
	serve = &chaosProc{name: "serve", args: []string{"serve", "--addr", "127.0.0.1:0"}, env: env,
		ready: regexp.MustCompile(`CMR API at (http://\S+)/api/v1`), logDir: logs}
	t.Cleanup(serve.cleanup)
	for _, p := range []*chaosProc{worker, serve} {
		if err := p.start(); err != nil {
			t.Fatal(err)
		}
	}
	return temporal, worker, serve
}

// seedFaultParties registers a distributor, a VO school, Kennisnet and
// likas LiKas, one person each, and returns an API token per
// organisation ID.
func seedFaultParties(t *testing.T, dsn string, likas int) map[string]string {
	t.Helper()
	ctx := context.Background()
	store, err := gormdb.OpenPostgres(dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	orgs := []cmr.Organisation{
		{ID: "dist", Name: "Distributeur", Role: cmr.RoleDistributor},
		{ID: "school", Name: "Lyceum Storing", Role: cmr.RoleSchool, BRIN: "07FT", Sector: cmr.SectorVO},
		{ID: "kennisnet", Name: "Kennisnet", Role: cmr.RoleKennisnet},
	}
	for i := range likas {
		orgs = append(orgs, cmr.Organisation{ID: fmt.Sprintf("lika-%d", i+1), Name: fmt.Sprintf("LiKa %d", i+1), Role: cmr.RolePublisher})
	}
	tokens := map[string]string{}
	for _, o := range orgs {
		if err := store.UpsertOrganisation(ctx, o); err != nil {
			t.Fatal(err)
		}
		u, err := store.UpsertUser(ctx, cmr.User{OrganisationID: o.ID, Email: o.ID + "@fault.example", Name: "Mens van " + o.Name})
		if err != nil {
			t.Fatal(err)
		}
		if tokens[o.ID], err = store.CreateToken(ctx, u.ID); err != nil {
			t.Fatal(err)
		}
	}
	return tokens
}

// chaosProc is one cmr process that the fault test starts, kills and
// starts again; each run's stderr goes to its own file in logDir.
type chaosProc struct {
	name   string
	args   []string
	env    []string
	ready  *regexp.Regexp
	logDir string

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{} // closed once cmd has exited
	runs int
	addr string // the ready line's submatch
}

// start runs the command and waits for its ready line.
func (p *chaosProc) start() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.runs++
	logFile, err := os.Create(filepath.Join(p.logDir, fmt.Sprintf("%s-%02d.log", p.name, p.runs)))
	if err != nil {
		return err
	}
	cmd := exec.Command(os.Args[0], p.args...)
	cmd.Env = append(append(os.Environ(), "CMR_E2E_AS_MAIN=1"), p.env...)
	cmd.Stderr = logFile
	// Not StdoutPipe: Wait would close it under the reader. Stdout is
	// read until the process has exited and Wait has copied it all.
	out, w := io.Pipe()
	cmd.Stdout = w
	began := time.Now()
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return err
	}
	done := make(chan struct{})
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if m := p.ready.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case found <- m[1]:
				default:
				}
			}
		}
		io.Copy(io.Discard, out)
	}()
	go func() {
		_ = cmd.Wait()
		w.Close()
		logFile.Close()
		close(done)
	}()
	p.cmd, p.done = cmd, done
	select {
	case addr := <-found:
		p.addr = addr
		return nil
	case <-done:
		return fmt.Errorf("cmr %s (run %d) exited before it was ready after %s: %s", p.name, p.runs, time.Since(began).Round(time.Millisecond), p.stderrTail())
	case <-time.After(90 * time.Second):
		return fmt.Errorf("cmr %s (run %d) not ready after 90s: %s", p.name, p.runs, p.stderrTail())
	}
}

// stop sends sig and waits for the process to exit; a process that
// outlives the grace period is killed, and that is an error.
func (p *chaosProc) stop(sig syscall.Signal, grace time.Duration) (time.Duration, error) {
	p.mu.Lock()
	cmd, done := p.cmd, p.done
	p.mu.Unlock()
	began := time.Now()
	if err := cmd.Process.Signal(sig); err != nil {
		return 0, fmt.Errorf("signal %s: %w", p.name, err)
	}
	select {
	case <-done:
		return time.Since(began), nil
	case <-time.After(grace):
		_ = cmd.Process.Kill()
		<-done
		return time.Since(began), fmt.Errorf("cmr %s did not stop within %s of %v", p.name, grace, sig)
	}
}

// cleanup kills the running process, if any.
func (p *chaosProc) cleanup() {
	p.mu.Lock()
	cmd, done := p.cmd, p.done
	p.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Kill()
	<-done
}

// stderrTail is the end of the current run's stderr, for a failure message.
func (p *chaosProc) stderrTail() string {
	b, _ := os.ReadFile(filepath.Join(p.logDir, fmt.Sprintf("%s-%02d.log", p.name, p.runs)))
	if len(b) > 3000 {
		b = b[len(b)-3000:]
	}
	return string(b)
}

// chaosLog is what the chaos goroutine did.
type chaosLog struct {
	done  int
	lines []string
	err   error
}

func (l chaosLog) summary() string {
	return fmt.Sprintf("%d faults: %s", l.done, strings.Join(l.lines, "; "))
}

// runChaos kills the worker workerKills times and stops Temporal with each
// of temporalStops, in a random order, each once the clients' progress has
// passed a random point of the run (and a random moment later), so that
// the faults fall while cases are in flight. Each fault is repaired (the
// process started again after a short random pause) before the next. It
// ends early when stop is closed.
func runChaos(ctx context.Context, stop <-chan struct{}, rng *rand.Rand, plan faultPlan, actions int, progress *atomic.Int64, worker, temporal *chaosProc) chaosLog {
	type fault struct {
		proc *chaosProc
		sig  syscall.Signal
	}
	var faults []fault
	for range plan.workerKills {
		faults = append(faults, fault{worker, syscall.SIGKILL})
	}
	for _, sig := range plan.temporalStops {
		faults = append(faults, fault{temporal, sig})
	}
	rng.Shuffle(len(faults), func(i, j int) { faults[i], faults[j] = faults[j], faults[i] })
	var log chaosLog
	began := time.Now()
	for i, f := range faults {
		// Stratified: fault i falls somewhere in the i-th slice of the
		// run's first 90%.
		at := int64(float64(actions) * (0.02 + 0.88*(float64(i)+0.15+0.7*rng.Float64())/float64(len(faults))))
		for progress.Load() < at {
			select {
			case <-ctx.Done():
				log.err = fmt.Errorf("fault %d: %w at progress %d of %d", i+1, ctx.Err(), progress.Load(), actions)
				return log
			case <-stop:
				return log // the cases are done: the test reports the faults that did not happen
			case <-time.After(50 * time.Millisecond):
			}
		}
		time.Sleep(time.Duration(rng.Int64N(int64(time.Second))))
		took, err := f.proc.stop(f.sig, time.Minute)
		if err != nil {
			log.err = err
			return log
		}
		pause := time.Duration(200+rng.Int64N(2300)) * time.Millisecond
		time.Sleep(pause)
		restart := time.Now()
		if err := f.proc.start(); err != nil {
			log.err = err
			return log
		}
		log.done++
		log.lines = append(log.lines, fmt.Sprintf("%s %v at action %d/%d, %s into the run (stopped in %s, down %s, ready again in %s)",
			f.proc.name, f.sig, progress.Load(), actions, restart.Add(-pause-took).Sub(began).Round(100*time.Millisecond),
			took.Round(time.Millisecond), pause.Round(time.Millisecond), time.Since(restart).Round(time.Millisecond)))
	}
	return log
}

// faultClient is the people at the parties, through the HTTP API.
type faultClient struct {
	url    string
	tokens map[string]string // organisation ID → API token
	likas  []string
	http   *http.Client
	stats  faultStats
}

// faultCase is one case a client drives; id is empty until it is open.
type faultCase struct {
	i  int
	id string
	// refused is the request the API has refused with a conflict since
	// refusedSince, and why: a refusal that lasts means that the case as
	// written and its workflow disagree, and the case is stuck.
	refused, refusedWhy string
	refusedSince        time.Time
}

// stuckAfter is how long a refusal may last: longer than any retry of a
// write cut off by a fault (an activity's 30 s), with room to spare.
const stuckAfter = 2 * time.Minute

// faultStats counts what the clients met.
type faultStats struct {
	mu                          sync.Mutex
	requests, unavailable, lost int // lost: no answer (transport error, timeout)
	// conflicts are 409s to a first attempt (the case read lags behind
	// the engine); doneOnRetry are 409s to a resent request whose first
	// attempt had taken effect.
	conflicts, doneOnRetry int
	duplicates             []string // cases opened a second time by a resent opening
	max                    time.Duration
	maxWhat                string
	outages                map[string]int // 5xx answers by status and message
}

func (s *faultStats) record(what string, status int, took time.Duration, msg any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests++
	switch {
	case status == 0:
		s.lost++
	case status >= 500:
		s.unavailable++
		if s.outages == nil {
			s.outages = map[string]int{}
		}
		s.outages[fmt.Sprintf("%d %.100v", status, msg)]++
	}
	if took > s.max {
		s.max, s.maxWhat = took, what
	}
}

func (s *faultStats) count(f func(s *faultStats)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(s)
}

func (s *faultStats) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return fmt.Sprintf("%d requests, %d answered 5xx %v, %d without answer, %d conflicts on a first attempt, %d resent requests found already done; slowest %s (%s)",
		s.requests, s.unavailable, s.outages, s.lost, s.conflicts, s.doneOnRetry, s.max.Round(time.Millisecond), s.maxWhat)
}

// call sends one request as org and returns the status (0: no answer) and
// the decoded body.
func (fc *faultClient) call(ctx context.Context, org, method, path, contentType string, body []byte) (int, map[string]any, error) {
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, fc.url+"/api/v1"+path, r)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+fc.tokens[org])
	req.Header.Set("Content-Type", contentType)
	if method == http.MethodPost && path == "/cases" {
		// One key per case to open, the same on every attempt (each
		// case's body differs), so a resent opening finds its case.
		sum := sha256.Sum256(body)
		req.Header.Set("Idempotency-Key", hex.EncodeToString(sum[:16]))
	}
	began := time.Now()
	resp, err := fc.http.Do(req)
	what := method + " " + path
	if err != nil {
		fc.stats.record(what, 0, time.Since(began), nil)
		return 0, nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	var out map[string]any
	_ = json.Unmarshal(raw, &out)
	if resp.StatusCode >= 400 && out == nil {
		out = map[string]any{"error": string(raw)}
	}
	fc.stats.record(what, resp.StatusCode, time.Since(began), out["error"])
	if err != nil {
		return 0, nil, err
	}
	return resp.StatusCode, out, nil
}

// send sends a request until something other than an outage answers: on a
// 5xx or no answer it is sent again as it was, after a backoff. The API
// takes no request ID from the client, so a resent request is a new
// request to the server; retried says whether one was resent, so that a
// conflict can be read as "the lost attempt did it".
func (fc *faultClient) send(ctx context.Context, org, method, path, contentType string, body []byte) (status int, res map[string]any, retried bool, err error) {
	wait := 250 * time.Millisecond
	for attempt := 0; ; attempt++ {
		status, res, err = fc.call(ctx, org, method, path, contentType, body)
		if status != 0 && status < 500 {
			return status, res, attempt > 0, nil
		}
		if perr := pause(ctx, wait/2+time.Duration(rand.Int64N(int64(wait)))); perr != nil {
			return status, res, attempt > 0, fmt.Errorf("%s %s as %s: %w (last answer: %d %v %v)", method, path, org, perr, status, res["error"], err)
		}
		wait = min(2*wait, 3*time.Second)
	}
}

func (fc *faultClient) sendJSON(ctx context.Context, org, method, path string, body any) (int, map[string]any, bool, error) {
	var b []byte
	if body != nil {
		b, _ = json.Marshal(body)
	}
	return fc.send(ctx, org, method, path, "application/json", b)
}

// get reads as org.
func (fc *faultClient) get(ctx context.Context, org, path string) (map[string]any, error) {
	status, res, _, err := fc.sendJSON(ctx, org, "GET", path, nil)
	if err != nil {
		return nil, err
	}
	if status != http.StatusOK {
		return nil, fmt.Errorf("GET %s as %s: %d %v", path, org, status, res["error"])
	}
	return res, nil
}

func pause(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}

// faultSwitchOn is case i's switch date, a different one in the summer
// window (no mid-year steps) for each case, since the case ID is the
// school's BRIN and the date.
func faultSwitchOn(i int) string {
	return time.Date(2027+i/28, time.July, 1+i%28, 0, 0, 0, 0, time.UTC).Format(cmr.DateLayout)
}

// open opens case c as the distributor and returns the number of actions
// the case takes from opening to completion: the opening, each human step
// not done at opening, the final test, the list upload and each ticket.
//
// A resent opening carries the same Idempotency-Key, so it answers with
// the case the lost attempt opened; a second case for the school and date
// would be a duplicate (reported, and cancelled so that it does not stay
// open).
func (fc *faultClient) open(ctx context.Context, c *faultCase) (int, error) {
	switchOn := faultSwitchOn(c.i)
	want := "07FT-" + strings.ReplaceAll(switchOn, "-", "")
	status, res, retried, err := fc.sendJSON(ctx, "dist", "POST", "/cases", map[string]any{
		"school": "07FT", "from": map[string]any{"quadrant": 1, "idp": "Magister"}, "to": map[string]any{"quadrant": 1, "idp": "itslearning"},
		"likas": fc.likas, "switch_on": switchOn,
	})
	switch {
	case err != nil:
		return 0, err
	case status == http.StatusCreated && res["id"] != want:
		dup, _ := res["id"].(string)
		fc.stats.count(func(s *faultStats) { s.duplicates = append(s.duplicates, dup) })
		st, res, _, err := fc.sendJSON(ctx, "dist", "POST", "/cases/"+dup+"/cancel", map[string]any{"reason": "second case opened by a resent request"})
		if err != nil {
			return 0, err
		}
		if st != http.StatusOK {
			return 0, fmt.Errorf("cancel the second case %s: %d %v", dup, st, res["error"])
		}
	case status == http.StatusConflict && retried:
		fc.stats.count(func(s *faultStats) { s.doneOnRetry++ })
	case status != http.StatusCreated:
		return 0, fmt.Errorf("open case %s: %d %v", want, status, res["error"])
	}
	// The case as written (after a lost answer, once it is written).
	for {
		st, cs, _, err := fc.sendJSON(ctx, "dist", "GET", "/cases/"+want, nil)
		if err != nil {
			return 0, err
		}
		if st == http.StatusOK {
			c.id = want
			n := 1 + 1 + len(fc.likas)
			for _, x := range cs["steps"].([]any) {
				st := x.(map[string]any)
				if (st["kind"] == string(cmr.StepHuman) || st["kind"] == string(cmr.StepTest)) && st["state"] != string(cmr.StepDone) {
					n++
				}
			}
			return n, nil
		}
		if st != http.StatusNotFound {
			return 0, fmt.Errorf("GET /cases/%s: %d %v", want, st, cs["error"])
		}
		if err := pause(ctx, 200*time.Millisecond); err != nil {
			return 0, fmt.Errorf("case %s not written after its opening: %w", want, err)
		}
	}
}

// faultOwner is who acts for a step's owner role.
var faultOwner = map[string]string{"school": "school", "distributor": "dist", "kennisnet": "kennisnet"}

// faultList is the was-wordt list the school uploads before step 11.
const faultList = "Voornaam;Tussenvoegsel;Achternaam;Postcode;Huisnummer;Oude identiteit (was);Nieuwe identiteit (wordt)\n" +
	"Jan;;Berg;1234 AB;1;jberg@magis.07FT;jan.berg@lyceum.example\nSara;van;Dijk;1234 AB;2;sdijk@magis.07FT;sara.vandijk@lyceum.example\n"

// driveAll takes each case a step further in turn, so that all of a
// client's cases are in flight together, until every one is completed.
func (fc *faultClient) driveAll(ctx context.Context, cases []*faultCase, progress *atomic.Int64) []error {
	var errs []error
	open := slices.Clone(cases)
	for len(open) > 0 {
		var still []*faultCase
		for _, c := range open {
			var done bool
			var err error
			if c.id == "" {
				_, err = fc.open(ctx, c)
				progress.Add(1)
			} else {
				done, err = fc.advance(ctx, c, progress)
			}
			switch {
			case err != nil:
				errs = append(errs, fmt.Errorf("case %d (%s): %w", c.i, c.id, err))
			case !done:
				still = append(still, c)
			}
		}
		open = still
		if ctx.Err() != nil {
			var left []string
			for _, c := range open {
				left = append(left, c.id)
			}
			return append(errs, fmt.Errorf("cases %v not completed: %w", left, ctx.Err()))
		}
	}
	return errs
}

// advance reads the case and does its next action: close an open ticket,
// or complete the first open step. It reports whether the case is
// completed.
func (fc *faultClient) advance(ctx context.Context, fcase *faultCase, progress *atomic.Int64) (bool, error) {
	id := fcase.id
	c, err := fc.get(ctx, "dist", "/cases/"+id)
	if err != nil {
		return false, err
	}
	switch c["status"] {
	case string(cmr.CaseCompleted):
		return true, nil
	case string(cmr.CaseOpen):
	default:
		return false, fmt.Errorf("status %v", c["status"])
	}
	org, path, body := "", "", any(nil)
	for _, x := range c["tickets"].([]any) {
		tk := x.(map[string]any)
		if tk["state"] == string(cmr.TicketOpen) {
			org, path, body = tk["lika_id"].(string), "/tickets/"+tk["id"].(string)+"/close", map[string]any{"note": "verwerkt"}
			break
		}
	}
	if st, data, ok := nextStep(c); ok && path == "" {
		org, path, body = faultOwner[st["owner"].(string)], fmt.Sprintf("/cases/%s/steps/%s", id, st["key"]), data
		if st["key"] == "11" {
			if err := fc.uploadOnce(ctx, id, progress); err != nil {
				return false, err
			}
		}
	}
	if path == "" {
		// Nothing to do by hand right now: the engine is between steps.
		return false, pause(ctx, 100*time.Millisecond)
	}
	status, res, retried, err := fc.sendJSON(ctx, org, "POST", path, body)
	switch {
	case err != nil:
		return false, err
	case status == http.StatusOK:
		progress.Add(1)
	case status == http.StatusConflict && retried:
		// The attempt whose answer was lost did it.
		fc.stats.count(func(s *faultStats) { s.doneOnRetry++ })
		progress.Add(1)
	case status == http.StatusConflict:
		// Done by the engine but not written yet, say: read again.
		fc.stats.count(func(s *faultStats) { s.conflicts++ })
		if fcase.refused != path {
			fcase.refused, fcase.refusedSince = path, time.Now()
		}
		fcase.refusedWhy, _ = res["error"].(string)
		if time.Since(fcase.refusedSince) > stuckAfter {
			return false, fmt.Errorf("stuck: POST %s as %s refused for %s (%s), while the case as written offers it: the projection and the workflow disagree",
				path, org, stuckAfter, fcase.refusedWhy)
		}
		return false, pause(ctx, 200*time.Millisecond)
	default:
		return false, fmt.Errorf("POST %s as %s: %d %v", path, org, status, res["error"])
	}
	fcase.refused = ""
	return false, nil
}

// uploadOnce uploads the school's list unless a version is there already
// (from an upload whose answer was lost).
func (fc *faultClient) uploadOnce(ctx context.Context, id string, progress *atomic.Int64) error {
	lists, err := fc.get(ctx, "school", "/cases/"+id+"/lists")
	if err != nil || len(lists["lists"].([]any)) > 0 {
		return err
	}
	status, res, _, err := fc.send(ctx, "school", "POST", "/cases/"+id+"/lists", "text/csv", []byte(faultList))
	switch {
	case err != nil:
		return err
	case status != http.StatusCreated:
		return fmt.Errorf("upload list: %d %v", status, res["error"])
	}
	progress.Add(1)
	return nil
}

// logServeFailures logs why the API answered 5xx (a 500's body says only
// "something went wrong"), from serve's log.
func logServeFailures(t *testing.T, logDir string) {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(logDir, "serve-*.log"))
	why := map[string]int{}
	for _, f := range files {
		b, _ := os.ReadFile(f)
		for _, line := range strings.Split(string(b), "\n") {
			var rec struct {
				Msg   string `json:"msg"`
				Error string `json:"error"`
			}
			if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == "request failed" {
				why[fmt.Sprintf("%.160s", rec.Error)]++
			}
		}
	}
	if len(why) > 0 {
		t.Logf("the API answered 5xx because: %v", why)
	}
}

// checkFaultCases: every case completed, through the API and in the
// database, and exactly one closed ticket per LiKa per case.
func checkFaultCases(ctx context.Context, t *testing.T, fc *faultClient, db *sql.DB, ids []string, plan faultPlan) {
	t.Helper()
	for _, id := range ids {
		c, err := fc.get(ctx, "school", "/cases/"+id)
		if err != nil {
			t.Errorf("case %s: %v", id, err)
			continue
		}
		if c["status"] != string(cmr.CaseCompleted) {
			t.Errorf("case %s is %v through the API, want completed", id, c["status"])
		}
	}
	var cases, completed, tickets, closed int
	if err := db.QueryRow(`SELECT count(*), count(*) FILTER (WHERE status = 'completed') FROM cases`).Scan(&cases, &completed); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRow(`SELECT count(*), count(*) FILTER (WHERE state = 'closed') FROM tickets`).Scan(&tickets, &closed); err != nil {
		t.Fatal(err)
	}
	if cases != plan.cases || completed != plan.cases {
		t.Errorf("database: %d cases, %d completed; want %d, all completed", cases, completed, plan.cases)
	}
	if want := plan.cases * plan.likas; tickets != want || closed != want {
		t.Errorf("database: %d tickets, %d closed; want exactly %d, all closed", tickets, closed, want)
	}
	t.Logf("%d cases completed, %d tickets closed", completed, closed)
}

// faultEventKey is what makes an audit event one of a kind in a case.
type faultEventKey struct{ typ, step, ticket string }

func (k faultEventKey) String() string { return strings.Trim(k.typ+" "+k.step+" "+k.ticket, " ") }

// checkFaultEvents compares each case's audit trail with what the
// procedure produces: the opening and the completion, each step done by
// hand (or at opening) and the final test once, and each ticket's
// creation, clock start and closing once. The list uploads are the API's
// own events, not the procedure's, and are left out.
func checkFaultEvents(ctx context.Context, t *testing.T, fc *faultClient, db *sql.DB, ids []string) {
	t.Helper()
	got := map[string]map[faultEventKey]int{}
	rows, err := db.Query(`SELECT case_id, type, step, ticket_id, count(*) FROM events WHERE type NOT LIKE 'list%' GROUP BY 1, 2, 3, 4`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var caseID string
		var k faultEventKey
		var n int
		if err := rows.Scan(&caseID, &k.typ, &k.step, &k.ticket, &n); err != nil {
			t.Fatal(err)
		}
		if got[caseID] == nil {
			got[caseID] = map[faultEventKey]int{}
		}
		got[caseID][k] = n
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	var dupKeys int
	if err := db.QueryRow(`SELECT count(*) FROM (SELECT key FROM events GROUP BY key HAVING count(*) > 1) d`).Scan(&dupKeys); err != nil {
		t.Fatal(err)
	}
	if dupKeys > 0 {
		t.Errorf("%d event keys occur more than once", dupKeys)
	}
	total := 0
	for _, id := range ids {
		c, err := fc.get(ctx, "dist", "/cases/"+id)
		if err != nil {
			t.Errorf("case %s: %v", id, err)
			continue
		}
		want := map[faultEventKey]int{{typ: cmr.EventCaseOpened}: 1, {typ: cmr.EventCaseCompleted}: 1}
		for _, x := range c["steps"].([]any) {
			st := x.(map[string]any)
			if st["kind"] == string(cmr.StepHuman) || st["kind"] == string(cmr.StepTest) {
				want[faultEventKey{typ: cmr.EventStepCompleted, step: st["key"].(string)}] = 1
			}
		}
		for _, x := range c["tickets"].([]any) {
			tk := x.(map[string]any)["id"].(string)
			for _, typ := range []string{cmr.EventTicketCreated, cmr.EventTicketClockStarted, cmr.EventTicketClosed} {
				want[faultEventKey{typ: typ, ticket: tk}] = 1
			}
		}
		var diff []string
		for k, n := range want {
			if got[id][k] != n {
				diff = append(diff, fmt.Sprintf("%s: %d, want %d", k, got[id][k], n))
			}
		}
		for k, n := range got[id] {
			total += n
			if _, ok := want[k]; !ok {
				diff = append(diff, fmt.Sprintf("%s: %d, want none", k, n))
			}
		}
		if len(diff) > 0 {
			sort.Strings(diff)
			t.Errorf("case %s audit trail: %s", id, strings.Join(diff, "; "))
		}
	}
	t.Logf("%d procedure events, each once", total)
}

// checkFaultWorkflows: every workflow has completed — each case's, each
// ticket's, and the notices workflow of each case with notifiable events
// (every run of it); none
// failed, timed out or is still running. Notifications may still be on
// their way when the cases are done, so this waits for them.
func checkFaultWorkflows(ctx context.Context, t *testing.T, tc client.Client, db *sql.DB) {
	t.Helper()
	want := map[string]bool{}
	rows, err := db.Query(`SELECT key, type, case_id FROM events UNION ALL SELECT 'case/' || id, '', '' FROM cases UNION ALL SELECT 'ticket/' || id, '', '' FROM tickets`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var key, typ, caseID string
		if err := rows.Scan(&key, &typ, &caseID); err != nil {
			t.Fatal(err)
		}
		if typ == "" {
			want[key] = true // case/… and ticket/… as the workflow IDs are
		} else if notify, _ := cmr.Notifiable(typ); notify {
			want[workflows.NoticesWorkflowID(caseID)] = true
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	// Wait for the running ones to end: counting them is cheap.
	for {
		n, err := tc.CountWorkflow(ctx, &workflowservice.CountWorkflowExecutionsRequest{Query: "ExecutionStatus = 'Running'"})
		if err == nil && n.GetCount() == 0 {
			break
		}
		if pause(ctx, time.Second) != nil {
			t.Errorf("workflows still running after the wait: %d (%v)", n.GetCount(), err)
			resp, err := tc.ListWorkflow(context.Background(), &workflowservice.ListWorkflowExecutionsRequest{PageSize: 5, Query: "ExecutionStatus = 'Running'"})
			if err != nil {
				t.Logf("list running workflows: %v", err)
			}
			for _, w := range resp.GetExecutions() {
				id := w.GetExecution().GetWorkflowId()
				var written string
				if caseID, ok := strings.CutPrefix(id, "case/"); ok {
					_ = db.QueryRow(`SELECT status FROM cases WHERE id = $1`, caseID).Scan(&written)
					written = " (the case as written: " + written + ")"
				}
				t.Logf("still running%s: %s", written, describeStuck(tc, id))
			}
			return
		}
	}
	// Visibility is written after the fact: a workflow that is missing
	// may show up a moment later.
	for attempt := 1; ; attempt++ {
		status, err := listWorkflows(ctx, tc)
		if err != nil {
			t.Errorf("list workflows: %v", err)
			return
		}
		var problems []string
		missing := 0
		for id := range want {
			if st, ok := status[id]; !ok {
				problems = append(problems, id+" never started")
				missing++
			} else if st != enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED {
				problems = append(problems, id+" "+st.String())
			}
		}
		for id, st := range status {
			if !want[id] {
				problems = append(problems, fmt.Sprintf("unexpected workflow %s (%s)", id, st))
			}
		}
		if len(problems) == 0 {
			t.Logf("%d workflows, all completed", len(status))
			return
		}
		if missing < len(problems) || attempt == 5 || pause(ctx, 2*time.Second) != nil {
			sort.Strings(problems)
			t.Errorf("workflows: %d problems: %s", len(problems), strings.Join(firstN(problems, 20), "; "))
			return
		}
	}
}

// checkNoticesSignalled: every notifiable event reached its case's
// notices workflow (a signal in one of its runs), so none was left
// unannounced by a worker killed between the save and the signal.
func checkNoticesSignalled(ctx context.Context, t *testing.T, tc client.Client, db *sql.DB) {
	t.Helper()
	rows, err := db.QueryContext(ctx, `SELECT key, type, case_id FROM events`)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]map[string]bool{} // case → event keys
	for rows.Next() {
		var key, typ, caseID string
		if err := rows.Scan(&key, &typ, &caseID); err != nil {
			t.Fatal(err)
		}
		if notify, _ := cmr.Notifiable(typ); notify {
			if want[caseID] == nil {
				want[caseID] = map[string]bool{}
			}
			want[caseID][key] = true
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	var missing []string
	signalled := 0
	for caseID, keys := range want {
		id := workflows.NoticesWorkflowID(caseID)
		runs, err := tc.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{PageSize: 100, Query: fmt.Sprintf("WorkflowId = '%s'", id)})
		if err != nil {
			t.Fatalf("runs of %s: %v", id, err)
		}
		for _, run := range runs.GetExecutions() {
			it := tc.GetWorkflowHistory(ctx, id, run.GetExecution().GetRunId(), false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
			for it.HasNext() {
				ev, err := it.Next()
				if err != nil {
					t.Fatalf("history of %s: %v", id, err)
				}
				a := ev.GetWorkflowExecutionSignaledEventAttributes()
				if a == nil || a.GetSignalName() != workflows.SignalNotices {
					continue
				}
				var sig workflows.NoticesSignal
				if err := converter.GetDefaultDataConverter().FromPayloads(a.GetInput(), &sig); err != nil {
					t.Fatalf("signal to %s: %v", id, err)
				}
				for _, n := range sig.Notices {
					if keys[n.EventKey] {
						delete(keys, n.EventKey)
						signalled++
					}
				}
			}
		}
		for key := range keys {
			missing = append(missing, key)
		}
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		t.Errorf("%d notifiable events never reached their case's notices: %s", len(missing), strings.Join(firstN(missing, 20), ", "))
	}
	t.Logf("%d notifiable events, each signalled to its case's notices", signalled)
}

// listWorkflows returns the status of every workflow, by ID.
func listWorkflows(ctx context.Context, tc client.Client) (map[string]enumspb.WorkflowExecutionStatus, error) {
	status := map[string]enumspb.WorkflowExecutionStatus{}
	var token []byte
	for {
		// Small pages: a busy server's SQLite visibility store takes its
		// time, and a page must come within the call's timeout.
		resp, err := tc.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{PageSize: 200, NextPageToken: token})
		if err != nil {
			if ctx.Err() != nil {
				return nil, err
			}
			continue
		}
		for _, w := range resp.GetExecutions() {
			// A workflow may have had several runs (a case's notices):
			// one that did not complete is what counts.
			id := w.GetExecution().GetWorkflowId()
			st := w.GetStatus()
			if st == enumspb.WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW {
				st = enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED // its next run counts
			}
			if old, ok := status[id]; !ok || old == enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED {
				status[id] = st
			}
		}
		if token = resp.GetNextPageToken(); len(token) == 0 {
			return status, nil
		}
	}
}

// describeStuck says what a running workflow waits for: its pending
// activities and children, with their last failure.
func describeStuck(tc client.Client, id string) string {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	d, err := tc.DescribeWorkflowExecution(ctx, id, "")
	if err != nil {
		return fmt.Sprintf("%s: %v", id, err)
	}
	out := fmt.Sprintf("%s (%s, %d history events)", id, d.GetWorkflowExecutionInfo().GetType().GetName(), d.GetWorkflowExecutionInfo().GetHistoryLength())
	for _, a := range d.GetPendingActivities() {
		out += fmt.Sprintf("; activity %s %s attempt %d, last failure: %.300s", a.GetActivityType().GetName(), a.GetState(), a.GetAttempt(), a.GetLastFailure().GetMessage())
	}
	for _, c := range d.GetPendingChildren() {
		out += fmt.Sprintf("; child %s", c.GetWorkflowId())
	}
	if wt := d.GetPendingWorkflowTask(); wt != nil {
		out += fmt.Sprintf("; workflow task %s attempt %d", wt.GetState(), wt.GetAttempt())
	}
	// The end of its history says where it stopped.
	var tail []string
	it := tc.GetWorkflowHistory(ctx, id, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			break
		}
		line := fmt.Sprintf("%d %s", ev.GetEventId(), strings.TrimPrefix(ev.GetEventType().String(), "EVENT_TYPE_"))
		if a := ev.GetWorkflowTaskFailedEventAttributes(); a != nil {
			line += fmt.Sprintf(" (%s: %.200s)", a.GetCause(), a.GetFailure().GetMessage())
		}
		if a := ev.GetWorkflowExecutionUpdateAcceptedEventAttributes(); a != nil {
			line += " (" + a.GetAcceptedRequest().GetInput().GetName() + " " + a.GetProtocolInstanceId() + ")"
		}
		if a := ev.GetWorkflowExecutionUpdateCompletedEventAttributes(); a != nil {
			line += " (" + a.GetMeta().GetUpdateId() + ")"
		}
		if a := ev.GetWorkflowExecutionSignaledEventAttributes(); a != nil {
			line += " (" + a.GetSignalName() + ")"
		}
		if a := ev.GetActivityTaskScheduledEventAttributes(); a != nil {
			line += " (" + a.GetActivityType().GetName() + ")"
		}
		tail = append(tail, line)
	}
	return out + "; history ends: " + strings.Join(tail[max(0, len(tail)-25):], ", ")
}

func firstN(s []string, n int) []string {
	if len(s) > n {
		return append(s[:n:n], fmt.Sprintf("… %d more", len(s)-n))
	}
	return s
}

// checkFaultMail: every e-mail delivery is sent, and the SMTP server got
// each one, by Message-ID (the same on every attempt).
//
// E-mail goes out at least once, not exactly once: a worker killed after
// the mail server accepted a mail and before the delivery log recorded it
// sends it again when the activity is retried. Marking the row first and
// not sending again would lose the mail instead, and a lost deadline
// reminder is worse than a second copy; mail programs show the copy, with
// its identical Message-ID, as one message. So a mail may arrive twice,
// but only as often as a fault could have caused it: at most once per
// fault.
func checkFaultMail(ctx context.Context, t *testing.T, smtp *smtpmock.Server, db *sql.DB, tc client.Client, faults int) {
	t.Helper()
	var sent, notSent int
	for {
		// Pending or failed is not sent (yet); a state a later design may
		// add for a notice that need not go out any more is not counted.
		if err := db.QueryRow(`SELECT count(*) FILTER (WHERE state = $1), count(*) FILTER (WHERE state IN ($2, $3)) FROM deliveries WHERE channel = 'email'`,
			cmr.DeliverySent, cmr.DeliveryPending, cmr.DeliveryFailed).Scan(&sent, &notSent); err != nil {
			t.Fatal(err)
		}
		if notSent == 0 || pause(ctx, time.Second) != nil {
			break
		}
	}
	if notSent > 0 {
		t.Errorf("%d e-mail deliveries not sent (%d sent): %s", notSent, sent, unsentDeliveries(db, tc))
	}
	var dup int
	if err := db.QueryRow(`SELECT count(*) FROM (SELECT 1 FROM deliveries GROUP BY event_key, kind, channel, organisation_id, user_id HAVING count(*) > 1) d`).Scan(&dup); err != nil {
		t.Fatal(err)
	}
	if dup > 0 {
		t.Errorf("%d notices have more than one delivery row", dup)
	}
	ids := map[string]int{}
	for _, m := range smtp.Messages() {
		if !m.Msg() {
			continue
		}
		parsed, err := mail.ReadMessage(strings.NewReader(m.MsgRequest()))
		if err != nil {
			t.Errorf("mail does not parse: %v", err)
			continue
		}
		ids[parsed.Header.Get("Message-Id")]++
	}
	// The delivery log's attempts tell the two ways a mail goes out twice
	// apart: 1 attempt recorded, the worker died between the send and
	// the record; more, an attempt failed after the server had the mail.
	attempts := map[string]string{}
	if rows, err := db.Query(`SELECT id, attempts FROM deliveries WHERE channel = 'email'`); err == nil {
		for rows.Next() {
			var id string
			var n int
			if rows.Scan(&id, &n) == nil {
				attempts["<"+strings.NewReplacer("/", ".", "#", "-", " ", "").Replace(id)+"@cmr.invalid>"] = fmt.Sprintf("%d attempts recorded", n)
			}
		}
		rows.Close()
	}
	var twice []string
	for id, n := range ids {
		if n > 1 {
			twice = append(twice, fmt.Sprintf("%s ×%d (%s)", id, n, attempts[id]))
		}
	}
	sort.Strings(twice)
	switch {
	case len(twice) > faults:
		t.Errorf("%d mails delivered more than once, after %d faults: %s", len(twice), faults, strings.Join(firstN(twice, 10), ", "))
	case len(twice) > 0:
		t.Logf("%d mails sent again after a fault (at least once, same Message-ID): %s", len(twice), strings.Join(twice, ", "))
	}
	if len(ids) != sent {
		t.Errorf("the SMTP server got %d different mails; the delivery log says %d were sent", len(ids), sent)
	}
	t.Logf("%d notification mails, each at least once", len(ids))
}

// unsentDeliveries describes the e-mail deliveries not sent, with the
// status of their case's notices workflow.
func unsentDeliveries(db *sql.DB, tc client.Client) string {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rows, err := db.QueryContext(ctx, `SELECT id, case_id, state, attempts, last_error FROM deliveries WHERE channel = 'email' AND state IN ($1, $2) ORDER BY id`,
		cmr.DeliveryPending, cmr.DeliveryFailed)
	if err != nil {
		return err.Error()
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id, caseID, state, last string
		var attempts int
		if err := rows.Scan(&id, &caseID, &state, &attempts, &last); err != nil {
			return err.Error()
		}
		notices := "not found"
		if d, err := tc.DescribeWorkflowExecution(ctx, workflows.NoticesWorkflowID(caseID), ""); err == nil {
			notices = d.GetWorkflowExecutionInfo().GetStatus().String()
		}
		out = append(out, fmt.Sprintf("%s (%s, %d attempts, %q; the case's notices workflow: %s)", id, state, attempts, last, notices))
	}
	return strings.Join(out, "; ")
}

var nondeterministic = regexp.MustCompile(`(?i)non-?deterministic`)

// checkNoNondeterminism: no worker run logged a non-determinism error, and
// no case or ticket workflow task failed with one.
func checkNoNondeterminism(ctx context.Context, t *testing.T, tc client.Client, db *sql.DB, logDir string) {
	t.Helper()
	logs, _ := filepath.Glob(filepath.Join(logDir, "worker-*.log"))
	for _, f := range logs {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(string(b), "\n") {
			if nondeterministic.MatchString(line) {
				t.Errorf("%s: %.500s", filepath.Base(f), line)
				break
			}
		}
	}
	rows, err := db.Query(`SELECT 'case/' || id FROM cases UNION ALL SELECT 'ticket/' || id FROM tickets`)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	failed := map[string]int{}
	for _, id := range ids {
		it := tc.GetWorkflowHistory(ctx, id, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		for it.HasNext() {
			ev, err := it.Next()
			if err != nil {
				t.Errorf("history of %s: %v", id, err)
				break
			}
			if ev.GetEventType() != enumspb.EVENT_TYPE_WORKFLOW_TASK_FAILED {
				continue
			}
			a := ev.GetWorkflowTaskFailedEventAttributes()
			failed[a.GetCause().String()]++
			if a.GetCause() == enumspb.WORKFLOW_TASK_FAILED_CAUSE_NON_DETERMINISTIC_ERROR {
				t.Errorf("%s: workflow task failed on non-determinism: %.500s", id, a.GetFailure().GetMessage())
			}
		}
	}
	t.Logf("%d worker logs and %d case and ticket histories checked for non-determinism; failed workflow tasks by cause: %v", len(logs), len(ids), failed)
}
