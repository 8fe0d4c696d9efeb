package casework

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/cmr-idp/cmr"
	"github.com/cmr-idp/cmr/workflows"
)

// Directory is what opening a case reads: the organisations and the case
// IDs already taken.
type Directory interface {
	// School finds a school by its organisation ID or BRIN (any case);
	// cmr.ErrNotFound when none matches.
	School(ctx context.Context, key string) (cmr.Organisation, error)
	Organisations(ctx context.Context, roles ...cmr.Role) ([]cmr.Organisation, error)
	CaseIDsWithPrefix(ctx context.Context, prefix string) ([]string, error)
	ReserveOpening(ctx context.Context, o cmr.Opening) error
	OpeningByKey(ctx context.Context, organisationID, key string) (cmr.Opening, error)
	// OpenCasesOf lists, newest first, the open cases of a school that a
	// distributor is a party to.
	OpenCasesOf(ctx context.Context, distributorID, schoolID string) ([]cmr.Case, error)
}

// Opener starts a case workflow.
type Opener interface {
	OpenCase(ctx context.Context, in workflows.CaseInput) (workflows.UpdateResult, error)
	// OpenOrAwaitCase starts the case workflow unless it runs already
	// (started by the same request sent again), and waits for its opening.
	OpenOrAwaitCase(ctx context.Context, in workflows.CaseInput) (workflows.UpdateResult, error)
}

// OpenRequest is what a distributor fills in to open a case.
type OpenRequest struct {
	School   string // organisation ID or BRIN
	Scenario cmr.Scenario
	Timing   cmr.Timing
	LiKas    []string
	Options  cmr.CaseOptions
	// IdempotencyKey, when the client sends one, makes the request safe
	// to send again: a second request with the same key answers with the
	// case the first one opened.
	IdempotencyKey string `json:"-"`
	// OnlyCase refuses to open a case for a school that already has an
	// open case with this distributor, unless the person confirmed it
	// (the wizard: a form sent again after Back, or a colleague's case
	// not yet seen). The API's clients have their idempotency key.
	OnlyCase bool `json:"-"`
}

// MaxIdempotencyKey is the longest idempotency key accepted.
const MaxIdempotencyKey = 200

func (r OpenRequest) hash() string {
	b, _ := json.Marshal(r) // plain data: cannot fail
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func checkIdempotencyKey(key string) error {
	if len(key) > MaxIdempotencyKey {
		return cmr.FieldErrorf(idempotencyKeyField, "is %d characters long; use at most %d (a UUID is fine)", len(key), MaxIdempotencyKey).
			NL("is %d tekens lang; gebruik er ten hoogste %d (een UUID volstaat)", len(key), MaxIdempotencyKey)
	}
	for _, r := range key {
		if r < 0x21 || r > 0x7e {
			return cmr.FieldErrorf(idempotencyKeyField, "may hold only visible ASCII characters, no spaces (a UUID is fine)").
				NL("mag alleen zichtbare ASCII-tekens bevatten, geen spaties (een UUID volstaat)")
		}
	}
	return nil
}

// Settings are the deployment's rules a new case takes along.
type Settings struct {
	Calendar cmr.CalendarConfig
	SLADays  int
	Today    time.Time
}

// FindSchool finds a school by organisation ID or BRIN.
func FindSchool(ctx context.Context, dir Directory, key string) (cmr.Organisation, error) {
	if key == "" {
		return cmr.Organisation{}, cmr.FieldErrorf("school", "is required: the school's organisation ID or BRIN").NL("is verplicht: kies de school")
	}
	school, err := dir.School(ctx, key)
	if !errors.Is(err, cmr.ErrNotFound) {
		return school, err
	}
	return cmr.Organisation{}, cmr.FieldErrorf("school", "no school with ID or BRIN %q; GET /api/v1/organisations?q= finds a school by part of its name", key).
		NL("er is geen school met nummer of BRIN %q; controleer het nummer of het BRIN", key)
}

// CheckTiming fills in what a new case assumes when it is not given: the
// request is made today, and an MBO list opens on 1 August. The scenario
// check a distributor sees before opening uses the same assumptions as the
// opening itself. today is the civil date in the calendar's zone
// (cmr.CalendarConfig.Today), as step dates are checked against.
func CheckTiming(t cmr.Timing, sector cmr.Sector, today time.Time) (cmr.Timing, error) {
	today = today.In(time.UTC)
	if t.RequestedOn.IsZero() {
		t.RequestedOn = time.Date(today.Year(), today.Month(), today.Day(), 0, 0, 0, 0, time.UTC)
	}
	// A year mistyped (2062 for 2026) would open a case under a business
	// key no one looks for: no date more than cmr.MaxYearsAway years away.
	// Every date at fault is named at once; a date too far away is not
	// compared with the others (its year is the mistake).
	var problems []error
	far := map[string]bool{}
	for _, d := range []struct {
		field string
		on    time.Time
	}{{"requested_on", t.RequestedOn}, {"switch_on", t.SwitchOn}, {"list_opens_on", t.ListOpensOn}} {
		if !d.on.IsZero() && cmr.TooFarAway(d.on, today) {
			far[d.field] = true
			problems = append(problems, cmr.FieldErrorf(d.field, "%s lies more than %d years from today: check the year", d.on.Format(cmr.DateLayout), cmr.MaxYearsAway).
				NL("%s ligt meer dan %d jaar van vandaag: controleer het jaartal", d.on.Format("02-01-2006"), cmr.MaxYearsAway))
		}
	}
	// The request is a day that has been: the school asked.
	if !far["requested_on"] && t.RequestedOn.After(today) {
		problems = append(problems, cmr.FieldErrorf("requested_on", "%s lies after today (%s): give the day the school asked", t.RequestedOn.Format(cmr.DateLayout), today.Format(cmr.DateLayout)).
			NL("%s ligt na vandaag (%s): vul de dag in waarop de school het vroeg", t.RequestedOn.Format("02-01-2006"), today.Format("02-01-2006")))
	}
	if !far["requested_on"] && !far["switch_on"] && !t.SwitchOn.IsZero() && t.SwitchOn.Before(t.RequestedOn) {
		problems = append(problems, cmr.FieldErrorf("switch_on", "%s lies before the request date %s", t.SwitchOn.Format(cmr.DateLayout), t.RequestedOn.Format(cmr.DateLayout)).
			NL("%s ligt vóór de aanvraagdatum %s", t.SwitchOn.Format("02-01-2006"), t.RequestedOn.Format("02-01-2006")))
	}
	if err := cmr.Together(problems...); err != nil {
		return t, err
	}
	if sector == cmr.SectorMBO && t.ListOpensOn.IsZero() && !t.SwitchOn.IsZero() {
		t.ListOpensOn = time.Date(t.SwitchOn.Year(), time.August, 1, 0, 0, 0, 0, time.UTC)
	}
	return t, nil
}

// OpenCase checks a distributor's request and starts the case workflow.
// The scenario must be supported; the case ID is the school's BRIN and the
// switch date. It returns the new case's ID.
func OpenCase(ctx context.Context, dir Directory, eng Opener, me cmr.Actor, req OpenRequest, set Settings) (string, error) {
	if me.Role != cmr.RoleDistributor {
		return "", cmr.Errorf(cmr.KindForbidden, "only a distributor opens cases; you act in the %s role", me.Role.English()).NL("alleen een distributeur opent zaken")
	}
	if err := checkIdempotencyKey(req.IdempotencyKey); err != nil {
		return "", err
	}
	school, err := FindSchool(ctx, dir, req.School)
	if err != nil {
		return "", err
	}
	sc := req.Scenario
	if school.Sector != "" && sc.Sector != school.Sector {
		return "", cmr.FieldErrorf("sector", "%s is a %s school, not %s", school.Name, school.Sector, sc.Sector).
			NL("%s is een %s-school, geen %s-school", school.Name, school.Sector, sc.Sector)
	}
	// The scenario, the dates and the LiKas are checked apart, and every
	// one at fault refused at once (cmr.Together); whether the switch is
	// supported, which needs the first two, after.
	errScenario := sc.Validate() // also normalises IdP names and kinds
	var errSwitch error
	if req.Timing.SwitchOn.IsZero() {
		errSwitch = cmr.FieldErrorf("switch_on", "is required: the planned switch date as YYYY-MM-DD").NL("is verplicht: de geplande overstapdatum")
	}
	timing, errTiming := CheckTiming(req.Timing, sc.Sector, set.Calendar.Today(set.Today))
	likas, errLiKas := CheckLiKas(ctx, dir, req.LiKas)
	if err := cmr.Together(errScenario, errSwitch, errTiming, errLiKas); err != nil {
		return "", err
	}
	check, err := cmr.CheckScenario(sc, timing)
	if err != nil {
		return "", err
	}
	if check.Outcome != cmr.OutcomeSupported {
		return "", &cmr.Error{Kind: cmr.KindInvalid, Field: "scenario",
			Message:   fmt.Sprintf("this switch cannot be handled as a case (%s): %s", check.Outcome, strings.Join(check.Reasons, " ")),
			MessageNL: "deze overstap kan niet als zaak worden behandeld: " + strings.Join(check.ReasonsNL, " "),
			Details:   map[string]any{"outcome": check.Outcome, "reasons": check.Reasons}}
	}
	kn, err := dir.Organisations(ctx, cmr.RoleKennisnet)
	if err != nil {
		return "", err
	}
	opts := req.Options
	header := cmr.CaseHeader{SchoolID: school.ID, DistributorID: me.OrganisationID, Sector: sc.Sector, Scenario: sc,
		Funding: check.Funding, WasWordt: check.WasWordt, Described: check.Described, Options: opts,
		RequestedOn: timing.RequestedOn, SwitchOn: timing.SwitchOn, ListOpensOn: timing.ListOpensOn, Deadline: check.Deadline,
		MidYear: check.MidYear, Warnings: check.Warnings, Calendar: set.Calendar, SLADays: set.SLADays}
	if !opts.NeedsLists(check.WasWordt) {
		header.WasWordt = cmr.WasWordtNone // calamity, or no history kept: no list
	}
	parties := cmr.Parties{SchoolID: school.ID, DistributorID: me.OrganisationID, LiKaIDs: likas}
	for _, o := range kn {
		parties.KennisnetIDs = append(parties.KennisnetIDs, o.ID)
	}
	plan := cmr.Procedure(cmr.PlanInput{Sector: sc.Sector, Funding: check.Funding, Options: opts, MidYear: check.MidYear, WasWordt: check.WasWordt})
	in := workflows.CaseInput{Header: header, Parties: parties, Plan: plan, OpenedBy: me, SchoolBRIN: school.BRIN}
	opening := cmr.Opening{OrganisationID: me.OrganisationID, Key: req.IdempotencyKey, RequestHash: req.hash()}
	if id, found, err := resumeOpening(ctx, dir, eng, opening, in); found || err != nil {
		return id, err
	}
	if req.OnlyCase {
		if err := onlyCase(ctx, dir, me, school); err != nil {
			return "", err
		}
	}
	// Two cases for one school and date opened at once race for the same
	// business key: the loser of the reservation takes the next suffix.
	for attempt := 0; ; attempt++ {
		if opening.CaseID, err = newCaseID(ctx, dir, school, timing.SwitchOn); err != nil {
			return "", err
		}
		err = dir.ReserveOpening(ctx, opening)
		if err == nil {
			break
		}
		if cmr.KindOf(err) != cmr.KindConflict || attempt >= 5 {
			return "", err
		}
		// The same key sent twice at once: the other request won.
		if id, found, err := resumeOpening(ctx, dir, eng, opening, in); found || err != nil {
			return id, err
		}
		time.Sleep(time.Duration(20*(attempt+1)) * time.Millisecond)
	}
	in.Header.ID = opening.CaseID
	open := eng.OpenCase
	if opening.Key != "" {
		// The same request sent again meanwhile may have started it.
		open = eng.OpenOrAwaitCase
	}
	if _, err := open(ctx, in); err != nil {
		return "", err
	}
	return in.Header.ID, nil
}

// AnotherCaseField names the confirmation that a second open case for a
// school is meant.
const AnotherCaseField = "another_case"

// onlyCase refuses a new case for a school that has an open case with
// the distributor already, naming it.
func onlyCase(ctx context.Context, dir Directory, me cmr.Actor, school cmr.Organisation) error {
	open, err := dir.OpenCasesOf(ctx, me.OrganisationID, school.ID)
	if err != nil || len(open) == 0 {
		return err
	}
	var en, nl []string
	for _, c := range open {
		en = append(en, fmt.Sprintf("%s (switch on %s)", c.ID, c.SwitchOn.Format("2-1-2006")))
		nl = append(nl, fmt.Sprintf("%s (overstap op %s)", c.ID, c.SwitchOn.Format("2-1-2006")))
	}
	ids := make([]string, len(open))
	for i, c := range open {
		ids[i] = c.ID
	}
	return &cmr.Error{Kind: cmr.KindConflict, Field: AnotherCaseField,
		Message: fmt.Sprintf("%s already has an open case with you: %s. Carry on with that case, or confirm that this switch needs a case of its own",
			school.Name, strings.Join(en, ", ")),
		MessageNL: fmt.Sprintf("%s heeft al een lopende zaak bij u: %s. Ga verder in die zaak, of bevestig dat deze overstap een eigen zaak nodig heeft",
			school.Name, strings.Join(nl, ", ")),
		Details: map[string]any{"cases": ids}}
}

// resumeOpening answers a request sent again with an idempotency key
// already used: with the case that key opened (starting its workflow if
// the first attempt reserved the ID but never started it). The same key
// with a different request is refused.
// KeyReused reports whether err refused an opening because its
// Idempotency-Key was used before for a different request.
func KeyReused(err error) bool {
	var e *cmr.Error
	return errors.As(err, &e) && e.Kind == cmr.KindConflict && e.Field == idempotencyKeyField
}

// idempotencyKeyField names the header in refusals about it.
const idempotencyKeyField = "Idempotency-Key"

func resumeOpening(ctx context.Context, dir Directory, eng Opener, o cmr.Opening, in workflows.CaseInput) (string, bool, error) {
	if o.Key == "" {
		return "", false, nil
	}
	prev, err := dir.OpeningByKey(ctx, o.OrganisationID, o.Key)
	switch {
	case errors.Is(err, cmr.ErrNotFound):
		return "", false, nil
	case err != nil:
		return "", false, err
	case prev.RequestHash != o.RequestHash:
		return "", true, &cmr.Error{Kind: cmr.KindConflict, Field: idempotencyKeyField,
			Message:   fmt.Sprintf("was used before for a different request (case %s); send a new key for a new case", prev.CaseID),
			MessageNL: fmt.Sprintf("is al eerder gebruikt voor een ander verzoek (zaak %s); stuur een nieuwe sleutel voor een nieuwe zaak", prev.CaseID)}
	}
	in.Header.ID = prev.CaseID
	if _, err := eng.OpenOrAwaitCase(ctx, in); err != nil {
		return "", true, err
	}
	return prev.CaseID, true, nil
}

// CheckLiKas checks the LiKas an opening names: at least one, each a
// publisher in the directory, none twice.
func CheckLiKas(ctx context.Context, dir Directory, ids []string) ([]string, error) {
	if len(ids) == 0 {
		return nil, cmr.FieldErrorf("likas", "name at least one LiKa (a publisher's organisation ID, as the directory lists them)").
			NL("kies ten minste één LiKa").EN("tick at least one LiKa")
	}
	pubs, err := dir.Organisations(ctx, cmr.RolePublisher)
	if err != nil {
		return nil, err
	}
	known := map[string]bool{}
	for _, o := range pubs {
		known[o.ID] = true
	}
	seen := map[string]bool{}
	for i, id := range ids {
		switch {
		case !known[id]:
			return nil, cmr.FieldErrorf(fmt.Sprintf("likas[%d]", i), "%q is not a publisher/LiKa; choose one the directory lists as a publisher", id).
				NL("%q is geen uitgever/LiKa; kies uit de lijst", id)
		case seen[id]:
			return nil, cmr.FieldErrorf(fmt.Sprintf("likas[%d]", i), "%q is named twice", id).NL("%q is twee keer gekozen", id)
		}
		seen[id] = true
	}
	return ids, nil
}

// newCaseID makes the case's business key: BRIN and switch date, with a
// suffix when the school already had a case for that date.
func newCaseID(ctx context.Context, dir Directory, school cmr.Organisation, switchOn time.Time) (string, error) {
	key := school.BRIN
	if key == "" {
		key = school.ID
	}
	base := strings.ToUpper(key) + "-" + switchOn.Format("20060102")
	taken, err := dir.CaseIDsWithPrefix(ctx, base)
	if err != nil {
		return "", err
	}
	if !slices.Contains(taken, base) {
		return base, nil
	}
	for n := len(taken) + 1; ; n++ {
		if id := fmt.Sprintf("%s-%d", base, n); !slices.Contains(taken, id) {
			return id, nil
		}
	}
}
