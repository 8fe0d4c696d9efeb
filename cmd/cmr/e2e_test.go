package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
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
	cmd    *exec.Cmd
	url    string
	tokens map[string]string // organisation ID → token
	stderr *bytes.Buffer
}

var readyLine = regexp.MustCompile(`CMR ready at (http://\S+) `)

func startDev(t *testing.T, dataDir string) *devProcess {
	t.Helper()
	cmd := exec.Command(os.Args[0], "dev", "--data", dataDir, "--addr", "127.0.0.1:0")
	cmd.Env = append(os.Environ(), "CMR_E2E_AS_MAIN=1")
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
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
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

// stop interrupts the process as Ctrl-C would and waits for it to exit.
func (p *devProcess) stop(t *testing.T) {
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

func (p *devProcess) call(t *testing.T, org, method, path string, body any, want int) map[string]any {
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
func (p *devProcess) upload(t *testing.T, org, path, body string, want int) {
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

func sampleData(records []any) map[string]any {
	data := map[string]any{}
	for _, r := range records {
		f := r.(map[string]any)
		if f["required"] != true {
			continue
		}
		name := f["name"].(string)
		switch f["type"] {
		case "date":
			data[name] = "2027-06-01"
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
func advance(t *testing.T, p *devProcess, id string, stopAtTickets bool) (map[string]any, bool) {
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
			p.call(t, tk["lika_id"].(string), "POST", "/tickets/"+tk["id"].(string)+"/close", map[string]any{"note": "verwerkt"}, 200)
			return c, true
		}
	}
	for _, x := range c["steps"].([]any) {
		st := x.(map[string]any)
		if st["state"] != "open" || st["kind"] == "tickets" {
			continue
		}
		body := map[string]any{"data": sampleData(st["records"].([]any))}
		if st["kind"] == "test" {
			body = map[string]any{"passed": true}
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
	p := startDev(t, dataDir)
	if len(p.tokens) != 8 {
		t.Fatalf("want a token for each of 8 demo users, got %v", p.tokens)
	}
	c := p.call(t, "distri-noord", "POST", "/cases", map[string]any{
		"school": "01AB", "from": map[string]any{"quadrant": 1, "idp": "Magister"}, "to": map[string]any{"quadrant": 1, "idp": "itslearning"},
		"likas": []string{"uitgeverij-alfa", "uitgeverij-beta"}, "switch_on": "2027-07-15",
	}, 201)
	id := c["id"].(string)
	p.call(t, "boekhuis-zuid", "GET", "/cases/"+id, nil, 404)

	for moved := true; moved; {
		c, moved = advance(t, p, id, true)
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
	p = startDev(t, dataDir)
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
		c, moved = advance(t, p, id, false)
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
	p.stop(t)
}
