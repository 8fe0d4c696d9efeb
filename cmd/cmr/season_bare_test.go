package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/cmr-idp/cmr/temporalserver"
)

// The season's baseline is bare Temporal doing what the procedure asks of
// it for a case, and nothing else: a workflow per case, a child workflow
// per ticket, an update per step and per ticket closed, on the embedded
// server `cmr dev` runs, with no database, no activities, no notices and
// no API. It says how much of the season is the engine itself on this
// machine, and so whether the season's goal can be met by CMR's own code.

// seasonSteps is how many steps the bare case waits for: as many as the
// season's clients complete per case over the API (the season logs that
// figure, so a change of the procedure shows as a difference).
var seasonSteps = flag.Int("season-steps", 19, "BenchmarkSeason/bare: steps completed per case")

// bareSeasonQueue is the baseline's task queue.
const bareSeasonQueue = "bare-season"

// bareSeasonInput is what a bare case needs: how many tickets to start
// and how many steps to wait for.
type bareSeasonInput struct {
	Tickets, Steps int
}

// bareSeasonCase starts its tickets, counts the steps sent to it as
// updates, closes a ticket (a signal to it) on each "close" update, and
// ends when every step is done and every ticket has ended.
func bareSeasonCase(ctx workflow.Context, in bareSeasonInput) error {
	id := workflow.GetInfo(ctx).WorkflowExecution.ID
	steps, closed := 0, 0
	if err := workflow.SetUpdateHandler(ctx, "step", func(ctx workflow.Context) (int, error) {
		steps++
		return steps, nil
	}); err != nil {
		return err
	}
	if err := workflow.SetUpdateHandler(ctx, "close", func(ctx workflow.Context, i int) (int, error) {
		if err := workflow.SignalExternalWorkflow(ctx, fmt.Sprintf("%s/ticket-%d", id, i), "", "close", nil).Get(ctx, nil); err != nil {
			return 0, err
		}
		closed++
		return closed, nil
	}); err != nil {
		return err
	}
	var tickets []workflow.ChildWorkflowFuture
	for i := range in.Tickets {
		cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{WorkflowID: fmt.Sprintf("%s/ticket-%d", id, i)})
		tickets = append(tickets, workflow.ExecuteChildWorkflow(cctx, bareSeasonTicket))
	}
	for _, t := range tickets {
		if err := t.GetChildWorkflowExecution().Get(ctx, nil); err != nil {
			return err
		}
	}
	if err := workflow.Await(ctx, func() bool { return steps >= in.Steps && closed >= in.Tickets }); err != nil {
		return err
	}
	for _, t := range tickets {
		if err := t.Get(ctx, nil); err != nil {
			return err
		}
	}
	return nil
}

// bareSeasonTicket ends when it is closed.
func bareSeasonTicket(ctx workflow.Context) error {
	workflow.GetSignalChannel(ctx, "close").Receive(ctx, nil)
	return nil
}

// benchSeasonBare runs the season's cases as bare cases, -season-clients
// at a time, each client sending its case's updates one after another as
// the season's clients do: half the steps, every ticket's close, the rest
// of the steps.
func benchSeasonBare(b *testing.B) {
	dir := b.TempDir()
	ts, err := temporalserver.Start(temporalserver.Config{Dir: filepath.Join(dir, "temporal"), LogFile: filepath.Join(dir, "temporal.log")})
	if err != nil {
		b.Fatal(err)
	}
	defer ts.Stop()
	// The SDK's own logger writes a line per child workflow started.
	quiet := tlog.NewStructuredLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	c, err := client.Dial(client.Options{HostPort: ts.HostPort(), Namespace: "default", Logger: quiet})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	w := worker.New(c, bareSeasonQueue, worker.Options{})
	w.RegisterWorkflow(bareSeasonCase)
	w.RegisterWorkflow(bareSeasonTicket)
	if err := w.Start(); err != nil {
		b.Fatal(err)
	}
	defer w.Stop()
	in := bareSeasonInput{Tickets: *seasonLiKas, Steps: *seasonSteps}
	var updates atomic.Int64
	drive := func(i int) error {
		ctx := context.Background()
		run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: fmt.Sprintf("bare-season/%d", i), TaskQueue: bareSeasonQueue}, bareSeasonCase, in)
		if err != nil {
			return err
		}
		update := func(name string, args ...any) error {
			updates.Add(1)
			h, err := c.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{WorkflowID: run.GetID(), UpdateName: name, Args: args, WaitForStage: client.WorkflowUpdateStageCompleted})
			if err != nil {
				return err
			}
			return h.Get(ctx, nil)
		}
		for range in.Steps / 2 {
			if err := update("step"); err != nil {
				return err
			}
		}
		for t := range in.Tickets {
			if err := update("close", t); err != nil {
				return err
			}
		}
		for range in.Steps - in.Steps/2 {
			if err := update("step"); err != nil {
				return err
			}
		}
		return run.Get(ctx, nil)
	}
	took, failed := driveCases(b, "bare case", drive)
	b.ReportMetric(took.Seconds(), "s-total")
	b.ReportMetric(float64(*seasonCases-failed)/took.Seconds(), "cases/s")
	b.Logf("bare Temporal: %d cases × %d tickets, %d steps each, completed in %s by %d clients: %d updates (%.0f/s); %d failed",
		*seasonCases-failed, in.Tickets, in.Steps, took.Round(time.Millisecond), *seasonClients, updates.Load(), float64(updates.Load())/took.Seconds(), failed)
}
