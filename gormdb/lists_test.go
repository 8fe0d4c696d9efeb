package gormdb_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/cmr-idp/cmr"
	"github.com/cmr-idp/cmr/gormdb"
	"github.com/cmr-idp/cmr/gormdb/gormdbtest"
)

func TestListsVersionsAndPurge(t *testing.T) {
	gormdbtest.Each(t, func(t *testing.T, s *gormdb.Store) {
		ctx := context.Background()
		h, st := savedCase(t, s)
		calls := 0
		create := func() ([]byte, error) { calls++; return []byte("wrapped-key"), nil }
		k1, err := s.CaseKey(ctx, st.CaseID, create)
		if err != nil {
			t.Fatal(err)
		}
		k2, _ := s.CaseKey(ctx, st.CaseID, create)
		if !bytes.Equal(k1, k2) || calls != 1 {
			t.Errorf("case key not reused: %q %q, %d creations", k1, k2, calls)
		}
		school := cmr.Actor{UserID: "u", OrganisationID: "school", Role: cmr.RoleSchool}
		var ids []string
		for v := 1; v <= 2; v++ {
			next, _ := s.NextListVersion(ctx, st.CaseID, "", cmr.ListComplete)
			if next != v {
				t.Fatalf("next version %d, want %d", next, v)
			}
			lv, err := s.SaveList(ctx, cmr.ListVersion{ID: gormdb.NewListID(), CaseID: st.CaseID, Kind: cmr.ListComplete, Format: "vo", Version: next, RowCount: 10 * v, UploadedBy: school}, bytes.NewReader([]byte{byte(v), 1, 2}), nil)
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, lv.ID)
		}
		if _, err := s.SaveList(ctx, cmr.ListVersion{ID: gormdb.NewListID(), CaseID: st.CaseID, Kind: cmr.ListComplete, Format: "vo", Version: 2, UploadedBy: school}, bytes.NewReader([]byte{1}), nil); cmr.KindOf(err) != cmr.KindConflict {
			t.Errorf("concurrent upload with a taken version: %v", err)
		}
		lika := gormdb.Viewer{OrganisationID: "lika1", Role: cmr.RolePublisher}
		vs, err := s.Lists(ctx, lika, st.CaseID)
		if err != nil || len(vs) != 2 || !vs[0].Current || vs[0].Version != 2 || vs[1].Current || vs[0].UploadedBy.OrganisationID != "school" {
			t.Fatalf("versions: %+v %v", vs, err)
		}
		if _, _, err := s.ListData(ctx, gormdb.Viewer{OrganisationID: "dist2", Role: cmr.RoleDistributor}, st.CaseID, ids[0]); err != cmr.ErrNotFound {
			t.Errorf("foreign party reads a list: %v", err)
		}
		if _, data, err := s.ListData(ctx, lika, st.CaseID, ids[0]); err != nil || data[0] != 1 {
			t.Errorf("old version data: %v %v", data, err)
		}

		// Open cases are never purged; closed ones after the retention.
		if ids, _ := s.PurgeLists(ctx, time.Now().Add(time.Hour)); len(ids) != 0 {
			t.Errorf("purged an open case: %v", ids)
		}
		st.Status = cmr.CaseCancelled
		if err := s.SaveCase(ctx, h, *st, 2, "", nil); err != nil {
			t.Fatal(err)
		}
		if ids, _ := s.PurgeLists(ctx, time.Now().Add(-time.Hour)); len(ids) != 0 {
			t.Errorf("purged before the retention: %v", ids)
		}
		closing, err := s.CreateSubmission(ctx, cmr.Submission{CaseID: st.CaseID, Kind: "ticket:close", Actor: cmr.Actor{OrganisationID: "lika1", Role: cmr.RolePublisher},
			Data: map[string]any{"note": "verwerkt", "unprocessed": []any{map[string]any{"row": 3, "reason": "Jansen staat niet in ons systeem"}}}})
		if err != nil {
			t.Fatal(err)
		}
		purged, err := s.PurgeLists(ctx, time.Now().Add(time.Hour))
		if err != nil || len(purged) != 1 {
			t.Fatalf("purge: %v %v", purged, err)
		}
		// The LiKa's reasons may name pupils: gone with the lists; its note stays.
		if data, err := gormdb.SubmissionDataForTest(s, closing); err != nil || data["unprocessed"] != nil || data["note"] != "verwerkt" {
			t.Errorf("the closing's data after the purge: %v %v", data, err)
		}
		if vs, _ := s.Lists(ctx, lika, st.CaseID); len(vs) != 0 {
			t.Errorf("lists left after purge: %+v", vs)
		}
		if _, err := s.CaseKey(ctx, st.CaseID, create); cmr.KindOf(err) != cmr.KindConflict {
			t.Errorf("key after purge: %v", err)
		}
		events, _ := s.Events(ctx, lika, st.CaseID)
		var uploads, purges int
		for _, e := range events {
			switch e.Type {
			case cmr.EventListUploaded:
				uploads++
			case cmr.EventListsPurged:
				purges++
			}
		}
		if uploads != 2 || purges != 1 {
			t.Errorf("audit: %d uploads, %d purges", uploads, purges)
		}
	})
}

// SaveList commits only if ready passes; ready's error comes back as it
// is, and nothing of the list stays: not the version, not its event.
func TestSaveListRefusedByReady(t *testing.T) {
	gormdbtest.Each(t, func(t *testing.T, s *gormdb.Store) {
		ctx := context.Background()
		_, st := savedCase(t, s)
		school := cmr.Actor{UserID: "u", OrganisationID: "school", Role: cmr.RoleSchool}
		refusal := &cmr.Error{Kind: cmr.KindInvalid, Message: "duplicates"}
		v := cmr.ListVersion{ID: gormdb.NewListID(), CaseID: st.CaseID, Kind: cmr.ListComplete, Format: "vo", Version: 1, RowCount: 3, UploadedBy: school}
		// In several parts: on PostgreSQL they go in with a COPY of their own.
		if _, err := s.SaveList(ctx, v, bytes.NewReader(make([]byte, 3*gormdb.ListPartSizeForTest(s)+1)), func() error { return refusal }); err != refusal {
			t.Fatalf("refused save: %v, want ready's error as it is", err)
		}
		viewer := gormdb.Viewer{OrganisationID: "school", Role: cmr.RoleSchool}
		wantNoList(t, s, viewer, st.CaseID, v.ID, "a refused list")
		if next, _ := s.NextListVersion(ctx, st.CaseID, "", cmr.ListComplete); next != 1 {
			t.Errorf("next version after a refusal: %d", next)
		}
		v.ID = gormdb.NewListID()
		if _, err := s.SaveList(ctx, v, bytes.NewReader([]byte{1, 2, 3}), func() error { return nil }); err != nil {
			t.Fatalf("save after the refusal: %v", err)
		}
		// The same viewer sees the event of a list that was kept.
		if evs, _ := s.Events(ctx, viewer, st.CaseID); len(evs) == 0 || evs[len(evs)-1].Type != cmr.EventListUploaded {
			t.Errorf("a kept list's event: %+v", evs)
		}
	})
}

// TestReadsDoNotWaitForAWrite: while a list's save holds its transaction
// open (its checks across rows still running), a case list, a case, its
// lists' versions and a token check answer at once, and do not see the
// list before it commits. On SQLite they read on connections of their own.
func TestReadsDoNotWaitForAWrite(t *testing.T) {
	gormdbtest.Each(t, func(t *testing.T, s *gormdb.Store) {
		ctx := context.Background()
		_, st := savedCase(t, s)
		u, err := s.UpsertUser(ctx, cmr.User{OrganisationID: "school", Email: "reader@example.org", Name: "Reader"})
		if err != nil {
			t.Fatal(err)
		}
		token, err := s.CreateToken(ctx, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		// A token's last use is written at most once a minute: that
		// write waits for the writer. This one is done now.
		if _, err := s.Authenticate(ctx, token); err != nil {
			t.Fatal(err)
		}
		school := cmr.Actor{UserID: u.ID, OrganisationID: "school", Role: cmr.RoleSchool}
		viewer := gormdb.Viewer{OrganisationID: "school", Role: cmr.RoleSchool}
		inside, release := make(chan struct{}), make(chan struct{})
		saved := make(chan error, 1)
		go func() {
			v := cmr.ListVersion{ID: gormdb.NewListID(), CaseID: st.CaseID, Kind: cmr.ListComplete, Format: "vo", Version: 1, RowCount: 1, UploadedBy: school}
			_, err := s.SaveList(ctx, v, bytes.NewReader([]byte{1, 2, 3}), func() error {
				close(inside)
				<-release
				return nil
			})
			saved <- err
		}()
		select {
		case <-inside:
		case err := <-saved:
			t.Fatalf("the save ended before its checks were asked: %v", err)
		}
		reads := map[string]func(context.Context) error{
			"case list": func(ctx context.Context) error { _, _, err := s.CasePage(ctx, viewer, gormdb.CaseFilter{}); return err },
			"case":      func(ctx context.Context) error { _, err := s.Case(ctx, viewer, st.CaseID); return err },
			"token":     func(ctx context.Context) error { _, err := s.Authenticate(ctx, token); return err },
			"versions": func(ctx context.Context) error {
				vs, err := s.Lists(ctx, viewer, st.CaseID)
				if err == nil && len(vs) != 0 {
					err = fmt.Errorf("a list not yet committed is seen: %+v", vs)
				}
				return err
			},
		}
		for name, read := range reads {
			rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			start := time.Now()
			if err := read(rctx); err != nil {
				t.Errorf("%s, while a list is being saved: %v", name, err)
			} else if took := time.Since(start); took > 2*time.Second {
				t.Errorf("%s, while a list is being saved: took %s", name, took)
			}
			cancel()
		}
		close(release)
		if err := <-saved; err != nil {
			t.Fatal(err)
		}
	})
}

// TestSaveListReadFails: a ciphertext that cannot be read to its end (its
// sealing failed, say) or is empty stores nothing, and the reason comes
// back.
func TestSaveListReadFails(t *testing.T) {
	gormdbtest.Each(t, func(t *testing.T, s *gormdb.Store) {
		ctx := context.Background()
		_, st := savedCase(t, s)
		school := cmr.Actor{UserID: "u", OrganisationID: "school", Role: cmr.RoleSchool}
		viewer := gormdb.Viewer{OrganisationID: "school", Role: cmr.RoleSchool}
		broken := errors.New("the sealer failed")
		size := gormdb.ListPartSizeForTest(s)
		for name, c := range map[string]struct {
			r    io.Reader
			want error // nil: any error
		}{
			"fails after two parts and a half": {io.MultiReader(bytes.NewReader(make([]byte, 2*size+size/2)), iotest.ErrReader(broken)), broken},
			// A reader that says it was cut off, at a part's end.
			"cut off after two parts": {io.MultiReader(bytes.NewReader(make([]byte, 2*size)), iotest.ErrReader(io.ErrUnexpectedEOF)), io.ErrUnexpectedEOF},
			"empty":                   {bytes.NewReader(nil), nil},
		} {
			v := cmr.ListVersion{ID: gormdb.NewListID(), CaseID: st.CaseID, Kind: cmr.ListComplete, Format: "vo", Version: 1, RowCount: 3, UploadedBy: school}
			_, err := s.SaveList(ctx, v, c.r, func() error { t.Errorf("%s: ready asked", name); return nil })
			if err == nil || (c.want != nil && !errors.Is(err, c.want)) {
				t.Errorf("%s: saved (%v)", name, err)
			}
			wantNoList(t, s, viewer, st.CaseID, v.ID, name)
		}
	})
}

// wantNoList fails t if anything of the list listID stayed in the case:
// its parts, a version or its upload's event.
func wantNoList(t *testing.T, s *gormdb.Store, viewer gormdb.Viewer, caseID, listID, what string) {
	t.Helper()
	ctx := context.Background()
	if parts, err := gormdb.ListPartsForTest(s, listID); err != nil || parts != 0 {
		t.Errorf("%s: %d parts stayed (%v)", what, parts, err)
	}
	if vs, err := s.Lists(ctx, viewer, caseID); err != nil || len(vs) != 0 {
		t.Errorf("%s: a version stayed: %+v %v", what, vs, err)
	}
	evs, err := s.Events(ctx, viewer, caseID)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range evs {
		if e.Type == cmr.EventListUploaded {
			t.Errorf("%s: its event stayed: %+v", what, e)
		}
	}
}

// A list's ciphertext comes back as it was stored, from parts of at most
// ListPartSize bytes (on PostgreSQL each must fit a heap page with its
// row). Migrating down to version 8 joins the parts into one value again,
// and back up keeps it.
func TestListDataInParts(t *testing.T) {
	gormdbtest.Each(t, func(t *testing.T, s *gormdb.Store) {
		ctx := context.Background()
		_, st := savedCase(t, s)
		school := cmr.Actor{UserID: "u", OrganisationID: "school", Role: cmr.RoleSchool}
		viewer := gormdb.Viewer{OrganisationID: "school", Role: cmr.RoleSchool}
		if pg := strings.HasSuffix(t.Name(), "/postgres"); s.OverNetwork() != pg {
			t.Errorf("OverNetwork %v on %s", s.OverNetwork(), t.Name())
		}
		size := gormdb.ListPartSizeForTest(s)
		sizes := []int{1, size, size + 1, 2 * size, 10*size + 7, 200 * size}
		if strings.HasSuffix(t.Name(), "/sqlite") {
			// Rows read without ORDER BY come back in reverse: the parts
			// must be put in order by the query, not by the index.
			if err := gormdb.ExecForTest(s, "PRAGMA reverse_unordered_selects = ON"); err != nil {
				t.Fatal(err)
			}
		}
		data := map[string][]byte{}
		for i, n := range sizes {
			b := make([]byte, n)
			rand.Read(b)
			v := cmr.ListVersion{ID: gormdb.NewListID(), CaseID: st.CaseID, Kind: cmr.ListComplete, Format: "vo", Version: i + 1, RowCount: 1, UploadedBy: school}
			// Read as a sealer hands it on: in pieces of any size.
			var r io.Reader = bytes.NewReader(b)
			if i%2 == 1 {
				r = iotest.HalfReader(r)
			}
			if _, err := s.SaveList(ctx, v, r, nil); err != nil {
				t.Fatal(err)
			}
			data[v.ID] = b
			parts, err := gormdb.ListPartsForTest(s, v.ID)
			want := int64((n + size - 1) / size)
			if err != nil || parts != want {
				t.Errorf("%d bytes stored in %d parts, want %d (%v)", n, parts, want, err)
			}
		}
		check := func(when string, wantParts bool) {
			t.Helper()
			for id, want := range data {
				_, got, err := s.ListData(ctx, viewer, st.CaseID, id)
				if err != nil || !bytes.Equal(got, want) {
					t.Errorf("%s: %d bytes read back as %d (%v)", when, len(want), len(got), err)
				}
				if parts, _ := gormdb.ListPartsForTest(s, id); !wantParts && parts != 1 {
					t.Errorf("%s: %d parts, want the one value of version 8", when, parts)
				}
			}
		}
		storage := func(want string, untried bool) {
			t.Helper()
			if !s.OverNetwork() {
				return
			}
			if got, err := gormdb.ColumnStorageForTest(s, "list_data_parts", "ciphertext"); err != nil || got != want {
				t.Errorf("the parts' storage is %q, want %q (%v)", got, want, err)
			}
			// From 00012 a part's row is not run through pglz first.
			opts, err := gormdb.RelOptionsForTest(s, "list_data_parts")
			if got := slices.Contains(opts, "toast_tuple_target=8160"); err != nil || got != untried {
				t.Errorf("the parts' table has options %q, want toast_tuple_target=8160: %v (%v)", opts, untried, err)
			}
		}
		check("as saved", true)
		storage("m", true) // kept in their rows, not compressed
		if err := gormdb.MigrateToForTest(s, 8); err != nil {
			t.Fatal(err)
		}
		if err := gormdb.MigrateToForTest(s, 9); err != nil {
			t.Fatal(err)
		}
		storage("e", false) // out of line
		// Up through 00010 and every later version.
		if err := gormdb.MigrateToForTest(s, 1<<31); err != nil {
			t.Fatal(err)
		}
		storage("m", true)
		check("down to 8 and up again", false)
	})
}
