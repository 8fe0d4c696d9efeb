package casework

import (
	"slices"
	"strings"

	"github.com/cmr-idp/cmr"
)

// CheckStep refuses, from the case as read, what the case workflow would
// refuse anyway: a closed case, a step the procedure does itself, another
// role's step, a step done or not yet open, and a plan.history answer
// against the case's keep_history option. Both front ends call it before
// they check anything slower, and CompleteStep again before it stores,
// so that nothing a person typed is stored for an action that cannot
// succeed. The workflow's validator still decides.
func CheckStep(cs cmr.Case, st cmr.Step, me cmr.Actor, data map[string]any) error {
	switch {
	case cs.Status != cmr.CaseOpen:
		return cmr.Errorf(cmr.KindConflict, "case %s is %s: nothing can change any more", cs.ID, cs.Status).
			NL("zaak %s is %s: er kan niets meer veranderen", cs.ID, cs.Status.Dutch())
	case st.Kind == cmr.StepAuto || st.Kind == cmr.StepTickets:
		return cmr.Errorf(cmr.KindConflict, "%s is done by the procedure itself, not by hand: %s", st.Ref("en"), st.TitleEN).
			NL("%s gebeurt automatisch, niet met de hand: %s", st.Ref("nl"), st.Title)
	case st.Owner != me.Role:
		return cmr.Errorf(cmr.KindForbidden, "%s belongs to the %s role; you act in the %s role", st.Ref("en"), st.Owner.English(), me.Role.English()).
			NL("%s is aan de %s; u bent aangemeld als %s", st.Ref("nl"), st.Owner.Dutch(), me.Role.Dutch())
	case st.State == cmr.StepDone:
		return cmr.Errorf(cmr.KindConflict, "%s is already done", st.Ref("en")).NL("%s is al gedaan", st.Ref("nl"))
	case st.State == cmr.StepPending:
		en, nl := waitingFor(cs, st)
		return cmr.Errorf(cmr.KindConflict, "%s cannot be done yet: it waits for %s", st.Ref("en"), en).
			NL("%s kan nog niet worden afgerond: hij wacht op %s", st.Ref("nl"), nl)
	}
	if kh, ok := data["keep_history"].(bool); ok && st.Key == "plan.history" && kh != cs.Options.KeepHistory {
		return cmr.Errorf(cmr.KindConflict, "the case was opened with keep_history=%v, and its procedure follows that choice; to change it, cancel this case and open a new one", cs.Options.KeepHistory).
			NL("de zaak is geopend met \"Leerhistorie bewaren: %s\" en de procedure volgt die keuze; wilt u dit wijzigen, annuleer dan deze zaak en open een nieuwe", yesNoNL(cs.Options.KeepHistory)).
			EN("the case was opened with \"Keep learning history: %s\", and its procedure follows that choice; to change it, cancel this case and open a new one", yesNo(cs.Options.KeepHistory))
	}
	return nil
}

// waitingFor names the steps st waits for that are not done; for the
// final test, the steps a failed test reopened count too.
func waitingFor(cs cmr.Case, st cmr.Step) (en, nl string) {
	state := map[string]cmr.StepState{}
	for _, x := range cs.Steps {
		state[x.Key] = x.State
	}
	var out []string
	for _, w := range st.WaitsFor {
		if state[w] != cmr.StepDone {
			out = append(out, w)
		}
	}
	if st.Kind == cmr.StepTest {
		for _, x := range cs.Steps {
			if x.State == cmr.StepOpen && x.Attempt > 1 && !slices.Contains(out, x.Key) {
				out = append(out, x.Key)
			}
		}
	}
	if len(out) == 0 {
		return "the steps before it", "de stappen ervoor"
	}
	var ens, nls []string
	for _, key := range out {
		w, _ := cs.Step(key)
		w.Key = key
		ens, nls = append(ens, w.Ref("en")), append(nls, w.Ref("nl"))
	}
	return strings.Join(ens, ", "), strings.Join(nls, ", ")
}

// CheckResolve refuses, from the ticket as read, a close or waive the
// case workflow would refuse anyway: the wrong party, a ticket already
// resolved, or an MBO ticket closed before its list was returned.
func CheckResolve(t cmr.Ticket, to cmr.TicketState, me cmr.Actor) error {
	switch {
	case to == cmr.TicketClosed && (me.Role != cmr.RolePublisher || me.OrganisationID != t.LiKaID):
		return cmr.Errorf(cmr.KindForbidden, "only the LiKa of ticket %s can close it; the distributor can waive it", t.ID).
			NL("alleen de LiKa van ticket %s kan het afmelden; de distributeur kan het laten vervallen", t.ID)
	case to == cmr.TicketWaived && me.Role != cmr.RoleDistributor:
		return cmr.Errorf(cmr.KindForbidden, "only the case's distributor can waive ticket %s", t.ID).
			NL("alleen de distributeur van de zaak kan ticket %s laten vervallen", t.ID)
	case t.State.Resolved():
		return cmr.Errorf(cmr.KindConflict, "ticket %s is already %s", t.ID, t.State).NL("ticket %s is al %s", t.ID, t.State.Dutch())
	case to == cmr.TicketClosed && t.State == cmr.TicketAwaitingList:
		return cmr.Errorf(cmr.KindConflict, "ticket %s cannot be closed yet: the completed was-wordt list has not been returned to the LiKa (step 8c)", t.ID).
			NL("ticket %s kan nog niet worden afgemeld: de aangevulde was-wordt-lijst is nog niet aan de LiKa teruggegeven (stap 8c)", t.ID)
	}
	return nil
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func yesNoNL(b bool) string {
	if b {
		return "ja"
	}
	return "nee"
}
