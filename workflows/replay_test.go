package workflows

import (
	"log/slog"
	"path/filepath"
	"testing"

	tlog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"
)

// TestReplayHistories replays saved histories of real VO and MBO cases
// against the current workflow code: a change that would break running
// cases (non-determinism) fails here. Refresh the fixtures with
// `go test ./api -run 'VOCase|MBOCase|CancelWithTicketsOpen|ReturnWhileSchoolSaves'
// -update-histories` (cases and tickets) and `go test ./cmd/cmr -run
// 'DevEndToEndSurvivesRestart|SaveNoticesWaitingForMorning'
// -update-histories` (notices: a case's, sent at once, and one whose
// e-mail waits for the working morning, saved while it waits; that one
// only outside working hours), and only for changes that are versioned
// (workflow.GetVersion) or before go-live.
func TestReplayHistories(t *testing.T) {
	// Histories of cases started before a versioned change stay in a
	// folder named after it, since such cases may still be running.
	files, err := filepath.Glob(filepath.Join("testdata", "histories", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	older, err := filepath.Glob(filepath.Join("testdata", "histories", "*", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	files = append(files, older...)
	if len(files) < 4 {
		t.Fatalf("want saved histories of VO and MBO cases and tickets, found %d", len(files))
	}
	r := worker.NewWorkflowReplayer()
	r.RegisterWorkflow(CaseWorkflow)
	r.RegisterWorkflow(TicketWorkflow)
	r.RegisterWorkflow(NotifyWorkflow)
	r.RegisterWorkflow(NoticesWorkflow)
	logger := tlog.NewStructuredLogger(slog.New(slog.DiscardHandler))
	for _, f := range files {
		name, _ := filepath.Rel(filepath.Join("testdata", "histories"), f)
		t.Run(name, func(t *testing.T) {
			if err := r.ReplayWorkflowHistoryFromJSONFile(logger, f); err != nil {
				t.Fatalf("replay %s: %v", f, err)
			}
		})
	}
}
