package workflows

import (
	"context"
	"errors"
	"fmt"
	"strings"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/cmr-idp/cmr"
	"github.com/cmr-idp/cmr/activities"
)

// Engine is how the API and the web UI drive cases: it starts case
// workflows and sends them updates, translating Temporal's answers into
// the domain's errors.
type Engine struct {
	Client client.Client
	// Searchable starts cases with the search attributes (CmrCaseId,
	// CmrSchoolBrin, CmrCaseStatus); set it once they are registered.
	Searchable bool
	// Projection is where Update writes the snapshot an update answers
	// with (UpdateResult.Write) before it returns, so that a read right
	// after the answer sees the transition. The workflow writes it too,
	// a moment later; without a Projection a caller may read the case as
	// it was.
	Projection Projection
}

// Projection writes case snapshots: the store (gormdb).
type Projection interface {
	activities.Store
}

// startOptions are the case workflow's start options.
func (e *Engine) startOptions(in CaseInput) client.StartWorkflowOptions {
	opts := client.StartWorkflowOptions{
		ID:                       CaseWorkflowID(in.Header.ID),
		TaskQueue:                TaskQueue,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_FAIL,
		WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
	}
	if e.Searchable {
		opts.TypedSearchAttributes = temporal.NewSearchAttributes(
			SearchCaseID.ValueSet(in.Header.ID),
			SearchSchoolBRIN.ValueSet(in.SchoolBRIN),
			SearchCaseStatus.ValueSet(string(cmr.CaseOpen)))
	}
	return opts
}

// RegisterSearchAttributes adds the case search attributes to namespace
// where they are missing. It needs the operator API (a cluster admin's
// rights): where that is refused, run it once with rights, or leave
// Engine.Searchable off.
func RegisterSearchAttributes(ctx context.Context, c client.Client, namespace string) error {
	have, err := c.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: namespace})
	if err != nil {
		return fmt.Errorf("list search attributes: %w", err)
	}
	missing := map[string]enumspb.IndexedValueType{}
	for name, typ := range SearchAttributes() {
		if _, ok := have.GetCustomAttributes()[name]; !ok {
			missing[name] = typ
		}
	}
	if len(missing) == 0 {
		return nil
	}
	if _, err := c.OperatorService().AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{Namespace: namespace, SearchAttributes: missing}); err != nil {
		return fmt.Errorf("add search attributes: %w", err)
	}
	return nil
}

// OpenCase starts the case workflow and waits until the opening is
// written, in one round trip (update-with-start). A case whose ID is
// already taken is a conflict.
func (e *Engine) OpenCase(ctx context.Context, in CaseInput) (UpdateResult, error) {
	return e.open(ctx, in, false)
}

// OpenOrAwaitCase is OpenCase for a request that may be sent more than
// once (an idempotency key, its case ID reserved in the database): it
// starts the case workflow unless another attempt did, and waits for the
// opening. A case that has already ended (cancelled at once) is not an
// error.
func (e *Engine) OpenOrAwaitCase(ctx context.Context, in CaseInput) (UpdateResult, error) {
	return e.open(ctx, in, true)
}

// open starts the case workflow, or with again joins the one another
// attempt started, and waits for the opening.
func (e *Engine) open(ctx context.Context, in CaseInput, again bool) (UpdateResult, error) {
	op := "open case " + in.Header.ID
	opts := e.startOptions(in)
	if again {
		opts.WorkflowIDConflictPolicy = enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING
	}
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	h, err := e.Client.UpdateWithStartWorkflow(ctx, client.UpdateWithStartWorkflowOptions{
		StartWorkflowOperation: e.Client.NewWithStartWorkflowOperation(opts, CaseWorkflow, in),
		UpdateOptions:          client.UpdateWorkflowOptions{UpdateName: UpdateOpened, WaitForStage: client.WorkflowUpdateStageCompleted},
	})
	if err != nil && multiOperationDisabled(err) {
		// An older server without update-with-start: start (or, again,
		// find the running case), then ask.
		if _, err := e.Client.ExecuteWorkflow(ctx, opts, CaseWorkflow, in); err != nil {
			if again && errors.As(err, &started) {
				return UpdateResult{}, nil // ended before the request came again
			}
			return UpdateResult{}, translate(op, withContext(ctx, err))
		}
		return e.Update(ctx, in.Header.ID, UpdateOpened, nil)
	}
	if err != nil {
		if again && errors.As(err, &started) {
			return UpdateResult{}, nil // ended before the request came again
		}
		return UpdateResult{}, translate(op, withContext(ctx, err))
	}
	var res UpdateResult
	if err := h.Get(ctx, &res); err != nil {
		return UpdateResult{}, translate(op, withContext(ctx, err))
	}
	return e.write(ctx, op, res)
}

func multiOperationDisabled(err error) bool {
	var unimpl *serviceerror.Unimplemented
	var denied *serviceerror.PermissionDenied
	return errors.As(err, &unimpl) || (errors.As(err, &denied) && strings.Contains(err.Error(), "MultiOperation"))
}

// Update sends a validated update to a case and waits for its result.
func (e *Engine) Update(ctx context.Context, caseID, name string, arg any) (UpdateResult, error) {
	opts := client.UpdateWorkflowOptions{WorkflowID: CaseWorkflowID(caseID), UpdateName: name, WaitForStage: client.WorkflowUpdateStageCompleted}
	if arg != nil {
		opts.Args = []any{arg}
	}
	h, err := e.Client.UpdateWorkflow(ctx, opts)
	if err != nil {
		return UpdateResult{}, translate(name+" "+caseID, withContext(ctx, err))
	}
	var res UpdateResult
	if err := h.Get(ctx, &res); err != nil {
		return UpdateResult{}, translate(name+" "+caseID, withContext(ctx, err))
	}
	return e.write(ctx, name+" "+caseID, res)
}

// write writes the snapshot an update answered with (UpdateResult.Write)
// to the Projection. The server has recorded the transition, so writing
// it cannot put the projection ahead of the workflow. If this write fails
// the workflow's own write still lands; the caller answers 503 saying
// that the action is recorded (cmr.Recorded), and a resend finds the step
// done.
func (e *Engine) write(ctx context.Context, op string, res UpdateResult) (UpdateResult, error) {
	if w := res.Write; w != nil && e.Projection != nil {
		if err := activities.WriteCase(ctx, e.Projection, *w); err != nil {
			return UpdateResult{}, fmt.Errorf("%s: write the case: %w", op, cmr.Recorded(w.State.CaseID, err))
		}
	}
	res.Write = nil
	return res, nil
}

// withContext adds the context's own error to err when the context ended:
// the SDK reports an update it stopped waiting for ("timeout or
// cancellation waiting for update") without wrapping it.
func withContext(ctx context.Context, err error) error {
	if ctx.Err() != nil && !errors.Is(err, ctx.Err()) {
		return errors.Join(err, ctx.Err())
	}
	return err
}

// translate maps Temporal's errors to the domain's kinds: a refused update
// carries its kind as the application error type.
func translate(op string, err error) error {
	var app *temporal.ApplicationError
	if errors.As(err, &app) {
		if kind := cmr.ErrorKind(app.Type()); kind != "" && kind != "unknown" {
			if kind == cmr.KindNotFound {
				return cmr.ErrNotFound
			}
			refused := &cmr.Error{Kind: kind, Message: app.Message(), MessageNL: app.Message()}
			var d RefusalDetail
			if app.HasDetails() && app.Details(&d) == nil && d.Message != "" {
				refused.Field, refused.Message, refused.MessageNL, refused.MessageEN = d.Field, d.Message, d.MessageNL, d.MessageEN
			}
			return refused
		}
	}
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	if errors.As(err, &started) {
		return cmr.Errorf(cmr.KindConflict, "a case with this ID already exists").NL("er bestaat al een zaak met dit nummer")
	}
	var multi *serviceerror.MultiOperationExecution
	if errors.As(err, &multi) {
		for _, e := range multi.OperationErrors() {
			if errors.As(e, &started) {
				return cmr.Errorf(cmr.KindConflict, "a case with this ID already exists").NL("er bestaat al een zaak met dit nummer")
			}
		}
	}
	var notFound *serviceerror.NotFound
	if errors.As(err, &notFound) {
		return cmr.Errorf(cmr.KindConflict, "this case is no longer running (completed or cancelled): nothing can change any more").
			NL("deze zaak loopt niet meer (afgerond of geannuleerd): er kan niets meer veranderen")
	}
	var unavailable *serviceerror.Unavailable
	var deadline *serviceerror.DeadlineExceeded
	// WorkflowNotReady: the update was dropped with a failed workflow task
	// (a worker that died mid-task, say); it was not applied, and the same
	// request a moment later is.
	var notReady *serviceerror.WorkflowNotReady
	if errors.As(err, &deadline) || errors.Is(err, context.DeadlineExceeded) {
		// Busy more often than down, and the request may still be
		// carried out: a caller that simply resends could act twice.
		return fmt.Errorf("%s: %w", op, &cmr.Error{Kind: cmr.KindUnavailable,
			Message:   "the workflow engine did not answer in time; it may still carry out the request, so look at the case before you try again",
			MessageNL: "het systeem dat de procedure bewaakt antwoordde niet op tijd; het verzoek kan alsnog worden uitgevoerd, dus bekijk de zaak voordat u het opnieuw probeert"})
	}
	if errors.As(err, &unavailable) || errors.As(err, &notReady) || errors.Is(err, context.Canceled) {
		return fmt.Errorf("%s: %w", op, &cmr.Error{Kind: cmr.KindUnavailable, Message: "the workflow engine is not reachable; try again shortly", MessageNL: "het systeem dat de procedure bewaakt is even niet bereikbaar; probeer het zo opnieuw"})
	}
	return fmt.Errorf("%s: %w", op, err)
}
