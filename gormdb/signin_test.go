package gormdb_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/cmr-idp/cmr"
	"github.com/cmr-idp/cmr/gormdb"
	"github.com/cmr-idp/cmr/gormdb/gormdbtest"
)

func TestSignInStorage(t *testing.T) {
	gormdbtest.Each(t, func(t *testing.T, s *gormdb.Store) {
		ctx := context.Background()
		seed(t, s)
		u, err := s.UpsertUser(ctx, cmr.User{OrganisationID: "school", Email: "max@school.example", Name: "Max Mustermann"})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.SetPerson(ctx, cmr.Person{UserID: u.ID, FirstName: " Max ", LastName: "Mustermann", ShortCode: "MUM", OIDCUsername: " Max.M@School.example "}); err != nil {
			t.Fatal(err)
		}
		if err := s.SetPerson(ctx, cmr.Person{UserID: "nobody"}); err != cmr.ErrNotFound {
			t.Errorf("person of an unknown user: %v", err)
		}
		people, err := s.People(ctx, "school")
		want := cmr.Person{UserID: u.ID, OrganisationID: "school", FirstName: "Max", LastName: "Mustermann", ShortCode: "MUM", OIDCUsername: "max.m@school.example"}
		if err != nil || len(people) != 1 || people[0] != want {
			t.Errorf("people: %+v %v", people, err)
		}
		if others, _ := s.People(ctx, "dist"); len(others) != 0 {
			t.Errorf("another organisation's people: %+v", others)
		}
		// A code or OIDC user name names one person of the organisation
		// (sign-in would refuse both as ambiguous); another's may match.
		anna, err := s.UpsertUser(ctx, cmr.User{OrganisationID: "school", Email: "anna@school.example", Name: "Anna"})
		if err != nil {
			t.Fatal(err)
		}
		for field, p := range map[string]cmr.Person{
			"short_code":    {UserID: anna.ID, FirstName: "Anna", LastName: "A", ShortCode: "mum"},
			"oidc_username": {UserID: anna.ID, FirstName: "Anna", LastName: "A", OIDCUsername: "MAX.M@school.example"},
		} {
			var e *cmr.Error
			if err := s.SetPerson(ctx, p); !errors.As(err, &e) || e.Field != field {
				t.Errorf("%s shared with Max: %v", field, err)
			}
		}
		if got, _ := s.People(ctx, "school"); len(got) != 2 || got[0].ShortCode+got[1].ShortCode != "MUM" {
			t.Errorf("a refused save was kept: %+v", got)
		}
		// A person enabled again whose code went to another meanwhile:
		// refused, and still disabled.
		kees, err := s.UpsertUser(ctx, cmr.User{OrganisationID: "school", Email: "kees@school.example", Name: "Kees"})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.SetPerson(ctx, cmr.Person{UserID: kees.ID, FirstName: "Kees", LastName: "K", ShortCode: "KK"}); err != nil {
			t.Fatal(err)
		}
		if err := s.DisableUser(ctx, "school", kees.ID); err != nil {
			t.Fatal(err)
		}
		if err := s.SetPerson(ctx, cmr.Person{UserID: anna.ID, FirstName: "Anna", LastName: "A", ShortCode: "KK"}); err != nil {
			t.Fatalf("the code of a disabled person: %v", err)
		}
		var e *cmr.Error
		if err := s.EnableUser(ctx, "school", kees.ID); !errors.As(err, &e) || e.Field != "short_code" {
			t.Errorf("enabled with a code taken meanwhile: %v", err)
		}
		if off, _ := s.DisabledUsers(ctx, "school"); len(off) != 1 || off[0].ID != kees.ID {
			t.Errorf("a refused enabling was kept: %+v", off)
		}
		// A pair from before the check does not block another's save.
		if err := gormdb.ExecForTest(s, "UPDATE users SET disabled = false WHERE email = 'kees@school.example'"); err != nil {
			t.Fatal(err)
		}
		if err := s.SetPerson(ctx, cmr.Person{UserID: u.ID, FirstName: "Max", LastName: "Mustermann", ShortCode: "MUM2"}); err != nil {
			t.Errorf("a save beside an old shared code: %v", err)
		}
		dist, err := s.UpsertUser(ctx, cmr.User{OrganisationID: "dist", Email: "max@dist.example", Name: "Max"})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.SetPerson(ctx, cmr.Person{UserID: dist.ID, FirstName: "Max", LastName: "D", ShortCode: "MUM"}); err != nil {
			t.Errorf("another organisation's code: %v", err)
		}

		if err := s.SetEmailPatterns(ctx, "school", []string{"[firstname].[lastname]@school.example", " ", "[f].[lastname]@Staff.school.example"}); err != nil {
			t.Fatal(err)
		}
		if err := s.SetEmailPatterns(ctx, "school", []string{"[voornaam]@school.example"}); cmr.KindOf(err) != cmr.KindInvalid {
			t.Errorf("a bad pattern: %v", err)
		}
		pats, err := s.EmailPatterns(ctx, "school")
		if err != nil || len(pats) != 2 || pats[1] != "[f].[lastname]@staff.school.example" {
			t.Errorf("patterns: %q %v", pats, err)
		}

		if _, err := s.UserByIdentity(ctx, "https://idp.example", "sub-1"); err != cmr.ErrNotFound {
			t.Errorf("unlinked identity: %v", err)
		}
		if err := s.LinkIdentity(ctx, "https://idp.example", "sub-1", u.ID); err != nil {
			t.Fatal(err)
		}
		if err := s.LinkIdentity(ctx, "https://idp.example", "sub-1", u.ID); cmr.KindOf(err) != cmr.KindConflict {
			t.Errorf("linking twice: %v", err)
		}
		if got, err := s.UserByIdentity(ctx, "https://idp.example", "sub-1"); err != nil || got.ID != u.ID || got.Role != cmr.RoleSchool {
			t.Errorf("linked identity: %+v %v", got, err)
		}
		if _, err := s.UserByIdentity(ctx, "https://other.example", "sub-1"); err != cmr.ErrNotFound {
			t.Errorf("the same subject at another issuer: %v", err)
		}

		t0 := time.Date(2027, 6, 10, 9, 0, 0, 0, time.UTC)
		l := gormdb.OIDCLogin{StateHash: "h1", Nonce: "n", Verifier: "v", Provider: "p", OrganisationID: "school", ReturnTo: "/cases", CreatedAt: t0}
		if err := s.SaveOIDCLogin(ctx, l); err != nil {
			t.Fatal(err)
		}
		old := l
		old.StateHash, old.CreatedAt = "h-old", t0.Add(-time.Hour)
		if err := s.SaveOIDCLogin(ctx, old); err != nil {
			t.Fatal(err)
		}
		got, err := s.TakeOIDCLogin(ctx, "h1", t0.Add(-10*time.Minute))
		if err != nil || got.Nonce != "n" || got.ReturnTo != "/cases" || got.OrganisationID != "school" {
			t.Errorf("take: %+v %v", got, err)
		}
		if _, err := s.TakeOIDCLogin(ctx, "h1", t0.Add(-10*time.Minute)); err != cmr.ErrNotFound {
			t.Errorf("taken twice: %v", err)
		}
		if _, err := s.TakeOIDCLogin(ctx, "h-old", t0.Add(-10*time.Minute)); err != cmr.ErrNotFound {
			t.Errorf("an expired sign-in: %v", err)
		}
	})
}
