package gormdb_test

import (
	"context"
	"testing"
	"time"

	"github.com/cmr-idp/cmr"
	"github.com/cmr-idp/cmr/gormdb"
	"github.com/cmr-idp/cmr/gormdb/gormdbtest"
)

func TestWebSessions(t *testing.T) {
	gormdbtest.Each(t, func(t *testing.T, s *gormdb.Store) {
		ctx := context.Background()
		seed(t, s)
		anna, err := s.UpsertUser(ctx, cmr.User{OrganisationID: "school", Email: "anna@school.example", Name: "Anna"})
		if err != nil {
			t.Fatal(err)
		}
		bert, err := s.UpsertUser(ctx, cmr.User{OrganisationID: "dist", Email: "bert@dist.example", Name: "Bert"})
		if err != nil {
			t.Fatal(err)
		}
		t0 := time.Date(2027, 6, 10, 9, 0, 0, 0, time.FixedZone("CEST", 2*3600))
		for _, ws := range []gormdb.WebSession{
			{IDHash: "h-anna-1", UserID: anna.ID, CSRF: "c1", CreatedAt: t0, LastSeenAt: t0},
			{IDHash: "h-anna-2", UserID: anna.ID, CSRF: "c2", CreatedAt: t0, LastSeenAt: t0.Add(50 * time.Minute)},
			{IDHash: "h-bert", UserID: bert.ID, CSRF: "c3", CreatedAt: t0.Add(-13 * time.Hour), LastSeenAt: t0.Add(50 * time.Minute)},
		} {
			if err := s.SaveSession(ctx, ws); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.SaveSession(ctx, gormdb.WebSession{IDHash: "h-anna-1", UserID: anna.ID, CreatedAt: t0, LastSeenAt: t0}); cmr.KindOf(err) != cmr.KindConflict {
			t.Errorf("a second session under the same hash: %v", err)
		}
		got, err := s.Session(ctx, "h-anna-1")
		if err != nil || got.UserID != anna.ID || got.CSRF != "c1" || !got.CreatedAt.Equal(t0) {
			t.Fatalf("session: %+v %v", got, err)
		}
		if _, err := s.Session(ctx, "nope"); err != cmr.ErrNotFound {
			t.Errorf("unknown session: %v", err)
		}
		if err := s.TouchSession(ctx, "h-anna-1", t0.Add(20*time.Minute)); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.Session(ctx, "h-anna-1"); !got.LastSeenAt.Equal(t0.Add(20 * time.Minute)) {
			t.Errorf("touched: %v", got.LastSeenAt)
		}

		// At t0+55min with a 30-minute idle and 12-hour absolute timeout:
		// anna-1 is idle (last seen t0+20), bert's is too old, anna-2 lives.
		at := t0.Add(55 * time.Minute)
		n, err := s.PurgeSessions(ctx, at.Add(-30*time.Minute), at.Add(-12*time.Hour))
		if err != nil || n != 2 {
			t.Errorf("purged %d, %v; want 2", n, err)
		}
		if _, err := s.Session(ctx, "h-anna-2"); err != nil {
			t.Errorf("a live session was purged: %v", err)
		}

		if err := s.SaveSession(ctx, gormdb.WebSession{IDHash: "h-anna-3", UserID: anna.ID, CSRF: "c4", CreatedAt: at, LastSeenAt: at}); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteUserSessions(ctx, anna.ID); err != nil {
			t.Fatal(err)
		}
		for _, h := range []string{"h-anna-2", "h-anna-3"} {
			if _, err := s.Session(ctx, h); err != cmr.ErrNotFound {
				t.Errorf("%s survives the end of all anna's sessions: %v", h, err)
			}
		}
		if err := s.SaveSession(ctx, gormdb.WebSession{IDHash: "h-bert-2", UserID: bert.ID, CSRF: "c5", CreatedAt: at, LastSeenAt: at}); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteSession(ctx, "h-bert-2"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Session(ctx, "h-bert-2"); err != cmr.ErrNotFound {
			t.Errorf("deleted session found: %v", err)
		}
	})
}
