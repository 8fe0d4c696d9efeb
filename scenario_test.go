package cmr

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func TestCheckScenarioMBOMatrix(t *testing.T) {
	// Rows and columns in the order of seed 004's table.
	sides := []Endpoint{
		{ECK: true, Kind: KindELO}, {ECK: false, Kind: KindELO},
		{ECK: true, Kind: KindDistributorPortal}, {ECK: false, Kind: KindDistributorPortal},
		{ECK: true, Kind: KindNonPortal}, {ECK: false, Kind: KindNonPortal},
	}
	const (
		L   = "L"
		LS  = "LS"
		NVT = "NVT"
		__  = ""
	)
	want := [6][6]string{
		{L, NVT, L, NVT, LS, NVT},
		{L, __, L, L, LS, LS},
		{L, NVT, L, NVT, LS, NVT},
		{L, L, L, __, LS, __},
		{LS, NVT, LS, NVT, LS, NVT},
		{LS, __, LS, __, LS, __},
	}
	for i, from := range sides {
		for j, to := range sides {
			t.Run(MBOLabel(from)+" to "+MBOLabel(to), func(t *testing.T) {
				got, err := CheckScenario(Scenario{Sector: SectorMBO, From: from, To: to}, Timing{})
				if err != nil {
					t.Fatal(err)
				}
				var wantOutcome Outcome
				wantWW := WasWordtNone
				switch want[i][j] {
				case L:
					wantOutcome, wantWW = OutcomeSupported, WasWordtSuppliers
				case LS:
					wantOutcome, wantWW = OutcomeSupported, WasWordtSuppliersAndSchool
				case NVT:
					wantOutcome = OutcomeNotApplicable
				default:
					wantOutcome = OutcomeNoProcedure
				}
				if got.Outcome != wantOutcome || got.WasWordt != wantWW {
					t.Errorf("got %s/%s, want %s/%s", got.Outcome, got.WasWordt, wantOutcome, wantWW)
				}
				if len(got.Reasons) == 0 || len(got.ReasonsNL) != len(got.Reasons) {
					t.Error("no reasons given, or not in both languages")
				}
				// The move is named in the reason's own language.
				if en := strings.Join(got.Reasons, " "); strings.Contains(en, "portaal") || strings.Contains(en, "distributeurs") {
					t.Errorf("Dutch in the English reason: %s", en)
				}
			})
		}
	}
}

func vo(q int, idp string) Endpoint { return Endpoint{Quadrant: q, IdP: idp} }

func TestCheckScenarioVO(t *testing.T) {
	tests := []struct {
		name      string
		from, to  Endpoint
		outcome   Outcome
		ww        WasWordt
		described int
	}{
		{"1 distributor portal to ELO with pre-match", vo(2, "Distributeursportaal"), vo(1, "Magister"), OutcomeSupported, WasWordtSuppliers, 1},
		{"2 ELO ELF to distributor portal", vo(1, "itslearning"), vo(2, ""), OutcomeSupported, WasWordtSuppliers, 2},
		{"3 ELO ELF to ELO ELF", vo(1, "Magister"), vo(1, "SOM"), OutcomeSupported, WasWordtSuppliers, 3},
		{"4 ELO ELF to NON-portal ELF", vo(1, "Magister"), vo(1, "Azure AD"), OutcomeSupported, WasWordtSuppliersAndSchool, 4},
		{"5 NON-portal to NON-portal ILF", vo(3, "ADFS"), vo(3, "azure ad"), OutcomeSupported, WasWordtSuppliersAndSchool, 5},
		{"6 ELO ILF to ELO ILF", vo(3, "Fronter"), vo(3, "Peppels"), OutcomeSupported, WasWordtSuppliers, 6},
		{"7 ILF to activation codes", vo(3, "ADFS"), vo(4, ""), OutcomeNoCaseNeeded, WasWordtNone, 7},
		{"quadrant 4 cannot move", vo(4, ""), vo(3, "ADFS"), OutcomeUnsupported, WasWordtNone, 0},
		{"quadrant 4 to 1", vo(4, ""), vo(1, "Magister"), OutcomeUnsupported, WasWordtNone, 0},
		{"ELF to ILF", vo(1, "Magister"), vo(3, "Magister"), OutcomeUnsupported, WasWordtNone, 0},
		{"ILF to ELF", vo(3, "Magister"), vo(2, ""), OutcomeUnsupported, WasWordtNone, 0},
		{"ELF to activation codes", vo(2, ""), vo(4, ""), OutcomeUnsupported, WasWordtNone, 0},
		{"undescribed but supported", vo(2, ""), vo(2, ""), OutcomeSupported, WasWordtSuppliers, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := CheckScenario(Scenario{Sector: SectorVO, From: tt.from, To: tt.to}, Timing{})
			if err != nil {
				t.Fatal(err)
			}
			if got.Outcome != tt.outcome || got.WasWordt != tt.ww || got.Described != tt.described {
				t.Errorf("got %s/%s/scenario %d, want %s/%s/scenario %d (reasons %q)", got.Outcome, got.WasWordt, got.Described, tt.outcome, tt.ww, tt.described, got.Reasons)
			}
		})
	}
}

func TestCheckScenarioInvalid(t *testing.T) {
	tests := []struct {
		name  string
		s     Scenario
		field string
	}{
		{"sector", Scenario{Sector: "HBO"}, "sector"},
		{"quadrant", Scenario{Sector: SectorVO, From: vo(5, "Magister"), To: vo(1, "SOM")}, "from.quadrant"},
		{"unknown idp", Scenario{Sector: SectorVO, From: vo(1, "Magister"), To: vo(1, "Smartschool")}, "to.idp"},
		{"missing idp", Scenario{Sector: SectorVO, From: vo(1, ""), To: vo(1, "SOM")}, "from.idp"},
		{"quadrant 2 not a distributor portal", Scenario{Sector: SectorVO, From: vo(2, "Magister"), To: vo(1, "SOM")}, "from.idp"},
		{"mbo kind", Scenario{Sector: SectorMBO, From: Endpoint{Kind: "portal"}, To: Endpoint{Kind: KindELO}}, "from.kind"},
		{"mbo kind missing", Scenario{Sector: SectorMBO, From: Endpoint{Kind: KindELO}}, "to.kind"},
		{"distributor portal outside quadrant 2", Scenario{Sector: SectorVO, From: vo(1, "Distributeursportaal"), To: vo(1, "SOM")}, "from.idp"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := CheckScenario(tt.s, Timing{})
			e, ok := err.(*Error)
			if !ok || e.Kind != KindInvalid || e.Field != tt.field {
				t.Fatalf("got %v, want an invalid error on %s", err, tt.field)
			}
		})
	}
}

func date(s string) time.Time { d, _ := time.Parse(DateLayout, s); return d }

func codes(ws []Warning) map[string]bool {
	m := map[string]bool{}
	for _, w := range ws {
		m[w.Code] = true
	}
	return m
}

func TestCheckScenarioWarnings(t *testing.T) {
	s := Scenario{Sector: SectorVO, From: vo(1, "Magister"), To: vo(1, "SOM")}
	mbo := Scenario{Sector: SectorMBO, From: Endpoint{ECK: true, Kind: KindELO}, To: Endpoint{ECK: true, Kind: KindNonPortal}}
	tests := []struct {
		name string
		s    Scenario
		t    Timing
		want []string
	}{
		{"summer, in time", s, Timing{RequestedOn: date("2027-03-01"), SwitchOn: date("2027-07-15")}, nil},
		{"summer, short notice is fine", s, Timing{RequestedOn: date("2027-07-01"), SwitchOn: date("2027-07-15")}, nil},
		{"mid-year with notice", s, Timing{RequestedOn: date("2026-11-01"), SwitchOn: date("2027-03-01")}, []string{WarnMidSchoolYear}},
		{"mid-year short notice", s, Timing{RequestedOn: date("2026-12-01"), SwitchOn: date("2027-01-15")}, []string{WarnMidSchoolYear, WarnShortNotice}},
		{"exactly 8 weeks", s, Timing{RequestedOn: date("2027-01-01"), SwitchOn: date("2027-02-26")}, []string{WarnMidSchoolYear}},
		{"VO on 1 August", s, Timing{SwitchOn: date("2027-08-01")}, []string{WarnMidSchoolYear, WarnAfterDeadline}},
		{"VO 31 July", s, Timing{SwitchOn: date("2027-07-31")}, nil},
		{"MBO after list opens", mbo, Timing{SwitchOn: date("2027-07-10"), ListOpensOn: date("2027-07-01")}, []string{WarnAfterDeadline}},
		{"MBO before list opens", mbo, Timing{SwitchOn: date("2027-07-10"), ListOpensOn: date("2027-08-01")}, nil},
		{"MBO in June before a 1 July list", mbo, Timing{SwitchOn: date("2027-06-20"), ListOpensOn: date("2027-07-01")}, nil},
		{"MBO in May before a 1 July list", mbo, Timing{SwitchOn: date("2027-05-20"), ListOpensOn: date("2027-07-01")}, []string{WarnMidSchoolYear}},
		{"MBO without list date: no deadline warning", mbo, Timing{SwitchOn: date("2027-07-20")}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := CheckScenario(tt.s, tt.t)
			if err != nil {
				t.Fatal(err)
			}
			gc := codes(got.Warnings)
			if len(gc) != len(tt.want) {
				t.Fatalf("got warnings %v, want %v", got.Warnings, tt.want)
			}
			for _, c := range tt.want {
				if !gc[c] {
					t.Errorf("missing warning %s in %v", c, got.Warnings)
				}
			}
		})
	}
}

// TestDeadlineOfAMidYearSwitch: a switch during the school year must be
// converted before the new IdP goes live, so its own date is its
// deadline, not the summer's 1 August months before or after it; it is
// late for the summer only in the month after that deadline.
func TestDeadlineOfAMidYearSwitch(t *testing.T) {
	s := Scenario{Sector: SectorVO, From: vo(1, "Magister"), To: vo(2, "Distributeursportaal")}
	mbo := Scenario{Sector: SectorMBO, From: Endpoint{ECK: true, Kind: KindELO}, To: Endpoint{ECK: true, Kind: KindNonPortal}}
	for _, tc := range []struct {
		name     string
		s        Scenario
		t        Timing
		deadline string
		late     bool
	}{
		{"VO in July", s, Timing{SwitchOn: date("2027-07-15")}, "2027-08-01", false},
		{"VO in December", s, Timing{SwitchOn: date("2026-12-01")}, "2026-12-01", false},
		{"VO in January", s, Timing{SwitchOn: date("2027-01-04")}, "2027-01-04", false},
		{"VO in mid-August", s, Timing{SwitchOn: date("2027-08-15")}, "2027-08-15", true},
		{"MBO in July, list opens 1 August", mbo, Timing{SwitchOn: date("2027-07-10"), ListOpensOn: date("2027-08-01")}, "2027-08-01", false},
		{"MBO in March", mbo, Timing{SwitchOn: date("2027-03-01"), ListOpensOn: date("2027-08-01")}, "2027-03-01", false},
	} {
		c, err := CheckScenario(tc.s, tc.t)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		late := slices.ContainsFunc(c.Warnings, func(w Warning) bool { return w.Code == WarnAfterDeadline })
		if got := c.Deadline.Format(DateLayout); got != tc.deadline || late != tc.late {
			t.Errorf("%s: deadline %s, late %v; want %s, %v", tc.name, got, late, tc.deadline, tc.late)
		}
	}
}

func TestCheckScenarioTimingInvalid(t *testing.T) {
	s := Scenario{Sector: SectorVO, From: vo(1, "Magister"), To: vo(1, "SOM")}
	for name, tc := range map[string]struct {
		t     Timing
		field string
	}{
		"switch before request": {Timing{RequestedOn: date("2027-03-01"), SwitchOn: date("2027-02-01")}, "switch_on"},
		"list date for VO":      {Timing{SwitchOn: date("2027-07-01"), ListOpensOn: date("2027-07-01")}, "list_opens_on"},
	} {
		_, err := CheckScenario(s, tc.t)
		if e, ok := err.(*Error); !ok || e.Field != tc.field {
			t.Errorf("%s: got %v, want an error on %s", name, err, tc.field)
		}
	}
}

// TestCurrentWarnings: a step that planned the switch or the migration
// on or after the deadline makes the case warn; before it, or a step
// not done, does not.
func TestCurrentWarnings(t *testing.T) {
	plan := Procedure(PlanInput{Sector: SectorVO, Funding: FundingELF, Options: CaseOptions{KeepHistory: true}, WasWordt: WasWordtSuppliers})
	opened := Warning{Code: WarnShortNotice, Message: "short"}
	c := Case{CaseHeader: CaseHeader{Deadline: time.Date(2027, 8, 1, 0, 0, 0, 0, time.UTC), Warnings: []Warning{opened}, Calendar: DefaultCalendarConfig()}}
	for _, d := range plan {
		c.Steps = append(c.Steps, Step{StepDef: d, State: StepOpen})
	}
	set := func(key string, state StepState, data map[string]any) {
		for i := range c.Steps {
			if c.Steps[i].Key == key {
				c.Steps[i].State, c.Steps[i].Data = state, data
			}
		}
	}
	codes := func() (out []string) {
		for _, w := range c.CurrentWarnings() {
			out = append(out, w.Code)
		}
		return out
	}
	set("10", StepOpen, map[string]any{"migration_on": "2027-08-01"})
	set("3", StepDone, map[string]any{"switch_at": "2027-07-31T21:59:00Z"}) // 23:59 in Amsterdam
	if got := codes(); !slices.Equal(got, []string{WarnShortNotice}) {
		t.Errorf("before the deadline, step 10 not done: %v", got)
	}
	set("10", StepDone, map[string]any{"migration_on": "2027-08-01"})
	set("3", StepDone, map[string]any{"switch_at": "2027-07-31T22:00:00Z"}) // 00:00 on 1 August in Amsterdam
	ws := c.CurrentWarnings()
	if len(ws) != 3 || ws[1].Code != WarnPlannedLate || ws[2].Code != WarnPlannedLate {
		t.Fatalf("on the deadline: %v", ws)
	}
	if want := `Step 10 set "Date of the move" to 2027-08-01, on or after the case's deadline (2027-08-01)`; !strings.HasPrefix(ws[2].Message, want) {
		t.Errorf("message: %q, want %q…", ws[2].Message, want)
	}
	if want := `Stap 3 zette "Afgesproken moment van omzetting" op 1-8-2027, op of na de uiterste datum van de zaak (1-8-2027)`; !strings.HasPrefix(ws[1].NL, want) {
		t.Errorf("Dutch: %q, want %q…", ws[1].NL, want)
	}
	if len(c.Warnings) != 1 {
		t.Errorf("the header's warnings changed: %v", c.Warnings)
	}
	// During the school year the switch date is the deadline: the switch
	// on it is the plan, the migration on it late (the identities must be
	// converted before the new IdP goes live).
	mid := c
	mid.MidYear, mid.Deadline, mid.Warnings = true, time.Date(2027, 8, 1, 0, 0, 0, 0, time.UTC), nil
	if ws := mid.CurrentWarnings(); len(ws) != 1 || !strings.HasPrefix(ws[0].Message, `Step 10 set "Date of the move" to 2027-08-01, on or after the case's deadline (2027-08-01)`) {
		t.Errorf("on the switch date during the school year: %v", ws)
	}
	mid.Deadline = time.Date(2027, 7, 31, 0, 0, 0, 0, time.UTC)
	if ws := mid.CurrentWarnings(); len(ws) != 2 || !strings.Contains(ws[0].Message, "to 2027-08-01, after the case's deadline (2027-07-31)") {
		t.Errorf("after the switch date during the school year: %v", ws)
	}
}

// TestListReplaced: only a VO complete list uploaded after step 11 was
// done is a replacement to warn of.
func TestListReplaced(t *testing.T) {
	at := time.Date(2027, 6, 1, 12, 0, 0, 0, time.UTC)
	c := Case{CaseHeader: CaseHeader{Sector: SectorVO}, Steps: []Step{{StepDef: StepDef{Key: "11"}, State: StepDone, DoneAt: &at, Data: map[string]any{"row_count": 120.0}}}}
	later := ListVersion{Kind: ListComplete, Version: 2, RowCount: 118, UploadedAt: at.Add(time.Second)}
	if w, ok := c.ListReplaced(later); !ok || w.Code != WarnListReplaced || !strings.Contains(w.Message, "recorded 120 rows: the list now is version 2, with 118 rows. At step 14 the LiKas get version 2.") {
		t.Errorf("replaced after step 11: %v %v", w, ok)
	}
	handedOut := c
	handedOut.Steps = append(slices.Clip(c.Steps), Step{StepDef: StepDef{Key: "14"}, State: StepDone})
	if w, _ := handedOut.ListReplaced(later); !strings.Contains(w.NL, "Bij stap 14 kregen de LiKa's versie 2.") {
		t.Errorf("after step 14: %q", w.NL)
	}
	before := later
	before.UploadedAt, before.RowCount = at, 120
	if _, ok := c.ListReplaced(before); ok {
		t.Error("the version step 11 recorded is a replacement")
	}
	// Stored while step 11 was being completed: its rows tell.
	before.RowCount = 118
	if _, ok := c.ListReplaced(before); !ok {
		t.Error("a version of other rows than step 11 recorded, stored before its completion, is no replacement")
	}
	mbo := c
	mbo.Sector = SectorMBO
	if _, ok := mbo.ListReplaced(later); ok {
		t.Error("an MBO list is a replacement of step 11")
	}
	open := c
	open.Steps = []Step{{StepDef: StepDef{Key: "11"}, State: StepOpen}}
	if _, ok := open.ListReplaced(later); ok {
		t.Error("a list before step 11 is a replacement")
	}
}

// TestValidateNamesBothSides: a mistake on each side is named at once.
func TestValidateNamesBothSides(t *testing.T) {
	for _, tc := range []struct {
		sc   Scenario
		want []string
	}{
		{Scenario{Sector: SectorVO, From: Endpoint{Quadrant: 7, IdP: "Magister"}, To: Endpoint{Quadrant: 1}}, []string{"from.quadrant", "to.idp"}},
		{Scenario{Sector: SectorMBO, From: Endpoint{Kind: "x"}}, []string{"from.kind", "to.kind"}},
	} {
		err := tc.sc.Validate()
		e, ok := err.(*Error)
		if !ok {
			t.Fatalf("%+v: %v", tc.sc, err)
		}
		problems, _ := e.Details["problems"].([]map[string]string)
		var got []string
		for _, p := range problems {
			got = append(got, p["field"])
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("%+v: fields %q, want %q (%v)", tc.sc, got, tc.want, err)
		}
	}
}
