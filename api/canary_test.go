package api_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"go.temporal.io/api/workflowservice/v1"

	"github.com/cmr-idp/cmr"
	"github.com/cmr-idp/cmr/gormdb/gormdbtest"
)

// lockedBuffer collects logs written from several goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestCanaryPersonalData seeds unique names, postcodes, identities, notes
// and reasons, drives a VO case and the lists of an MBO case through
// everything people type and upload (including refusals), and then searches the logs (API, worker and SDK,
// at debug level), every Temporal history of the namespace and every error
// body for them: personal data must be in none. The security events must
// be there, with IDs.
func TestCanaryPersonalData(t *testing.T) {
	logs := &lockedBuffer{}
	en := newEnvLogging(t, gormdbtest.SQLite(t), slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	ctx := context.Background()

	var canaries []string
	canary := func(kind string, i int) string {
		c := fmt.Sprintf("Kanarie%s%cq", kind, 'a'+rune(i))
		canaries = append(canaries, c)
		return c
	}
	// A member of the school's staff with a canary name signs in by token.
	staffName := canary("Staf", 0)
	u, err := en.store.UpsertUser(ctx, cmr.User{OrganisationID: "school-vo", Email: strings.ToLower(staffName) + "@lyceum.example", Name: staffName + " " + canary("Staf", 1)})
	if err != nil {
		t.Fatal(err)
	}
	if en.tokens["school-vo"], err = en.store.CreateToken(ctx, u.ID); err != nil {
		t.Fatal(err)
	}

	var errorBodies []string
	do := func(org, method, path string, body any) response {
		r := en.do(org, method, path, body)
		if r.Status >= 400 {
			errorBodies = append(errorBodies, r.Raw)
		}
		return r
	}

	open := en.want(do("dist", "POST", "/api/v1/cases", `{"school":"01AB","from":{"quadrant":1,"idp":"Magister"},"to":{"quadrant":1,"idp":"SOM"},"likas":["lika-a","lika-b"],"switch_on":"2027-07-15"}`), 201, "open")
	id := open.Body["id"].(string)
	lists := "/api/v1/cases/" + id + "/lists"

	// The pupils' list, with canaries in every personal column.
	var list strings.Builder
	list.WriteString(voHead + "\n")
	for i := 0; i < 4; i++ {
		fmt.Fprintf(&list, "%s;;%s;9999 ZQ;%d;%s@magis.01AB;%s@lyceum.nl\n",
			canary("Voornaam", i), canary("Achternaam", i), i+1, strings.ToLower(canary("Oud", i)), strings.ToLower(canary("Nieuw", i)))
	}
	canaries = append(canaries, "9999 ZQ")
	// Refused first: a bad postcode and a duplicate, whose report must
	// name rows and columns, not the data.
	bad := list.String() + canary("Fout", 0) + ";;" + canary("Fout", 1) + ";12345;1;" + strings.ToLower(canaries[len(canaries)-3]) + "@magis.01AB;x@lyceum.nl\n"
	en.want(do("school-vo", "POST", lists, bad), 400, "a refused list")
	en.want(do("school-vo", "POST", lists, list.String()), 201, "the list")

	// Steps, with a canary in free text where a step takes one, and a
	// refused step whose data is all canary.
	en.want(do("dist", "POST", "/api/v1/cases/"+id+"/steps/plan.identity", map[string]any{"data": map[string]any{"colour": canary("Data", 0)}}), 400, "bad step data")
	for i := 0; i < 60; i++ {
		r := en.want(do("dist", "GET", "/api/v1/cases/"+id, nil), 200, "get")
		if len(r.Body["tickets"].([]any)) > 0 {
			break
		}
		for _, s := range r.Body["steps"].([]any) {
			st := s.(map[string]any)
			if st["state"] != "open" || st["kind"] != "human" {
				continue
			}
			data := sample(st["records"].([]any))
			for _, rec := range st["records"].([]any) {
				if f := rec.(map[string]any); f["type"] == "text" {
					data[f["name"].(string)] = canary("Tekst", len(canaries)%26)
				}
			}
			en.want(do(ownerOrg[st["owner"].(string)], "POST", fmt.Sprintf("/api/v1/cases/%s/steps/%s", id, st["key"]), map[string]any{"data": data}), 200, "step "+st["key"].(string))
			break
		}
	}
	r := en.want(do("dist", "GET", "/api/v1/cases/"+id, nil), 200, "get")
	tickets := r.Body["tickets"].([]any)
	if len(tickets) != 2 {
		t.Fatalf("tickets: %s", r.Raw)
	}
	current := en.want(do("lika-a", "GET", lists, nil), 200, "versions").Body["lists"].([]any)[0].(map[string]any)["id"].(string)
	file := en.want(do("lika-a", "GET", lists+"/"+current+"?type=csv", nil), 200, "download")
	if !strings.Contains(file.Raw, canaries[2]) {
		t.Fatal("the downloaded list lacks the canaries: the test would prove nothing")
	}
	en.want(do("lika-c", "GET", lists+"/"+current+"?type=csv", nil), 404, "a foreign LiKa downloads")
	t1, t2 := tickets[0].(map[string]any)["id"].(string), tickets[1].(map[string]any)["id"].(string)
	lika1 := tickets[0].(map[string]any)["lika_id"].(string)
	en.want(do(lika1, "POST", "/api/v1/tickets/"+t1+"/close", map[string]any{"note": canary("Notitie", 0),
		"unprocessed": []map[string]any{{"row": 2, "reason": canary("Reden", 0)}, {"row": 99, "reason": canary("Reden", 1)}}}), 400, "close with a row that does not exist")
	en.want(do(lika1, "POST", "/api/v1/tickets/"+t1+"/close", map[string]any{"note": canary("Notitie", 1),
		"unprocessed": []map[string]any{{"row": 2, "reason": canary("Reden", 2)}}}), 200, "close")
	en.want(do("dist", "POST", "/api/v1/tickets/"+t2+"/waive", map[string]any{"reason": canary("Vervalreden", 0)}), 200, "waive")
	en.want(do("dist", "POST", "/api/v1/cases/"+id+"/cancel", map[string]any{"reason": canary("Annulering", 0)}), 200, "cancel")

	// An MBO case: the publishers' parts (one refused first), the school's
	// list with a row left open, that row filled in on the list page (a
	// refused save first), the hand-in and a return.
	mboID, mboTickets := mboAtStep8(t, en, "lika-a", "lika-b")
	mboLists := "/api/v1/cases/" + mboID + "/lists"
	part := func(k string, i int) string {
		return fmt.Sprintf("K.;%s;%s;%s;%s@roc.adfs.nl;%s@roc.real", canary("Mbo"+k+"Voornaam", i), canary("Mbo"+k+"Achternaam", i),
			canary("Mbo"+k+"Locatie", i), strings.ToLower(canary("Mbo"+k+"Oud", i)), strings.ToLower(canary("Mbo"+k+"Real", i)))
	}
	parts := map[string]string{"lika-a": part("A", 0) + "\n" + part("A", 1) + "\n", "lika-b": part("B", 0) + "\n"}
	en.want(do("lika-a", "POST", "/api/v1/tickets/"+mboTickets["lika-a"]+"/list", mboHead+"\n"+parts["lika-a"]+strings.Replace(part("A", 2), "@roc.adfs.nl", "", 1)+"\n"), 400, "a refused part")
	for _, lika := range []string{"lika-a", "lika-b"} {
		en.want(do(lika, "POST", "/api/v1/tickets/"+mboTickets[lika]+"/list", mboHead+"\n"+parts[lika]), 201, "part of "+lika)
	}
	en.want(do("dist", "POST", "/api/v1/cases/"+mboID+"/steps/8a", `{}`), 200, "8a")
	nieuw := strings.ToLower(canary("MboNieuw", 0))
	completed := mboHead + ";nlEduPersonProfileId nieuw;nlEduPersonRealId nieuw\n" +
		part("A", 0) + ";" + nieuw + "@roc.nieuw.nl;\n" + part("A", 1) + ";;\n" +
		part("B", 0) + ";" + strings.ToLower(canary("MboNieuw", 1)) + "@roc.nieuw.nl;\n"
	en.want(do("school-mbo", "POST", mboLists, completed), 201, "the completed list, one row open")
	en.want(do("school-mbo", "POST", "/api/v1/cases/"+mboID+"/steps/8b", `{}`), 409, "8b with a row open")
	rows := en.want(do("school-mbo", "GET", mboLists+"/rows", nil), 200, "rows").Body["rows"].([]any)
	openRow := rows[1].(map[string]any)
	save := func(identity string) string {
		return fmt.Sprintf(`{"rows":[{"row":3,"key":%q,"cells":{"profile_new":%q}}]}`, openRow["key"], identity)
	}
	en.want(do("school-mbo", "POST", mboLists+"/rows", save(nieuw+"@roc.nieuw.nl")), 400, "a new identity used twice")
	en.want(do("school-mbo", "POST", mboLists+"/rows", save(canary("MboFout", 0)+" zonder apenstaart")), 400, "not an identity")
	en.want(do("school-mbo", "POST", mboLists+"/rows", save(strings.ToLower(canary("MboNieuw", 2))+"@roc.nieuw.nl")), 201, "the open row filled in")
	en.want(do("school-mbo", "POST", "/api/v1/cases/"+mboID+"/steps/8b", `{}`), 200, "8b")
	en.want(do("dist", "POST", "/api/v1/tickets/"+mboTickets["lika-a"]+"/return", `{}`), 200, "return to A")
	if got := en.want(do("school-mbo", "GET", mboLists+"/merged", nil), 200, "merged"); !strings.Contains(got.Raw, nieuw) {
		t.Fatal("the merged MBO list lacks the canaries: the test would prove nothing")
	}

	// Temporal: every history of the namespace, payloads as text.
	var histories strings.Builder
	resp, err := en.client.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Executions) < 3 {
		t.Fatalf("%d workflows: want the case and its two tickets", len(resp.Executions))
	}
	for _, ex := range resp.Executions {
		it := en.client.GetWorkflowHistory(ctx, ex.Execution.WorkflowId, ex.Execution.RunId, false, 0)
		for it.HasNext() {
			ev, err := it.Next()
			if err != nil {
				t.Fatal(err)
			}
			histories.WriteString(ev.String())
			histories.WriteByte('\n')
		}
	}
	if !strings.Contains(histories.String(), id) {
		t.Fatal("the histories do not even hold the case ID: the search would prove nothing")
	}

	where := map[string]string{"logs": logs.String(), "Temporal histories": histories.String(), "error bodies": strings.Join(errorBodies, "\n")}
	found := 0
	for name, text := range where {
		lower := strings.ToLower(text)
		for _, c := range canaries {
			if strings.Contains(lower, strings.ToLower(c)) {
				found++
				t.Errorf("%q found in %s", c, name)
			}
		}
	}
	t.Logf("%d canaries searched in %d bytes of logs, %d bytes of histories (%d workflows) and %d error bodies: %d found",
		len(canaries), len(where["logs"]), histories.Len(), len(resp.Executions), len(errorBodies), found)

	// The security events are there, with IDs.
	for _, want := range []string{`"event":"token_used"`, `"event":"list_downloaded"`, `"event":"access_denied"`, `"user_id":"` + u.ID + `"`, `"param_id":"` + id + `"`} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("no %s in the security log", want)
		}
	}
}
