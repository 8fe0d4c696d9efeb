package cmr_test

import (
	"strings"
	"testing"

	"github.com/cmr-idp/cmr"
)

func TestCompileEmailPattern(t *testing.T) {
	for _, tc := range []struct {
		pattern, email string
		ok, match      bool
	}{
		{"[firstname].[lastname]@lyceum.nl", "max.mustermann@lyceum.nl", true, true},
		{"[firstname].[lastname]@lyceum.nl", "max.mustermann@lyceum.nl.evil.example", true, false},
		{"[firstname].[lastname]@lyceum.nl", "max.mustermann@lyceumxnl", true, false},
		{"[f].[lastname]@Lyceum.NL", "m.mustermann@lyceum.nl", true, true},
		{"[firstname].[lastname].[class]@lyceum.nl", "max.mustermann.4b@lyceum.nl", true, true},
		{"[code]@lyceum.nl", "mum@lyceum.nl", true, true},
		{"[firstname]@", "", false, false},
		{"max@lyceum.nl", "", false, false},
		{"[voornaam].[lastname]@lyceum.nl", "", false, false},
		{"[lastname].[lastname]@lyceum.nl", "", false, false},
		{"[firstname]@[domain]", "", false, false},
	} {
		re, err := cmr.CompileEmailPattern(tc.pattern)
		if (err == nil) != tc.ok {
			t.Errorf("%q: err %v, want ok=%v", tc.pattern, err, tc.ok)
			continue
		}
		if err != nil {
			if e, _ := err.(*cmr.Error); e == nil || e.MessageNL == "" || e.Field != "email_patterns" {
				t.Errorf("%q: refusal %#v", tc.pattern, err)
			}
			continue
		}
		if got := re.MatchString(tc.email); got != tc.match {
			t.Errorf("%q on %q: %v, want %v", tc.pattern, tc.email, got, tc.match)
		}
	}
}

func TestMatchPerson(t *testing.T) {
	people := []cmr.Person{
		{UserID: "max1", FirstName: "Max", LastName: "Mustermann"},
		{UserID: "anna", FirstName: "Anna", LastName: "van der Berg", ShortCode: "BRG"},
		{UserID: "eloise", FirstName: "Éloïse", LastName: "O'Neill-Smit"},
		{UserID: "jan1", FirstName: "Jan", LastName: "Jansen"},
		{UserID: "jan2", FirstName: "Jan", LastName: "Jansen", OIDCUsername: "jan.jansen2@lyceum.nl"},
		{UserID: "piet1", FirstName: "Piet", LastName: "de Vries"},
		{UserID: "piet2", FirstName: "Paul", LastName: "de Vries"},
	}
	patterns := []string{"[firstname].[lastname]@lyceum.nl", "[f].[lastname]@staff.lyceum.nl", "[code]@lyceum.nl", "not a pattern"}
	for _, tc := range []struct {
		name     string
		login    cmr.LoginClaims
		want     string
		refusedN string // a fragment of the Dutch refusal
	}{
		{"first.last", cmr.LoginClaims{Email: "Max.Mustermann@lyceum.nl"}, "max1", ""},
		{"tussenvoegsel folded", cmr.LoginClaims{Email: "anna.vanderberg@lyceum.nl"}, "anna", ""},
		{"diacritics and hyphens", cmr.LoginClaims{Email: "eloise.oneillsmit@lyceum.nl"}, "eloise", ""},
		{"short code", cmr.LoginClaims{Email: "brg@lyceum.nl"}, "anna", ""},
		{"initial", cmr.LoginClaims{Email: "m.mustermann@staff.lyceum.nl"}, "max1", ""},
		{"explicit user name wins over the pattern", cmr.LoginClaims{Email: "jan.jansen2@lyceum.nl"}, "jan2", ""},
		{"explicit user name via preferred_username", cmr.LoginClaims{Email: "other@elsewhere.example", Username: "JAN.JANSEN2@lyceum.nl"}, "jan2", ""},
		// jan2 has an explicit name, so only jan1 still fits the pattern.
		{"the other of two namesakes", cmr.LoginClaims{Email: "jan.jansen@lyceum.nl"}, "jan1", ""},
		{"initial fits two people", cmr.LoginClaims{Email: "p.devries@staff.lyceum.nl"}, "", "2 geregistreerde personen"},
		{"unknown person", cmr.LoginClaims{Email: "nobody.here@lyceum.nl"}, "", "niet geregistreerd"},
		{"another domain", cmr.LoginClaims{Email: "max.mustermann@gmail.com"}, "", "niet geregistreerd"},
		{"no e-mail", cmr.LoginClaims{Subject: "x"}, "", "niet geregistreerd"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := cmr.MatchPerson(tc.login, people, patterns)
			if tc.want != "" {
				if err != nil || p.UserID != tc.want {
					t.Fatalf("got %q, %v; want %s", p.UserID, err, tc.want)
				}
				return
			}
			e, ok := err.(*cmr.Error)
			if !ok || e.Kind != cmr.KindForbidden || !strings.Contains(e.MessageNL, tc.refusedN) || p.UserID != "" {
				t.Fatalf("got %q, %v; want a refusal with %q", p.UserID, err, tc.refusedN)
			}
		})
	}
	// Two people with the same explicit name: refused, not the first.
	twice := append(people, cmr.Person{UserID: "jan3", FirstName: "J", LastName: "J", OIDCUsername: "jan.jansen2@lyceum.nl"})
	if _, err := cmr.MatchPerson(cmr.LoginClaims{Email: "jan.jansen2@lyceum.nl"}, twice, patterns); cmr.KindOf(err) != cmr.KindForbidden {
		t.Errorf("an explicit name on two people: %v", err)
	}
}
