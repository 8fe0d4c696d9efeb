package api_test

import (
	"context"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cmr-idp/cmr"
	"github.com/cmr-idp/cmr/api"
	"github.com/cmr-idp/cmr/gormdb"
	"github.com/cmr-idp/cmr/gormdb/gormdbtest"
	"github.com/cmr-idp/cmr/workflows"
)

// dbGone is what the store says while the database cannot be reached.
var dbGone = cmr.Errorf(cmr.KindUnavailable, "the database is not reachable; try again shortly").NL("de database is even niet bereikbaar")

// gone is the API's store and the engine's Projection. It fails the
// API's own write of a snapshot while writes is set, and the reads of a
// case or ticket while reads is set; a write that lands with readsNext
// set sets reads, so that only the read answering the action fails (the
// route's checks read the case before it). The worker writes to the real
// store, so the workflow's own write lands.
type gone struct {
	*gormdb.Store
	writes, reads, readsNext atomic.Bool
}

func (g *gone) SaveCase(ctx context.Context, h cmr.CaseHeader, st cmr.CaseState, version int, cancel string, events []cmr.Event) error {
	if g.writes.Load() {
		return dbGone
	}
	err := g.Store.SaveCase(ctx, h, st, version, cancel, events)
	if err == nil && g.readsNext.CompareAndSwap(true, false) {
		g.reads.Store(true)
	}
	return err
}

func (g *gone) Case(ctx context.Context, v gormdb.Viewer, id string) (cmr.Case, error) {
	if g.reads.Load() {
		return cmr.Case{}, dbGone
	}
	return g.Store.Case(ctx, v, id)
}

func (g *gone) Ticket(ctx context.Context, v gormdb.Viewer, id string) (cmr.Ticket, error) {
	if g.reads.Load() {
		return cmr.Ticket{}, dbGone
	}
	return g.Store.Ticket(ctx, v, id)
}

// TestRecordedWhenTheDatabaseGoes: an action the case workflow accepted,
// whose answer cannot be written or read back because the database went
// away, is answered 503 saying that it is recorded and must not be sent
// again (details.recorded), not "try again"; the workflow's own write
// lands it, and sending it again is refused as done.
func TestRecordedWhenTheDatabaseGoes(t *testing.T) {
	en := newEnv(t, gormdbtest.SQLite(t))
	g := &gone{Store: en.store}
	eng := &workflows.Engine{Client: en.client, Projection: g}
	en.e = api.NewRouter(&api.Server{Store: g, Engine: eng, Calendar: cmr.DefaultCalendarConfig(), Lists: en.store, Keyring: en.keys, Logger: slog.New(slog.DiscardHandler)})

	recorded := func(r response, what, caseID string) {
		t.Helper()
		en.want(r, 503, what)
		d, _ := r.Body["details"].(map[string]any)
		msg, _ := r.Body["error"].(string)
		if d["recorded"] != true || (caseID != "" && d["case_id"] != caseID) || !strings.Contains(msg, "recorded") || !strings.Contains(msg, "do not send it again") {
			t.Errorf("%s: %s, want recorded for case %q", what, r.Raw, caseID)
		}
		if nl, _ := r.Body["error_nl"].(string); !strings.Contains(nl, "vastgelegd") {
			t.Errorf("%s: no Dutch: %s", what, r.Raw)
		}
		if ra := r.Header.Get("Retry-After"); ra != "" {
			t.Errorf("%s: Retry-After %s invites a resend of a recorded action", what, ra)
		}
	}
	done := func(id, step string) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for {
			g.reads.Store(false)
			r := en.want(en.do("dist", "GET", "/api/v1/cases/"+id, nil), 200, "case")
			if strings.Contains(r.Raw, `"key":"`+step+`"`) && stepState(r, step) == "done" {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("step %s of %s not done 20 s after it was recorded: %s", step, id, r.Raw)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}

	open := `{"school":"01AB","from":{"quadrant":1,"idp":"Magister"},"to":{"quadrant":1,"idp":"itslearning"},"likas":["lika-a"],"switch_on":"2027-07-15"}`
	c := en.want(en.do("dist", "POST", "/api/v1/cases", open), 201, "open")
	id := c.Body["id"].(string)

	// The API's own write of the snapshot fails.
	g.writes.Store(true)
	recorded(en.do("dist", "POST", "/api/v1/cases/"+id+"/steps/plan.identity", `{"data":{"change":"realm"}}`), "step, write fails", id)
	g.writes.Store(false)
	done(id, "plan.identity")
	en.want(en.do("dist", "POST", "/api/v1/cases/"+id+"/steps/plan.identity", `{"data":{"change":"realm"}}`), 409, "sent again")

	// The write lands, the read back fails.
	g.readsNext.Store(true)
	recorded(en.do("dist", "POST", "/api/v1/cases/"+id+"/steps/plan.freeze", `{"data":{"freeze_on":"2027-08-01"}}`), "step, read back fails", id)
	done(id, "plan.freeze")

	// A ticket closed, the ticket read back fails.
	r := en.driveUntil(id, "school-vo", func(r response) bool {
		tk, _ := r.Body["tickets"].([]any)
		return len(tk) > 0 && tk[0].(map[string]any)["state"] == "open"
	})
	ticket := r.Body["tickets"].([]any)[0].(map[string]any)["id"].(string)
	g.readsNext.Store(true)
	recorded(en.do("lika-a", "POST", "/api/v1/tickets/"+ticket+"/close", `{"note":"verwerkt"}`), "ticket close, read back fails", id)
	g.reads.Store(false)
	en.want(en.do("lika-a", "POST", "/api/v1/tickets/"+ticket+"/close", `{"note":"verwerkt"}`), 409, "ticket closed again")

}

// stepState is the state of a step in a case's JSON.
func stepState(r response, key string) string {
	steps, _ := r.Body["steps"].([]any)
	for _, s := range steps {
		m, _ := s.(map[string]any)
		if m["key"] == key {
			st, _ := m["state"].(string)
			return st
		}
	}
	return ""
}
