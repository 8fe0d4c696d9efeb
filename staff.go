package cmr

import (
	"fmt"
	"net/mail"
	"strings"
)

// StaffRow is one registered person in an organisation's staff import.
type StaffRow struct {
	Row          int // in the file, heading row is 1
	FirstName    string
	LastName     string
	Email        string
	Admin        bool
	ShortCode    string
	OIDCUsername string
}

// StaffImport is a parsed staff list; the Has fields say which optional
// columns the file had, so that an import without them leaves what the
// admin set by hand alone.
type StaffImport struct {
	Rows                       []StaffRow
	HasAdmin, HasCode, HasOIDC bool
}

// StaffProblem is a mistake in a staff import, by row and column.
type StaffProblem struct {
	Row    int    `json:"row"`
	Column string `json:"column,omitempty"`
	EN     string `json:"message"`
	NL     string `json:"message_nl"`
}

// staffColumns are the headings a staff import may use, Dutch or English.
var staffColumns = map[string]string{
	"voornaam": "first", "first name": "first", "firstname": "first",
	"achternaam": "last", "last name": "last", "lastname": "last",
	"e-mail": "email", "email": "email", "e-mailadres": "email",
	"beheerder": "admin", "admin": "admin",
	"code": "code", "afkorting": "code", "short code": "code",
	"oidc-gebruikersnaam": "oidc", "oidc gebruikersnaam": "oidc", "oidc user name": "oidc", "oidc username": "oidc",
}

// ParseStaff reads an organisation's staff list: a heading row and one
// person per row. Every problem is reported at once; rows are only
// returned when there are none.
func ParseStaff(header []string, rows [][]string) (StaffImport, []StaffProblem) {
	var probs []StaffProblem
	col := map[string]int{}
	for i, h := range header {
		key, ok := staffColumns[strings.Join(strings.Fields(strings.ToLower(h)), " ")]
		switch {
		case !ok:
			probs = append(probs, StaffProblem{Row: 1, Column: h,
				EN: "unknown column; use Voornaam, Achternaam, E-mail, Beheerder, Code, OIDC-gebruikersnaam",
				NL: "onbekende kolom; gebruik Voornaam, Achternaam, E-mail, Beheerder, Code, OIDC-gebruikersnaam"})
		case col[key] > 0:
			probs = append(probs, StaffProblem{Row: 1, Column: h, EN: "this column appears twice", NL: "deze kolom staat er twee keer"})
		default:
			col[key] = i + 1
		}
	}
	for _, need := range []struct{ key, heading string }{{"first", "Voornaam"}, {"last", "Achternaam"}, {"email", "E-mail"}} {
		if col[need.key] == 0 {
			probs = append(probs, StaffProblem{Row: 1, Column: need.heading, EN: "this column is required", NL: "deze kolom is verplicht"})
		}
	}
	if len(probs) > 0 {
		return StaffImport{}, probs
	}
	cell := func(r []string, key string) string {
		if i := col[key] - 1; i >= 0 && i < len(r) {
			return strings.TrimSpace(r[i])
		}
		return ""
	}
	heading := func(key string) string { return header[col[key]-1] }
	seen, seenID := map[string]int{}, map[string]int{}
	var out []StaffRow
	for n, r := range rows {
		line := n + 2
		row := StaffRow{Row: line, FirstName: cell(r, "first"), LastName: cell(r, "last"), Email: strings.ToLower(cell(r, "email")),
			ShortCode: cell(r, "code"), OIDCUsername: strings.ToLower(cell(r, "oidc"))}
		if strings.TrimSpace(strings.Join(r, "")) == "" { // blank, or only spaces
			continue
		}
		for _, k := range []string{"first", "last"} {
			if cell(r, k) == "" {
				probs = append(probs, StaffProblem{Row: line, Column: heading(k), EN: "is empty: fill in the name", NL: "is leeg: vul de naam in"})
			}
		}
		if a, err := mail.ParseAddress(row.Email); err != nil || a.Address != row.Email || !strings.Contains(row.Email[strings.LastIndexByte(row.Email, '@'):], ".") {
			probs = append(probs, StaffProblem{Row: line, Column: heading("email"), EN: "is not an e-mail address like name@school.nl", NL: "is geen e-mailadres als naam@school.nl"})
		} else if first, dup := seen[row.Email]; dup {
			probs = append(probs, StaffProblem{Row: line, Column: heading("email"),
				EN: fmt.Sprintf("this address is also on row %d", first), NL: fmt.Sprintf("dit adres staat ook op regel %d", first)})
		} else {
			seen[row.Email] = line
		}
		// A code or OIDC user name names one person: two with the same
		// would both be refused at sign-in, as ambiguous.
		for _, k := range []string{"code", "oidc"} {
			v := strings.ToLower(cell(r, k))
			if v == "" {
				continue
			}
			if first, dup := seenID[k+"\x00"+v]; dup {
				probs = append(probs, StaffProblem{Row: line, Column: heading(k),
					EN: fmt.Sprintf("is also on row %d: it must name one person", first), NL: fmt.Sprintf("staat ook op regel %d: hij hoort bij één persoon", first)})
			} else {
				seenID[k+"\x00"+v] = line
			}
		}
		if col["admin"] > 0 {
			switch strings.ToLower(cell(r, "admin")) {
			case "ja", "yes", "j", "y", "1", "true", "x":
				row.Admin = true
			case "", "nee", "no", "n", "0", "false":
			default:
				probs = append(probs, StaffProblem{Row: line, Column: heading("admin"), EN: "write ja or nee", NL: "schrijf ja of nee"})
			}
		}
		out = append(out, row)
	}
	if len(probs) > 0 {
		return StaffImport{}, probs
	}
	if len(out) == 0 {
		return StaffImport{}, []StaffProblem{{Row: 2, EN: "the list has no people: one person per row under the headings", NL: "de lijst bevat geen personen: één persoon per regel onder de koppen"}}
	}
	return StaffImport{Rows: out, HasAdmin: col["admin"] > 0, HasCode: col["code"] > 0, HasOIDC: col["oidc"] > 0}, nil
}
