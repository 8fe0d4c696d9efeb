// Package waswordt handles was-wordt lists, the old→new identity lists of
// an IdP migration: the three datasets of the SEM PSS supplement with their
// Dutch column headings, reading CSV as Dutch Excel writes it and XLSX
// within limits, validating every row (problems reported by row and column,
// in Dutch and English, all at once), writing exports with spreadsheet
// formulas neutralised, merging the publishers' parts, and building the
// "wordt" column from the school's two IdP exports.
//
// Lists hold personal data: nothing here logs, and problems name rows and
// columns, never cell values.
package waswordt

import (
	"strings"

	"github.com/cmr-idp/cmr"
)

// FormatID names a dataset.
type FormatID string

// The three datasets (004 and, for VO, 002).
const (
	FormatVO        FormatID = "vo"          // VO: the school delivers the complete list
	FormatMBONonECK FormatID = "mbo-non-eck" // MBO NON-ECK → ECK: publishers 1-4, school 5-6
	FormatMBOECK    FormatID = "mbo-eck"     // MBO ECK school changing IdP: publishers 1-6, school 7-8
)

// Need says when a cell must be filled.
type Need int

// Needs, with the supplement's markers.
const (
	Optional  Need = iota // may be empty
	Required              // always filled
	IfPresent             // "*": fill in when it exists
	Mandatory             // "**": always required from the school
)

// Kind is what a column holds, for its checks.
type Kind int

// Column kinds.
const (
	KindText Kind = iota
	KindPostcode
	KindHouseNumber
	KindOldIdentity
	KindNewIdentity
	KindIdentity // another userid@realm value (nlEduPersonRealId beside the ProfileId)
)

// Party says who fills a column.
type Party int

// Who supplies a column.
const (
	BySupplier Party = iota // the publishers (MBO) or the school's old data
	BySchool
)

// Column is one column of a dataset.
type Column struct {
	Key     string // stable key, e.g. "voornaam", "profile_new"
	Heading string // the Dutch heading as the supplement writes it
	Need    Need
	Kind    Kind
	Party   Party
}

// Format is a dataset.
type Format struct {
	ID      FormatID
	Name    string
	Columns []Column
	// IdentityAttribute is the chain key the identities are.
	IdentityAttribute string
}

var formats = map[FormatID]Format{
	FormatVO: {ID: FormatVO, Name: "VO was-wordt-lijst", IdentityAttribute: "nlEduPersonRealId", Columns: []Column{
		{"voornaam", "Voornaam", Required, KindText, BySupplier},
		{"tussenvoegsel", "Tussenvoegsel", Optional, KindText, BySupplier},
		{"achternaam", "Achternaam", Required, KindText, BySupplier},
		{"postcode", "Postcode", Required, KindPostcode, BySupplier},
		{"huisnummer", "Huisnummer", Required, KindHouseNumber, BySupplier},
		{"old", "Oude identiteit (was)", Required, KindOldIdentity, BySupplier},
		{"new", "Nieuwe identiteit (wordt)", Required, KindNewIdentity, BySchool},
	}},
	FormatMBONonECK: {ID: FormatMBONonECK, Name: "MBO was-wordt NON-ECK naar ECK", IdentityAttribute: "nlEduPersonProfileId", Columns: []Column{
		{"voorletters", "Voorletters", Required, KindText, BySupplier},
		{"voornaam", "Voornaam", Required, KindText, BySupplier},
		{"achternaam", "Achternaam", Required, KindText, BySupplier},
		{"locatie", "School locatie", IfPresent, KindText, BySupplier},
		{"profile_new", "nlEduPersonProfileId nieuw", Mandatory, KindNewIdentity, BySchool},
		{"real_new", "nlEduPersonRealId nieuw", IfPresent, KindIdentity, BySchool},
	}},
	FormatMBOECK: {ID: FormatMBOECK, Name: "MBO was-wordt ECK-school wijzigt IdP", IdentityAttribute: "nlEduPersonProfileId", Columns: []Column{
		{"voorletters", "Voorletters", Required, KindText, BySupplier},
		{"voornaam", "Voornaam", Required, KindText, BySupplier},
		{"achternaam", "Achternaam", Required, KindText, BySupplier},
		{"locatie", "School locatie", IfPresent, KindText, BySupplier},
		{"profile_old", "nlEduPersonProfileId oud", Required, KindOldIdentity, BySupplier},
		// Column 6 has no "*" in the supplement: the publishers supply it.
		{"real_old", "nlEduPersonRealId oud", Required, KindIdentity, BySupplier},
		{"profile_new", "nlEduPersonProfileId nieuw", Mandatory, KindNewIdentity, BySchool},
		{"real_new", "nlEduPersonRealId nieuw", IfPresent, KindIdentity, BySchool},
	}},
}

// Lookup returns the dataset with id.
func Lookup(id FormatID) (Format, bool) {
	f, ok := formats[id]
	return f, ok
}

// Formats lists the datasets.
func Formats() []Format {
	return []Format{formats[FormatVO], formats[FormatMBONonECK], formats[FormatMBOECK]}
}

// ForCase picks the dataset a case's scenario needs: VO always the VO
// list; MBO the ECK list when the school already has ECK iD, else the
// NON-ECK → ECK list.
func ForCase(s cmr.Scenario) Format {
	if s.Sector == cmr.SectorMBO {
		if s.From.ECK {
			return formats[FormatMBOECK]
		}
		return formats[FormatMBONonECK]
	}
	return formats[FormatVO]
}

// Part is which columns an upload holds.
type Part int

// Parts of a list.
const (
	Complete     Part = iota // every column (VO; the MBO list the school returns)
	SupplierPart             // MBO: the columns a publisher supplies
)

// Columns returns the columns of the part.
func (f Format) ColumnsOf(p Part) []Column {
	if p == Complete {
		return f.Columns
	}
	var out []Column
	for _, c := range f.Columns {
		if c.Party == BySupplier {
			out = append(out, c)
		}
	}
	return out
}

// Headings lists the headings of the part.
func (f Format) Headings(p Part) []string {
	var out []string
	for _, c := range f.ColumnsOf(p) {
		out = append(out, c.Heading)
	}
	return out
}

// normaliseHeading folds case and white space, so " oude  IDENTITEIT (was)"
// matches "Oude identiteit (was)"; "nl EduPersonProfileId" (as the older
// text spells it) matches too.
func normaliseHeading(s string) string {
	s = strings.TrimPrefix(s, "\ufeff")
	return strings.ToLower(strings.Join(strings.Fields(s), ""))
}
