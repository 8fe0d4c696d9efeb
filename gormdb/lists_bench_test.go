package gormdb_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"testing"

	"github.com/cmr-idp/cmr"
	"github.com/cmr-idp/cmr/gormdb"
	"github.com/cmr-idp/cmr/gormdb/gormdbtest"
)

// BenchmarkSaveList stores the 1.2 MB ciphertext of a 50,000-row list as
// a new version, in the parts the store uses ("parts") and as one value
// ("one"; on PostgreSQL stored out of line, as at schema version 9),
// alternately, so that the two are compared under the same load.
func BenchmarkSaveList(b *testing.B) {
	b.Run("sqlite", func(b *testing.B) { benchSaveList(b, gormdbtest.SQLite(b), false) })
	b.Run("postgres", func(b *testing.B) { benchSaveList(b, gormdbtest.Postgres(b), true) })
}

func benchSaveList(b *testing.B, s *gormdb.Store, pg bool) {
	ctx := context.Background()
	_, st := savedCase(b, s)
	data := make([]byte, 1200<<10)
	rand.Read(data)
	school := cmr.Actor{UserID: "u", OrganisationID: "school", Role: cmr.RoleSchool}
	version := 0
	size := gormdb.ListPartSizeForTest(s)
	for _, c := range []struct {
		name string
		size int
	}{{"parts", size}, {"one", 0}, {"parts", size}, {"one", 0}} {
		b.Run(c.name, func(b *testing.B) {
			gormdb.SetListPartSizeForTest(s, c.size)
			defer gormdb.SetListPartSizeForTest(s, size)
			if c.size == 0 && pg {
				// As before version 10: one value, out of line.
				if err := gormdb.MigrateToForTest(s, 9); err != nil {
					b.Fatal(err)
				}
				b.Cleanup(func() {
					if err := gormdb.MigrateToForTest(s, 1<<31); err != nil { // back to the latest
						b.Fatal(err)
					}
				})
			}
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				version++
				v := cmr.ListVersion{ID: gormdb.NewListID(), CaseID: st.CaseID, Kind: cmr.ListComplete, Format: "vo", Version: version, RowCount: 1, UploadedBy: school}
				if _, err := s.SaveList(ctx, v, bytes.NewReader(data), nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
