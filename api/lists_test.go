package api_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cmr-idp/cmr"
	"github.com/cmr-idp/cmr/aesgcm"
	"github.com/cmr-idp/cmr/api"
	"github.com/cmr-idp/cmr/gormdb"
	"github.com/cmr-idp/cmr/gormdb/gormdbtest"
	"github.com/cmr-idp/cmr/waswordt"
	"github.com/cmr-idp/cmr/waswordt/waswordttest"
	"github.com/cmr-idp/cmr/workflows"
)

const voHead = "Voornaam;Tussenvoegsel;Achternaam;Postcode;Huisnummer;Oude identiteit (was);Nieuwe identiteit (wordt)"

func voList(n int) string {
	var b strings.Builder
	b.WriteString(voHead + "\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "Leerling%d;;Achternaam%d;1234 AB;%d;l%d@magis.01AB;l%d@lyceum.nl\n", i, i, i+1, i, i)
	}
	return b.String()
}

const mboHead = "Voorletters;Voornaam;Achternaam;School locatie;nlEduPersonProfileId oud;nlEduPersonRealId oud"

// mboPart is a publisher's "was" part; returned adds the school's columns.
func mboPart(lika string, n int, returned bool) string {
	var b strings.Builder
	b.WriteString(mboHead)
	if returned {
		b.WriteString(";nlEduPersonProfileId nieuw;nlEduPersonRealId nieuw")
	}
	b.WriteString("\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "S.;Student%s%d;Achter;Zwolle;s%s%d@roc.adfs.nl;%s%d@roc.real", lika, i, lika, i, lika, i)
		if returned {
			fmt.Fprintf(&b, ";s%s%d@roc.nieuw.nl;", lika, i)
		}
		b.WriteString("\n")
	}
	return b.String()
}

// upload sends a file as the raw body.
func (en *env) upload(org, path, body string) response {
	return en.do(org, "POST", path, body)
}

// provideList uploads what a list step needs just before it is completed.
func (en *env) provideList(c response, step, school string) {
	en.t.Helper()
	id := c.Body["id"].(string)
	if c.Body["was_wordt"] == "none" {
		return
	}
	switch {
	case c.Body["sector"] == "VO" && step == "11":
		en.want(en.upload(school, "/api/v1/cases/"+id+"/lists", voList(5)), 201, "upload VO list")
	case c.Body["sector"] == "MBO" && step == "8a":
		for _, x := range c.Body["tickets"].([]any) {
			tk := x.(map[string]any)
			en.want(en.upload(tk["lika_id"].(string), "/api/v1/tickets/"+tk["id"].(string)+"/list", mboPart(tk["lika_id"].(string), 3, false)), 201, "upload part")
		}
	case c.Body["sector"] == "MBO" && step == "8b":
		var all []string
		for i, x := range c.Body["tickets"].([]any) {
			rows := strings.Split(strings.TrimSpace(mboPart(x.(map[string]any)["lika_id"].(string), 3, true)), "\n")
			if i > 0 {
				rows = rows[1:]
			}
			all = append(all, rows...)
		}
		en.want(en.upload(school, "/api/v1/cases/"+id+"/lists", strings.Join(all, "\n")+"\n"), 201, "upload returned list")
	}
}

func TestVOListFlow(t *testing.T) {
	en := newEnv(t, gormdbtest.SQLite(t))
	r := en.want(en.do("dist", "POST", "/api/v1/cases", `{"school":"01AB","from":{"quadrant":1,"idp":"Magister"},"to":{"quadrant":1,"idp":"SOM"},"likas":["lika-a","lika-b"],"switch_on":"2027-07-15"}`), 201, "open")
	id := r.Body["id"].(string)
	base := "/api/v1/cases/" + id + "/lists"

	// Invalid: every problem by row and column, nothing stored.
	bad := voList(3) + "Piet;;Bos;12345;1;l0@magis.01AB;p@lyceum.nl\n"
	rep := en.want(en.upload("school-vo", base, bad), 400, "invalid list")
	problems := rep.Body["details"].(map[string]any)["problems"].([]any)
	if len(problems) != 2 {
		t.Errorf("want 2 problems (postcode, duplicate old), got %s", rep.Raw)
	}
	first := problems[0].(map[string]any)
	if first["row"].(float64) != 5 || first["column"] == nil || first["nl"] == "" || first["en"] == "" {
		t.Errorf("problem: %v", first)
	}
	if strings.Contains(rep.Raw, "Bos") || strings.Contains(rep.Raw, "lyceum.nl") {
		t.Errorf("the error quotes list data: %s", rep.Raw)
	}
	if l := en.want(en.do("school-vo", "GET", base, nil), 200, "versions"); len(l.Body["lists"].([]any)) != 0 {
		t.Errorf("invalid upload stored: %s", l.Raw)
	}
	en.want(en.upload("dist", base, voList(3)), 403, "distributor uploads")
	en.want(en.upload("dist-other", base, voList(3)), 404, "foreign party uploads")

	// Valid uploads: versions, the previous kept with who and when.
	en.want(en.upload("school-vo", base, voList(3)), 201, "upload v1")
	v2 := en.want(en.upload("school-vo", base, voList(4)), 201, "upload v2")
	if v2.Body["version"].(float64) != 2 || v2.Body["rows"].(float64) != 4 {
		t.Errorf("v2: %s", v2.Raw)
	}
	// Multipart works too.
	var mp bytes.Buffer
	mw := multipart.NewWriter(&mp)
	fw, _ := mw.CreateFormFile("file", "lijst.csv")
	fw.Write([]byte(voList(6)))
	mw.Close()
	req := httptest.NewRequest("POST", base, &mp)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+en.tokens["school-vo"])
	rec := httptest.NewRecorder()
	en.e.ServeHTTP(rec, req)
	if rec.Code != 201 || !strings.Contains(rec.Body.String(), `"version":3`) {
		t.Errorf("multipart upload: %d %s", rec.Code, rec.Body.String())
	}
	vs := en.want(en.do("school-vo", "GET", base, nil), 200, "versions").Body["lists"].([]any)
	if len(vs) != 3 || vs[0].(map[string]any)["current"] != true || vs[1].(map[string]any)["current"] != false {
		t.Errorf("versions: %v", vs)
	}
	current := vs[0].(map[string]any)["id"].(string)

	// A LiKa sees nothing before its ticket exists; a foreign party never.
	en.want(en.do("lika-a", "GET", base+"/"+current, nil), 404, "LiKa before its ticket")
	en.want(en.do("lika-c", "GET", base, nil), 404, "foreign LiKa lists")
	en.want(en.do("dist-other", "GET", base+"/"+current, nil), 404, "foreign download")

	// Drive to the tickets (step 11 takes the row count from the list).
	for i := 0; i < 40; i++ {
		r = en.want(en.do("dist", "GET", "/api/v1/cases/"+id, nil), 200, "get")
		if len(r.Body["tickets"].([]any)) > 0 {
			break
		}
		for _, s := range r.Body["steps"].([]any) {
			st := s.(map[string]any)
			if st["state"] == "open" && st["kind"] == "human" {
				if st["key"] == "11" {
					wrong := en.want(en.do("school-vo", "POST", "/api/v1/cases/"+id+"/steps/11", `{"data":{"row_count":99}}`), 400, "step 11 with another row count")
					if wrong.Body["field"] != "data.row_count" || !strings.Contains(wrong.Raw, "has 6 rows") {
						t.Errorf("step 11 with another row count: %s", wrong.Raw)
					}
				}
				en.want(en.do(ownerOrg[st["owner"].(string)], "POST", fmt.Sprintf("/api/v1/cases/%s/steps/%s", id, st["key"]), map[string]any{"data": sample(st["records"].([]any))}), 200, "step")
				break
			}
		}
	}
	for _, s := range r.Body["steps"].([]any) {
		if st := s.(map[string]any); st["key"] == "11" && st["data"].(map[string]any)["row_count"].(float64) != 6 {
			t.Errorf("step 11 row count: %v", st["data"])
		}
	}
	// The LiKa gets the list handed out, not the school's drafts before it.
	draft := vs[1].(map[string]any)["id"].(string)
	if l := en.want(en.do("lika-a", "GET", base, nil), 200, "LiKa lists"); len(l.Body["lists"].([]any)) != 1 || !strings.Contains(l.Raw, current) {
		t.Errorf("a LiKa's versions: %s", l.Raw)
	}
	en.want(en.do("lika-a", "GET", base+"/"+draft, nil), 404, "LiKa downloads a draft")
	for _, kind := range []string{"csv", "xlsx"} {
		req := httptest.NewRequest("GET", base+"/"+current+"?type="+kind, nil)
		req.Header.Set("Authorization", "Bearer "+en.tokens["lika-a"])
		rec := httptest.NewRecorder()
		en.e.ServeHTTP(rec, req)
		if rec.Code != 200 {
			t.Fatalf("LiKa download %s: %d %s", kind, rec.Code, rec.Body.String())
		}
		tab, err := waswordt.Read(rec.Body.Bytes())
		if err != nil || len(tab.Rows) != 6 || rec.Header().Get("Cache-Control") != "no-store" {
			t.Errorf("%s download: %v %d rows", kind, err, len(tab.Rows))
		}
	}
	ev := en.want(en.do("school-vo", "GET", "/api/v1/cases/"+id+"/events", nil), 200, "events")
	if strings.Count(ev.Raw, "list.downloaded") != 2 || strings.Count(ev.Raw, "list.uploaded") != 3 {
		t.Errorf("audit of lists: %s", ev.Raw)
	}
	en.want(en.upload("school-vo", base, voList(3)), 409, "replace the list after the LiKas have it")
	tk := ""
	for _, x := range r.Body["tickets"].([]any) {
		if x.(map[string]any)["lika_id"] == "lika-a" {
			tk = x.(map[string]any)["id"].(string)
		}
	}
	// A publisher's download goes with its ticket: the other publisher
	// does not see it in its trail, the school does.
	en.want(en.do("lika-b", "GET", base+"/"+current, nil), 200, "lika-b downloads")
	ev = en.want(en.do("school-vo", "GET", "/api/v1/cases/"+id+"/events", nil), 200, "events")
	if strings.Count(ev.Raw, "list.downloaded") != 3 || !strings.Contains(ev.Raw, `"organisation_id":"lika-b"`) {
		t.Errorf("the school's trail of downloads: %s", ev.Raw)
	}
	ev = en.want(en.do("lika-a", "GET", "/api/v1/cases/"+id+"/events", nil), 200, "lika-a's events")
	if strings.Contains(ev.Raw, "lika-b") {
		t.Errorf("lika-a sees lika-b in the trail: %s", ev.Raw)
	}
	downloads := 0
	for _, e := range ev.Body["events"].([]any) {
		if e := e.(map[string]any); e["type"] == cmr.EventListDownloaded {
			downloads++
			if e["ticket_id"] != tk {
				t.Errorf("lika-a's download not with its ticket %s: %v", tk, e)
			}
		}
	}
	if downloads != 2 {
		t.Errorf("lika-a's downloads in its trail: %d, want 2", downloads)
	}
	en.want(en.do("lika-a", "POST", "/api/v1/tickets/"+tk+"/close", `{"unprocessed":[{"row":99,"reason":"onbekend"}]}`), 400, "row outside the list")
	en.want(en.do("lika-a", "POST", "/api/v1/tickets/"+tk+"/close", `{"unprocessed":[{"row":3}]}`), 400, "no reason")
	// Every row at fault at once, each by the row as given.
	all := en.want(en.do("lika-a", "POST", "/api/v1/tickets/"+tk+"/close", `{"unprocessed":[{"row":99,"reason":"x"},{"row":3},{"row":2,"reason":"x"},{"row":2,"reason":"y"}]}`), 400, "three rows at fault")
	if probs, _ := all.Body["details"].(map[string]any)["problems"].([]any); len(probs) != 3 ||
		!strings.Contains(all.Raw, "row 99 is not a row of your list") || !strings.Contains(all.Raw, "row 3: the reason is required") ||
		!strings.Contains(all.Raw, "row 2 is reported twice") || !strings.Contains(all.Raw, "regel 3: de reden is verplicht") {
		t.Errorf("every row at fault, each named: %s", all.Raw)
	}
	closed := en.want(en.do("lika-a", "POST", "/api/v1/tickets/"+tk+"/close", `{"note":"verwerkt","unprocessed":[{"row":3,"reason":"geen profiel gevonden"}]}`), 200, "close with unprocessed rows")
	if u := closed.Body["unprocessed"].([]any); len(u) != 1 || u[0].(map[string]any)["row"].(float64) != 3 {
		t.Errorf("unprocessed: %s", closed.Raw)
	}
	// Closed: said so, before its rows are looked at.
	if again := en.want(en.do("lika-a", "POST", "/api/v1/tickets/"+tk+"/close", `{"unprocessed":[{"row":99,"reason":"x"}]}`), 409, "close twice"); !strings.Contains(again.Raw, "already closed") {
		t.Errorf("a closed ticket closed again: %s", again.Raw)
	}

	// A LiKa taken off the case (its ticket waived) no longer sees the
	// pupils' list; one that closed its ticket still does.
	for _, x := range r.Body["tickets"].([]any) {
		if x.(map[string]any)["lika_id"] == "lika-b" {
			en.want(en.do("dist", "POST", "/api/v1/tickets/"+x.(map[string]any)["id"].(string)+"/waive", `{"reason":"doet niet mee"}`), 200, "waive lika-b")
		}
	}
	if l := en.want(en.do("lika-b", "GET", base, nil), 200, "a waived LiKa's lists"); len(l.Body["lists"].([]any)) != 0 {
		t.Errorf("a waived LiKa sees lists: %s", l.Raw)
	}
	en.want(en.do("lika-b", "GET", base+"/"+current, nil), 404, "a waived LiKa downloads")
	en.want(en.do("lika-a", "GET", base+"/"+current, nil), 200, "a LiKa that closed its ticket downloads")
}

// TestWaivedPublisherNeedsNoPart: a publisher the distributor waived
// before it sent its part does not hold up step 8a, nor the school's list.
func TestWaivedPublisherNeedsNoPart(t *testing.T) {
	en := newEnv(t, gormdbtest.SQLite(t))
	id, tickets := mboAtStep8(t, en, "lika-a", "lika-b")
	t1, t2 := tickets["lika-a"], tickets["lika-b"]
	en.want(en.upload("lika-a", "/api/v1/tickets/"+t1+"/list", mboPart("a", 2, false)), 201, "part A")
	en.want(en.do("dist", "POST", "/api/v1/tickets/"+t2+"/waive", `{"reason":"levert geen deel"}`), 200, "waive B")
	if r := en.want(en.upload("lika-b", "/api/v1/tickets/"+t2+"/list", mboPart("b", 2, false)), 409, "part B after the waiver"); !strings.Contains(r.Raw, "vervallen") {
		t.Errorf("part of a waived ticket: %s", r.Raw)
	}
	en.want(en.do("dist", "POST", "/api/v1/cases/"+id+"/steps/8a", `{}`), 200, "8a without the waived part")
	en.want(en.upload("school-mbo", "/api/v1/cases/"+id+"/lists", mboPart("a", 2, true)), 201, "the school's list of A's rows")
	en.want(en.do("school-mbo", "POST", "/api/v1/cases/"+id+"/steps/8b", `{}`), 200, "8b")
}

// TestPublisherGetsItsOwnRows: a student two publishers supplied (the
// same old ProfileId, spelled differently) is one row of the school's
// list, with the first publisher's cells; the second gets back its own
// cells, and reports unprocessed rows by the rows of its own file, which
// the close records with their row in the school's list.
func TestPublisherGetsItsOwnRows(t *testing.T) {
	en := newEnv(t, gormdbtest.SQLite(t))
	id, tickets := mboAtStep8(t, en, "lika-a", "lika-b")
	t1, t2 := tickets["lika-a"], tickets["lika-b"]
	en.want(en.upload("lika-a", "/api/v1/tickets/"+t1+"/list", mboPart("a", 2, false)), 201, "part A")
	partB := mboHead + "\nJ.;Johannes;Achter;Zwolle;SA1@roc.adfs.nl;b9@roc.real\nS.;Studentb0;Achter;Zwolle;sb0@roc.adfs.nl;b0@roc.real\n"
	en.want(en.upload("lika-b", "/api/v1/tickets/"+t2+"/list", partB), 201, "part B")
	en.want(en.do("dist", "POST", "/api/v1/cases/"+id+"/steps/8a", `{}`), 200, "8a")
	completed := mboHead + ";nlEduPersonProfileId nieuw;nlEduPersonRealId nieuw\n" +
		"S.;Studenta0;Achter;Zwolle;sa0@roc.adfs.nl;a0@roc.real;sa0@roc.nieuw.nl;\n" +
		"S.;Studenta1;Achter;Zwolle;sa1@roc.adfs.nl;a1@roc.real;sa1@roc.nieuw.nl;\n" +
		"S.;Studentb0;Achter;Zwolle;sb0@roc.adfs.nl;b0@roc.real;sb0@roc.nieuw.nl;\n"
	en.want(en.upload("school-mbo", "/api/v1/cases/"+id+"/lists", completed), 201, "the school's list")
	en.want(en.do("school-mbo", "POST", "/api/v1/cases/"+id+"/steps/8b", `{}`), 200, "8b")
	en.want(en.do("dist", "POST", "/api/v1/tickets/"+t2+"/return", `{}`), 200, "return to B")
	// B's clock started first, yet the school's rows keep their numbers:
	// A's part first, as the tickets were made.
	if w := en.want(en.do("school-mbo", "GET", "/api/v1/cases/"+id+"/lists/rows", nil), 200, "rows after B's return"); strings.Index(w.Raw, "Studenta0") > strings.Index(w.Raw, "Studentb0") {
		t.Errorf("the merged rows moved when B's clock started: %s", w.Raw)
	}
	var returned string
	for _, x := range en.want(en.do("lika-b", "GET", "/api/v1/cases/"+id+"/lists", nil), 200, "B's versions").Body["lists"].([]any) {
		if v := x.(map[string]any); v["kind"] == "returned" {
			returned = v["id"].(string)
			if v["rows"] != 2.0 {
				t.Errorf("B is told the returned list has %v rows, not the 2 of its own file", v["rows"])
			}
		}
	}
	req := httptest.NewRequest("GET", "/api/v1/cases/"+id+"/lists/"+returned, nil)
	req.Header.Set("Authorization", "Bearer "+en.tokens["lika-b"])
	rec := httptest.NewRecorder()
	en.e.ServeHTTP(rec, req)
	got, err := waswordt.Read(rec.Body.Bytes())
	if rec.Code != 200 || err != nil || len(got.Rows) != 2 {
		t.Fatalf("B's rows: %d %v %s", rec.Code, err, rec.Body.String())
	}
	if want := []string{"J.", "Johannes", "Achter", "Zwolle", "SA1@roc.adfs.nl", "b9@roc.real", "sa1@roc.nieuw.nl", ""}; !slices.Equal(got.Rows[0], want) {
		t.Errorf("B's first row: %q, want its own cells with the school's %q", got.Rows[0], want)
	}
	if strings.Contains(rec.Body.String(), "Studenta") {
		t.Errorf("B gets A's cells: %s", rec.Body.String())
	}
	if c := en.want(en.do("lika-b", "GET", "/api/v1/cases/"+id, nil), 200, "B's case"); fmt.Sprint(c.Body["lika_ids"]) != "[lika-b]" {
		t.Errorf("B sees the other publishers on the case: %v", c.Body["lika_ids"])
	}
	en.want(en.do("lika-b", "POST", "/api/v1/tickets/"+t2+"/close", `{"unprocessed":[{"row":4,"reason":"x"}]}`), 400, "a row beyond B's file")
	closed := en.want(en.do("lika-b", "POST", "/api/v1/tickets/"+t2+"/close", `{"unprocessed":[{"row":3,"reason":"onbekend","list_row":99}]}`), 200, "close")
	if u := closed.Body["unprocessed"].([]any); len(u) != 1 || u[0].(map[string]any)["row"] != 3.0 || u[0].(map[string]any)["list_row"] != 4.0 {
		t.Errorf("B's unprocessed row 3 (Studentb0, row 4 of the school's list): %s", closed.Raw)
	}
}

func TestMBOListFlow(t *testing.T) {
	en := newEnv(t, gormdbtest.SQLite(t))
	id, tickets := mboAtStep8(t, en, "lika-a", "lika-b")
	t1, t2 := tickets["lika-a"], tickets["lika-b"]
	miss := en.want(en.do("dist", "POST", "/api/v1/cases/"+id+"/steps/8a", `{}`), 409, "8a without parts")
	if !strings.Contains(miss.Raw, "lika-a") || !strings.Contains(miss.Raw, "lika-b") {
		t.Errorf("8a refusal should name the LiKas: %s", miss.Raw)
	}
	en.want(en.upload("lika-b", "/api/v1/tickets/"+t1+"/list", mboPart("a", 2, false)), 404, "upload to another LiKa's ticket")
	en.want(en.upload("lika-a", "/api/v1/tickets/"+t1+"/list", "Voorletters;Voornaam\nS.;x\n"), 400, "part without columns")
	en.want(en.upload("lika-a", "/api/v1/tickets/"+t1+"/list", mboPart("a", 2, false)), 201, "part A")
	en.want(en.upload("lika-b", "/api/v1/tickets/"+t2+"/list", mboPart("b", 3, false)), 201, "part B")
	// Each LiKa sees its own part only.
	if l := en.want(en.do("lika-a", "GET", "/api/v1/cases/"+id+"/lists", nil), 200, "LiKa lists"); strings.Count(l.Raw, `"supplier"`) != 1 {
		t.Errorf("LiKa A sees other parts: %s", l.Raw)
	}
	req := httptest.NewRequest("GET", "/api/v1/cases/"+id+"/lists/merged", nil)
	req.Header.Set("Authorization", "Bearer "+en.tokens["school-mbo"])
	rec := httptest.NewRecorder()
	en.e.ServeHTTP(rec, req)
	merged, err := waswordt.Read(rec.Body.Bytes())
	if rec.Code != 200 || err != nil || len(merged.Rows) != 5 || len(merged.Header) != 8 {
		t.Fatalf("merged: %d %v %+v", rec.Code, err, merged)
	}
	en.want(en.do("lika-a", "GET", "/api/v1/cases/"+id+"/lists/merged", nil), 403, "LiKa merged")
	// A completed list uploaded early, and a part replaced after it (before
	// 8a, still allowed): 8b waits for the school to add the new row.
	early := strings.TrimSpace(mboPart("a", 2, true)) + "\n" + strings.SplitN(mboPart("b", 3, true), "\n", 2)[1]
	en.want(en.upload("school-mbo", "/api/v1/cases/"+id+"/lists", early), 201, "completed list before 8a")
	en.want(en.upload("lika-b", "/api/v1/tickets/"+t2+"/list", mboPart("b", 4, false)), 201, "part B, again")
	en.want(en.do("dist", "POST", "/api/v1/cases/"+id+"/steps/8a", `{}`), 200, "8a")
	short := en.want(en.do("school-mbo", "POST", "/api/v1/cases/"+id+"/steps/8b", `{}`), 409, "8b with a list short of B's new row")
	if strings.Count(short.Raw, "supplied_row_missing") != 1 || !strings.Contains(short.Raw, `"row":7`) || strings.Contains(short.Raw, "not stored") {
		t.Errorf("8b with a list short of B's new row: %s", short.Raw)
	}
	// The school's returned list must keep every supplied row.
	partial := mboPart("a", 2, true)
	rep := en.want(en.upload("school-mbo", "/api/v1/cases/"+id+"/lists", partial), 400, "returned list without B's rows")
	if strings.Count(rep.Raw, "supplied_row_missing") != 4 {
		t.Errorf("missing rows: %s", rep.Raw)
	}
	// A file with problems of its own names the rows it leaves out too,
	// in the same answer: the file's first.
	badCell := strings.Replace(partial, "sa0@roc.nieuw.nl", "sa0-zonder-realm", 1)
	both := en.want(en.upload("school-mbo", "/api/v1/cases/"+id+"/lists", badCell), 400, "a bad cell and B's rows left out")
	if probs, _ := both.Body["details"].(map[string]any)["problems"].([]any); len(probs) != 5 || strings.Count(both.Raw, "supplied_row_missing") != 4 ||
		probs[0].(map[string]any)["row"] != 2.0 || probs[0].(map[string]any)["code"] == "supplied_row_missing" || !strings.Contains(both.Raw, "5 problem(s)") {
		t.Errorf("a bad cell and the rows left out, in one answer: %s", both.Raw)
	}
	full := strings.TrimSpace(mboPart("a", 2, true)) + "\n" + strings.SplitN(mboPart("b", 4, true), "\n", 2)[1]
	half := strings.Replace(full, "sa0@roc.nieuw.nl;", ";sa0@roc.nieuw.nl", 1)
	if rep := en.want(en.upload("school-mbo", "/api/v1/cases/"+id+"/lists", half), 400, "RealId without ProfileId"); !strings.Contains(rep.Raw, `"row":2`) || !strings.Contains(rep.Raw, "nlEduPersonProfileId nieuw") {
		t.Errorf("half-filled row: %s", rep.Raw)
	}
	// A row left open is stored, and holds up 8b until the school fills
	// it in: here row by row.
	en.want(en.upload("school-mbo", "/api/v1/cases/"+id+"/lists", strings.Replace(full, "sa0@roc.nieuw.nl", "", 1)), 201, "returned list with row 2 open")
	if open := en.want(en.do("school-mbo", "POST", "/api/v1/cases/"+id+"/steps/8b", `{}`), 409, "8b with row 2 open"); !strings.Contains(open.Raw, "supplied_row_open") || !strings.Contains(open.Raw, `"row":2`) {
		t.Errorf("8b with an open row: %s", open.Raw)
	}
	w := en.want(en.do("school-mbo", "GET", "/api/v1/cases/"+id+"/lists/rows", nil), 200, "rows")
	row2 := w.Body["rows"].([]any)[0].(map[string]any)
	if w.Body["open"] != 1.0 || row2["row"] != 2.0 || row2["open"] != true || len(w.Body["rows"].([]any)) != 6 {
		t.Fatalf("rows: %s", w.Raw)
	}
	en.want(en.do("dist", "GET", "/api/v1/cases/"+id+"/lists/rows", nil), 403, "distributor fills rows")
	edit := func(row any, key any, cells string) string {
		return fmt.Sprintf(`{"rows":[{"row":%v,"key":%q,"cells":%s}]}`, row, key, cells)
	}
	rowsURL := "/api/v1/cases/" + id + "/lists/rows"
	en.want(en.do("school-mbo", "POST", rowsURL, edit(2, row2["key"], `{"profile_old":"x@y"}`)), 400, "a publisher's column")
	en.want(en.do("school-mbo", "POST", rowsURL, edit(99, row2["key"], `{"profile_new":"x@roc.nieuw.nl"}`)), 400, "no such row")
	en.want(en.do("school-mbo", "POST", rowsURL, edit(3, row2["key"], `{"profile_new":"x@roc.nieuw.nl"}`)), 409, "another row's key")
	if r := en.want(en.do("school-mbo", "POST", rowsURL, `{"rows":[{"row":2,"cells":{"profile_new":"x@roc.nieuw.nl"}}]}`), 400, "no key"); r.Body["field"] != "rows[0].key" {
		t.Errorf("a row without its key: %s", r.Raw)
	}
	// Every edit at fault at once.
	if r := en.want(en.do("school-mbo", "POST", rowsURL, fmt.Sprintf(`{"rows":[{"row":99,"key":"k","cells":{}},{"row":2,"key":%q,"cells":{"kleur":"x","profile_new":"x@roc.nieuw.nl"}},{"row":3,"cells":{}}]}`, row2["key"])), 400, "three edits at fault"); r.Body["field"] != "rows[0].row" ||
		!strings.Contains(r.Raw, "row 99 is not in the list") || !strings.Contains(r.Raw, `\"kleur\" is not a column`) || !strings.Contains(r.Raw, "rows[2].key") {
		t.Errorf("three edits at fault: %s", r.Raw)
	}
	en.want(en.upload("school-mbo", "/api/v1/cases/"+id+"/lists?several_realms=ja", full), 400, "several_realms not a boolean")
	if dup := en.want(en.do("school-mbo", "POST", rowsURL, edit(2, row2["key"], `{"profile_new":"sb0@roc.nieuw.nl"}`)), 400, "a new identity used twice"); !strings.Contains(dup.Raw, "duplicate_new") || !strings.Contains(dup.Raw, `"row":`) ||
		dup.Body["field"] != "rows" || !strings.Contains(dup.Raw, "sla opnieuw op") {
		t.Errorf("duplicate new identity: %s", dup.Raw)
	}
	v := en.want(en.do("school-mbo", "POST", rowsURL, edit(2, row2["key"], `{"profile_new":" sa0@roc.nieuw.nl "}`)), 201, "row 2 filled in")
	if v.Body["kind"] != "returned" || v.Body["version"] != 3.0 || v.Body["rows"] != 6.0 {
		t.Errorf("saved rows: %s", v.Raw)
	}
	if w := en.want(en.do("school-mbo", "GET", rowsURL, nil), 200, "rows"); w.Body["open"] != 0.0 {
		t.Errorf("after filling row 2: %s", w.Raw)
	}
	if m := en.want(en.do("school-mbo", "GET", "/api/v1/cases/"+id+"/lists/merged", nil), 200, "merged"); !strings.Contains(m.Raw, "sa0@roc.nieuw.nl") {
		t.Errorf("the merged list leaves out what the school filled in: %s", m.Raw)
	}
	en.want(en.do("dist", "POST", "/api/v1/tickets/"+t1+"/return", `{}`), 409, "return before 8b")
	en.want(en.do("school-mbo", "POST", "/api/v1/cases/"+id+"/steps/8b", `{}`), 200, "8b")
	returned := ""
	for _, x := range en.want(en.do("school-mbo", "GET", "/api/v1/cases/"+id+"/lists", nil), 200, "versions").Body["lists"].([]any) {
		if v := x.(map[string]any); v["kind"] == "returned" && v["current"] == true {
			returned = v["id"].(string)
		}
	}
	en.want(en.do("lika-a", "GET", "/api/v1/cases/"+id+"/lists/"+returned, nil), 404, "completed list before its return")
	en.want(en.do("kn", "GET", "/api/v1/cases/"+id+"/lists", nil), 403, "Kennisnet lists")
	en.want(en.do("kn", "GET", "/api/v1/cases/"+id+"/lists/"+returned, nil), 403, "Kennisnet download")
	en.want(en.do("school-mbo", "POST", "/api/v1/tickets/"+t1+"/return", `{}`), 403, "school returns")
	// 8a forwarded the parts to the school: they no longer change.
	en.want(en.upload("lika-b", "/api/v1/tickets/"+t2+"/list", mboPart("b", 4, false)), 409, "part B after 8a")
	ret := en.want(en.do("dist", "POST", "/api/v1/tickets/"+t1+"/return", `{}`), 200, "return to LiKa A")
	if ret.Body["state"] != "open" || ret.Body["due_at"] == nil {
		t.Errorf("ticket after its return: %s", ret.Raw)
	}
	en.want(en.do("dist", "POST", "/api/v1/tickets/"+t1+"/return", `{}`), 409, "return twice")
	// Rows returned to A no longer change; B's, still waiting, may.
	w = en.want(en.do("school-mbo", "GET", rowsURL, nil), 200, "rows")
	keys := map[float64]string{}
	for _, x := range w.Body["rows"].([]any) {
		keys[x.(map[string]any)["row"].(float64)] = x.(map[string]any)["key"].(string)
	}
	if ch := en.want(en.do("school-mbo", "POST", rowsURL, edit(3, keys[3], `{"profile_new":"other@roc.nieuw.nl"}`)), 400, "a row returned to A"); !strings.Contains(ch.Raw, "returned_row_changed") || !strings.Contains(ch.Raw, t1) {
		t.Errorf("change of a returned row: %s", ch.Raw)
	}
	en.want(en.upload("school-mbo", "/api/v1/cases/"+id+"/lists", partial+strings.SplitN(mboPart("b", 4, true), "\n", 2)[1]), 201, "the same list as a file")
	en.want(en.do("school-mbo", "POST", rowsURL, edit(4, keys[4], `{"real_new":"b0@roc.real.nieuw"}`)), 201, "B's row corrected")
	// After its return LiKa A gets the completed list as it was returned
	// to it (the school's later versions keep its rows): its own rows
	// only.
	current := ""
	for _, x := range en.want(en.do("school-mbo", "GET", "/api/v1/cases/"+id+"/lists", nil), 200, "versions").Body["lists"].([]any) {
		if v := x.(map[string]any); v["kind"] == "returned" && v["current"] == true {
			current = v["id"].(string)
		}
	}
	en.want(en.do("lika-a", "GET", "/api/v1/cases/"+id+"/lists/"+current, nil), 404, "a version after the one returned")
	var seen []string
	for _, x := range en.want(en.do("lika-a", "GET", "/api/v1/cases/"+id+"/lists", nil), 200, "versions").Body["lists"].([]any) {
		if v := x.(map[string]any); v["kind"] == "returned" {
			seen = append(seen, v["id"].(string))
		}
	}
	if len(seen) != 1 || seen[0] != returned {
		t.Errorf("LiKa A sees completed lists %v, not only the one returned to it (%s)", seen, returned)
	}
	dl := httptest.NewRequest("GET", "/api/v1/cases/"+id+"/lists/"+returned, nil)
	dl.Header.Set("Authorization", "Bearer "+en.tokens["lika-a"])
	rec = httptest.NewRecorder()
	en.e.ServeHTTP(rec, dl)
	own, err := waswordt.Read(rec.Body.Bytes())
	if rec.Code != 200 || err != nil || len(own.Rows) != 2 || strings.Contains(rec.Body.String(), "Studentb") {
		t.Errorf("LiKa A's completed rows: %d %v %d rows", rec.Code, err, len(own.Rows))
	}
	en.want(en.do("lika-b", "GET", "/api/v1/cases/"+id+"/lists/"+returned, nil), 404, "LiKa B before its return")
	if b := en.want(en.do("dist", "GET", "/api/v1/tickets/"+t2, nil), 200, "ticket B"); b.Body["state"] != "awaiting_list" {
		t.Errorf("LiKa B's clock started with A's return: %s", b.Raw)
	}
	c := en.want(en.do("dist", "POST", "/api/v1/cases/"+id+"/steps/8c", `{}`), 200, "8c returns to the rest")
	for _, x := range c.Body["tickets"].([]any) {
		if x.(map[string]any)["state"] != "open" {
			t.Errorf("ticket after the return: %v", x)
		}
	}
	en.want(en.upload("lika-a", "/api/v1/tickets/"+t1+"/list", mboPart("a", 2, false)), 409, "part after the return")
	// Returned to every publisher: a new version would reach none of them.
	if r := en.want(en.upload("school-mbo", "/api/v1/cases/"+id+"/lists", full), 409, "the school's list after every return"); !strings.Contains(r.Raw, "returned to every publisher") {
		t.Errorf("the school's list after every return: %s", r.Raw)
	}
	en.want(en.do("school-mbo", "POST", rowsURL, edit(4, keys[4], `{"real_new":"b1@roc.real.nieuw"}`)), 409, "a row after every return")
	en.want(en.upload("school-mbo", "/api/v1/cases/"+id+"/lists", "Voorletters;Voornaam\nS.;x\n"), 409, "a bad file after every return: the lock first")
}

func TestTemplatesAndWordtBuilder(t *testing.T) {
	en := newEnv(t, gormdbtest.SQLite(t))
	for _, path := range []string{"/api/v1/lists/templates/vo?type=xlsx", "/api/v1/lists/templates/mbo-eck?part=supplier", "/api/v1/lists/templates/mbo-non-eck"} {
		req := httptest.NewRequest("GET", path, nil)
		req.Header.Set("Authorization", "Bearer "+en.tokens["school-vo"])
		rec := httptest.NewRecorder()
		en.e.ServeHTTP(rec, req)
		if tab, err := waswordt.Read(rec.Body.Bytes()); rec.Code != 200 || err != nil || len(tab.Header) < 6 {
			t.Errorf("%s: %d %v", path, rec.Code, err)
		}
	}
	en.want(en.do("school-vo", "GET", "/api/v1/lists/templates/hbo", nil), 400, "unknown format")

	r := en.want(en.do("dist", "POST", "/api/v1/cases", `{"school":"01AB","from":{"quadrant":1,"idp":"Magister"},"to":{"quadrant":1,"idp":"Azure AD"},"likas":["lika-a"],"switch_on":"2027-07-15"}`), 201, "open")
	id := r.Body["id"].(string)
	old := base64.StdEncoding.EncodeToString([]byte("Stamnr;Voornaam;Achternaam;Login\n1;Jan;Berg;jberg@magis\n2;Émile;Dupont;edupont@magis\n3;Kim;Vos;kvos@magis\n"))
	nw := base64.StdEncoding.EncodeToString([]byte("employeeNumber,UPN\n1,jan.berg@lyceum.nl\n2,emile.dupont@lyceum.nl\n"))
	body := fmt.Sprintf(`{"old":{"file":%q,"identity":"Login"},"new":{"file":%q,"identity":"UPN"},"old_key":"Stamnr","new_key":"employeeNumber"}`, old, nw)
	en.want(en.do("dist", "POST", "/api/v1/cases/"+id+"/wordt", body), 403, "distributor builds")
	res := en.want(en.do("school-vo", "POST", "/api/v1/cases/"+id+"/wordt", body), 200, "join")
	if res.Body["matched"].(float64) != 2 || res.Body["unmatched"].(float64) != 1 {
		t.Errorf("join: %s", res.Raw)
	}
	pattern := fmt.Sprintf(`{"old":{"file":%q,"identity":"Login"},"new":{"file":%q,"identity":"UPN"},"pattern":"[voornaam].[achternaam]@lyceum.nl","first_name":"Voornaam","last_name":"Achternaam"}`, old, nw)
	if res := en.want(en.do("school-vo", "POST", "/api/v1/cases/"+id+"/wordt", pattern), 200, "pattern"); res.Body["matched"].(float64) != 2 {
		t.Errorf("pattern: %s", res.Raw)
	}
	en.want(en.do("school-vo", "POST", "/api/v1/cases/"+id+"/wordt", `{"old":{"identity":"Login"}}`), 400, "no file")
}

func TestListRoutesHideForeignCases(t *testing.T) {
	en := newEnv(t, gormdbtest.SQLite(t))
	r := en.want(en.do("dist", "POST", "/api/v1/cases", `{"school":"02CD","from":{"eck":true,"kind":"elo"},"to":{"eck":true,"kind":"elo"},"likas":["lika-a"],"switch_on":"2027-07-10"}`), 201, "open")
	id := r.Body["id"].(string)
	en.want(en.do("dist", "POST", "/api/v1/cases/"+id+"/steps/6", `{"data":{"licences":"alle","identity_change":"identity"}}`), 200, "step 6")
	en.want(en.do("dist", "POST", "/api/v1/cases/"+id+"/steps/7", `{}`), 200, "step 7")
	r = en.want(en.do("dist", "GET", "/api/v1/cases/"+id, nil), 200, "get")
	tk := r.Body["tickets"].([]any)[0].(map[string]any)["id"].(string)
	v := en.want(en.upload("lika-a", "/api/v1/tickets/"+tk+"/list", mboPart("a", 2, false)), 201, "part")
	list := v.Body["id"].(string)
	routes := []struct{ method, path, body string }{
		{"POST", "/api/v1/cases/" + id + "/lists", mboPart("a", 2, true)},
		{"POST", "/api/v1/tickets/" + tk + "/list", mboPart("a", 2, false)},
		{"GET", "/api/v1/cases/" + id + "/lists", ""},
		{"GET", "/api/v1/cases/" + id + "/lists/" + list, ""},
		{"GET", "/api/v1/cases/" + id + "/lists/merged", ""},
		{"POST", "/api/v1/cases/" + id + "/wordt", `{}`},
		{"POST", "/api/v1/tickets/" + tk + "/close", `{"unprocessed":[{"row":2,"reason":"x"}]}`},
	}
	for _, org := range []string{"dist-other", "lika-b", "school-vo"} {
		for _, rt := range routes {
			var body any
			if rt.body != "" {
				body = rt.body
			}
			en.want(en.do(org, rt.method, rt.path, body), 404, org+" "+rt.method+" "+rt.path)
		}
	}
	// The other LiKa on the case would see the list only through its own ticket.
	if l := en.want(en.do("lika-a", "GET", "/api/v1/cases/"+id+"/lists", nil), 200, "own LiKa"); !strings.Contains(l.Raw, list) {
		t.Errorf("the LiKa does not see its own part: %s", l.Raw)
	}
}

func TestMergedListHasSharedStudentsOnce(t *testing.T) {
	en := newEnv(t, gormdbtest.SQLite(t))
	r := en.want(en.do("dist", "POST", "/api/v1/cases", `{"school":"02CD","from":{"eck":true,"kind":"elo"},"to":{"eck":true,"kind":"elo"},"likas":["lika-a","lika-b"],"switch_on":"2027-07-10"}`), 201, "open")
	id := r.Body["id"].(string)
	en.want(en.do("dist", "POST", "/api/v1/cases/"+id+"/steps/6", `{"data":{"licences":"alle","identity_change":"identity"}}`), 200, "6")
	en.want(en.do("dist", "POST", "/api/v1/cases/"+id+"/steps/7", `{}`), 200, "7")
	r = en.want(en.do("dist", "GET", "/api/v1/cases/"+id, nil), 200, "get")
	shared := "S.;Sam;Gedeeld;Zwolle;sam@roc.adfs.nl;sam@roc.real\n"
	for i, x := range r.Body["tickets"].([]any) {
		tk := x.(map[string]any)
		own := fmt.Sprintf("A.;Eigen%d;X;Zwolle;eigen%d@roc.adfs.nl;eigen%d@roc.real\n", i, i, i)
		en.want(en.upload(tk["lika_id"].(string), "/api/v1/tickets/"+tk["id"].(string)+"/list", mboHead+"\n"+shared+own), 201, "part")
	}
	req := httptest.NewRequest("GET", "/api/v1/cases/"+id+"/lists/merged", nil)
	req.Header.Set("Authorization", "Bearer "+en.tokens["school-mbo"])
	rec := httptest.NewRecorder()
	en.e.ServeHTTP(rec, req)
	merged, err := waswordt.Read(rec.Body.Bytes())
	if err != nil || len(merged.Rows) != 3 {
		t.Fatalf("merged: %v %d rows, want 3 (Sam once)", err, len(merged.Rows))
	}
	// Filled in as given, it is accepted.
	var b strings.Builder
	b.WriteString(strings.Join(merged.Header, ";") + "\n")
	for i, row := range merged.Rows {
		row[6] = fmt.Sprintf("nieuw%d@roc.nieuw.nl", i)
		b.WriteString(strings.Join(row, ";") + "\n")
	}
	en.want(en.upload("school-mbo", "/api/v1/cases/"+id+"/lists", b.String()), 201, "returned merged list")
}

// A list whose rows are each fine but which has a problem across rows
// (a new identity used twice) is refused with the report of that problem,
// although it was being written while that check ran: nothing of it stays,
// not the version, not its audit event.
func TestListRefusedAcrossRowsStoresNothing(t *testing.T) {
	gormdbtest.Each(t, func(t *testing.T, store *gormdb.Store) {
		en := newEnv(t, store)
		r := en.want(en.do("dist", "POST", "/api/v1/cases", `{"school":"01AB","from":{"quadrant":1,"idp":"Magister"},"to":{"quadrant":1,"idp":"SOM"},"likas":["lika-a"],"switch_on":"2027-07-15"}`), 201, "open")
		id := r.Body["id"].(string)
		base := "/api/v1/cases/" + id + "/lists"
		// More rows than are checked on one goroutine; the last takes the
		// first row's new identity.
		bad := voList(3000) + "Piet;;Bos;1234 AB;1;pbos@magis.01AB;l0@lyceum.nl\n"
		rep := en.want(en.upload("school-vo", base, bad), 400, "duplicate new identity")
		problems := rep.Body["details"].(map[string]any)["problems"].([]any)
		if p := problems[0].(map[string]any); len(problems) != 1 || p["code"] != "duplicate_new" || p["row"].(float64) != 3002 {
			t.Fatalf("want one duplicate_new on row 3002, got %s", rep.Raw)
		}
		if l := en.want(en.do("school-vo", "GET", base, nil), 200, "versions"); len(l.Body["lists"].([]any)) != 0 {
			t.Errorf("refused list stored: %s", l.Raw)
		}
		ev := en.want(en.do("school-vo", "GET", "/api/v1/cases/"+id+"/events", nil), 200, "events")
		if strings.Contains(ev.Raw, "list.uploaded") {
			t.Errorf("refused list in the audit trail: %s", ev.Raw)
		}
		// The same list corrected is stored as version 1.
		good := voList(3000) + "Piet;;Bos;1234 AB;1;pbos@magis.01AB;pbos@lyceum.nl\n"
		if v := en.want(en.upload("school-vo", base, good), 201, "corrected"); v.Body["version"].(float64) != 1 || v.Body["rows"].(float64) != 3001 {
			t.Errorf("corrected list: %s", v.Raw)
		}
	})
}

// TestMalformedCorpusStoresNothing: every file of the malformed corpus,
// uploaded as the school's list, is refused with its problems, each in
// Dutch and English, and nothing of any of them is stored: no version, no
// audit event.
func TestMalformedCorpusStoresNothing(t *testing.T) {
	corpus, err := waswordttest.Malformed(func(header []string, rows [][]string) ([]byte, error) {
		return waswordt.Write(waswordt.XLSX, header, rows)
	})
	if err != nil {
		t.Fatal(err)
	}
	each(t, func(t *testing.T, en *env) {
		r := en.want(en.do("dist", "POST", "/api/v1/cases", `{"school":"01AB","from":{"quadrant":1,"idp":"Magister"},"to":{"quadrant":1,"idp":"SOM"},"likas":["lika-a"],"switch_on":"2027-07-15"}`), 201, "open")
		id := r.Body["id"].(string)
		for name, data := range corpus {
			rep := en.upload("school-vo", "/api/v1/cases/"+id+"/lists", string(data))
			problems, _ := rep.Body["details"].(map[string]any)["problems"].([]any)
			if rep.Status != 400 || len(problems) == 0 || rep.Body["error"] == nil || rep.Body["error_nl"] == nil {
				t.Errorf("%s: %d %.300s", name, rep.Status, rep.Raw)
			}
		}
		if l := en.want(en.do("school-vo", "GET", "/api/v1/cases/"+id+"/lists", nil), 200, "versions"); len(l.Body["lists"].([]any)) != 0 {
			t.Errorf("%d malformed uploads left versions: %s", len(corpus), l.Raw)
		}
		if ev := en.want(en.do("school-vo", "GET", "/api/v1/cases/"+id+"/events", nil), 200, "events"); strings.Contains(ev.Raw, "list.uploaded") {
			t.Errorf("a malformed upload's event: %s", ev.Raw)
		}
	})
}

// mboAtStep8 opens an MBO ECK case for the LiKas and completes the steps
// before 8a; it returns the case and its tickets by LiKa.
func mboAtStep8(t *testing.T, en *env, likas ...string) (string, map[string]string) {
	t.Helper()
	r := en.want(en.do("dist", "POST", "/api/v1/cases", map[string]any{"school": "02CD", "from": map[string]any{"eck": true, "kind": "elo"},
		"to": map[string]any{"eck": true, "kind": "distributor_portal"}, "likas": likas, "switch_on": "2027-07-10"}), 201, "open")
	id := r.Body["id"].(string)
	for _, step := range []string{"2", "3", "4", "5", "6", "7"} {
		r = en.want(en.do("dist", "GET", "/api/v1/cases/"+id, nil), 200, "get")
		for _, s := range r.Body["steps"].([]any) {
			if st := s.(map[string]any); st["key"] == step {
				own := map[string]string{"school": "school-mbo", "distributor": "dist", "kennisnet": "kn"}[st["owner"].(string)]
				en.want(en.do(own, "POST", "/api/v1/cases/"+id+"/steps/"+step, map[string]any{"data": sample(st["records"].([]any))}), 200, "step "+step)
			}
		}
	}
	tickets := map[string]string{}
	for _, x := range en.want(en.do("dist", "GET", "/api/v1/cases/"+id, nil), 200, "get").Body["tickets"].([]any) {
		tickets[x.(map[string]any)["lika_id"].(string)] = x.(map[string]any)["id"].(string)
	}
	return id, tickets
}

// TestReturnedRowsStay: once a publisher has its rows back they stay as
// returned, also when a student is on two publishers' parts and when the
// school's file spelled a publisher's column its own way; the rows of a
// publisher still waiting may change, on the page or by file.
func TestReturnedRowsStay(t *testing.T) {
	en := newEnv(t, gormdbtest.SQLite(t))
	id, tickets := mboAtStep8(t, en, "lika-a", "lika-b", "lika-c")
	sam := "S.;Sam;Achter;Zwolle;ssam@roc.adfs.nl;sam@roc.real"
	row := func(k string) string {
		return fmt.Sprintf("S.;Student%s0;Achter;Zwolle;s%s0@roc.adfs.nl;%s0@roc.real", k, k, k)
	}
	parts := map[string]string{"lika-a": sam + "\n" + row("a"), "lika-b": sam + "\n" + row("b"), "lika-c": row("c")}
	for lika, rows := range parts {
		en.want(en.upload(lika, "/api/v1/tickets/"+tickets[lika]+"/list", mboHead+"\n"+rows+"\n"), 201, "part "+lika)
	}
	en.want(en.do("dist", "POST", "/api/v1/cases/"+id+"/steps/8a", `{}`), 200, "8a")
	head := mboHead + ";nlEduPersonProfileId nieuw;nlEduPersonRealId nieuw\n"
	filled := func(r, wordt string) string { return r + ";" + wordt + ";\n" }
	// The school's file writes Student a's surname in capitals.
	list := head + filled(sam, "sam@roc.nieuw.nl") + filled(strings.Replace(row("a"), "Achter", "ACHTER", 1), "a0@roc.nieuw.nl") +
		filled(row("b"), "b0@roc.nieuw.nl") + filled(row("c"), "c0@roc.nieuw.nl")
	lists := "/api/v1/cases/" + id + "/lists"
	en.want(en.upload("school-mbo", lists, list), 201, "completed list")
	en.want(en.do("school-mbo", "POST", "/api/v1/cases/"+id+"/steps/8b", `{}`), 200, "8b")
	en.want(en.do("dist", "POST", "/api/v1/tickets/"+tickets["lika-a"]+"/return", `{}`), 200, "return to A")
	en.want(en.do("dist", "POST", "/api/v1/tickets/"+tickets["lika-b"]+"/return", `{}`), 200, "return to B")

	// Sam went back to A and to B: the same list again is still the same.
	en.want(en.upload("school-mbo", lists, list), 201, "the same list after two returns")
	w := en.want(en.do("school-mbo", "GET", lists+"/rows", nil), 200, "rows")
	rows := w.Body["rows"].([]any)
	if len(rows) != 4 || !strings.Contains(fmt.Sprint(rows[1]), "ACHTER") {
		t.Fatalf("the school's rows as it stored them: %s", w.Raw)
	}
	c := rows[3].(map[string]any)
	edit := fmt.Sprintf(`{"rows":[{"row":5,"key":%q,"cells":{"real_new":"c0@roc.real.nieuw"}}]}`, c["key"])
	en.want(en.do("school-mbo", "POST", lists+"/rows", edit), 201, "C's row, still waiting, corrected")
	// Sam's row changed is refused, named once, at its row.
	changed := strings.Replace(list, "sam@roc.nieuw.nl", "sam2@roc.nieuw.nl", 1)
	rep := en.want(en.upload("school-mbo", lists, changed), 400, "a row returned to A and B changed")
	if strings.Count(rep.Raw, "returned_row_changed") != 1 || !strings.Contains(rep.Raw, `"row":2`) {
		t.Errorf("a returned row changed: %s", rep.Raw)
	}
	// Left out: named by its row in the version before.
	rep = en.want(en.upload("school-mbo", lists, strings.Replace(list, filled(row("b"), "b0@roc.nieuw.nl"), "", 1)), 400, "B's row left out")
	if !strings.Contains(rep.Raw, "returned_row_missing") || !strings.Contains(rep.Raw, "supplied_row_missing") {
		t.Errorf("a returned row left out, named as both in one answer: %s", rep.Raw)
	}
	// A returned row changed and a cell at fault: one answer, the file's
	// own problem first.
	both := strings.Replace(changed, "c0@roc.nieuw.nl", "c0 zonder realm", 1)
	if both == changed {
		t.Fatal("the test's list has no c0@roc.nieuw.nl to spoil")
	}
	rep = en.want(en.upload("school-mbo", lists, both), 400, "a returned row changed and a bad cell")
	if probs, _ := rep.Body["details"].(map[string]any)["problems"].([]any); len(probs) < 2 || probs[0].(map[string]any)["code"] != "identity" || !strings.Contains(rep.Raw, "returned_row_changed") {
		t.Errorf("a returned row changed and a bad cell, in one answer: %s", rep.Raw)
	}
}

// TestListSealedInChunks: an upload is sealed in chunks, as it is written
// (a list of several chunks here), and comes back as it went in; a list
// sealed whole, as binaries before the chunks stored it, still downloads.
func TestListSealedInChunks(t *testing.T) {
	each(t, func(t *testing.T, en *env) {
		ctx := context.Background()
		r := en.want(en.do("dist", "POST", "/api/v1/cases", `{"school":"01AB","from":{"quadrant":1,"idp":"Magister"},"to":{"quadrant":1,"idp":"SOM"},"likas":["lika-a"],"switch_on":"2027-07-15"}`), 201, "open")
		caseID := r.Body["id"].(string)
		base := "/api/v1/cases/" + caseID + "/lists"
		const rows = 20000
		v1 := en.want(en.upload("school-vo", base, voList(rows)), 201, "upload")
		school := gormdb.Viewer{OrganisationID: "school-vo", Role: cmr.RoleSchool}
		meta, sealed, err := en.store.ListData(ctx, school, caseID, v1.Body["id"].(string))
		if err != nil {
			t.Fatal(err)
		}
		if !aesgcm.Chunked(sealed) || len(sealed) < 2*aesgcm.ChunkSize {
			t.Fatalf("stored as %d bytes, chunked %v: want several chunks", len(sealed), aesgcm.Chunked(sealed))
		}
		download := func(id string) string {
			t.Helper()
			d := en.do("school-vo", "GET", base+"/"+id+"?type=csv", nil)
			if d.Status != 200 {
				t.Fatalf("download %s: %d %.200s", id, d.Status, d.Raw)
			}
			return d.Raw
		}
		first := download(meta.ID)
		if tab, err := waswordt.Read([]byte(first)); err != nil || len(tab.Rows) != rows {
			t.Fatalf("downloaded %d rows, want %d (%v)", len(tab.Rows), rows, err)
		}

		// The same list sealed whole, stored as the next version.
		wrapped, err := en.store.CaseKey(ctx, caseID, nil)
		if err != nil {
			t.Fatal(err)
		}
		key, err := en.keys.Unwrap(caseID, wrapped)
		if err != nil {
			t.Fatal(err)
		}
		plain, err := aesgcm.Open(key, sealed, aesgcm.Binding(caseID, meta.ID, meta.Version))
		if err != nil {
			t.Fatal(err)
		}
		whole := cmr.ListVersion{ID: gormdb.NewListID(), CaseID: caseID, Kind: meta.Kind, Format: meta.Format, Version: 2, RowCount: rows, UploadedBy: meta.UploadedBy}
		blob, err := aesgcm.Seal(key, plain, aesgcm.Binding(caseID, whole.ID, whole.Version))
		if err != nil || aesgcm.Chunked(blob) {
			t.Fatalf("sealed whole: chunked %v, %v", aesgcm.Chunked(blob), err)
		}
		if _, err := en.store.SaveList(ctx, whole, bytes.NewReader(blob), nil); err != nil {
			t.Fatal(err)
		}
		if download(whole.ID) != first {
			t.Error("the list sealed whole downloads otherwise than in chunks")
		}
	})
}

// brokenLists is a store that fails a list's save after reading the
// first bytes of its ciphertext, as a database that goes away mid-write.
type brokenLists struct {
	api.ListStore
	read int
}

func (b *brokenLists) SaveList(ctx context.Context, v cmr.ListVersion, ciphertext io.Reader, ready func() error) (cmr.ListVersion, error) {
	n, _ := io.CopyN(io.Discard, ciphertext, 100<<10)
	b.read = int(n)
	return cmr.ListVersion{}, errors.New("save list: the database went away")
}

// TestUploadWhenTheStoreStopsReading: the list is sealed as the store
// reads it; a store that fails midway gets an answer out of the upload,
// not a request left waiting on a sealer with nobody reading, and the
// failure logged is the store's, not the sealer's.
func TestUploadWhenTheStoreStopsReading(t *testing.T) {
	broken := &brokenLists{}
	var logged lockedBuffer
	en := newEnvWith(t, gormdbtest.SQLite(t), slog.New(slog.NewTextHandler(&logged, nil)), func(l api.ListStore) api.ListStore {
		broken.ListStore = l
		return broken
	})
	r := en.want(en.do("dist", "POST", "/api/v1/cases", `{"school":"01AB","from":{"quadrant":1,"idp":"Magister"},"to":{"quadrant":1,"idp":"SOM"},"likas":["lika-a"],"switch_on":"2027-07-15"}`), 201, "open")
	base := "/api/v1/cases/" + r.Body["id"].(string) + "/lists"
	answered := make(chan response, 1)
	go func() { answered <- en.upload("school-vo", base, voList(20000)) }()
	select {
	case up := <-answered:
		if up.Status != 500 || strings.Contains(up.Raw, "database went away") || strings.Contains(up.Raw, "Leerling") {
			t.Errorf("upload: %d %.300s, want 500 without the cause or the list", up.Status, up.Raw)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the upload did not answer: the sealer waits for a reader that is gone")
	}
	if broken.read != 100<<10 {
		t.Errorf("the store read %d bytes of the sealed list before failing, want %d", broken.read, 100<<10)
	}
	if log := logged.String(); !strings.Contains(log, "the database went away") || strings.Contains(log, "seal list") {
		t.Errorf("the log does not give the store's failure alone:\n%s", log)
	}
}

// pausedLists holds the save of one version of the school's completed
// list, after every check and before it is written, until released: the
// school's save that checked the case before a return came in.
type pausedLists struct {
	api.ListStore
	hold    map[int]chan struct{} // version → its release
	entered chan int
}

func (p *pausedLists) SaveList(ctx context.Context, v cmr.ListVersion, ciphertext io.Reader, ready func() error) (cmr.ListVersion, error) {
	if release, ok := p.hold[v.Version]; ok && v.Kind == cmr.ListReturned {
		p.entered <- v.Version
		<-release
	}
	return p.ListStore.SaveList(ctx, v, ciphertext, ready)
}

// saveHeld uploads file as the school's list, held as it is written
// while during runs, and returns the upload's answer.
func (en *env) saveHeld(p *pausedLists, version int, path, file string, during func()) response {
	en.t.Helper()
	saved := make(chan response, 1)
	go func() { saved <- en.upload("school-mbo", path, file) }()
	select {
	case v := <-p.entered:
		if v != version {
			en.t.Fatalf("held version %d, want %d", v, version)
		}
	case r := <-saved:
		en.t.Fatalf("the save of version %d ended before it was written: %d %s", version, r.Status, r.Raw)
	case <-time.After(30 * time.Second):
		en.t.Fatalf("the save of version %d never reached the store", version)
	}
	during()
	close(p.hold[version])
	return <-saved
}

// returnedSeen returns the versions of the school's completed list lika
// sees, and fails unless each downloads with want in it and without
// notWant.
func (en *env) returnedSeen(lika, lists, want, notWant string) []string {
	en.t.Helper()
	var seen []string
	for _, x := range en.want(en.do(lika, "GET", lists, nil), 200, lika+"'s lists").Body["lists"].([]any) {
		if v := x.(map[string]any); v["kind"] == "returned" {
			seen = append(seen, fmt.Sprint(v["version"]))
			dl := httptest.NewRequest("GET", lists+"/"+v["id"].(string)+"?type=csv", nil)
			dl.Header.Set("Authorization", "Bearer "+en.tokens[lika])
			rec := httptest.NewRecorder()
			en.e.ServeHTTP(rec, dl)
			if body := rec.Body.String(); rec.Code != 200 || !strings.Contains(body, want) || strings.Contains(body, notWant) {
				en.t.Errorf("%s's download of version %v: %d %s", lika, v["version"], rec.Code, body)
			}
		}
	}
	return seen
}

// TestReturnWhileSchoolSaves: the distributor returns the list to a
// publisher (on its ticket, or to the rest with step 8c) while the
// school's save of a version that changes that publisher's rows is under
// way, checked before the return. The publisher gets the version its
// return was checked against, and the school's next version is held to
// it.
func TestReturnWhileSchoolSaves(t *testing.T) {
	paused := &pausedLists{hold: map[int]chan struct{}{2: make(chan struct{}), 4: make(chan struct{})}, entered: make(chan int)}
	en := newEnvWith(t, gormdbtest.SQLite(t), slog.New(slog.DiscardHandler), func(l api.ListStore) api.ListStore {
		paused.ListStore = l
		return paused
	})
	id, tickets := mboAtStep8(t, en, "lika-a", "lika-b")
	en.want(en.upload("lika-a", "/api/v1/tickets/"+tickets["lika-a"]+"/list", mboPart("a", 2, false)), 201, "part A")
	en.want(en.upload("lika-b", "/api/v1/tickets/"+tickets["lika-b"]+"/list", mboPart("b", 2, false)), 201, "part B")
	en.want(en.do("dist", "POST", "/api/v1/cases/"+id+"/steps/8a", `{}`), 200, "8a")
	lists := "/api/v1/cases/" + id + "/lists"
	v1 := mboPart("a", 2, true) + strings.SplitN(mboPart("b", 2, true), "\n", 2)[1]
	en.want(en.upload("school-mbo", lists, v1), 201, "version 1")
	en.want(en.do("school-mbo", "POST", "/api/v1/cases/"+id+"/steps/8b", `{}`), 200, "8b")

	// Version 2 changes A's first row; it is checked while A still
	// waits, then held until A's return (checked against version 1) is in.
	v2 := strings.Replace(v1, "sa0@roc.nieuw.nl", "changed@roc.nieuw.nl", 1)
	if r := en.saveHeld(paused, 2, lists, v2, func() {
		en.want(en.do("dist", "POST", "/api/v1/tickets/"+tickets["lika-a"]+"/return", `{}`), 200, "return to A")
	}); r.Status != 201 {
		t.Fatalf("version 2: %d %s", r.Status, r.Raw)
	}
	if seen := en.returnedSeen("lika-a", lists, "sa0@roc.nieuw.nl", "changed@"); len(seen) != 1 || seen[0] != "1" {
		t.Errorf("A sees completed list versions %v, want [1]: the one its return was checked against", seen)
	}
	// The school's next version is held to what A got, not to version 2.
	rep := en.want(en.upload("school-mbo", lists, v2), 400, "version 2 again")
	if !strings.Contains(rep.Raw, "returned_row_changed") || !strings.Contains(rep.Raw, "versie 1") {
		t.Errorf("a version that keeps A's row as version 2 changed it: %s", rep.Raw)
	}
	// Accepted: A's rows as returned, B's corrected, and a pupil of the
	// school's own (a row no publisher supplied).
	v3 := strings.Replace(v1, "sb1@roc.nieuw.nl", "b1@roc.nieuw.nl", 1) + "S.;Eigen;Leerling;Zwolle;se@roc.adfs.nl;e@roc.real;se@roc.nieuw.nl;\n"
	en.want(en.upload("school-mbo", lists, v3), 201, "A's rows as returned, B's corrected, one more row")
	// A reports rows by the file it got, its own two rows of version 1
	// (rows 2-3), each recorded with its row in that version.
	closeA := "/api/v1/tickets/" + tickets["lika-a"] + "/close"
	if r := en.want(en.do("lika-a", "POST", closeA, `{"note":"verwerkt","unprocessed":[{"row":4,"reason":"onbekend"}]}`), 400, "a row beyond A's file"); !strings.Contains(r.Raw, "2 to 3") {
		t.Errorf("rows of the file A got: %s", r.Raw)
	}
	if r := en.want(en.do("lika-a", "POST", closeA, `{"note":"verwerkt","unprocessed":[{"row":3,"reason":"onbekend"}]}`), 200, "a row of the file A got"); !strings.Contains(r.Raw, `"list_row":3`) {
		t.Errorf("A's row 3 is row 3 of version 1: %s", r.Raw)
	}

	// Step 8c returns the list to B while version 4, changing B's row,
	// is held: B gets version 3, the one the step was checked against.
	v4 := strings.Replace(v3, "sb0@roc.nieuw.nl", "changedb@roc.nieuw.nl", 1)
	if r := en.saveHeld(paused, 4, lists, v4, func() {
		en.want(en.do("dist", "POST", "/api/v1/cases/"+id+"/steps/8c", `{}`), 200, "8c")
	}); r.Status != 201 {
		t.Fatalf("version 4: %d %s", r.Status, r.Raw)
	}
	if seen := en.returnedSeen("lika-b", lists, "sb0@roc.nieuw.nl", "changedb@"); len(seen) != 1 || seen[0] != "3" {
		t.Errorf("B sees completed list versions %v, want [3]: the one step 8c was checked against", seen)
	}
	// Returned to every publisher now: no version after it reaches one.
	if rep := en.want(en.upload("school-mbo", lists, v4), 409, "version 4 again"); !strings.Contains(rep.Raw, "returned to every publisher") {
		t.Errorf("a version after every return: %s", rep.Raw)
	}
	// A case with a return naming its version, for the replay tests.
	en.saveHistory(workflows.CaseWorkflowID(id), "mbo-case-list-returned")
}

// TestVOListReplacedAfterStep11: the school may still correct its list
// between step 11 and step 14, but the case then warns the school and the
// distributor that step 11 recorded another version, and the LiKas get
// the version current at step 14.
func TestVOListReplacedAfterStep11(t *testing.T) {
	en := newEnv(t, gormdbtest.SQLite(t))
	r := en.want(en.do("dist", "POST", "/api/v1/cases", `{"school":"01AB","from":{"quadrant":1,"idp":"Magister"},"to":{"quadrant":1,"idp":"SOM"},"likas":["lika-a"],"switch_on":"2027-07-15"}`), 201, "open")
	id := r.Body["id"].(string)
	step11Done := func(r response) bool {
		for _, s := range r.Body["steps"].([]any) {
			if st := s.(map[string]any); st["key"] == "11" {
				return st["state"] == "done"
			}
		}
		return false
	}
	r = en.driveUntil(id, "school-vo", step11Done)
	if strings.Contains(r.Raw, "list_replaced") {
		t.Fatalf("a warning before the list was replaced: %s", r.Raw)
	}
	en.want(en.upload("school-vo", "/api/v1/cases/"+id+"/lists", voList(7)), 201, "replace the list after step 11")
	for _, org := range []string{"dist", "school-vo"} {
		c := en.want(en.do(org, "GET", "/api/v1/cases/"+id, nil), 200, "case")
		if !strings.Contains(c.Raw, `"code":"list_replaced"`) || !strings.Contains(c.Raw, "after step 11, which recorded 5 rows: the list now is version 2, with 7 rows") {
			t.Errorf("%s is not told the list was replaced: %s", org, c.Raw)
		}
	}
	if c := en.want(en.do("kn", "GET", "/api/v1/cases/"+id, nil), 200, "case"); strings.Contains(c.Raw, "list_replaced") {
		t.Errorf("Kennisnet, which sees no lists, is told of one: %s", c.Raw)
	}
	r = en.driveUntil(id, "school-vo", func(r response) bool { return len(r.Body["tickets"].([]any)) > 0 })
	l := en.want(en.do("lika-a", "GET", "/api/v1/cases/"+id+"/lists", nil), 200, "the LiKa's lists")
	if vs := l.Body["lists"].([]any); len(vs) != 1 || vs[0].(map[string]any)["version"] != float64(2) || vs[0].(map[string]any)["rows"] != float64(7) {
		t.Errorf("the LiKa does not get the list current at step 14: %s", l.Raw)
	}
}
