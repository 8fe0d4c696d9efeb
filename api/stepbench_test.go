package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/cmr-idp/cmr/gormdb"
	"github.com/cmr-idp/cmr/gormdb/gormdbtest"
	"github.com/cmr-idp/cmr/workflows"
)

// bareQueue is the task queue of the baseline workflow, apart from the
// case workflows so that their tasks never wait for each other.
const bareQueue = "bench-bare"

// bareWorkflow is the baseline: a workflow whose update does nothing but
// answer, so a round trip measures Temporal alone.
func bareWorkflow(ctx workflow.Context) error {
	n := 0
	if err := workflow.SetUpdateHandler(ctx, "bump", func(ctx workflow.Context) (int, error) {
		n++
		return n, nil
	}); err != nil {
		return err
	}
	return workflow.Await(ctx, func() bool { return false })
}

// BenchmarkStepTransition is a distributor completing a step through the
// real router: API call → validated Workflow Update → projection written
// → response. Each iteration also sends one bare update to a workflow that
// only answers, on the same server and worker process, so the ratio of the
// two medians is measured under the same conditions. Run with
// -benchtime 200x: every iteration opens a case (not timed) first.
func BenchmarkStepTransition(b *testing.B) {
	b.Run("sqlite", func(b *testing.B) { benchStep(b, gormdbtest.SQLite(b)) })
	b.Run("postgres", func(b *testing.B) { benchStep(b, gormdbtest.Postgres(b)) })
}

func benchStep(b *testing.B, store *gormdb.Store) {
	benchAgainstBare(b, store, "step transitions", func(en *env) timedMove {
		c := en.want(en.do("dist", "POST", "/api/v1/cases", `{"school":"01AB","from":{"quadrant":1,"idp":"Magister"},"to":{"quadrant":1,"idp":"SOM"},"likas":["lika-a"],"switch_on":"2027-07-15"}`), 201, "open case")
		id := c.Body["id"].(string)
		return timedMove{caseID: id, org: "dist", path: "/api/v1/cases/" + id + "/steps/plan.identity", body: `{"data":{"change":"realm"}}`}
	})
}

// BenchmarkTicketClose is a LiKa closing its ticket through the real
// router: API call → validated Workflow Update → the ticket's workflow
// writes the ticket and ends → the case's snapshot written → response,
// against a bare update as in BenchmarkStepTransition. Run with
// -benchtime 45x: every three iterations drive a VO case with three LiKas
// to its tickets first (not timed). The third close of each case also
// completes the case's tickets step, so a third of the closes do that.
func BenchmarkTicketClose(b *testing.B) {
	b.Run("sqlite", func(b *testing.B) { benchClose(b, gormdbtest.SQLite(b)) })
	b.Run("postgres", func(b *testing.B) { benchClose(b, gormdbtest.Postgres(b)) })
}

func benchClose(b *testing.B, store *gormdb.Store) {
	ticketsOpen := func(r response) bool {
		ts, _ := r.Body["tickets"].([]any)
		return len(ts) > 0 && ts[0].(map[string]any)["state"] == "open"
	}
	var open []map[string]any
	benchAgainstBare(b, store, "ticket closes", func(en *env) timedMove {
		if len(open) == 0 {
			c := en.want(en.do("dist", "POST", "/api/v1/cases", `{"school":"01AB","from":{"quadrant":1,"idp":"Magister"},"to":{"quadrant":1,"idp":"SOM"},"likas":["lika-a","lika-b","lika-c"],"switch_on":"2027-07-15"}`), 201, "open case")
			r := en.driveUntil(c.Body["id"].(string), "school-vo", ticketsOpen)
			for _, t := range r.Body["tickets"].([]any) {
				open = append(open, t.(map[string]any))
			}
		}
		t := open[0]
		open = open[1:]
		return timedMove{caseID: t["case_id"].(string), org: t["lika_id"].(string), path: "/api/v1/tickets/" + t["id"].(string) + "/close", body: `{"note":"verwerkt"}`}
	})
}

// A timedMove is the one API call an iteration times, on a case.
type timedMove struct {
	caseID, org, path, body string
}

// benchAgainstBare times, in each iteration, the move prepare makes ready
// (prepare itself is not timed) and a bare update, both once the case's
// workflow is idle, so that neither meets the preparation's background
// work; then reports them (reportAgainstBare).
func benchAgainstBare(b *testing.B, store *gormdb.Store, what string, prepare func(en *env) timedMove) {
	en := newEnv(b, store)
	bare := bareUpdates(b, en)
	srv := httptest.NewServer(en.e)
	defer srv.Close()
	var apiTook, bareTook []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		m := prepare(en)
		idle(b, en, m.caseID)
		bareTook = append(bareTook, bare())
		b.StartTimer()
		start := time.Now()
		r := en.viaHTTP(srv.URL, m.org, "POST", m.path, m.body)
		apiTook = append(apiTook, time.Since(start))
		en.want(r, 200, m.path)
	}
	b.StopTimer()
	reportAgainstBare(b, what, apiTook, bareTook)
}

// bareUpdates starts the baseline workflow on en's server and returns a
// func that times one update round trip to it.
func bareUpdates(b *testing.B, en *env) func() time.Duration {
	w := worker.New(en.client, bareQueue, worker.Options{})
	w.RegisterWorkflow(bareWorkflow)
	if err := w.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(w.Stop)
	ctx := context.Background()
	bareID := fmt.Sprintf("bench-bare-%d", time.Now().UnixNano())
	if _, err := en.client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: bareID, TaskQueue: bareQueue}, bareWorkflow); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = en.client.TerminateWorkflow(ctx, bareID, "", "benchmark done") })
	bare := func() time.Duration {
		start := time.Now()
		h, err := en.client.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{WorkflowID: bareID, UpdateName: "bump", WaitForStage: client.WorkflowUpdateStageCompleted})
		if err == nil {
			err = h.Get(ctx, nil)
		}
		if err != nil {
			b.Fatal(err)
		}
		return time.Since(start)
	}
	bare() // warm up the workflow's cache and the connections
	return bare
}

// reportAgainstBare reports the API's and the bare update's percentiles
// and the ratio of their medians.
func reportAgainstBare(b *testing.B, what string, apiTook, bareTook []time.Duration) {
	ap50, ap99 := percentile(apiTook, 50), percentile(apiTook, 99)
	bp50, bp99 := percentile(bareTook, 50), percentile(bareTook, 99)
	b.ReportMetric(ms(ap50), "p50-ms")
	b.ReportMetric(ms(ap99), "p99-ms")
	b.ReportMetric(ms(bp50), "bare-p50-ms")
	b.ReportMetric(ms(bp99), "bare-p99-ms")
	b.ReportMetric(float64(ap50)/float64(bp50), "p50-ratio")
	b.Logf("%d %s: p50 %.1f ms, p99 %.1f ms; bare update p50 %.1f ms, p99 %.1f ms; p50 ratio %.2f×",
		len(apiTook), what, ms(ap50), ms(ap99), ms(bp50), ms(bp99), float64(ap50)/float64(bp50))
}

// idle waits until the case workflow has no activity or workflow task
// pending. The opening answers before the workflow's own write of it (the
// API writes it, see workflows.callerWrites) and the workflow task after
// that write are done; a step sent in those milliseconds waits for them
// (about 35 ms instead of 18). A person completes a step seconds after
// the case opened, so the benchmark times the step on an idle case.
func idle(b *testing.B, en *env, caseID string) {
	b.Helper()
	for range 2000 {
		d, err := en.client.DescribeWorkflowExecution(context.Background(), workflows.CaseWorkflowID(caseID), "")
		if err != nil {
			b.Fatal(err)
		}
		if len(d.GetPendingActivities()) == 0 && d.GetPendingWorkflowTask() == nil {
			return
		}
		time.Sleep(2 * time.Millisecond)
	}
	b.Fatalf("case %s still writing after 4 s", caseID)
}

func percentile(d []time.Duration, p int) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	i := (len(s)*p + 99) / 100
	return s[min(max(i-1, 0), len(s)-1)]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// viaHTTP is do over a real connection to base, for benchmarks that
// should count the HTTP round trip too.
func (en *env) viaHTTP(base, org, method, path, body string) response {
	en.t.Helper()
	req, err := http.NewRequest(method, base+path, strings.NewReader(body))
	if err != nil {
		en.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+en.tokens[org])
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		en.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	out := response{Status: res.StatusCode, Raw: string(raw)}
	_ = json.Unmarshal(raw, &out.Body)
	return out
}
