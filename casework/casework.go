// Package casework is the actions people take on a case, shared by the
// JSON API and the web pages: the submitted data is validated by the
// domain and stored first, then the case workflow is asked to act with
// only the submission's ID. Both front ends call these functions, so the
// rules are the same whichever one a person uses.
package casework

import (
	"context"

	"github.com/cmr-idp/cmr"
	"github.com/cmr-idp/cmr/workflows"
)

// Engine drives the case workflows.
type Engine interface {
	Update(ctx context.Context, caseID, name string, arg any) (workflows.UpdateResult, error)
}

// Submissions stores what people type before a workflow acts on it.
type Submissions interface {
	CreateSubmission(ctx context.Context, sub cmr.Submission) (string, error)
}

// Checked is what the rules outside the workflow checked a step against
// (the API's list precheck, the web's StepGuard), for the workflow to
// record with the step: for MBO 8c, the version of the school's list the
// publishers still waiting get back.
type Checked struct {
	ListID string
}

// CompleteStep validates data for the step, stores it and asks the case
// workflow to complete the step (or, for the final test, to record its
// outcome). The caller has checked that the step exists on the case, and
// the rules outside the workflow (checked).
func CompleteStep(ctx context.Context, subs Submissions, eng Engine, me cmr.Actor, caseID string, step cmr.StepDef, data map[string]any, checked Checked) (workflows.UpdateResult, error) {
	clean, err := step.ValidateData(data)
	if err != nil {
		return workflows.UpdateResult{}, err
	}
	sub, err := subs.CreateSubmission(ctx, cmr.Submission{CaseID: caseID, Kind: "step:" + step.Key, Data: clean, Actor: me})
	if err != nil {
		return workflows.UpdateResult{}, err
	}
	if step.Kind == cmr.StepTest {
		redo, _ := clean["redo_step"].(string)
		return eng.Update(ctx, caseID, workflows.UpdateConfirmTest, workflows.TestRequest{Actor: me, Passed: clean["passed"] == true, RedoStep: redo, SubmissionID: sub})
	}
	return eng.Update(ctx, caseID, workflows.UpdateCompleteStep, workflows.StepRequest{Actor: me, Step: step.Key, SubmissionID: sub, ListID: checked.ListID})
}

// ResolveTicket stores the note (close) or reason (waive) and asks the
// case workflow to close or waive the ticket.
func ResolveTicket(ctx context.Context, subs Submissions, eng Engine, me cmr.Actor, t cmr.Ticket, to cmr.TicketState, data map[string]any) (workflows.UpdateResult, error) {
	kind := "ticket:close"
	if to == cmr.TicketWaived {
		kind = "ticket:waive"
	}
	// Who may resolve is checked before anything is stored: the workflow
	// would refuse too, but a refused party must leave no submission.
	switch {
	case to == cmr.TicketWaived && me.Role != cmr.RoleDistributor:
		return workflows.UpdateResult{}, cmr.Errorf(cmr.KindForbidden, "only the case's distributor can waive ticket %s", t.ID).
			NL("alleen de distributeur van de zaak kan ticket %s laten vervallen", t.ID)
	case to == cmr.TicketClosed && (me.Role != cmr.RolePublisher || me.OrganisationID != t.LiKaID):
		return workflows.UpdateResult{}, cmr.Errorf(cmr.KindForbidden, "only the LiKa of ticket %s can close it; the distributor can waive it", t.ID).
			NL("alleen de LiKa van ticket %s kan het afmelden; de distributeur kan het laten vervallen", t.ID)
	}
	sub, err := subs.CreateSubmission(ctx, cmr.Submission{CaseID: t.CaseID, Kind: kind, Data: data, Actor: me})
	if err != nil {
		return workflows.UpdateResult{}, err
	}
	return eng.Update(ctx, t.CaseID, workflows.UpdateResolveTicket, workflows.TicketRequest{Actor: me, TicketID: t.ID, To: to, SubmissionID: sub})
}
