package waswordt

import (
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"

	"github.com/cmr-idp/cmr"
)

// Match statuses of the wordt builder.
const (
	Matched   = "matched"
	Unmatched = "unmatched" // nobody fits: resolve by hand
	Ambiguous = "ambiguous" // several fit: resolve by hand, never guessed
)

// Export is one IdP export: a table and which of its columns is what.
type Export struct {
	Table Table
	// Identity names the column with the identity (nlEduPersonRealId or
	// ProfileId), by heading.
	Identity string
}

// BuildRequest says how to find each old user's new identity.
type BuildRequest struct {
	Old, New Export
	// Join: the heading of a key both exports share (student number,
	// Stamnr, employeeNumber, e-mail), per export.
	OldKey, NewKey string
	// Pattern: derive the new identity from the old export's names, e.g.
	// "[voornaam].[achternaam]@school.nl", "[v].[achternaam]@…"; headings
	// of the name columns in the old export.
	Pattern                    string
	FirstName, Infix, LastName string
	InfixMode                  string // "join" (van der → vander, default) or "drop"; [tussenvoegsel] in the pattern places it instead
}

// BuildRow is the result for one user of the old export.
type BuildRow struct {
	Line       int    `json:"line"` // row in the old export
	Old        string `json:"old"`
	New        string `json:"new,omitempty"`
	Status     string `json:"status"`
	Candidates int    `json:"candidates"`
}

// BuildResult is the outcome with its counts.
type BuildResult struct {
	Rows      []BuildRow `json:"rows"`
	Matched   int        `json:"matched"`
	Unmatched int        `json:"unmatched"`
	Ambiguous int        `json:"ambiguous"`
}

// column finds heading in t; what and whatNL name the column for the
// person who chose it, in English and Dutch.
func column(t Table, heading, field, what, whatNL string) (int, error) {
	want := normaliseHeading(heading)
	if want == "" {
		return 0, cmr.FieldErrorf(field, "%s: is required: the heading of that column in the export", what).
			NL("%s: is verplicht: het kopje van die kolom in de export", whatNL)
	}
	for i, h := range t.Header {
		if normaliseHeading(h) == want {
			return i, nil
		}
	}
	return 0, cmr.FieldErrorf(field, "%s: the export has no column %q (it has %d columns; check the heading row)", what, heading, len(t.Header)).
		NL("%s: de export heeft geen kolom %q (hij heeft %d kolommen; controleer de kopregel)", whatNL, heading, len(t.Header))
}

func cell(rec []string, i int) string {
	if i < len(rec) {
		return strings.TrimSpace(rec[i])
	}
	return ""
}

// Build matches every user of the old export to at most one user of the
// new export, by a shared key or by a naming pattern. A match is made only
// where exactly one new user fits and no other old user claims it.
func Build(req BuildRequest) (BuildResult, error) {
	oldID, err := column(req.Old.Table, req.Old.Identity, "old.identity", "old export", "oude export")
	if err != nil {
		return BuildResult{}, err
	}
	newID, err := column(req.New.Table, req.New.Identity, "new.identity", "new export", "nieuwe export")
	if err != nil {
		return BuildResult{}, err
	}
	var keyOf func(rec []string) string
	var newKey func(rec []string) string
	switch {
	case req.Pattern != "" && req.OldKey != "":
		return BuildResult{}, cmr.Errorf(cmr.KindInvalid, "choose one method: a key to join on, or a naming pattern").
			NL("kies één methode: koppelen op een sleutel, of een naamgevingspatroon")
	case req.OldKey != "":
		ok, err := column(req.Old.Table, req.OldKey, "old_key", "key column in the old export", "sleutelkolom in de oude export")
		if err != nil {
			return BuildResult{}, err
		}
		nk := req.NewKey
		if nk == "" {
			nk = req.OldKey
		}
		nki, err := column(req.New.Table, nk, "new_key", "key column in the new export", "sleutelkolom in de nieuwe export")
		if err != nil {
			return BuildResult{}, err
		}
		keyOf = func(rec []string) string { return strings.ToLower(cell(rec, ok)) }
		newKey = func(rec []string) string { return strings.ToLower(cell(rec, nki)) }
	case req.Pattern != "":
		derive, err := patternFunc(req)
		if err != nil {
			return BuildResult{}, err
		}
		keyOf = derive
		newKey = func(rec []string) string { return strings.ToLower(cell(rec, newID)) }
	default:
		return BuildResult{}, cmr.Errorf(cmr.KindInvalid, "give a key to join on (old_key) or a naming pattern").
			NL("geef een sleutel om op te koppelen of een naamgevingspatroon")
	}

	index := map[string][]int{}
	for i, rec := range req.New.Table.Rows {
		if !validIdentity(cell(rec, newID)) {
			continue // a new user without a usable identity cannot be matched
		}
		if k := newKey(rec); k != "" {
			index[k] = append(index[k], i)
		}
	}
	claims := map[int]int{}
	res := BuildResult{Rows: make([]BuildRow, 0, len(req.Old.Table.Rows))}
	picks := make([]int, len(req.Old.Table.Rows))
	for i, rec := range req.Old.Table.Rows {
		picks[i] = -1
		row := BuildRow{Line: req.Old.Table.Lines[i], Old: cell(rec, oldID)}
		k := keyOf(rec)
		cands := index[k]
		if k == "" {
			cands = nil
		}
		row.Candidates = len(cands)
		if len(cands) == 1 {
			picks[i] = cands[0]
			claims[cands[0]]++
		}
		res.Rows = append(res.Rows, row)
	}
	for i := range res.Rows {
		r := &res.Rows[i]
		switch {
		case r.Candidates == 0:
			r.Status = Unmatched
			res.Unmatched++
		case r.Candidates > 1 || claims[picks[i]] > 1:
			r.Status = Ambiguous
			res.Ambiguous++
		default:
			r.Status = Matched
			r.New = cell(req.New.Table.Rows[picks[i]], newID)
			res.Matched++
		}
	}
	return res, nil
}

// patternFunc compiles a naming pattern into a function of an old row.
func patternFunc(req BuildRequest) (func([]string) string, error) {
	t := req.Old.Table
	first, err := column(t, req.FirstName, "first_name", "first-name column", "kolom voornaam")
	if err != nil {
		return nil, err
	}
	last, err := column(t, req.LastName, "last_name", "last-name column", "kolom achternaam")
	if err != nil {
		return nil, err
	}
	infix := -1
	if req.Infix != "" {
		if infix, err = column(t, req.Infix, "infix", "tussenvoegsel column", "kolom tussenvoegsel"); err != nil {
			return nil, err
		}
	}
	switch req.InfixMode {
	case "", "join", "drop":
	default:
		return nil, cmr.FieldErrorf("infix_mode", "is %q; use join (van der Berg → vanderberg, the default) or drop (→ berg)", req.InfixMode).
			NL("is %q; gebruik join (van der Berg → vanderberg, standaard) of drop (→ berg)", req.InfixMode)
	}
	// One @, with placeholders before it and a fixed realm after it.
	user, realm, _ := strings.Cut(req.Pattern, "@")
	if !strings.Contains(user, "[") || strings.Count(req.Pattern, "@") != 1 || realm == "" || strings.ContainsAny(realm, "[]") {
		return nil, cmr.FieldErrorf("pattern", "a pattern is placeholders, one @ and a fixed realm, e.g. [voornaam].[achternaam]@school.nl").
			NL("een patroon bestaat uit plaatshouders, één @ en een vaste realm, bijvoorbeeld [voornaam].[achternaam]@school.nl")
	}
	for _, tok := range placeholders(req.Pattern) {
		switch tok {
		case "[voornaam]", "[achternaam]", "[v]", "[a]", "[tussenvoegsel]":
		default:
			return nil, cmr.Errorf(cmr.KindInvalid, "unknown placeholder %s; use [voornaam], [achternaam], [v], [a], [tussenvoegsel]", tok).
				NL("onbekende plaatshouder %s; gebruik [voornaam], [achternaam], [v], [a] of [tussenvoegsel]", tok)
		}
	}
	placesInfix := strings.Contains(req.Pattern, "[tussenvoegsel]")
	return func(rec []string) string {
		fn, ln, ix := Simplify(cell(rec, first)), Simplify(cell(rec, last)), ""
		if infix >= 0 {
			ix = Simplify(cell(rec, infix))
		}
		if fn == "" || ln == "" {
			return ""
		}
		// [achternaam] carries the tussenvoegsel (joined) unless it is
		// dropped, or the pattern places it itself with [tussenvoegsel].
		fullLast := ln
		if req.InfixMode != "drop" && !placesInfix {
			fullLast = ix + ln
		}
		r := strings.NewReplacer("[voornaam]", fn, "[achternaam]", fullLast, "[v]", firstLetter(fn), "[a]", firstLetter(fullLast), "[tussenvoegsel]", ix)
		return strings.ToLower(r.Replace(req.Pattern))
	}, nil
}

func placeholders(p string) []string {
	var out []string
	for {
		i := strings.IndexByte(p, '[')
		if i < 0 {
			return out
		}
		j := strings.IndexByte(p[i:], ']')
		if j < 0 {
			return append(out, p[i:])
		}
		out = append(out, p[i:i+j+1])
		p = p[i+j+1:]
	}
}

func firstLetter(s string) string {
	for _, r := range s {
		return string(r)
	}
	return ""
}

// letters that do not decompose into a base letter and a mark.
var folds = map[rune]string{'ł': "l", 'ø': "o", 'æ': "ae", 'œ': "oe", 'ß': "ss", 'đ': "d", 'ı': "i", 'þ': "th"}

// Simplify folds a name for an identity: lower case, diacritics removed
// (é → e, ł → l, ß → ss), spaces and apostrophes dropped ("van der" →
// "vander", "d'Ancona" → "dancona").
func Simplify(s string) string {
	var b strings.Builder
	for _, r := range norm.NFD.String(strings.ToLower(s)) {
		switch {
		case unicode.Is(unicode.Mn, r), unicode.IsSpace(r), r == '\'', r == '’':
		case folds[r] != "":
			b.WriteString(folds[r])
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}
