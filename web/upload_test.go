package web_test

import (
	"bytes"
	"context"
	"fmt"
	"github.com/cmr-idp/cmr/waswordt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/cmr-idp/cmr"
	"github.com/cmr-idp/cmr/gormdb"
)

// formPart is one part of a multipart form, in the order it is sent: a
// file when filename is set, else a field.
type formPart struct {
	name, filename string
	data           []byte
}

func fieldPart(name, value string) formPart { return formPart{name: name, data: []byte(value)} }
func filePart(name string, data []byte) formPart {
	return formPart{name: name, filename: name + ".csv", data: data}
}

// multipartForm is a multipart POST with its parts in the order given, so
// a test can put fields after the file, as the wordt form does.
func multipartForm(t *testing.T, path string, parts ...formPart) *http.Request {
	t.Helper()
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	for _, p := range parts {
		var fw io.Writer
		var err error
		if p.filename != "" {
			fw, err = w.CreateFormFile(p.name, p.filename)
		} else {
			fw, err = w.CreateFormField(p.name)
		}
		if err == nil {
			_, err = fw.Write(p.data)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest("POST", "https://cmr.example"+path, &b)
	req.Header.Set("Content-Type", w.FormDataContentType())
	return req
}

// bigList is a VO was-wordt list of at least n bytes.
func bigList(n int) []byte {
	var b bytes.Buffer
	b.Grow(n + 64)
	b.WriteString("Was;Wordt\r\n")
	for i := 0; b.Len() < n; i++ {
		fmt.Fprintf(&b, "leerling%07d@oud.lyceum.nl;leerling%07d@nieuw.lyceum.nl\r\n", i, i)
	}
	return b.Bytes()
}

// offDisk points $TMPDIR, where Go's form parser writes what does not fit
// its 32 MB, at an empty directory, and returns the check that nothing was
// written there. The tests serve requests without an http.Server, which
// would remove such files after the answer: here they stay, so the check
// sees every file that was written, however briefly.
func offDisk(t *testing.T) func() {
	t.Helper()
	dir := t.TempDir()
	t.Setenv("TMPDIR", dir)
	return func() {
		t.Helper()
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			t.Errorf("the upload was written to $TMPDIR: %s", e.Name())
		}
	}
}

// seedMBOTicket gives the MBO case a ticket for lika1 that waits for its
// part of the list.
func seedMBOTicket(t *testing.T, s *pagesSite) string {
	t.Helper()
	tk := cmr.Ticket{ID: caseMBO + "-T1", CaseID: caseMBO, LiKaID: "lika1", State: cmr.TicketAwaitingList, Version: 1}
	if err := s.store.SaveTicket(context.Background(), tk, []cmr.Event{{Key: tk.ID, CaseID: caseMBO, TicketID: tk.ID, Type: cmr.EventTicketCreated, At: s.now}}); err != nil {
		t.Fatal(err)
	}
	return tk.ID
}

// exportOf is an IdP export of n users with a number, an account at
// domain and a long note per user, so that two of them pass 32 MB within
// the builder's rows.
func exportOf(n int, key, identity, domain string) []byte {
	var b bytes.Buffer
	note := strings.Repeat("aantekening ", 8)
	fmt.Fprintf(&b, "%s;%s;Notitie\n", key, identity)
	for i := range n {
		fmt.Fprintf(&b, "%d;leerling%07d@%s;%s\n", 100000+i, i, domain, note)
	}
	return b.Bytes()
}

// Uploads stream: a file over the 32 MB that Go's multipart parser keeps
// in memory is read by every upload form without a byte of it on disk,
// with the form's other fields (the CSRF token too) wherever they are.
func TestUploadsStayOffDisk(t *testing.T) {
	big := bigList(33 << 20)
	// Not a list, and refused as such: but only after the form was read.
	pdf := append([]byte("%PDF-1.7\n"), bytes.Repeat([]byte("x"), 33<<20)...)

	t.Run("case list", func(t *testing.T) {
		s := newPagesSite(t)
		school := s.signIn("school")
		token := s.token(school)
		lists := "/cases/" + caseVO + "/lists"
		check := offDisk(t)

		// The token and the checkbox after the file: read all the same.
		p := s.send(multipartForm(t, lists, filePart("file", big), fieldPart("several_realms", "true"), fieldPart("_csrf", token)), school)
		if p.status != http.StatusSeeOther || p.header.Get("Location") != lists+"?stored=1" {
			t.Fatalf("a 33 MB list: %d %q\n%s", p.status, p.header.Get("Location"), p.body)
		}
		if len(s.lists.uploads) != 1 || !bytes.Equal(s.lists.uploads[0].data, big) || !s.lists.uploads[0].several {
			t.Errorf("the list passed on: %d uploads", len(s.lists.uploads))
		}
		if p := s.send(multipartForm(t, lists, filePart("file", big)), school); p.status != http.StatusForbidden || len(s.lists.uploads) != 1 {
			t.Errorf("a 33 MB list without the CSRF token: %d, %d uploads", p.status, len(s.lists.uploads))
		}
		if p := s.send(multipartForm(t, lists, fieldPart("_csrf", token), fieldPart("file", "")), school); p.status != http.StatusUnprocessableEntity ||
			!strings.Contains(p.body, "Bestand: kies een bestand om te uploaden") {
			t.Errorf("no file chosen: %d\n%s", p.status, p.body)
		}
		// Over the route's limit, whether the body says its length or not.
		over := multipartForm(t, lists, fieldPart("_csrf", token), filePart("file", append(big, bigList(9<<20)...)))
		if p := s.send(over, school); p.status != http.StatusRequestEntityTooLarge {
			t.Errorf("a 42 MB form: %d", p.status)
		}
		chunked := multipartForm(t, lists, fieldPart("_csrf", token), filePart("file", append(big, bigList(9<<20)...)))
		chunked.ContentLength, chunked.Body = -1, io.NopCloser(io.MultiReader(chunked.Body))
		if p := s.send(chunked, school); p.status != http.StatusRequestEntityTooLarge || len(s.lists.uploads) != 1 {
			t.Errorf("a 42 MB form of unknown length: %d, %d uploads", p.status, len(s.lists.uploads))
		}
		// A file as large as a list may be passes the route's limit (40
		// MiB: more than 41 million bytes).
		largest := bigList(waswordt.MaxUploadBytes)[:waswordt.MaxUploadBytes]
		if p := s.send(multipartForm(t, lists, fieldPart("_csrf", token), filePart("file", largest)), school); p.status != http.StatusSeeOther || len(s.lists.uploads) != 2 {
			t.Errorf("a list of %d bytes: %d, %d uploads", len(largest), p.status, len(s.lists.uploads))
		}
		check()
	})

	t.Run("ticket list", func(t *testing.T) {
		s := newPagesSite(t)
		ticket := seedMBOTicket(t, s)
		lika := s.signIn("lika1")
		token := s.token(lika)
		check := offDisk(t)
		p := s.send(multipartForm(t, "/tickets/"+ticket+"/list", fieldPart("_csrf", token), filePart("file", big)), lika)
		if p.status != http.StatusSeeOther || len(s.lists.uploads) != 1 || !bytes.Equal(s.lists.uploads[0].data, big) || s.lists.uploads[0].ticketID != ticket {
			t.Errorf("a 33 MB part: %d, %d uploads\n%s", p.status, len(s.lists.uploads), p.body)
		}
		check()
	})

	t.Run("wordt builder", func(t *testing.T) {
		s := newPagesSite(t)
		school := s.signIn("school")
		token := s.token(school)
		check := offDisk(t)
		oldCSV, newCSV := exportOf(170_000, "Leerlingnummer", "Account", "oud.nl"), exportOf(170_000, "Stamnr", "Login", "nieuw.nl")
		if len(oldCSV)+len(newCSV) <= 32<<20 {
			t.Fatalf("the exports are %d bytes together: not more than Go keeps in memory", len(oldCSV)+len(newCSV))
		}
		path := "/cases/" + caseVO + "/wordt"
		p := s.send(multipartForm(t, path, fieldPart("_csrf", token), filePart("old_file", oldCSV), fieldPart("old_identity", "Account"),
			filePart("new_file", newCSV), fieldPart("new_identity", "Login"), fieldPart("old_key", "Leerlingnummer"), fieldPart("new_key", "Stamnr")), school)
		if p.status != http.StatusOK || !strings.Contains(p.body, `<dd id="matched">170000</dd>`) {
			t.Errorf("two exports of 17 MB: %d\n%.2000s", p.status, p.body)
		}
		p = s.send(multipartForm(t, path, fieldPart("_csrf", token), filePart("old_file", pdf), fieldPart("old_identity", "Account"),
			filePart("new_file", newCSV), fieldPart("new_identity", "Login")), school)
		if p.status != http.StatusBadRequest || !strings.Contains(p.body, "Oude export: Dit is geen CSV- of Excel-bestand.") || !strings.Contains(p.body, `value="Login"`) {
			t.Errorf("an old export that is no list: %d\n%.2000s", p.status, p.body)
		}
		check()
	})

	t.Run("staff import", func(t *testing.T) {
		s := newAdminSite(t)
		admin := s.signIn("school")
		token := s.token(admin)
		check := offDisk(t)
		p := s.send(multipartForm(t, "/admin/people/import", fieldPart("_csrf", token), filePart("file", pdf)), admin)
		if p.status != http.StatusBadRequest || !strings.Contains(p.body, "Dit is geen CSV- of Excel-bestand.") {
			t.Errorf("a staff list that is no list: %d\n%.2000s", p.status, p.body)
		}
		check()
	})
}

// TestMBOListLockedOnceReturnedToAll: once every publisher got the
// completed list back, the school's lists page offers no new version and
// says why (the API refuses one: api.UploadCaseList).
func TestMBOListLockedOnceReturnedToAll(t *testing.T) {
	s := newPagesSite(t)
	ticket := seedMBOTicket(t, s)
	school := s.signIn("mbo")
	path := "/cases/" + caseMBO + "/lists"
	const locked = "De aangevulde lijst is aan elke uitgever teruggegeven"
	if p := s.do("GET", path, nil, school); p.status != http.StatusOK || !strings.Contains(p.body, `name="file"`) || strings.Contains(p.body, locked) {
		t.Fatalf("while a part waits for its return: %d\n%s", p.status, p.body)
	}
	started := s.now
	returned := cmr.Ticket{ID: ticket, CaseID: caseMBO, LiKaID: "lika1", State: cmr.TicketOpen, ClockStartedAt: &started, Version: 2}
	if err := s.store.SaveTicket(context.Background(), returned, nil); err != nil {
		t.Fatal(err)
	}
	if p := s.do("GET", path, nil, school); p.status != http.StatusOK || strings.Contains(p.body, `name="file"`) || !strings.Contains(p.body, locked) {
		t.Errorf("once returned to every publisher: %d\n%s", p.status, p.body)
	}
}

// TestLiKaIsAskedForItsPart: no step asks an MBO LiKa for its part of the
// list, so its home and its ticket do; the distributor's ticket page says
// whose part it waits for.
func TestLiKaIsAskedForItsPart(t *testing.T) {
	s := newPagesSite(t)
	ticket := seedMBOTicket(t, s)
	lika := s.signIn("lika1")
	upload := `href="/cases/` + caseMBO + `/lists#upload"`
	if p := s.do("GET", "/", nil, lika); !strings.Contains(p.body, "Uw deel van de lijst uploaden") || !strings.Contains(p.body, upload) {
		t.Errorf("the LiKa's home does not ask for its part:\n%s", p.body)
	}
	if p := s.do("GET", "/", nil, lika, english); !strings.Contains(p.body, "Upload your part of the list") {
		t.Errorf("in English:\n%s", p.body)
	}
	if p := s.do("GET", "/tickets/"+ticket, nil, lika); !strings.Contains(p.body, "Wacht op uw deel van de lijst (was):") || !strings.Contains(p.body, upload) {
		t.Errorf("the LiKa's ticket page does not ask for its part:\n%s", p.body)
	}
	if p := s.do("GET", "/tickets/"+ticket, nil, s.signIn("dist")); !strings.Contains(p.body, "Wacht op het deel van de lijst (was) van de LiKa.") || strings.Contains(p.body, upload) {
		t.Errorf("the distributor's ticket page:\n%s", p.body)
	}
	if p := s.do("GET", "/", nil, s.signIn("lika2")); strings.Contains(p.body, "Uw deel van de lijst uploaden") {
		t.Errorf("another LiKa is asked for lika1's part:\n%s", p.body)
	}
	// Kennisnet sees no lists, so it is told nothing of the part.
	if p := s.do("GET", "/tickets/"+ticket, nil, s.signIn("kn")); p.status != http.StatusOK || strings.Contains(p.body, "Wacht op het deel van de lijst") ||
		strings.Contains(p.body, "Alle lijsten van deze zaak") || strings.Contains(p.body, "Nog geen lijst") {
		t.Errorf("Kennisnet's ticket page: %d\n%s", p.status, p.body)
	}
	if p := s.do("GET", "/cases/"+caseMBO+"/lists", nil, lika); !strings.Contains(p.body, `action="/tickets/`+ticket+`/list"`) {
		t.Errorf("no upload form for the LiKa's part:\n%s", p.body)
	}

	// Once step 8a forwarded the parts, the LiKa's lists page says so
	// instead of offering an upload that is refused (as the API refuses
	// it); a refusal from a page loaded before still shows.
	parties := cmr.Parties{SchoolID: "mbo", DistributorID: "dist", LiKaIDs: []string{"lika1"}, KennisnetIDs: []string{"kn"}}
	orgOf := map[cmr.Role]string{cmr.RoleSchool: "mbo", cmr.RoleDistributor: "dist", cmr.RoleKennisnet: "kn", cmr.RolePublisher: "lika1"}
	plan := cmr.Procedure(cmr.PlanInput{Sector: cmr.SectorMBO, Funding: cmr.FundingELF, Options: cmr.CaseOptions{KeepHistory: true}, WasWordt: cmr.WasWordtSuppliers})
	st := cmr.NewCaseState(caseMBO, cmr.SectorMBO, parties, plan, cmr.Actor{UserID: "x", OrganisationID: "dist", Role: cmr.RoleDistributor}, s.now)
	for done := false; !done; {
		key := st.OpenSteps()[0]
		d, _ := cmr.FindStep(st.Plan, key)
		if _, err := st.Complete(cmr.Actor{UserID: "x", OrganisationID: orgOf[d.Owner], Role: d.Owner}, key, "", s.now); err != nil {
			t.Fatalf("step %s: %v", key, err)
		}
		done = key == "8a"
	}
	cs, err := s.store.Case(context.Background(), gormdb.Viewer{OrganisationID: "dist", Role: cmr.RoleDistributor}, caseMBO)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.store.SaveCase(context.Background(), cs.CaseHeader, *st, 2, "", nil); err != nil {
		t.Fatal(err)
	}
	const forwarded = "De delen van de uitgevers zijn doorgestuurd naar de school (stap 8a); uw deel kan niet meer veranderen."
	if p := s.do("GET", "/cases/"+caseMBO+"/lists", nil, lika); strings.Contains(p.body, `name="file"`) || !strings.Contains(p.body, forwarded) {
		t.Errorf("the LiKa's lists page after 8a:\n%s", p.body)
	}
	s.lists.uploadErr = cmr.Errorf(cmr.KindConflict, "forwarded").NL("al doorgestuurd")
	p := s.send(multipartForm(t, "/tickets/"+ticket+"/list", fieldPart("_csrf", s.token(lika)), filePart("file", []byte("a;b\n"))), lika)
	if p.status != http.StatusConflict || !strings.Contains(p.body, `<p class="error">al doorgestuurd</p>`) {
		t.Errorf("a refused upload after 8a: %d\n%s", p.status, p.body)
	}

	// Waived, the LiKa is told why it no longer sees the lists.
	waived := cmr.Ticket{ID: ticket, CaseID: caseMBO, LiKaID: "lika1", State: cmr.TicketWaived, Version: 2}
	if err := s.store.SaveTicket(context.Background(), waived, nil); err != nil {
		t.Fatal(err)
	}
	if p := s.do("GET", "/tickets/"+ticket, nil, lika); !strings.Contains(p.body, "Het ticket is vervallen: de lijsten van deze zaak zijn niet meer voor u beschikbaar.") || strings.Contains(p.body, "Alle lijsten van deze zaak") {
		t.Errorf("the waived LiKa's ticket page:\n%s", p.body)
	}
}
