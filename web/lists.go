package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/cmr-idp/cmr"
	"github.com/cmr-idp/cmr/casework"
	"github.com/cmr-idp/cmr/waswordt"
)

// Lists is the was-wordt list service the pages share with the API: the
// same rules for who may see, upload and download what.
type Lists interface {
	CaseLists(ctx context.Context, me cmr.Actor, caseID string) ([]cmr.ListVersion, error)
	UploadCaseList(ctx context.Context, me cmr.Actor, caseID, file string, severalRealms bool) (cmr.ListVersion, error)
	UploadTicketList(ctx context.Context, me cmr.Actor, ticketID, file string) (cmr.ListVersion, error)
	ListFile(ctx context.Context, me cmr.Actor, caseID, listID string, kind waswordt.FileKind) (string, []byte, error)
	MergedFile(ctx context.Context, me cmr.Actor, caseID string, kind waswordt.FileKind) (string, []byte, error)
	ReturnList(ctx context.Context, me cmr.Actor, ticketID string) error
	WordtRows(ctx context.Context, me cmr.Actor, caseID string) (waswordt.Working, error)
	SaveWordtRows(ctx context.Context, me cmr.Actor, caseID string, edits []waswordt.RowEdit, severalRealms bool) (cmr.ListVersion, error)
	UnprocessedData(ctx context.Context, me cmr.Actor, t cmr.Ticket, rows []cmr.UnprocessedRow) (map[string]any, error)
}

// uploadLimit lets a list through (the form adds a little to the file).
var uploadLimit = middleware.BodyLimit(fmt.Sprintf("%dMiB", (waswordt.MaxUploadBytes>>20)+1))

// uploadRoutes carry files: they have their own body limits.
var uploadRoutes = map[string]bool{"/cases/:id/lists": true, "/tickets/:id/list": true, "/cases/:id/wordt": true, "/admin/people/import": true}

// wordtLimit lets two exports through.
var wordtLimit = middleware.BodyLimit(fmt.Sprintf("%dMiB", 2*(waswordt.MaxUploadBytes>>20)+1))

func actorOf(ss *session) cmr.Actor {
	return cmr.Actor{UserID: ss.User.ID, OrganisationID: ss.User.OrganisationID, Role: ss.User.Role}
}

// listProblems is a refused upload as the page shows it.
type listProblems struct {
	Message  string
	Problems []waswordt.Problem
	More     int
}

type listsPage struct {
	page
	Case     cmr.Case
	Versions []cmr.ListVersion
	// Upload is where the caller may upload: the case (school) or its
	// ticket (MBO LiKa); empty when it may not.
	Upload   string
	TicketID string
	Merged   bool
	Format   string
	Part     string
	Stored   bool
	Refused  *listProblems
	// Builder: the school may pair old and new identities here.
	Builder bool
	// Rows: the school may fill in its MBO list row by row.
	Rows bool
	// HandedOut: the school's VO list went to the LiKas (step 14) and
	// can no longer be replaced; Recorded, the rows step 11 recorded, when
	// it is done and a new version would replace that one.
	HandedOut bool
	Recorded  string
	// ReturnedToAll: the school's MBO list went back to every publisher
	// and can no longer be replaced.
	ReturnedToAll bool
	// SeveralRealms: the refused upload was sent with "several realms"
	// ticked; the form keeps it.
	SeveralRealms bool
	// Forwarded: step 8a sent the publishers' parts to the school; the
	// LiKa's part no longer changes.
	Forwarded bool
}

func (s *Server) fileKindOf(c echo.Context) waswordt.FileKind {
	if c.QueryParam("type") == "xlsx" {
		return waswordt.XLSX
	}
	return waswordt.CSV
}

func sendFile(c echo.Context, kind waswordt.FileKind, name string, data []byte) error {
	h := c.Response().Header()
	h.Set(echo.HeaderContentDisposition, fmt.Sprintf("attachment; filename=%q", name+"."+string(kind)))
	return c.Blob(http.StatusOK, kind.ContentType(), data)
}

// listsPage handles GET /cases/:id/lists: the versions the caller may
// see, downloads, the template, and the upload form for whoever uploads.
func (s *Server) listsPage(c echo.Context) error {
	ss := current(c)
	cs, err := s.Store.Case(c.Request().Context(), viewer(ss), c.Param("id"))
	if err != nil {
		return s.fail(c, ss, err)
	}
	return s.showLists(c, ss, cs, http.StatusOK, c.QueryParam("stored") == "1", nil)
}

func (s *Server) showLists(c echo.Context, ss *session, cs cmr.Case, status int, stored bool, refused *listProblems) error {
	ctx := c.Request().Context()
	vs, err := s.Lists.CaseLists(ctx, actorOf(ss), cs.ID)
	if err != nil {
		// Kennisnet sees no lists: said so, not "no list yet".
		return s.fail(c, ss, err)
	}
	f := waswordt.ForCase(cs.Scenario)
	p := listsPage{page: s.base(c, ss, s.tr(c, "Lijsten")+" "+cs.ID), Case: cs, Versions: vs, Format: string(f.ID), Part: "complete",
		Stored: stored, Refused: refused, SeveralRealms: refused != nil && c.FormValue("several_realms") == "true"}
	open := cs.Status == cmr.CaseOpen && cs.WasWordt != cmr.WasWordtNone
	switch ss.User.Role {
	case cmr.RoleSchool:
		if open {
			p.Upload = "/cases/" + cs.ID + "/lists"
			p.Builder = true
			p.Rows = cs.Sector == cmr.SectorMBO
		}
		if cs.Sector == cmr.SectorVO {
			// The rules of api.UploadCaseList, said before the school
			// uploads: no replacing once handed out, and a replacement
			// after step 11 is shown to the distributor.
			if st, ok := cs.Step("11"); ok && st.State == cmr.StepDone {
				if n, ok := st.Data["row_count"].(float64); ok {
					p.Recorded = fmt.Sprint(n)
				}
			}
			if cs.StepDone("14") { // step 14 made the tickets
				p.HandedOut, p.Upload, p.Recorded = true, "", ""
			}
		}
		if open && cs.ReturnedToAll() { // api.UploadCaseList's rule for MBO
			p.ReturnedToAll, p.Upload, p.Builder, p.Rows = true, "", false, false
		}
		p.Merged = cs.Sector == cmr.SectorMBO
	case cmr.RoleDistributor:
		p.Merged = cs.Sector == cmr.SectorMBO
	case cmr.RolePublisher:
		p.Part = "supplier"
		for _, t := range cs.Tickets {
			if t.LiKaID == ss.User.OrganisationID {
				p.TicketID = t.ID
				// api.UploadTicketList's rules: step 8a forwarded the
				// parts to the school, after which they stay as they are.
				if open && cs.Sector == cmr.SectorMBO && t.State == cmr.TicketAwaitingList {
					p.Forwarded = cs.StepDone("8a")
					if !p.Forwarded {
						p.Upload = "/tickets/" + t.ID + "/list"
					}
				}
			}
		}
	}
	return s.render(c, status, "lists", p)
}

// readFile is the form's file named field, as readForm read it into
// memory when the CSRF token was checked; missing says what to choose when
// there is none. It never reads the body itself: FormFile would write a
// large file to $TMPDIR.
func readFile(c echo.Context, field, missing, missingNL string) ([]byte, error) {
	files, _ := c.Get(formFilesKey).(map[string]formFile)
	f, ok := files[field]
	if !ok {
		return nil, cmr.FieldErrorf(field, "%s", missing).NL("%s", missingNL)
	}
	if f.tooLarge {
		return nil, cmr.FieldErrorf(field, "the file is larger than %d MB", waswordt.MaxUploadBytes>>20).NL("het bestand is groter dan %d MB", waswordt.MaxUploadBytes>>20)
	}
	return f.data, nil
}

// refusedList turns a refused upload into its problem table; other
// errors are not a list's problems.
func (s *Server) refusedList(c echo.Context, err error) (*listProblems, bool) {
	var e *cmr.Error
	if !errors.As(err, &e) || e.Kind != cmr.KindInvalid {
		return nil, false
	}
	if lp := problemsOf(err); lp != nil {
		return lp, true
	}
	return &listProblems{Message: s.refusal(c, err)}, true
}

// problemsOf is the table of the rows and columns a refusal names (its
// details.problems, as the list service sends them), or nil when it names
// none.
func problemsOf(err error) *listProblems {
	var e *cmr.Error
	if !errors.As(err, &e) {
		return nil
	}
	probs, ok := e.Details["problems"].([]waswordt.Problem)
	if !ok || len(probs) == 0 {
		return nil
	}
	more, _ := e.Details["more"].(int)
	return &listProblems{Problems: probs, More: more}
}

// uploadCaseList handles POST /cases/:id/lists: the school's list. A
// refused list is shown as a table of problems by row and column.
func (s *Server) uploadCaseList(c echo.Context) error {
	ctx := c.Request().Context()
	ss := current(c)
	cs, err := s.Store.Case(ctx, viewer(ss), c.Param("id"))
	if err != nil {
		return s.fail(c, ss, err)
	}
	data, err := readFile(c, "file", "choose a file to upload", "kies een bestand om te uploaden")
	if err == nil {
		_, err = s.Lists.UploadCaseList(ctx, actorOf(ss), cs.ID, string(data), c.FormValue("several_realms") == "true")
	}
	return s.afterUpload(c, ss, cs, err)
}

// uploadTicketList handles POST /tickets/:id/list: an MBO LiKa's part.
func (s *Server) uploadTicketList(c echo.Context) error {
	ctx := c.Request().Context()
	ss := current(c)
	t, err := s.Store.Ticket(ctx, viewer(ss), c.Param("id"))
	if err != nil {
		return s.fail(c, ss, err)
	}
	cs, err := s.Store.Case(ctx, viewer(ss), t.CaseID)
	if err != nil {
		return s.fail(c, ss, err)
	}
	data, err := readFile(c, "file", "choose a file to upload", "kies een bestand om te uploaden")
	if err == nil {
		_, err = s.Lists.UploadTicketList(ctx, actorOf(ss), t.ID, string(data))
	}
	return s.afterUpload(c, ss, cs, err)
}

func (s *Server) afterUpload(c echo.Context, ss *session, cs cmr.Case, err error) error {
	if err == nil {
		return c.Redirect(http.StatusSeeOther, "/cases/"+cs.ID+"/lists?stored=1")
	}
	if lp, ok := s.refusedList(c, err); ok {
		return s.showLists(c, ss, cs, http.StatusUnprocessableEntity, false, lp)
	}
	if kind := cmr.KindOf(err); kind == cmr.KindConflict || kind == cmr.KindForbidden {
		return s.showLists(c, ss, cs, statusOf(err), false, &listProblems{Message: s.refusal(c, err)})
	}
	return s.fail(c, ss, err)
}

// listDownload handles GET /cases/:id/lists/:list?type=csv|xlsx.
func (s *Server) listDownload(c echo.Context) error {
	ss := current(c)
	kind := s.fileKindOf(c)
	name, data, err := s.Lists.ListFile(c.Request().Context(), actorOf(ss), c.Param("id"), c.Param("list"), kind)
	if err != nil {
		return s.fail(c, ss, err)
	}
	return sendFile(c, kind, name, data)
}

// mergedDownload handles GET /cases/:id/lists/merged?type=csv|xlsx.
func (s *Server) mergedDownload(c echo.Context) error {
	ss := current(c)
	kind := s.fileKindOf(c)
	name, data, err := s.Lists.MergedFile(c.Request().Context(), actorOf(ss), c.Param("id"), kind)
	if err != nil {
		return s.fail(c, ss, err)
	}
	return sendFile(c, kind, name, data)
}

// listTemplate handles GET /lists/templates/:format?part=&type=: an empty
// list with the dataset's Dutch headings.
func (s *Server) listTemplate(c echo.Context) error {
	ss := current(c)
	f, ok := waswordt.Lookup(waswordt.FormatID(c.Param("format")))
	if !ok {
		return s.fail(c, ss, cmr.ErrNotFound)
	}
	part := waswordt.Complete
	if c.QueryParam("part") == "supplier" {
		part = waswordt.SupplierPart
	}
	kind := s.fileKindOf(c)
	data, err := waswordt.Template(f, part, kind)
	if err != nil {
		return s.fail(c, ss, err)
	}
	return sendFile(c, kind, "sjabloon-"+string(f.ID), data)
}

type ticketPage struct {
	page
	Ticket   ticketItem
	Case     cmr.Case
	Lists    []cmr.ListVersion
	CanClose bool
	// LiKa is the ticket's LiKa by name.
	LiKa string
	// Problem is a refusal of the close form; Note and Rows refill it.
	Problem, Note, Rows string
	// PartDue: the ticket waits for its LiKa's part of an MBO list, none
	// uploaded yet; Upload: the reader is that LiKa.
	PartDue, Upload bool
	// ListsRead: the reader may see the case's lists (Kennisnet does
	// not); ListsGone: the reader is the LiKa of this waived ticket, which
	// no longer may.
	ListsRead, ListsGone bool
}

// ticketPage handles GET /tickets/:id: a LiKa's ticket with the list to
// download, the close form (with rows not processed), and why it is
// overdue when it is.
func (s *Server) ticketPage(c echo.Context) error {
	ss := current(c)
	t, err := s.Store.Ticket(c.Request().Context(), viewer(ss), c.Param("id"))
	if err != nil {
		return s.fail(c, ss, err)
	}
	return s.showTicket(c, ss, t, http.StatusOK, "", "", "")
}

func (s *Server) showTicket(c echo.Context, ss *session, t cmr.Ticket, status int, problem, note, rows string) error {
	ctx := c.Request().Context()
	cs, err := s.Store.Case(ctx, viewer(ss), t.CaseID)
	if err != nil {
		return s.fail(c, ss, err)
	}
	now := s.Now()
	item := ticketItem{Ticket: t, Overdue: t.Overdue(now), AtRisk: t.AtRisk(now)}
	if t.DueAt != nil {
		item.DaysLeft = s.cal.WorkingDaysLeft(now, *t.DueAt)
	}
	p := ticketPage{page: s.base(c, ss, s.tr(c, "Ticket")+" "+t.ID), Ticket: item, Case: cs, Problem: problem, Note: note, Rows: rows,
		CanClose: s.Engine != nil && cs.Status == cmr.CaseOpen && t.State == cmr.TicketOpen && ss.User.Role == cmr.RolePublisher && t.LiKaID == ss.User.OrganisationID}
	names, err := s.Store.OrganisationsByID(ctx, []string{t.LiKaID})
	if err != nil {
		return s.fail(c, ss, err)
	}
	p.LiKa = orgNames(names).Name(t.LiKaID)
	listsRead := false
	if s.Lists != nil {
		if p.Lists, err = s.Lists.CaseLists(ctx, actorOf(ss), cs.ID); err != nil && cmr.KindOf(err) != cmr.KindForbidden {
			return s.fail(c, ss, err)
		}
		listsRead = err == nil // Kennisnet sees no lists
		// This ticket's lists: the case's, and its own LiKa's part, not
		// the other publishers' (which the distributor may see).
		p.Lists = slices.DeleteFunc(p.Lists, func(v cmr.ListVersion) bool { return v.TicketID != "" && v.TicketID != t.ID })
	}
	p.ListsRead = listsRead
	p.ListsGone = listsRead && t.State == cmr.TicketWaived && ss.User.Role == cmr.RolePublisher && t.LiKaID == ss.User.OrganisationID
	if listsRead && cs.Sector == cmr.SectorMBO && cs.Status == cmr.CaseOpen && t.State == cmr.TicketAwaitingList {
		p.PartDue = !slices.ContainsFunc(p.Lists, func(v cmr.ListVersion) bool { return v.Kind == cmr.ListSupplier })
		p.Upload = ss.User.Role == cmr.RolePublisher && t.LiKaID == ss.User.OrganisationID
	}
	return s.render(c, status, "ticket", p)
}

// parseRows reads "row: reason" lines into unprocessed rows; the rows it
// could read come back with the error naming every line it could not.
func parseRows(text string) ([]cmr.UnprocessedRow, error) {
	var rows []cmr.UnprocessedRow
	var bad []string
	for i, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		num, reason, ok := strings.Cut(line, ":")
		n, err := strconv.Atoi(strings.TrimSpace(num))
		if !ok || err != nil {
			bad = append(bad, strconv.Itoa(i+1))
			continue
		}
		rows = append(rows, cmr.UnprocessedRow{Row: n, Reason: strings.TrimSpace(reason)})
	}
	// The lines are not quoted: a reason may name a pupil, and the form
	// shows the text again anyway.
	switch len(bad) {
	case 0:
		return rows, nil
	case 1:
		return rows, cmr.FieldErrorf("unprocessed", "line %s of the box is not \"row number in the list: reason\"", bad[0]).
			NL("tekstregel %s in het vak heeft niet de vorm \"regelnummer in de lijst: reden\"", bad[0])
	}
	last := len(bad) - 1
	return rows, cmr.FieldErrorf("unprocessed", "lines %s and %s of the box are not \"row number in the list: reason\"", strings.Join(bad[:last], ", "), bad[last]).
		NL("tekstregels %s en %s in het vak hebben niet de vorm \"regelnummer in de lijst: reden\"", strings.Join(bad[:last], ", "), bad[last])
}

// truncate shortens s to at most n characters (not bytes).
func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}

// closeTicket handles POST /tickets/:id/close from the ticket page: the
// LiKa closes with a note and the rows it could not process.
func (s *Server) closeTicket(c echo.Context) error {
	ctx := c.Request().Context()
	ss := current(c)
	t, err := s.Store.Ticket(ctx, viewer(ss), c.Param("id"))
	if err != nil {
		return s.fail(c, ss, err)
	}
	note, rowsText := strings.TrimSpace(c.FormValue("text")), c.FormValue("unprocessed")
	refuse := func(err error) error {
		if kind := cmr.KindOf(err); kind == "" || kind == cmr.KindUnavailable {
			return s.fail(c, ss, err)
		}
		if c.FormValue("from") != "ticket" {
			cs, cerr := s.Store.Case(ctx, viewer(ss), t.CaseID)
			if cerr != nil {
				return s.fail(c, ss, cerr)
			}
			keepTicketText(c, t)
			return s.showCase(c, ss, cs, statusOf(err), "ticket-"+t.ID, s.refusal(c, err))
		}
		return s.showTicket(c, ss, t, statusOf(err), s.refusal(c, err), note, rowsText)
	}
	if err := casework.CheckResolve(t, cmr.TicketClosed, actorOf(ss)); err != nil {
		return refuse(err) // before the rows are looked up: a closed ticket says so
	}
	if len(note) > 2000 {
		return refuse(cmr.FieldErrorf("note", "is longer than 2000 characters").NL("is langer dan 2000 tekens"))
	}
	data := map[string]any{"note": note}
	// The lines that are not "row: reason" and the rows at fault in the
	// list, in one refusal.
	rows, badLines := parseRows(rowsText)
	var badRows error
	switch {
	case len(rows) > 0 && s.Lists == nil:
		badRows = cmr.FieldErrorf("unprocessed", "this case has no list to refer to").NL("deze zaak heeft geen lijst om naar te verwijzen")
	case len(rows) > 0:
		var extra map[string]any
		if extra, badRows = s.Lists.UnprocessedData(ctx, actorOf(ss), t, rows); badRows == nil {
			for k, v := range extra {
				data[k] = v
			}
		}
	}
	if err := cmr.Beside(badLines, badRows); err != nil {
		return refuse(err)
	}
	if _, err := casework.ResolveTicket(ctx, s.Submissions, s.Engine, actorOf(ss), t, cmr.TicketClosed, data); err != nil {
		return refuse(err)
	}
	if c.FormValue("from") == "ticket" {
		return c.Redirect(http.StatusSeeOther, "/tickets/"+t.ID)
	}
	return c.Redirect(http.StatusSeeOther, "/cases/"+t.CaseID+"#tickets")
}

// returnList handles POST /tickets/:id/return: the distributor returns
// the completed MBO list to the ticket's publisher (step 8c).
func (s *Server) returnList(c echo.Context) error {
	ctx := c.Request().Context()
	ss := current(c)
	t, err := s.Store.Ticket(ctx, viewer(ss), c.Param("id"))
	if err != nil {
		return s.fail(c, ss, err)
	}
	if err := s.Lists.ReturnList(ctx, actorOf(ss), t.ID); err != nil {
		if kind := cmr.KindOf(err); kind == "" || kind == cmr.KindUnavailable {
			return s.fail(c, ss, err)
		}
		cs, cerr := s.Store.Case(ctx, viewer(ss), t.CaseID)
		if cerr != nil {
			return s.fail(c, ss, cerr)
		}
		// A list that leaves out rows of the publisher's part names them:
		// the distributor sees which, to ask the school for.
		return s.showCaseReport(c, ss, cs, statusOf(err), "ticket-"+t.ID, s.refusal(c, err), problemsOf(err))
	}
	return c.Redirect(http.StatusSeeOther, "/cases/"+t.CaseID+"#tickets")
}
