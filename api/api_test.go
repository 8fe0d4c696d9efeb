package api_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/temporalproto"
	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"

	"github.com/cmr-idp/cmr"
	"github.com/cmr-idp/cmr/activities"
	"github.com/cmr-idp/cmr/aesgcm"
	"github.com/cmr-idp/cmr/api"
	"github.com/cmr-idp/cmr/gormdb"
	"github.com/cmr-idp/cmr/gormdb/gormdbtest"
	"github.com/cmr-idp/cmr/temporalserver"
	"github.com/cmr-idp/cmr/workflows"
)

// updateHistories saves the workflow histories of the cases these tests run
// as replay fixtures for the workflows package.
var updateHistories = flag.Bool("update-histories", false, "write workflow histories to ../workflows/testdata/histories")

// temporalHostPort is the in-memory Temporal server all tests share; each
// test gets its own namespace so that its worker writes to its own store.
var temporalHostPort string

// namespaces is how many tests may make an env: one namespace each.
const namespaces = 40

// temporalProcess runs the tests' Temporal server in a process of its own
// (this test binary again, see serveTemporalOnly), so that the tests'
// process holds the API, the worker and a Temporal client, as `cmr serve`
// and `cmr worker` do, and not the server's heap and goroutines, as only
// `cmr dev` does. For benchmarks of what production runs.
var temporalProcess = flag.Bool("temporal-process", false, "run the Temporal server in a process of its own, as beside `cmr serve`")

// temporalOnlyEnv set makes this test binary serve Temporal only: the
// process -temporal-process starts.
const temporalOnlyEnv = "CMR_TEST_TEMPORAL_ONLY"

func TestMain(m *testing.M) {
	if os.Getenv(temporalOnlyEnv) != "" {
		os.Exit(serveTemporalOnly())
	}
	flag.Parse()
	stop, err := startTemporal(*temporalProcess)
	if err != nil {
		fmt.Fprintln(os.Stderr, "temporal:", err)
		os.Exit(1)
	}
	code := m.Run()
	stop()
	os.Exit(code)
}

// startTemporal starts the tests' Temporal server, in this process or in
// a process of its own, and sets temporalHostPort.
func startTemporal(ownProcess bool) (stop func(), err error) {
	if !ownProcess {
		ts, err := startTemporalServer()
		if err != nil {
			return nil, err
		}
		temporalHostPort = ts.HostPort()
		return func() { _ = ts.Stop() }, nil
	}
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(self)
	cmd.Env = append(os.Environ(), temporalOnlyEnv+"=1")
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe() // closed when this process ends: the server's cue to stop
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	r := bufio.NewReader(out)
	line, err := r.ReadString('\n')
	addr := strings.TrimSpace(line)
	if _, _, splitErr := net.SplitHostPort(addr); err != nil || splitErr != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return nil, fmt.Errorf("the Temporal process did not say its address (%q): %v", addr, errors.Join(err, splitErr))
	}
	// Whatever else the server prints goes on to stderr: a pipe nobody
	// reads would stop it once full.
	go func() { _, _ = io.Copy(os.Stderr, r) }()
	temporalHostPort, temporalPID = addr, cmd.Process.Pid
	return func() {
		_ = in.Close()
		if err := cmd.Wait(); err != nil {
			fmt.Fprintln(os.Stderr, "the Temporal process:", err)
		}
	}, nil
}

// temporalPID is the Temporal process's, with -temporal-process.
var temporalPID int

// serveTemporalOnly is this binary as the Temporal process: it starts the
// server, writes its address on stdout and serves until stdin closes,
// which it does when the tests' process ends, however it ends.
func serveTemporalOnly() int {
	ts, err := startTemporalServer()
	if err != nil {
		fmt.Fprintln(os.Stderr, "temporal:", err)
		return 1
	}
	fmt.Println(ts.HostPort())
	_, _ = io.Copy(io.Discard, os.Stdin)
	// A stop that hangs would keep `go test` waiting on this process's
	// stderr: give it ten seconds.
	stopped := make(chan struct{})
	go func() { _ = ts.Stop(); close(stopped) }()
	select {
	case <-stopped:
	case <-time.After(10 * time.Second):
		fmt.Fprintln(os.Stderr, "temporal: not stopped after 10 s; exiting")
	}
	return 0
}

// TestTemporalInItsOwnProcess: with -temporal-process the tests' Temporal
// server runs in another process, which is up (CI runs this so).
func TestTemporalInItsOwnProcess(t *testing.T) {
	if !*temporalProcess {
		t.Skip("runs with -temporal-process")
	}
	if temporalPID == 0 || temporalPID == os.Getpid() {
		t.Fatalf("Temporal process %d, this process %d", temporalPID, os.Getpid())
	}
	if err := syscall.Kill(temporalPID, 0); err != nil {
		t.Fatalf("the Temporal process %d: %v", temporalPID, err)
	}
	c, err := client.Dial(client.Options{HostPort: temporalHostPort, Namespace: "ns0", Logger: tlog.NewStructuredLogger(slog.New(slog.DiscardHandler))})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.CheckHealth(context.Background(), &client.CheckHealthRequest{}); err != nil {
		t.Fatalf("the Temporal process at %s: %v", temporalHostPort, err)
	}
}

// startTemporalServer starts the in-memory server with the tests'
// namespaces.
func startTemporalServer() (*temporalserver.Server, error) {
	var names []string
	for i := 0; i < namespaces; i++ {
		names = append(names, fmt.Sprintf("ns%d", i))
	}
	return temporalserver.Start(temporalserver.Config{Ephemeral: true, Namespaces: names})
}

var nextNamespace = make(chan string, namespaces)

func init() {
	for i := 0; i < namespaces; i++ {
		nextNamespace <- fmt.Sprintf("ns%d", i)
	}
}

// env is one API over one store, with a token per demo party.
type env struct {
	t      testing.TB
	client client.Client
	e      *echo.Echo
	store  *gormdb.Store
	keys   *aesgcm.Keyring   // the lists' master key
	tokens map[string]string // organisation ID → token
}

var parties = []cmr.Organisation{
	{ID: "school-vo", Name: "VO school", Role: cmr.RoleSchool, BRIN: "01AB", Sector: cmr.SectorVO},
	{ID: "school-mbo", Name: "MBO school", Role: cmr.RoleSchool, BRIN: "02CD", Sector: cmr.SectorMBO},
	{ID: "dist", Name: "Distributor", Role: cmr.RoleDistributor},
	{ID: "dist-other", Name: "Other distributor", Role: cmr.RoleDistributor},
	{ID: "lika-a", Name: "LiKa A", Role: cmr.RolePublisher},
	{ID: "lika-b", Name: "LiKa B", Role: cmr.RolePublisher},
	{ID: "lika-c", Name: "LiKa C", Role: cmr.RolePublisher},
	{ID: "kn", Name: "Kennisnet", Role: cmr.RoleKennisnet},
}

func newEnv(t testing.TB, store *gormdb.Store) *env {
	return newEnvLogging(t, store, slog.New(slog.DiscardHandler))
}

// newEnvLogging is newEnv with the API's, the worker's and the SDK's logs
// going to logger.
func newEnvLogging(t testing.TB, store *gormdb.Store, logger *slog.Logger) *env {
	return newEnvWith(t, store, logger, nil)
}

// newEnvWith is newEnvLogging with the server's list storage wrapped by
// lists (nil: the store itself).
func newEnvWith(t testing.TB, store *gormdb.Store, logger *slog.Logger, lists func(api.ListStore) api.ListStore) *env {
	var ns string
	select {
	case ns = <-nextNamespace:
	default:
		t.Fatalf("every one of the %d Temporal namespaces is taken: raise namespaces in api_test.go", namespaces)
	}
	c, err := client.Dial(client.Options{HostPort: temporalHostPort, Namespace: ns, Logger: tlog.NewStructuredLogger(logger)})
	if err != nil {
		t.Fatal(err)
	}
	w := worker.New(c, workflows.TaskQueue, worker.Options{})
	w.RegisterWorkflow(workflows.CaseWorkflow)
	w.RegisterWorkflow(workflows.TicketWorkflow)
	w.RegisterActivity(&activities.Activities{Store: store})
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Stop(); c.Close() })
	ctx := context.Background()
	en := &env{t: t, client: c, store: store, tokens: map[string]string{}}
	for _, o := range parties {
		if err := store.UpsertOrganisation(ctx, o); err != nil {
			t.Fatal(err)
		}
		u, err := store.UpsertUser(ctx, cmr.User{OrganisationID: o.ID, Email: o.ID + "@example.org", Name: o.Name})
		if err != nil {
			t.Fatal(err)
		}
		if en.tokens[o.ID], err = store.CreateToken(ctx, u.ID); err != nil {
			t.Fatal(err)
		}
	}
	master := make([]byte, aesgcm.KeySize)
	rand.Read(master)
	keys, err := aesgcm.NewKeyring(master)
	if err != nil {
		t.Fatal(err)
	}
	en.keys = keys
	var ls api.ListStore = store
	if lists != nil {
		ls = lists(store)
	}
	en.e = api.NewRouter(&api.Server{Store: store, Engine: &workflows.Engine{Client: c, Projection: store}, Calendar: cmr.DefaultCalendarConfig(), Lists: ls, Keyring: keys, Logger: logger})
	return en
}

// each runs f against the API over SQLite and over PostgreSQL.
func each(t *testing.T, f func(t *testing.T, en *env)) {
	t.Run("sqlite", func(t *testing.T) { f(t, newEnv(t, gormdbtest.SQLite(t))) })
	t.Run("postgres", func(t *testing.T) { f(t, newEnv(t, gormdbtest.Postgres(t))) })
}

type response struct {
	Status int
	Body   map[string]any
	Raw    string
	Header http.Header
}

func (en *env) do(org, method, path string, body any) response {
	en.t.Helper()
	return en.doHeader(org, method, path, body, nil)
}

// doHeader is do with extra request headers.
func (en *env) doHeader(org, method, path string, body any, header http.Header) response {
	en.t.Helper()
	var r *bytes.Reader
	switch b := body.(type) {
	case nil:
		r = bytes.NewReader(nil)
	case string:
		r = bytes.NewReader([]byte(b))
	default:
		j, _ := json.Marshal(b)
		r = bytes.NewReader(j)
	}
	req := httptest.NewRequest(method, path, r)
	req.Header.Set("Content-Type", "application/json")
	if org != "" {
		req.Header.Set("Authorization", "Bearer "+en.tokens[org])
	}
	for k, v := range header {
		req.Header[k] = v
	}
	rec := httptest.NewRecorder()
	en.e.ServeHTTP(rec, req)
	out := response{Status: rec.Code, Raw: rec.Body.String(), Header: rec.Header()}
	_ = json.Unmarshal(rec.Body.Bytes(), &out.Body)
	return out
}

func (en *env) want(r response, status int, what string) response {
	en.t.Helper()
	if r.Status != status {
		en.t.Fatalf("%s: got %d %s, want %d", what, r.Status, r.Raw, status)
	}
	if status >= 400 && (r.Body["error"] == nil || r.Body["error"] == "") {
		en.t.Fatalf("%s: error body without message: %s", what, r.Raw)
	}
	// Every refusal says it in Dutch too, also those that come back from a
	// workflow update (the Dutch travels in the refusal's details).
	if (status == 400 || status == 403 || status == 409) && (r.Body["error_nl"] == nil || r.Body["error_nl"] == r.Body["error"]) {
		en.t.Errorf("%s: refusal without Dutch: %s", what, r.Raw)
	}
	return r
}

func TestScenarioCheck(t *testing.T) {
	en := newEnv(t, gormdbtest.SQLite(t))
	r := en.want(en.do("dist", "POST", "/api/v1/scenarios/check", `{"sector":"VO","from":{"quadrant":1,"idp":"Magister"},"to":{"quadrant":2,"idp":"Distributeursportaal"},"requested_on":"2026-12-01","switch_on":"2027-01-15"}`), 200, "VO check")
	if r.Body["outcome"] != "supported" || r.Body["was_wordt"] != "suppliers" {
		t.Errorf("VO check: %s", r.Raw)
	}
	codes := map[string]bool{}
	for _, w := range r.Body["warnings"].([]any) {
		codes[w.(map[string]any)["code"].(string)] = true
	}
	if !codes["mid_school_year"] || !codes["short_notice"] || codes["after_deadline"] {
		t.Errorf("warnings: %v", codes)
	}
	r = en.want(en.do("school-mbo", "POST", "/api/v1/scenarios/check", `{"sector":"MBO","from":{"eck":true,"kind":"elo"},"to":{"eck":false,"kind":"non_portal"}}`), 200, "MBO check")
	if r.Body["outcome"] != "not_applicable" || r.Body["was_wordt"] != "none" {
		t.Errorf("MBO check: %s", r.Raw)
	}
	r = en.want(en.do("dist", "POST", "/api/v1/scenarios/check", `{"sector":"MBO","from":{"eck":false,"kind":"distributor_portal"},"to":{"eck":false,"kind":"distributor_portal"},"switch_on":"2027-07-20","list_opens_on":"2027-07-01"}`), 200, "MBO empty cell")
	if r.Body["outcome"] != "no_procedure" || !strings.Contains(r.Raw, "after_deadline") {
		t.Errorf("MBO empty cell: %s", r.Raw)
	}
	for name, tc := range map[string]struct{ body, field string }{
		"bad sector":   {`{"sector":"HBO"}`, "sector"},
		"no from":      {`{"sector":"VO","to":{"quadrant":1,"idp":"SOM"}}`, "from"},
		"quadrant 7":   {`{"sector":"VO","from":{"quadrant":7,"idp":"SOM"},"to":{"quadrant":1,"idp":"SOM"}}`, "from.quadrant"},
		"wrong type":   {`{"sector":"VO","from":{"quadrant":"one"}}`, "from.quadrant"},
		"unknown idp":  {`{"sector":"VO","from":{"quadrant":1,"idp":"X"},"to":{"quadrant":1,"idp":"SOM"}}`, "from.idp"},
		"mbo no eck":   {`{"sector":"MBO","from":{"kind":"elo"},"to":{"eck":true,"kind":"elo"}}`, "from.eck"},
		"mbo bad kind": {`{"sector":"MBO","from":{"eck":true,"kind":"cloud"},"to":{"eck":true,"kind":"elo"}}`, "from.kind"},
		"bad date":     {`{"sector":"VO","from":{"quadrant":1,"idp":"SOM"},"to":{"quadrant":1,"idp":"SOM"},"switch_on":"15-07-2027"}`, "switch_on"},
		"extra field":  {`{"sector":"VO","colour":"red"}`, "colour"},
	} {
		r := en.want(en.do("dist", "POST", "/api/v1/scenarios/check", tc.body), 400, name)
		if r.Body["field"] != tc.field {
			t.Errorf("%s: field %v, want %s (%s)", name, r.Body["field"], tc.field, r.Raw)
		}
	}
	en.want(en.do("", "POST", "/api/v1/scenarios/check", `{}`), 401, "no token")
	req := httptest.NewRequest("GET", "/api/v1/cases", nil)
	req.Header.Set("Authorization", "Bearer cmr_forged")
	rec := httptest.NewRecorder()
	en.e.ServeHTTP(rec, req)
	if rec.Code != 401 {
		t.Errorf("forged token: %d", rec.Code)
	}
}

// sample returns data that satisfies a step's required fields.
func sample(records []any) map[string]any {
	data := map[string]any{}
	for _, r := range records {
		f := r.(map[string]any)
		if f["required"] != true {
			continue
		}
		if opts, ok := f["options"].([]any); ok && len(opts) > 0 {
			data[f["name"].(string)] = opts[0]
			continue
		}
		switch f["type"] {
		case "date":
			data[f["name"].(string)] = "2027-06-01"
			if f["past"] == true { // a day something was done
				data[f["name"].(string)] = time.Now().AddDate(0, 0, -1).Format(cmr.DateLayout)
			}
		case "datetime":
			data[f["name"].(string)] = "2027-07-15T09:00:00+02:00"
		case "confirm":
			data[f["name"].(string)] = true
		case "bool":
			data[f["name"].(string)] = true
		case "list":
			data[f["name"].(string)] = []string{"DDI-1"}
		case "number":
			data[f["name"].(string)] = 12
		default:
			data[f["name"].(string)] = "gedaan"
		}
	}
	return data
}

var ownerOrg = map[string]string{"school": "school-vo", "distributor": "dist", "kennisnet": "kn"}

// drive completes the open steps of a case by their owners until the case
// has no open human step; the LiKas close their tickets on the way.
func (en *env) drive(id, school string) response { return en.driveUntil(id, school, nil) }

// driveUntil is drive that stops as soon as until says so of the case as
// read (nil: never).
func (en *env) driveUntil(id, school string, until func(response) bool) response {
	en.t.Helper()
	own := map[string]string{"school": school, "distributor": "dist", "kennisnet": "kn"}
	var r response
	for i := 0; i < 60; i++ {
		r = en.want(en.do("dist", "GET", "/api/v1/cases/"+id, nil), 200, "get case")
		if r.Body["status"] != "open" || (until != nil && until(r)) {
			return r
		}
		moved := false
		for _, t := range r.Body["tickets"].([]any) {
			tk := t.(map[string]any)
			if tk["state"] == "open" {
				en.want(en.do(tk["lika_id"].(string), "POST", "/api/v1/tickets/"+tk["id"].(string)+"/close", `{"note":"verwerkt"}`), 200, "close ticket")
				moved = true
			}
		}
		for _, s := range r.Body["steps"].([]any) {
			st := s.(map[string]any)
			if st["state"] != "open" || st["kind"] == "tickets" {
				continue
			}
			body := map[string]any{"data": sample(st["records"].([]any))}
			if st["kind"] == "test" {
				body = map[string]any{"passed": true}
			}
			en.provideList(r, st["key"].(string), school)
			en.want(en.do(own[st["owner"].(string)], "POST", fmt.Sprintf("/api/v1/cases/%s/steps/%s", id, st["key"]), body), 200, "step "+st["key"].(string))
			moved = true
			break
		}
		if !moved {
			en.t.Fatalf("case %s stuck: %s", id, r.Raw)
		}
	}
	return r
}

func TestVOCaseThroughTheAPI(t *testing.T) {
	each(t, func(t *testing.T, en *env) {
		open := `{"school":"01AB","from":{"quadrant":1,"idp":"Magister"},"to":{"quadrant":1,"idp":"SOM"},"likas":["lika-a","lika-b"],"switch_on":"2027-07-15","requested_on":"2026-11-02"}`
		en.want(en.do("school-vo", "POST", "/api/v1/cases", open), 403, "school opens a case")
		r := en.want(en.do("dist", "POST", "/api/v1/cases", open), 201, "open case")
		id := r.Body["id"].(string)
		if id != "01AB-20270715" || r.Body["status"] != "open" || r.Body["sector"] != "VO" {
			t.Fatalf("opened case: %s", r.Raw)
		}
		if open := r.Body["open_steps"].([]any); len(open) != 1 || open[0] != "plan.identity" {
			t.Errorf("open steps after opening: %v", open)
		}
		// The same school and date again: a new business key.
		r2 := en.want(en.do("dist", "POST", "/api/v1/cases", open), 201, "second case same date")
		if r2.Body["id"] != "01AB-20270715-2" {
			t.Errorf("second case id %v", r2.Body["id"])
		}
		en.want(en.do("dist", "POST", "/api/v1/cases/"+r2.Body["id"].(string)+"/cancel", `{"reason":"dubbel aangemaakt"}`), 200, "cancel duplicate")

		// Parties that are not on the case see nothing of it.
		for _, org := range []string{"dist-other", "lika-c", "school-mbo"} {
			en.want(en.do(org, "GET", "/api/v1/cases/"+id, nil), 404, org+" reads case")
			en.want(en.do(org, "GET", "/api/v1/cases/"+id+"/events", nil), 404, org+" reads events")
			en.want(en.do(org, "POST", "/api/v1/cases/"+id+"/steps/plan.identity", `{"data":{"change":"realm"}}`), 404, org+" completes step")
			en.want(en.do(org, "POST", "/api/v1/cases/"+id+"/cancel", `{"reason":"x"}`), 404, org+" cancels")
			if l := en.want(en.do(org, "GET", "/api/v1/cases", nil), 200, "list"); strings.Contains(l.Raw, id) {
				t.Errorf("%s lists the case: %s", org, l.Raw)
			}
		}
		// Refusals say why, and store nothing.
		en.want(en.do("school-vo", "POST", "/api/v1/cases/"+id+"/steps/plan.identity", `{"data":{"change":"realm"}}`), 403, "wrong role")
		en.want(en.do("dist", "POST", "/api/v1/cases/"+id+"/steps/14", `{}`), 409, "too early")
		en.want(en.do("dist", "POST", "/api/v1/cases/"+id+"/steps/99", `{}`), 404, "no such step")
		bad := en.want(en.do("dist", "POST", "/api/v1/cases/"+id+"/steps/plan.identity", `{"data":{"colour":"red"}}`), 400, "bad data")
		if !strings.Contains(bad.Raw, "change: is required") || !strings.Contains(bad.Raw, "colour") {
			t.Errorf("bad data message: %s", bad.Raw)
		}
		ev := en.want(en.do("school-vo", "GET", "/api/v1/cases/"+id+"/events", nil), 200, "events")
		if n := len(ev.Body["events"].([]any)); n != 3 {
			t.Errorf("refusals wrote events: %d events, want 3 (opened, steps 1 and 2)", n)
		}

		// Drive the procedure up to the tickets, checking the LiKa's view.
		for i := 0; i < 40; i++ {
			r = en.want(en.do("dist", "GET", "/api/v1/cases/"+id, nil), 200, "get")
			if len(r.Body["tickets"].([]any)) > 0 {
				break
			}
			for _, s := range r.Body["steps"].([]any) {
				st := s.(map[string]any)
				if st["state"] == "open" && st["kind"] == "human" {
					en.provideList(r, st["key"].(string), "school-vo")
					en.want(en.do(ownerOrg[st["owner"].(string)], "POST", fmt.Sprintf("/api/v1/cases/%s/steps/%s", id, st["key"]), map[string]any{"data": sample(st["records"].([]any))}), 200, "step")
					break
				}
			}
		}
		q := en.want(en.do("lika-a", "GET", "/api/v1/tickets", nil), 200, "LiKa queue")
		tickets := q.Body["tickets"].([]any)
		if len(tickets) != 1 {
			t.Fatalf("LiKa A queue: %s", q.Raw)
		}
		tk := tickets[0].(map[string]any)
		due, err := time.Parse(time.RFC3339, tk["due_at"].(string))
		if err != nil || tk["state"] != "open" || !due.After(time.Now()) {
			t.Errorf("ticket: %v %v", tk, err)
		}
		other := ""
		for _, x := range r.Body["tickets"].([]any) {
			if x.(map[string]any)["lika_id"] == "lika-b" {
				other = x.(map[string]any)["id"].(string)
			}
		}
		en.want(en.do("lika-a", "POST", "/api/v1/tickets/"+other+"/close", `{}`), 404, "close another LiKa's ticket")
		en.want(en.do("lika-c", "GET", "/api/v1/tickets/"+other, nil), 404, "foreign LiKa reads ticket")
		en.want(en.do("school-vo", "POST", "/api/v1/tickets/"+other+"/waive", `{"reason":"x"}`), 403, "school waives")
		en.want(en.do("dist", "POST", "/api/v1/tickets/"+other+"/waive", `{}`), 400, "waive without reason")
		w := en.want(en.do("dist", "POST", "/api/v1/tickets/"+other+"/waive", `{"reason":"LiKa B levert niet meer"}`), 200, "waive")
		if w.Body["state"] != "waived" || w.Body["note"] != "LiKa B levert niet meer" {
			t.Errorf("waived ticket: %s", w.Raw)
		}
		en.want(en.do("dist", "POST", "/api/v1/tickets/"+other+"/waive", `{"reason":"again"}`), 409, "waive twice")
		if o := en.want(en.do("dist", "GET", "/api/v1/tickets?overdue=true", nil), 200, "overdue"); len(o.Body["tickets"].([]any)) != 0 {
			t.Errorf("overdue tickets: %s", o.Raw)
		}

		// A failed final test: why it failed is in the trail, for
		// whoever redoes the step.
		en.driveUntil(id, "school-vo", func(r response) bool { return stepState(r, "17") == "open" })
		en.want(en.do("school-vo", "POST", "/api/v1/cases/"+id+"/steps/17", `{"passed":false,"redo_step":"12","note":"De licentiepagina geeft een fout"}`), 200, "final test failed")
		failed := false
		for _, e := range en.want(en.do("dist", "GET", "/api/v1/cases/"+id+"/events", nil), 200, "events").Body["events"].([]any) {
			if e := e.(map[string]any); e["type"] == cmr.EventTestFailed {
				d, _ := e["details"].(map[string]any)
				failed = d["note"] == "De licentiepagina geeft een fout" && fmt.Sprint(d["reopened"]) == "[12]"
			}
		}
		if !failed {
			t.Error("the failed test's reason is not in the trail")
		}
		r = en.drive(id, "school-vo")
		if r.Body["status"] != "completed" {
			t.Fatalf("case not completed: %s", r.Raw)
		}
		en.want(en.do("school-vo", "POST", "/api/v1/cases/"+id+"/steps/17", `{"passed":true}`), 409, "after completion")
		for _, tid := range []string{other, strings.Replace(other, "-T2", "-T1", 1)} {
			if acts, sigs := en.afterResolve(tid); acts+sigs != 0 {
				t.Errorf("ticket %s ran %d activities and sent %d signals after it was resolved, want none: its case writes its end", tid, acts, sigs)
			}
		}
		if strings.HasSuffix(t.Name(), "sqlite") {
			en.saveHistory(workflows.CaseWorkflowID(id), "vo-case")
			en.saveHistory(workflows.TicketWorkflowID(other), "vo-ticket-waived")
			en.saveHistory(workflows.TicketWorkflowID(strings.Replace(other, "-T2", "-T1", 1)), "vo-ticket-closed")
		}
		done := en.want(en.do("dist", "GET", "/api/v1/cases?status=completed", nil), 200, "completed list")
		if !strings.Contains(done.Raw, id) {
			t.Errorf("completed case not listed: %s", done.Raw)
		}
		ev = en.want(en.do("dist", "GET", "/api/v1/cases/"+id+"/events", nil), 200, "events")
		if strings.Count(ev.Raw, `"case.completed"`) != 1 || strings.Count(ev.Raw, `"ticket.closed"`) != 1 || strings.Count(ev.Raw, `"ticket.waived"`) != 1 {
			t.Errorf("audit trail: %s", ev.Raw)
		}
		for _, e := range ev.Body["events"].([]any) {
			if e := e.(map[string]any); e["type"] == cmr.EventTicketWaived && !strings.HasPrefix(fmt.Sprint(e["submission_id"]), "sub") {
				t.Errorf("a waiver's event without its submission: %v", e)
			}
		}
		// A LiKa sees its own ticket and its events, not the other LiKa's.
		ev = en.want(en.do("lika-a", "GET", "/api/v1/cases/"+id+"/events", nil), 200, "LiKa events")
		if strings.Contains(ev.Raw, other) || strings.Count(ev.Raw, `"ticket.closed"`) != 1 {
			t.Errorf("LiKa A's audit trail shows another ticket: %s", ev.Raw)
		}
		if c := en.want(en.do("lika-a", "GET", "/api/v1/cases/"+id, nil), 200, "LiKa case"); strings.Contains(c.Raw, other) || len(c.Body["tickets"].([]any)) != 1 {
			t.Errorf("LiKa A sees another ticket on the case: %v", c.Body["tickets"])
		}
	})
}

func TestOpenCaseRefusals(t *testing.T) {
	en := newEnv(t, gormdbtest.SQLite(t))
	for name, tc := range map[string]struct {
		body  string
		field string
	}{
		"unsupported":    {`{"school":"01AB","from":{"quadrant":1,"idp":"Magister"},"to":{"quadrant":3,"idp":"SOM"},"likas":["lika-a"],"switch_on":"2027-07-15"}`, "scenario"},
		"unknown school": {`{"school":"99ZZ","from":{"quadrant":1,"idp":"Magister"},"to":{"quadrant":1,"idp":"SOM"},"likas":["lika-a"],"switch_on":"2027-07-15"}`, "school"},
		"no likas":       {`{"school":"01AB","from":{"quadrant":1,"idp":"Magister"},"to":{"quadrant":1,"idp":"SOM"},"switch_on":"2027-07-15"}`, "likas"},
		"not a lika":     {`{"school":"01AB","from":{"quadrant":1,"idp":"Magister"},"to":{"quadrant":1,"idp":"SOM"},"likas":["dist"],"switch_on":"2027-07-15"}`, "likas[0]"},
		"no date":        {`{"school":"01AB","from":{"quadrant":1,"idp":"Magister"},"to":{"quadrant":1,"idp":"SOM"},"likas":["lika-a"]}`, "switch_on"},
		"wrong sector":   {`{"school":"01AB","sector":"MBO","from":{"eck":true,"kind":"elo"},"to":{"eck":true,"kind":"elo"},"likas":["lika-a"],"switch_on":"2027-07-15"}`, "sector"},
	} {
		r := en.want(en.do("dist", "POST", "/api/v1/cases", tc.body), 400, name)
		if r.Body["field"] != tc.field {
			t.Errorf("%s: field %v, want %s: %s", name, r.Body["field"], tc.field, r.Raw)
		}
	}
	// Mistakes in fields checked apart are refused together, each named.
	for name, tc := range map[string]struct {
		body   string
		fields []any
	}{
		"school and dates": {`{"school":"99ZZ","from":{"quadrant":1,"idp":"Magister"},"to":{"quadrant":1,"idp":"SOM"},"likas":["lika-a"],"requested_on":"1-3-2027","list_opens_on":"x"}`,
			[]any{"school", "switch_on", "requested_on", "list_opens_on"}},
		"school and sides": {`{"school":"99ZZ","likas":["lika-a"],"switch_on":"2027-07-15"}`,
			[]any{"school", "from", "to"}},
		"both sides and the date": {`{"school":"01AB","sector":"VO","from":{"idp":"Magister"},"likas":["lika-a"],"switch_on":"15-07-2027"}`,
			[]any{"from.quadrant", "to", "switch_on"}},
		"school, a request after today and a LiKa": {`{"school":"99ZZ","from":{"quadrant":1,"idp":"Magister"},"to":{"quadrant":1,"idp":"SOM"},"likas":["lika-a","dist"],"requested_on":"2099-01-01","switch_on":"2027-07-15"}`,
			[]any{"school", "requested_on", "likas[1]"}},
	} {
		r := en.want(en.doHeader("dist", "POST", "/api/v1/cases", tc.body, http.Header{"Accept-Language": {"nl"}}), 400, name)
		var fields []any
		details, _ := r.Body["details"].(map[string]any)
		problems, _ := details["problems"].([]any)
		for _, p := range problems {
			fields = append(fields, p.(map[string]any)["field"])
		}
		if !reflect.DeepEqual(fields, tc.fields) || r.Body["field"] != tc.fields[0] {
			t.Errorf("%s: fields %v, want %v: %s", name, fields, tc.fields, r.Raw)
		}
		for _, f := range tc.fields[1:] {
			if !strings.Contains(r.Body["error"].(string), "; "+f.(string)+": ") || !strings.Contains(r.Body["error_nl"].(string), "; "+f.(string)+": ") {
				t.Errorf("%s: the messages do not name %s: %s", name, f, r.Raw)
			}
		}
	}
	// The scenario check does the same.
	if r := en.want(en.do("dist", "POST", "/api/v1/scenarios/check", `{"sector":"VO","from":{"idp":"Magister"},"to":{"quadrant":1,"idp":"SOM"},"switch_on":"15-07-2027"}`), 400, "check"); r.Body["field"] != "from.quadrant" || !strings.Contains(r.Raw, "; switch_on: ") {
		t.Errorf("a scenario check with two fields at fault: %s", r.Raw)
	}
	r := en.do("dist", "POST", "/api/v1/cases", `{"school":"01AB","from":{"quadrant":1,"idp":"Magister"},"to":{"quadrant":3,"idp":"SOM"},"likas":["lika-a"],"switch_on":"2027-07-15"}`)
	if reasons, _ := r.Body["details"].(map[string]any)["reasons"].([]any); len(reasons) == 0 {
		t.Errorf("unsupported scenario without reasons: %s", r.Raw)
	}
	// The history choice was made when the case opened; the step cannot
	// silently contradict it.
	c := en.want(en.do("dist", "POST", "/api/v1/cases", `{"school":"01AB","from":{"quadrant":1,"idp":"Magister"},"to":{"quadrant":1,"idp":"SOM"},"likas":["lika-a"],"switch_on":"2027-07-15"}`), 201, "open")
	cid := c.Body["id"].(string)
	en.want(en.do("dist", "POST", "/api/v1/cases/"+cid+"/steps/plan.identity", `{"data":{"change":"realm"}}`), 200, "identity")
	en.want(en.do("dist", "POST", "/api/v1/cases/"+cid+"/steps/plan.freeze", `{"data":{"freeze_on":"2027-08-01"}}`), 200, "freeze")
	if r := en.want(en.do("dist", "POST", "/api/v1/cases/"+cid+"/steps/plan.history", `{"data":{"keep_history":false}}`), 409, "contradicting history choice"); !strings.Contains(r.Raw, "keep_history=true") {
		t.Errorf("history refusal: %s", r.Raw)
	}
	if c.Body["scenario"].(map[string]any)["to"].(map[string]any)["kind"] != "elo" {
		t.Errorf("scenario not normalised: %v", c.Body["scenario"])
	}
	// Opened at the same moment, three cases get three business keys.
	var wg sync.WaitGroup
	ids := make([]string, 3)
	for i := range ids {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			r := en.do("dist", "POST", "/api/v1/cases", `{"school":"01AB","from":{"quadrant":1,"idp":"Magister"},"to":{"quadrant":1,"idp":"SOM"},"likas":["lika-a"],"switch_on":"2027-07-20"}`)
			if r.Status == 201 {
				ids[i] = r.Body["id"].(string)
			}
		}(i)
	}
	wg.Wait()
	if ids[0] == "" || ids[1] == "" || ids[2] == "" || ids[0] == ids[1] || ids[1] == ids[2] || ids[0] == ids[2] {
		t.Errorf("concurrent opens: %v", ids)
	}
	en.want(en.do("dist", "GET", "/api/v1/nope", nil), 404, "unknown route")
	en.want(en.do("dist", "POST", "/api/v1/cases", "{not json"), 400, "bad json")
	en.want(en.do("dist", "POST", "/api/v1/scenarios/check", `{"sector":"VO","from":{"quadrant":1,"idp":"SOM"},"to":{"quadrant":1,"idp":"SOM"}} trailing`), 400, "trailing data")
	en.want(en.do("dist", "POST", "/api/v1/cases", strings.Repeat(" ", 2<<20)), 413, "too large")
}

// TestOpenCaseSentAgain: a client that lost the answer to POST /cases
// sends it again with the same Idempotency-Key and gets the case its first
// attempt opened, never a second case for the school.
func TestOpenCaseSentAgain(t *testing.T) {
	en := newEnv(t, gormdbtest.SQLite(t))
	body := `{"school":"01AB","from":{"quadrant":1,"idp":"Magister"},"to":{"quadrant":1,"idp":"SOM"},"likas":["lika-a"],"switch_on":"2027-07-21"}`
	key := func(k string) http.Header { return http.Header{"Idempotency-Key": {k}} }

	first := en.want(en.doHeader("dist", "POST", "/api/v1/cases", body, key("open-1")), 201, "open")
	again := en.want(en.doHeader("dist", "POST", "/api/v1/cases", body, key("open-1")), 201, "the same request again")
	if first.Body["id"] != "01AB-20270721" || again.Body["id"] != first.Body["id"] {
		t.Fatalf("sent again: %v, first %v", again.Body["id"], first.Body["id"])
	}
	// Sent three times at once: one case.
	ids := make([]string, 3)
	var wg sync.WaitGroup
	for i := range ids {
		wg.Go(func() {
			if r := en.doHeader("dist", "POST", "/api/v1/cases", body, key("open-2")); r.Status == 201 {
				ids[i] = r.Body["id"].(string)
			}
		})
	}
	wg.Wait()
	if ids[0] != "01AB-20270721-2" || ids[1] != ids[0] || ids[2] != ids[0] {
		t.Errorf("one key sent three times at once: %v", ids)
	}
	// Without a key, a second request is a second case.
	if r := en.want(en.do("dist", "POST", "/api/v1/cases", body), 201, "open without a key"); r.Body["id"] != "01AB-20270721-3" {
		t.Errorf("without a key: %v", r.Body["id"])
	}
	list := en.want(en.do("dist", "GET", "/api/v1/cases?school=01AB", nil), 200, "list")
	if n := strings.Count(list.Raw, `"id":"01AB-20270721`); n != 3 {
		t.Errorf("%d cases for the school and day, want 3: %s", n, list.Raw)
	}

	// The key belongs to its request: another request with it is refused,
	// as is a key that cannot be one.
	other := strings.Replace(body, "2027-07-21", "2027-07-22", 1)
	if r := en.want(en.doHeader("dist", "POST", "/api/v1/cases", other, key("open-1")), 409, "the key with another request"); r.Body["field"] != "Idempotency-Key" || !strings.Contains(r.Raw, "01AB-20270721") {
		t.Errorf("reused key: %s", r.Raw)
	}
	for name, k := range map[string]string{"too long": strings.Repeat("k", 201), "a space": "open 3", "non-ASCII": "sleutel-é"} {
		if r := en.want(en.doHeader("dist", "POST", "/api/v1/cases", other, key(k)), 400, "key with "+name); r.Body["field"] != "Idempotency-Key" {
			t.Errorf("key with %s: %s", name, r.Raw)
		}
	}
	// Another distributor's keys are its own: the same key opens its case.
	if r := en.want(en.doHeader("dist-other", "POST", "/api/v1/cases", body, key("open-1")), 201, "another distributor's key"); r.Body["id"] != "01AB-20270721-4" {
		t.Errorf("another distributor with the same key: %v", r.Body["id"])
	}
	// A case that has ended answers as it stands.
	en.want(en.doHeader("dist", "POST", "/api/v1/cases/"+first.Body["id"].(string)+"/cancel", `{"reason":"dubbel"}`, nil), 200, "cancel")
	if r := en.want(en.doHeader("dist", "POST", "/api/v1/cases", body, key("open-1")), 201, "sent again after the case was cancelled"); r.Body["id"] != first.Body["id"] || r.Body["status"] != "cancelled" {
		t.Errorf("sent again after cancelling: %v %v", r.Body["id"], r.Body["status"])
	}
}

func TestMBOCaseAndCancel(t *testing.T) {
	each(t, func(t *testing.T, en *env) {
		r := en.want(en.do("dist", "POST", "/api/v1/cases", `{"school":"school-mbo","from":{"eck":false,"kind":"elo"},"to":{"eck":true,"kind":"elo"},"likas":["lika-a","lika-b","lika-c"],"switch_on":"2027-07-10","list_opens_on":"2027-08-01"}`), 201, "open MBO case")
		id := r.Body["id"].(string)
		if r.Body["was_wordt"] != "suppliers" || r.Body["deadline"] != "2027-08-01" {
			t.Errorf("MBO case: %s", r.Raw)
		}
		en.want(en.do("dist", "POST", "/api/v1/cases/"+id+"/cancel", `{}`), 400, "cancel without reason")
		en.want(en.do("school-mbo", "POST", "/api/v1/cases/"+id+"/cancel", `{"reason":"x"}`), 403, "school cancels")
		c := en.want(en.do("dist", "POST", "/api/v1/cases/"+id+"/cancel", `{"reason":"school stelt de overstap uit"}`), 200, "cancel")
		if c.Body["status"] != "cancelled" || c.Body["cancel_reason"] != "school stelt de overstap uit" {
			t.Errorf("cancelled case: %s", c.Raw)
		}
		// A cancelled case waits for nobody.
		if open := en.want(en.do("school-mbo", "GET", "/api/v1/cases/"+id, nil), 200, "cancelled case").Body["open_steps"].([]any); len(open) != 0 {
			t.Errorf("a cancelled case's open steps: %v", open)
		}
		en.want(en.do("school-mbo", "POST", "/api/v1/cases/"+id+"/steps/2", `{}`), 409, "step after cancel")
		en.want(en.do("dist", "POST", "/api/v1/cases/"+id+"/cancel", `{"reason":"again"}`), 409, "cancel twice")

		r = en.want(en.do("dist", "POST", "/api/v1/cases", `{"school":"02CD","from":{"eck":true,"kind":"elo"},"to":{"eck":true,"kind":"non_portal"},"likas":["lika-a"],"switch_on":"2027-07-20"}`), 201, "second MBO case")
		done := en.drive(r.Body["id"].(string), "school-mbo")
		if done.Body["status"] != "completed" {
			t.Fatalf("MBO case: %s", done.Raw)
		}
		if strings.HasSuffix(t.Name(), "sqlite") {
			en.saveHistory(workflows.CaseWorkflowID(id), "mbo-case-cancelled")
			en.saveHistory(workflows.CaseWorkflowID(r.Body["id"].(string)), "mbo-case")
			en.saveHistory(workflows.TicketWorkflowID(r.Body["id"].(string)+"-T1"), "mbo-ticket")
		}
	})
}

// TestCancelWithTicketsOpen: a VO case cancelled after one LiKa closed its
// ticket and while the other's is open. The open ticket ends cancelled,
// written by its case (ticket-end-by-case, the cancelled branch); the
// closed one stays closed; each end is in the audit trail once. Its
// histories are replay fixtures of that branch.
func TestCancelWithTicketsOpen(t *testing.T) {
	each(t, func(t *testing.T, en *env) {
		c := en.want(en.do("dist", "POST", "/api/v1/cases", `{"school":"01AB","from":{"quadrant":1,"idp":"Magister"},"to":{"quadrant":1,"idp":"SOM"},"likas":["lika-a","lika-b"],"switch_on":"2027-07-22"}`), 201, "open case")
		id := c.Body["id"].(string)
		r := en.driveUntil(id, "school-vo", func(r response) bool { return len(r.Body["tickets"].([]any)) > 0 })
		ids := map[string]string{}
		for _, x := range r.Body["tickets"].([]any) {
			tk := x.(map[string]any)
			ids[tk["lika_id"].(string)] = tk["id"].(string)
		}
		if len(ids) != 2 {
			t.Fatalf("tickets: %s", r.Raw)
		}
		en.want(en.do("lika-a", "POST", "/api/v1/tickets/"+ids["lika-a"]+"/close", `{"note":"verwerkt"}`), 200, "close A's ticket")
		en.want(en.do("dist", "POST", "/api/v1/cases/"+id+"/cancel", `{"reason":"school stelt de overstap uit"}`), 200, "cancel")
		want := map[string]string{"lika-a": "closed", "lika-b": "cancelled"}
		var got map[string]string
		for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			got = map[string]string{}
			for lika, tid := range ids {
				tk := en.want(en.do(lika, "GET", "/api/v1/tickets/"+tid, nil), 200, "read ticket")
				got[lika], _ = tk.Body["state"].(string)
			}
			if maps.Equal(got, want) {
				break
			}
		}
		if !maps.Equal(got, want) {
			t.Fatalf("tickets after the cancel: %v, want %v", got, want)
		}
		ev := en.want(en.do("dist", "GET", "/api/v1/cases/"+id+"/events", nil), 200, "events")
		for typ, n := range map[string]int{`"ticket.closed"`: 1, `"ticket.cancelled"`: 1, `"case.cancelled"`: 1} {
			if got := strings.Count(ev.Raw, typ); got != n {
				t.Errorf("%d %s events, want %d", got, typ, n)
			}
		}
		if q := en.want(en.do("lika-b", "GET", "/api/v1/tickets?state=open", nil), 200, "B's queue"); strings.Contains(q.Raw, ids["lika-b"]) {
			t.Errorf("the cancelled ticket is still in B's open queue: %s", q.Raw)
		}
		if acts, sigs := en.afterResolve(ids["lika-b"]); acts+sigs != 0 {
			t.Errorf("the cancelled ticket ran %d activities and sent %d signals after the cancel, want none", acts, sigs)
		}
		if strings.HasSuffix(t.Name(), "sqlite") && *updateHistories {
			// The case ends after its last write: save its whole history.
			ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
			defer cancel()
			if err := en.client.GetWorkflow(ctx, workflows.CaseWorkflowID(id), "").Get(ctx, nil); err != nil {
				t.Fatalf("the cancelled case did not end: %v", err)
			}
			en.saveHistory(workflows.CaseWorkflowID(id), "vo-case-cancelled-with-tickets")
			en.saveHistory(workflows.TicketWorkflowID(ids["lika-b"]), "vo-ticket-cancelled")
		}
	})
}

// history is a workflow's history (its latest run).
func (en *env) history(workflowID string) []*historypb.HistoryEvent {
	en.t.Helper()
	var events []*historypb.HistoryEvent
	it := en.client.GetWorkflowHistory(context.Background(), workflowID, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			en.t.Fatal(err)
		}
		events = append(events, e)
	}
	return events
}

// afterResolve counts what a ticket's workflow did after the case told it
// to close or waive, or that the case was cancelled (its last signal
// received): since ticket-end-by-case it ends at once, handing its last
// write to the case; no activity of its own, no signal back.
func (en *env) afterResolve(ticketID string) (activities, signals int) {
	en.t.Helper()
	events := en.history(workflows.TicketWorkflowID(ticketID))
	for _, e := range events {
		switch e.GetEventType() {
		case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
			activities, signals = 0, 0
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
			activities++
		case enumspb.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED:
			signals++
		}
	}
	if last := events[len(events)-1].GetEventType(); last != enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED {
		en.t.Errorf("ticket %s: its history ends with %s, not its completion", ticketID, last)
	}
	return activities, signals
}

// saveHistory writes a workflow's history as a replay fixture.
func (en *env) saveHistory(workflowID, name string) {
	en.t.Helper()
	if !*updateHistories {
		return
	}
	b, err := temporalproto.CustomJSONMarshalOptions{Indent: "  "}.Marshal(&historypb.History{Events: en.history(workflowID)})
	if err != nil {
		en.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join("..", "workflows", "testdata", "histories", name+".json"), b, 0o644); err != nil {
		en.t.Fatal(err)
	}
}

// TestStepDatesAgainstTheCase: a day something was done cannot lie after
// today, and a migration planned on or after the deadline is accepted
// but makes the case warn.
func TestStepDatesAgainstTheCase(t *testing.T) {
	each(t, func(t *testing.T, en *env) {
		r := en.want(en.do("dist", "POST", "/api/v1/cases", `{"school":"01AB","from":{"quadrant":1,"idp":"Magister"},"to":{"quadrant":1,"idp":"SOM"},"likas":["lika-a"],"switch_on":"2027-07-15"}`), 201, "open")
		id := r.Body["id"].(string)
		stepOpen := func(key string) func(response) bool {
			return func(r response) bool {
				for _, s := range r.Body["steps"].([]any) {
					if st := s.(map[string]any); st["key"] == key && st["state"] == "open" {
						return true
					}
				}
				return false
			}
		}
		r = en.driveUntil(id, "school-vo", stepOpen("10"))
		if r.Body["deadline"] != "2027-08-01" || strings.Contains(r.Raw, "planned_after_deadline") {
			t.Fatalf("before step 10: %s", r.Raw)
		}
		en.want(en.do("dist", "POST", "/api/v1/cases/"+id+"/steps/10", `{"data":{"migration_on":"2077-08-02"}}`), 400, "a year mistyped")
		en.want(en.do("dist", "POST", "/api/v1/cases/"+id+"/steps/10", `{"data":{"migration_on":"2027-08-02"}}`), 200, "migration after the deadline")
		r = en.want(en.do("school-vo", "GET", "/api/v1/cases/"+id, nil), 200, "case")
		ws, _ := r.Body["warnings"].([]any)
		if len(ws) != 1 || ws[0].(map[string]any)["code"] != "planned_after_deadline" ||
			!strings.Contains(ws[0].(map[string]any)["message"].(string), `Step 10 set "Date of the move" to 2027-08-02`) {
			t.Errorf("warnings after step 10: %v", ws)
		}
		tomorrow := time.Now().AddDate(0, 0, 2).Format(cmr.DateLayout) // after today in any zone
		bad := en.want(en.doHeader("school-vo", "POST", "/api/v1/cases/"+id+"/steps/12", `{"data":{"done_on":"`+tomorrow+`"}}`, http.Header{"Accept-Language": {"nl"}}), 400, "done tomorrow")
		if !strings.Contains(bad.Raw, "Uitgevoerd op: ligt na vandaag") {
			t.Errorf("done tomorrow, in Dutch: %s", bad.Raw)
		}
		en.want(en.do("school-vo", "POST", "/api/v1/cases/"+id+"/steps/12", `{"data":{"done_on":"`+time.Now().AddDate(0, 0, -1).Format(cmr.DateLayout)+`"}}`), 200, "done yesterday")
	})
}
