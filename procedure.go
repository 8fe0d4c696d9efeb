package cmr

import (
	"cmp"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"
)

// StepKind says how a step gets done.
type StepKind string

// Step kinds.
const (
	StepHuman   StepKind = "human"   // the owner completes it with the data it records
	StepAuto    StepKind = "auto"    // done as soon as the steps it waits for are done
	StepTickets StepKind = "tickets" // done when every LiKa ticket is closed or waived
	StepTest    StepKind = "test"    // the school confirms the final test, or reports it failed
)

// FieldType is the type of a value a step records.
type FieldType string

// Field types.
const (
	FieldText     FieldType = "text"     // a string, at most 2000 characters
	FieldDate     FieldType = "date"     // YYYY-MM-DD
	FieldDateTime FieldType = "datetime" // RFC 3339
	FieldConfirm  FieldType = "confirm"  // must be true
	FieldBool     FieldType = "bool"
	FieldList     FieldType = "list" // a list of non-empty strings
	FieldNumber   FieldType = "number"
)

// Field is a value a step records.
type Field struct {
	Name     string    `json:"name"`
	Type     FieldType `json:"type"`
	Required bool      `json:"required"`
	Label    string    `json:"label"`    // Dutch
	LabelEN  string    `json:"label_en"` // English
	// Options, for text, are the only values it takes.
	Options []string `json:"options,omitempty"`
	// Past, for a date, is a day something was done: today or earlier.
	Past bool `json:"past,omitempty"`
}

// DoneDay reports whether the field's date is a day something was done.
// Plans stored before Past (they are in running cases' histories) have
// it on the same two fields by name.
func (f Field) DoneDay() bool {
	return f.Past || f.Type == FieldDate && (f.Name == "done_on" || f.Name == "signed_on")
}

// MaxYearsAway is how far from today a date a step records may lie:
// further is a typing error in the year (2062 for 2026), which would
// otherwise stand in the case's history.
const MaxYearsAway = 5

// TooFarAway reports whether date d lies more than MaxYearsAway years
// from today.
func TooFarAway(d, today time.Time) bool {
	return d.Before(today.AddDate(-MaxYearsAway, 0, 0)) || d.After(today.AddDate(MaxYearsAway, 0, 0))
}

// optionTitles name a field's options as people read them, in Dutch and
// in English; the API takes and gives the values themselves.
var optionTitles = map[string][2]string{
	"identity":   {"de hele identiteit", "the whole identity"},
	"realm_only": {"alleen de realm", "only the realm"},
}

// OptionTitle is how the pages show option v of a field, in Dutch ("nl")
// or English: a value without a title is shown as it is.
func OptionTitle(v, lang string) string { return titled(optionTitles, v, lang) }

// English is the field's label in English: LabelEN, or for a plan stored
// before labels had it, the English of its Dutch label.
func (f Field) English() string {
	if f.LabelEN != "" {
		return f.LabelEN
	}
	if en, ok := fieldLabelsEN[f.Label]; ok {
		return en
	}
	return f.Label
}

// fieldLabelsEN are the fields' labels in English, by their Dutch.
var fieldLabelsEN = map[string]string{
	"Aanleiding (NON-ECK naar ECK, andere ELO, fusie)": "Reason (NON-ECK to ECK, another ELO, merger)",
	"Aantal regels in de lijst":                        "Number of rows in the list",
	"Afgesproken moment van omzetting":                 "Agreed moment of the switch",
	"Datum verhuizing":                                 "Date of the move",
	"Diensten geactiveerd":                             "Services activated",
	"Diensten":                                         "Services",
	"DigiDeliveryIds":                                  "DigiDeliveryIds",
	"Einddatum oud CR-record":                          "End date of the old CR record",
	"Extra kosten geaccepteerd":                        "Extra costs accepted",
	"Gebruiksoverzicht geleverd":                       "Usage overview delivered",
	"Getekend op":                                      "Signed on",
	"Leerhistorie meenemen":                            "Keep learning history",
	"Niet alle resultaten kunnen mee":                  "Not all results can move",
	"Nieuwe realm":                                     "New realm",
	"Oude omgeving bevroren op":                        "Old environment frozen on",
	"Positief advies":                                  "Positive advice",
	"Stap die opnieuw moet":                            "Step to redo",
	"Te verhuizen licenties/producten":                 "Licences/products to move",
	"Test geslaagd":                                    "Test passed",
	"Toelichting":                                      "Note",
	"Uitgevoerd op":                                    "Done on",
	"Verhuizing nodig bij leveranciers buiten PSS":     "Move needed at suppliers outside PSS",
	"Verlies geaccepteerd":                             "Loss accepted",
	"Wat wijzigt (realm, portaal, userid)":             "What changes (realm, portal, user ID)",
	"Wat wijzigt: de hele identiteit (identity) of alleen de realm (realm_only)": "What changes: the whole identity (identity) or only the realm (realm_only)", // plans before 2026-11-24
	"Wat wijzigt": "What changes",
}

// StepDef is one step of a procedure.
type StepDef struct {
	Key      string   `json:"key"`
	Owner    Role     `json:"owner"`
	Kind     StepKind `json:"kind"`
	Title    string   `json:"title"`    // Dutch, as the supplement says it
	TitleEN  string   `json:"title_en"` // English
	Records  []Field  `json:"records,omitempty"`
	WaitsFor []string `json:"waits_for,omitempty"`
	// CreatesTickets: completing this step creates one ticket per LiKa
	// (VO 14, MBO 7).
	CreatesTickets bool `json:"creates_tickets,omitempty"`
	// StartsClocks: completing this step starts the SLA clock of every
	// ticket still waiting for its list (MBO 8c: the completed list is
	// returned to the publishers).
	StartsClocks bool `json:"starts_clocks,omitempty"`
	// DoneAtOpen: opening the case completes this step.
	DoneAtOpen bool `json:"done_at_open,omitempty"`
}

// Redoable reports whether a failed test may send the case back to this
// step: human steps that do not create tickets or start their clocks.
func (s StepDef) Redoable() bool {
	return s.Kind == StepHuman && !s.CreatesTickets && !s.StartsClocks && !s.DoneAtOpen
}

// CaseOptions are the choices made when the case is opened.
type CaseOptions struct {
	// Calamity: the switch must happen at very short notice, without lists;
	// profiles, results and progress are lost at the school's risk.
	Calamity bool `json:"calamity"`
	// KeepHistory: the school wants to keep learning history, so lists are
	// made. Without it no list is needed (004: "geen behoefte ... relatief
	// eenvoudig").
	KeepHistory bool `json:"keep_history"`
}

// NeedsLists reports whether the case has a was-wordt list.
func (o CaseOptions) NeedsLists(ww WasWordt) bool {
	return !o.Calamity && o.KeepHistory && ww != WasWordtNone
}

// PlanInput is what the procedure depends on.
type PlanInput struct {
	Sector   Sector
	Funding  Funding // VO
	Options  CaseOptions
	MidYear  bool
	WasWordt WasWordt
}

var (
	fNote     = Field{Name: "note", Type: FieldText, Label: "Toelichting"}
	fDoneOn   = Field{Name: "done_on", Type: FieldDate, Label: "Uitgevoerd op", Past: true}
	fRowCount = Field{Name: "row_count", Type: FieldNumber, Label: "Aantal regels in de lijst"}
)

func step(key string, owner Role, title, en string, waits []string, records ...Field) StepDef {
	return StepDef{Key: key, Owner: owner, Kind: StepHuman, Title: title, TitleEN: en, WaitsFor: waits, Records: append(records, fNote)}
}

// Procedure returns the steps of the case's procedure, in order, with
// every step's waits resolved to steps that are in the plan.
func Procedure(in PlanInput) []StepDef {
	var all []StepDef
	if in.Sector == SectorMBO {
		all = mboSteps(in)
	} else {
		all = voSteps(in)
	}
	for i := range all {
		all[i].Records = slices.Clone(all[i].Records) // fNote and the like are shared
		for j := range all[i].Records {
			all[i].Records[j].LabelEN = all[i].Records[j].English()
		}
	}
	return all
}

// maybe is a step and whether this plan includes it. prune drops the
// excluded ones; their dependents then wait for what they waited for.
type maybe struct {
	StepDef
	in bool
}

func prune(all []maybe) []StepDef {
	waits := map[string][]string{}
	for _, m := range all {
		waits[m.Key] = m.WaitsFor
	}
	kept := map[string]bool{}
	for _, m := range all {
		kept[m.Key] = m.in
	}
	var resolve func(k string, seen map[string]bool) []string
	resolve = func(k string, seen map[string]bool) []string {
		if kept[k] {
			return []string{k}
		}
		var out []string
		for _, w := range waits[k] {
			if !seen[w] {
				seen[w] = true
				out = append(out, resolve(w, seen)...)
			}
		}
		return out
	}
	var out []StepDef
	for _, m := range all {
		if !m.in {
			continue
		}
		seen := map[string]bool{}
		var ws []string
		for _, w := range m.WaitsFor {
			for _, r := range resolve(w, map[string]bool{}) {
				if !seen[r] {
					seen[r] = true
					ws = append(ws, r)
				}
			}
		}
		m.WaitsFor = ws
		out = append(out, m.StepDef)
	}
	return out
}

func voSteps(in PlanInput) []StepDef {
	lists := in.Options.NeedsLists(in.WasWordt)
	ilf := in.Funding == FundingILF
	s1 := step("1", RoleSchool, "School meldt zich bij de distributeur met het verzoek de uitleverkeuze te wijzigen", "School asks its distributor to change its delivery choice", nil)
	s1.DoneAtOpen = true
	s2 := step("2", RoleDistributor, "Distributeur maakt een melding in het CMR", "Distributor files the notification in the CMR", []string{"1"})
	s2.DoneAtOpen = true
	s14 := step("14", RoleDistributor, "Distributeur maakt per LiKa een CMR-ticket aan", "Distributor creates one CMR ticket per LiKa",
		[]string{"midyear.ack", "calamity.accept", "7", "11", "13"})
	s14.CreatesTickets = true
	all := []maybe{
		{s1, true},
		{s2, true},
		{step("midyear.ack", RoleSchool, "School accepteert de extra kosten van een wijziging tijdens het schooljaar",
			"School acknowledges the extra costs of a switch during the school year", []string{"2"},
			Field{Name: "extra_costs_accepted", Type: FieldConfirm, Required: true, Label: "Extra kosten geaccepteerd"},
			Field{Name: "results_may_be_lost", Type: FieldConfirm, Required: true, Label: "Niet alle resultaten kunnen mee"}), in.MidYear},
		{step("calamity.accept", RoleSchool, "School accepteert het verlies van profielen, resultaten en voortgang (calamiteit, geen lijsten)",
			"School accepts the loss of profiles, results and progress (calamity, no lists)", []string{"2"},
			Field{Name: "loss_accepted", Type: FieldConfirm, Required: true, Label: "Verlies geaccepteerd"}), in.Options.Calamity},
		{step("plan.identity", RoleDistributor, "Distributeur stelt vast dat de identiteit wijzigt (realm- of portaalwijziging)",
			"Distributor establishes that the identity changes (realm or portal change)", []string{"2"},
			Field{Name: "change", Type: FieldText, Required: true, Label: "Wat wijzigt (realm, portaal, userid)"}), true},
		{step("plan.freeze", RoleDistributor, "Distributeur stelt vast wanneer de oude omgeving bevroren wordt",
			"Distributor fixes when the old environment freezes", []string{"plan.identity"},
			Field{Name: "freeze_on", Type: FieldDate, Required: true, Label: "Oude omgeving bevroren op"}), true},
		{step("plan.history", RoleDistributor, "Distributeur informeert de school over het meenemen van de leerhistorie",
			"Distributor asks the school whether it keeps learning history", []string{"plan.freeze"},
			Field{Name: "keep_history", Type: FieldBool, Required: true, Label: "Leerhistorie meenemen"}), true},
		{step("ilf.contract", RoleSchool, "School tekent het contract dat de distributeur leerlinggegevens aan de LiKa's mag doorgeven",
			"School signs the contract allowing the distributor to pass pupil data to the LiKas", []string{"plan.history"},
			Field{Name: "signed_on", Type: FieldDate, Required: true, Label: "Getekend op", Past: true}), ilf && lists},
		{step("3.advice", RoleDistributor, "Distributeur geeft positief advies voor de omzetting",
			"Distributor gives its positive advice for the switch", []string{"plan.history", "ilf.contract"},
			Field{Name: "positive_advice", Type: FieldConfirm, Required: true, Label: "Positief advies"}), true},
		{step("3", RoleKennisnet, "School, distributeur en Kennisnet Support spreken het moment van omzetting af",
			"School, distributor and Kennisnet Support agree the switch moment", []string{"3.advice"},
			Field{Name: "switch_at", Type: FieldDateTime, Required: true, Label: "Afgesproken moment van omzetting"}), true},
		{StepDef{Key: "4", Owner: RoleDistributor, Kind: StepAuto, Title: "Distributeur voert de wijzigingen door in het CR (stappen 5-7)",
			TitleEN: "Distributor changes the Central Registration (steps 5-7)", WaitsFor: []string{"5", "6", "7"}}, true},
		{step("5", RoleDistributor, "Het bestaande CR-record krijgt een einddatum", "The existing CR record gets an end date", []string{"3"},
			Field{Name: "end_date", Type: FieldDate, Required: true, Label: "Einddatum oud CR-record"}), true},
		{step("6", RoleDistributor, "Nieuw CR-record voor de nieuwe uitleverkeuze (nieuwe realm)", "New CR record for the new delivery choice (new realm)", []string{"3"},
			Field{Name: "realm", Type: FieldText, Required: true, Label: "Nieuwe realm"}), true},
		{step("7", RoleDistributor, "Distributeur koppelt de school-identiteiten (DigiDeliveryId) aan het nieuwe CR-record",
			"Distributor links the school identities (DigiDeliveryIds) to the new CR record", []string{"6"},
			Field{Name: "digi_delivery_ids", Type: FieldList, Required: true, Label: "DigiDeliveryIds"}), true},
		{StepDef{Key: "8", Owner: RoleKennisnet, Kind: StepAuto, Title: "Kennisnet regelt met de school de migratie van de IdP (8a, 8b)",
			TitleEN: "Kennisnet arranges the IdP migration with the school (8a, 8b)", WaitsFor: []string{"8a", "8b"}}, true},
		{step("8a", RoleSchool, "School activeert in Mijn Entree Federatie dezelfde diensten voor de nieuwe koppeling",
			"School activates the same services for the new link in Mijn Entree Federatie", []string{"3"},
			Field{Name: "services_activated", Type: FieldConfirm, Required: true, Label: "Diensten geactiveerd"},
			Field{Name: "services", Type: FieldList, Label: "Diensten"}), true},
		{step("8b", RoleKennisnet, "Kennisnet levert de Entree-gebruiksgegevens van de oude koppeling",
			"Kennisnet delivers the Entree usage data of the old link", []string{"3"},
			Field{Name: "usage_delivered", Type: FieldConfirm, Required: true, Label: "Gebruiksoverzicht geleverd"},
			Field{Name: "outside_pss_migration_needed", Type: FieldBool, Required: true, Label: "Verhuizing nodig bij leveranciers buiten PSS"}), true},
		{step("9", RoleSchool, "School bepaalt intern de impact van de migratie", "School determines the impact internally", []string{"3"}), true},
		{step("10", RoleDistributor, "Verhuizing wordt ingepland", "The migration is scheduled", []string{"4", "8", "9"},
			Field{Name: "migration_on", Type: FieldDate, Required: true, Label: "Datum verhuizing"}), true},
		{step("11", RoleSchool, "School levert de was-wordt-lijst aan bij de distributeur", "School delivers the was-wordt list to the distributor",
			[]string{"10", "ilf.contract"}, fRowCount), lists},
		{step("12", RoleSchool, "School voert vanuit het nieuwe portaal de controle koppeling uit", "School runs the link check from the new portal", []string{"10"}, fDoneOn), true},
		{step("13", RoleSchool, "School zorgt dat de pre-match waarde in het oude portaal is verwijderd", "School makes sure the pre-match value is removed in the old portal", []string{"12"}, fDoneOn), true},
		{s14, true},
		{StepDef{Key: "15", Owner: RolePublisher, Kind: StepTickets, Title: "Uitgever/LiKa voert de was-wordt uit en meldt af in het CMR (SLA 3 werkdagen)",
			TitleEN: "Publisher/LiKa re-keys and closes its ticket (SLA 3 working days)", WaitsFor: []string{"14"}}, true},
		{step("elf.rollback", RoleSchool, "Oude portaal draait de pre-match waardes tijdig terug", "Old portal rolls back the pre-match values in time", []string{"13"}, fDoneOn),
			in.Funding == FundingELF},
		{step("16", RoleSchool, "School voert bij aanvang van het schooljaar de pre-match uit in het nieuwe portaal", "School runs the pre-match in the new portal at the start of the school year", []string{"15"}, fDoneOn), true},
		{StepDef{Key: "17", Owner: RoleSchool, Kind: StepTest, Title: "School controleert de Kennisnet Referentie Service Provider en test (referentiepagina, toegang tot licenties)",
			TitleEN: "School checks the Kennisnet Reference Service Provider and tests (reference page, licence access)", WaitsFor: []string{"16", "elf.rollback"},
			Records: []Field{{Name: "passed", Type: FieldBool, Required: true, Label: "Test geslaagd"}, {Name: "redo_step", Type: FieldText, Label: "Stap die opnieuw moet"}, fNote}}, true},
	}
	return prune(all)
}

func mboSteps(in PlanInput) []StepDef {
	lists := in.Options.NeedsLists(in.WasWordt)
	s1 := step("1", RoleSchool, "School meldt bij de distributeur dat zijn identiteit wijzigt", "School tells its distributor its identity will change", nil,
		Field{Name: "reason", Type: FieldText, Label: "Aanleiding (NON-ECK naar ECK, andere ELO, fusie)"})
	s1.DoneAtOpen = true
	s7 := step("7", RoleDistributor, "Distributeur informeert de uitgevers die verhuizing ondersteunen: CMR-meldingen", "Distributor informs the publishers: CMR notifications", []string{"6", "midyear.ack", "calamity.accept"})
	s7.CreatesTickets = true
	s8c := step("8c", RoleDistributor, "Distributeur retourneert de volledig ingevulde lijst aan elke uitgever (start SLA)",
		"Distributor returns the completed list to each publisher (starts the SLA)", []string{"8b"}, fRowCount)
	s8c.StartsClocks = true
	all := []maybe{
		{s1, true},
		{step("midyear.ack", RoleSchool, "School accepteert de extra kosten van een wijziging tijdens het schooljaar",
			"School acknowledges the extra costs of a switch during the school year", []string{"1"},
			Field{Name: "extra_costs_accepted", Type: FieldConfirm, Required: true, Label: "Extra kosten geaccepteerd"},
			Field{Name: "results_may_be_lost", Type: FieldConfirm, Required: true, Label: "Niet alle resultaten kunnen mee"}), in.MidYear},
		{step("calamity.accept", RoleSchool, "School accepteert het verlies van profielen, resultaten en voortgang (calamiteit, geen lijsten)",
			"School accepts the loss of profiles, results and progress (calamity, no lists)", []string{"1"},
			Field{Name: "loss_accepted", Type: FieldConfirm, Required: true, Label: "Verlies geaccepteerd"}), in.Options.Calamity},
		{step("2", RoleSchool, "School meldt de wijziging bij Kennisnet Support", "School reports the change to Kennisnet Support", []string{"1"}, fDoneOn), true},
		{step("3", RoleKennisnet, "Kennisnet maakt met de school afspraken over de migratie", "Kennisnet makes arrangements with the school", []string{"2"},
			Field{Name: "switch_at", Type: FieldDateTime, Required: true, Label: "Afgesproken moment van omzetting"}), true},
		{step("4", RoleSchool, "School activeert in Mijn Entree Federatie dezelfde diensten voor de nieuwe koppeling",
			"School activates the same services for the new link", []string{"3"},
			Field{Name: "services_activated", Type: FieldConfirm, Required: true, Label: "Diensten geactiveerd"},
			Field{Name: "services", Type: FieldList, Label: "Diensten"}), true},
		{step("5", RoleKennisnet, "Kennisnet levert de Entree-gebruiksgegevens van de oude koppeling", "Kennisnet delivers the Entree usage data of the old link", []string{"3"},
			Field{Name: "usage_delivered", Type: FieldConfirm, Required: true, Label: "Gebruiksoverzicht geleverd"},
			Field{Name: "outside_pss_migration_needed", Type: FieldBool, Required: true, Label: "Verhuizing nodig bij leveranciers buiten PSS"}), true},
		{step("6", RoleDistributor, "School en distributeur stellen vast welke licenties/producten verhuizen", "School and distributor decide which licences move", []string{"1"},
			Field{Name: "licences", Type: FieldText, Required: true, Label: "Te verhuizen licenties/producten"},
			Field{Name: "identity_change", Type: FieldText, Required: true, Label: "Wat wijzigt",
				Options: []string{"identity", "realm_only"}}), true},
		{s7, true},
		{step("8a", RoleDistributor, "Distributeur vraagt de studentgegevens (was) op bij de uitgevers en zet ze door naar de school",
			"Distributor requests the students' \"was\" data from the publishers and passes it to the school", []string{"7"}), lists},
		{step("8b", RoleSchool, "School retourneert de gevalideerde wordt-lijst aan de distributeur", "School returns the validated \"wordt\" list to the distributor", []string{"8a"}, fRowCount), lists},
		{s8c, lists},
		{StepDef{Key: "9", Owner: RolePublisher, Kind: StepTickets, Title: "Uitgever voert de was-wordt uit (SLA 3 werkdagen na retour van de lijst)",
			TitleEN: "Publisher re-keys (SLA 3 working days after the list is returned)", WaitsFor: []string{"8c", "7"}}, true},
		{StepDef{Key: "10", Owner: RolePublisher, Kind: StepTickets, Title: "Uitgever meldt de verwerking gereed via het CMR",
			TitleEN: "Publisher reports completion via the CMR", WaitsFor: []string{"9"}}, true},
		{step("11", RoleDistributor, "Distributeur bewaakt de voortgang, informeert de school en vraagt om te testen", "Distributor informs the school and asks it to test", []string{"10", "4", "5"}), true},
		{StepDef{Key: "test", Owner: RoleSchool, Kind: StepTest, Title: "School test (Kennisnet Referentie Pagina, toegang tot licenties)",
			TitleEN: "School tests (reference page, licence access)", WaitsFor: []string{"11"},
			Records: []Field{{Name: "passed", Type: FieldBool, Required: true, Label: "Test geslaagd"}, {Name: "redo_step", Type: FieldText, Label: "Stap die opnieuw moet"}, fNote}}, true},
	}
	return prune(all)
}

// StepNumber is how people number a step: the procedure's own steps by
// their number in its documents (11, 8a), as the parties know them; the
// steps this system adds (plan.identity, 3.advice) have none, and go by
// their titles, their keys being codes for the API.
func StepNumber(key string) string {
	i := 0
	for i < len(key) && '0' <= key[i] && key[i] <= '9' {
		i++
	}
	if i == 0 || len(key)-i > 1 || i < len(key) && (key[i] < 'a' || key[i] > 'z') {
		return ""
	}
	return key
}

// TitleIn is the step's title in lang ("en", otherwise Dutch); the Dutch
// where it has no English one.
func (d StepDef) TitleIn(lang string) string {
	if lang == "en" {
		return cmp.Or(d.TitleEN, d.Title)
	}
	return d.Title
}

// Ref names the step in a message to people, in lang ("nl" or "en"):
// "stap 11", or for a step without a number its title, quoted.
func (d StepDef) Ref(lang string) string {
	word, title := "stap", d.TitleIn(lang)
	if lang == "en" {
		word = "step"
	}
	if n := StepNumber(d.Key); n != "" || title == "" {
		return word + " " + cmp.Or(n, d.Key)
	}
	return fmt.Sprintf("%s %q", word, title)
}

// refs names the steps keys of plan in a message (Ref), one after the
// other.
func refs(plan []StepDef, keys []string, lang string) string {
	out := make([]string, len(keys))
	for i, k := range keys {
		d, _ := FindStep(plan, k)
		d.Key = k
		out[i] = d.Ref(lang)
	}
	return strings.Join(out, ", ")
}

// FindStep returns the step with key from plan.
func FindStep(plan []StepDef, key string) (StepDef, bool) {
	for _, s := range plan {
		if s.Key == key {
			return s, true
		}
	}
	return StepDef{}, false
}

// StepKeys lists the keys of plan's steps of the given kinds (all when none).
func StepKeys(plan []StepDef, kinds ...StepKind) []string {
	var out []string
	for _, s := range plan {
		if len(kinds) == 0 || slices.Contains(kinds, s.Kind) {
			out = append(out, s.Key)
		}
	}
	return out
}

// ValidateData checks what a caller submits for the step: known fields of
// the right type, required ones present, dates that can be meant (a day
// something was done not after today, none more than MaxYearsAway years
// from today). today is the civil date in the case's calendar zone
// (CalendarConfig.Today). It returns the data normalised (dates as
// YYYY-MM-DD, times in UTC RFC 3339) or one error naming every problem,
// in English and in Dutch; the Dutch, and the English for the pages
// (Error.MessageEN), name a field by its label.
func (s StepDef) ValidateData(data map[string]any, today time.Time) (map[string]any, error) {
	out := map[string]any{}
	var problems, problemsEN, problemsNL []string
	known := map[string]Field{}
	for _, f := range s.Records {
		known[f.Name] = f
	}
	var unknown []string
	for k := range data {
		if _, ok := known[k]; !ok {
			unknown = append(unknown, k)
		}
	}
	sort.Strings(unknown)
	for _, k := range unknown {
		var names, labels []string
		for _, f := range s.Records {
			names = append(names, f.Name)
			labels = append(labels, fmt.Sprintf("%q", f.Label))
		}
		problems = append(problems, fmt.Sprintf("%s: step %s does not record this field; it records %s", k, s.Key, strings.Join(names, ", ")))
		problemsNL = append(problemsNL, fmt.Sprintf("%s: stap %s kent dit veld niet; de velden van deze stap zijn %s", k, s.Key, strings.Join(labels, ", ")))
		problemsEN = append(problemsEN, problems[len(problems)-1])
	}
	for _, f := range s.Records {
		v, present := data[f.Name]
		if text, ok := v.(string); ok && strings.TrimSpace(text) == "" {
			v = nil // spaces only are nothing filled in
		}
		if !present || v == nil {
			if f.Required {
				t := describeType(f.Type)
				if len(f.Options) > 0 {
					t = phrase{"one of " + strings.Join(f.Options, ", "), "kies: " + optionList(f.Options)}
				}
				problems = append(problems, fmt.Sprintf("%s: is required (%s, %s)", f.Name, f.English(), t.en))
				problemsEN = append(problemsEN, fmt.Sprintf("%s: is required (%s)", f.English(), onPage(f, t.en)))
				problemsNL = append(problemsNL, fmt.Sprintf("%s: is verplicht (%s)", f.Label, t.nl))
			}
			continue
		}
		norm, bad := normaliseValue(f, v)
		if bad.en == "" {
			bad = checkDate(f, norm, today)
		}
		if bad.en != "" {
			// The field as the API names it, and as the English pages
			// label it (the Dutch names it by its label only).
			problems = append(problems, fmt.Sprintf("%s (%s): %s", f.Name, f.English(), bad.en))
			problemsEN = append(problemsEN, f.English()+": "+onPage(f, bad.en))
			problemsNL = append(problemsNL, f.Label+": "+bad.nl)
			continue
		}
		out[f.Name] = norm
	}
	if len(problems) > 0 {
		return nil, &Error{Kind: KindInvalid, Field: "data", Message: strings.Join(problems, "; "), MessageNL: strings.Join(problemsNL, "; "),
			MessageEN: strings.Join(problemsEN, "; ")}
	}
	return out, nil
}

// onPage is an English message about f for the pages: its type said as
// the page's input takes it (tick, choose, one per line) instead of as
// JSON, and the values of its options, as the API takes them, replaced by
// the titles the page's choice shows.
func onPage(f Field, msg string) string {
	if page := pageType(f.Type); page != "" {
		msg = strings.Replace(msg, describeType(f.Type).en, page, 1)
	}
	return optionsTitled(f, msg)
}

// pageType is describeType's English for the pages' inputs, where it
// differs from the API's.
func pageType(t FieldType) string {
	switch t {
	case FieldDateTime:
		return "a date and time"
	case FieldConfirm:
		return "tick the box to confirm"
	case FieldBool:
		return "yes or no"
	case FieldList:
		return "one or more values, one per line"
	}
	return ""
}

// optionsTitled replaces, in an English message about f, the values of
// its options by the titles the page's choice shows.
func optionsTitled(f Field, msg string) string {
	if len(f.Options) == 0 {
		return msg
	}
	titles := make([]string, len(f.Options))
	for i, o := range f.Options {
		titles[i] = fmt.Sprintf("%q", OptionTitle(o, "en"))
	}
	return strings.Replace(msg, strings.Join(f.Options, ", "), strings.Join(titles, ", "), 1)
}

// optionList names options for a Dutch message: their titles, with the
// values the API takes.
func optionList(options []string) string {
	parts := make([]string, len(options))
	for i, o := range options {
		parts[i] = OptionTitle(o, "nl") + " (" + o + ")"
	}
	return strings.Join(parts, " of ")
}

// checkDate says what is wrong with a normalised date or moment v of
// field f given today, or nothing.
func checkDate(f Field, v any, today time.Time) phrase {
	s, _ := v.(string)
	var d time.Time
	switch f.Type {
	case FieldDate:
		d, _ = time.Parse(DateLayout, s)
	case FieldDateTime:
		t, _ := time.Parse(time.RFC3339, s)
		d = civilDate(t)
	default:
		return phrase{}
	}
	en, nl := today.Format(DateLayout), today.Format("2-1-2006")
	switch {
	case f.DoneDay() && d.After(today):
		return phrase{"lies after today (" + en + "): give the day it happened",
			"ligt na vandaag (" + nl + "): vul de dag in waarop het gebeurde"}
	case TooFarAway(d, today):
		return phrase{fmt.Sprintf("lies more than %d years from today (%s): check the year", MaxYearsAway, en),
			fmt.Sprintf("ligt meer dan %d jaar van vandaag (%s): controleer het jaartal", MaxYearsAway, nl)}
	}
	return phrase{}
}

// phrase is a fragment of a message in English and in Dutch.
type phrase struct{ en, nl string }

func describeType(t FieldType) phrase {
	switch t {
	case FieldDate:
		return phrase{"a date as YYYY-MM-DD", "een datum als JJJJ-MM-DD"}
	case FieldDateTime:
		return phrase{"a moment as RFC 3339, e.g. 2027-07-20T09:00:00+02:00", "een datum en tijd"}
	case FieldConfirm:
		return phrase{"true to confirm", "vink aan om te bevestigen"}
	case FieldBool:
		return phrase{"true or false", "ja of nee"}
	case FieldList:
		return phrase{"a list of strings", "een of meer waarden, één per regel"}
	case FieldNumber:
		return phrase{"a number", "een getal"}
	}
	return phrase{"text", "tekst"}
}

// mustBe is the problem "must be" the type's description.
func mustBe(t FieldType) phrase {
	d := describeType(t)
	return phrase{"must be " + d.en, "moet " + d.nl + " zijn"}
}

// normaliseValue returns v normalised for field f, or what is wrong with
// it (a zero phrase when nothing is).
func normaliseValue(f Field, v any) (any, phrase) {
	switch f.Type {
	case FieldText:
		s, ok := v.(string)
		if !ok {
			return nil, phrase{"must be text", "moet tekst zijn"}
		}
		s = strings.TrimSpace(s)
		if len(s) > 2000 {
			return nil, phrase{"is longer than 2000 characters", "is langer dan 2000 tekens"}
		}
		if len(f.Options) > 0 {
			for _, o := range f.Options {
				if strings.EqualFold(s, o) {
					return o, phrase{}
				}
			}
			return nil, phrase{"must be one of " + strings.Join(f.Options, ", "), "moet een van deze zijn: " + optionList(f.Options)}
		}
		return s, phrase{}
	case FieldDate:
		s, ok := v.(string)
		if !ok {
			return nil, mustBe(f.Type)
		}
		d, err := time.Parse(DateLayout, s)
		if err != nil {
			return nil, mustBe(f.Type)
		}
		return d.Format(DateLayout), phrase{}
	case FieldDateTime:
		s, ok := v.(string)
		if !ok {
			return nil, mustBe(f.Type)
		}
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			return nil, mustBe(f.Type)
		}
		return t.UTC().Format(time.RFC3339), phrase{}
	case FieldConfirm:
		b, ok := v.(bool)
		if !ok || !b {
			return nil, phrase{"must be true: this step cannot be completed without it",
				"moet aangevinkt zijn, anders kan de stap niet worden afgerond"}
		}
		return true, phrase{}
	case FieldBool:
		b, ok := v.(bool)
		if !ok {
			return nil, phrase{"must be true or false", "moet true (ja) of false (nee) zijn"}
		}
		return b, phrase{}
	case FieldNumber:
		n, ok := v.(float64)
		if !ok || n < 0 {
			return nil, phrase{"must be a number of 0 or more", "moet een getal van 0 of meer zijn"}
		}
		return n, phrase{}
	case FieldList:
		raw, ok := v.([]any)
		if !ok {
			return nil, phrase{"must be a list of strings", "moet een lijst van waarden zijn, één per regel"}
		}
		var out []string
		for i, x := range raw {
			s, ok := x.(string)
			if !ok || strings.TrimSpace(s) == "" {
				return nil, phrase{fmt.Sprintf("item %d must be a non-empty string", i+1), fmt.Sprintf("waarde %d is leeg of geen tekst", i+1)}
			}
			out = append(out, strings.TrimSpace(s))
		}
		if f.Required && len(out) == 0 {
			return nil, phrase{"must hold at least one item", "moet minstens één waarde bevatten"}
		}
		return out, phrase{}
	}
	return nil, phrase{"unsupported field type", "heeft een onbekend soort veld"}
}
