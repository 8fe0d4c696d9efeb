package gormdb_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/cmr-idp/cmr"
	"github.com/cmr-idp/cmr/gormdb"
	"github.com/cmr-idp/cmr/gormdb/gormdbtest"
)

func TestOpenings(t *testing.T) {
	gormdbtest.Each(t, func(t *testing.T, s *gormdb.Store) {
		ctx := context.Background()
		h, _ := savedCase(t, s)
		keyed := cmr.Opening{CaseID: h.ID + "-2", OrganisationID: "dist", Key: "k-1", RequestHash: "h1"}
		if err := s.ReserveOpening(ctx, keyed); err != nil {
			t.Fatal(err)
		}
		for _, o := range []cmr.Opening{
			{CaseID: h.ID + "-2", OrganisationID: "dist2", RequestHash: "h2"},            // the ID is taken
			{CaseID: h.ID + "-3", OrganisationID: "dist", Key: "k-1", RequestHash: "h2"}, // the key is taken
		} {
			if err := s.ReserveOpening(ctx, o); cmr.KindOf(err) != cmr.KindConflict {
				t.Errorf("reserve %+v: %v, want a conflict", o, err)
			}
		}
		// Openings without a key, and the same key of another distributor, do not collide.
		for _, o := range []cmr.Opening{
			{CaseID: h.ID + "-3", OrganisationID: "dist", RequestHash: "h3"},
			{CaseID: h.ID + "-4", OrganisationID: "dist", RequestHash: "h4"},
			{CaseID: h.ID + "-5", OrganisationID: "dist2", Key: "k-1", RequestHash: "h5"},
		} {
			if err := s.ReserveOpening(ctx, o); err != nil {
				t.Errorf("reserve %+v: %v", o, err)
			}
		}
		got, err := s.OpeningByKey(ctx, "dist", "k-1")
		if err != nil || got != keyed {
			t.Errorf("opening by key: %+v %v", got, err)
		}
		for _, k := range [][2]string{{"dist", "k-2"}, {"dist", ""}, {"lika1", "k-1"}} {
			if _, err := s.OpeningByKey(ctx, k[0], k[1]); !errors.Is(err, cmr.ErrNotFound) {
				t.Errorf("opening by key %v: %v, want not found", k, err)
			}
		}
		ids, err := s.CaseIDsWithPrefix(ctx, h.ID)
		slices.Sort(ids)
		if want := []string{h.ID, h.ID + "-2", h.ID + "-3", h.ID + "-4", h.ID + "-5"}; err != nil || !slices.Equal(ids, want) {
			t.Errorf("case IDs taken: %v %v, want %v", ids, err, want)
		}
	})
}

// TestSchool: a distributor names the school of a new case by its
// organisation ID or its BRIN, in any case; another role's organisation
// is no school.
func TestSchool(t *testing.T) {
	gormdbtest.Each(t, func(t *testing.T, s *gormdb.Store) {
		ctx := context.Background()
		seed(t, s)
		if err := s.UpsertOrganisation(ctx, cmr.Organisation{ID: "college", Name: "Het College", Role: cmr.RoleSchool, BRIN: "02BB", Sector: cmr.SectorMBO}); err != nil {
			t.Fatal(err)
		}
		for key, want := range map[string]string{"school": "school", "00AA": "school", "00aa": "school", "02bB": "college", "college": "college"} {
			if o, err := s.School(ctx, key); err != nil || o.ID != want || o.Role != cmr.RoleSchool {
				t.Errorf("School(%q) = %+v, %v; want %s", key, o, err, want)
			}
		}
		for _, key := range []string{"lika1", "dist", "", "00A", "99ZZ"} {
			if o, err := s.School(ctx, key); !errors.Is(err, cmr.ErrNotFound) {
				t.Errorf("School(%q) = %+v, %v; want not found", key, o, err)
			}
		}
		// The wizard's search: part of a name, an ID or a BRIN; LIKE's
		// wildcards taken literally; by name, at most limit.
		for q, want := range map[string]string{"het": "college school", "LYC": "school", " 02bb ": "college", "college": "college", "%": "", "_": "", "uitgever": "", "": ""} {
			found, err := s.SearchSchools(ctx, q, 10)
			if err != nil || strings.Join(ids(found), " ") != want {
				t.Errorf("SearchSchools(%q) = %v, %v; want %q", q, ids(found), err, want)
			}
		}
		if found, err := s.SearchSchools(ctx, "het", 1); err != nil || len(found) != 1 || found[0].ID != "college" {
			t.Errorf("SearchSchools limited to 1: %+v %v", found, err)
		}
	})
}

// BenchmarkSchool finds one school among 5,000 by its BRIN ("lookup", as
// an opening does) against reading every school and searching them, as
// openings did before ("all").
func BenchmarkSchool(b *testing.B) {
	b.Run("sqlite", func(b *testing.B) { benchSchool(b, gormdbtest.SQLite(b)) })
	b.Run("postgres", func(b *testing.B) { benchSchool(b, gormdbtest.Postgres(b)) })
}

func benchSchool(b *testing.B, s *gormdb.Store) {
	ctx := context.Background()
	for i := range 5000 {
		o := cmr.Organisation{ID: fmt.Sprintf("school-%04d", i), Name: "School", Role: cmr.RoleSchool, BRIN: fmt.Sprintf("%02d%c%c", i%100, 'A'+i/100%26, 'A'+i/2600), Sector: cmr.SectorVO}
		if err := s.UpsertOrganisation(ctx, o); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("lookup", func(b *testing.B) {
		for b.Loop() {
			if o, err := s.School(ctx, "49xb"); err != nil || o.ID != "school-4949" {
				b.Fatal(o, err)
			}
		}
	})
	b.Run("all", func(b *testing.B) {
		for b.Loop() {
			all, err := s.Organisations(ctx, cmr.RoleSchool)
			if err != nil {
				b.Fatal(err)
			}
			found := false
			for _, o := range all {
				found = found || strings.EqualFold(o.BRIN, "49xb")
			}
			if !found {
				b.Fatal("not found")
			}
		}
	})
}
