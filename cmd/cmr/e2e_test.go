package main

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"mime/quotedprintable"
	"net/http"
	"net/mail"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	smtpmock "github.com/mocktools/go-smtp-mock/v2"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/temporalproto"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	tlog "go.temporal.io/sdk/log"

	"github.com/cmr-idp/cmr"
	"github.com/cmr-idp/cmr/workflows"
)

// TestMain lets the test binary act as the cmr command, so the end-to-end
// test runs the real main() as a separate process without another build.
func TestMain(m *testing.M) {
	if os.Getenv("CMR_E2E_AS_MAIN") == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// devProcess is a running `cmr dev`.
type devProcess struct {
	cmd      *exec.Cmd
	url      string
	tokens   map[string]string // organisation ID → token
	stderr   *bytes.Buffer
	temporal string // the embedded server's frontend
}

var (
	readyLine    = regexp.MustCompile(`CMR ready at (http://\S+) `)
	temporalLine = regexp.MustCompile(`\(Temporal (\S+)\)`)
)

func startDev(t testing.TB, dataDir string, env ...string) *devProcess {
	t.Helper()
	cmd := exec.Command(os.Args[0], "dev", "--data", dataDir, "--addr", "127.0.0.1:0")
	cmd.Env = append(append(os.Environ(), "CMR_E2E_AS_MAIN=1"), env...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p := &devProcess{cmd: cmd, tokens: map[string]string{}, stderr: &bytes.Buffer{}}
	cmd.Stderr = p.stderr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() && p.temporal != "" {
			dumpHistories(t, p)
		}
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("cmr dev's log, last lines:\n%s", lastLines(p.stderr.String(), 40))
		}
	})
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	timeout := time.After(90 * time.Second)
	for p.url == "" {
		select {
		case line, ok := <-lines:
			if !ok {
				t.Fatalf("cmr dev exited before it was ready: %s", p.stderr)
			}
			if f := strings.Fields(line); len(f) == 4 && strings.HasPrefix(f[3], "cmr_") {
				p.tokens[f[1]] = f[3]
			}
			if m := readyLine.FindStringSubmatch(line); m != nil {
				p.url = m[1]
			}
			if m := temporalLine.FindStringSubmatch(line); m != nil {
				p.temporal = m[1]
			}
		case <-timeout:
			t.Fatalf("cmr dev not ready after 90s: %s", p.stderr)
		}
	}
	go func() {
		for range lines {
		}
	}()
	t.Logf("cmr dev ready in %s at %s", time.Since(start).Round(time.Millisecond), p.url)
	return p
}

// lastLines is the end of a log, for a failure message.
func lastLines(log string, n int) string {
	lines := strings.Split(strings.TrimRight(log, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// stop interrupts the process as Ctrl-C would and waits for it to exit.
func (p *devProcess) stop(t testing.TB) {
	t.Helper()
	p.cmd.Process.Signal(syscall.SIGINT)
	done := make(chan error, 1)
	go func() { done <- p.cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("cmr dev did not stop within 30s of SIGINT")
	}
}

func (p *devProcess) call(t testing.TB, org, method, path string, body any, want int) map[string]any {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, p.url+"/api/v1"+path, r)
	req.Header.Set("Authorization", "Bearer "+p.tokens[org])
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		t.Fatalf("%s %s as %s: got %d %s, want %d", method, path, org, resp.StatusCode, raw, want)
	}
	var out map[string]any
	_ = json.Unmarshal(raw, &out)
	return out
}

// upload posts a file as the raw body.
func (p *devProcess) upload(t testing.TB, org, path, body string, want int) {
	t.Helper()
	req, _ := http.NewRequest("POST", p.url+"/api/v1"+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+p.tokens[org])
	req.Header.Set("Content-Type", "text/csv")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != want {
		raw, _ := io.ReadAll(resp.Body)
		t.Fatalf("upload %s: %d %s", path, resp.StatusCode, raw)
	}
}

// nextStep is the first step the case waits on a person for, and what to
// send to complete it: sample data for its records, or a passed test.
func nextStep(c map[string]any) (step, body map[string]any, ok bool) {
	for _, x := range c["steps"].([]any) {
		st := x.(map[string]any)
		switch {
		case st["state"] != string(cmr.StepOpen):
		case st["kind"] == string(cmr.StepTest):
			return st, map[string]any{"passed": true}, true
		case st["kind"] == string(cmr.StepHuman):
			return st, map[string]any{"data": sampleData(st["records"].([]any))}, true
		}
	}
	return nil, nil, false
}

func sampleData(records []any) map[string]any {
	data := map[string]any{}
	for _, r := range records {
		f := r.(map[string]any)
		if f["required"] != true {
			continue
		}
		name := f["name"].(string)
		if opts, ok := f["options"].([]any); ok && len(opts) > 0 {
			data[name] = opts[0]
			continue
		}
		switch f["type"] {
		case "date":
			data[name] = "2027-06-01"
			if f["past"] == true { // a day something was done
				data[name] = time.Now().AddDate(0, 0, -1).Format("2006-01-02")
			}
		case "datetime":
			data[name] = "2027-07-15T09:00:00+02:00"
		case "confirm", "bool":
			data[name] = true
		case "list":
			data[name] = []string{"DDI-0001"}
		case "number":
			data[name] = 120
		default:
			data[name] = "afgerond"
		}
	}
	return data
}

var demoOwner = map[string]string{"school": "lyceum-de-linde", "distributor": "distri-noord", "kennisnet": "kennisnet"}

// advance completes one open human step, or closes open tickets; it
// reports false when nothing could be done.
//
// before, if set, runs before a LiKa closes its ticket ("ticket:<LiKa
// ID>") and before the school confirms the final test ("test"): as people
// would, the test waits there for the notice to arrive (who is told is
// decided when the notice is sent, and what is already done by then is not
// announced).
func advance(t *testing.T, p *devProcess, id string, stopAtTickets bool, before func(what string)) (map[string]any, bool) {
	c := p.call(t, "distri-noord", "GET", "/cases/"+id, nil, 200)
	if c["status"] != "open" {
		return c, false
	}
	if stopAtTickets && len(c["tickets"].([]any)) > 0 {
		return c, false
	}
	for _, x := range c["tickets"].([]any) {
		tk := x.(map[string]any)
		if tk["state"] == "open" {
			if before != nil {
				before("ticket:" + tk["lika_id"].(string))
			}
			p.call(t, tk["lika_id"].(string), "POST", "/tickets/"+tk["id"].(string)+"/close", map[string]any{"note": "verwerkt"}, 200)
			return c, true
		}
	}
	if st, body, ok := nextStep(c); ok {
		if st["kind"] == string(cmr.StepTest) && before != nil {
			before("test")
		}
		if st["key"] == "11" {
			p.upload(t, "lyceum-de-linde", "/cases/"+id+"/lists", "Voornaam;Tussenvoegsel;Achternaam;Postcode;Huisnummer;Oude identiteit (was);Nieuwe identiteit (wordt)\n"+
				"Jan;;Berg;1234 AB;1;jberg@magis.01AB;jan.berg@lyceum.example\nSara;van;Dijk;1234 AB;2;sdijk@magis.01AB;sara.vandijk@lyceum.example\n", 201)
		}
		p.call(t, demoOwner[st["owner"].(string)], "POST", fmt.Sprintf("/cases/%s/steps/%s", id, st["key"]), body, 200)
		return c, true
	}
	return c, false
}

func TestDevEndToEndSurvivesRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("starts cmr dev as a process")
	}
	dataDir := t.TempDir()
	// Notification e-mail goes to an SMTP server in the test, at once
	// (not held for working hours).
	smtp := smtpmock.New(smtpmock.ConfigurationAttr{MultipleMessageReceiving: true})
	if err := smtp.Start(); err != nil {
		t.Fatal(err)
	}
	defer smtp.Stop()
	mailEnv := []string{"CMR_SMTP_HOST=127.0.0.1", fmt.Sprintf("CMR_SMTP_PORT=%d", smtp.PortNumber()), "CMR_SMTP_TLS=none",
		"CMR_SMTP_FROM=CMR <noreply@cmr.example>", "CMR_NOTIFY_ANYTIME=true"}
	p := startDev(t, dataDir, mailEnv...)
	if len(p.tokens) != 8 {
		t.Fatalf("want a token for each of 8 demo users, got %v", p.tokens)
	}
	c := p.call(t, "distri-noord", "POST", "/cases", map[string]any{
		"school": "01AB", "from": map[string]any{"quadrant": 1, "idp": "Magister"}, "to": map[string]any{"quadrant": 1, "idp": "itslearning"},
		"likas": []string{"uitgeverij-alfa", "uitgeverij-beta"}, "switch_on": "2027-07-15",
	}, 201)
	id := c["id"].(string)
	p.call(t, "boekhuis-zuid", "GET", "/cases/"+id, nil, 404)
	// The router's refusals: a page on a page route, JSON on the API's
	// (which asks for a token first).
	for path, want := range map[string]struct {
		status int
		ct     string
	}{"/nope": {404, "text/html"}, "/api/v1/nope": {401, "application/json"}} {
		resp, err := http.Get(p.url + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if ct := resp.Header.Get("Content-Type"); resp.StatusCode != want.status || !strings.HasPrefix(ct, want.ct) {
			t.Errorf("GET %s: %d %s, want %d %s", path, resp.StatusCode, ct, want.status, want.ct)
		}
	}

	for moved := true; moved; {
		c, moved = advance(t, p, id, true, nil)
	}
	tickets := c["tickets"].([]any)
	if len(tickets) != 2 {
		t.Fatalf("tickets before restart: %v", tickets)
	}
	dueBefore := tickets[0].(map[string]any)["due_at"]
	queue := p.call(t, "uitgeverij-alfa", "GET", "/tickets", nil, 200)["tickets"].([]any)
	if len(queue) != 1 {
		t.Fatalf("LiKa queue before restart: %v", queue)
	}

	// Stop mid-case, start again on the same data dir.
	tokens := p.tokens
	t0 := time.Now()
	p.stop(t)
	t.Logf("stopped in %s", time.Since(t0).Round(time.Millisecond))
	p = startDev(t, dataDir, mailEnv...)
	for org, tok := range tokens {
		if p.tokens[org] != tok {
			t.Errorf("token of %s changed across the restart", org)
		}
	}
	c = p.call(t, "distri-noord", "GET", "/cases/"+id, nil, 200)
	if got := c["tickets"].([]any)[0].(map[string]any)["due_at"]; got != dueBefore || c["status"] != "open" {
		t.Fatalf("after restart: status %v, due %v (was %v)", c["status"], got, dueBefore)
	}
	t0 = time.Now()
	for moved := true; moved; {
		c, moved = advance(t, p, id, false, func(what string) {
			switch what {
			case "test":
				waitForMail(t, smtp, "bevestig de eindtest")
			case "ticket:uitgeverij-alfa":
				waitForMail(t, smtp, "nieuw ticket voor Uitgeverij Alfa")
			case "ticket:uitgeverij-beta":
				waitForMail(t, smtp, "nieuw ticket voor Uitgeverij Beta")
			}
		})
	}
	t.Logf("finished after restart in %s", time.Since(t0).Round(time.Millisecond))
	if c["status"] != "completed" {
		t.Fatalf("case not completed after restart: %v", c)
	}
	events := p.call(t, "lyceum-de-linde", "GET", "/cases/"+id+"/events", nil, 200)["events"].([]any)
	var types []string
	for _, e := range events {
		types = append(types, e.(map[string]any)["type"].(string))
	}
	all := strings.Join(types, " ")
	if strings.Count(all, "case.completed") != 1 || strings.Count(all, "ticket.closed") != 2 || strings.Count(all, "ticket.created") != 2 {
		t.Errorf("audit trail after restart: %s", all)
	}
	checkMail(t, smtp, p, dataDir)
	checkSearchAttributes(t, p, id)
	saveNoticeHistories(t, p, id)
	p.stop(t)
}

// quietClient are the options of a Temporal client for the tests, its log
// discarded.
func quietClient(hostPort string) client.Options {
	return client.Options{HostPort: hostPort, Logger: tlog.NewStructuredLogger(slog.New(slog.DiscardHandler))}
}

// dialQuiet connects the test to a Temporal server.
func dialQuiet(t testing.TB, hostPort string) client.Client {
	t.Helper()
	c, err := client.Dial(quietClient(hostPort))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// updateHistories saves the notices workflow's history as a replay
// fixture for the workflows package (the case and ticket workflows' come
// from the api tests).
var updateHistories = flag.Bool("update-histories", false, "write the notices workflow's history to ../../workflows/testdata/histories")

// saveNoticeHistories writes the history of the case's notices, across the
// restart, once they are all sent.
func saveNoticeHistories(t *testing.T, p *devProcess, caseID string) {
	t.Helper()
	if !*updateHistories {
		return
	}
	c := dialQuiet(t, p.temporal)
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	id := workflows.NoticesWorkflowID(caseID)
	if err := c.GetWorkflow(ctx, id, "").Get(ctx, nil); err != nil {
		t.Fatalf("notices of the case: %v", err)
	}
	var events []*historypb.HistoryEvent
	it := c.GetWorkflowHistory(ctx, id, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		events = append(events, e)
	}
	b, err := temporalproto.CustomJSONMarshalOptions{Indent: "  "}.Marshal(&historypb.History{Events: events})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join("..", "..", "workflows", "testdata", "histories", "notices-case.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// checkSearchAttributes: an operator finds the case's workflow in Temporal
// by case ID, BRIN and final status.
func checkSearchAttributes(t *testing.T, p *devProcess, id string) {
	t.Helper()
	c := dialQuiet(t, p.temporal)
	defer c.Close()
	d, err := c.DescribeWorkflowExecution(context.Background(), workflows.CaseWorkflowID(id), "")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for name, payload := range d.GetWorkflowExecutionInfo().GetSearchAttributes().GetIndexedFields() {
		var v string
		_ = converter.GetDefaultDataConverter().FromPayload(payload, &v)
		got[name] = v
	}
	want := map[string]string{"CmrCaseId": id, "CmrSchoolBrin": "01AB", "CmrCaseStatus": "completed"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("search attribute %s = %q, want %q (all: %v)", k, got[k], v, got)
		}
	}
}

// waitForMail waits until a delivered mail contains text.
func waitForMail(t *testing.T, smtp *smtpmock.Server, text string) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		for _, m := range smtp.Messages() {
			if m.Msg() && strings.Contains(m.MsgRequest(), text) {
				return
			}
		}
	}
	t.Fatalf("no mail with %q after 30 s", text)
}

// unsent lists the deliveries the delivery log has not marked sent.
func unsent(dataDir string) string {
	db, err := sql.Open("sqlite", filepath.Join(dataDir, "cmr.db"))
	if err != nil {
		return err.Error()
	}
	defer db.Close()
	rows, err := db.Query("SELECT id, state, attempts, last_error FROM deliveries WHERE state <> 'sent'")
	if err != nil {
		return err.Error()
	}
	defer rows.Close()
	var out strings.Builder
	for rows.Next() {
		var id, state, last string
		var attempts int
		_ = rows.Scan(&id, &state, &attempts, &last)
		fmt.Fprintf(&out, "\n  %s %s after %d: %s", id, state, attempts, last)
	}
	return out.String()
}

// checkMail waits for the case's notices: each party that had a step to
// do, each LiKa's ticket and the completion, once each across the restart,
// in Dutch, and with nothing of the list in them.
func checkMail(t *testing.T, smtp *smtpmock.Server, p *devProcess, dataDir string) {
	t.Helper()
	want := []string{"Nieuwe IdP-migratiezaak", "er wacht een stap op u", "nieuw ticket voor Uitgeverij Alfa", "nieuw ticket voor Uitgeverij Beta",
		"bevestig de eindtest", "is afgerond"}
	var msgs []smtpmock.Message
	deadline := time.Now().Add(30 * time.Second)
	for {
		msgs = msgs[:0]
		for _, m := range smtp.Messages() {
			if m.Msg() { // a session that delivered a message
				msgs = append(msgs, m)
			}
		}
		all := ""
		for _, m := range msgs {
			all += m.MsgRequest()
		}
		missing := ""
		for _, w := range want {
			if !strings.Contains(all, w) {
				missing = w
			}
		}
		if missing == "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no mail with %q after 30 s; got %d messages; deliveries not sent: %s", missing, len(msgs), unsent(dataDir))
		}
		time.Sleep(200 * time.Millisecond)
	}
	ids := map[string]int{}
	for _, m := range msgs {
		body := m.MsgRequest()
		parsed, err := mail.ReadMessage(strings.NewReader(body))
		if err != nil {
			t.Fatalf("mail does not parse: %v", err)
		}
		id := []string{"", parsed.Header.Get("Message-Id")}
		if id[1] == "" {
			t.Fatalf("mail without Message-ID: %.300s", body)
		}
		ids[id[1]]++
		for _, pii := range []string{"Jan", "Sara", "jberg", "sdijk", "1234 AB", "lyceum.example"} {
			if strings.Contains(body, pii) {
				t.Errorf("mail %s contains list data %q", id[1], pii)
			}
		}
		text, _ := io.ReadAll(quotedprintable.NewReader(parsed.Body))
		if !regexp.MustCompile(`http://127\.0\.0\.1:\d+/(cases|tickets)/01AB-`).Match(text) {
			t.Errorf("mail %s has no link to the site", id[1])
		}
	}
	for id, n := range ids {
		if n > 1 {
			t.Errorf("mail %s sent %d times", id, n)
		}
	}
	t.Logf("%d notification mails, each once", len(msgs))
}

// dumpHistories logs, for a failed test, every workflow task that failed
// or timed out and every activity that timed out, in all workflows: the
// stalls that make an API call answer late or 503.
func dumpHistories(t testing.TB, p *devProcess) {
	c, err := client.Dial(quietClient(p.temporal))
	if err != nil {
		t.Logf("workflow histories: %v", err)
		return
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var b strings.Builder
	var token []byte
	for {
		page, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{NextPageToken: token})
		if err != nil {
			t.Logf("workflow histories: %v", err)
			return
		}
		for _, w := range page.Executions {
			id := w.Execution.GetWorkflowId()
			it := c.GetWorkflowHistory(ctx, id, w.Execution.GetRunId(), false, 0)
			for it.HasNext() {
				e, err := it.Next()
				if err != nil {
					break
				}
				at := e.EventTime.AsTime().Format("15:04:05.000")
				if a := e.GetWorkflowTaskFailedEventAttributes(); a != nil {
					fmt.Fprintf(&b, "%s %s event %d: workflow task failed: %s %s\n", at, id, e.EventId, a.Cause, a.Failure.GetMessage())
				}
				if a := e.GetWorkflowTaskTimedOutEventAttributes(); a != nil {
					fmt.Fprintf(&b, "%s %s event %d: workflow task timed out (%s)\n", at, id, e.EventId, a.TimeoutType)
				}
				if a := e.GetActivityTaskTimedOutEventAttributes(); a != nil {
					fmt.Fprintf(&b, "%s %s event %d: activity timed out: %s\n", at, id, e.EventId, a.Failure.GetMessage())
				}
			}
		}
		if token = page.NextPageToken; len(token) == 0 {
			break
		}
	}
	t.Logf("stalls in the workflow histories:\n%s", b.String())
}

// TestSaveNoticesWaitingForMorning saves, with -update-histories, the
// history of a case's notices while their e-mail waits for the working
// morning: the state most notices are in when a new version of the
// workflows is deployed in the evening, and the one the case-notices
// fixture (recorded with CMR_NOTIFY_ANYTIME) does not have. It runs
// outside working hours only (08:00-18:00 Amsterdam on working days),
// when no e-mail may go out yet: it checks that too.
func TestSaveNoticesWaitingForMorning(t *testing.T) {
	if !*updateHistories {
		t.Skip("writes a replay fixture: run with -update-histories")
	}
	cal := cmr.MustCalendar(cmr.DefaultCalendarConfig())
	if now := time.Now(); cal.SendAt(now, false).Sub(now) < 10*time.Minute {
		t.Skip("in working hours (or minutes before them) e-mail goes out at once: run this outside 08:00-18:00 Amsterdam or on a day off")
	}
	smtp := smtpmock.New(smtpmock.ConfigurationAttr{MultipleMessageReceiving: true})
	if err := smtp.Start(); err != nil {
		t.Fatal(err)
	}
	defer smtp.Stop()
	p := startDev(t, t.TempDir(), "CMR_SMTP_HOST=127.0.0.1", fmt.Sprintf("CMR_SMTP_PORT=%d", smtp.PortNumber()), "CMR_SMTP_TLS=none", "CMR_SMTP_FROM=CMR <noreply@cmr.example>")
	defer p.stop(t)
	c := p.call(t, "distri-noord", "POST", "/cases", map[string]any{
		"school": "01AB", "from": map[string]any{"quadrant": 1, "idp": "Magister"}, "to": map[string]any{"quadrant": 1, "idp": "itslearning"},
		"likas": []string{"uitgeverij-alfa"}, "switch_on": "2027-07-15",
	}, 201)
	id := c["id"].(string)
	for range 3 {
		advance(t, p, id, true, nil)
	}
	tc := dialQuiet(t, p.temporal)
	defer tc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var events []*historypb.HistoryEvent
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		events = events[:0]
		it := tc.GetWorkflowHistory(ctx, workflows.NoticesWorkflowID(id), "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		for it.HasNext() {
			e, err := it.Next()
			if err != nil {
				t.Fatal(err)
			}
			events = append(events, e)
		}
		if waitingForMorning(events) && !taskInFlight(events) {
			break
		}
		if time.Now().After(deadline) {
			var types []string
			for _, e := range events {
				types = append(types, strings.TrimPrefix(e.GetEventType().String(), "EVENT_TYPE_"))
			}
			t.Fatalf("the case's notices did not come to wait for the morning: %s", strings.Join(types, " "))
		}
	}
	if n := len(smtp.Messages()); n > 0 {
		t.Fatalf("%d e-mails went out outside working hours: the fixture is not written", n)
	}
	b, err := temporalproto.CustomJSONMarshalOptions{Indent: "  "}.Marshal(&historypb.History{Events: events})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join("..", "..", "workflows", "testdata", "histories", "notices-waiting-for-morning.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("saved %d events", len(events))
}

// taskInFlight: a workflow task is scheduled that has not completed (a
// history saved then would end mid-task).
func taskInFlight(events []*historypb.HistoryEvent) bool {
	inFlight := false
	for _, e := range events {
		switch e.GetEventType() {
		case enumspb.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED:
			inFlight = true
		case enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
			inFlight = false
		}
	}
	return inFlight
}

// waitingForMorning: a timer shorter than the idle week runs (started,
// neither fired nor cancelled), i.e. an e-mail waits for the working
// morning.
func waitingForMorning(events []*historypb.HistoryEvent) bool {
	running := map[string]bool{}
	for _, e := range events {
		switch e.GetEventType() {
		case enumspb.EVENT_TYPE_TIMER_STARTED:
			if a := e.GetTimerStartedEventAttributes(); a.GetStartToFireTimeout().AsDuration() < 7*24*time.Hour {
				running[a.GetTimerId()] = true
			}
		case enumspb.EVENT_TYPE_TIMER_FIRED:
			delete(running, e.GetTimerFiredEventAttributes().GetTimerId())
		case enumspb.EVENT_TYPE_TIMER_CANCELED:
			delete(running, e.GetTimerCanceledEventAttributes().GetTimerId())
		}
	}
	return len(running) > 0
}
