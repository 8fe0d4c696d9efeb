// Package casework is the actions people take on a case, shared by the
// JSON API and the web pages: the submitted data is validated by the
// domain and stored first, then the case workflow is asked to act with
// only the submission's ID. Both front ends call these functions, so the
// rules are the same whichever one a person uses.
package casework

import (
	"context"
	"strings"
	"time"
	"unicode/utf8"

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

// CompleteStep checks the step against the case as read (CheckStep),
// validates data for it, stores it and asks the case workflow to
// complete the step (or, for the final test, to record its outcome). The
// caller has found the step on the case, and checked the rules outside
// the workflow (checked); now is when the person acted, which the dates
// it gives are checked against.
func CompleteStep(ctx context.Context, subs Submissions, eng Engine, me cmr.Actor, cs cmr.Case, step cmr.Step, data map[string]any, checked Checked, now time.Time) (workflows.UpdateResult, error) {
	if err := CheckStep(cs, step, me, data); err != nil {
		return workflows.UpdateResult{}, err
	}
	clean, err := step.ValidateData(data, cs.Calendar.Today(now))
	if err != nil {
		return workflows.UpdateResult{}, err
	}
	sub, err := subs.CreateSubmission(ctx, cmr.Submission{CaseID: cs.ID, Kind: "step:" + step.Key, Data: clean, Actor: me})
	if err != nil {
		return workflows.UpdateResult{}, err
	}
	if step.Kind == cmr.StepTest {
		redo, _ := clean["redo_step"].(string)
		return eng.Update(ctx, cs.ID, workflows.UpdateConfirmTest, workflows.TestRequest{Actor: me, Passed: clean["passed"] == true, RedoStep: redo, SubmissionID: sub})
	}
	return eng.Update(ctx, cs.ID, workflows.UpdateCompleteStep, workflows.StepRequest{Actor: me, Step: step.Key, SubmissionID: sub, ListID: checked.ListID})
}

// ResolveTicket checks the ticket as read (CheckResolve), stores the note
// (close) or reason (waive) and asks the case workflow to close or waive
// the ticket.
func ResolveTicket(ctx context.Context, subs Submissions, eng Engine, me cmr.Actor, t cmr.Ticket, to cmr.TicketState, data map[string]any) (workflows.UpdateResult, error) {
	kind := "ticket:close"
	if to == cmr.TicketWaived {
		kind = "ticket:waive"
	}
	// Checked before anything is stored: the workflow would refuse too,
	// but a refused action must leave no submission (a note may name a
	// pupil).
	if err := CheckResolve(t, to, me); err != nil {
		return workflows.UpdateResult{}, err
	}
	sub, err := subs.CreateSubmission(ctx, cmr.Submission{CaseID: t.CaseID, Kind: kind, Data: data, Actor: me})
	if err != nil {
		return workflows.UpdateResult{}, err
	}
	return eng.Update(ctx, t.CaseID, workflows.UpdateResolveTicket, workflows.TicketRequest{Actor: me, TicketID: t.ID, To: to, SubmissionID: sub})
}

// CancelCase cancels an open case for its distributor, with the reason,
// which is checked before anything is stored.
func CancelCase(ctx context.Context, subs Submissions, eng Engine, me cmr.Actor, cs cmr.Case, reason string) (workflows.UpdateResult, error) {
	reason = strings.TrimSpace(reason)
	switch {
	case me.Role != cmr.RoleDistributor || me.OrganisationID != cs.Parties.DistributorID:
		return workflows.UpdateResult{}, cmr.Errorf(cmr.KindForbidden, "only the case's distributor can cancel it").
			NL("alleen de distributeur van de zaak kan de zaak annuleren")
	case reason == "":
		return workflows.UpdateResult{}, cmr.FieldErrorf("reason", "is required: why the case is cancelled").
			NL("is verplicht: geef aan waarom de zaak wordt geannuleerd")
	case utf8.RuneCountInString(reason) > 2000:
		return workflows.UpdateResult{}, cmr.FieldErrorf("reason", "is longer than 2000 characters").NL("is langer dan 2000 tekens")
	case cs.Status != cmr.CaseOpen:
		return workflows.UpdateResult{}, cmr.Errorf(cmr.KindConflict, "case %s is %s already", cs.ID, cs.Status).
			NL("zaak %s is al %s", cs.ID, cs.Status.Dutch())
	}
	sub, err := subs.CreateSubmission(ctx, cmr.Submission{CaseID: cs.ID, Kind: "case:cancel", Data: map[string]any{"reason": reason}, Actor: me})
	if err != nil {
		return workflows.UpdateResult{}, err
	}
	return eng.Update(ctx, cs.ID, workflows.UpdateCancel, workflows.CancelRequest{Actor: me, SubmissionID: sub})
}
