package web

import (
	"errors"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/cmr-idp/cmr"
)

// The pages are in Dutch; English is a choice kept in a cookie. Texts are
// written in Dutch in the templates and the code ({{t "..."}}, s.tr) and
// looked up here; a test checks that every one of them has its English.
const langCookie = "cmr-lang"

// language is the page language of the request: "nl" unless English was
// chosen.
func language(c echo.Context) string {
	if ck, err := c.Cookie(langCookie); err == nil && ck.Value == "en" {
		return "en"
	}
	return "nl"
}

func translate(lang, nl string) string {
	if lang == "en" {
		if en, ok := englishTexts[nl]; ok {
			return en
		}
	}
	return nl
}

func (s *Server) tr(c echo.Context, nl string) string { return translate(language(c), nl) }

// switchLanguage handles GET /lang?to=en|nl&back=/path.
func (s *Server) switchLanguage(c echo.Context) error {
	to := c.QueryParam("to")
	if to != "en" {
		to = "nl"
	}
	c.SetCookie(&http.Cookie{Name: langCookie, Value: to, Path: "/", Secure: true, HttpOnly: true, SameSite: http.SameSiteLaxMode, MaxAge: 365 * 24 * 3600})
	back := c.QueryParam("back")
	if !localPath(back) {
		back = "/"
	}
	return c.Redirect(http.StatusSeeOther, back)
}

// localPath reports whether p is a path on this site, safe to redirect
// to: it starts with one slash and holds no backslash or control
// character (browsers drop tabs and newlines, turning "/\t/x" into "//x").
func localPath(p string) bool {
	if !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") {
		return false
	}
	for _, r := range p {
		if r < 0x20 || r == 0x7f || r == '\\' {
			return false
		}
	}
	return true
}

func roleName(lang string, r cmr.Role) string {
	if lang == "en" {
		return map[cmr.Role]string{cmr.RoleSchool: "school", cmr.RoleDistributor: "distributor", cmr.RolePublisher: "publisher/LiKa", cmr.RoleKennisnet: "Kennisnet Support"}[r]
	}
	return r.Dutch()
}

// englishTexts holds the English of every Dutch text on the pages.
var englishTexts = map[string]string{
	// layout and sign-in
	"IdP-verhuizingen": "IdP migrations",
	"Account":          "Account",
	"Hoofdmenu":        "Main menu",
	"Uitloggen":        "Sign out",
	"Mijn werk":        "My work",
	"Zaken":            "Cases",
	"Nieuwe zaak":      "New case",
	"English":          "English",
	"Nederlands":       "Nederlands",
	"Inloggen":         "Sign in",
	"Melding":          "Notice",
	"Niet toegestaan":  "Not allowed",
	"Kies wie u bent":  "Choose who you are",
	"Ontwikkelomgeving (cmr dev): kies een demogebruiker. In productie logt u in bij uw eigen organisatie.":                "Development (cmr dev): pick a demo user. In production you sign in with your own organisation.",
	"Inloggen via de identity provider van uw organisatie is nog niet ingericht. Systemen gebruiken de API met een token.": "Sign-in through your organisation's identity provider is not set up yet. Systems use the API with a token.",
	"Naar mijn werk": "To my work",
	"Naar de zaak":   "To the case",
	"(naam, deel van de naam of BRIN-nummer)":                                              "(name, part of the name or BRIN number)",
	"Gevonden scholen":                                                                     "Schools found",
	"Er zijn meer scholen gevonden dan hier staan: zoek nauwkeuriger.":                     "More schools match than are shown here: search more precisely.",
	"Geen school gevonden. Zoek op een deel van de naam of op het BRIN-nummer.":            "No school found. Search for part of the name or the BRIN number.",
	"Alle lijsten van deze zaak":                                                           "All lists of this case",
	"Het ticket is vervallen: de lijsten van deze zaak zijn niet meer voor u beschikbaar.": "The ticket was waived: the lists of this case are no longer available to you.",
	"Lijst teruggeven":  "Return the list",
	"Versies":           "Versions",
	"afgemeld":          "closed",
	"vervallen":         "waived",
	"wacht op lijst":    "waiting for the list",
	"Wordt-kolom maken": "Build the wordt column",
	"Koppel de identiteiten uit de export van de oude IdP aan die van de nieuwe, op een gedeelde sleutel (leerlingnummer, e-mail) of een naampatroon. Er wordt niets opgeslagen.": "Pair the identities of the old IdP's export with those of the new one, by a shared key (student number, e-mail) or a naming pattern. Nothing is stored.",
	"Export van de oude IdP":                                  "The old IdP's export",
	"Export van de nieuwe IdP":                                "The new IdP's export",
	"Kolom met de identiteit":                                 "Column with the identity",
	"Koppelen op een sleutel":                                 "Pair on a key",
	"Sleutelkolom in de oude export":                          "Key column in the old export",
	"Sleutelkolom in de nieuwe export":                        "Key column in the new export",
	"Of: een naampatroon":                                     "Or: a naming pattern",
	"Patroon, bijvoorbeeld [voornaam].[achternaam]@school.nl": "Pattern, for example [voornaam].[achternaam]@school.nl",
	"Kolom voornaam":                                          "First-name column",
	"Kolom tussenvoegsel":                                     "Infix column",
	"Kolom achternaam":                                        "Last-name column",
	"Tussenvoegsel":                                           "Infix",
	"aan elkaar (van der → vander)":                           "joined (van der → vander)",
	"weglaten":                                                "left out",
	"Koppelen":                                                "Pair",
	"Resultaat":                                               "Result",
	"Gekoppeld":                                               "Matched",
	"Niet gevonden":                                           "Not found",
	"Meerdere kandidaten":                                     "Several candidates",
	"Was":                                                     "Was",
	"Wordt":                                                   "Wordt",
	"regels":                                                  "more rows",
	"werkdagen over":                                          "working days left",
	// home
	"Stappen die op u wachten":    "Steps waiting for you",
	"Er wacht nu geen stap op u.": "No step is waiting for you now.",
	"Zaak":                        "Case",
	"Stap":                        "Step",
	"Stap afronden":               "Complete the step",
	"opnieuw te doen":             "to be done again",
	"reden":                       "reason",
	"Stap %s afronden":            "Complete step %s",
	"De lijst is aan de LiKa's gegeven (stap 14) en kan niet meer worden vervangen; vraag de distributeur hoe u een fout herstelt.":                                        "The list was handed to the LiKas (step 14) and can no longer be replaced; ask the distributor how to correct a mistake.",
	"De aangevulde lijst is aan elke uitgever teruggegeven en kan niet meer worden vervangen; vraag de distributeur hoe u een fout herstelt.":                              "The completed list was returned to every publisher and can no longer be replaced; ask the distributor how to correct a mistake.",
	"De delen van de uitgevers zijn doorgestuurd naar de school (stap 8a); uw deel kan niet meer veranderen. Is er iets mis mee, neem dan contact op met de distributeur.": "The publishers' parts were forwarded to the school (step 8a); your part can no longer change. If something is wrong with it, contact the distributor.",
	"Stap 11 is afgerond met een lijst van": "Step 11 was completed with a list of",
	"regels. Een nieuwe versie vervangt die: de distributeur ziet dat op de zaak, en de LiKa's krijgen bij stap 14 de nieuwste versie.": "rows. A new version replaces it: the distributor sees so on the case, and the LiKas get the newest version at step 14.",
	"Deadline":            "Deadline",
	"Tickets":             "Tickets",
	"Ticket":              "Ticket",
	"Uiterlijk":           "Due",
	"Werkdagen over":      "Working days left",
	"te laat":             "overdue",
	"vandaag":             "today",
	"Lopende zaken":       "Open cases",
	"Geen lopende zaken.": "No open cases.",
	"overstap":            "switch",
	"Zaken met risico":    "Cases at risk",
	// case list
	"Status":                                "Status",
	"alle":                                  "all",
	"lopend":                                "open",
	"afgerond":                              "completed",
	"geannuleerd":                           "cancelled",
	"School":                                "School",
	"alle scholen":                          "all schools",
	"Sector":                                "Sector",
	"alle sectoren":                         "all sectors",
	"Alleen met risico":                     "At risk only",
	"Zoeken":                                "Search",
	"Zaaknummer, school of BRIN":            "Case number, school or BRIN",
	"Filteren":                              "Filter",
	"Overstap":                              "Switch",
	"Klaar vóór":                            "Done before",
	"risico":                                "at risk",
	"Geen zaken gevonden met deze filters.": "No cases match these filters.",
	"Pagina's":                              "Pages",
	"Eerste pagina":                         "First page",
	"Volgende pagina":                       "Next page",
	// wizard
	"1. School":     "1. School",
	"2. Overstap":   "2. Switch",
	"Verder":        "Next",
	"Andere school": "Other school",
	"Deze school is niet gevonden; zoek de school opnieuw.": "This school was not found; search for it again.",
	"Van":                           "From",
	"Naar":                          "To",
	"Kwadrant":                      "Quadrant",
	"kies":                          "choose",
	"1: ELF met portaal":            "1: ELF with portal",
	"2: ELF distributeursportaal":   "2: ELF distributor's portal",
	"3: ILF met portaal":            "3: ILF with portal",
	"4: ILF activeringscodes":       "4: ILF activation codes",
	"IdP":                           "IdP",
	"ECK iD":                        "ECK iD",
	"Ja (ECK iD)":                   "Yes (ECK iD)",
	"Nee (activeringscodes)":        "No (activation codes)",
	"Soort IdP":                     "Kind of IdP",
	"ELO/portaal met eigen IdP":     "ELO/portal with its own IdP",
	"Portaal van de distributeur":   "The distributor's portal",
	"Geen portaal (ADFS, Azure AD)": "No portal (ADFS, Azure AD)",
	"Aanvraag gedaan op":            "Requested on",
	"Geplande overstapdatum":        "Planned switch date",
	"Lijst leermiddelen open op (MBO, standaard 1 augustus)": "Learning-materials list opens on (MBO, default 1 August)",
	"LiKa's (uitgevers)":                                         "LiKas (publishers)",
	"Opties":                                                     "Options",
	"Leerhistorie bewaren (was-wordt-lijst)":                     "Keep learning history (was-wordt list)",
	"Lopende zaak van deze school":                               "This school's open case",
	"Deze overstap krijgt een eigen zaak: toch openen":           "This switch gets a case of its own: open it anyway",
	"Calamiteit: overstap op zeer korte termijn, zonder lijsten": "Calamity: switch at very short notice, without lists",
	"Scenario controleren":                                       "Check scenario",
	"Zaak openen":                                                "Open case",
	"Scenariocheck":                                              "Scenario check",
	"Vul de overstap in; de check verschijnt hier.":              "Fill in the switch; the check appears here.",
	"Dit kan als zaak.":                                          "This can be handled as a case.",
	"Dit kan niet als zaak.":                                     "This cannot be handled as a case.",
	"Hiervoor is geen zaak nodig: de school stapt zelf over.":    "No case is needed: the school switches by itself.",
	"Hiervoor is geen procedure afgesproken.":                    "No procedure has been agreed for this.",
	"Niet van toepassing.":                                       "Not applicable.",
	"Was-wordt-lijst":                                            "Was-wordt list",
	"de leveranciers":                                            "the suppliers",
	"leveranciers en school":                                     "suppliers and school",
	"geen lijst":                                                 "no list",
	"Financiering":                                               "Funding",
	"Beschreven scenario":                                        "Described scenario",
	"Midden in het schooljaar":                                   "Mid school year",
	"Waarschuwingen":                                             "Warnings",
	"Kon niet controleren":                                       "Could not check",
	// case page
	"Stappen":       "Steps",
	"gedaan":        "done",
	"open":          "open",
	"wacht":         "waiting",
	"Test geslaagd": "Test passed",
	"Ja":            "Yes",
	"Nee":           "No",
	"Stap die opnieuw moet (als de test mislukte)": "Step to redo (if the test failed)",
	"de laatste stap voor de test":                 "the last step before the test",
	"Toelichting":                                  "Note",
	"(verplicht)":                                  "(required)",
	"één per regel":                                "one per line",
	"afronden":                                     "complete",
	"LiKa":                                         "LiKa",
	"Actie":                                        "Action",
	"Notitie":                                      "Note",
	"Afmelden":                                     "Close",
	"Reden":                                        "Reason",
	"Laten vervallen":                              "Waive",
	"Logboek":                                      "Audit trail",
	"Logboek downloaden (CSV)":                     "Download the audit trail (CSV)",
	"stap":                                         "step",
	"ticket":                                       "ticket",
	"het systeem":                                  "the system",
	"niet gedaan":                                  "not done",
	"Niets gevonden met deze status; dit is wat de zoekopdracht vond onder alle zaken.": "Nothing found with this status; this is what the search found among all cases.",
	"Geannuleerd":                   "Cancelled",
	"Zaak annuleren":                "Cancel the case",
	"Reden (de partijen zien deze)": "Reason (the parties see it)",
	"Open tickets worden geannuleerd; de lijsten worden na de bewaartermijn verwijderd. Dit kan niet ongedaan worden gemaakt.": "Open tickets are cancelled; the lists are deleted after the retention period. This cannot be undone.",
	"deadline nabij":            "deadline near",
	"uiterste datum verstreken": "deadline passed",
	"Alle zaken":                "All cases",
	"Alle lopende zaken":        "All open cases",
	"Er wachten meer stappen op u dan hier staan; dit zijn de dringendste.": "More steps wait for you than are shown here; these are the most urgent.",
	"Er zijn meer open tickets dan hier staan; dit zijn de dringendste.":    "There are more open tickets than are shown here; these are the most urgent.",
	"Distributeur": "Distributor",
	"Was-wordt":    "Was-wordt",
	"Lijsten":      "Lists",
	"Openen":       "Open",
	// lists
	"Lijst uploaden":        "Upload list",
	"Bestand (CSV of XLSX)": "File (CSV or XLSX)",
	"Nieuwe identiteiten in meer dan één realm (bewust)": "New identities in more than one realm (on purpose)",
	"Uploaden": "Upload",
	"De lijst is niet opgeslagen. Verbeter deze punten en upload opnieuw:": "The list was not stored. Fix these points and upload again:",
	"Regel":           "Row",
	"Kolom":           "Column",
	"Probleem":        "Problem",
	"en nog":          "and",
	"punten":          "more",
	"Versie":          "Version",
	"Soort":           "Kind",
	"Regels":          "Rows",
	"Geüpload":        "Uploaded",
	"Downloaden":      "Download",
	"Nog geen lijst.": "No list yet.",
	"Sjabloon":        "Template",
	"Samengevoegde lijst van de uitgevers, met wat de school al invulde": "The publishers' merged list, with what the school filled in so far",
	"Nieuwe identiteiten per regel invullen":                             "Fill in the new identities row by row",
	"Nieuwe identiteiten invullen":                                       "Fill in the new identities",
	"Terug naar de lijsten":                                              "Back to the lists",
	"Opgeslagen als nieuwe versie van de aangevulde lijst.":              "Saved as a new version of the completed list.",
	"Er was niets gewijzigd; er is niets opgeslagen.":                    "Nothing was changed; nothing was saved.",
	"van":                         "of",
	"regels ingevuld":             "rows filled in",
	"Nog geen deel ontvangen van": "No part received yet from",
	"Vul de nieuwe identiteiten in en sla op. Regels die u leeg laat blijven open; de lijst gaat pas terug naar een uitgever als zijn regels zijn ingevuld.": "Fill in the new identities and save. Rows you leave empty stay open; the list goes back to a publisher only once its rows are filled in.",
	"Alle regels":        "All rows",
	"Alleen open regels": "Open rows only",
	"Niet opgeslagen. Verbeter deze punten en sla opnieuw op:":         "Not saved. Fix these points and save again:",
	"Alle regels zijn ingevuld.":                                       "Every row is filled in.",
	"Nog geen regels: de uitgevers hebben hun deel nog niet geüpload.": "No rows yet: the publishers have not uploaded their parts.",
	"Pagina":                               "Page",
	"vorige":                               "previous",
	"volgende":                             "next",
	"De lijst is opgeslagen.":              "The list was stored.",
	"Uw deel van de lijst (was)":           "Your part of the list (was)",
	"Uw deel van de lijst uploaden":        "Upload your part of the list",
	"Vervallen":                            "Waived",
	"Wacht op uw deel van de lijst (was):": "Waiting for your part of the list (was):",
	"upload het op de lijstenpagina":       "upload it on the lists page",
	"Wacht op het deel van de lijst (was) van de LiKa.":                                            "Waiting for the LiKa's part of the list (was).",
	"Wacht op de aangevulde lijst: de termijn van 3 werkdagen loopt vanaf de teruggave (stap 8c).": "Waiting for the completed list: the 3-working-day term runs from its return (step 8c).",
	"Deze MBO-zaken wachten op de studentgegevens (was) die u levert; de distributeur zet ze door naar de school. De termijn van 3 werkdagen loopt pas vanaf de teruggave van de aangevulde lijst.": "These MBO cases wait for the student data (was) you supply; the distributor forwards it to the school. The 3-working-day term runs only from the return of the completed list.",
	"volledige lijst":  "complete list",
	"deel uitgever":    "publisher's part",
	"aangevulde lijst": "completed list",
	"huidig":           "current",
	// ticket page
	"Terug naar de zaak":                     "Back to the case",
	"Klok gestart":                           "Clock started",
	"Afgemeld":                               "Closed",
	"Ticket afmelden":                        "Close ticket",
	"Regels die niet verwerkt konden worden": "Rows that could not be processed",
	"Waarom vervallen":                       "Why it was waived",
	"Uitgeschakeld":                          "Disabled",
	"Weer inschakelen":                       "Enable again",
	"De persoon is weer ingeschakeld. API-tokens van voor het uitschakelen blijven ingetrokken.": "The person is enabled again. API tokens from before they were disabled stay revoked.",
	"Afmelding van de LiKa":      "The LiKa's closing",
	"in de lijst van de school:": "in the school's list:",
	"Eén rij van de lijst per tekstregel: het regelnummer in de lijst, een dubbele punt en de reden. Bijvoorbeeld: 14: leerling onbekend": "One row of the list per line of text: the row number in the list, a colon and the reason. For example: 14: pupil unknown",
	"Waarom te laat?": "Why overdue?",
	"De termijn van 3 werkdagen is verstreken; de distributeur is gewaarschuwd. Meld af zodra de was-wordt is verwerkt.": "The 3-working-day term has passed; the distributor has been alerted. Close the ticket as soon as the was-wordt has been processed.",
	"Wacht op de lijst": "Waiting for the list",
	"Het formulier is verlopen of niet van deze site. Laad de pagina opnieuw en probeer het nog eens.": "The form has expired or is not from this site. Reload the page and try again.",
	"Deze pagina bestaat niet, of u heeft er geen toegang toe.":                                        "This page does not exist, or you have no access to it.",
	"Er ging iets mis aan onze kant. Probeer het opnieuw.":                                             "Something went wrong on our side. Please try again.",
	"Geef een reden op waarom dit ticket vervalt.":                                                     "Give a reason why this ticket is waived.",
	"De tekst is langer dan 2000 tekens.":                                                              "The text is longer than 2000 characters.",
	"Het inlogformulier is verlopen. Laad de pagina opnieuw.":                                          "The sign-in form has expired. Reload the page.",
	"Uw organisatie":              "Your organisation",
	"Inloggen bij uw organisatie": "Sign in at your organisation",
	"Inloggen niet gelukt":        "Sign-in failed",
	"U logt in met het account van uw eigen organisatie. Kent de CMR u nog niet, dan vraagt u de beheerder van uw organisatie u te registreren.": "You sign in with your own organisation's account. If the CMR does not know you yet, ask your organisation's admin to register you.",
	"API-tokens": "API tokens",
	"Beheer":     "Admin",
	"Bij de eerste keer inloggen koppelt de CMR iemand aan een persoon hieronder via de e-mailpatronen. Passen twee personen op hetzelfde adres, of volgt iemands adres geen patroon, vul dan bij die persoon de OIDC-gebruikersnaam in.": "At a first sign-in the CMR links someone to a person below through the e-mail patterns. If two people fit the same address, or someone's address follows no pattern, fill in that person's OIDC user name.",
	"CSV of XLSX met de kolommen Voornaam, Achternaam, E-mail en desgewenst Beheerder (ja/nee), Code en OIDC-gebruikersnaam. Bestaande personen worden bijgewerkt; niemand wordt verwijderd.":                                             "CSV or XLSX with the columns Voornaam, Achternaam, E-mail and optionally Beheerder (ja/nee), Code and OIDC-gebruikersnaam. Known people are updated; nobody is removed.",
	"Code en OIDC-gebruikersnaam":        "Code and OIDC user name",
	"Code":                               "Code",
	"De e-mailpatronen zijn opgeslagen.": "The e-mail patterns are saved.",
	"De persoon is opgeslagen.":          "The person is saved.",
	"De persoon is uitgeschakeld: sessies en API-tokens werken niet meer.": "The person is disabled: their sessions and API tokens no longer work.",
	"E-mail":         "E-mail",
	"E-mailpatronen": "E-mail patterns",
	"Een token laat een systeem van uw organisatie de API gebruiken namens een persoon, bijvoorbeeld om de ticketwachtrij op te halen. De CMR bewaart alleen een hash van het token.":                "A token lets a system of your organisation use the API on behalf of a person, for example to fetch the ticket queue. The CMR keeps only a hash of the token.",
	"Eén patroon per regel, bijvoorbeeld [firstname].[lastname]@school.nl. Plaatshouders: [firstname], [lastname], [f] (eerste letter voornaam), [l] (eerste letter achternaam), [code] en [class].": "One pattern per line, for example [firstname].[lastname]@school.nl. Placeholders: [firstname], [lastname], [f] (first letter of the first name), [l] (first letter of the last name), [code] and [class].",
	"Gemaakt": "Created",
	"Het token is gemaakt. Kopieer het nu: het wordt niet nog eens getoond.": "The token is made. Copy it now: it is not shown again.",
	"Het token is ingetrokken.": "The token is revoked.",
	"Inlezen":                   "Import",
	"Intrekken":                 "Revoke",
	"Kopieer het token nu; het wordt niet opnieuw getoond. Het systeem stuurt het mee als: Authorization: Bearer <token>.": "Copy the token now; it is not shown again. The system sends it as: Authorization: Bearer <token>.",
	"Laatst gebruikt":         "Last used",
	"Naam":                    "Name",
	"Namens":                  "On behalf of",
	"Nieuw API-token":         "New API token",
	"OIDC-gebruikersnaam":     "OIDC user name",
	"Opslaan":                 "Save",
	"Personeelslijst inlezen": "Import the staff list",
	"Personen":                "People",
	"Token maken":             "Make a token",
	"Uitschakelen":            "Disable",
	"Waarvoor (welk systeem)": "For what (which system)",
	"Waarvoor":                "For what",
	"beheerder":               "admin",
	"ingetrokken":             "revoked",
	"nooit":                   "never",
	"Te veel inlogpogingen. Wacht een minuut en probeer het opnieuw.": "Too many sign-in attempts. Wait a minute and try again.",
	"Kies een bestand om te uploaden.":                                "Choose a file to upload.",
	"Schrijf elke regel als: regelnummer: reden.":                     "Write each line as: row number: reason.",

	// settings and notifications (notices.go)
	"Instellingen":                     "Settings",
	"Meldingen":                        "Notifications",
	"Taal van berichten":               "Language of messages",
	"Meldingen per e-mail ontvangen":   "Receive notifications by e-mail",
	"Waarover (aangevinkt: ontvangen)": "About what (checked: received)",
	"altijd":                           "always",
	"Uw instellingen zijn opgeslagen.": "Your settings have been saved.",
	"De CMR mailt u als er in een zaak van uw organisatie iets voor u verandert. Kies hier in welke taal en waarover.": "The CMR e-mails you when something changes for you in a case of your organisation. Choose here in which language and about what.",
	"Een verstreken SLA wordt altijd gemaild, ook als e-mail uit staat: die melding mag niemand missen.":               "A breached SLA is always e-mailed, even with e-mail off: nobody may miss that notification.",
	"Webhook":                           "Webhook",
	"webhook":                           "webhook",
	"e-mail":                            "e-mail",
	"verstuurd":                         "sent",
	"mislukt":                           "failed",
	"bezig of wacht op nieuwe poging":   "in progress or waiting to retry",
	"Nieuw webhookgeheim":               "New webhook secret",
	"Huidig adres":                      "Current address",
	"Er is nog geen webhook ingesteld.": "No webhook has been set up yet.",
	"Adres (https://)":                  "Address (https://)",
	"Opslaan (met een nieuw geheim)":    "Save (with a new secret)",
	"Nieuw geheim maken":                "Make a new secret",
	"Webhook verwijderen":               "Remove the webhook",
	"De handtekening controleren":       "Verifying the signature",
	"Leveringslogboek":                  "Delivery log",
	"Kanaal":                            "Channel",
	"Aan":                               "To",
	"Pogingen":                          "Attempts",
	"HTTP-status":                       "HTTP status",
	"Laatste fout":                      "Last error",
	"Aangemaakt":                        "Created",
	"Laatste poging":                    "Last attempt",
	"Verstuurd":                         "Sent",
	"Opnieuw versturen":                 "Redeliver",
	"Nog geen leveringen.":              "No deliveries yet.",
	"De webhook is verwijderd.":         "The webhook has been removed.",
	"Kopieer het geheim nu naar het ontvangende systeem; het wordt niet opnieuw getoond.":                                                                                                                     "Copy the secret to the receiving system now; it is not shown again.",
	"Met een webhook krijgt een systeem van uw organisatie de meldingen als HTTP POST met JSON, naast de e-mails aan personen.":                                                                               "With a webhook a system of your organisation receives the notifications as an HTTP POST with JSON, besides the e-mails to people.",
	"Ontwikkelomgeving: http://localhost en http://127.0.0.1 zijn ook toegestaan.":                                                                                                                            "Development: http://localhost and http://127.0.0.1 are allowed too.",
	"Elke levering draagt de headers CMR-Signature, CMR-Delivery en CMR-Event.":                                                                                                                               "Every delivery carries the headers CMR-Signature, CMR-Delivery and CMR-Event.",
	"CMR-Signature is t=<tijdstip>,v1=<handtekening>: het tijdstip in Unix-seconden en de hex van een HMAC-SHA256 met het geheim als sleutel over het tijdstip, een punt en de body precies zoals ontvangen:": "CMR-Signature is t=<timestamp>,v1=<signature>: the timestamp in Unix seconds and the hex of an HMAC-SHA256 keyed with the secret over the timestamp, a dot and the body exactly as received:",
	"Reken de HMAC zelf na en vergelijk in constante tijd. Weiger een tijdstip dat meer dan 5 minuten van uw klok afwijkt: zo werkt een opgevangen en herhaald verzoek niet.":                                 "Compute the HMAC yourself and compare in constant time. Refuse a timestamp more than 5 minutes off your clock: that way a captured and replayed request does not work.",
	"CMR-Delivery blijft bij elke nieuwe poging gelijk: verwerk een levering met een CMR-Delivery die u al zag niet nog eens.":                                                                                "CMR-Delivery stays the same on every retry: do not process a delivery whose CMR-Delivery you have already seen.",
	"Antwoord met een 2xx-status; anders probeert de CMR het later opnieuw.":                                                                                                                                  "Answer with a 2xx status; otherwise the CMR tries again later.",
	"De laatste 50 webhookleveringen en de laatste 50 e-mails aan personen van uw organisatie, nieuwste eerst.":                                                                                               "The last 50 webhook deliveries and the last 50 e-mails to people of your organisation, newest first.",
	"De webhook is opgeslagen. Kopieer het geheim nu: het wordt niet nog eens getoond.":                                                                                                                       "The webhook has been saved. Copy the secret now: it is not shown again.",
	"Er is een nieuw geheim; het oude werkt niet meer. Kopieer het nu: het wordt niet nog eens getoond.":                                                                                                      "There is a new secret; the old one no longer works. Copy it now: it is not shown again.",
	"De levering is opnieuw verstuurd en door de ontvanger aangenomen.":                                                                                                                                       "The delivery was sent again and accepted by the receiver.",
	"De ontvanger heeft de levering niet aangenomen. De status en de fout staan in het logboek hieronder.":                                                                                                    "The receiver did not accept the delivery. The status and the error are in the log below.",
}

// fieldLabels names the inputs a refusal can be about, in Dutch.
var fieldLabels = map[string]string{
	"school": "School", "sector": "Sector", "scenario": "Scenario",
	"from.quadrant": "Van: kwadrant", "from.idp": "Van: IdP", "from.eck": "Van: ECK iD", "from.kind": "Van: soort IdP",
	"to.quadrant": "Naar: kwadrant", "to.idp": "Naar: IdP", "to.eck": "Naar: ECK iD", "to.kind": "Naar: soort IdP",
	"requested_on": "Aanvraag gedaan op", "switch_on": "Geplande overstapdatum", "list_opens_on": "Lijst leermiddelen open op",
	"likas": "LiKa's", "file": "Bestand", "old_file": "Oude export", "new_file": "Nieuwe export",
	"old_identity": "Oude export: kolom met de identiteit", "new_identity": "Nieuwe export: kolom met de identiteit", "unprocessed": "Regels die niet verwerkt konden worden", "note": "Toelichting",
	"language": "Taal van berichten", "email": "E-mail", "kind": "Meldingen", "webhook_url": "Webhook-adres",
	"redo_step": "Stap die opnieuw moet", "reason": "Reden", "data.row_count": "Aantal regels in de lijst",
}

// refusal is a refused action as the page shows it: the domain's
// explanation, after the name of the input it is about.
func (s *Server) refusal(c echo.Context, err error) string {
	var e *cmr.Error
	if !errors.As(err, &e) {
		return err.Error()
	}
	lang := language(c)
	// Several fields at fault (cmr.Together): each by its label, said
	// once for problems of one field in a row (rows of one box).
	var parts []string
	prev := ""
	for _, p := range cmr.Problems(e) {
		label := labelOf(p.Field, lang)
		if label == "" || label == prev {
			parts = append(parts, p.Text(lang))
		} else {
			parts = append(parts, label+": "+p.Text(lang))
		}
		prev = label
	}
	return strings.Join(parts, "; ")
}

// labelOf is the label in lang of the input field names ("" for none).
func labelOf(field, lang string) string {
	if i := strings.IndexByte(field, '['); i > 0 {
		field = field[:i]
	}
	if lang == "en" {
		return englishLabels[field]
	}
	return fieldLabels[field]
}

var englishLabels = map[string]string{
	"school": "School", "sector": "Sector", "scenario": "Scenario",
	"from.quadrant": "From: quadrant", "from.idp": "From: IdP", "from.eck": "From: ECK iD", "from.kind": "From: kind of IdP",
	"to.quadrant": "To: quadrant", "to.idp": "To: IdP", "to.eck": "To: ECK iD", "to.kind": "To: kind of IdP",
	"requested_on": "Requested on", "switch_on": "Planned switch date", "list_opens_on": "Learning-materials list opens on",
	"likas": "LiKas", "file": "File", "old_file": "Old export", "new_file": "New export",
	"old_identity": "Old export: identity column", "new_identity": "New export: identity column", "unprocessed": "Rows that could not be processed", "note": "Note",
	"language": "Language of messages", "email": "E-mail", "kind": "Notifications", "webhook_url": "Webhook address",
	"redo_step": "Step to redo", "reason": "Reason", "data.row_count": "Number of rows in the list",
}
