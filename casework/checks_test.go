package casework_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/cmr-idp/cmr"
	"github.com/cmr-idp/cmr/casework"
	"github.com/cmr-idp/cmr/workflows"
)

// submissions counts what would be stored.
type submissions struct{ stored []cmr.Submission }

func (s *submissions) CreateSubmission(_ context.Context, sub cmr.Submission) (string, error) {
	s.stored = append(s.stored, sub)
	return "sub-1", nil
}

// engine counts the updates sent.
type engine struct{ sent []string }

func (e *engine) Update(_ context.Context, _, name string, _ any) (workflows.UpdateResult, error) {
	e.sent = append(e.sent, name)
	return workflows.UpdateResult{}, nil
}

func checksCase() cmr.Case {
	step := func(key string, owner cmr.Role, kind cmr.StepKind, state cmr.StepState, waits ...string) cmr.Step {
		return cmr.Step{StepDef: cmr.StepDef{Key: key, Owner: owner, Kind: kind, WaitsFor: waits,
			Records: []cmr.Field{{Name: "keep_history", Type: cmr.FieldBool}}}, State: state}
	}
	cs := cmr.Case{Status: cmr.CaseOpen, Steps: []cmr.Step{
		step("plan.freeze", cmr.RoleDistributor, cmr.StepHuman, cmr.StepDone),
		step("plan.history", cmr.RoleDistributor, cmr.StepHuman, cmr.StepOpen, "plan.freeze"),
		step("3.advice", cmr.RoleDistributor, cmr.StepHuman, cmr.StepPending, "plan.history"),
		step("4", cmr.RoleDistributor, cmr.StepAuto, cmr.StepPending),
	}}
	cs.ID = "01AB-20270715"
	cs.Options.KeepHistory = true
	return cs
}

func TestCompleteStepRefusesBeforeStoring(t *testing.T) {
	dist := cmr.Actor{UserID: "u", OrganisationID: "dist", Role: cmr.RoleDistributor}
	school := cmr.Actor{UserID: "s", OrganisationID: "school", Role: cmr.RoleSchool}
	closed := checksCase()
	closed.Status = cmr.CaseCancelled
	for _, tc := range []struct {
		name string
		cs   cmr.Case
		step int
		me   cmr.Actor
		data map[string]any
		kind cmr.ErrorKind
		nl   string
	}{
		{"against the case's keep_history", checksCase(), 1, dist, map[string]any{"keep_history": false}, cmr.KindConflict, "Leerhistorie bewaren: ja"},
		{"another role's step", checksCase(), 1, school, map[string]any{"keep_history": true}, cmr.KindForbidden, "aan de distributeur"},
		{"a step done", checksCase(), 0, dist, nil, cmr.KindConflict, "al gedaan"},
		{"a step waiting", checksCase(), 2, dist, nil, cmr.KindConflict, "wacht op stap plan.history"},
		{"a step of the procedure itself", checksCase(), 3, dist, nil, cmr.KindConflict, "automatisch"},
		{"a closed case", closed, 1, dist, map[string]any{"keep_history": true}, cmr.KindConflict, "geannuleerd"},
	} {
		subs, eng := &submissions{}, &engine{}
		_, err := casework.CompleteStep(context.Background(), subs, eng, tc.me, tc.cs, tc.cs.Steps[tc.step], tc.data, casework.Checked{}, time.Now())
		var e *cmr.Error
		if cmr.KindOf(err) != tc.kind || !errors.As(err, &e) || !strings.Contains(e.MessageNL, tc.nl) {
			t.Errorf("%s: got %v, want %s with %q", tc.name, err, tc.kind, tc.nl)
		}
		if len(subs.stored) != 0 || len(eng.sent) != 0 {
			t.Errorf("%s: %d submissions stored, %d updates sent", tc.name, len(subs.stored), len(eng.sent))
		}
		if tc.name == "against the case's keep_history" && (!strings.Contains(e.Message, "keep_history=true") || !strings.Contains(e.Text("en"), `"Keep learning history: yes"`)) {
			t.Errorf("%s: the API's English %q, the pages' %q", tc.name, e.Message, e.Text("en"))
		}
	}
	subs, eng := &submissions{}, &engine{}
	cs := checksCase()
	if _, err := casework.CompleteStep(context.Background(), subs, eng, dist, cs, cs.Steps[1], map[string]any{"keep_history": true}, casework.Checked{}, time.Now()); err != nil || len(subs.stored) != 1 || len(eng.sent) != 1 {
		t.Errorf("the case's own answer: %v, %d stored, %d sent", err, len(subs.stored), len(eng.sent))
	}
}

func TestResolveTicketRefusesBeforeStoring(t *testing.T) {
	lika := cmr.Actor{UserID: "l", OrganisationID: "lika1", Role: cmr.RolePublisher}
	dist := cmr.Actor{UserID: "d", OrganisationID: "dist", Role: cmr.RoleDistributor}
	ticket := func(st cmr.TicketState) cmr.Ticket {
		return cmr.Ticket{ID: "T1", CaseID: "01AB-20270715", LiKaID: "lika1", State: st}
	}
	for _, tc := range []struct {
		name string
		t    cmr.Ticket
		to   cmr.TicketState
		me   cmr.Actor
		kind cmr.ErrorKind
	}{
		{"closed twice", ticket(cmr.TicketClosed), cmr.TicketClosed, lika, cmr.KindConflict},
		{"waived once closed", ticket(cmr.TicketClosed), cmr.TicketWaived, dist, cmr.KindConflict},
		{"closed before its list was returned", ticket(cmr.TicketAwaitingList), cmr.TicketClosed, lika, cmr.KindConflict},
		{"closed by another LiKa", ticket(cmr.TicketOpen), cmr.TicketClosed, cmr.Actor{OrganisationID: "lika2", Role: cmr.RolePublisher}, cmr.KindForbidden},
		{"waived by the LiKa", ticket(cmr.TicketOpen), cmr.TicketWaived, lika, cmr.KindForbidden},
	} {
		subs, eng := &submissions{}, &engine{}
		if _, err := casework.ResolveTicket(context.Background(), subs, eng, tc.me, tc.t, tc.to, map[string]any{"note": "x"}); cmr.KindOf(err) != tc.kind {
			t.Errorf("%s: got %v, want %s", tc.name, err, tc.kind)
		}
		if len(subs.stored) != 0 || len(eng.sent) != 0 {
			t.Errorf("%s: %d submissions stored, %d updates sent", tc.name, len(subs.stored), len(eng.sent))
		}
	}
}
