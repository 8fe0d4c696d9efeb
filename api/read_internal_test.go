package api

import (
	"runtime"
	"strings"
	"testing"

	"github.com/cmr-idp/cmr/waswordt"
)

// TestReadLaterRecovers: a reader that panics on readLater's goroutine
// becomes an error (the router's recovery would not see it there), which
// quotes the runtime's message but not a library's own panic value; the
// wait may be called again.
func TestReadLaterRecovers(t *testing.T) {
	wait := readLater(func() (waswordt.Table, error) { panic("Jansen;1234 AB") })
	for range 2 {
		if _, err := wait(); err == nil || strings.Contains(err.Error(), "Jansen") {
			t.Errorf("a panic with a value: %v", err)
		}
	}
	wait = readLater(func() (waswordt.Table, error) {
		var cells []string
		return waswordt.Table{Header: []string{cells[3]}}, nil
	})
	if _, err := wait(); err == nil || !strings.Contains(err.Error(), "index out of range") {
		t.Errorf("a runtime panic: %v", err)
	}
	wait = readLater(func() (waswordt.Table, error) { return waswordt.Table{Header: []string{"Voornaam"}}, nil })
	if tb, err := wait(); err != nil || len(tb.Header) != 1 {
		t.Errorf("a read: %+v %v", tb, err)
	}
}

// overNetwork is a list store that says whether it is across the network.
type overNetwork struct {
	ListStore
	over bool
}

func (o overNetwork) OverNetwork() bool { return o.over }

// TestListChecksOnOneCoreOverNetwork: with a database across the network
// and two cores the checks across a list's rows leave a core to the
// upload (see waswordt.Checker.OneCore); with the embedded database, or
// more cores, they use two.
func TestListChecksOnOneCoreOverNetwork(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	for _, c := range []struct {
		over  bool
		procs int
		want  bool
	}{{false, 2, false}, {true, 2, true}, {true, 4, false}} {
		runtime.GOMAXPROCS(c.procs)
		s := &Server{Lists: overNetwork{over: c.over}}
		NewRouter(s)
		if s.checker.OneCore != c.want {
			t.Errorf("database across the network %v, %d cores: checks on one core %v", c.over, c.procs, s.checker.OneCore)
		}
	}
}
