package api_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx", to count rows behind the API's back

	"github.com/cmr-idp/cmr"
	"github.com/cmr-idp/cmr/gormdb"
)

// pgCluster is a PostgreSQL cluster of the test's own, so that it can be
// killed and restarted without touching a server anyone else uses.
type pgCluster struct {
	bin  string // the server's bin directory
	dir  string // data directory, socket and log; owned by postgres
	port int
}

// asPostgres runs a server program as the postgres user: initdb and the
// server refuse to run as root.
func asPostgres(name string, args ...string) *exec.Cmd {
	var cmd *exec.Cmd
	if os.Geteuid() == 0 {
		cmd = exec.Command("runuser", append([]string{"-u", "postgres", "--", name}, args...)...)
	} else {
		cmd = exec.Command(name, args...)
	}
	// pg_ctl leaves the server running in the background; never wait on
	// a pipe it might have inherited.
	cmd.WaitDelay = 5 * time.Second
	return cmd
}

// startPostgres creates and starts a private cluster on a free port, and
// stops and removes it when the test ends. Without the server's programs
// the test is skipped, except in CI.
func startPostgres(t *testing.T) *pgCluster {
	t.Helper()
	unavailable := func(format string, args ...any) {
		t.Helper()
		if os.Getenv("CI") == "true" {
			t.Fatalf(format, args...)
		}
		t.Skipf(format, args...)
	}
	bins, _ := filepath.Glob("/usr/lib/postgresql/*/bin/pg_ctl")
	if len(bins) == 0 {
		unavailable("no PostgreSQL server programs under /usr/lib/postgresql/*/bin")
	}
	sort.Slice(bins, func(i, j int) bool { return pgMajor(bins[i]) < pgMajor(bins[j]) })
	p := &pgCluster{bin: filepath.Dir(bins[len(bins)-1])}
	var uid, gid int
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			unavailable("running as root without a postgres user to run the server as: %v", err)
		}
		if _, err := exec.LookPath("runuser"); err != nil {
			unavailable("running as root without runuser: %v", err)
		}
		uid, _ = strconv.Atoi(u.Uid)
		gid, _ = strconv.Atoi(u.Gid)
	}
	// Not t.TempDir: its parent is private to root, and the server runs
	// as postgres.
	dir, err := os.MkdirTemp("", "cmr-pgrestart-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if os.Geteuid() == 0 {
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	p.dir = dir
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p.port = l.Addr().(*net.TCPAddr).Port
	l.Close()

	initdb := asPostgres(filepath.Join(p.bin, "initdb"), "-D", p.data(), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync")
	if out, err := initdb.CombinedOutput(); err != nil {
		t.Fatalf("initdb: %v\n%s", err, out)
	}
	p.start(t)
	t.Cleanup(func() {
		_ = asPostgres(filepath.Join(p.bin, "pg_ctl"), "-D", p.data(), "-m", "immediate", "-w", "stop").Run()
	})
	return p
}

func pgMajor(pgCtl string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(pgCtl))))
	return n
}

func (p *pgCluster) data() string { return filepath.Join(p.dir, "data") }

func (p *pgCluster) url() string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", p.port)
}

func (p *pgCluster) pgCtl(t *testing.T, args ...string) {
	t.Helper()
	args = append([]string{"-D", p.data()}, args...)
	if out, err := asPostgres(filepath.Join(p.bin, "pg_ctl"), args...).CombinedOutput(); err != nil {
		log, _ := os.ReadFile(filepath.Join(p.dir, "log"))
		t.Fatalf("pg_ctl %s: %v\n%s\nserver log:\n%s", strings.Join(args, " "), err, out, log)
	}
}

// start starts the server and waits until it accepts connections (after
// crash recovery, following an immediate stop). fsync is off: an
// immediate stop kills processes, not the machine, so what was written
// survives in the page cache, and the test spends its time on restarts.
func (p *pgCluster) start(t *testing.T) {
	t.Helper()
	opts := fmt.Sprintf("-c port=%d -c listen_addresses=127.0.0.1 -c unix_socket_directories=%s -c fsync=off -c shared_buffers=16MB", p.port, p.dir)
	p.pgCtl(t, "-l", filepath.Join(p.dir, "log"), "-w", "-t", "60", "-o", opts, "start")
}

// stopImmediately kills the server the way a crash would: no checkpoint,
// connections dropped mid-statement.
func (p *pgCluster) stopImmediately(t *testing.T) { p.pgCtl(t, "-m", "immediate", "-w", "stop") }

// transition is one request the API acknowledged with 2xx.
type transition struct {
	caseID string
	step   string // "" for the opening
}

// stream is what the clients saw, shared between them.
type stream struct {
	mu       sync.Mutex
	statuses map[int]int
	acked    []transition
	recorded []transition   // 503s saying the action is recorded
	dbDown   int            // 503s saying the database is not reachable
	refusals map[string]int // each 503's and 409's message, counted
	problems []string       // 500s, hangs, 503s without a clear body
}

func (s *stream) note(f func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f()
}

// call sends one request as a client would, with its own timeout, and
// records the answer.
func (s *stream) call(hc *http.Client, base, token, method, path, body string) (int, map[string]any) {
	req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	res, err := hc.Do(req)
	if err != nil {
		s.note(func() { s.problems = append(s.problems, fmt.Sprintf("%s %s: no answer: %v", method, path, err)) })
		return 0, nil
	}
	raw, _ := io.ReadAll(res.Body)
	res.Body.Close()
	var out map[string]any
	_ = json.Unmarshal(raw, &out)
	s.note(func() {
		s.statuses[res.StatusCode]++
		switch res.StatusCode {
		case http.StatusServiceUnavailable:
			msg, _ := out["error"].(string)
			nl, _ := out["error_nl"].(string)
			// Retry-After invites a resend: on every 503 but one saying
			// the action is recorded.
			d, _ := out["details"].(map[string]any)
			if msg == "" || nl == "" || (res.Header.Get("Retry-After") == "") != (d["recorded"] == true) {
				s.problems = append(s.problems, fmt.Sprintf("%s %s: 503 without a clear body, or Retry-After %q with %s", method, path, res.Header.Get("Retry-After"), raw))
			}
			if strings.Contains(msg, "the database is not reachable") {
				s.dbDown++
			}
			s.refusals["503 "+msg]++
		case http.StatusConflict:
			msg, _ := out["error"].(string)
			s.refusals["409 "+msg]++
		case http.StatusOK, http.StatusCreated:
		default:
			s.problems = append(s.problems, fmt.Sprintf("%s %s: %d %s", method, path, res.StatusCode, raw))
		}
	})
	return res.StatusCode, out
}

// TestPostgresRestartedUnderLoad restarts the database three times in
// immediate mode under a steady stream of case transitions from
// concurrent clients, through one router and one store that are never
// recreated. Every transition answered 2xx is in the database exactly
// once; during the outages clients get 503 with a clear body, never a 500
// or no answer; afterwards service resumes by itself.
func TestPostgresRestartedUnderLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("restarts a database: not in -short")
	}
	pg := startPostgres(t)
	store, err := gormdb.OpenPostgres(pg.url())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	if err := store.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	en := newEnv(t, store)
	// One school per client, so that the clients' case IDs never race.
	const clients = 3
	for i := range clients {
		o := cmr.Organisation{ID: fmt.Sprintf("school-pg-%d", i), Name: "School", Role: cmr.RoleSchool, BRIN: fmt.Sprintf("7%dPG", i), Sector: cmr.SectorVO}
		if err := store.UpsertOrganisation(context.Background(), o); err != nil {
			t.Fatal(err)
		}
	}
	srv := httptest.NewServer(en.e)
	defer srv.Close()
	// Past the API's own 15 s deadline: a request that reaches this has
	// hung.
	hc := &http.Client{Timeout: 25 * time.Second}
	run := &stream{statuses: map[int]int{}, refusals: map[string]int{}}
	steps := []struct{ key, body string }{
		{"plan.identity", `{"data":{"change":"realm"}}`},
		{"plan.freeze", `{"data":{"freeze_on":"2027-08-01"}}`},
	}
	// cycle opens a case and completes the distributor's first steps,
	// retrying after a 503 as a client honouring Retry-After would (only
	// sooner). It says whether every transition was acknowledged.
	cycle := func(brin string, stop <-chan struct{}) bool {
		pause := func() bool {
			select {
			case <-stop:
				return false
			case <-time.After(100 * time.Millisecond):
				return true
			}
		}
		// An action answered 503 with details.recorded was carried out:
		// a client does not send it again, and it must land.
		wasRecorded := func(status int, body map[string]any, step string) bool {
			d, _ := body["details"].(map[string]any)
			if status != http.StatusServiceUnavailable || d["recorded"] != true {
				return false
			}
			id, _ := d["case_id"].(string)
			run.note(func() { run.recorded = append(run.recorded, transition{caseID: id, step: step}) })
			return true
		}
		status, body := run.call(hc, srv.URL, en.tokens["dist"], "POST", "/api/v1/cases",
			`{"school":"`+brin+`","from":{"quadrant":1,"idp":"Magister"},"to":{"quadrant":1,"idp":"SOM"},"likas":["lika-a"],"switch_on":"2027-07-15"}`)
		if status != http.StatusCreated {
			wasRecorded(status, body, "")
			pause()
			return false
		}
		id, _ := body["id"].(string)
		run.note(func() { run.acked = append(run.acked, transition{caseID: id}) })
		for _, st := range steps {
			for attempt := 0; ; attempt++ {
				status, body := run.call(hc, srv.URL, en.tokens["dist"], "POST", "/api/v1/cases/"+id+"/steps/"+st.key, st.body)
				if status == http.StatusOK {
					run.note(func() { run.acked = append(run.acked, transition{caseID: id, step: st.key}) })
					break
				}
				if wasRecorded(status, body, st.key) {
					pause()
					return false
				}
				// A 409 after a 503: the step went through the first
				// time after all, or the case moved on. Either way the
				// client has no acknowledgement to hold us to.
				if status != http.StatusServiceUnavailable || attempt == 100 || !pause() {
					return false
				}
			}
		}
		return true
	}

	stop := make(chan struct{})
	var stopOnce sync.Once
	var wg sync.WaitGroup
	// On a failure half-way the clients stop too, before the server.
	defer func() { stopOnce.Do(func() { close(stop) }); wg.Wait() }()
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				cycle(fmt.Sprintf("7%dPG", i), stop)
			}
		}()
	}

	begin := time.Now()
	for i := range 3 {
		time.Sleep(2500 * time.Millisecond)
		pg.stopImmediately(t)
		down := time.Now()
		time.Sleep(2 * time.Second)
		pg.start(t)
		t.Logf("restart %d: down %v", i+1, time.Since(down).Round(100*time.Millisecond))
	}
	time.Sleep(2 * time.Second)
	stopOnce.Do(func() { close(stop) })
	wg.Wait()
	t.Logf("stream of %v: answers %v, %d transitions acknowledged, %d answered recorded", time.Since(begin).Round(100*time.Millisecond), run.statuses, len(run.acked), len(run.recorded))
	for msg, n := range run.refusals {
		t.Logf("%d× %s", n, msg)
	}

	// Service resumes without a new router or store: the first request
	// after the last restart may still meet a connection the restart
	// broke, none after that.
	ready := time.Now().Add(20 * time.Second)
	for {
		if status, _ := run.call(hc, srv.URL, en.tokens["dist"], "GET", "/api/v1/me", ""); status == http.StatusOK {
			break
		}
		if time.Now().After(ready) {
			t.Fatal("the API did not answer 200 within 20 s after the last restart")
		}
		time.Sleep(200 * time.Millisecond)
	}
	for i := range 3 {
		if !cycle("70PG", make(chan struct{})) {
			t.Fatalf("cycle %d after the restarts was refused: answers %v", i, run.statuses)
		}
	}

	for _, p := range run.problems {
		t.Error(p)
	}
	if run.dbDown == 0 {
		t.Errorf("no request during the outages got 503 \"the database is not reachable\": answers %v", run.statuses)
	}
	if len(run.acked) < 10 {
		t.Errorf("only %d transitions acknowledged: no steady stream", len(run.acked))
	}

	// Behind the API's back: each acknowledged transition exactly once.
	db, err := sql.Open("pgx", pg.url())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	count := func(query string, args ...any) int {
		t.Helper()
		var n int
		if err := db.QueryRow(query, args...).Scan(&n); err != nil {
			t.Fatalf("%s: %v", query, err)
		}
		return n
	}
	for _, tr := range run.acked {
		if tr.step == "" {
			if n := count("SELECT count(*) FROM cases WHERE id = $1", tr.caseID); n != 1 {
				t.Errorf("case %s acknowledged, %d rows", tr.caseID, n)
			}
			if n := count("SELECT count(*) FROM events WHERE case_id = $1 AND type = $2", tr.caseID, cmr.EventCaseOpened); n != 1 {
				t.Errorf("case %s acknowledged, %d opening events", tr.caseID, n)
			}
			continue
		}
		if n := count("SELECT count(*) FROM events WHERE case_id = $1 AND type = $2 AND step = $3", tr.caseID, cmr.EventStepCompleted, tr.step); n != 1 {
			t.Errorf("step %s of %s acknowledged, %d completion events", tr.step, tr.caseID, n)
		}
		if n := count("SELECT count(*) FROM case_steps WHERE case_id = $1 AND key = $2 AND state = $3", tr.caseID, tr.step, string(cmr.StepDone)); n != 1 {
			t.Errorf("step %s of %s acknowledged, not done in the projection", tr.step, tr.caseID)
		}
	}
	// Each action answered "recorded" lands once the workflow's own
	// write, retried, gets through.
	for _, tr := range run.recorded {
		if tr.caseID == "" {
			t.Errorf("an opening answered recorded without its case")
			continue
		}
		query, args := "SELECT count(*) FROM events WHERE case_id = $1 AND type = $2", []any{tr.caseID, cmr.EventCaseOpened}
		if tr.step != "" {
			query, args = query+" AND step = $3", []any{tr.caseID, cmr.EventStepCompleted, tr.step}
		}
		landed := time.Now().Add(90 * time.Second)
		for count(query, args...) == 0 && time.Now().Before(landed) {
			time.Sleep(250 * time.Millisecond)
		}
		if n := count(query, args...); n != 1 {
			t.Errorf("%+v answered recorded: %d events", tr, n)
		}
	}
	// Nor twice for anything sent during an outage and answered 503.
	if n := count("SELECT count(*) FROM (SELECT case_id, type, step FROM events WHERE type IN ($1, $2) GROUP BY case_id, type, step HAVING count(*) > 1) d",
		cmr.EventCaseOpened, cmr.EventStepCompleted); n != 0 {
		t.Errorf("%d transitions recorded more than once", n)
	}
	t.Logf("%d cases, %d events in the database", count("SELECT count(*) FROM cases"), count("SELECT count(*) FROM events"))
}
