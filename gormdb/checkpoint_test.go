package gormdb_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/cmr-idp/cmr"
	"github.com/cmr-idp/cmr/gormdb"
)

// TestCheckpointerMovesTheWAL: a commit only appends to the WAL, and the
// checkpointer, not a request, copies the pages into the database file.
// The list is 3 MB (750 pages), below the requests' own threshold, so the
// file grows only if the checkpointer runs.
func TestCheckpointerMovesTheWAL(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cmr.db")
	s, err := gormdb.OpenSQLite(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	_, st := savedCase(t, s)
	before := fileSize(t, path)
	blob := make([]byte, 3<<20)
	rand.Read(blob)
	v := cmr.ListVersion{ID: gormdb.NewListID(), CaseID: st.CaseID, Kind: cmr.ListComplete, Format: "vo", Version: 1, RowCount: 1,
		UploadedBy: cmr.Actor{UserID: "u", OrganisationID: "school", Role: cmr.RoleSchool}}
	if _, err := s.SaveList(ctx, v, bytes.NewReader(blob), nil); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for fileSize(t, path) < before+int64(len(blob)) {
		if time.Now().After(deadline) {
			t.Fatalf("the database file is %d bytes 10 s after a 3 MB commit (%d before): nothing checkpointed it", fileSize(t, path), before)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := s.Close(); err != nil {
		t.Errorf("close: %v", err)
	}
}

func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}
