package api

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"runtime"
	"slices"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/cmr-idp/cmr"
	"github.com/cmr-idp/cmr/aesgcm"
	"github.com/cmr-idp/cmr/casework"
	"github.com/cmr-idp/cmr/gormdb"
	"github.com/cmr-idp/cmr/waswordt"
)

// ListStore is what the list routes need of the store.
type ListStore interface {
	CaseKey(ctx context.Context, caseID string, create func() ([]byte, error)) ([]byte, error)
	NextListVersion(ctx context.Context, caseID, ticketID, kind string) (int, error)
	// SaveList commits only if ready (called last, inside the
	// transaction) returns nil. It reads the ciphertext as it writes it.
	SaveList(ctx context.Context, v cmr.ListVersion, ciphertext io.Reader, ready func() error) (cmr.ListVersion, error)
	Lists(ctx context.Context, v gormdb.Viewer, caseID string) ([]cmr.ListVersion, error)
	ListData(ctx context.Context, v gormdb.Viewer, caseID, listID string) (cmr.ListVersion, []byte, error)
	AppendEvent(ctx context.Context, e cmr.Event) error
	// OverNetwork says whether the database is a server across the
	// network (see waswordt.Checker.OneCore).
	OverNetwork() bool
}

// errNoListStorage answers a list route of a server started without the
// key that lists are encrypted with.
func errNoListStorage() error {
	return cmr.Errorf(cmr.KindUnavailable, "list storage is not configured (set CMR_MASTER_KEY)").
		NL("het opslaan van lijsten is nog niet ingericht; neem contact op met de beheerder")
}

// listReport is the body of a refused upload: every problem by row and
// column, in Dutch and English.
func listReport(rep *waswordt.Report) error {
	n := len(rep.Problems) + rep.More
	return &cmr.Error{Kind: cmr.KindInvalid, Field: "file",
		Message:   fmt.Sprintf("the list was not stored: %d problem(s) to fix, listed by row and column in details.problems", n),
		MessageNL: fmt.Sprintf("de lijst is niet opgeslagen: verbeter de %d punt(en) hieronder, per regel en kolom, en upload opnieuw", n),
		Details:   map[string]any{"problems": rep.Problems, "more": rep.More}}
}

// readUpload reads the file from the body: either the raw bytes, or the
// part named "file" of a multipart form. It is read into memory within the
// upload limit and never written to disk; into a string, whose parts the
// cells of a CSV become.
func readUpload(c echo.Context) (string, error) {
	r := c.Request()
	limit := int64(waswordt.MaxUploadBytes)
	mt, _, _ := mime.ParseMediaType(r.Header.Get(echo.HeaderContentType))
	var src io.Reader = r.Body
	if mt == "multipart/form-data" {
		mr, err := r.MultipartReader()
		if err != nil {
			return "", cmr.Errorf(cmr.KindInvalid, "the multipart form could not be read").NL("het formulier kon niet worden gelezen; probeer het opnieuw")
		}
		for {
			p, err := mr.NextPart()
			if err != nil {
				return "", cmr.FieldErrorf("file", "send the list as the form field \"file\"").NL("kies een bestand om te uploaden")
			}
			if p.FormName() == "file" {
				src = p
				break
			}
		}
	}
	var buf strings.Builder
	if n := r.ContentLength; n > 0 && n <= limit && mt != "multipart/form-data" {
		buf.Grow(int(n) + 1)
	}
	_, err := io.Copy(&buf, io.LimitReader(src, limit+1))
	data := buf.String()
	if err != nil {
		return "", cmr.Errorf(cmr.KindInvalid, "the upload could not be read; try again").NL("het bestand kon niet worden gelezen; probeer het opnieuw")
	}
	if int64(len(data)) > limit {
		return "", listReport(&waswordt.Report{Problems: []waswordt.Problem{{Code: "too_large",
			NL: fmt.Sprintf("Het bestand is groter dan %d MB.", limit>>20), EN: fmt.Sprintf("The file is larger than %d MB.", limit>>20)}}})
	}
	return data, nil
}

// parseList reads an upload and checks its rows. The checks across rows
// may still run when it returns: storeList has them finish before it
// commits, and refusals for other reasons wait for them (refuse), so that
// a list's own problems always come first and all at once.
//
// With against, the rows are also checked against what the case already
// holds (an MBO school's list against the rows the publishers supplied),
// whether or not they have problems of their own: its problems (nil for
// none) follow the file's in the same refusal.
func (s *Server) parseList(f waswordt.Format, part waswordt.Part, read func() (waswordt.Table, error), opt waswordt.Options, against func(waswordt.List) (*waswordt.Report, error)) (*waswordt.Pending, error) {
	t, err := read()
	if err != nil {
		return nil, asListReport(err)
	}
	p, err := s.checker.Start(f, part, t, opt)
	if against == nil {
		return p, asListReport(err)
	}
	var rows waswordt.List
	own, _ := err.(*waswordt.Report)
	switch {
	case err == nil:
		rows = p.List
	case own != nil:
		var ok bool
		if rows, ok = own.Rows(); !ok {
			return nil, listReport(own) // not read as rows: nothing to hold against the case
		}
	default:
		return nil, err
	}
	more, err := against(rows)
	if err != nil {
		if p != nil {
			return nil, refuse(p, err)
		}
		return nil, listReport(own) // the file's own problems stand
	}
	if own == nil && more != nil {
		own, _ = p.Wait().(*waswordt.Report) // the checks across rows, to come first
	}
	switch {
	case own == nil && more == nil:
		return p, nil
	case own == nil:
		return nil, listReport(more)
	case more != nil:
		own.Append(more)
	}
	return nil, listReport(own)
}

// readLater starts reading an upload on a goroutine of its own, so that
// the file is read while its case is looked up and checked (a 50,000-row
// CSV takes a few milliseconds, the case about one), and returns the wait
// for it, which may be called any number of times. Every way out of an
// upload waits for it, refusals too: the reading stays within the
// request, its deadline and the cap on requests in flight.
func readLater(read func() (waswordt.Table, error)) func() (waswordt.Table, error) {
	done := make(chan struct{})
	var t waswordt.Table
	var err error
	go func() {
		defer close(done)
		// Off the request's goroutine, a panic in a reader (excelize's,
		// say) would pass the router's recovery and end the process.
		t, err = readSafely(read)
	}()
	return func() (waswordt.Table, error) {
		<-done
		return t, err
	}
}

// readSafely runs read, turning a panic in it into an error that says
// what failed without the panic's value (see panicText).
func readSafely(read func() (waswordt.Table, error)) (t waswordt.Table, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("read upload: the reader failed: %v", panicText(p))
		}
	}()
	return read()
}

// panicText says what a recovered panic was without its value unless the
// runtime made it: a library's own panic value might quote the file.
func panicText(p any) string {
	if re, ok := p.(runtime.Error); ok {
		return re.Error()
	}
	return fmt.Sprintf("a panic of type %T", p)
}

func asListReport(err error) error {
	if rep, ok := err.(*waswordt.Report); ok {
		return listReport(rep)
	}
	return err
}

// refuse is err, unless the list itself turns out to have problems.
func refuse(p *waswordt.Pending, err error) error {
	if lerr := p.Wait(); lerr != nil {
		return asListReport(lerr)
	}
	return err
}

func (s *Server) dataKey(ctx context.Context, caseID string) ([]byte, error) {
	if s.Keyring == nil || s.Lists == nil {
		return nil, errNoListStorage()
	}
	wrapped, err := s.Lists.CaseKey(ctx, caseID, func() ([]byte, error) {
		_, w, err := s.Keyring.NewDataKey(caseID)
		return w, err
	})
	if err != nil {
		return nil, err
	}
	return s.Keyring.Unwrap(caseID, wrapped)
}

// storeList encrypts and stores a checked list as the next version (or as
// version, refused if that is no longer the next). The
// checks across its rows run meanwhile; the version is committed only if
// they pass, else nothing of the list is stored and their report is the
// answer, whatever else went wrong. (The case's data key may be made
// before they finish: it holds nothing of the list.) The list is packed
// and sealed as the store writes it (sealList).
func (s *Server) storeList(ctx context.Context, cs cmr.Case, ticketID, kind string, p *waswordt.Pending, by cmr.Actor, version int) (cmr.ListVersion, error) {
	fail := func(err error) (cmr.ListVersion, error) { return cmr.ListVersion{}, refuse(p, err) }
	key, err := s.dataKey(ctx, cs.ID)
	if err != nil {
		return fail(err)
	}
	if version == 0 {
		if version, err = s.Lists.NextListVersion(ctx, cs.ID, ticketID, kind); err != nil {
			return fail(err)
		}
	}
	l := p.List
	v := cmr.ListVersion{ID: gormdb.NewListID(), CaseID: cs.ID, TicketID: ticketID, Kind: kind, Format: string(l.Format), Version: version, RowCount: len(l.Rows), UploadedBy: by}
	sealed, stop := s.sealList(key, aesgcm.Binding(cs.ID, v.ID, v.Version), l)
	v, err = s.Lists.SaveList(ctx, v, sealed, func() error { return asListReport(p.Wait()) })
	stop()
	if err != nil {
		return fail(err)
	}
	return v, nil
}

// sealList packs, compresses and seals l in chunks on a goroutine of its
// own, handing the ciphertext on as it goes, so that no packed or sealed
// copy of the whole list is made: 3.3 MB less garbage for a 50,000-row
// list (the database also stores the first parts while the rest is still
// being packed, but the two cores were busy already; see the README).
// stop ends the goroutine, wherever the reader stopped, and waits for it.
func (s *Server) sealList(key, aad []byte, l waswordt.List) (sealed io.Reader, stop func()) {
	r, w := io.Pipe()
	done := make(chan struct{})
	go func() {
		defer close(done)
		// Off the request's goroutine, a panic in packing would pass
		// the router's recovery and end the process. (The compressor
		// and the sealer behind it run on the compressor's goroutines.)
		defer func() {
			if p := recover(); p != nil {
				w.CloseWithError(fmt.Errorf("seal list: %s", panicText(p)))
			}
		}()
		cs, err := aesgcm.NewChunkSealer(key, aad, w)
		if err == nil {
			err = s.encoder.EncodeTo(cs, l)
		}
		if err == nil {
			err = cs.Close()
		}
		w.CloseWithError(err) // nil: the reader gets io.EOF
	}()
	return r, func() {
		r.CloseWithError(errSealingStopped)
		<-done
	}
}

var errSealingStopped = errors.New("seal list: the store stopped reading")

// loadList decrypts a stored list version.
func (s *Server) loadList(ctx context.Context, v gormdb.Viewer, caseID, listID string) (cmr.ListVersion, waswordt.List, error) {
	meta, sealed, err := s.Lists.ListData(ctx, v, caseID, listID)
	if err != nil {
		return meta, waswordt.List{}, err
	}
	if sealed == nil {
		return meta, waswordt.List{}, cmr.Errorf(cmr.KindConflict, "this list was deleted after the retention period").
			NL("deze lijst is verwijderd omdat de bewaartermijn voorbij is")
	}
	key, err := s.dataKey(ctx, caseID)
	if err != nil {
		return meta, waswordt.List{}, err
	}
	plain, err := aesgcm.Open(key, sealed, aesgcm.Binding(caseID, meta.ID, meta.Version))
	if err != nil {
		return meta, waswordt.List{}, fmt.Errorf("open list %s: %w", meta.ID, err)
	}
	l, err := waswordt.Decode(plain)
	if err != nil {
		return meta, waswordt.List{}, fmt.Errorf("decode list %s: %w", meta.ID, err)
	}
	return meta, l, nil
}

func (s *Server) current(ctx context.Context, v gormdb.Viewer, caseID, ticketID, kind string) (cmr.ListVersion, bool, error) {
	vs, err := s.Lists.Lists(ctx, v, caseID)
	if err != nil {
		return cmr.ListVersion{}, false, err
	}
	for _, lv := range vs {
		if lv.Current && lv.Kind == kind && (ticketID == "*" || lv.TicketID == ticketID) {
			return lv, true, nil
		}
	}
	return cmr.ListVersion{}, false, nil
}

func listJSON(v cmr.ListVersion) map[string]any {
	m := map[string]any{"id": v.ID, "kind": v.Kind, "format": v.Format, "version": v.Version, "rows": v.RowCount,
		"uploaded_by": v.UploadedBy, "uploaded_at": v.UploadedAt.Format("2006-01-02T15:04:05Z07:00"), "current": v.Current}
	if v.TicketID != "" {
		m["ticket_id"] = v.TicketID
	}
	return m
}

func fileKind(c echo.Context) (waswordt.FileKind, error) {
	switch t := c.QueryParam("type"); t {
	case "", "csv":
		return waswordt.CSV, nil
	case "xlsx":
		return waswordt.XLSX, nil
	default:
		return "", cmr.FieldErrorf("type", "must be csv or xlsx, got %q", t).NL("moet CSV of XLSX zijn, niet %q", t)
	}
}

func sendFile(c echo.Context, kind waswordt.FileKind, name string, data []byte) error {
	h := c.Response().Header()
	h.Set(echo.HeaderContentDisposition, fmt.Sprintf("attachment; filename=%q", name+"."+string(kind)))
	h.Set("Cache-Control", "no-store")
	return c.Blob(http.StatusOK, kind.ContentType(), data)
}

// template handles GET /api/v1/lists/templates/:format?part=&type=: an
// empty list with the dataset's Dutch headings.
func (s *Server) template(c echo.Context) error {
	f, ok := waswordt.Lookup(waswordt.FormatID(c.Param("format")))
	if !ok {
		return cmr.FieldErrorf("format", "must be vo, mbo-non-eck or mbo-eck").NL("kies een sjabloon: VO, MBO zonder ECK iD of MBO met ECK iD")
	}
	part := waswordt.Complete
	switch c.QueryParam("part") {
	case "", "complete":
	case "supplier":
		part = waswordt.SupplierPart
	default:
		return cmr.FieldErrorf("part", "must be complete or supplier").NL("kies de volledige lijst of het deel van de uitgever")
	}
	kind, err := fileKind(c)
	if err != nil {
		return err
	}
	data, err := waswordt.Template(f, part, kind)
	if err != nil {
		return err
	}
	return sendFile(c, kind, "sjabloon-"+string(f.ID), data)
}

func (s *Server) needsList(cs cmr.Case) error {
	if cs.WasWordt == cmr.WasWordtNone {
		return cmr.Errorf(cmr.KindConflict, "case %s has no was-wordt list (calamity, or no learning history kept)", cs.ID).
			NL("zaak %s heeft geen was-wordt-lijst (calamiteit, of de leerhistorie wordt niet bewaard)", cs.ID)
	}
	if cs.Status != cmr.CaseOpen {
		return cmr.Errorf(cmr.KindConflict, "case %s is %s: lists can no longer change", cs.ID, cs.Status).
			NL("zaak %s is %s: lijsten kunnen niet meer veranderen", cs.ID, cs.Status.Dutch())
	}
	return nil
}

func asViewer(me cmr.Actor) gormdb.Viewer {
	return gormdb.Viewer{OrganisationID: me.OrganisationID, Role: me.Role}
}

// uploadCaseList handles POST /api/v1/cases/:id/lists (see UploadCaseList);
// ?several_realms=true confirms new identities in more than one realm.
func (s *Server) uploadCaseList(c echo.Context) error {
	several := false
	if q := c.QueryParam("several_realms"); q != "" {
		var err error
		if several, err = strconv.ParseBool(q); err != nil {
			return cmr.FieldErrorf("several_realms", "is %q; use true to confirm new identities in several realms", q).
				NL("is %q; gebruik true om nieuwe identiteiten in meer dan één realm te bevestigen", q)
		}
	}
	data, err := readUpload(c)
	if err != nil {
		return err
	}
	v, err := s.UploadCaseList(c.Request().Context(), actor(c), c.Param("id"), data, several)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, listJSON(v))
}

// UploadCaseList stores the school's complete list (VO, step 11) or the
// list it completed with the "wordt" columns (MBO, step 8b). A valid
// upload becomes the current version; an invalid one stores nothing and
// answers every problem by row and column. The web pages call it too.
func (s *Server) UploadCaseList(ctx context.Context, me cmr.Actor, caseID, file string, severalRealms bool) (cmr.ListVersion, error) {
	read := readLater(func() (waswordt.Table, error) { return waswordt.ReadString(file) })
	return s.storeCaseList(ctx, me, caseID, read, severalRealms, 0)
}

// storeCaseList checks and stores the school's list (see UploadCaseList)
// as read gives it: from an uploaded file or from rows completed one by
// one (SaveWordtRows). An MBO list may leave rows open for the school to
// fill in later; their publishers' returns wait for them. A version
// other than 0 is the one to store, refused if another came first.
func (s *Server) storeCaseList(ctx context.Context, me cmr.Actor, caseID string, read func() (waswordt.Table, error), severalRealms bool, version int) (cmr.ListVersion, error) {
	fail := func(err error) (cmr.ListVersion, error) {
		read()
		return cmr.ListVersion{}, err
	}
	cs, err := s.Store.Case(ctx, asViewer(me), caseID)
	if err != nil {
		return fail(err)
	}
	if me.Role != cmr.RoleSchool {
		return fail(cmr.Errorf(cmr.KindForbidden, "the school uploads the case's list; a LiKa uploads its part on its ticket").
			NL("de school uploadt de lijst van de zaak; een LiKa uploadt zijn deel op de lijstenpagina van de zaak"))
	}
	if err := s.needsList(cs); err != nil {
		return fail(err)
	}
	f := waswordt.ForCase(cs.Scenario)
	mbo := cs.Sector == cmr.SectorMBO
	if mbo && cs.ReturnedToAll() {
		// Said before the file's rows: whatever they hold, no version
		// after this reaches a publisher. (A version checked while the
		// last return went through may still be stored; the publishers
		// have the version their returns were checked against.)
		return fail(cmr.Errorf(cmr.KindConflict, "the completed list was already returned to every publisher and can no longer be replaced; ask the distributor how to correct it").
			NL("de aangevulde lijst is al aan elke uitgever teruggegeven en kan niet meer worden vervangen; vraag de distributeur hoe u een fout herstelt"))
	}
	// An MBO school's list keeps every row a publisher supplied, and the
	// rows a publisher already got back as they were: the rows it leaves
	// out or changes are named with the file's own problems.
	var supplied func(waswordt.List) (*waswordt.Report, error)
	if mbo {
		supplied = func(l waswordt.List) (*waswordt.Report, error) {
			rep, err := s.coverage(ctx, asViewer(me), cs, l, "", false)
			if err != nil {
				return nil, err
			}
			kept, err := s.keepReturned(ctx, asViewer(me), cs, l)
			switch {
			case err != nil:
				return nil, err
			case rep == nil:
				return kept, nil
			case kept != nil:
				rep.Append(kept)
			}
			return rep, nil
		}
	}
	p, err := s.parseList(f, waswordt.Complete, read, waswordt.Options{SeveralRealms: severalRealms, OpenRows: mbo}, supplied)
	if err != nil {
		return fail(err)
	}
	if mbo {
		return s.storeList(ctx, cs, "", cmr.ListReturned, p, me, version)
	}
	// Once handed out, the list stays what the LiKas work from.
	if len(cs.Tickets) > 0 {
		t := cs.Tickets[0]
		return fail(refuse(p, cmr.Errorf(cmr.KindConflict, "the list was already handed to the LiKas (ticket %s) and can no longer be replaced; ask the distributor how to correct it", t.ID).
			NL("de lijst is al aan de LiKa's gegeven (ticket %s) en kan niet meer worden vervangen; vraag de distributeur hoe u een fout herstelt", t.ID)))
	}
	return s.storeList(ctx, cs, "", cmr.ListComplete, p, me, version)
}

// uploadTicketList handles POST /api/v1/tickets/:id/list (see UploadTicketList).
func (s *Server) uploadTicketList(c echo.Context) error {
	data, err := readUpload(c)
	if err != nil {
		return err
	}
	v, err := s.UploadTicketList(c.Request().Context(), actor(c), c.Param("id"), data)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, listJSON(v))
}

// UploadTicketList stores an MBO publisher's "was" part (columns 1-4 or
// 1-6) on its ticket.
func (s *Server) UploadTicketList(ctx context.Context, me cmr.Actor, ticketID, file string) (cmr.ListVersion, error) {
	read := readLater(func() (waswordt.Table, error) { return waswordt.ReadString(file) })
	fail := func(err error) (cmr.ListVersion, error) {
		read()
		return cmr.ListVersion{}, err
	}
	t, err := s.Store.Ticket(ctx, asViewer(me), ticketID)
	if err != nil {
		return fail(err)
	}
	if me.Role != cmr.RolePublisher || me.OrganisationID != t.LiKaID {
		return fail(cmr.Errorf(cmr.KindForbidden, "only the ticket's LiKa uploads its part of the list").
			NL("alleen de LiKa van het ticket uploadt zijn deel van de lijst"))
	}
	cs, err := s.Store.Case(ctx, asViewer(me), t.CaseID)
	if err != nil {
		return fail(err)
	}
	if cs.Sector != cmr.SectorMBO {
		return fail(cmr.Errorf(cmr.KindConflict, "in VO the school delivers the complete list; a LiKa downloads it from its ticket").
			NL("in het VO levert de school de volledige lijst; een LiKa downloadt die op zijn ticketpagina"))
	}
	if err := s.needsList(cs); err != nil {
		return fail(err)
	}
	if t.State.Resolved() {
		return fail(cmr.Errorf(cmr.KindConflict, "ticket %s is %s: the case needs no part of yours any more", t.ID, t.State).
			NL("ticket %s is %s: de zaak heeft uw deel niet meer nodig", t.ID, t.State.Dutch()))
	}
	if t.State != cmr.TicketAwaitingList {
		return fail(cmr.Errorf(cmr.KindConflict, "the completed list was already returned to you; your part can no longer change").
			NL("de aangevulde lijst is al aan u teruggegeven; uw deel kan niet meer veranderen"))
	}
	// Step 8a forwarded the parts to the school, which completes what it
	// got: a part changed after that would leave its list short.
	if cs.StepDone("8a") {
		return fail(cmr.Errorf(cmr.KindConflict, "the publishers' parts were forwarded to the school (step 8a); your part can no longer change: ask the distributor").
			NL("de delen van de uitgevers zijn doorgestuurd naar de school (stap 8a); uw deel kan niet meer veranderen: neem contact op met de distributeur"))
	}
	p, err := s.parseList(waswordt.ForCase(cs.Scenario), waswordt.SupplierPart, read, waswordt.Options{}, nil)
	if err != nil {
		return fail(err)
	}
	return s.storeList(ctx, cs, t.ID, cmr.ListSupplier, p, me, 0)
}

// listVersions handles GET /api/v1/cases/:id/lists: every version with
// who uploaded it when (no rows).
func (s *Server) listVersions(c echo.Context) error {
	vs, err := s.CaseLists(c.Request().Context(), actor(c), c.Param("id"))
	if err != nil {
		return err
	}
	out := make([]map[string]any, len(vs))
	for i, v := range vs {
		out[i] = listJSON(v)
	}
	return c.JSON(http.StatusOK, map[string]any{"lists": out})
}

// CaseLists returns the list versions of a case that me may see (no rows).
func (s *Server) CaseLists(ctx context.Context, me cmr.Actor, caseID string) ([]cmr.ListVersion, error) {
	if s.Lists == nil {
		return nil, nil
	}
	vs, _, err := s.visibleLists(ctx, me, caseID, true)
	return vs, err
}

// visibleLists applies who may see which list: the school and the
// distributor see every version; Kennisnet none (it has no part in the
// lists); a LiKa, once its ticket exists, the VO list, its own MBO part,
// and the school's completed MBO list only after it was returned to it
// (and then only its own rows, see ListFile).
//
// With counted, a LiKa's returned list says the rows of its own file
// (which takes decrypting the list and its part); a download, which
// reduces the list itself, does without.
func (s *Server) visibleLists(ctx context.Context, me cmr.Actor, caseID string, counted bool) ([]cmr.ListVersion, *cmr.Ticket, error) {
	vs, err := s.Lists.Lists(ctx, asViewer(me), caseID)
	if err != nil {
		return nil, nil, err
	}
	switch me.Role {
	case cmr.RoleSchool, cmr.RoleDistributor:
		return vs, nil, nil
	case cmr.RolePublisher:
	default:
		return nil, nil, cmr.Errorf(cmr.KindForbidden, "was-wordt lists hold pupils' data: only the school, the distributor and the LiKas of the case may see them").
			NL("was-wordt-lijsten bevatten leerlinggegevens: alleen de school, de distributeur en de LiKa's van de zaak mogen ze inzien")
	}
	tickets, err := s.Store.Tickets(ctx, asViewer(me), gormdb.TicketFilter{CaseID: caseID})
	if err != nil {
		return nil, nil, err
	}
	if len(tickets) == 0 {
		return nil, nil, nil
	}
	own := tickets[0]
	if own.State == cmr.TicketWaived || own.State == cmr.TicketCancelled {
		// Taken off the case (waived, or the case cancelled): the LiKa
		// processes nothing, so it no longer sees the pupils' list.
		return nil, &own, nil
	}
	got, err := s.returnedVersions(ctx, asViewer(me), caseID, vs, tickets[:1])
	if err != nil {
		return nil, nil, err
	}
	var out []cmr.ListVersion
	for _, v := range vs {
		switch v.Kind {
		case cmr.ListComplete:
			// The list handed out (step 14 locks it), not the school's
			// drafts before it: a pupil left out of the final list is
			// none of the LiKa's business.
			if v.Current {
				out = append(out, v)
			}
		case cmr.ListSupplier:
			if v.TicketID == own.ID {
				out = append(out, v)
			}
		case cmr.ListReturned:
			// Only once the distributor returned it to this LiKa, which
			// starts the ticket's clock (a ticket that left "awaiting
			// list" by being waived or cancelled never got the list),
			// and only the version it got.
			if lv, ok := got[own.ID]; ok && lv.ID == v.ID {
				if !counted {
					out = append(out, v)
					continue
				}
				// Its rows are those of the file it gets: its own,
				// not the count of every publisher's.
				_, returned, err := s.loadList(ctx, asViewer(me), caseID, v.ID)
				if err != nil {
					return nil, nil, err
				}
				mine, err := s.ownRows(ctx, asViewer(me), caseID, own, returned)
				if err != nil {
					return nil, nil, err
				}
				v.RowCount = len(mine.Rows)
				out = append(out, v)
			}
		}
	}
	return out, &own, nil
}

// downloadList handles GET /api/v1/cases/:id/lists/:list?type=csv|xlsx.
func (s *Server) downloadList(c echo.Context) error {
	kind, err := fileKind(c)
	if err != nil {
		// A list the caller may not see is not found, whatever ?type says.
		vs, lerr := s.CaseLists(c.Request().Context(), actor(c), c.Param("id"))
		if lerr != nil {
			return lerr
		}
		if !slices.ContainsFunc(vs, func(v cmr.ListVersion) bool { return v.ID == c.Param("list") }) {
			return cmr.ErrNotFound
		}
		return err
	}
	name, data, err := s.ListFile(c.Request().Context(), actor(c), c.Param("id"), c.Param("list"), kind)
	if err != nil {
		return err
	}
	s.securityEvent(c, slog.LevelInfo, eventListDownload, "format", string(kind))
	return sendFile(c, kind, name, data)
}

// ListFile renders a list version me may see as a file, and records the
// download in the audit trail. It returns the file's name without
// extension.
func (s *Server) ListFile(ctx context.Context, me cmr.Actor, caseID, listID string, kind waswordt.FileKind) (string, []byte, error) {
	if s.Lists == nil {
		return "", nil, cmr.ErrNotFound
	}
	vs, own, err := s.visibleLists(ctx, me, caseID, false)
	if err != nil {
		return "", nil, err
	}
	visible := false
	for _, v := range vs {
		visible = visible || v.ID == listID
	}
	if !visible {
		return "", nil, cmr.ErrNotFound
	}
	meta, l, err := s.loadList(ctx, asViewer(me), caseID, listID)
	if err != nil {
		return "", nil, err
	}
	if own != nil && meta.Kind == cmr.ListReturned {
		// A publisher gets back its own rows, completed: not the others'.
		if l, err = s.ownRows(ctx, asViewer(me), caseID, *own, l); err != nil {
			return "", nil, err
		}
	}
	data, err := waswordt.Render(l, kind)
	if err != nil {
		return "", nil, err
	}
	// A publisher's download goes with its own ticket, so that the other
	// publishers on the case do not see it (cmr.Event.VisibleTo); the
	// complete and returned lists have no ticket of their own.
	ticketID := meta.TicketID
	if own != nil {
		ticketID = own.ID
	}
	if err := s.Lists.AppendEvent(ctx, cmr.Event{CaseID: caseID, TicketID: ticketID, Type: cmr.EventListDownloaded, Actor: &me,
		Details: map[string]any{"list_id": meta.ID, "kind": meta.Kind, "version": meta.Version, "type": string(kind)}}); err != nil {
		return "", nil, err
	}
	return fmt.Sprintf("was-wordt-%s-v%d", caseID, meta.Version), data, nil
}

// ownRows keeps the rows of the school's completed list that this
// publisher supplied, in the list's order, each with the publisher's own
// cells in its columns: rows are matched on a key that ignores case (and,
// for ECK, everything but the old ProfileId), and the merged list the
// school completed carries the first publisher's spelling of a student
// several supplied; each publisher gets back what it sent. Each row keeps
// its Line in the school's list, which the rows of the publisher's file
// (2, 3, …) refer to.
func (s *Server) ownRows(ctx context.Context, v gormdb.Viewer, caseID string, t cmr.Ticket, returned waswordt.List) (waswordt.List, error) {
	part, ok, err := s.current(ctx, v, caseID, t.ID, cmr.ListSupplier)
	if err != nil || !ok {
		return waswordt.List{}, err
	}
	_, supplied, err := s.loadList(ctx, v, caseID, part.ID)
	if err != nil {
		return waswordt.List{}, err
	}
	f, _ := waswordt.Lookup(returned.Format)
	want := map[string][][]string{}
	for _, r := range supplied.Rows {
		k := supplierKey(f, r.Cells)
		want[k] = append(want[k], r.Cells)
	}
	out := waswordt.List{Format: returned.Format, Part: returned.Part}
	for _, r := range returned.Rows {
		k := supplierKey(f, r.Cells)
		if len(want[k]) == 0 {
			continue
		}
		cells := slices.Clone(r.Cells)
		copy(cells, want[k][0]) // supplier columns come first in every MBO dataset
		want[k] = want[k][1:]
		out.Rows = append(out.Rows, waswordt.Row{Line: r.Line, Cells: cells})
	}
	return out, nil
}

// merged returns the current parts of all publishers as one list with the
// school's columns empty, in the order of the tickets' IDs; its row
// numbers are the ones coverage problems and the rows page refer to, so
// they must not move when a return starts a ticket's clock (the case
// lists its tickets by due moment, and by ID before any clock runs).
func (s *Server) merged(ctx context.Context, v gormdb.Viewer, cs cmr.Case) (waswordt.List, []string, error) {
	f := waswordt.ForCase(cs.Scenario)
	out := waswordt.List{Format: f.ID, Part: waswordt.Complete}
	emitted := map[string]int{}
	var missing []string
	for _, t := range cmr.TicketsByID(cs.Tickets) {
		if t.State == cmr.TicketWaived || t.State == cmr.TicketCancelled {
			// The distributor let this publisher go: the case needs
			// neither its part nor the school's completion of it.
			continue
		}
		lv, ok, err := s.current(ctx, v, cs.ID, t.ID, cmr.ListSupplier)
		if err != nil {
			return out, nil, err
		}
		if !ok {
			missing = append(missing, t.LiKaID)
			continue
		}
		_, part, err := s.loadList(ctx, v, cs.ID, lv.ID)
		if err != nil {
			return out, nil, err
		}
		// A student on several publishers' lists appears once: each key
		// as often as the most any one publisher supplied it.
		mine := map[string]int{}
		for _, r := range part.Rows {
			k := supplierKey(f, r.Cells)
			mine[k]++
			if mine[k] <= emitted[k] {
				continue
			}
			emitted[k]++
			cells := make([]string, len(f.Columns))
			copy(cells, r.Cells) // supplier columns come first in every MBO dataset
			out.Rows = append(out.Rows, waswordt.Row{Line: len(out.Rows) + 2, Cells: cells})
		}
	}
	return out, missing, nil
}

// mergedList handles GET /api/v1/cases/:id/lists/merged (see MergedFile).
func (s *Server) mergedList(c echo.Context) error {
	kind, err := fileKind(c)
	if err != nil {
		return err
	}
	name, data, err := s.MergedFile(c.Request().Context(), actor(c), c.Param("id"), kind)
	if err != nil {
		return err
	}
	s.securityEvent(c, slog.LevelInfo, eventListDownload, "merged", true, "format", string(kind))
	return sendFile(c, kind, name, data)
}

// MergedFile is the publishers' parts as one file for the school to fill
// in (MBO), with what it filled in so far, recorded as a download.
func (s *Server) MergedFile(ctx context.Context, me cmr.Actor, caseID string, kind waswordt.FileKind) (string, []byte, error) {
	cs, err := s.Store.Case(ctx, asViewer(me), caseID)
	if err != nil {
		return "", nil, err
	}
	if me.Role != cmr.RoleSchool && me.Role != cmr.RoleDistributor {
		return "", nil, cmr.Errorf(cmr.KindForbidden, "the merged list is for the school and the distributor").
			NL("de samengevoegde lijst is alleen voor de school en de distributeur")
	}
	if cs.Sector != cmr.SectorMBO {
		return "", nil, cmr.Errorf(cmr.KindConflict, "only MBO lists are put together from the publishers' parts").
			NL("alleen MBO-lijsten worden samengesteld uit de delen van de uitgevers")
	}
	if s.Lists == nil {
		return "", nil, errNoListStorage()
	}
	w, err := s.working(ctx, asViewer(me), cs)
	if err != nil {
		return "", nil, err
	}
	l := w.List
	data, err := waswordt.Render(l, kind)
	if err != nil {
		return "", nil, err
	}
	if err := s.Lists.AppendEvent(ctx, cmr.Event{CaseID: cs.ID, Type: cmr.EventListDownloaded, Actor: &me, Details: map[string]any{"kind": "merged", "rows": len(l.Rows)}}); err != nil {
		return "", nil, err
	}
	return "was-wordt-" + cs.ID + "-samengevoegd", data, nil
}

// supplierKey identifies a publisher's row in the school's returned list:
// the old ProfileId (ECK) or the names and location (NON-ECK).
func supplierKey(f waswordt.Format, cells []string) string {
	var parts []string
	for i, c := range f.Columns {
		if c.Party != waswordt.BySupplier || i >= len(cells) {
			continue
		}
		if f.ID == waswordt.FormatMBOECK && c.Key != "profile_old" {
			continue
		}
		parts = append(parts, strings.ToLower(strings.TrimSpace(cells[i])))
	}
	return strings.Join(parts, "\x00")
}

// checkReturn refuses returning the stored completed list (MBO 8c) while
// it leaves out rows a publisher supplied, or leaves them open: to one
// ticket's publisher
// (ticketID) its part's rows, to all of them (ticketID "") the merged
// list's. A publisher may still replace its part after the school's
// upload, and only its own return waits for the school to add the rows.
func (s *Server) checkReturn(ctx context.Context, v gormdb.Viewer, cs cmr.Case, lv cmr.ListVersion, ticketID string) error {
	_, l, err := s.loadList(ctx, v, cs.ID, lv.ID)
	if err != nil {
		return err
	}
	rep, err := s.coverage(ctx, v, cs, l, ticketID, true)
	if err != nil || rep == nil {
		return err
	}
	n := len(rep.Problems)
	return &cmr.Error{Kind: cmr.KindConflict, Field: "list",
		Message:   fmt.Sprintf("the completed list leaves out, changes or leaves open %d row(s) the publisher supplied, listed by row in details.problems: the school fills them in on the list page or uploads the completed list again", n),
		MessageNL: fmt.Sprintf("de aangevulde lijst mist %d regel(s) die de uitgever aanleverde, wijzigde ze of liet ze open (per regel hieronder): de school vult ze in op de lijstenpagina of uploadt de aangevulde lijst opnieuw", n),
		Details:   map[string]any{"problems": rep.Problems, "more": rep.More}}
}

// coverage reports every row a publisher supplied that returned leaves
// out or changes, and with needFilled also every one it leaves open: of
// ticketID's part, or ("") of the merged list; nil where none is missing.
func (s *Server) coverage(ctx context.Context, v gormdb.Viewer, cs cmr.Case, returned waswordt.List, ticketID string, needFilled bool) (*waswordt.Report, error) {
	var supplied waswordt.List
	whereNL, whereEN := "de samengevoegde lijst van de uitgevers", "the publishers' merged list"
	if ticketID == "" {
		merged, _, err := s.merged(ctx, v, cs)
		if err != nil {
			return nil, err
		}
		supplied = merged
	} else {
		lv, ok, err := s.current(ctx, v, cs.ID, ticketID, cmr.ListSupplier)
		if err != nil || !ok {
			return nil, err
		}
		if _, supplied, err = s.loadList(ctx, v, cs.ID, lv.ID); err != nil {
			return nil, err
		}
		whereNL, whereEN = "het deel van deze uitgever", "this publisher's part"
	}
	f := waswordt.ForCase(cs.Scenario)
	// A supplied row is matched to a filled row of the school's list
	// first, else to an open one.
	type found struct{ filled, open int }
	have := map[string]*found{}
	for _, r := range returned.Rows {
		k := supplierKey(f, r.Cells)
		h := have[k]
		if h == nil {
			h = &found{}
			have[k] = h
		}
		if f.IsOpen(r) {
			h.open++
		} else {
			h.filled++
		}
	}
	rep := &waswordt.Report{}
	for _, r := range supplied.Rows {
		switch h := have[supplierKey(f, r.Cells)]; {
		case h != nil && h.filled > 0:
			h.filled--
		case h != nil && h.open > 0:
			h.open--
			if needFilled {
				rep.Problems = append(rep.Problems, waswordt.Problem{Row: r.Line, Code: "supplied_row_open",
					NL: fmt.Sprintf("Regel %d van %s is nog niet ingevuld; vul de nieuwe identiteit in.", r.Line, whereNL),
					EN: fmt.Sprintf("Row %d of %s is not filled in yet; fill in the new identity.", r.Line, whereEN)})
			}
		default:
			rep.Problems = append(rep.Problems, waswordt.Problem{Row: r.Line, Code: "supplied_row_missing",
				NL: fmt.Sprintf("Regel %d van %s ontbreekt of is gewijzigd; neem hem over en vul de nieuwe identiteit in.", r.Line, whereNL),
				EN: fmt.Sprintf("Row %d of %s is missing or changed; keep it and fill in the new identity.", r.Line, whereEN)})
		}
	}
	if len(rep.Problems) == 0 {
		return nil, nil
	}
	return rep, nil
}

// StepPrecheck is the list precheck for callers outside the API (the web
// pages): the same rules for the same steps.
func (s *Server) StepPrecheck(ctx context.Context, v gormdb.Viewer, cs cmr.Case, step string, data map[string]any) (casework.Checked, error) {
	if s.Lists == nil {
		return casework.Checked{}, nil
	}
	return s.listPrecheck(ctx, v, cs, step, data)
}

// listPrecheck refuses a list step whose list is not there yet (VO 11;
// MBO 8a needs every publisher's part, 8b and 8c the school's completed
// list, covering them) and fills the step's row count. For 8c it names
// the version checked: the publishers still waiting get that one, not
// one the school stores between now and the step (returnedVersions).
func (s *Server) listPrecheck(ctx context.Context, v gormdb.Viewer, cs cmr.Case, step string, data map[string]any) (casework.Checked, error) {
	var none casework.Checked
	if cs.WasWordt == cmr.WasWordtNone {
		return none, nil
	}
	need := map[string]string{}
	if cs.Sector == cmr.SectorVO {
		need["11"] = cmr.ListComplete
	} else {
		need["8b"], need["8c"] = cmr.ListReturned, cmr.ListReturned
	}
	if cs.Sector == cmr.SectorMBO && step == "8a" {
		_, missing, err := s.merged(ctx, v, cs)
		if err != nil {
			return none, err
		}
		if len(missing) > 0 {
			return none, cmr.Errorf(cmr.KindConflict, "step 8a needs the \"was\" part of every publisher; still missing: %s (POST /tickets/{id}/list)", strings.Join(missing, ", ")).
				NL("stap 8a heeft het was-deel van elke uitgever nodig; nog niet ontvangen van: %s (een LiKa uploadt zijn deel op de lijstenpagina van de zaak)", strings.Join(missing, ", ")).
				EN("step 8a needs the \"was\" part of every publisher; still missing: %s (a LiKa uploads its part on the case's lists page)", strings.Join(missing, ", "))
		}
		return none, nil
	}
	kind, ok := need[step]
	if !ok {
		return none, nil
	}
	lv, found, err := s.current(ctx, v, cs.ID, "", kind)
	if err != nil {
		return none, err
	}
	if !found {
		return none, cmr.Errorf(cmr.KindConflict, "step %s needs the was-wordt list: upload it first (POST /cases/%s/lists)", step, cs.ID).
			NL("stap %s heeft de was-wordt-lijst nodig: upload die eerst op de lijstenpagina van zaak %s", step, cs.ID).
			EN("step %s needs the was-wordt list: upload it first on the lists page of case %s", step, cs.ID)
	}
	// The school's list must keep every supplied row when it is handed
	// in (8b), and still when it is returned (8c): its upload may have
	// come before a part changed.
	if step == "8b" || step == "8c" {
		if err := s.checkReturn(ctx, v, cs, lv, ""); err != nil {
			return none, err
		}
	}
	switch n, set := data["row_count"]; {
	case !set || n == nil || n == "":
		data["row_count"] = float64(lv.RowCount)
	case isNumber(n) && n != float64(lv.RowCount): // other types: ValidateData says "must be a number"
		// The step records the list's size: a number that is not the
		// list's is a mistake, or a list other than the one stored.
		return none, cmr.FieldErrorf("data.row_count", "is %v, but the list stored (version %d) has %d rows: leave it empty, or upload the right list first", n, lv.Version, lv.RowCount).
			NL("is %v, maar de opgeslagen lijst (versie %d) heeft %d regels: laat het leeg, of upload eerst de juiste lijst", n, lv.Version, lv.RowCount)
	}
	if step == "8c" {
		return casework.Checked{ListID: lv.ID}, nil
	}
	return none, nil
}

func isNumber(v any) bool { _, ok := v.(float64); return ok }

// checkUnprocessed validates the rows a LiKa reports it could not process
// against the list its ticket works from, and returns that list version.
func (s *Server) checkUnprocessed(ctx context.Context, v gormdb.Viewer, t cmr.Ticket, rows []cmr.UnprocessedRow) (cmr.ListVersion, error) {
	fail := func(err error) (cmr.ListVersion, error) { return cmr.ListVersion{}, err }
	cs, err := s.Store.Case(ctx, v, t.CaseID)
	if err != nil {
		return fail(err)
	}
	var lv cmr.ListVersion
	var ok bool
	// lines: for MBO, where each row of the publisher's file is in the
	// school's list (nil for VO: the LiKa's file is the list).
	var lines []int
	rowCount := 0
	if cs.Sector == cmr.SectorMBO {
		// The rows are those of the file the LiKa got back: its own rows
		// of the version returned to it.
		vs, err := s.Lists.Lists(ctx, v, cs.ID)
		if err != nil {
			return fail(err)
		}
		got, err := s.returnedVersions(ctx, v, cs.ID, vs, []cmr.Ticket{t})
		if err != nil {
			return fail(err)
		}
		if lv, ok = got[t.ID]; ok {
			_, returned, err := s.loadList(ctx, v, cs.ID, lv.ID)
			if err != nil {
				return fail(err)
			}
			own, err := s.ownRows(ctx, v, cs.ID, t, returned)
			if err != nil {
				return fail(err)
			}
			for _, r := range own.Rows {
				lines = append(lines, r.Line)
			}
			rowCount = len(lines)
		}
	} else if lv, ok, err = s.current(ctx, v, cs.ID, "", cmr.ListComplete); err != nil {
		return fail(err)
	} else {
		rowCount = lv.RowCount
	}
	if !ok {
		return fail(cmr.FieldErrorf("unprocessed", "this case has no list to refer to").NL("deze zaak heeft geen lijst om naar te verwijzen"))
	}
	// Every row at fault is named at once: a LiKa reporting twenty rows
	// fixes its typing in one go. Each problem names the row as given, so
	// that the ticket page (one "row: reason" line each) can say which.
	var problems []error
	seen := map[int]bool{}
	for i, r := range rows {
		field := "unprocessed[" + strconv.Itoa(i) + "]"
		switch {
		case r.Row < 2 || r.Row > rowCount+1:
			problems = append(problems, cmr.FieldErrorf(field+".row", "row %d is not a row of your list: use 2 to %d (row 1 is the heading)", r.Row, rowCount+1).
				NL("regel %d is geen regel van uw lijst: gebruik 2 tot en met %d (regel 1 is de kopregel)", r.Row, rowCount+1))
			continue
		case seen[r.Row]:
			problems = append(problems, cmr.FieldErrorf(field+".row", "row %d is reported twice", r.Row).NL("regel %d is twee keer opgegeven", r.Row))
			continue
		}
		seen[r.Row] = true
		switch {
		case strings.TrimSpace(r.Reason) == "":
			problems = append(problems, cmr.FieldErrorf(field+".reason", "row %d: the reason is required: say why the row could not be processed", r.Row).
				NL("regel %d: de reden is verplicht: geef aan waarom de regel niet verwerkt kon worden", r.Row))
		case len(r.Reason) > 500:
			problems = append(problems, cmr.FieldErrorf(field+".reason", "row %d: the reason is longer than 500 characters", r.Row).
				NL("regel %d: de reden is langer dan 500 tekens", r.Row))
		}
		rows[i].ListRow = 0 // ours to set, not the caller's
		if lines != nil {
			rows[i].ListRow = lines[r.Row-2]
		}
	}
	if err := cmr.Together(problems...); err != nil {
		return fail(err)
	}
	return lv, nil
}

type exportJSON struct {
	File     []byte `json:"file"` // the export's bytes, base64 in JSON
	Identity string `json:"identity"`
}

type buildRequest struct {
	Old       exportJSON `json:"old"`
	New       exportJSON `json:"new"`
	OldKey    string     `json:"old_key"`
	NewKey    string     `json:"new_key"`
	Pattern   string     `json:"pattern"`
	FirstName string     `json:"first_name"`
	Infix     string     `json:"infix"`
	LastName  string     `json:"last_name"`
	InfixMode string     `json:"infix_mode"`
}

// buildWordt handles POST /api/v1/cases/:id/wordt: the school sends its
// old and new IdP exports and a method (a key to join on, or a naming
// pattern); the answer pairs every old identity with at most one new one
// and counts matched, unmatched and ambiguous users. Nothing is stored.
func (s *Server) buildWordt(c echo.Context) error {
	if actor(c).Role != cmr.RoleSchool {
		return cmr.Errorf(cmr.KindForbidden, "the school builds its \"wordt\" column").NL("alleen de school maakt de wordt-kolom")
	}
	var req buildRequest
	if err := bind(c, &req); err != nil {
		return err
	}
	tables := map[string]waswordt.Table{}
	for name, e := range map[string]exportJSON{"old": req.Old, "new": req.New} {
		if len(e.File) == 0 {
			return cmr.FieldErrorf(name+".file", "is required: the %s IdP's export as CSV or XLSX, base64-encoded", name).
				NL("is verplicht: kies de export van de %s IdP (CSV of XLSX)", map[string]string{"old": "oude", "new": "nieuwe"}[name])
		}
		if e.Identity == "" {
			return cmr.FieldErrorf(name+".identity", "is required: the heading of the column with the identity").
				NL("is verplicht: de kop van de kolom met de identiteit")
		}
		// A reader's panic is told without its value, which might quote
		// the export.
		t, err := readSafely(func() (waswordt.Table, error) { return waswordt.Read(e.File) })
		if err != nil {
			if rep, ok := err.(*waswordt.Report); ok {
				return &cmr.Error{Kind: cmr.KindInvalid, Field: name + ".file", Message: rep.Problems[0].EN, MessageNL: rep.Problems[0].NL, Details: map[string]any{"problems": rep.Problems}}
			}
			return err
		}
		tables[name] = t
	}
	res, err := waswordt.Build(waswordt.BuildRequest{
		Old: waswordt.Export{Table: tables["old"], Identity: req.Old.Identity}, New: waswordt.Export{Table: tables["new"], Identity: req.New.Identity},
		OldKey: req.OldKey, NewKey: req.NewKey, Pattern: req.Pattern, FirstName: req.FirstName, Infix: req.Infix, LastName: req.LastName, InfixMode: req.InfixMode,
	})
	if err != nil {
		return err // the builder's refusals are the domain's, in both languages
	}
	return c.JSON(http.StatusOK, res)
}
