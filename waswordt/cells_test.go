package waswordt

import (
	"errors"
	"fmt"
	"hash/maphash"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode"

	"github.com/cmr-idp/cmr"
)

// houseNumberRE is the rule houseNumber implements by hand.
var houseNumberRE = regexp.MustCompile(`^[1-9][0-9]{0,4}(\s?[A-Za-z]{1,4}|\s?[-/]\s?[A-Za-z0-9]{1,6})?$`)

func TestHouseNumberMatchesItsExpression(t *testing.T) {
	for _, v := range []string{"", "0", "1", "12", "99999", "100000", "012", "12a", "12 a", "12  a", "12abcd", "12abcde",
		"12-3", "12 - 3", "12 -3", "12- 3", "12/2b", "12-abcdef", "12-abcdefg", "12-", "12 ", "12\ta", "12\va",
		"12a-3", "1-a", "1 -", "7é", "12 AB", "12\n-\r4"} {
		if got, want := houseNumber(v), houseNumberRE.MatchString(v); got != want {
			t.Errorf("houseNumber(%q) = %v, the expression says %v", v, got, want)
		}
	}
}

func FuzzHouseNumber(f *testing.F) {
	for _, v := range []string{"12", "12 a", "12 - 3b", "99999abcd"} {
		f.Add(v)
	}
	f.Fuzz(func(t *testing.T, v string) {
		if got, want := houseNumber(v), houseNumberRE.MatchString(v); got != want {
			t.Fatalf("houseNumber(%q) = %v, the expression says %v", v, got, want)
		}
	})
}

func TestPostcode(t *testing.T) {
	for v, want := range map[string]string{"1234 AB": "1234 AB", "1234AB": "1234 AB", "1234ab": "1234 AB", "1234 aB": "1234 AB",
		"12 34AB": "1234 AB", " 1234AB": "1234 AB", "1234AB ": "1234 AB", "0234 AB": "", "1234  AB": "", "1234 A": "",
		"1234 A1": "", "12a4 AB": "", "1234 ÀB": "", "": "", "1234ABC": ""} {
		got, ok := postcode(v)
		if ok != (want != "") || got != want {
			t.Errorf("postcode(%q) = %q, %v; want %q", v, got, ok, want)
		}
	}
	// The usual form is returned as it came, without a copy.
	if n := testing.AllocsPerRun(100, func() { postcode("1234 AB") }); n != 0 {
		t.Errorf("postcode of the usual form allocates %v times", n)
	}
}

// firstRows must find exactly the duplicates a map of the keys finds, also
// when every key has the same hash, row by row and in the batches
// duplicates hashes ahead (over 16 rows, and an empty key skipped).
func TestFirstRowsFindsDuplicatesDespiteCollisions(t *testing.T) {
	var rows []Row
	keys := []string{"a", "b", "A", "c", "b", "d", "C", "a", "e", "D"}
	for i := range 4 * len(keys) {
		k := keys[i%len(keys)] + strings.Repeat("x", i/15) // repeats within and across batches
		if i == 21 {
			k = ""
		}
		rows = append(rows, Row{Line: i + 2, Cells: []string{k}})
	}
	key := func(b []byte, r Row) []byte { return appendLower(b, r.Cells[0]) }
	seed := maphash.MakeSeed()
	hashes := map[string]func([]byte) uint64{
		"real":     func(b []byte) uint64 { return maphash.Bytes(seed, b) },
		"constant": func([]byte) uint64 { return 7 },
		"two":      func(b []byte) uint64 { return uint64(b[0] % 2) },
	}
	for name, hash := range hashes {
		f := newFirstRows(make([]uint32, firstRowsSlots(len(rows))), rows, key, hash)
		want := map[string]int{}
		for i, r := range rows {
			k := strings.ToLower(r.Cells[0])
			if k == "" {
				continue // as duplicates' has leaves it out
			}
			first, dup := f.seeHashed(i, f.hashOf(i))
			if w, seen := want[k]; seen != dup || first != w {
				t.Errorf("%s hash, row %d (%q): got first %d dup %v, want %d %v", name, r.Line, r.Cells[0], first, dup, w, seen)
			}
			if _, seen := want[k]; !seen {
				want[k] = r.Line
			}
		}

		var wantDups []string
		firsts := map[string]int{}
		for _, r := range rows {
			k := strings.ToLower(r.Cells[0])
			if k == "" {
				continue
			}
			if w, seen := firsts[k]; seen {
				wantDups = append(wantDups, fmt.Sprintf("%d:%d", r.Line, w))
			} else {
				firsts[k] = r.Line
			}
		}
		f = newFirstRows(make([]uint32, firstRowsSlots(len(rows))), rows, key, hash)
		var gotDups []string
		for _, p := range duplicates(rows, func(r Row) bool { return r.Cells[0] != "" }, f, func(r Row, first int) Problem {
			return Problem{Row: r.Line, Code: strconv.Itoa(first)}
		}) {
			gotDups = append(gotDups, fmt.Sprintf("%d:%s", p.Row, p.Code))
		}
		if !slices.Equal(gotDups, wantDups) {
			t.Errorf("%s hash, duplicates: got %v, want %v", name, gotDups, wantDups)
		}
	}
}

// validIdentity's ASCII shortcut must agree with the rune-by-rune rule.
func FuzzValidIdentity(f *testing.F) {
	for _, v := range []string{"a@b", "a@b@c", "@b", "a@", "a b@c", "a\u00a0@b", "é@b", "a@b\u2003", "a@\x85"} {
		f.Add(v)
	}
	f.Fuzz(func(t *testing.T, v string) {
		at, ok := -1, true
		for i, r := range v {
			switch {
			case r == '@' && at >= 0:
				ok = false
			case r == '@':
				at = i
			case unicode.IsSpace(r):
				ok = false
			}
		}
		if want := ok && at > 0 && at < len(v)-1; validIdentity(v) != want {
			t.Fatalf("validIdentity(%q) = %v, want %v", v, !want, want)
		}
	})
}

// TestTrimSpace holds the fast path of trimSpace to strings.TrimSpace,
// for every byte at either end and the Unicode spaces.
func TestTrimSpace(t *testing.T) {
	cases := []string{"", " ", "a", " a", "a ", "\u00a0a", "a\u00a0", "\u2003a\u2003", "é", "aé", "éa", "a\u0085", "\ufeffa"}
	for c := 0; c < 256; c++ {
		cases = append(cases, string([]byte{byte(c)}), string([]byte{byte(c), 'x'}), string([]byte{'x', byte(c)}), string([]byte{byte(c), 'x', byte(c)}))
	}
	for _, s := range cases {
		if got, want := trimSpace(s), strings.TrimSpace(s); got != want {
			t.Errorf("trimSpace(%q) = %q, want %q", s, got, want)
		}
	}
}

// A Checker's tables are emptied before reuse (a stale one would fill past
// half and its look-ups never end): a table handed back dirty comes out
// empty, whatever its size; the same list checked again (in turn, and at
// once from several goroutines) finds no duplicates, and a list with one
// finds exactly it, whatever the checker checked before.
func TestCheckerReusesTables(t *testing.T) {
	f := ForCase(cmr.Scenario{Sector: cmr.SectorVO})
	table := func(rows, dupAt int) Table {
		t := Table{Header: f.Headings(Complete)}
		for i := range rows {
			id := i
			if i == dupAt {
				id = 0
			}
			t.Rows = append(t.Rows, []string{fmt.Sprintf("Leerling%d", i), "", "Berg", "1234 AB", fmt.Sprint(i + 1), fmt.Sprintf("l%d@old.nl", id), fmt.Sprintf("l%d@new.nl", i)})
			t.Lines = append(t.Lines, i+2)
		}
		return t
	}
	var c Checker
	for _, n := range []int{64, 16, 64} {
		tab := c.table(n)
		if len(tab) != n || slices.ContainsFunc(tab, func(s uint32) bool { return s != 0 }) {
			t.Fatalf("table of %d: %d slots, not all empty", n, len(tab))
		}
		for i := range tab {
			tab[i] = uint32(i + 1)
		}
		c.keep(tab)
	}
	check := func(rows, dupAt int) {
		p, err := c.Start(f, Complete, table(rows, dupAt), Options{})
		if err == nil {
			err = p.Wait()
		}
		var rep *Report
		switch {
		case dupAt < 0 && err != nil:
			t.Errorf("%d rows without duplicates: %v", rows, err)
		case dupAt >= 0 && (!errors.As(err, &rep) || len(rep.Problems) != 1 || rep.Problems[0].Code != "duplicate_old" || rep.Problems[0].Row != dupAt+2):
			t.Errorf("%d rows, duplicate at row %d: %v", rows, dupAt+2, err)
		}
	}
	for range 3 {
		check(3000, -1)
		check(3000, 2500)
		check(100, -1)
	}
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() { check(3000+i, -1); check(2000, 1999) })
	}
	wg.Wait()
}

// TestCheckerOneCoreSameReport: the checks across rows run on one
// goroutine (OneCore) find the same problems, in the same order, as on
// two.
func TestCheckerOneCoreSameReport(t *testing.T) {
	f := ForCase(cmr.Scenario{Sector: cmr.SectorVO})
	tab := Table{Header: f.Headings(Complete)}
	row := func(name, old, new string) {
		tab.Rows = append(tab.Rows, []string{name, "", "Berg", "1234 AB", "1", old, new})
		tab.Lines = append(tab.Lines, len(tab.Lines)+2)
	}
	for i := range 3000 {
		switch i % 500 {
		case 7: // the old identity of the row before
			row(fmt.Sprintf("Leerling%d", i), fmt.Sprintf("l%d@old.nl", i-1), fmt.Sprintf("l%d@new.nl", i))
		case 11: // the new identity of the row before
			row(fmt.Sprintf("Leerling%d", i), fmt.Sprintf("l%d@old.nl", i), fmt.Sprintf("l%d@new.nl", i-1))
		case 13: // unchanged
			row(fmt.Sprintf("Leerling%d", i), fmt.Sprintf("l%d@old.nl", i), fmt.Sprintf("l%d@old.nl", i))
		case 17: // the pupil of the row before, again
			row(fmt.Sprintf("Leerling%d", i-1), fmt.Sprintf("m%d@old.nl", i), fmt.Sprintf("m%d@new.nl", i))
		case 19: // another realm
			row(fmt.Sprintf("Leerling%d", i), fmt.Sprintf("l%d@old.nl", i), fmt.Sprintf("l%d@elders.nl", i))
		default:
			row(fmt.Sprintf("Leerling%d", i), fmt.Sprintf("l%d@old.nl", i), fmt.Sprintf("l%d@new.nl", i))
		}
	}
	report := func(c *Checker) []Problem {
		t.Helper()
		rows := Table{Header: tab.Header, Lines: tab.Lines}
		for _, r := range tab.Rows {
			rows.Rows = append(rows.Rows, slices.Clone(r))
		}
		p, err := c.Start(f, Complete, rows, Options{})
		if err == nil {
			err = p.Wait()
		}
		var rep *Report
		if !errors.As(err, &rep) {
			t.Fatalf("want a report, got %v", err)
		}
		return rep.Problems
	}
	two, one := report(&Checker{}), report(&Checker{OneCore: true})
	codes := map[string]bool{}
	for _, p := range two {
		codes[p.Code] = true
	}
	for _, code := range []string{"duplicate_old", "duplicate_new", "unchanged", "duplicate_person", "several_realms", "other_realm"} {
		if !codes[code] {
			t.Errorf("the list was meant to have a %s problem: %v", code, codes)
		}
	}
	if !slices.Equal(one, two) {
		t.Errorf("on one core: %d problems, on two: %d, or in another order", len(one), len(two))
	}
}

// TestCheckerOneCoreRunsInTurn: with OneCore the second half of the
// checks across rows starts after the first has ended; without, at once.
func TestCheckerOneCoreRunsInTurn(t *testing.T) {
	for _, one := range []bool{false, true} {
		c := Checker{OneCore: one}
		var firstDone atomic.Bool
		var sawFirstDone bool
		c.beside(func() { time.Sleep(50 * time.Millisecond); firstDone.Store(true) }, func() { sawFirstDone = firstDone.Load() })
		if sawFirstDone != one {
			t.Errorf("OneCore %v: the second half started after the first ended: %v", one, sawFirstDone)
		}
	}
}
