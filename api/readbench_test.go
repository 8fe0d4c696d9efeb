package api_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cmr-idp/cmr"
	"github.com/cmr-idp/cmr/api"
	"github.com/cmr-idp/cmr/casework"
	"github.com/cmr-idp/cmr/gormdb"
	"github.com/cmr-idp/cmr/gormdb/gormdbtest"
	"github.com/cmr-idp/cmr/internal/loadgen"
)

var (
	readsDuration = flag.Duration("reads-duration", 5*time.Second, "BenchmarkReads: how long each 200 req/s run lasts")
	readsStep     = flag.Duration("reads-step", 3*time.Second, "BenchmarkReads: how long each step of the highest-rate search lasts")
)

const (
	readCases = 10_000
	// readGoalRate and readGoalP99 are issue 7's goal for reads;
	// readSearchP99 is the p99 the highest-rate search holds to.
	readGoalRate  = 200
	readGoalP99   = 20 * time.Millisecond
	readSearchP99 = 100 * time.Millisecond
)

// readRates are the steps of the highest-rate search.
var readRates = []float64{10, 25, 50, 100, 150, 200, 300, 400, 600, 800, 1200, 1600, 2400, 3200, 4800, 6400}

// BenchmarkReads puts the distributor's case list and a LiKa's queue
// under an open-model load (internal/loadgen) over real HTTP, with 10,000
// cases in the database: first at issue 7's 200 requests per second (goal
// p99 < 20 ms), then stepping the rate up to the highest with a p99 below
// 100 ms. The baseline, measured the same way in the same run, is a bare
// net/http handler that runs the equivalent SQL on the same database
// (same page, same order, at-risk flag in the query) and writes JSON: the
// ratios say what the API adds (token lookup, ORM, the warnings
// decoded, the at-risk tickets fetched, the JSON it builds).
//
// The load runs once whatever b.N is; -v shows every run:
//
//	go test ./api -run '^$' -bench BenchmarkReads -benchtime 1x -v
func BenchmarkReads(b *testing.B) {
	b.Run("sqlite", func(b *testing.B) {
		store, db := openReadsSQLite(b)
		// No ANALYZE: `cmr dev` never runs it, so its SQLite plans without
		// statistics.
		benchReads(b, store, db)
	})
	b.Run("postgres", func(b *testing.B) {
		url := gormdbtest.EmptyPostgres(b)
		store, err := gormdb.OpenPostgres(url)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { store.Close() })
		db, err := sql.Open("pgx", url)
		if err != nil {
			b.Fatal(err)
		}
		db.SetMaxOpenConns(20) // as gormdb's
		db.SetMaxIdleConns(20)
		// A served database has statistics (autovacuum analyzes a table
		// soon after a bulk load); without them the planner misjudges the
		// case list and sorts all of a distributor's cases. It has also
		// been vacuumed (autovacuum visits the new tables) and
		// checkpointed (the seeding dirties most of shared_buffers) since.
		// CHECKPOINT needs a superuser or pg_checkpoint, as the test
		// databases' postgres user is. (A second of load before each
		// measured one does the rest: see benchReads.)
		benchReads(b, store, db, "VACUUM ANALYZE", "CHECKPOINT")
	})
}

// openReadsSQLite opens an empty SQLite database twice: as the store,
// and as the bare handler's connection with gormdb's settings (one
// connection, WAL).
func openReadsSQLite(b *testing.B) (*gormdb.Store, *sql.DB) {
	path := filepath.Join(b.TempDir(), "cmr.db")
	store, err := gormdb.OpenSQLite(path)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { store.Close() })
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)&_time_format=sqlite")
	if err != nil {
		b.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	return store, db
}

// readRoute is one read under load: through the API and bare.
type readRoute struct {
	name      string
	key       string // in metric names
	path      string // API path and query
	bare      string // bare handler's path
	org       string
	rows      int           // rows each answer should carry
	apiOne    time.Duration // one request at a time (median of 21)
	baseOne   time.Duration
	api, base loadgen.Result
	apiMax    float64
	baseMax   float64
}

// settle is run on db after the seeding, statement by statement.
func benchReads(b *testing.B, store *gormdb.Store, db *sql.DB, settle ...string) {
	b.Cleanup(func() { db.Close() })
	// A benchmark's log is cut after ten lines unless -v: the table at the
	// end always shows, each run's details with -v.
	logf := func(format string, args ...any) {
		b.Helper()
		if testing.Verbose() {
			b.Logf(format, args...)
		}
	}
	ctx := context.Background()
	if err := store.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	en := newEnv(b, store)
	t0 := time.Now()
	open := seedReads(b, store)
	logf("seeded %d cases with 3 tickets each in %s", readCases, time.Since(t0).Round(time.Millisecond))
	for _, q := range settle {
		t0 = time.Now()
		if _, err := db.Exec(q); err != nil {
			b.Fatal(err)
		}
		logf("%s: %s", q, time.Since(t0).Round(time.Millisecond))
	}

	apiSrv := httptest.NewServer(en.e)
	defer apiSrv.Close()
	bareSrv := httptest.NewServer(bareReads(db, en.tokens))
	defer bareSrv.Close()
	c := loadgen.NewClient()

	routes := []*readRoute{
		{name: "case list", key: "list", path: "/api/v1/cases", bare: "/cases", org: "dist", rows: api.DefaultCasePage},
		{name: "LiKa queue", key: "queue", path: "/api/v1/tickets?state=open", bare: "/queue", org: "lika-a", rows: min(open["lika-a"], api.DefaultTicketPage)},
	}
	for _, r := range routes {
		// Both answer the same rows before anything is timed; one at a
		// time, the median of 21 is the service time without load.
		var one [2][]time.Duration
		for range 21 {
			for k, url := range []string{apiSrv.URL + r.path, bareSrv.URL + r.bare} {
				t := time.Now()
				if got := countRows(b, c, url, en.tokens[r.org]); got != r.rows {
					b.Fatalf("%s: %s answers %d rows, want %d", r.name, url, got, r.rows)
				}
				one[k] = append(one[k], time.Since(t))
			}
		}
		r.apiOne, _, _, _ = loadgen.Summarize(one[0])
		r.baseOne, _, _, _ = loadgen.Summarize(one[1])
		logf("%s one at a time: API %s, bare %s", r.name, msStr(r.apiOne), msStr(r.baseOne))
	}

	// Beyond its capacity the API may refuse (503); a 500 or a broken
	// connection is a fault whatever the load.
	var faults []string
	checkFaults := func(what string, r loadgen.Result) {
		if n := r.Count(500, 502) + r.Count(504, 599) + r.Errors; n > 0 {
			faults = append(faults, fmt.Sprintf("%s: %d answers 5xx other than 503 or transport errors: %s", what, n, r))
		}
	}
	b.ResetTimer()
	cfg := loadgen.Config{Rate: readGoalRate, Duration: *readsDuration, Timeout: 10 * time.Second}
	step := loadgen.Config{Duration: *readsStep, Timeout: 10 * time.Second}
	for _, r := range routes {
		apiGet := loadgen.GET(c, apiSrv.URL+r.path, en.tokens[r.org])
		bareGet := loadgen.GET(c, bareSrv.URL+r.bare, en.tokens[r.org])
		// A second of the same load on each first, not counted in the
		// figures (its faults are): without it, the first measured load,
		// the bare handler's, caught a transient on PostgreSQL (p99 0.4
		// and 0.9 s, the API after it 53 and 269 ms; VACUUM and
		// CHECKPOINT alone did not remove it), and SQLite's queue p99 was
		// 21 ms against 10-17 ms with it. The pools growing to the
		// load, the caches filling and, for the queue, the list's
		// overloaded search just before are the likely causes, not
		// measured apart. Then bare first: a cold API run must not
		// flatter the ratio. The pauses let what an overloaded run left
		// behind finish before the next.
		warm := cfg
		warm.Duration = time.Second
		wb := loadgen.Run(ctx, warm, bareGet)
		wa := loadgen.Run(ctx, warm, apiGet)
		logf("%s warm-up, not counted: bare %s; API %s", r.name, wb, wa)
		checkFaults(r.name+" warm-up", wa)
		time.Sleep(time.Second)
		r.base = loadgen.Run(ctx, cfg, bareGet)
		time.Sleep(2 * time.Second)
		r.api = loadgen.Run(ctx, cfg, apiGet)
		time.Sleep(2 * time.Second)
		logf("%s bare: %s", r.name, r.base)
		logf("%s API:  %s", r.name, r.api)
		checkFaults(r.name, r.api)
		var runs []loadgen.Result
		r.baseMax, runs = loadgen.MaxRate(ctx, step, readRates, readSearchP99, bareGet)
		for _, x := range runs {
			logf("%s bare search: %s", r.name, x)
		}
		time.Sleep(2 * time.Second)
		r.apiMax, runs = loadgen.MaxRate(ctx, step, readRates, readSearchP99, apiGet)
		for _, x := range runs {
			logf("%s API search:  %s", r.name, x)
			checkFaults(r.name, x)
		}
		time.Sleep(2 * time.Second) // after the search's overload, before the next read
	}
	b.StopTimer()

	var tbl strings.Builder
	fmt.Fprintf(&tbl, "\n%d cases; %.0f req/s for %s (goal p99 < %s); highest rate with p99 < %s (steps of %s)\n",
		readCases, float64(readGoalRate), *readsDuration, readGoalP99, readSearchP99, *readsStep)
	fmt.Fprintf(&tbl, "%-11s %5s | %-25s | %-37s | %-25s | %s\n", "", "", "one at a time (median)", fmt.Sprintf("at %d req/s", readGoalRate), fmt.Sprintf("max rate, p99 < %s", readSearchP99), "")
	fmt.Fprintf(&tbl, "%-11s %5s | %8s %8s %7s | %8s %8s %8s %2s %6s | %7s %7s %9s | %s\n", "read", "rows", "API", "bare", "×", "API p50", "API p99", "bare p99", "", "×", "API", "bare", "×", "goal")
	for _, r := range routes {
		goal := "met"
		if r.api.P99 >= readGoalP99 || r.api.Failed() > 0 {
			goal = fmt.Sprintf("MISSED (%d of %d failed)", r.api.Failed(), r.api.Scheduled)
		}
		fmt.Fprintf(&tbl, "%-11s %5d | %8s %8s %7.1f | %8s %8s %8s %2s %6.1f | %5.0f/s %5.0f/s %9.2f | %s\n", r.name, r.rows,
			msStr(r.apiOne), msStr(r.baseOne), ratio(r.apiOne, r.baseOne),
			msStr(r.api.P50), msStr(r.api.P99), msStr(r.base.P99), "", ratio(r.api.P99, r.base.P99),
			r.apiMax, r.baseMax, r.apiMax/max(r.baseMax, 1), goal)
		b.ReportMetric(loadgen.Ms(r.apiOne), r.key+"-one-ms")
		b.ReportMetric(ratio(r.apiOne, r.baseOne), r.key+"-one-x-bare")
		b.ReportMetric(loadgen.Ms(r.api.P50), r.key+"-p50-ms")
		b.ReportMetric(loadgen.Ms(r.api.P99), r.key+"-p99-ms")
		b.ReportMetric(loadgen.Ms(r.base.P99), r.key+"-bare-p99-ms")
		b.ReportMetric(ratio(r.api.P99, r.base.P99), r.key+"-p99-x-bare")
		b.ReportMetric(r.apiMax, r.key+"-max-req/s")
		b.ReportMetric(r.apiMax/max(r.baseMax, 1), r.key+"-max-x-bare")
	}
	b.ReportMetric(0, "ns/op") // one load run, not a per-operation time
	// A missed goal is a figure (the table, the metrics), not a failure:
	// a failed benchmark prints no metrics.
	b.Log(tbl.String())
	for _, f := range faults {
		b.Error(f)
	}
}

func msStr(d time.Duration) string { return fmt.Sprintf("%.1fms", loadgen.Ms(d)) }

func ratio(a, b time.Duration) float64 {
	if b <= 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// countRows gets url once and counts the entries of its one list.
func countRows(b *testing.B, c *http.Client, url, token string) int {
	b.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := c.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]json.RawMessage
	if resp.StatusCode != 200 || json.NewDecoder(resp.Body).Decode(&body) != nil {
		b.Fatalf("GET %s: %d", url, resp.StatusCode)
	}
	lists := 0
	var rows []json.RawMessage
	for _, v := range body {
		if json.Unmarshal(v, &rows) == nil {
			lists++
		}
	}
	if lists != 1 {
		b.Fatalf("GET %s: %d lists in the answer", url, lists)
	}
	return len(rows)
}

// readCase is one seeded case: who, and where it stands.
type readCase struct {
	i      int
	dist   string
	school cmr.Organisation
	status cmr.CaseStatus
	due    time.Duration // open cases: when the tickets are due, from now
}

// seedReads writes readCases cases, each with tickets for lika-a, lika-b
// and lika-c, straight into the projection through the store (as the
// workflows' SaveCase and SaveTicket activities do), and returns how many
// open tickets each LiKa has. The mix is that of a database some years in
// use: 85% completed, 5% cancelled, 10% open. The open cases' tickets are
// due from 3 days ago to 11 days ahead, so some are overdue and some at
// risk; half of the open MBO cases still wait for their list. Cases are
// spread over both distributors and both schools.
func seedReads(b *testing.B, store *gormdb.Store) map[string]int {
	b.Helper()
	rng := rand.New(rand.NewPCG(7, 11))
	schools := []cmr.Organisation{parties[0], parties[1]}
	cases := make([]readCase, readCases)
	open := map[string]int{}
	for i := range cases {
		rc := readCase{i: i, dist: []string{"dist", "dist-other"}[rng.IntN(2)], school: schools[rng.IntN(2)], status: cmr.CaseCompleted}
		switch n := rng.IntN(100); {
		case n < 10:
			rc.status = cmr.CaseOpen
			rc.due = time.Duration(rng.IntN(14*24)-3*24) * time.Hour
			if rc.school.Sector == cmr.SectorVO || i%2 == 0 {
				for _, l := range []string{"lika-a", "lika-b", "lika-c"} {
					open[l]++
				}
			}
		case n < 15:
			rc.status = cmr.CaseCancelled
		}
		cases[i] = rc
	}
	// SQLite has one connection; Postgres takes writers side by side.
	workers := 1
	if strings.HasSuffix(b.Name(), "postgres") {
		workers = 8
	}
	now := time.Now().UTC()
	work := make(chan readCase)
	errs := make(chan error, workers)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for rc := range work {
				if err := seedCase(store, rc, now); err != nil {
					errs <- err
					for range work {
					}
					return
				}
			}
		}()
	}
	for _, rc := range cases {
		work <- rc
	}
	close(work)
	wg.Wait()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	return open
}

// seedCase builds the case as casework.OpenCase would, moves it to where
// rc stands, and saves it and its tickets.
func seedCase(store *gormdb.Store, rc readCase, now time.Time) error {
	ctx := context.Background()
	sc := cmr.Scenario{Sector: rc.school.Sector, From: cmr.Endpoint{Quadrant: 1, IdP: "Magister"}, To: cmr.Endpoint{Quadrant: 1, IdP: "SOM"}}
	if rc.school.Sector == cmr.SectorMBO {
		sc.From, sc.To = cmr.Endpoint{ECK: true, Kind: cmr.KindELO}, cmr.Endpoint{ECK: true, Kind: cmr.KindNonPortal}
	}
	switchOn := time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC).AddDate(0, 0, rc.i%900)
	// Asked three months ahead, or today for a switch further off (a
	// request cannot lie after today).
	today := cmr.DefaultCalendarConfig().Today(now)
	requested := switchOn.AddDate(0, -3, 0)
	if requested.After(today) {
		requested = today
	}
	timing, err := casework.CheckTiming(cmr.Timing{RequestedOn: requested, SwitchOn: switchOn}, sc.Sector, today)
	if err != nil {
		return err
	}
	check, err := cmr.CheckScenario(sc, timing)
	if err != nil {
		return err
	}
	if check.Outcome != cmr.OutcomeSupported {
		return fmt.Errorf("seed scenario %v: %s", sc, check.Outcome)
	}
	opts := cmr.CaseOptions{KeepHistory: true}
	id := fmt.Sprintf("%s-%s-%d", rc.school.BRIN, switchOn.Format("20060102"), rc.i)
	header := cmr.CaseHeader{ID: id, SchoolID: rc.school.ID, DistributorID: rc.dist, Sector: sc.Sector, Scenario: sc,
		Funding: check.Funding, WasWordt: check.WasWordt, Described: check.Described, Options: opts,
		RequestedOn: timing.RequestedOn, SwitchOn: timing.SwitchOn, ListOpensOn: timing.ListOpensOn, Deadline: check.Deadline,
		MidYear: check.MidYear, Warnings: check.Warnings, Calendar: cmr.DefaultCalendarConfig(), SLADays: 3}
	likas := []string{"lika-a", "lika-b", "lika-c"}
	ps := cmr.Parties{SchoolID: rc.school.ID, DistributorID: rc.dist, LiKaIDs: likas, KennisnetIDs: []string{"kn"}}
	plan := cmr.Procedure(cmr.PlanInput{Sector: sc.Sector, Funding: check.Funding, Options: opts, MidYear: check.MidYear, WasWordt: check.WasWordt})
	opener := cmr.Actor{UserID: "seed", OrganisationID: rc.dist, Role: cmr.RoleDistributor}
	opened := now.Add(-30 * 24 * time.Hour)
	st := cmr.NewCaseState(id, sc.Sector, ps, plan, opener, opened)
	st.Status = rc.status
	if rc.status == cmr.CaseCompleted {
		for i := range st.Steps {
			st.Steps[i].State, st.Steps[i].DoneBy, st.Steps[i].DoneAt = cmr.StepDone, &opener, opened.Add(time.Duration(i)*time.Hour)
		}
	}
	if err := store.SaveCase(ctx, header, *st, 1, "", nil); err != nil {
		return err
	}
	for n, l := range likas {
		t := cmr.Ticket{ID: cmr.TicketIDFor(id, n+1), CaseID: id, LiKaID: l, Version: 1}
		started, due := opened.Add(24*time.Hour), opened.Add(96*time.Hour)
		warn := due.Add(-24 * time.Hour)
		switch {
		case rc.status == cmr.CaseCompleted:
			done := due.Add(-time.Hour)
			t.State, t.ClockStartedAt, t.WarnAt, t.DueAt, t.ResolvedAt = cmr.TicketClosed, &started, &warn, &due, &done
			t.ResolvedBy = &cmr.Actor{UserID: "seed", OrganisationID: l, Role: cmr.RolePublisher}
		case rc.status == cmr.CaseCancelled:
			t.State, t.ResolvedAt = cmr.TicketCancelled, &started
		case sc.Sector == cmr.SectorMBO && rc.i%2 == 1:
			t.State = cmr.TicketAwaitingList
		default:
			due = now.Add(rc.due)
			started, warn = due.Add(-72*time.Hour), due.Add(-24*time.Hour)
			t.State, t.ClockStartedAt, t.WarnAt, t.DueAt = cmr.TicketOpen, &started, &warn, &due
		}
		if err := store.SaveTicket(ctx, t, nil); err != nil {
			return err
		}
	}
	return nil
}

// bareReads is the baseline: the same reads as the API, each one SQL
// query written by hand on database/sql, answered with encoding/json. The
// token is compared in memory; the API looks it up in the database.
func bareReads(db *sql.DB, tokens map[string]string) http.Handler {
	orgOf := map[string]string{}
	for org, tok := range tokens {
		orgOf["Bearer "+tok] = org
	}
	casesSQL := `SELECT c.id, c.school_id, c.distributor_id, c.sector, c.status, c.switch_on, c.deadline_on, c.warnings, c.created_at, c.updated_at,
		EXISTS (SELECT 1 FROM tickets t WHERE t.case_id = c.id AND t.state = 'open' AND t.warn_at <= $2)
	FROM cases c
	WHERE EXISTS (SELECT 1 FROM case_parties p WHERE p.case_id = c.id AND p.organisation_id = $1)
	ORDER BY c.created_at DESC, c.id LIMIT ` + strconv.Itoa(api.DefaultCasePage)
	queueSQL := `SELECT t.id, t.case_id, t.lika_id, t.state, t.clock_started_at, t.warn_at, t.due_at, t.warned_at, t.breached_at, t.resolved_at, t.note
	FROM tickets t
	WHERE t.lika_id = $1 AND t.state = 'open'
	ORDER BY t.due_at IS NULL, t.due_at, t.id LIMIT ` + strconv.Itoa(api.DefaultTicketPage)
	fail := func(w http.ResponseWriter, err error) { http.Error(w, err.Error(), http.StatusInternalServerError) }
	mux := http.NewServeMux()
	mux.HandleFunc("GET /cases", func(w http.ResponseWriter, r *http.Request) {
		org, ok := orgOf[r.Header.Get("Authorization")]
		if !ok {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		now := time.Now().UTC()
		rows, err := db.QueryContext(r.Context(), casesSQL, org, now)
		if err != nil {
			fail(w, err)
			return
		}
		defer rows.Close()
		type caseJSON struct {
			ID            string          `json:"id"`
			SchoolID      string          `json:"school_id"`
			DistributorID string          `json:"distributor_id"`
			Sector        string          `json:"sector"`
			Status        string          `json:"status"`
			SwitchOn      string          `json:"switch_on"`
			Deadline      string          `json:"deadline"`
			AtRisk        bool            `json:"at_risk"`
			Warnings      json.RawMessage `json:"warnings"`
			CreatedAt     time.Time       `json:"created_at"`
			UpdatedAt     time.Time       `json:"updated_at"`
		}
		out := []caseJSON{}
		soon := now.Add(gormdb.AtRiskWindow).Format(cmr.DateLayout)
		for rows.Next() {
			var c caseJSON
			var warnings []byte
			var ticketRisk bool
			if err := rows.Scan(&c.ID, &c.SchoolID, &c.DistributorID, &c.Sector, &c.Status, &c.SwitchOn, &c.Deadline, &warnings, &c.CreatedAt, &c.UpdatedAt, &ticketRisk); err != nil {
				fail(w, err)
				return
			}
			c.Warnings = warnings
			c.AtRisk = c.Status == string(cmr.CaseOpen) && (ticketRisk || c.Deadline <= soon)
			out = append(out, c)
		}
		if err := rows.Err(); err != nil {
			fail(w, err)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"cases": out})
	})
	mux.HandleFunc("GET /queue", func(w http.ResponseWriter, r *http.Request) {
		org, ok := orgOf[r.Header.Get("Authorization")]
		if !ok {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		rows, err := db.QueryContext(r.Context(), queueSQL, org)
		if err != nil {
			fail(w, err)
			return
		}
		defer rows.Close()
		type ticketJSON struct {
			ID             string     `json:"id"`
			CaseID         string     `json:"case_id"`
			LiKaID         string     `json:"lika_id"`
			State          string     `json:"state"`
			ClockStartedAt *time.Time `json:"clock_started_at"`
			WarnAt         *time.Time `json:"warn_at"`
			DueAt          *time.Time `json:"due_at"`
			WarnedAt       *time.Time `json:"warned_at"`
			BreachedAt     *time.Time `json:"breached_at"`
			ResolvedAt     *time.Time `json:"resolved_at"`
			Note           string     `json:"note,omitempty"`
			Overdue        bool       `json:"overdue"`
			AtRisk         bool       `json:"at_risk"`
		}
		now := time.Now()
		out := []ticketJSON{}
		for rows.Next() {
			var t ticketJSON
			if err := rows.Scan(&t.ID, &t.CaseID, &t.LiKaID, &t.State, &t.ClockStartedAt, &t.WarnAt, &t.DueAt, &t.WarnedAt, &t.BreachedAt, &t.ResolvedAt, &t.Note); err != nil {
				fail(w, err)
				return
			}
			t.Overdue = t.DueAt != nil && now.After(*t.DueAt)
			t.AtRisk = t.WarnAt != nil && !now.Before(*t.WarnAt)
			out = append(out, t)
		}
		if err := rows.Err(); err != nil {
			fail(w, err)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"tickets": out})
	})
	return mux
}
