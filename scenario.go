package cmr

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Outcome is the answer of a scenario check.
type Outcome string

// Possible outcomes (DOMAIN.md §4).
const (
	OutcomeSupported     Outcome = "supported"
	OutcomeUnsupported   Outcome = "unsupported"
	OutcomeNotApplicable Outcome = "not_applicable" // MBO "NVT"
	OutcomeNoProcedure   Outcome = "no_procedure"   // MBO empty cell: nothing agreed
	OutcomeNoCaseNeeded  Outcome = "no_case_needed" // VO 3→4: the school switches itself
)

// WasWordt says who supplies the was-wordt list.
type WasWordt string

// Who makes the list.
const (
	WasWordtSuppliers          WasWordt = "suppliers"            // "WW-L"
	WasWordtSuppliersAndSchool WasWordt = "suppliers_and_school" // "WW-LS": the school delivers old and new identity
	WasWordtNone               WasWordt = "none"
)

// Funding is the VO licence funding: ELF (personal credit, quadrants 1-2) or
// ILF (school credit, quadrants 3-4). MBO has none.
type Funding string

// Fundings.
const (
	FundingELF Funding = "ELF"
	FundingILF Funding = "ILF"
)

// IdPKind is the type of identity provider.
type IdPKind string

// IdP kinds; VO derives the kind from the IdP's name, MBO names it directly.
const (
	KindELO               IdPKind = "elo"                // an ELO/school portal with its own IdP
	KindDistributorPortal IdPKind = "distributor_portal" // the distributor's portal
	KindNonPortal         IdPKind = "non_portal"         // ADFS, Azure AD
	KindActivationCodes   IdPKind = "activation_codes"   // VO quadrant 4
)

// vo IdPs as the supplement lists them (004, "Verhuis Scenario's VO").
var voELOIdPs = []string{"Magister", "itslearning", "SOM", "Moodle (Open Edu)", "Cumlaude Learning (N@tschool)",
	"Fronter", "Peppels", "Distributeursportaal", "Cloudwise (Google Apps for Education)"}
var voNonPortalIdPs = []string{"ADFS", "Azure AD"}

// KnownVOIdPs lists the IdP names the VO scenario check accepts.
func KnownVOIdPs() []string {
	return append(append([]string{}, voELOIdPs...), voNonPortalIdPs...)
}

// Endpoint is one side of a switch: where the school comes from or goes to.
type Endpoint struct {
	// VO
	Quadrant int    // 1-4, the delivery-choice quadrant
	IdP      string // the IdP's name, e.g. "Magister", "Azure AD"
	// MBO
	ECK  bool
	Kind IdPKind
}

// Scenario is a school's intended switch.
type Scenario struct {
	Sector   Sector
	From, To Endpoint
}

// Warning is something the parties must know before they start.
type Warning struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	// NL is the message in Dutch, for the pages.
	NL string `json:"message_nl,omitempty"`
}

// Warning codes.
const (
	WarnMidSchoolYear = "mid_school_year"
	WarnShortNotice   = "short_notice"
	WarnAfterDeadline = "after_deadline"
	// WarnPlannedLate: a step planned the switch or the migration on or
	// after the case's deadline (Case.CurrentWarnings).
	WarnPlannedLate = "planned_after_deadline"
	// WarnListReplaced: the school replaced the VO list after step 11
	// (Case.ListReplaced).
	WarnListReplaced = "list_replaced"
)

// Timing is the optional dates a check considers.
type Timing struct {
	RequestedOn time.Time // when the school asked; zero: unknown
	SwitchOn    time.Time // the planned switch; zero: unknown
	ListOpensOn time.Time // MBO: when the learning-materials list opens
}

// ScenarioCheck is the result of CheckScenario.
type ScenarioCheck struct {
	Outcome  Outcome
	WasWordt WasWordt
	Funding  Funding // VO only
	// Described is the number (1-7) of the VO scenario in the supplement's
	// Bijlage 2 this switch is, or 0.
	Described int
	Reasons   []string
	ReasonsNL []string // the reasons in Dutch, one for one
	Warnings  []Warning
	MidYear   bool
	Deadline  time.Time // zero when unknown
}

func (t Timing) validate(sector Sector) error {
	if !t.RequestedOn.IsZero() && !t.SwitchOn.IsZero() && t.SwitchOn.Before(t.RequestedOn) {
		return FieldErrorf("switch_on", "%s lies before the request date %s", t.SwitchOn.Format(DateLayout), t.RequestedOn.Format(DateLayout)).
			NL("%s ligt vóór de aanvraagdatum %s", t.SwitchOn.Format("2-1-2006"), t.RequestedOn.Format("2-1-2006"))
	}
	if !t.ListOpensOn.IsZero() && sector != SectorMBO {
		return FieldErrorf("list_opens_on", "is for MBO schools only (the day their learning-materials list opens); VO must be done before 1 August").
			NL("geldt alleen voor MBO-scholen (de dag waarop hun leermiddelenlijst opengaat); een VO-verhuizing moet vóór 1 augustus klaar zijn")
	}
	return nil
}

// MinNoticeMidYear is how far ahead a switch during the school year must be
// announced (004, "IdP wijziging tijdens het schooljaar").
const MinNoticeMidYear = 8 * 7 * 24 * time.Hour

// Validate checks the scenario's shape, naming the field at fault: on
// both sides at once (Together).
func (s *Scenario) Validate() error {
	var sides [2]error
	switch s.Sector {
	case SectorVO:
		for i, side := range []struct {
			name string
			e    *Endpoint
		}{{"from", &s.From}, {"to", &s.To}} {
			sides[i] = side.e.normaliseVO(side.name)
		}
	case SectorMBO:
		for i, side := range []struct {
			name string
			e    Endpoint
		}{{"from", s.From}, {"to", s.To}} {
			switch side.e.Kind {
			case KindELO, KindDistributorPortal, KindNonPortal:
			case "":
				sides[i] = FieldErrorf(side.name+".kind", "is required: one of elo, distributor_portal, non_portal").
					NL("is verplicht: kies ELO/portaal met eigen IdP, portaal van de distributeur of geen portaal (ADFS, Azure AD)").
					EN("is required: choose ELO/portal with its own IdP, the distributor's portal, or no portal (ADFS, Azure AD)")
			default:
				sides[i] = FieldErrorf(side.name+".kind", "must be one of elo, distributor_portal, non_portal, got %q", side.e.Kind).
					NL("kies ELO/portaal met eigen IdP, portaal van de distributeur of geen portaal (ADFS, Azure AD), niet %q", side.e.Kind).
					EN("choose ELO/portal with its own IdP, the distributor's portal, or no portal (ADFS, Azure AD), not %q", side.e.Kind)
			}
		}
	default:
		return FieldErrorf("sector", "must be \"VO\" or \"MBO\", got %q", s.Sector).NL("moet VO of MBO zijn, niet %q", s.Sector)
	}
	return Together(sides[:]...)
}

// normaliseVO checks quadrant and IdP, fills the IdP's canonical name and
// derives its kind.
func (e *Endpoint) normaliseVO(side string) error {
	if e.Quadrant < 1 || e.Quadrant > 4 {
		return FieldErrorf(side+".quadrant", "must be 1, 2, 3 or 4 (1: ELF with portal, 2: ELF distributor's portal, 3: ILF with portal, 4: ILF activation codes), got %d", e.Quadrant).
			NL("moet 1, 2, 3 of 4 zijn (1: ELF met portaal, 2: ELF distributeursportaal, 3: ILF met portaal, 4: ILF activeringscodes), niet %d", e.Quadrant)
	}
	switch e.Quadrant {
	case 4:
		e.Kind = KindActivationCodes
		if e.IdP == "" {
			e.IdP = "Activeringscodes"
		}
		return nil
	case 2:
		if e.IdP == "" {
			e.IdP = "Distributeursportaal"
		}
		if !strings.EqualFold(e.IdP, "Distributeursportaal") {
			return FieldErrorf(side+".idp", "quadrant 2 is the distributor's portal: idp must be \"Distributeursportaal\", got %q", e.IdP).
				NL("kwadrant 2 is het distributeursportaal: de IdP moet \"Distributeursportaal\" zijn, niet %q", e.IdP)
		}
	}
	if e.IdP == "" {
		return FieldErrorf(side+".idp", "is required for quadrant %d: one of %s", e.Quadrant, strings.Join(KnownVOIdPs(), ", ")).
			NL("is verplicht bij kwadrant %d: kies uit %s", e.Quadrant, strings.Join(KnownVOIdPs(), ", "))
	}
	for _, n := range voELOIdPs {
		if strings.EqualFold(n, e.IdP) {
			e.IdP, e.Kind = n, KindELO
			if n == "Distributeursportaal" {
				if e.Quadrant != 2 {
					return FieldErrorf(side+".idp", "the distributor's portal is quadrant 2; use quadrant 2, or the school's own portal for quadrant %d", e.Quadrant).
						NL("het distributeursportaal hoort bij kwadrant 2; kies kwadrant 2, of bij kwadrant %d het eigen portaal van de school", e.Quadrant)
				}
				e.Kind = KindDistributorPortal
			}
			return nil
		}
	}
	for _, n := range voNonPortalIdPs {
		if strings.EqualFold(n, e.IdP) {
			e.IdP, e.Kind = n, KindNonPortal
			return nil
		}
	}
	return FieldErrorf(side+".idp", "unknown IdP %q: use one of %s", e.IdP, strings.Join(KnownVOIdPs(), ", ")).
		NL("onbekende IdP %q: kies uit %s", e.IdP, strings.Join(KnownVOIdPs(), ", "))
}

// CheckScenario decides whether the switch is supported and who makes the
// was-wordt list, and warns about timing. It validates first.
func CheckScenario(s Scenario, t Timing) (ScenarioCheck, error) {
	if err := s.Validate(); err != nil {
		return ScenarioCheck{}, err
	}
	if err := t.validate(s.Sector); err != nil {
		return ScenarioCheck{}, err
	}
	var c ScenarioCheck
	if s.Sector == SectorVO {
		c = checkVO(s)
	} else {
		c = checkMBO(s)
	}
	c.Deadline = deadline(s.Sector, t)
	c.Warnings, c.MidYear = timingWarnings(s.Sector, t, summerDeadline(s.Sector, t))
	return c, nil
}

// reason adds a reason in English and Dutch.
func (c *ScenarioCheck) reason(en, nl string) {
	c.Reasons = append(c.Reasons, en)
	c.ReasonsNL = append(c.ReasonsNL, nl)
}

func funding(quadrant int) Funding {
	if quadrant <= 2 {
		return FundingELF
	}
	return FundingILF
}

func checkVO(s Scenario) ScenarioCheck {
	from, to := s.From, s.To
	c := ScenarioCheck{Funding: funding(from.Quadrant), WasWordt: WasWordtNone}
	switch {
	case from.Quadrant == 4:
		c.Outcome = OutcomeUnsupported
		c.reason("A school in quadrant 4 (activation codes) cannot be migrated: there are no portal identities to move.",
			"Een school in kwadrant 4 (activeringscodes) kan niet verhuizen: er zijn geen portaalidentiteiten om mee te nemen.")
		return c
	case from.Quadrant == 3 && to.Quadrant == 4:
		c.Outcome, c.Described = OutcomeNoCaseNeeded, 7
		c.reason("An ILF school can switch to activation codes itself: no CMR notification is needed (scenario 7).",
			"Een ILF-school kan zelf overstappen op activeringscodes: een melding in het CMR is niet nodig (scenario 7).")
		c.reason("Existing portal profiles can no longer be reached: progress and results are lost, and codes already used are the school's loss.",
			"Bestaande portaalprofielen zijn niet meer bereikbaar: voortgang en resultaten gaan verloren, en al gebruikte codes zijn voor rekening van de school.")
		return c
	case funding(from.Quadrant) != funding(to.Quadrant):
		c.Outcome = OutcomeUnsupported
		c.reason(fmt.Sprintf("Moves between ELF (personal credit) and ILF (school credit) are not supported: quadrant %d is %s, quadrant %d is %s.",
			from.Quadrant, funding(from.Quadrant), to.Quadrant, funding(to.Quadrant)),
			fmt.Sprintf("Een overstap tussen ELF (persoonsgebonden tegoed) en ILF (schooltegoed) wordt niet ondersteund: kwadrant %d is %s, kwadrant %d is %s.",
				from.Quadrant, funding(from.Quadrant), to.Quadrant, funding(to.Quadrant)))
		return c
	}
	c.Outcome = OutcomeSupported
	c.reason("Moves between and within quadrants 1, 2 and 3 are supported.", "Overstappen tussen en binnen de kwadranten 1, 2 en 3 worden ondersteund.")
	c.WasWordt = WasWordtSuppliers
	if from.Kind == KindNonPortal || to.Kind == KindNonPortal {
		c.WasWordt = WasWordtSuppliersAndSchool
	}
	switch {
	case from.Quadrant == 2 && to.Quadrant == 1 && to.Kind == KindELO:
		c.Described = 1
		c.reason("Scenario 1: distributor's portal to an ELO-portal IdP (ELF), with pre-match.", "Scenario 1: van het distributeursportaal naar een ELO-portaal-IdP (ELF), met pre-match.")
	case from.Quadrant == 1 && to.Quadrant == 2 && from.Kind == KindELO:
		c.Described = 2
		c.reason("Scenario 2: ELO-portal IdP (ELF) to the distributor's portal: the distributor draws up the \"was\" list.", "Scenario 2: van een ELO-portaal-IdP (ELF) naar het distributeursportaal: de distributeur stelt de \"was\"-lijst op.")
	case from.Quadrant == 1 && to.Quadrant == 1 && from.Kind == KindELO && to.Kind == KindELO:
		c.Described = 3
		c.reason("Scenario 3: ELO-portal IdP (ELF) to another ELO-portal IdP (ELF): old and new portal supplier fill the list.", "Scenario 3: van een ELO-portaal-IdP (ELF) naar een ander ELO-portaal-IdP (ELF): oude en nieuwe portaalleverancier vullen de lijst.")
	case from.Quadrant == 1 && to.Quadrant == 1 && from.Kind == KindELO && to.Kind == KindNonPortal:
		c.Described = 4
		c.reason("Scenario 4: ELO-portal IdP (ELF) to a NON-portal IdP (ELF): the school delivers the list of old and new identities.", "Scenario 4: van een ELO-portaal-IdP (ELF) naar een NON-portaal-IdP (ELF): de school levert de lijst met oude en nieuwe identiteiten.")
	case from.Quadrant == 3 && to.Quadrant == 3 && from.Kind == KindNonPortal && to.Kind == KindNonPortal:
		c.Described = 5
		c.reason("Scenario 5: NON-portal IdP to NON-portal IdP (ILF): the PortalID changes; the school delivers the list.", "Scenario 5: van een NON-portaal-IdP naar een NON-portaal-IdP (ILF): de PortalID verandert; de school levert de lijst.")
	case from.Quadrant == 3 && to.Quadrant == 3 && from.Kind == KindELO && to.Kind == KindELO:
		c.Described = 6
		c.reason("Scenario 6: ELO-portal IdP (ILF) to ELO-portal IdP (ILF): the school consents to one-time processing of pupil data.", "Scenario 6: van een ELO-portaal-IdP (ILF) naar een ELO-portaal-IdP (ILF): de school geeft toestemming voor eenmalige verwerking van leerlinggegevens.")
	default:
		c.reason("Not one of the seven described scenarios: agree with the distributor who fills the list.", "Geen van de zeven beschreven scenario's: spreek met de distributeur af wie de lijst vult.")
	}
	if c.Funding == FundingILF {
		c.reason("ILF: the school signs a contract allowing the distributor to pass pupil data to the LiKas.", "ILF: de school tekent een overeenkomst waarmee de distributeur leerlinggegevens aan de LiKa's mag doorgeven.")
	}
	return c
}

// mboCell is one cell of the MBO matrix: "L" (was-wordt by suppliers), "LS"
// (by suppliers and school), "NVT" (not applicable) or "" (no procedure).
type mboCell string

// mboMatrix is the matrix of 004 (newest; where 002 has blanks, 004 has NVT).
// Rows and columns: ECK ELO, NON-ECK ELO, ECK distr. portal, NON-ECK distr.
// portal, ECK NON-portal, NON-ECK NON-portal.
var mboMatrix = [6][6]mboCell{
	{"L", "NVT", "L", "NVT", "LS", "NVT"},
	{"L", "", "L", "L", "LS", "LS"},
	{"L", "NVT", "L", "NVT", "LS", "NVT"},
	{"L", "L", "L", "", "LS", ""},
	{"LS", "NVT", "LS", "NVT", "LS", "NVT"},
	{"LS", "", "LS", "", "LS", ""},
}

func mboIndex(e Endpoint) int {
	i := map[IdPKind]int{KindELO: 0, KindDistributorPortal: 2, KindNonPortal: 4}[e.Kind]
	if !e.ECK {
		i++
	}
	return i
}

// MBOLabel names an MBO endpoint as the matrix does, e.g. "NON-ECK ELO-IdP".
func MBOLabel(e Endpoint) string { return mboLabel(e, "nl") }

// mboLabel is MBOLabel in Dutch ("nl", the matrix's words) or English.
func mboLabel(e Endpoint, lang string) string {
	eck := "ECK"
	if !e.ECK {
		eck = "NON-ECK"
	}
	kinds := map[string][2]string{string(KindELO): {"ELO-IdP", "ELO IdP"}, string(KindDistributorPortal): {"distributeursportaal", "distributor portal"},
		string(KindNonPortal): {"NON-portaal IdP", "NON-portal IdP"}}
	return eck + " " + titled(kinds, string(e.Kind), lang)
}

func checkMBO(s Scenario) ScenarioCheck {
	cell := mboMatrix[mboIndex(s.From)][mboIndex(s.To)]
	c := ScenarioCheck{WasWordt: WasWordtNone}
	move, moveEN := MBOLabel(s.From)+" → "+MBOLabel(s.To), mboLabel(s.From, "en")+" → "+mboLabel(s.To, "en")
	switch cell {
	case "L":
		c.Outcome, c.WasWordt = OutcomeSupported, WasWordtSuppliers
		c.reason(moveEN+": was-wordt by the suppliers (publishers supply the \"was\" part, the school fills the \"wordt\" columns).",
			move+": was-wordt door de leveranciers (de uitgevers leveren het \"was\"-deel, de school vult de \"wordt\"-kolommen).")
	case "LS":
		c.Outcome, c.WasWordt = OutcomeSupported, WasWordtSuppliersAndSchool
		c.reason(moveEN+": was-wordt by suppliers and school: the school itself must deliver old and new identity per user.",
			move+": was-wordt door leveranciers en school: de school levert zelf per gebruiker de oude en de nieuwe identiteit.")
	case "NVT":
		c.Outcome = OutcomeNotApplicable
		c.reason(moveEN+": not applicable (NVT): an ECK school does not move to activation codes (NON-ECK).",
			move+": niet van toepassing (NVT): een ECK-school stapt niet over op activeringscodes (NON-ECK).")
	default:
		c.Outcome = OutcomeNoProcedure
		c.reason(moveEN+": the agreement has no procedure for this move; discuss it with the distributor and the publishers first.",
			move+": de afspraken kennen geen procedure voor deze overstap; bespreek hem eerst met de distributeur en de uitgevers.")
	}
	return c
}

// deadline is the date by which the conversion must be done: VO 1 August
// of the switch year; MBO the day the learning-materials list opens, when
// known (a case defaults it to 1 August of the switch year). A switch
// during the school year has its own date as the deadline: the identities
// must be converted before the new IdP goes live (DOMAIN §7), and the
// summer's 1 August is months before or after it.
func deadline(sector Sector, t Timing) time.Time {
	if !t.SwitchOn.IsZero() && IsMidYear(t.SwitchOn, t.ListOpensOn) {
		return t.SwitchOn
	}
	return summerDeadline(sector, t)
}

// summerDeadline is the deadline of a switch in the summer window: VO 1
// August of the switch year, MBO the day the list opens.
func summerDeadline(sector Sector, t Timing) time.Time {
	if sector == SectorMBO {
		return t.ListOpensOn
	}
	if t.SwitchOn.IsZero() {
		return time.Time{}
	}
	return time.Date(t.SwitchOn.Year(), time.August, 1, 0, 0, 0, 0, time.UTC)
}

// IsMidYear reports whether a switch date lies outside the summer window
// (1-31 July): then PSS does not cover it. For an MBO school whose list
// opens on 1 July the window starts a month earlier, so that a switch
// before the list opens is not counted as mid-year.
func IsMidYear(switchOn, listOpensOn time.Time) bool {
	if switchOn.IsZero() {
		return false
	}
	start := time.Date(switchOn.Year(), time.July, 1, 0, 0, 0, 0, time.UTC)
	if !listOpensOn.IsZero() && listOpensOn.Year() == switchOn.Year() && listOpensOn.Before(start.AddDate(0, 0, 1)) {
		start = listOpensOn.AddDate(0, -1, 0)
	}
	end := time.Date(switchOn.Year(), time.August, 1, 0, 0, 0, 0, time.UTC)
	return switchOn.Before(start) || !switchOn.Before(end)
}

// timingWarnings warns about a switch during the school year, short
// notice, and a switch late for the summer deadline due.
func timingWarnings(sector Sector, t Timing, due time.Time) ([]Warning, bool) {
	var ws []Warning
	midYear := IsMidYear(t.SwitchOn, t.ListOpensOn)
	if midYear {
		ws = append(ws, Warning{Code: WarnMidSchoolYear,
			Message: "A switch during the school year is not covered by PSS: extra costs for the school, at least 8 weeks notice, and not every publisher can move results built up during the year.",
			NL:      "Een overstap tijdens het schooljaar valt niet onder PSS: extra kosten voor de school, minstens 8 weken vooraf melden, en niet elke uitgever kan de in het jaar opgebouwde resultaten meenemen."})
		if !t.RequestedOn.IsZero() && t.SwitchOn.Sub(t.RequestedOn) < MinNoticeMidYear {
			days := int(t.SwitchOn.Sub(t.RequestedOn).Hours() / 24)
			ws = append(ws, Warning{Code: WarnShortNotice,
				Message: fmt.Sprintf("Only %d days between the request and the switch: a switch during the school year must be announced at least 8 weeks (56 days) ahead.", days),
				NL:      fmt.Sprintf("Maar %d dagen tussen de aanvraag en de overstap: een overstap tijdens het schooljaar moet minstens 8 weken (56 dagen) vooraf gemeld worden.", days)})
		}
	}
	// Late for the summer: on or after its deadline, in the month after
	// it (later in the school year the switch is plainly mid-year, and
	// its own date is its deadline).
	if !t.SwitchOn.IsZero() && !due.IsZero() && !t.SwitchOn.Before(due) && (!midYear || t.SwitchOn.Before(due.AddDate(0, 1, 0))) {
		what, wat := "VO migrations must be done before 1 August", "VO-verhuizingen moeten vóór 1 augustus klaar zijn"
		if sector == SectorMBO {
			what, wat = "MBO identities must be converted before the learning-materials list opens", "MBO-identiteiten moeten omgezet zijn voordat de leermiddelenlijst opengaat"
		}
		ws = append(ws, Warning{Code: WarnAfterDeadline,
			Message: fmt.Sprintf("The switch on %s is on or after the summer's deadline %s: %s.", t.SwitchOn.Format(DateLayout), due.Format(DateLayout), what),
			NL:      fmt.Sprintf("De overstap op %s valt op of na de uiterste datum van de zomer, %s: %s.", t.SwitchOn.Format("2-1-2006"), due.Format("2-1-2006"), wat)})
	}
	return ws, midYear
}

// DateLayout is how dates travel in the API and the database.
const DateLayout = "2006-01-02"

// ParseDate parses a YYYY-MM-DD date (a civil date, kept at 00:00 UTC).
func ParseDate(field, s string) (time.Time, error) {
	d, err := time.Parse(DateLayout, s)
	if err != nil {
		return time.Time{}, FieldErrorf(field, "must be a date as YYYY-MM-DD, got %q", s).NL("moet een datum als JJJJ-MM-DD zijn, niet %q", s)
	}
	return d, nil
}

// plannedFields are the fields whose date plans the switch or the
// migration, which must come before the case's deadline.
var plannedFields = []string{"switch_at", "migration_on"}

// CurrentWarnings is what the parties must know now: the warnings found
// when the case was opened, and, for a step done, a switch or migration
// it planned too late: on or after a summer deadline (1 August, the day
// the MBO list opens), or the switch date that is the deadline of a
// switch during the school year; only the switch itself (switch_at) is
// meant for that day.
// Refusing such a date would leave the case stuck where the parties had
// no choice; the case says it is late instead, beside the deadline.
func (c Case) CurrentWarnings() []Warning {
	ws := slices.Clip(c.Warnings) // an append copies, leaving the header's as they are
	if c.Deadline.IsZero() {
		return ws
	}
	for _, st := range c.Steps {
		if st.State != StepDone {
			continue
		}
		for _, f := range st.Records {
			if !slices.Contains(plannedFields, f.Name) {
				continue
			}
			s, _ := st.Data[f.Name].(string)
			d, err := time.Parse(DateLayout, s)
			if f.Type == FieldDateTime {
				var t time.Time
				t, err = time.Parse(time.RFC3339, s)
				d = c.Calendar.Today(t)
			}
			switchOnItsDay := c.MidYear && f.Name == "switch_at"
			when, wanneer := "on or after", "op of na"
			if switchOnItsDay {
				when, wanneer = "after", "na"
			}
			if err != nil || d.Before(c.Deadline) || switchOnItsDay && d.Equal(c.Deadline) {
				continue
			}
			ws = append(ws, Warning{Code: WarnPlannedLate,
				Message: fmt.Sprintf("Step %s set %q to %s, %s the case's deadline (%s): agree an earlier date, or tell the parties the case will be late.",
					st.Key, f.English(), d.Format(DateLayout), when, c.Deadline.Format(DateLayout)),
				NL: fmt.Sprintf("Stap %s zette %q op %s, %s de uiterste datum van de zaak (%s): spreek een eerdere datum af, of laat de partijen weten dat de zaak te laat is.",
					st.Key, f.Label, d.Format("2-1-2006"), wanneer, c.Deadline.Format("2-1-2006"))})
		}
	}
	return ws
}

// TellsOfReplacedList reports whether the case warns role of a VO list
// replaced after step 11 (ListReplaced): the school and the distributor,
// once step 11 is done; a LiKa and Kennisnet see no list before step 14.
func (c Case) TellsOfReplacedList(role Role) bool {
	return (role == RoleSchool || role == RoleDistributor) && c.Sector == SectorVO && c.StepDone("11")
}

// ListReplaced warns when the school replaced its complete list (VO)
// after step 11 recorded it: step 11's row count is of an earlier
// version, and at step 14 the distributor hands the LiKas the current
// one. The school may well have had to correct its list, so the upload
// is not refused (nothing is handed out before step 14, and after it a
// replacement is); the distributor must know before it hands it out.
func (c Case) ListReplaced(current ListVersion) (Warning, bool) {
	st, ok := c.Step("11")
	if c.Sector != SectorVO || !ok || st.State != StepDone || st.DoneAt == nil || current.Kind != ListComplete {
		return Warning{}, false
	}
	// Uploaded after step 11, or (uploaded while step 11 was being
	// completed, on another machine's clock) not of the rows it recorded.
	recorded := "?"
	n, counted := st.Data["row_count"].(float64)
	if counted {
		recorded = fmt.Sprint(n)
	}
	if !current.UploadedAt.After(*st.DoneAt) && (!counted || int(n) == current.RowCount) {
		return Warning{}, false
	}
	get, krijgen := "get", "krijgen"
	if c.StepDone("14") {
		get, krijgen = "got", "kregen"
	}
	return Warning{Code: WarnListReplaced,
		Message: fmt.Sprintf("The school replaced the was-wordt list after step 11, which recorded %s rows: the list now is version %d, with %d rows. At step 14 the LiKas %s version %d.",
			recorded, current.Version, current.RowCount, get, current.Version),
		NL: fmt.Sprintf("De school heeft de was-wordt-lijst vervangen na stap 11, waarin %s regels zijn vastgelegd: de lijst is nu versie %d, met %d regels. Bij stap 14 %s de LiKa's versie %d.",
			recorded, current.Version, current.RowCount, krijgen, current.Version)}, true
}
