package gormdb_test

import (
	"context"
	"errors"
	"slices"
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
