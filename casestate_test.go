package cmr

import (
	"errors"
	"strings"
	"testing"
	"time"
)

var testParties = Parties{SchoolID: "school", DistributorID: "dist", LiKaIDs: []string{"lika1", "lika2"}, KennisnetIDs: []string{"kn"}}

func actorFor(role Role) Actor {
	org := map[Role]string{RoleSchool: "school", RoleDistributor: "dist", RoleKennisnet: "kn", RolePublisher: "lika1"}[role]
	return Actor{UserID: "u-" + org, OrganisationID: org, Role: role}
}

// drive completes every open step by its owner until the case stops
// moving; tickets are closed by their LiKa as soon as their clock runs.
func drive(t *testing.T, s *CaseState) []string {
	t.Helper()
	at := time.Date(2027, 6, 1, 10, 0, 0, 0, time.UTC)
	var order []string
	for i := 0; i < 100 && s.Status == CaseOpen; i++ {
		moved := false
		for _, key := range s.OpenSteps() {
			d, _ := FindStep(s.Plan, key)
			switch d.Kind {
			case StepTickets:
				for _, tk := range s.UnresolvedTickets() {
					if tk.State == TicketOpen {
						a := Actor{UserID: "u", OrganisationID: tk.LiKaID, Role: RolePublisher}
						if err := s.CanResolveTicket(a, tk.ID, TicketClosed); err != nil {
							t.Fatalf("close %s: %v", tk.ID, err)
						}
						s.TicketResolved(tk.ID, TicketClosed, at)
						moved = true
					}
				}
			case StepTest:
				if _, err := s.ConfirmTest(actorFor(RoleSchool), true, "", "sub", at); err != nil {
					t.Fatalf("test: %v", err)
				}
				order, moved = append(order, key), true
			default:
				if _, err := s.Complete(actorFor(d.Owner), key, "sub-"+key, at); err != nil {
					t.Fatalf("complete %s: %v", key, err)
				}
				order, moved = append(order, key), true
			}
		}
		if !moved {
			t.Fatalf("case stuck with open steps %v, status %s", s.OpenSteps(), s.Status)
		}
	}
	if s.Status != CaseCompleted {
		t.Fatalf("case not completed: %s, open %v", s.Status, s.OpenSteps())
	}
	return order
}

func newState(in PlanInput) *CaseState {
	return NewCaseState("C1", in.Sector, testParties, Procedure(in), actorFor(RoleDistributor), time.Date(2027, 5, 1, 9, 0, 0, 0, time.UTC))
}

func TestProceduresRunToCompletion(t *testing.T) {
	keep := CaseOptions{KeepHistory: true}
	tests := []struct {
		name        string
		in          PlanInput
		mustHave    []string
		mustNotHave []string
	}{
		{"VO ELF", PlanInput{Sector: SectorVO, Funding: FundingELF, Options: keep, WasWordt: WasWordtSuppliers},
			[]string{"plan.freeze", "plan.history", "3.advice", "3", "5", "6", "7", "11", "12", "13", "14", "elf.rollback", "16", "17"}, []string{"ilf.contract", "calamity.accept", "midyear.ack"}},
		{"VO ILF", PlanInput{Sector: SectorVO, Funding: FundingILF, Options: keep, WasWordt: WasWordtSuppliers},
			[]string{"ilf.contract", "11", "14"}, []string{"elf.rollback"}},
		{"VO calamity", PlanInput{Sector: SectorVO, Funding: FundingELF, Options: CaseOptions{Calamity: true, KeepHistory: true}, WasWordt: WasWordtSuppliers},
			[]string{"calamity.accept", "14"}, []string{"11"}},
		{"VO mid-year", PlanInput{Sector: SectorVO, Funding: FundingELF, Options: keep, MidYear: true, WasWordt: WasWordtSuppliers},
			[]string{"midyear.ack", "11"}, nil},
		{"MBO", PlanInput{Sector: SectorMBO, Options: keep, WasWordt: WasWordtSuppliers},
			[]string{"2", "3", "4", "5", "6", "7", "8a", "8b", "8c", "11", "test"}, []string{"calamity.accept"}},
		{"MBO calamity", PlanInput{Sector: SectorMBO, Options: CaseOptions{Calamity: true}, WasWordt: WasWordtSuppliers},
			[]string{"calamity.accept", "7", "test"}, []string{"8a", "8b", "8c"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newState(tt.in)
			done := strings.Join(drive(t, s), " ")
			for _, k := range tt.mustHave {
				if !strings.Contains(" "+done+" ", " "+k+" ") {
					t.Errorf("step %s not done by hand; done: %s", k, done)
				}
			}
			for _, k := range tt.mustNotHave {
				if _, ok := FindStep(s.Plan, k); ok {
					t.Errorf("step %s is in the plan", k)
				}
			}
			if len(s.Tickets) != 2 {
				t.Errorf("got %d tickets, want 2", len(s.Tickets))
			}
		})
	}
}

func TestStepOrderAndRefusals(t *testing.T) {
	s := newState(PlanInput{Sector: SectorVO, Funding: FundingELF, Options: CaseOptions{KeepHistory: true}, WasWordt: WasWordtSuppliers})
	at := time.Now()
	tests := []struct {
		name string
		a    Actor
		key  string
		kind ErrorKind
	}{
		{"wrong role", actorFor(RoleSchool), "plan.identity", KindForbidden},
		{"not yet", actorFor(RoleDistributor), "14", KindConflict},
		{"done at open", actorFor(RoleDistributor), "2", KindConflict},
		{"automatic step", actorFor(RoleDistributor), "4", KindConflict},
		{"tickets step", actorFor(RolePublisher), "15", KindConflict},
		{"unknown step", actorFor(RoleDistributor), "99", KindNotFound},
		{"not a party", Actor{UserID: "x", OrganisationID: "other", Role: RoleDistributor}, "plan.identity", KindNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := s.Complete(tt.a, tt.key, "", at); KindOf(err) != tt.kind {
				t.Errorf("got %v, want kind %s", err, tt.kind)
			}
		})
	}
}

func TestMBOTicketClockWaitsForList(t *testing.T) {
	s := newState(PlanInput{Sector: SectorMBO, Options: CaseOptions{KeepHistory: true}, WasWordt: WasWordtSuppliers})
	at := time.Now()
	for _, k := range []string{"6", "7"} {
		if _, err := s.Complete(actorFor(RoleDistributor), k, "", at); err != nil {
			t.Fatal(k, err)
		}
	}
	if len(s.Tickets) != 2 || s.Tickets[0].State != TicketAwaitingList {
		t.Fatalf("tickets after step 7: %+v", s.Tickets)
	}
	lika := Actor{UserID: "u", OrganisationID: "lika1", Role: RolePublisher}
	if err := s.CanResolveTicket(lika, s.Tickets[0].ID, TicketClosed); KindOf(err) != KindConflict {
		t.Errorf("closing before the list is returned: got %v", err)
	}
	if err := s.CanResolveTicket(lika, s.Tickets[1].ID, TicketClosed); KindOf(err) != KindNotFound {
		t.Errorf("another LiKa's ticket: got %v, want not found", err)
	}
	if err := s.CanResolveTicket(actorFor(RoleDistributor), s.Tickets[1].ID, TicketWaived); err != nil {
		t.Errorf("distributor waives: %v", err)
	}
	s.Complete(actorFor(RoleDistributor), "8a", "", at)
	s.Complete(actorFor(RoleSchool), "8b", "", at)
	eff, err := s.Complete(actorFor(RoleDistributor), "8c", "", at)
	if err != nil || !eff.StartClocks || s.Tickets[0].State != TicketOpen {
		t.Fatalf("8c: %v %+v %+v", err, eff, s.Tickets)
	}
}

func TestFailedTestReopensStep(t *testing.T) {
	s := newState(PlanInput{Sector: SectorMBO, Options: CaseOptions{Calamity: true}, WasWordt: WasWordtSuppliers})
	at := time.Now()
	school, dist := actorFor(RoleSchool), actorFor(RoleDistributor)
	for _, step := range []struct {
		a   Actor
		key string
	}{{school, "calamity.accept"}, {school, "2"}, {actorFor(RoleKennisnet), "3"}, {school, "4"}, {actorFor(RoleKennisnet), "5"}, {dist, "6"}, {dist, "7"}} {
		if _, err := s.Complete(step.a, step.key, "", at); err != nil {
			t.Fatal(step.key, err)
		}
	}
	for _, tk := range s.Tickets {
		s.TicketResolved(tk.ID, TicketClosed, at)
	}
	if _, err := s.Complete(dist, "11", "", at); err != nil {
		t.Fatal(err)
	}
	if err := s.CanConfirmTest(school, false, "7"); KindOf(err) != KindInvalid {
		t.Errorf("redo of the ticket step accepted: %v", err)
	}
	eff, err := s.ConfirmTest(school, false, "4", "", at)
	if err != nil || len(eff.Reopened) != 1 || eff.Reopened[0] != "4" {
		t.Fatalf("failed test: %v %+v", err, eff)
	}
	if st, _ := s.Step("4"); st.State != StepOpen || st.Attempt != 2 {
		t.Errorf("step 4 after failed test: %+v", st)
	}
	if st, _ := s.Step("test"); st.State != StepPending || st.DoneBy != nil || !st.DoneAt.IsZero() || st.SubmissionID != "" || st.Attempt != 2 {
		t.Errorf("test step after failure: %+v", st)
	}
	s.Complete(school, "4", "", at)
	var e *Error
	if err := s.CanConfirmTest(school, true, "4"); !errors.As(err, &e) || e.Kind != KindInvalid || e.Field != "redo_step" {
		t.Errorf("a passed test with a step to redo: %v", err)
	}
	if _, err := s.ConfirmTest(school, true, "", "", at); err != nil || s.Status != CaseCompleted {
		t.Fatalf("second test: %v, status %s", err, s.Status)
	}
	if _, err := s.Complete(school, "4", "", at); KindOf(err) != KindConflict {
		t.Errorf("change after completion: %v", err)
	}
}

func TestValidateData(t *testing.T) {
	today := time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC)
	plan := Procedure(PlanInput{Sector: SectorVO, Funding: FundingELF, Options: CaseOptions{KeepHistory: true}, WasWordt: WasWordtSuppliers})
	s7, _ := FindStep(plan, "7")
	if _, err := s7.ValidateData(map[string]any{}, today); err == nil || !strings.Contains(err.Error(), "digi_delivery_ids: is required") {
		t.Errorf("missing field: %v", err)
	}
	if _, err := s7.ValidateData(map[string]any{"digi_delivery_ids": []any{"A1"}, "colour": "red"}, today); err == nil || !strings.Contains(err.Error(), "colour") {
		t.Errorf("unknown field: %v", err)
	}
	got, err := s7.ValidateData(map[string]any{"digi_delivery_ids": []any{" A1 ", "B2"}}, today)
	if err != nil || len(got["digi_delivery_ids"].([]string)) != 2 {
		t.Errorf("good data: %v %v", got, err)
	}
	// Spaces are nothing filled in: refused when required, left out when not.
	s6, _ := FindStep(plan, "6")
	if _, err := s6.ValidateData(map[string]any{"realm": "   "}, today); err == nil || !strings.Contains(err.Error(), "realm: is required") {
		t.Errorf("a required text of spaces: %v", err)
	}
	if got, err := s6.ValidateData(map[string]any{"realm": "@nieuw", "note": " \t"}, today); err != nil || len(got) != 1 {
		t.Errorf("an optional text of spaces: %v %v", got, err)
	}
	s3, _ := FindStep(plan, "3")
	if _, err := s3.ValidateData(map[string]any{"switch_at": "tomorrow"}, today); err == nil || !strings.Contains(err.Error(), "RFC 3339") {
		t.Errorf("bad datetime: %v", err)
	}
	s10, _ := FindStep(plan, "10")
	contract, _ := FindStep(Procedure(PlanInput{Sector: SectorVO, Funding: FundingILF, Options: CaseOptions{KeepHistory: true}, WasWordt: WasWordtSuppliers}), "ilf.contract")
	adv, _ := FindStep(plan, "3.advice")
	if _, err := adv.ValidateData(map[string]any{"positive_advice": false}, today); err == nil {
		t.Error("negative advice accepted")
	}
	// A day something was done is today or earlier; no date lies more
	// than five years away (a typing error in the year).
	s12, _ := FindStep(plan, "12")
	for _, tc := range []struct {
		step StepDef
		data map[string]any
		want string // "" when accepted
	}{
		{s12, map[string]any{"done_on": "2026-11-24"}, ""},
		{s12, map[string]any{"done_on": "2026-11-25"}, "done_on (Done on): lies after today (2026-11-24): give the day it happened"},
		{s12, map[string]any{"done_on": "2021-11-23"}, "done_on (Done on): lies more than 5 years from today (2026-11-24): check the year"},
		{s3, map[string]any{"switch_at": "2027-07-20T09:00:00+02:00"}, ""},
		{s3, map[string]any{"switch_at": "2072-07-20T09:00:00+02:00"}, "switch_at (Agreed moment of the switch): lies more than 5 years from today"},
		{s10, map[string]any{"migration_on": "2031-11-24"}, ""},
		{s10, map[string]any{"migration_on": "2031-11-25"}, "migration_on (Date of the move): lies more than 5 years"},
		{contract, map[string]any{"signed_on": "2027-01-01"}, "signed_on (Signed on): lies after today"},
		// A plan stored before Past knows the days done by their names.
		{StepDef{Key: "12", Records: []Field{{Name: "done_on", Type: FieldDate, Label: "Uitgevoerd op"}}}, map[string]any{"done_on": "2026-12-01"}, "done_on (Done on): lies after today"},
	} {
		_, err := tc.step.ValidateData(tc.data, today)
		if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("step %s %v: %v, want %q", tc.step.Key, tc.data, err, tc.want)
		}
	}
	if _, err := s12.ValidateData(map[string]any{"done_on": "2026-11-25"}, today); err == nil || err.(*Error).Text("nl") != "Uitgevoerd op: ligt na vandaag (24-11-2026): vul de dag in waarop het gebeurde" {
		t.Errorf("in Dutch: %v", err)
	}
	// The English pages name the fields by their labels, as the Dutch do;
	// the API names them by the names it takes, with the label beside it.
	_, err = s12.ValidateData(map[string]any{"done_on": "2026-11-25"}, today)
	if err == nil || err.(*Error).Text("en") != "Done on: lies after today (2026-11-24): give the day it happened" ||
		err.(*Error).Message != "done_on (Done on): lies after today (2026-11-24): give the day it happened" {
		t.Errorf("in English, for the pages and the API: %q, %v", err.(*Error).Text("en"), err)
	}
	_, err = contract.ValidateData(map[string]any{}, today)
	if err == nil || strings.Contains(err.(*Error).Text("en"), "signed_on") || !strings.Contains(err.(*Error).Text("en"), "Signed on: is required") ||
		!strings.Contains(err.(*Error).Message, "signed_on: is required") {
		t.Errorf("a missing field, in English: %q, %v", err.(*Error).Text("en"), err)
	}
	// The pages say a type as their inputs take it, the API as JSON.
	confirm := StepDef{Key: "8a", Records: []Field{{Name: "done", Type: FieldConfirm, Required: true, Label: "Gedaan"}, {Name: "ok", Type: FieldBool, Label: "Goed"},
		{Name: "services", Type: FieldList, Label: "Diensten"}}}
	_, err = confirm.ValidateData(map[string]any{"ok": "misschien", "services": 3.0}, today)
	if en := err.(*Error).Text("en"); en != "Gedaan: is required (tick the box to confirm); Goed: must be yes or no; Services: must be one or more values, one per line" ||
		!strings.Contains(err.(*Error).Message, "is required (Gedaan, true to confirm)") || !strings.Contains(err.(*Error).Message, "must be true or false") {
		t.Errorf("types said for the pages and the API: %q, %v", en, err)
	}
	// MBO step 6: the identity changes, or only the realm; nothing else.
	mbo := Procedure(PlanInput{Sector: SectorMBO, WasWordt: WasWordtSuppliersAndSchool})
	mbo6, _ := FindStep(mbo, "6")
	if _, err := mbo6.ValidateData(map[string]any{"licences": "alle", "identity_change": "foo"}, today); err == nil || !strings.Contains(err.Error(), "identity, realm_only") ||
		strings.Contains(err.(*Error).Text("en"), "realm_only") || !strings.Contains(err.(*Error).Text("en"), `"only the realm"`) {
		t.Errorf("an identity change not of the options (the pages name them by their titles): %v / %s", err, err.(*Error).Text("en"))
	}
	if got, err := mbo6.ValidateData(map[string]any{"licences": "alle", "identity_change": " Realm_Only "}, today); err != nil || got["identity_change"] != "realm_only" {
		t.Errorf("an option: %v %v", got, err)
	}
}

// TestEveryFieldHasAnEnglishLabel: the pages in English and the API's
// English refusals name each field in English.
func TestEveryFieldHasAnEnglishLabel(t *testing.T) {
	for _, in := range []PlanInput{
		{Sector: SectorVO, Funding: FundingELF, Options: CaseOptions{KeepHistory: true}, WasWordt: WasWordtSuppliers},
		{Sector: SectorVO, Funding: FundingILF, Options: CaseOptions{Calamity: true}, MidYear: true, WasWordt: WasWordtSuppliers},
		{Sector: SectorMBO, Options: CaseOptions{KeepHistory: true}, WasWordt: WasWordtSuppliersAndSchool},
		{Sector: SectorMBO, Options: CaseOptions{Calamity: true}, MidYear: true, WasWordt: WasWordtSuppliers},
	} {
		for _, st := range Procedure(in) {
			for _, f := range st.Records {
				if f.LabelEN == "" || (f.LabelEN == f.Label && f.Label != "DigiDeliveryIds") {
					t.Errorf("step %s, field %s: no English label for %q", st.Key, f.Name, f.Label)
				}
			}
		}
	}
	// A plan stored before the labels had their English still gets it.
	if got := (Field{Label: "Toelichting"}).English(); got != "Note" {
		t.Errorf("English of a stored label: %q", got)
	}
}
