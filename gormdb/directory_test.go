package gormdb_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/cmr-idp/cmr"
	"github.com/cmr-idp/cmr/gormdb"
	"github.com/cmr-idp/cmr/gormdb/gormdbtest"
)

// TestOrganisationPage: following next visits every organisation once, in
// ID order, whatever the page size, with a role or without; a cursor
// that is not the directory's is refused on its field.
func TestOrganisationPage(t *testing.T) {
	gormdbtest.Each(t, func(t *testing.T, s *gormdb.Store) {
		ctx := context.Background()
		seed(t, s)
		for i := range 7 {
			if err := s.UpsertOrganisation(ctx, cmr.Organisation{ID: fmt.Sprintf("school-%02d", i), Name: "School", Role: cmr.RoleSchool, BRIN: fmt.Sprintf("%02dZZ", i), Sector: cmr.SectorVO}); err != nil {
				t.Fatal(err)
			}
		}
		// The cursor separates its key from the ID with "|": an ID that
		// holds one still pages.
		for _, id := range []string{"school-03|x", "school-03|y"} {
			if err := s.UpsertOrganisation(ctx, cmr.Organisation{ID: id, Name: "School", Role: cmr.RoleSchool}); err != nil {
				t.Fatal(err)
			}
		}
		for _, roles := range [][]cmr.Role{nil, {cmr.RoleSchool}, {cmr.RolePublisher, cmr.RoleDistributor}} {
			all, err := s.Organisations(ctx, roles...)
			if err != nil || len(all) < 3 {
				t.Fatalf("%v: %d, %v", roles, len(all), err)
			}
			want := ids(all)
			for _, limit := range []int{1, 2, 3, len(all), len(all) + 1} {
				var got []string
				after, pages := "", 0
				for {
					page, next, err := s.OrganisationPage(ctx, roles, after, limit)
					if err != nil || len(page) > limit {
						t.Fatalf("%v, limit %d, page %d: %d, %v", roles, limit, pages, len(page), err)
					}
					got, pages = append(got, ids(page)...), pages+1
					if next == "" {
						break
					}
					if len(page) != limit || pages > len(all) {
						t.Fatalf("%v, limit %d: page %d holds %d and has a next", roles, limit, pages, len(page))
					}
					after = next
				}
				if !slices.Equal(got, want) {
					t.Errorf("%v, limit %d: %v, want %v", roles, limit, got, want)
				}
				// A page that ends the directory exactly says so.
				if wantPages := (len(all) + limit - 1) / limit; pages != wantPages {
					t.Errorf("%v, limit %d: %d pages, want %d", roles, limit, pages, wantPages)
				}
			}
		}
		// A role without organisations; a page after the last ID.
		if page, next, err := s.OrganisationPage(ctx, []cmr.Role{"nobody"}, "", 10); err != nil || len(page) != 0 || next != "" {
			t.Errorf("a role without organisations: %v, %q, %v", page, next, err)
		}
		last := base64.RawURLEncoding.EncodeToString([]byte("org|zzz"))
		if page, next, err := s.OrganisationPage(ctx, nil, last, 10); err != nil || len(page) != 0 || next != "" {
			t.Errorf("after the last: %v, %q, %v", page, next, err)
		}
		// Not base64; "org" without an ID, with an empty one; a case list's
		// cursor.
		caseCursor := base64.RawURLEncoding.EncodeToString([]byte("2026-11-24T10:00:00Z|school-01"))
		for _, bad := range []string{"x!", "b3Jn", "b3JnfA", caseCursor} {
			if _, _, err := s.OrganisationPage(ctx, nil, bad, 10); cmr.KindOf(err) != cmr.KindInvalid || !strings.Contains(err.Error(), "after") {
				t.Errorf("cursor %q: %v", bad, err)
			}
		}
	})
}

// TestOrganisationsByID: the organisations asked for that exist, once
// each, also past one batch of the query.
func TestOrganisationsByID(t *testing.T) {
	gormdbtest.Each(t, func(t *testing.T, s *gormdb.Store) {
		ctx := context.Background()
		seed(t, s)
		var want []string
		for i := range 1203 {
			id := fmt.Sprintf("s%04d", i)
			if err := s.UpsertOrganisation(ctx, cmr.Organisation{ID: id, Name: "School " + id, Role: cmr.RoleSchool}); err != nil {
				t.Fatal(err)
			}
			if i%2 == 1 {
				want = append(want, id)
			}
		}
		ask := append(slices.Clone(want), want[0], want[600], "nope", "lika1")
		got, err := s.OrganisationsByID(ctx, ask)
		if err != nil || len(got) != len(want)+1 || got["lika1"].Role != cmr.RolePublisher || got[want[600]].Name != "School "+want[600] {
			t.Fatalf("%d of %d, %v", len(got), len(want)+1, err)
		}
		for _, id := range want {
			if got[id].ID != id {
				t.Errorf("%s missing", id)
			}
		}
		if got, err := s.OrganisationsByID(ctx, nil); err != nil || len(got) != 0 {
			t.Errorf("none asked: %v, %v", got, err)
		}
	})
}

func ids(orgs []cmr.Organisation) []string {
	out := make([]string, len(orgs))
	for i, o := range orgs {
		out[i] = o.ID
	}
	return out
}
