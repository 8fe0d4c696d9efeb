package cmr

import (
	"fmt"
	"strings"
)

// Message is a notice as a person reads it. It names the case, the
// organisations and the step, never a pupil or anything from a list.
type Message struct {
	Subject string
	Text    string
}

// NoticeContext is what a message may mention: organisation names, the
// step's title and the ticket's due moment, already formatted.
type NoticeContext struct {
	Case         Case
	Notice       Notice
	SchoolName   string
	LiKaName     string
	StepTitle    string // in Dutch
	StepTitleEN  string // in English; empty: StepTitle
	Due          string // the ticket's due moment, local time
	Link         string // the page to act on
	Organisation string // the reader's organisation
}

// Compose writes the message for a notice in lang ("en", otherwise Dutch):
// what happened, what the reader is to do, and where.
func Compose(lang string, nc NoticeContext) Message {
	id := nc.Case.ID
	var subject, what, todo string
	if lang == "en" {
		switch nc.Notice.Kind {
		case NoticeCaseOpened:
			subject = fmt.Sprintf("New IdP-migration case %s (%s)", id, nc.SchoolName)
			what = fmt.Sprintf("Case %s for %s has been opened; %s is a party to it.", id, nc.SchoolName, nc.Organisation)
			todo = waitingStep(lang, nc)
		case NoticeStepWaiting:
			subject = fmt.Sprintf("Case %s: a step waits for you", id)
			what = fmt.Sprintf("Case %s (%s) has moved on.", id, nc.SchoolName)
			todo = stepOrTicket(lang, nc)
		case NoticeTestRequested:
			subject = fmt.Sprintf("Case %s: please confirm the final test", id)
			what = fmt.Sprintf("Every LiKa has processed case %s (%s).", id, nc.SchoolName)
			todo = "Run the final test and report whether it passed."
			if n := stepNumbers(nc.Notice.Step); n != "" {
				todo = fmt.Sprintf("Run the final test and report whether it passed (step %s).", n)
			}
		case NoticeTicketCreated:
			subject = fmt.Sprintf("Case %s: new ticket for %s", id, nc.LiKaName)
			what = fmt.Sprintf("A ticket for %s was created in case %s (%s).", nc.LiKaName, id, nc.SchoolName)
			todo = "Process the migration and close the ticket"
			if nc.Due != "" {
				todo += " before " + nc.Due
			} else {
				todo += " once the list reaches you; the 3-working-day clock starts then"
			}
			todo += "."
			if nc.Case.Sector == SectorMBO && nc.Due == "" {
				// MBO: the LiKa supplies the "was" part first; no step
				// of the procedure asks it to.
				todo = "First upload your part of the list (the students' old identities) on the case's lists page: the distributor forwards it to the school. " + todo
			}
		case NoticeSLAWarning:
			subject = fmt.Sprintf("Case %s: one working day left on your ticket", id)
			what = fmt.Sprintf("The ticket of %s in case %s (%s) is due %s.", nc.LiKaName, id, nc.SchoolName, nc.Due)
			todo = "Close the ticket before then, or tell the distributor what is holding it up."
		case NoticeSLABreach:
			subject = fmt.Sprintf("Case %s: ticket of %s is overdue", id, nc.LiKaName)
			what = fmt.Sprintf("The ticket of %s in case %s (%s) was due %s and is not closed.", nc.LiKaName, id, nc.SchoolName, nc.Due)
			todo = "LiKa: close the ticket now. Distributor: contact the LiKa, or waive the ticket with a reason."
		case NoticeCaseCompleted:
			subject = fmt.Sprintf("Case %s is completed", id)
			what = fmt.Sprintf("Case %s (%s) is completed.", id, nc.SchoolName)
			todo = "Nothing is left to do."
		}
		return Message{Subject: "[CMR] " + subject, Text: body(what, todo, "Open", nc.Link,
			"You receive this because you work for a party to the case. Choose which messages you get under Settings.")}
	}
	switch nc.Notice.Kind {
	case NoticeCaseOpened:
		subject = fmt.Sprintf("Nieuwe IdP-migratiezaak %s (%s)", id, nc.SchoolName)
		what = fmt.Sprintf("Zaak %s voor %s is geopend; %s is partij in deze zaak.", id, nc.SchoolName, nc.Organisation)
		todo = waitingStep(lang, nc)
	case NoticeStepWaiting:
		subject = fmt.Sprintf("Zaak %s: er wacht een stap op u", id)
		what = fmt.Sprintf("Zaak %s (%s) is een stap verder.", id, nc.SchoolName)
		todo = stepOrTicket(lang, nc)
	case NoticeTestRequested:
		subject = fmt.Sprintf("Zaak %s: bevestig de eindtest", id)
		what = fmt.Sprintf("Alle licentiekantoren hebben zaak %s (%s) verwerkt.", id, nc.SchoolName)
		todo = "Voer de eindtest uit en meld of die geslaagd is."
		if n := stepNumbers(nc.Notice.Step); n != "" {
			todo = fmt.Sprintf("Voer de eindtest uit en meld of die geslaagd is (stap %s).", n)
		}
	case NoticeTicketCreated:
		subject = fmt.Sprintf("Zaak %s: nieuw ticket voor %s", id, nc.LiKaName)
		what = fmt.Sprintf("Er is een ticket voor %s aangemaakt in zaak %s (%s).", nc.LiKaName, id, nc.SchoolName)
		todo = "Verwerk de migratie en meld het ticket af"
		if nc.Due != "" {
			todo += " vóór " + nc.Due
		} else {
			todo += " zodra de lijst u bereikt; de termijn van 3 werkdagen loopt vanaf dan"
		}
		todo += "."
		if nc.Case.Sector == SectorMBO && nc.Due == "" {
			todo = "Upload eerst uw deel van de lijst (de oude identiteiten van de studenten) op de lijstenpagina van de zaak: de distributeur zet het door naar de school. " + todo
		}
	case NoticeSLAWarning:
		subject = fmt.Sprintf("Zaak %s: nog één werkdag voor uw ticket", id)
		what = fmt.Sprintf("Het ticket van %s in zaak %s (%s) moet af zijn op %s.", nc.LiKaName, id, nc.SchoolName, nc.Due)
		todo = "Meld het ticket vóór die tijd af, of laat de distributeur weten wat het ophoudt."
	case NoticeSLABreach:
		subject = fmt.Sprintf("Zaak %s: ticket van %s is over tijd", id, nc.LiKaName)
		what = fmt.Sprintf("Het ticket van %s in zaak %s (%s) moest af zijn op %s en is nog open.", nc.LiKaName, id, nc.SchoolName, nc.Due)
		todo = "Licentiekantoor: meld het ticket nu af. Distributeur: neem contact op met het licentiekantoor, of laat het ticket met een reden vervallen."
	case NoticeCaseCompleted:
		subject = fmt.Sprintf("Zaak %s is afgerond", id)
		what = fmt.Sprintf("Zaak %s (%s) is afgerond.", id, nc.SchoolName)
		todo = "Er hoeft niets meer te gebeuren."
	}
	return Message{Subject: "[CMR] " + subject, Text: body(what, todo, "Openen", nc.Link,
		"U ontvangt dit bericht omdat u werkt voor een partij in deze zaak. Onder Instellingen kiest u welke berichten u krijgt.")}
}

func stepOrTicket(lang string, nc NoticeContext) string {
	if nc.Notice.TicketID != "" {
		if lang == "en" {
			return fmt.Sprintf("The list has reached you: process the migration and close your ticket before %s.", nc.Due)
		}
		return fmt.Sprintf("De lijst heeft u bereikt: verwerk de migratie en meld uw ticket af vóór %s.", nc.Due)
	}
	return waitingStep(lang, nc)
}

// waitingStep names the steps that wait (one key, or several merged as
// "5, 6") by their numbers, if they all have one (StepNumber), and by
// their titles.
func waitingStep(lang string, nc NoticeContext) string {
	n := stepNumbers(nc.Notice.Step)
	title := nc.StepTitle
	if lang == "en" && nc.StepTitleEN != "" {
		title = nc.StepTitleEN
	}
	switch {
	case lang == "en" && n != "":
		return fmt.Sprintf("Step %s waits for you: %s.", n, title)
	case lang == "en":
		return fmt.Sprintf("A step waits for you: %s.", title)
	case n != "":
		return fmt.Sprintf("Stap %s wacht op u: %s.", n, title)
	}
	return fmt.Sprintf("Er wacht een stap op u: %s.", title)
}

// stepNumbers is the numbers of the steps keys names ("5, 6"), or "" when
// one of them has none.
func stepNumbers(keys string) string {
	for _, key := range strings.Split(keys, ", ") {
		if StepNumber(key) == "" {
			return ""
		}
	}
	return keys
}

func body(what, todo, open, link, footer string) string {
	var b strings.Builder
	b.WriteString(what + "\n\n" + todo + "\n\n")
	if link != "" {
		b.WriteString(open + ": " + link + "\n\n")
	}
	b.WriteString("-- \n" + footer + "\n")
	return b.String()
}
