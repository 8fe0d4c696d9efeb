package main

import (
	"fmt"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"time"
)

// BenchmarkDevUpload50k is a school uploading a 50,000-row VO list to
// `cmr dev`, started as a process, b.N times in a row (-benchtime 20x, as
// in the README). It reports the process's peak resident memory (VmHWM;
// goal < 300 MB) against its resident memory when it was ready, measured
// in the same run. Extra environment for the process (GOGC=100, say) comes
// from CMR_BENCH_DEV_ENV, space-separated.
func BenchmarkDevUpload50k(b *testing.B) {
	p := startDev(b, b.TempDir(), strings.Fields(os.Getenv("CMR_BENCH_DEV_ENV"))...)
	pid := p.cmd.Process.Pid
	atStart := procStatusKB(b, pid, "VmHWM")
	c := p.call(b, "distri-noord", "POST", "/cases", map[string]any{
		"school": "01AB", "from": map[string]any{"quadrant": 1, "idp": "Magister"}, "to": map[string]any{"quadrant": 1, "idp": "itslearning"},
		"likas": []string{"uitgeverij-alfa", "uitgeverij-beta"}, "switch_on": "2027-07-15",
	}, 201)
	path := "/cases/" + c["id"].(string) + "/lists"
	list := devList(50_000)
	var took []time.Duration
	b.SetBytes(int64(len(list)))
	for b.Loop() {
		t0 := time.Now()
		p.upload(b, "lyceum-de-linde", path, list, 201)
		took = append(took, time.Since(t0))
	}
	peak := procStatusKB(b, pid, "VmHWM")
	b.ReportMetric(float64(atStart)/1024, "start-MB")
	b.ReportMetric(float64(peak)/1024, "peak-MB")
	b.ReportMetric(float64(peak)/float64(atStart), "peak/start")
	b.Logf("%d uploads: peak resident memory %.0f MB (%.0f MB when ready); uploads %s", len(took), float64(peak)/1024, float64(atStart)/1024, took)
}

// devList is a VO list of n pupils, as a school's export would be.
func devList(n int) string {
	var s strings.Builder
	s.WriteString("Voornaam;Tussenvoegsel;Achternaam;Postcode;Huisnummer;Oude identiteit (was);Nieuwe identiteit (wordt)\n")
	for i := range n {
		fmt.Fprintf(&s, "Leerling%d;;Achternaam%d;%04d AB;%d;l%d@magister.01ab;l%d@lyceum-de-linde.nl\n", i, i, 1000+i%9000, i%300+1, i, i)
	}
	return s.String()
}

// procStatusKB reads a field of /proc/PID/status, in kB.
func procStatusKB(t testing.TB, pid int, field string) int {
	t.Helper()
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Skipf("no /proc here: %v", err)
	}
	for line := range strings.SplitSeq(string(raw), "\n") {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			kb, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(rest), " kB"))
			if err != nil {
				t.Fatalf("%s: %q", field, line)
			}
			return kb
		}
	}
	t.Fatalf("no %s in /proc/%d/status", field, pid)
	return 0
}

// TestDevGCTarget: `cmr dev` sets its own target for the collector, and
// GOGC, when set, has the last word.
func TestDevGCTarget(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	t.Setenv("GOGC", "")
	devGC()
	if got := debug.SetGCPercent(100); got != devGCPercent {
		t.Errorf("without GOGC the target is %d, want %d", got, devGCPercent)
	}
	t.Setenv("GOGC", "100")
	devGC()
	if got := debug.SetGCPercent(100); got != 100 {
		t.Errorf("with GOGC=100 the target is %d", got)
	}
}
