package cmr

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// CaseStatus is where a case stands as a whole.
type CaseStatus string

// Case statuses.
const (
	CaseOpen      CaseStatus = "open"
	CaseCompleted CaseStatus = "completed"
	CaseCancelled CaseStatus = "cancelled"
)

// Dutch is the status as the Dutch pages name it.
func (s CaseStatus) Dutch() string {
	switch s {
	case CaseOpen:
		return "lopend"
	case CaseCompleted:
		return "afgerond"
	case CaseCancelled:
		return "geannuleerd"
	}
	return string(s)
}

// StepState is where one step stands.
type StepState string

// Step states.
const (
	StepPending StepState = "pending" // waits for other steps
	StepOpen    StepState = "open"    // its owner can act now
	StepDone    StepState = "done"
)

// TicketState is where a LiKa ticket stands.
type TicketState string

// Ticket states.
const (
	TicketAwaitingList TicketState = "awaiting_list" // MBO: the clock starts when the completed list is returned
	TicketOpen         TicketState = "open"          // the SLA clock runs
	TicketClosed       TicketState = "closed"        // the LiKa re-keyed and closed it
	TicketWaived       TicketState = "waived"        // the distributor waived it
	TicketCancelled    TicketState = "cancelled"     // the case was cancelled
)

// Dutch is the state as the Dutch pages name it.
func (s TicketState) Dutch() string {
	switch s {
	case TicketAwaitingList:
		return "wacht op lijst"
	case TicketOpen:
		return "open"
	case TicketClosed:
		return "afgemeld"
	case TicketWaived:
		return "vervallen"
	case TicketCancelled:
		return "geannuleerd"
	}
	return string(s)
}

// Resolved reports whether the ticket no longer holds up the case.
func (s TicketState) Resolved() bool {
	return s == TicketClosed || s == TicketWaived || s == TicketCancelled
}

// Parties are the organisations of a case; only they can see it.
type Parties struct {
	SchoolID      string   `json:"school_id"`
	DistributorID string   `json:"distributor_id"`
	LiKaIDs       []string `json:"lika_ids"`
	KennisnetIDs  []string `json:"kennisnet_ids"`
}

// IDs lists every party's organisation ID: school, distributor, LiKas,
// Kennisnet.
func (p Parties) IDs() []string {
	out := append([]string{p.SchoolID, p.DistributorID}, p.LiKaIDs...)
	return append(out, p.KennisnetIDs...)
}

// Has reports whether the organisation with role is a party of the case.
func (p Parties) Has(orgID string, role Role) bool {
	switch role {
	case RoleSchool:
		return orgID == p.SchoolID
	case RoleDistributor:
		return orgID == p.DistributorID
	case RolePublisher:
		return slices.Contains(p.LiKaIDs, orgID)
	case RoleKennisnet:
		return slices.Contains(p.KennisnetIDs, orgID)
	}
	return false
}

// StepProgress is one step's state in a running case.
type StepProgress struct {
	Key          string    `json:"key"`
	State        StepState `json:"state"`
	SubmissionID string    `json:"submission_id,omitempty"` // the recorded data, stored outside the workflow
	DoneBy       *Actor    `json:"done_by,omitempty"`
	DoneAt       time.Time `json:"done_at,omitzero"`
	Attempt      int       `json:"attempt"` // 1 + how often a failed test reopened it
}

// TicketProgress is what the case knows of one ticket.
type TicketProgress struct {
	ID     string      `json:"id"`
	LiKaID string      `json:"lika_id"`
	State  TicketState `json:"state"`
}

// CaseState is a running case: the procedure plan and each step's
// progress. The case workflow holds one; every method is deterministic.
type CaseState struct {
	CaseID  string     `json:"case_id"`
	Sector  Sector     `json:"sector"`
	Status  CaseStatus `json:"status"`
	Parties Parties    `json:"parties"`
	// Plan is left out of a case's snapshots after its first, which
	// stored it: it never changes after opening.
	Plan    []StepDef        `json:"plan,omitempty"`
	Steps   []StepProgress   `json:"steps"`
	Tickets []TicketProgress `json:"tickets"`
	// TicketsCreated is set once the ticket step is done.
	TicketsCreated bool `json:"tickets_created"`
	// ClocksStarted is set once the MBO list is returned (VO: at creation).
	ClocksStarted bool `json:"clocks_started"`
	// TestFailures counts failed final tests.
	TestFailures int `json:"test_failures"`
	// Redo lists the steps a failed test reopened: the test waits for them
	// too, though nothing else in the plan does.
	Redo []string `json:"redo,omitempty"`
}

// NewCaseState returns the state of a case just opened by actor at at: the
// steps that opening completes are done, the next ones open.
func NewCaseState(caseID string, sector Sector, parties Parties, plan []StepDef, actor Actor, at time.Time) *CaseState {
	s := &CaseState{CaseID: caseID, Sector: sector, Status: CaseOpen, Parties: parties, Plan: plan}
	for _, d := range plan {
		p := StepProgress{Key: d.Key, State: StepPending, Attempt: 1}
		if d.DoneAtOpen {
			a := actor
			p.State, p.DoneBy, p.DoneAt = StepDone, &a, at
		}
		s.Steps = append(s.Steps, p)
	}
	s.advance(at)
	return s
}

// TicketIDFor is a ticket's business key: the case ID and the LiKa's place
// on the case.
func TicketIDFor(caseID string, n int) string { return fmt.Sprintf("%s-T%d", caseID, n) }

func (s *CaseState) def(key string) (StepDef, *StepProgress) {
	for i, d := range s.Plan {
		if d.Key == key {
			return d, &s.Steps[i]
		}
	}
	return StepDef{}, nil
}

// Step returns the progress of the step with key.
func (s *CaseState) Step(key string) (StepProgress, bool) {
	// By the progress, not the plan: a snapshot carries no plan after its
	// case's first.
	for _, p := range s.Steps {
		if p.Key == key {
			return p, true
		}
	}
	return StepProgress{}, false
}

// OpenSteps lists the keys of the steps whose owner can act now.
func (s *CaseState) OpenSteps() []string {
	var out []string
	for _, p := range s.Steps {
		if p.State == StepOpen {
			out = append(out, p.Key)
		}
	}
	return out
}

func (s *CaseState) requireOpenCase() error {
	switch s.Status {
	case CaseCompleted:
		return Errorf(KindConflict, "case %s is completed: nothing can change any more", s.CaseID).
			NL("zaak %s is afgerond: er kan niets meer worden gewijzigd", s.CaseID)
	case CaseCancelled:
		return Errorf(KindConflict, "case %s was cancelled: nothing can change any more", s.CaseID).
			NL("zaak %s is geannuleerd: er kan niets meer worden gewijzigd", s.CaseID)
	}
	return nil
}

func (s *CaseState) requireParty(a Actor) error {
	if !s.Parties.Has(a.OrganisationID, a.Role) {
		return ErrNotFound
	}
	return nil
}

// CanComplete checks that actor may complete step key now: the case is
// open, the actor's organisation owns the step, and the step is open.
func (s *CaseState) CanComplete(a Actor, key string) error {
	if err := s.requireParty(a); err != nil {
		return err
	}
	if err := s.requireOpenCase(); err != nil {
		return err
	}
	d, p := s.def(key)
	if p == nil {
		return Errorf(KindNotFound, "case %s has no step %q; its steps are %s", s.CaseID, key, strings.Join(StepKeys(s.Plan), ", ")).
			NL("zaak %s heeft geen stap %q; de stappen zijn %s", s.CaseID, key, strings.Join(StepKeys(s.Plan), ", "))
	}
	if d.Kind == StepAuto || d.Kind == StepTickets {
		return Errorf(KindConflict, "%s is done by the procedure itself, not by hand: %s", d.Ref("en"), d.TitleEN).
			NL("%s verloopt automatisch en kunt u niet zelf afronden: %s", d.Ref("nl"), d.Title)
	}
	if a.Role != d.Owner {
		return Errorf(KindForbidden, "%s belongs to the %s role; you act in the %s role", d.Ref("en"), d.Owner.English(), a.Role.English()).
			NL("%s hoort bij de rol %s; u werkt in de rol %s", d.Ref("nl"), d.Owner.Dutch(), a.Role.Dutch())
	}
	switch p.State {
	case StepDone:
		return Errorf(KindConflict, "%s is already done", d.Ref("en")).NL("%s is al afgerond", d.Ref("nl"))
	case StepPending:
		return Errorf(KindConflict, "%s cannot be done yet: it waits for %s", d.Ref("en"), refs(s.Plan, s.waitingFor(d), "en")).
			NL("%s kan nog niet worden afgerond: hij wacht op %s", d.Ref("nl"), refs(s.Plan, s.waitingFor(d), "nl"))
	}
	return nil
}

func (s *CaseState) waitingFor(d StepDef) []string {
	var out []string
	waits := d.WaitsFor
	if d.Kind == StepTest {
		waits = append(append([]string{}, waits...), s.Redo...)
	}
	for _, w := range waits {
		if _, p := s.def(w); p != nil && p.State != StepDone {
			out = append(out, w)
		}
	}
	return out
}

// Effects is what completing a step sets in motion outside the state.
type Effects struct {
	CreateTickets bool
	StartClocks   bool
	Completed     bool
	Reopened      []string // steps a failed test reopened
}

// Complete records step key as done by a with the submitted data. Call
// CanComplete first.
func (s *CaseState) Complete(a Actor, key, submissionID string, at time.Time) (Effects, error) {
	if err := s.CanComplete(a, key); err != nil {
		return Effects{}, err
	}
	d, p := s.def(key)
	if d.Kind == StepTest {
		return Effects{}, Errorf(KindInvalid, "step %s is the final test: report its outcome with passed true or false", key).
			NL("stap %s is de eindtest: geef aan of de test geslaagd is", key)
	}
	actor := a
	p.State, p.SubmissionID, p.DoneBy, p.DoneAt = StepDone, submissionID, &actor, at
	var eff Effects
	if d.CreatesTickets && !s.TicketsCreated {
		s.TicketsCreated = true
		eff.CreateTickets = true
		for i, id := range s.Parties.LiKaIDs {
			s.Tickets = append(s.Tickets, TicketProgress{ID: TicketIDFor(s.CaseID, i+1), LiKaID: id, State: TicketAwaitingList})
		}
		if !s.hasClockStep() {
			eff.StartClocks = true
		}
	}
	if d.StartsClocks && !s.ClocksStarted {
		eff.StartClocks = true
	}
	if eff.StartClocks {
		s.ClocksStarted = true
		for i := range s.Tickets {
			if s.Tickets[i].State == TicketAwaitingList {
				s.Tickets[i].State = TicketOpen
			}
		}
	}
	s.advance(at)
	eff.Completed = s.Status == CaseCompleted
	return eff, nil
}

func (s *CaseState) hasClockStep() bool {
	for _, d := range s.Plan {
		if d.StartsClocks {
			return true
		}
	}
	return false
}

// CanConfirmTest checks that a may report the final test's outcome, and
// that redo names a step that can be redone when the test failed.
func (s *CaseState) CanConfirmTest(a Actor, passed bool, redo string) error {
	if passed && redo != "" {
		// Checked here, in the update's validator, and not when the
		// outcome is recorded: cases whose history holds such an update
		// from before replay as they ran.
		return FieldErrorf("redo_step", "is only for a failed test; leave it out when the test passed").
			NL("hoort alleen bij een mislukte test; laat het leeg als de test geslaagd is")
	}
	return s.canConfirmTest(a, passed, redo)
}

func (s *CaseState) canConfirmTest(a Actor, passed bool, redo string) error {
	key := s.testKey()
	if err := s.CanComplete(a, key); err != nil {
		return err
	}
	if !passed {
		if _, err := s.redoStep(redo); err != nil {
			return err
		}
	}
	return nil
}

func (s *CaseState) testKey() string {
	for _, d := range s.Plan {
		if d.Kind == StepTest {
			return d.Key
		}
	}
	return ""
}

// redoStep resolves the step a failed test sends the case back to; empty
// means the last redoable step before the test.
func (s *CaseState) redoStep(key string) (string, error) {
	var allowed []string
	for _, d := range s.Plan {
		if d.Redoable() {
			allowed = append(allowed, d.Key)
		}
	}
	if key == "" {
		if len(allowed) == 0 {
			return "", FieldErrorf("redo_step", "no step of this case can be redone").
				NL("geen enkele stap van deze zaak kan opnieuw worden gedaan")
		}
		return allowed[len(allowed)-1], nil
	}
	if !slices.Contains(allowed, key) {
		return "", FieldErrorf("redo_step", "step %q cannot be redone; choose one of %s", key, strings.Join(allowed, ", ")).
			NL("stap %q kan niet opnieuw worden gedaan; kies uit %s", key, strings.Join(allowed, ", "))
	}
	return key, nil
}

// ConfirmTest records the final test. Passed: the step is done (and the
// case completes once every ticket is resolved). Failed: the test and the
// step to redo open again.
func (s *CaseState) ConfirmTest(a Actor, passed bool, redo, submissionID string, at time.Time) (Effects, error) {
	if err := s.canConfirmTest(a, passed, redo); err != nil {
		return Effects{}, err
	}
	_, p := s.def(s.testKey())
	actor := a
	if passed {
		p.State, p.SubmissionID, p.DoneBy, p.DoneAt = StepDone, submissionID, &actor, at
		s.Redo = nil
		s.advance(at)
		return Effects{Completed: s.Status == CaseCompleted}, nil
	}
	key, _ := s.redoStep(redo)
	s.TestFailures++
	// The test waits again, as one never done: the failed attempt and who
	// reported it are in the test.failed event (with its submission).
	p.State, p.SubmissionID, p.DoneBy, p.DoneAt = StepPending, "", nil, time.Time{}
	p.Attempt++
	_, r := s.def(key)
	r.State, r.DoneBy, r.DoneAt, r.SubmissionID = StepOpen, nil, time.Time{}, ""
	r.Attempt++
	if !slices.Contains(s.Redo, key) {
		s.Redo = append(s.Redo, key)
	}
	s.advance(at)
	return Effects{Reopened: []string{key}}, nil
}

// CanResolveTicket checks that a may close (publisher, its own ticket) or
// waive (the case's distributor) ticket id.
func (s *CaseState) CanResolveTicket(a Actor, id string, to TicketState) error {
	if err := s.requireParty(a); err != nil {
		return err
	}
	t := s.ticket(id)
	if t == nil {
		return ErrNotFound
	}
	switch to {
	case TicketClosed:
		if a.Role != RolePublisher || a.OrganisationID != t.LiKaID {
			if a.Role == RolePublisher {
				return ErrNotFound // another LiKa's ticket is not visible
			}
			return Errorf(KindForbidden, "only the LiKa of ticket %s can close it; the distributor can waive it", id).
				NL("alleen de LiKa van ticket %s kan het afmelden; de distributeur kan het laten vervallen", id)
		}
	case TicketWaived:
		if a.Role != RoleDistributor {
			return Errorf(KindForbidden, "only the case's distributor can waive ticket %s", id).
				NL("alleen de distributeur van de zaak kan ticket %s laten vervallen", id)
		}
	}
	if err := s.requireOpenCase(); err != nil {
		return err
	}
	switch {
	case t.State.Resolved():
		return Errorf(KindConflict, "ticket %s is already %s", id, t.State).NL("ticket %s is al %s", id, t.State.Dutch())
	case to == TicketClosed && t.State == TicketAwaitingList:
		return Errorf(KindConflict, "ticket %s cannot be closed yet: the completed was-wordt list has not been returned to the LiKa (step 8c)", id).
			NL("ticket %s kan nog niet worden afgemeld: de volledig ingevulde was-wordt-lijst is nog niet teruggegeven aan de LiKa (stap 8c)", id)
	}
	return nil
}

func (s *CaseState) ticket(id string) *TicketProgress {
	for i := range s.Tickets {
		if s.Tickets[i].ID == id {
			return &s.Tickets[i]
		}
	}
	return nil
}

// TicketResolved records a ticket's final state (from its own workflow).
func (s *CaseState) TicketResolved(id string, state TicketState, at time.Time) Effects {
	if t := s.ticket(id); t != nil {
		t.State = state
	}
	s.advance(at)
	return Effects{Completed: s.Status == CaseCompleted}
}

// Cancel ends the case; the reason is stored outside the workflow.
func (s *CaseState) CanCancel(a Actor) error {
	if err := s.requireParty(a); err != nil {
		return err
	}
	if a.Role != RoleDistributor {
		return Errorf(KindForbidden, "only the case's distributor can cancel it").
			NL("alleen de distributeur van de zaak kan de zaak annuleren")
	}
	return s.requireOpenCase()
}

// Cancel marks the case cancelled and every unresolved ticket cancelled.
func (s *CaseState) Cancel(a Actor) error {
	if err := s.CanCancel(a); err != nil {
		return err
	}
	s.Status = CaseCancelled
	return nil
}

// UnresolvedTickets lists the tickets that still hold up the case.
func (s *CaseState) UnresolvedTickets() []TicketProgress {
	var out []TicketProgress
	for _, t := range s.Tickets {
		if !t.State.Resolved() {
			out = append(out, t)
		}
	}
	return out
}

func (s *CaseState) ticketsResolved() bool {
	return s.TicketsCreated && len(s.UnresolvedTickets()) == 0
}

// advance opens every step whose waits are done, completes automatic
// steps, and completes the case when every step is done.
func (s *CaseState) advance(at time.Time) {
	if s.Status != CaseOpen {
		return
	}
	for changed := true; changed; {
		changed = false
		for i, d := range s.Plan {
			p := &s.Steps[i]
			if p.State == StepDone || len(s.waitingFor(d)) > 0 {
				continue
			}
			switch d.Kind {
			case StepAuto:
				p.State, p.DoneAt, changed = StepDone, at, true
			case StepTickets:
				if s.ticketsResolved() {
					p.State, p.DoneAt, changed = StepDone, at, true
				} else if p.State != StepOpen {
					p.State, changed = StepOpen, true
				}
			default:
				if p.State == StepPending {
					p.State, changed = StepOpen, true
				}
			}
		}
	}
	for _, p := range s.Steps {
		if p.State != StepDone {
			return
		}
	}
	if s.ticketsResolved() || !s.TicketsCreated {
		s.Status = CaseCompleted
	}
}

// CanReturnList checks that a may return the completed list to one
// publisher now (MBO 8c per ticket): the case's distributor, the school's
// validated list returned (8b done), the ticket still waiting for it.
func (s *CaseState) CanReturnList(a Actor, ticketID string) error {
	if err := s.requireParty(a); err != nil {
		return err
	}
	t := s.ticket(ticketID)
	if t == nil {
		return ErrNotFound
	}
	if a.Role != RoleDistributor {
		return Errorf(KindForbidden, "the distributor returns the completed list to each publisher").
			NL("de distributeur geeft de volledig ingevulde lijst terug aan elke uitgever")
	}
	if err := s.requireOpenCase(); err != nil {
		return err
	}
	var step StepDef
	for _, d := range s.Plan {
		if d.StartsClocks {
			step = d
		}
	}
	if step.Key == "" {
		return Errorf(KindConflict, "this case has no list to return (calamity or no lists): the SLA clocks started with the tickets").
			NL("deze zaak heeft geen lijst om terug te geven (calamiteit of geen lijsten): de SLA-termijnen zijn gestart bij het aanmaken van de tickets")
	}
	if _, p := s.def(step.Key); p.State != StepOpen {
		return Errorf(KindConflict, "the list cannot be returned yet: step %s waits for step(s) %s", step.Key, strings.Join(s.waitingFor(step), ", ")).
			NL("de lijst kan nog niet worden teruggegeven: stap %s wacht op stap(pen) %s", step.Key, strings.Join(s.waitingFor(step), ", "))
	}
	if t.State != TicketAwaitingList {
		return Errorf(KindConflict, "the list was already returned to the LiKa of ticket %s", ticketID).
			NL("de lijst is al teruggegeven aan de LiKa van ticket %s", ticketID)
	}
	return nil
}

// ReturnList returns the list to one publisher: its ticket's clock starts.
// When every publisher has it, the return step (8c) is done.
func (s *CaseState) ReturnList(a Actor, ticketID string, at time.Time) (Effects, error) {
	if err := s.CanReturnList(a, ticketID); err != nil {
		return Effects{}, err
	}
	s.ticket(ticketID).State = TicketOpen
	if len(s.ticketsAwaitingList()) == 0 {
		for _, d := range s.Plan {
			if d.StartsClocks {
				_, p := s.def(d.Key)
				actor := a
				p.State, p.DoneBy, p.DoneAt = StepDone, &actor, at
			}
		}
		s.ClocksStarted = true
		s.advance(at)
	}
	return Effects{Completed: s.Status == CaseCompleted}, nil
}

func (s *CaseState) ticketsAwaitingList() []TicketProgress {
	var out []TicketProgress
	for _, t := range s.Tickets {
		if t.State == TicketAwaitingList {
			out = append(out, t)
		}
	}
	return out
}
