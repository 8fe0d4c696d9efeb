package api_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
)

// BenchmarkReadAllocs serves the case list and a LiKa's queue, with
// BenchmarkReads's 10,000 cases in SQLite, one request after another in
// process (no network), against the bare handler on the same database:
// what each costs in time and in memory allocated. The allocations are
// what the garbage collector must clean up, and under load its pauses are
// the reads' p99 (README, performance).
//
//	go test ./api -run '^$' -bench ReadAllocs -benchmem
func BenchmarkReadAllocs(b *testing.B) {
	store, db := openReadsSQLite(b)
	b.Cleanup(func() { db.Close() })
	if err := store.Migrate(context.Background()); err != nil {
		b.Fatal(err)
	}
	en := newEnv(b, store)
	seedReads(b, store)
	bare := bareReads(db, en.tokens)
	for _, r := range []struct {
		name, path, bare, org string
	}{
		{"list", "/api/v1/cases", "/cases", "dist"},
		{"queue", "/api/v1/tickets?state=open", "/queue", "lika-a"},
	} {
		for _, side := range []struct {
			name string
			h    http.Handler
			path string
		}{{"api", en.e, r.path}, {"bare", bare, r.bare}} {
			b.Run(r.name+"/"+side.name, func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					req := httptest.NewRequest(http.MethodGet, side.path, nil)
					req.Header.Set("Authorization", "Bearer "+en.tokens[r.org])
					rec := httptest.NewRecorder()
					side.h.ServeHTTP(rec, req)
					if rec.Code != http.StatusOK {
						b.Fatalf("%s: %d %s", side.path, rec.Code, rec.Body)
					}
				}
			})
		}
	}
}
