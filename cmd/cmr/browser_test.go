package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// browserTools finds what the browser tests need: Node.js, Debian's
// Chromium and the npm packages of web/browser. Outside CI a machine
// without them skips the tests; in CI (CI=true) that is a failure, since
// .ci/run installs them.
func browserTools(t *testing.T) (node, chromium, dir string) {
	t.Helper()
	dir, _ = filepath.Abs(filepath.Join("..", "..", "web", "browser"))
	chromium = os.Getenv("CHROMIUM")
	if chromium == "" {
		chromium = "/usr/bin/chromium"
	}
	node, err := exec.LookPath("node")
	var missing []string
	if err != nil {
		missing = append(missing, "node")
	}
	if _, err := os.Stat(chromium); err != nil {
		missing = append(missing, chromium+" (apt-get install chromium chromium-driver)")
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "playwright-core")); err != nil {
		missing = append(missing, "playwright-core (npm ci --prefix web/browser)")
	}
	if len(missing) > 0 {
		if os.Getenv("CI") == "true" {
			t.Fatalf("browser tests need %s", strings.Join(missing, ", "))
		}
		t.Skipf("browser tests skipped: missing %s", strings.Join(missing, ", "))
	}
	return node, chromium, dir
}

// TestBrowserWholeCase drives `cmr dev` through its pages in headless
// Chromium (web/browser/flow.mjs): a distributor opens a case in the
// wizard, the school, Kennisnet and each LiKa sign in through the UI in
// their own browser contexts and do their parts, until the case shows
// completed. Once for a VO case, once for an MBO case. Screenshots of the
// main pages land in test-output/browser (not committed).
func TestBrowserWholeCase(t *testing.T) {
	if testing.Short() {
		t.Skip("starts cmr dev and Chromium")
	}
	node, chromium, dir := browserTools(t)
	shots, _ := filepath.Abs(filepath.Join("..", "..", "test-output", "browser"))
	p := startDev(t, t.TempDir())
	for _, sector := range []string{"VO", "MBO"} {
		t.Run(sector, func(t *testing.T) {
			start := time.Now()
			cmd := exec.Command(node, "flow.mjs")
			cmd.Dir = dir
			cmd.Env = append(os.Environ(), "CMR_URL="+p.url, "CMR_SECTOR="+sector, "CMR_SHOTS="+shots, "CHROMIUM="+chromium)
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("browser flow failed (%v); screenshots in %s:\n%s\ncmr dev said:\n%s", err, shots, out, p.stderr)
			}
			if !strings.Contains(string(out), "["+sector+"] ok") {
				t.Fatalf("browser flow did not finish:\n%s", out)
			}
			t.Logf("%s case through the pages in %s; screenshots in %s\n%s", sector, time.Since(start).Round(time.Millisecond), shots, out)
		})
	}
}
