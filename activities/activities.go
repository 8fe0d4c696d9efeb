// Package activities holds the side effects of the case and ticket
// workflows: writing each transition to the database (the case/ticket
// projection and the audit trail). Every write is idempotent, so Temporal
// may retry an activity without duplicating a ticket or an event.
package activities

import (
	"context"
	"errors"
	"fmt"

	"go.temporal.io/sdk/temporal"

	"github.com/cmr-idp/cmr"
)

// Store is what the activities need of the storage adapter.
type Store interface {
	SaveCase(ctx context.Context, header cmr.CaseHeader, st cmr.CaseState, version int, cancelSubmissionID string, events []cmr.Event) error
	SaveTicket(ctx context.Context, t cmr.Ticket, events []cmr.Event) error
}

// Activities are registered on the worker as one struct; workflows refer
// to its methods through a nil *Activities.
type Activities struct {
	Store Store
	// Announcer starts the notifications of the events a transition
	// wrote; nil sends none. The notification activities (notify.go) use
	// the fields after it.
	Announcer Announcer
	Notices   NoticeStore
	Mail      Mailer
	Webhooks  WebhookPoster
	// PublicURL is the site's address, for the links in messages.
	PublicURL string
	Calendar  cmr.CalendarConfig
	Counter   DeliveryCounter
}

// SaveCaseInput is a snapshot of a case after a transition, with the audit
// events the transition produced. IDs only: no personal data.
type SaveCaseInput struct {
	Header cmr.CaseHeader
	// State has the case's plan in its first snapshot only: the store
	// keeps it with the steps, and it never changes after opening.
	State              cmr.CaseState
	Version            int
	CancelSubmissionID string
	Events             []cmr.Event
	// Tickets are the last writes of the case's ended tickets that no
	// SaveCase has written yet: a ticket its case started with
	// CaseWritesEnd (the case's ticket-end-by-case change) hands its end
	// to the case instead of writing it.
	Tickets []SaveTicketInput `json:",omitempty"`
}

// SaveCaseResult is empty; it exists so the signature can grow.
type SaveCaseResult struct{}

// SaveCase writes the case projection and appends the events.
func (a *Activities) SaveCase(ctx context.Context, in SaveCaseInput) (SaveCaseResult, error) {
	op := fmt.Sprintf("save case %s v%d", in.State.CaseID, in.Version)
	err := WriteCase(ctx, a.Store, in)
	if errors.Is(err, cmr.ErrPlanNotStored) {
		// Not retried as it is: the case workflow sends it again with the
		// plan (PlanNotStored).
		return SaveCaseResult{}, temporal.NewNonRetryableApplicationError(op+": "+err.Error(), PlanNotStored, nil)
	}
	if err == nil {
		err = a.announce(ctx, in.AllEvents())
	}
	return SaveCaseResult{}, classify(op, err)
}

// PlanNotStored is the type of the SaveCase activity's error for a
// snapshot without its case's plan that the store cannot write
// (cmr.ErrPlanNotStored).
const PlanNotStored = "plan-not-stored"

// WriteCase writes a case snapshot: the ends of its tickets first, then
// the case, whose snapshot already counts them. Every write is idempotent
// (by version and event key), so the SaveCase activity and the caller
// that got the snapshot from its update may both write it, in any order.
func WriteCase(ctx context.Context, w Store, in SaveCaseInput) error {
	for _, t := range in.Tickets {
		if err := w.SaveTicket(ctx, t.Ticket, t.Events); err != nil {
			return err
		}
	}
	return w.SaveCase(ctx, in.Header, in.State, in.Version, in.CancelSubmissionID, in.Events)
}

// AllEvents are the snapshot's events, its tickets' first.
func (in SaveCaseInput) AllEvents() []cmr.Event {
	if len(in.Tickets) == 0 {
		return in.Events
	}
	var all []cmr.Event
	for _, t := range in.Tickets {
		all = append(all, t.Events...)
	}
	return append(all, in.Events...)
}

// SaveTicketInput is a snapshot of a ticket after a transition.
type SaveTicketInput struct {
	Ticket cmr.Ticket
	Events []cmr.Event
}

// SaveTicketResult is empty; it exists so the signature can grow.
type SaveTicketResult struct{}

// SaveTicket writes the ticket projection and appends the events.
func (a *Activities) SaveTicket(ctx context.Context, in SaveTicketInput) (SaveTicketResult, error) {
	err := a.Store.SaveTicket(ctx, in.Ticket, in.Events)
	if err == nil {
		err = a.announce(ctx, in.Events)
	}
	return SaveTicketResult{}, classify("save ticket "+in.Ticket.ID, err)
}

// classify makes domain errors that a retry cannot fix non-retryable; all
// others (a database restarting, say) are retried.
func classify(op string, err error) error {
	if err == nil {
		return nil
	}
	switch cmr.KindOf(err) {
	case cmr.KindInvalid, cmr.KindNotFound, cmr.KindForbidden:
		return temporal.NewNonRetryableApplicationError(op+": "+err.Error(), string(cmr.KindOf(err)), nil)
	}
	return fmt.Errorf("%s: %w", op, err)
}
