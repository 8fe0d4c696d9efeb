// Package workflows encodes the procedure as Temporal workflows: one
// CaseWorkflow per case and one TicketWorkflow per LiKa ticket, a child of
// its case. Human steps arrive as Workflow Updates whose validators refuse
// a wrong role or state before anything is written. Payloads carry IDs
// only; what people typed is stored beforehand and referred to by its
// submission ID.
package workflows

import (
	"errors"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/cmr-idp/cmr"
	"github.com/cmr-idp/cmr/activities"
)

// TaskQueue is the queue the worker polls.
const TaskQueue = "cmr"

// Update, query and signal names shared by the API and the workflows.
const (
	UpdateOpened        = "opened"
	UpdateCompleteStep  = "complete-step"
	UpdateConfirmTest   = "confirm-test"
	UpdateResolveTicket = "resolve-ticket"
	UpdateCancel        = "cancel"
	UpdateReturnList    = "return-list"
	QueryState          = "state"

	SignalStartClock = "start-clock"
	SignalResolve    = "resolve"
	SignalCancel     = "cancel"
	// SignalTicketRecorded goes from a ticket to its case after each write,
	// so the case can answer an update only once its tickets are written.
	SignalTicketRecorded = "ticket-recorded"
)

// TicketRecorded reports that a ticket's state is written.
type TicketRecorded struct {
	TicketID string          `json:"ticket_id"`
	State    cmr.TicketState `json:"state"`
}

// Search attributes let operators find a case's workflow in the Temporal
// UI by case ID, school BRIN or status. They hold IDs only. Cases are
// started with them only where they are registered (see
// RegisterSearchAttributes); the workflow upserts the status only when it
// was started with them, so an unregistered cluster never fails a task.
var (
	SearchCaseID     = temporal.NewSearchAttributeKeyKeyword("CmrCaseId")
	SearchSchoolBRIN = temporal.NewSearchAttributeKeyKeyword("CmrSchoolBrin")
	SearchCaseStatus = temporal.NewSearchAttributeKeyKeyword("CmrCaseStatus")
)

// SearchAttributes are the custom search attributes to register, by name.
func SearchAttributes() map[string]enumspb.IndexedValueType {
	out := map[string]enumspb.IndexedValueType{}
	for _, k := range []temporal.SearchAttributeKeyKeyword{SearchCaseID, SearchSchoolBRIN, SearchCaseStatus} {
		out[k.GetName()] = enumspb.INDEXED_VALUE_TYPE_KEYWORD
	}
	return out
}

// CaseWorkflowID is the workflow ID of a case: its business key.
func CaseWorkflowID(caseID string) string { return "case/" + caseID }

// TicketWorkflowID is the workflow ID of a ticket.
func TicketWorkflowID(ticketID string) string { return "ticket/" + ticketID }

// StepRequest asks to complete a human step.
// ListID is, for a step that returns the school's list (MBO 8c), the
// version it was checked against: its step.completed event names it, as
// the version the publishers it returns to get (ReturnRequest).
type StepRequest struct {
	Actor        cmr.Actor `json:"actor"`
	Step         string    `json:"step"`
	SubmissionID string    `json:"submission_id"`
	ListID       string    `json:"list_id,omitempty"`
}

// TestRequest reports the outcome of the final test.
type TestRequest struct {
	Actor        cmr.Actor `json:"actor"`
	Passed       bool      `json:"passed"`
	RedoStep     string    `json:"redo_step"`
	SubmissionID string    `json:"submission_id"`
}

// TicketRequest closes (LiKa) or waives (distributor) a ticket.
type TicketRequest struct {
	Actor        cmr.Actor       `json:"actor"`
	TicketID     string          `json:"ticket_id"`
	To           cmr.TicketState `json:"to"`
	SubmissionID string          `json:"submission_id"`
}

// ReturnRequest returns the completed list to one publisher (MBO 8c).
// ListID is the version of the school's list that was checked for the
// return: the publisher gets that version's rows, whatever the school
// stores while the return is on its way. (Requests of running cases from
// before it have none.)
type ReturnRequest struct {
	Actor    cmr.Actor `json:"actor"`
	TicketID string    `json:"ticket_id"`
	ListID   string    `json:"list_id,omitempty"`
}

// CancelRequest cancels the case.
type CancelRequest struct {
	Actor        cmr.Actor `json:"actor"`
	SubmissionID string    `json:"submission_id"`
}

// UpdateResult is what every update answers: where the case stands now.
type UpdateResult struct {
	Status    cmr.CaseStatus `json:"status"`
	OpenSteps []string       `json:"open_steps"`
	Reopened  []string       `json:"reopened,omitempty"`
	Version   int            `json:"version"`
	// Write is the transition's snapshot for the caller to write before
	// it answers (see callerWrites); nil where the workflow has written it.
	Write *activities.SaveCaseInput `json:"write,omitempty"`
}

// refusal turns a domain error into the update's rejection; the API maps
// its type back to an HTTP status.
func refusal(err error) error {
	if err == nil {
		return nil
	}
	kind := cmr.KindOf(err)
	if kind == "" {
		kind = cmr.KindConflict
	}
	var detail RefusalDetail
	var e *cmr.Error
	if errors.As(err, &e) {
		detail = RefusalDetail{Field: e.Field, Message: e.Message, MessageNL: e.MessageNL, MessageEN: e.MessageEN}
	}
	return temporal.NewNonRetryableApplicationError(err.Error(), string(kind), nil, detail)
}

// RefusalDetail travels with a refused update so that the caller rebuilds
// the domain error whole: the field at fault and the Dutch message, which
// the application error's one message string cannot hold.
type RefusalDetail struct {
	Field     string `json:"field,omitempty"`
	Message   string `json:"message,omitempty"`
	MessageNL string `json:"message_nl,omitempty"`
	MessageEN string `json:"message_en,omitempty"` // the pages' English, where it differs
}

func activityOptions(ctx workflow.Context) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:        time.Second,
			BackoffCoefficient:     2,
			MaximumInterval:        time.Minute,
			NonRetryableErrorTypes: []string{string(cmr.KindInvalid), string(cmr.KindNotFound), string(cmr.KindForbidden)},
		},
	})
}

// localSave is the change from which the case and ticket workflows write
// their projection with a local activity: it runs in the worker that runs
// the workflow task, so a step transition answers after one workflow task
// instead of three trips through the server (workflow task, activity task,
// workflow task). Histories recorded before it replay with the regular
// activity.
const localSave = "local-save"

// saveProjection runs a projection write (SaveCase, SaveTicket): as a
// local activity in workflows started since localSave, retried as long as
// the regular one would be.
func saveProjection(ctx workflow.Context, activity, in any) error {
	// Version 2 went back to the regular activity: a local write inside
	// an update's workflow task stays in the database when that task is
	// lost (worker killed), while the server drops the update, so the
	// projection ran ahead of the workflow (found by the fault test).
	// Version 1 stays only for the cases started with it.
	if workflow.GetVersion(ctx, localSave, workflow.DefaultVersion, 2) != 1 {
		return workflow.ExecuteActivity(activityOptions(ctx), activity, in).Get(ctx, nil)
	}
	return workflow.ExecuteLocalActivity(localActivityOptions(ctx), activity, in).Get(ctx, nil)
}

// localActivityOptions retry a local activity as long as activityOptions
// would, starting sooner: it runs in the same worker, without a trip
// through the server. Its attempts all end within the schedule-to-close
// timeout, which is otherwise the start-to-close (10 s): a database down
// for longer would fail the workflow.
func localActivityOptions(ctx workflow.Context) workflow.Context {
	return workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		StartToCloseTimeout:    10 * time.Second,
		ScheduleToCloseTimeout: 30 * 24 * time.Hour,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:        100 * time.Millisecond,
			BackoffCoefficient:     2,
			MaximumInterval:        time.Minute,
			NonRetryableErrorTypes: []string{string(cmr.KindInvalid), string(cmr.KindNotFound), string(cmr.KindForbidden)},
		},
	})
}
