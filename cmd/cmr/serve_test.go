package main

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/cmr-idp/cmr/gormdb/gormdbtest"
	"github.com/cmr-idp/cmr/temporalserver"
)

// runCmr runs a cmr command to completion and returns its output.
func runCmr(t testing.TB, env []string, args ...string) string {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(append(os.Environ(), "CMR_E2E_AS_MAIN=1"), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("cmr %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// startLong starts a long-running cmr command and waits for a line that
// matches ready; it returns the first submatch.
func startLong(t *testing.T, env []string, ready *regexp.Regexp, args ...string) (*exec.Cmd, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(append(os.Environ(), "CMR_E2E_AS_MAIN=1"), env...)
	out, _ := cmd.StdoutPipe()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if m := ready.FindStringSubmatch(sc.Text()); m != nil {
				found <- m[len(m)-1]
			}
		}
	}()
	select {
	case s := <-found:
		return cmd, s
	case <-time.After(60 * time.Second):
		t.Fatalf("cmr %s not ready: %s", args[0], stderr.String())
	}
	return nil, ""
}

var tokenLine = regexp.MustCompile(`^(cmr_\S+)$`)

// TestServeAndWorkerOnPostgres runs the real-infrastructure path: `cmr
// migrate`, the admin commands, and `cmr serve` and `cmr worker` as
// separate processes against PostgreSQL and a Temporal server.
func TestServeAndWorkerOnPostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	dsn := gormdbtest.EmptyPostgres(t)
	ts, err := temporalserver.Start(temporalserver.Config{Ephemeral: true})
	if err != nil {
		t.Fatal(err)
	}
	defer ts.Stop()
	env := []string{"DATABASE_URL=" + dsn, "TEMPORAL_ADDRESS=" + ts.HostPort(), "CMR_MASTER_KEY=" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32))}

	if out := runCmr(t, env, "migrate"); !strings.Contains(out, "up to date") {
		t.Fatalf("migrate: %s", out)
	}
	runCmr(t, env, "migrate") // a second run is a no-op
	runCmr(t, env, "org", "add", "--id", "dist", "--name", "Distributeur", "--role", "distributor")
	runCmr(t, env, "org", "add", "--id", "school", "--name", "School", "--role", "school", "--brin", "09ZZ", "--sector", "VO")
	runCmr(t, env, "org", "add", "--id", "lika", "--name", "LiKa", "--role", "publisher")
	runCmr(t, env, "org", "add", "--id", "kennisnet", "--name", "Kennisnet", "--role", "kennisnet")
	p := &devProcess{tokens: map[string]string{}}
	for _, org := range []string{"dist", "school", "lika", "kennisnet"} {
		runCmr(t, env, "user", "add", "--email", org+"@example.org", "--name", "Mens van "+org, "--org", org)
		out := runCmr(t, env, "token", "create", "--user", org+"@example.org")
		for _, line := range strings.Split(out, "\n") {
			if m := tokenLine.FindStringSubmatch(strings.TrimSpace(line)); m != nil {
				p.tokens[org] = m[1]
			}
		}
		if p.tokens[org] == "" {
			t.Fatalf("no token printed: %s", out)
		}
	}

	startLong(t, env, regexp.MustCompile(`worker polling`), "worker")
	_, url := startLong(t, env, regexp.MustCompile(`CMR API at (http://\S+)/api/v1`), "serve", "--addr", "127.0.0.1:0")
	p.url = url

	c := p.call(t, "dist", "POST", "/cases", map[string]any{
		"school": "09ZZ", "from": map[string]any{"quadrant": 3, "idp": "ADFS"}, "to": map[string]any{"quadrant": 3, "idp": "Azure AD"},
		"likas": []string{"lika"}, "switch_on": "2027-07-01", "options": map[string]any{"calamity": true},
	}, 201)
	id := c["id"].(string)
	owners := map[string]string{"school": "school", "distributor": "dist", "kennisnet": "kennisnet"}
	for i := 0; i < 40 && c["status"] == "open"; i++ {
		c = p.call(t, "dist", "GET", "/cases/"+id, nil, 200)
		for _, x := range c["tickets"].([]any) {
			if tk := x.(map[string]any); tk["state"] == "open" {
				p.call(t, "lika", "POST", "/tickets/"+tk["id"].(string)+"/close", map[string]any{}, 200)
			}
		}
		for _, x := range c["steps"].([]any) {
			st := x.(map[string]any)
			if st["state"] == "open" && st["kind"] != "tickets" {
				body := map[string]any{"data": sampleData(st["records"].([]any))}
				if st["kind"] == "test" {
					body = map[string]any{"passed": true}
				}
				p.call(t, owners[st["owner"].(string)], "POST", "/cases/"+id+"/steps/"+st["key"].(string), body, 200)
				break
			}
		}
	}
	c = p.call(t, "school", "GET", "/cases/"+id, nil, 200)
	if c["status"] != "completed" || c["was_wordt"] != "none" {
		t.Fatalf("calamity case on Postgres: %v", c)
	}
	runCmr(t, env, "token", "revoke", "--user", "lika@example.org")
	p.call(t, "lika", "GET", "/tickets", nil, 401)

	// Sign-in administration and key rotation from the command line.
	staff := filepath.Join(t.TempDir(), "personeel.csv")
	if err := os.WriteFile(staff, []byte("Voornaam;Achternaam;E-mail;Beheerder\nMax;Mustermann;max@school.example;ja\nJan;Jansen;jan@school.example;nee\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if out := runCmr(t, env, "user", "import", "--org", "school", staff); !strings.Contains(out, "2 added, 0 updated") {
		t.Errorf("user import: %s", out)
	}
	if out := runCmr(t, env, "org", "patterns", "--org", "school", "[firstname].[lastname]@school.example"); !strings.Contains(out, "1 e-mail pattern(s) saved") {
		t.Errorf("org patterns: %s", out)
	}
	if out := runCmr(t, env, "user", "admin", "--user", "jan@school.example"); !strings.Contains(out, "admin of school: true") {
		t.Errorf("user admin: %s", out)
	}
	rotated := append(env, "CMR_NEW_MASTER_KEY="+base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{9}, 32)))
	if out := runCmr(t, rotated, "key", "rotate"); !strings.Contains(out, "re-wrapped") {
		t.Errorf("key rotate: %s", out)
	}
}

// TestGoBuildID: the name a build gives the Temporal SDK is its Go build
// ID's content part, as `go tool buildid` reads it; a file that is not an
// ELF executable has none (the SDK then hashes it, as before).
func TestGoBuildID(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("go", "tool", "buildid", exe).Output()
	if err != nil {
		t.Fatalf("go tool buildid: %v", err)
	}
	parts := strings.Split(strings.TrimSpace(string(out)), "/")
	if got, want := goBuildID(exe), parts[len(parts)-1]; got != want || len(want) < 20 {
		t.Errorf("this test binary: %q, want %q", got, want)
	}
	notELF := filepath.Join(t.TempDir(), "cmr.exe")
	if err := os.WriteFile(notELF, []byte("MZ not an ELF file"), 0o700); err != nil {
		t.Fatal(err)
	}
	if got := goBuildID(notELF); got != "" {
		t.Errorf("not an ELF file: %q", got)
	}
}

// TestBuildIDNote: only a note as the go command writes it names the
// build; a damaged one, or an ID set by hand (which many builds could
// share), leaves the naming to the SDK.
func TestBuildIDNote(t *testing.T) {
	note := func(nameSize, descSize, typ uint32, name, desc string) []byte {
		b := binary.LittleEndian.AppendUint32(nil, nameSize)
		b = binary.LittleEndian.AppendUint32(b, descSize)
		b = binary.LittleEndian.AppendUint32(b, typ)
		return append(append(b, name...), desc...)
	}
	id := "WgUReNmH/MKMnh_hD/HdRKhqlz/EXUJYxGyXjL07TyR_FAL"
	for _, c := range []struct {
		name string
		note []byte
		want string
	}{
		{"as written", note(4, uint32(len(id)), 4, "Go\x00\x00", id), "EXUJYxGyXjL07TyR_FAL"},
		{"padded after", append(note(4, uint32(len(id)), 4, "Go\x00\x00", id), 0, 0), "EXUJYxGyXjL07TyR_FAL"},
		{"set by hand", note(4, 8, 4, "Go\x00\x00", "redacted"), ""},
		{"ending in a slash", note(4, 4, 4, "Go\x00\x00", "abc/"), ""},
		{"empty", note(4, 0, 4, "Go\x00\x00", ""), ""},
		{"longer than the note", note(4, 1<<31, 4, "Go\x00\x00", id), ""},
		{"another name", note(4, uint32(len(id)), 4, "GNU\x00", id), ""},
		{"another type", note(4, uint32(len(id)), 3, "Go\x00\x00", id), ""},
		{"cut short", note(4, uint32(len(id)), 4, "Go\x00\x00", id)[:14], ""},
	} {
		if got := buildIDNote(c.note, binary.LittleEndian); got != c.want {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
}
