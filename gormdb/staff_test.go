package gormdb_test

import (
	"context"
	"strings"
	"testing"

	"github.com/cmr-idp/cmr"
	"github.com/cmr-idp/cmr/gormdb"
	"github.com/cmr-idp/cmr/gormdb/gormdbtest"
)

// staffMember is what an import should have left of one person.
type staffMember struct {
	first, last, code, oidc string
	admin                   bool
}

// checkStaff compares the school's people with want, by e-mail address.
func checkStaff(t *testing.T, s *gormdb.Store, want map[string]staffMember) {
	t.Helper()
	ctx := context.Background()
	people, err := s.People(ctx, "school")
	if err != nil {
		t.Fatal(err)
	}
	if len(people) != len(want) {
		t.Errorf("the school has %d people, want %d: %+v", len(people), len(want), people)
	}
	byID := map[string]cmr.Person{}
	for _, p := range people {
		byID[p.UserID] = p
	}
	for email, w := range want {
		u, err := s.UserByEmail(ctx, email)
		if err != nil {
			t.Errorf("%s: %v", email, err)
			continue
		}
		if u, err = s.User(ctx, u.ID); err != nil {
			t.Errorf("%s: %v", email, err)
			continue
		}
		if name := w.first + " " + w.last; u.Name != name || u.Admin != w.admin || u.OrganisationID != "school" || u.Role != cmr.RoleSchool {
			t.Errorf("%s: user %+v, want name %q, admin %v", email, u, name, w.admin)
		}
		p := cmr.Person{UserID: u.ID, OrganisationID: "school", FirstName: w.first, LastName: w.last, ShortCode: w.code, OIDCUsername: w.oidc}
		if byID[u.ID] != p {
			t.Errorf("%s: person %+v, want %+v", email, byID[u.ID], p)
		}
	}
}

func TestImportStaff(t *testing.T) {
	gormdbtest.Each(t, func(t *testing.T, s *gormdb.Store) {
		ctx := context.Background()
		seed(t, s)
		if _, err := s.UpsertUser(ctx, cmr.User{OrganisationID: "school", Email: "anna@school.example", Name: "Anna"}); err != nil {
			t.Fatal(err)
		}
		bert, err := s.UpsertUser(ctx, cmr.User{OrganisationID: "dist", Email: "bert@dist.example", Name: "Bert"})
		if err != nil {
			t.Fatal(err)
		}

		// Each step imports into the school and leaves its people as want.
		for _, step := range []struct {
			name           string
			list           cmr.StaffImport
			added, updated int
			want           map[string]staffMember
		}{
			{
				name: "every column: a new person and one known",
				list: cmr.StaffImport{HasAdmin: true, HasCode: true, HasOIDC: true, Rows: []cmr.StaffRow{
					{Row: 2, FirstName: "Anna", LastName: "van der Berg", Email: "anna@school.example", Admin: true, ShortCode: "BER", OIDCUsername: "anna.b"},
					{Row: 3, FirstName: "Max", LastName: "Mustermann", Email: "max@school.example", ShortCode: "MUM"},
				}},
				added: 1, updated: 1,
				want: map[string]staffMember{
					"anna@school.example": {first: "Anna", last: "van der Berg", code: "BER", oidc: "anna.b", admin: true},
					"max@school.example":  {first: "Max", last: "Mustermann", code: "MUM"},
				},
			},
			{
				name: "without Code, OIDC and Beheerder: those stay as they were",
				list: cmr.StaffImport{Rows: []cmr.StaffRow{
					{Row: 2, FirstName: "Anna", LastName: "de Vries", Email: "anna@school.example"},
					{Row: 3, FirstName: "Max", LastName: "Mustermann", Email: "max@school.example"},
					{Row: 4, FirstName: "Lisa", LastName: "Jansen", Email: "lisa@school.example"},
				}},
				added: 1, updated: 2,
				want: map[string]staffMember{
					"anna@school.example": {first: "Anna", last: "de Vries", code: "BER", oidc: "anna.b", admin: true},
					"max@school.example":  {first: "Max", last: "Mustermann", code: "MUM"},
					"lisa@school.example": {first: "Lisa", last: "Jansen"},
				},
			},
			{
				name: "only Beheerder: admin is set and unset, code and OIDC stay",
				list: cmr.StaffImport{HasAdmin: true, Rows: []cmr.StaffRow{
					{Row: 2, FirstName: "Anna", LastName: "de Vries", Email: "anna@school.example"},
					{Row: 3, FirstName: "Lisa", LastName: "Jansen", Email: "lisa@school.example", Admin: true},
				}},
				updated: 2,
				want: map[string]staffMember{
					"anna@school.example": {first: "Anna", last: "de Vries", code: "BER", oidc: "anna.b"},
					"max@school.example":  {first: "Max", last: "Mustermann", code: "MUM"},
					"lisa@school.example": {first: "Lisa", last: "Jansen", admin: true},
				},
			},
			{
				name: "Code and OIDC columns with empty cells clear them",
				list: cmr.StaffImport{HasCode: true, HasOIDC: true, Rows: []cmr.StaffRow{
					{Row: 2, FirstName: "Anna", LastName: "de Vries", Email: "anna@school.example"},
					{Row: 3, FirstName: "Max", LastName: "Mustermann", Email: "max@school.example", OIDCUsername: "mmu"},
				}},
				updated: 2,
				want: map[string]staffMember{
					"anna@school.example": {first: "Anna", last: "de Vries"},
					"max@school.example":  {first: "Max", last: "Mustermann", oidc: "mmu"},
					"lisa@school.example": {first: "Lisa", last: "Jansen", admin: true},
				},
			},
		} {
			added, updated, err := s.ImportStaff(ctx, "school", step.list)
			if err != nil || added != step.added || updated != step.updated {
				t.Errorf("%s: added %d, updated %d, %v; want %d, %d", step.name, added, updated, err, step.added, step.updated)
			}
			t.Run(step.name, func(t *testing.T) { checkStaff(t, s, step.want) })
		}
		before := map[string]staffMember{
			"anna@school.example": {first: "Anna", last: "de Vries"},
			"max@school.example":  {first: "Max", last: "Mustermann", oidc: "mmu"},
			"lisa@school.example": {first: "Lisa", last: "Jansen", admin: true},
		}

		// Another organisation's address: refused, and nothing of the
		// import is kept, neither the rows before it nor after.
		added, updated, err := s.ImportStaff(ctx, "school", cmr.StaffImport{HasAdmin: true, HasCode: true, Rows: []cmr.StaffRow{
			{Row: 2, FirstName: "Nina", LastName: "Nieuw", Email: "nina@school.example", Admin: true},
			{Row: 3, FirstName: "Anna", LastName: "Anders", Email: "anna@school.example", Admin: true, ShortCode: "AND"},
			{Row: 4, FirstName: "Bert", LastName: "Overgenomen", Email: "bert@dist.example", Admin: true},
			{Row: 5, FirstName: "Karel", LastName: "Later", Email: "karel@school.example"},
		}})
		if cmr.KindOf(err) != cmr.KindConflict || added != 0 || updated != 0 {
			t.Errorf("another organisation's address: added %d, updated %d, %v; want a conflict", added, updated, err)
		}
		t.Run("rolled back", func(t *testing.T) {
			checkStaff(t, s, before)
			for _, email := range []string{"nina@school.example", "karel@school.example"} {
				if _, err := s.UserByEmail(ctx, email); err != cmr.ErrNotFound {
					t.Errorf("%s of a refused import: %v", email, err)
				}
			}
			if u, err := s.User(ctx, bert.ID); err != nil || u.OrganisationID != "dist" || u.Name != "Bert" || u.Admin {
				t.Errorf("the other organisation's person: %+v %v", u, err)
			}
		})

		// A list that takes the right from the school's only admin (Lisa):
		// refused, nothing kept.
		_, _, err = s.ImportStaff(ctx, "school", cmr.StaffImport{HasAdmin: true, Rows: []cmr.StaffRow{
			{Row: 2, FirstName: "Lisa", LastName: "Jansen", Email: "lisa@school.example", Admin: false},
		}})
		if cmr.KindOf(err) != cmr.KindInvalid || !strings.Contains(err.Error(), "without an admin") {
			t.Errorf("an import without an admin left: %v", err)
		}
		checkStaff(t, s, before)
	})
}

func TestStaffSetAdmin(t *testing.T) {
	gormdbtest.Each(t, func(t *testing.T, s *gormdb.Store) {
		ctx := context.Background()
		seed(t, s)
		u, err := s.UpsertUser(ctx, cmr.User{OrganisationID: "school", Email: "anna@school.example", Name: "Anna"})
		if err != nil {
			t.Fatal(err)
		}
		if u.Admin {
			t.Fatalf("a new user is an admin: %+v", u)
		}
		for _, admin := range []bool{true, true, false} {
			if err := s.SetAdmin(ctx, u.ID, admin); err != nil {
				t.Fatalf("set admin %v: %v", admin, err)
			}
			if got, err := s.User(ctx, u.ID); err != nil || got.Admin != admin {
				t.Errorf("after set admin %v: %+v %v", admin, got, err)
			}
		}
		if err := s.SetAdmin(ctx, "u_nobody", true); err != cmr.ErrNotFound {
			t.Errorf("admin of an unknown user: %v", err)
		}
	})
}
