package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cmr-idp/cmr"
	"github.com/cmr-idp/cmr/gormdb"
	"github.com/cmr-idp/cmr/gormdb/gormdbtest"
)

var (
	seasonCases   = flag.Int("season-cases", 1000, "BenchmarkSeason: cases to open and drive to completed")
	seasonLiKas   = flag.Int("season-likas", 10, "BenchmarkSeason: LiKa tickets per case")
	seasonClients = flag.Int("season-clients", 32, "BenchmarkSeason: concurrent API clients")
	seasonProfile = flag.String("season-cpuprofile", "", "BenchmarkSeason: write a CPU profile of the cmr dev process (first 30 s of the run) to this file")
)

// BenchmarkSeason is the summer rush: -season-cases VO cases with
// -season-likas LiKa tickets each, opened and driven to completed over the
// API of `cmr dev` (a separate process, its embedded Temporal server and
// SQLite) by -season-clients concurrent clients, each case moved step by
// step by its parties as people would: distributor and Kennisnet steps,
// the school's list upload, every LiKa closing its ticket, the school's
// final test. One run regardless of b.N (-benchtime 1x).
//
// The bare variant is the baseline: the same cases as bare Temporal
// workflows on the same embedded server (season_bare_test.go); run it in
// the same invocation (-test.bench 'Season/(bare|sqlite)') for a ratio.
//
// The postgres variant runs the same against `cmr serve` and `cmr worker`
// on PostgreSQL, with `cmr temporal` (the embedded server on its own
// SQLite) as a process of its own, as in the fault test.
func BenchmarkSeason(b *testing.B) {
	b.Run("bare", benchSeasonBare)
	b.Run("sqlite", benchSeasonDev)
	b.Run("postgres", benchSeasonPostgres)
}

func benchSeasonDev(b *testing.B) {
	dataDir := b.TempDir()
	store, err := gormdb.OpenSQLite(filepath.Join(dataDir, "cmr.db"))
	if err != nil {
		b.Fatal(err)
	}
	cast := seedSeason(b, store, *seasonLiKas, *seasonCases)
	store.Close()
	var env []string
	pprofAddr := ""
	if *seasonProfile != "" {
		pprofAddr = freeAddr(b)
		env = append(env, "CMR_PPROF_ADDR="+pprofAddr)
	}
	// Every notice is sent at once, whatever the time of day, as in the
	// postgres variant: held for the working morning, e-mail would be
	// left out of a run in the evening and not of one by day.
	env = append(env, "CMR_NOTIFY_ANYTIME=true")
	p := startDev(b, dataDir, env...)
	for id, tok := range cast.tokens {
		p.tokens[id] = tok
	}
	d := &seasonDriver{base: p.url + "/api/v1", tokens: p.tokens, http: &http.Client{Timeout: 2 * time.Minute}}
	if pprofAddr != "" {
		go saveProfile(b, "http://"+pprofAddr+"/debug/pprof/profile?seconds=30", *seasonProfile)
	}
	d.season(b, cast)
	p.stop(b)
}

// benchSeasonPostgres is the season against PostgreSQL: cmr serve and cmr
// worker as processes on one database, Temporal in a process of its own.
func benchSeasonPostgres(b *testing.B) {
	dsn := gormdbtest.EmptyPostgres(b)
	env := []string{"DATABASE_URL=" + dsn, "CMR_MASTER_KEY=" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32)), "CMR_NOTIFY_ANYTIME=true"}
	runCmr(b, env, "migrate")
	store, err := gormdb.OpenPostgres(dsn)
	if err != nil {
		b.Fatal(err)
	}
	cast := seedSeason(b, store, *seasonLiKas, *seasonCases)
	store.Close()
	_, _, serve := startFaultProcesses(b, env, b.TempDir())
	d := &seasonDriver{base: serve.addr + "/api/v1", tokens: cast.tokens, http: &http.Client{Timeout: 2 * time.Minute}}
	d.season(b, cast)
}

// season drives every case of the cast to completed, -season-clients at a
// time, and reports how long it took.
func (d *seasonDriver) season(b *testing.B, cast seasonCast) {
	took, failed := driveCases(b, "case", func(i int) error { return d.driveCase(cast.schools[i], cast.likas) })
	n := *seasonCases - failed
	b.ReportMetric(took.Seconds(), "s-total")
	b.ReportMetric(float64(d.calls.Load())/took.Seconds(), "calls/s")
	b.ReportMetric(float64(n)/took.Seconds(), "cases/s")
	b.Logf("%d cases × %d LiKas completed in %s by %d clients: %d API calls (%.0f/s), %d retried on 503, %d conflicts after them; %d failed",
		n, *seasonLiKas, took.Round(time.Millisecond), *seasonClients, d.calls.Load(), float64(d.calls.Load())/took.Seconds(), d.retries.Load(), d.conflicts.Load(), failed)
	if n > 0 {
		b.Logf("per case: %.1f steps completed and %.1f tickets closed (the bare season sends %d and %d)", float64(d.steps.Load())/float64(n), float64(d.closes.Load())/float64(n), *seasonSteps, *seasonLiKas)
	}
	d.unavailable.Range(func(k, _ any) bool { b.Logf("503: %s", k); return true })
}

// driveCases runs drive for each of -season-cases cases, -season-clients
// at a time, timed; it reports the first failure (as what's i) and
// returns how long it all took and how many failed.
func driveCases(b *testing.B, what string, drive func(i int) error) (time.Duration, int) {
	b.ResetTimer()
	start := time.Now()
	sem := make(chan struct{}, *seasonClients)
	var wg sync.WaitGroup
	var failed atomic.Int32
	var firstErr sync.Once
	for i := range *seasonCases {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			if err := drive(i); err != nil {
				failed.Add(1)
				firstErr.Do(func() { b.Errorf("%s %d: %v", what, i, err) })
			}
		}()
	}
	wg.Wait()
	took := time.Since(start)
	b.StopTimer()
	return took, int(failed.Load())
}

// seasonCast is who takes part: a school per case (one school rarely
// migrates twice at once) and the LiKas every case has a ticket for.
type seasonCast struct {
	schools []string          // organisation IDs, one per case
	likas   []string          // organisation IDs
	tokens  map[string]string // organisation ID → API token
}

// seedSeason adds the schools and LiKas, with a user and token each, to
// the database before the service starts (`cmr dev` seeds only its demo
// cast).
func seedSeason(b testing.TB, store *gormdb.Store, likas, schools int) seasonCast {
	ctx := context.Background()
	if err := store.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	cast := seasonCast{tokens: map[string]string{}}
	add := func(o cmr.Organisation) {
		if err := store.UpsertOrganisation(ctx, o); err != nil {
			b.Fatal(err)
		}
		u, err := store.UpsertUser(ctx, cmr.User{OrganisationID: o.ID, Email: o.ID + "@season.example", Name: o.Name})
		if err != nil {
			b.Fatal(err)
		}
		if cast.tokens[o.ID], err = store.CreateToken(ctx, u.ID); err != nil {
			b.Fatal(err)
		}
	}
	// The distributor and Kennisnet under the demo IDs: `cmr dev` keeps
	// them (its own seed upserts the same organisations).
	add(cmr.Organisation{ID: "distri-noord", Name: "Distri Noord", Role: cmr.RoleDistributor})
	add(cmr.Organisation{ID: "kennisnet", Name: "Kennisnet", Role: cmr.RoleKennisnet})
	for i := 1; i <= likas; i++ {
		id := fmt.Sprintf("lika-%02d", i)
		add(cmr.Organisation{ID: id, Name: fmt.Sprintf("Licentiekantoor %02d", i), Role: cmr.RolePublisher})
		cast.likas = append(cast.likas, id)
	}
	for i := 1; i <= schools; i++ {
		id := fmt.Sprintf("school-%04d", i)
		add(cmr.Organisation{ID: id, Name: fmt.Sprintf("School %04d", i), Role: cmr.RoleSchool, BRIN: fmt.Sprintf("%04dS", i), Sector: cmr.SectorVO})
		cast.schools = append(cast.schools, id)
	}
	return cast
}

// seasonDriver drives cases over HTTP as their parties would, retrying a
// call the service answered 503 (busy or briefly unavailable).
type seasonDriver struct {
	base    string
	tokens  map[string]string
	http    *http.Client
	calls   atomic.Int64
	retries atomic.Int64
	// conflicts counts 409s: a step or ticket already done or being done
	// by an attempt that was answered 503.
	conflicts atomic.Int64
	// unavailable holds the distinct reasons the service gave with 503.
	unavailable sync.Map
	// steps and closes count the steps completed and the tickets closed,
	// which the bare season (season_bare_test.go) sends as updates.
	steps, closes atomic.Int64
}

func (d *seasonDriver) call(org, method, path, contentType string, body []byte, want int) (map[string]any, error) {
	for attempt := 0; ; attempt++ {
		req, err := http.NewRequest(method, d.base+path, bytes.NewReader(body))
		if err != nil {
			return nil, err
		}
		req.Header.Set("Authorization", "Bearer "+d.tokens[org])
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		d.calls.Add(1)
		res, err := d.http.Do(req)
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", method, path, err)
		}
		raw, _ := io.ReadAll(res.Body)
		res.Body.Close()
		// A party's system told to come back (503) does, for about two
		// minutes: with 32 clients, openings refused for 20 s (the
		// patience before 2026-11-23) failed a third of 100 cases.
		if res.StatusCode == http.StatusServiceUnavailable && attempt < 80 {
			d.retries.Add(1)
			var e struct{ Error string }
			_ = json.Unmarshal(raw, &e)
			d.unavailable.Store(method+" "+strings.Split(path, "/")[1]+": "+e.Error, true)
			time.Sleep(min(time.Duration(100*(attempt+1))*time.Millisecond, 2*time.Second))
			continue
		}
		if res.StatusCode == http.StatusConflict && method == "POST" && path != "/cases" {
			// An earlier attempt whose answer came too late (503) went
			// through after all, or is still under way: the caller looks
			// at the case again.
			d.conflicts.Add(1)
			return nil, nil
		}
		if res.StatusCode != want {
			return nil, fmt.Errorf("%s %s: %d %s", method, path, res.StatusCode, raw)
		}
		var out map[string]any
		_ = json.Unmarshal(raw, &out)
		return out, nil
	}
}

func (d *seasonDriver) json(org, method, path string, body any, want int) (map[string]any, error) {
	var raw []byte
	if body != nil {
		raw, _ = json.Marshal(body)
	}
	return d.call(org, method, path, "application/json", raw, want)
}

const seasonList = "Voornaam;Tussenvoegsel;Achternaam;Postcode;Huisnummer;Oude identiteit (was);Nieuwe identiteit (wordt)\n" +
	"Jan;;Berg;1234 AB;1;jberg@magis.01AB;jan.berg@lyceum.example\nSara;van;Dijk;1234 AB;2;sdijk@magis.01AB;sara.vandijk@lyceum.example\n"

// driveCase opens a VO case of school for likas and moves it to
// completed.
func (d *seasonDriver) driveCase(school string, likas []string) error {
	c, err := d.json("distri-noord", "POST", "/cases", map[string]any{
		"school": school, "from": map[string]any{"quadrant": 1, "idp": "Magister"}, "to": map[string]any{"quadrant": 1, "idp": "itslearning"},
		"likas": likas, "switch_on": "2027-07-15",
	}, 201)
	if err != nil && strings.Contains(err.Error(), " 409 ") {
		// An attempt answered 503 opened it after all: find it.
		list, lerr := d.json("distri-noord", "GET", "/cases?school="+school, nil, 200)
		if lerr != nil || len(list["cases"].([]any)) != 1 {
			return err
		}
		c, err = list["cases"].([]any)[0].(map[string]any), nil
	}
	if err != nil {
		return err
	}
	id := c["id"].(string)
	for range 300 {
		if c["status"] == "completed" {
			return nil
		}
		if err := d.next(id, school, c); err != nil {
			return err
		}
		if c, err = d.json("distri-noord", "GET", "/cases/"+id, nil, 200); err != nil {
			return err
		}
	}
	return fmt.Errorf("case %s not completed after 300 moves: %v, steps %s", id, c["status"], stepStates(c))
}

// next does what the case waits for: every open ticket closed by its
// LiKa, or the first open step.
func (d *seasonDriver) next(id, school string, c map[string]any) error {
	var open []map[string]any
	for _, x := range c["tickets"].([]any) {
		if tk := x.(map[string]any); tk["state"] == "open" {
			open = append(open, tk)
		}
	}
	// One client per case: its LiKas close one after another, so that
	// -season-clients is the number of requests in flight.
	for _, tk := range open {
		if _, err := d.json(tk["lika_id"].(string), "POST", "/tickets/"+tk["id"].(string)+"/close", map[string]any{"note": "verwerkt"}, 200); err != nil {
			return err
		}
		d.closes.Add(1)
	}
	if len(open) > 0 {
		return nil
	}
	if st, body, ok := nextStep(c); ok {
		owner := demoOwner[st["owner"].(string)]
		if st["owner"] == "school" {
			owner = school
		}
		if st["key"] == "11" {
			if _, err := d.call(owner, "POST", "/cases/"+id+"/lists", "text/csv", []byte(seasonList), 201); err != nil {
				return err
			}
		}
		if _, err := d.json(owner, "POST", fmt.Sprintf("/cases/%s/steps/%s", id, st["key"]), body, 200); err != nil {
			return err
		}
		d.steps.Add(1)
		return nil
	}
	// A transition whose answer came too late (503) may still be under
	// way, e.g. tickets being created: look again shortly.
	time.Sleep(200 * time.Millisecond)
	return nil
}

func stepStates(c map[string]any) string {
	var s []string
	for _, x := range c["steps"].([]any) {
		st := x.(map[string]any)
		s = append(s, fmt.Sprintf("%v=%v", st["key"], st["state"]))
	}
	return strings.Join(s, " ")
}

func freeAddr(t testing.TB) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// saveProfile fetches a profile from a running process into file.
func saveProfile(t testing.TB, url, file string) {
	res, err := http.Get(url)
	if err != nil {
		t.Errorf("profile: %v", err)
		return
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if err := os.WriteFile(file, b, 0o644); err != nil {
		t.Errorf("profile: %v", err)
	}
}
