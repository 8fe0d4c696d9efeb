package cmr_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/cmr-idp/cmr"
)

func TestParseStaff(t *testing.T) {
	type prob struct {
		row    int
		column string
		says   string // part of the English message
	}
	for _, tc := range []struct {
		name   string
		header []string
		rows   [][]string
		want   cmr.StaffImport // when probs is empty
		probs  []prob
	}{
		{
			name:   "Dutch headings, every column",
			header: []string{"Voornaam", "Achternaam", "E-mail", "Beheerder", "Code", "OIDC-gebruikersnaam"},
			rows: [][]string{
				{"Max", "Mustermann", "Max.Mustermann@Lyceum.NL", "ja", "MUM", "Max.M@Lyceum.NL"},
				{" Anna ", " van der Berg ", " anna@lyceum.nl ", "nee", " BER ", ""},
			},
			want: cmr.StaffImport{HasAdmin: true, HasCode: true, HasOIDC: true, Rows: []cmr.StaffRow{
				{Row: 2, FirstName: "Max", LastName: "Mustermann", Email: "max.mustermann@lyceum.nl", Admin: true, ShortCode: "MUM", OIDCUsername: "max.m@lyceum.nl"},
				{Row: 3, FirstName: "Anna", LastName: "van der Berg", Email: "anna@lyceum.nl", ShortCode: "BER"},
			}},
		},
		{
			name:   "English headings in another order, any case and spacing",
			header: []string{"  EMAIL ", "Last   Name", "first name"},
			rows:   [][]string{{"Max@Lyceum.nl", "Mustermann", "Max"}},
			want: cmr.StaffImport{Rows: []cmr.StaffRow{
				{Row: 2, FirstName: "Max", LastName: "Mustermann", Email: "max@lyceum.nl"},
			}},
		},
		{
			name:   "other spellings of the headings",
			header: []string{"OIDC user name", "Afkorting", "E-mailadres", "Admin", "Lastname", "Firstname"},
			rows:   [][]string{{"MAX", "mum", "max@lyceum.nl", "yes", "Mustermann", "Max"}},
			want: cmr.StaffImport{HasAdmin: true, HasCode: true, HasOIDC: true, Rows: []cmr.StaffRow{
				{Row: 2, FirstName: "Max", LastName: "Mustermann", Email: "max@lyceum.nl", Admin: true, ShortCode: "mum", OIDCUsername: "max"},
			}},
		},
		{
			name:   "only some optional columns",
			header: []string{"Voornaam", "Achternaam", "E-mail", "Short code", "oidc username"},
			rows:   [][]string{{"Max", "Mustermann", "max@lyceum.nl", "MUM", "mmu"}},
			want: cmr.StaffImport{HasCode: true, HasOIDC: true, Rows: []cmr.StaffRow{
				{Row: 2, FirstName: "Max", LastName: "Mustermann", Email: "max@lyceum.nl", ShortCode: "MUM", OIDCUsername: "mmu"},
			}},
		},
		{
			name:   "Beheerder values",
			header: []string{"Voornaam", "Achternaam", "E-mail", "Beheerder"},
			rows: [][]string{
				{"A", "A", "a@lyceum.nl", "ja"},
				{"B", "B", "b@lyceum.nl", "nee"},
				{"C", "C", "c@lyceum.nl", "Yes"},
				{"D", "D", "d@lyceum.nl", "x"},
				{"E", "E", "e@lyceum.nl", ""},
				{"F", "F", "f@lyceum.nl", " JA "},
				{"G", "G", "g@lyceum.nl", "no"},
				{"H", "H", "h@lyceum.nl"}, // a short row: no Beheerder cell
			},
			want: cmr.StaffImport{HasAdmin: true, Rows: []cmr.StaffRow{
				{Row: 2, FirstName: "A", LastName: "A", Email: "a@lyceum.nl", Admin: true},
				{Row: 3, FirstName: "B", LastName: "B", Email: "b@lyceum.nl"},
				{Row: 4, FirstName: "C", LastName: "C", Email: "c@lyceum.nl", Admin: true},
				{Row: 5, FirstName: "D", LastName: "D", Email: "d@lyceum.nl", Admin: true},
				{Row: 6, FirstName: "E", LastName: "E", Email: "e@lyceum.nl"},
				{Row: 7, FirstName: "F", LastName: "F", Email: "f@lyceum.nl", Admin: true},
				{Row: 8, FirstName: "G", LastName: "G", Email: "g@lyceum.nl"},
				{Row: 9, FirstName: "H", LastName: "H", Email: "h@lyceum.nl"},
			}},
		},
		{
			name:   "empty rows are skipped but counted",
			header: []string{"Voornaam", "Achternaam", "E-mail"},
			rows: [][]string{
				{"", "", ""},
				{"Max", "Mustermann", "max@lyceum.nl"},
				{},
				{" ", "", "  "},
				{"Anna", "Berg", "anna@lyceum.nl"},
				{"", "", ""},
			},
			want: cmr.StaffImport{Rows: []cmr.StaffRow{
				{Row: 3, FirstName: "Max", LastName: "Mustermann", Email: "max@lyceum.nl"},
				{Row: 6, FirstName: "Anna", LastName: "Berg", Email: "anna@lyceum.nl"},
			}},
		},
		{
			name:   "unknown column",
			header: []string{"Voornaam", "Achternaam", "E-mail", "Telefoon"},
			rows:   [][]string{{"Max", "Mustermann", "max@lyceum.nl", "06"}},
			probs:  []prob{{1, "Telefoon", "unknown column"}},
		},
		{
			name:   "duplicate column, in two languages",
			header: []string{"Voornaam", "Achternaam", "E-mail", "First Name"},
			rows:   [][]string{{"Max", "Mustermann", "max@lyceum.nl", "Max"}},
			probs:  []prob{{1, "First Name", "twice"}},
		},
		{
			name:   "every required column missing",
			header: []string{"Code", "Beheerder"},
			rows:   [][]string{{"MUM", "ja"}},
			probs:  []prob{{1, "Voornaam", "required"}, {1, "Achternaam", "required"}, {1, "E-mail", "required"}},
		},
		{
			name:   "no headings at all",
			probs:  []prob{{1, "Voornaam", "required"}, {1, "Achternaam", "required"}, {1, "E-mail", "required"}},
			header: nil,
		},
		{
			name:   "E-mail missing",
			header: []string{"Voornaam", "Achternaam"},
			rows:   [][]string{{"Max", "Mustermann"}},
			probs:  []prob{{1, "E-mail", "required"}},
		},
		{
			name:   "Voornaam missing",
			header: []string{"Achternaam", "E-mail"},
			probs:  []prob{{1, "Voornaam", "required"}},
		},
		{
			name:   "Achternaam missing",
			header: []string{"Voornaam", "E-mail"},
			probs:  []prob{{1, "Achternaam", "required"}},
		},
		{
			name:   "heading problems all at once",
			header: []string{"Voornaam", "voornaam", "Klas", "E-mail"},
			probs:  []prob{{1, "voornaam", "twice"}, {1, "Klas", "unknown column"}, {1, "Achternaam", "required"}},
		},
		{
			name:   "every row problem at once, named by the heading as written",
			header: []string{"E-MAIL", "first name", "Achternaam", "BEHEERDER"},
			rows: [][]string{
				{"max@lyceum.nl", "", "Mustermann", "ja"},   // 2: no first name
				{"anna@lyceum.nl", "Anna", " ", ""},         // 3: no last name
				{"", "", "", ""},                            // 4: skipped
				{"kees.lyceum.nl", "Kees", "Jansen", "nee"}, // 5: bad address
				{"Max@Lyceum.nl", "Max", "Muster", "j"},     // 6: same as row 2
				{"piet@lyceum.nl", "Piet", "Bakker", "misschien"},
				{"", "", "", "ja"}, // 8: names and address missing
			},
			probs: []prob{
				{2, "first name", "fill in the name"},
				{3, "Achternaam", "fill in the name"},
				{5, "E-MAIL", "not an e-mail address"},
				{6, "E-MAIL", "also on row 2"},
				{7, "BEHEERDER", "ja or nee"},
				{8, "first name", "fill in the name"},
				{8, "Achternaam", "fill in the name"},
				{8, "E-MAIL", "not an e-mail address"},
			},
		},
		{
			name:   "bad addresses",
			header: []string{"Voornaam", "Achternaam", "E-mail"},
			rows: [][]string{
				{"A", "A", "anna"},
				{"B", "B", "anna@"},
				{"C", "C", "Anna <anna@lyceum.nl>"},
				{"D", "D", "anna berg@lyceum.nl"},
				{"E", "E", "@lyceum.nl"},
				{"F", "F", "anna@lyceum.nl, bert@lyceum.nl"},
				{"G", "G", ""},
			},
			probs: []prob{
				{2, "E-mail", "not an e-mail address"}, {3, "E-mail", "not an e-mail address"},
				{4, "E-mail", "not an e-mail address"}, {5, "E-mail", "not an e-mail address"},
				{6, "E-mail", "not an e-mail address"}, {7, "E-mail", "not an e-mail address"},
				{8, "E-mail", "not an e-mail address"},
			},
		},
		{
			name:   "duplicate address names the first row, each time",
			header: []string{"Voornaam", "Achternaam", "E-mail"},
			rows: [][]string{
				{"A", "A", "a@lyceum.nl"},
				{"B", "B", "b@lyceum.nl"},
				{"A", "A", " A@LYCEUM.NL "},
				{"A", "A", "a@lyceum.nl"},
			},
			probs: []prob{{4, "E-mail", "also on row 2"}, {5, "E-mail", "also on row 2"}},
		},
		{
			name:   "a code or OIDC user name names one person",
			header: []string{"Voornaam", "Achternaam", "E-mail", "Code", "OIDC-gebruikersnaam"},
			rows: [][]string{
				{"A", "A", "a@lyceum.nl", "KB", "a@idp"},
				{"B", "B", "b@lyceum.nl", "kb", "b@idp"},
				{"C", "C", "c@lyceum.nl", "", "A@IDP"},
				{"D", "D", "d@lyceum.nl", "", ""},
				{"E", "E", "e@lyceum.nl", "", ""},
			},
			probs: []prob{{3, "Code", "also on row 2"}, {4, "OIDC-gebruikersnaam", "also on row 2"}},
		},
		{
			name:   "only headings",
			header: []string{"Voornaam", "Achternaam", "E-mail"},
			probs:  []prob{{2, "", "no people"}},
		},
		{
			name:   "only headings and empty rows",
			header: []string{"Voornaam", "Achternaam", "E-mail"},
			rows:   [][]string{{"", "", ""}, {}},
			probs:  []prob{{2, "", "no people"}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, probs := cmr.ParseStaff(tc.header, tc.rows)
			for _, p := range probs {
				if p.EN == "" || p.NL == "" || p.EN == p.NL {
					t.Errorf("problem without an English and a Dutch text: %+v", p)
				}
			}
			if len(tc.probs) == 0 {
				if len(probs) != 0 {
					t.Fatalf("problems: %+v", probs)
				}
				if !reflect.DeepEqual(got, tc.want) {
					t.Errorf("got  %+v\nwant %+v", got, tc.want)
				}
				return
			}
			if !reflect.DeepEqual(got, cmr.StaffImport{}) {
				t.Errorf("an import with problems returned rows: %+v", got)
			}
			if len(probs) != len(tc.probs) {
				t.Fatalf("got %d problems, want %d: %+v", len(probs), len(tc.probs), probs)
			}
			for i, w := range tc.probs {
				p := probs[i]
				if p.Row != w.row || p.Column != w.column || !strings.Contains(p.EN, w.says) {
					t.Errorf("problem %d: got %+v, want row %d column %q saying %q", i, p, w.row, w.column, w.says)
				}
			}
		})
	}
}
