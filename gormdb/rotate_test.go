package gormdb_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"testing"

	"github.com/cmr-idp/cmr/aesgcm"
	"github.com/cmr-idp/cmr/gormdb"
	"github.com/cmr-idp/cmr/gormdb/gormdbtest"
)

func keyring(t *testing.T) *aesgcm.Keyring {
	master := make([]byte, aesgcm.KeySize)
	rand.Read(master)
	k, err := aesgcm.NewKeyring(master)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TestRotateMasterKey: every case's data key is re-wrapped under the new
// master key, the data keys themselves stay (so stored lists still open);
// with the wrong old key nothing changes.
func TestRotateMasterKey(t *testing.T) {
	gormdbtest.Each(t, func(t *testing.T, s *gormdb.Store) {
		ctx := context.Background()
		_, st := savedCase(t, s)
		oldKeys, newKeys, wrong := keyring(t), keyring(t), keyring(t)
		var dataKey []byte
		wrapped, err := s.CaseKey(ctx, st.CaseID, func() ([]byte, error) {
			k, w, err := oldKeys.NewDataKey(st.CaseID)
			dataKey = k
			return w, err
		})
		if err != nil {
			t.Fatal(err)
		}
		sealed, err := aesgcm.Seal(dataKey, []byte("lijst"), aesgcm.Binding(st.CaseID, "L1", 1))
		if err != nil {
			t.Fatal(err)
		}

		if _, err := s.RewrapCaseKeys(ctx, func(id string, w []byte) ([]byte, error) { return wrong.Rewrap(id, w, newKeys) }); err == nil {
			t.Fatal("re-wrapped with the wrong old key")
		}
		if still, _ := s.CaseKey(ctx, st.CaseID, nil); !bytes.Equal(still, wrapped) {
			t.Fatal("a failed rotation changed a key")
		}

		n, err := s.RewrapCaseKeys(ctx, func(id string, w []byte) ([]byte, error) { return oldKeys.Rewrap(id, w, newKeys) })
		if err != nil || n != 1 {
			t.Fatalf("rotate: %d, %v", n, err)
		}
		rewrapped, _ := s.CaseKey(ctx, st.CaseID, nil)
		if _, err := oldKeys.Unwrap(st.CaseID, rewrapped); err == nil {
			t.Error("the old master key still opens the data key")
		}
		k, err := newKeys.Unwrap(st.CaseID, rewrapped)
		if err != nil || !bytes.Equal(k, dataKey) {
			t.Fatalf("the new master key: %v", err)
		}
		if plain, err := aesgcm.Open(k, sealed, aesgcm.Binding(st.CaseID, "L1", 1)); err != nil || string(plain) != "lijst" {
			t.Errorf("a stored list after rotation: %q %v", plain, err)
		}
	})
}
