package api_test

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/csv"
	"net/http/httptest"
	"testing"

	"github.com/cmr-idp/cmr/gormdb"
	"github.com/cmr-idp/cmr/gormdb/gormdbtest"
)

const benchRows = 50_000

// BenchmarkListUpload50k is a school uploading a 50,000-row VO list
// through the real router: read, validated, encrypted, stored (SQLite).
// Compare with BenchmarkListFloor50k, the same bytes parsed by bare
// encoding/csv and sealed with AES-GCM.
func BenchmarkListUpload50k(b *testing.B) {
	b.Run("sqlite", func(b *testing.B) { benchUpload(b, gormdbtest.SQLite(b)) })
	b.Run("postgres", func(b *testing.B) { benchUpload(b, gormdbtest.Postgres(b)) })
}

func benchUpload(b *testing.B, store *gormdb.Store) {
	en := newEnv(b, store)
	r := en.want(en.do("dist", "POST", "/api/v1/cases", `{"school":"01AB","from":{"quadrant":1,"idp":"Magister"},"to":{"quadrant":1,"idp":"SOM"},"likas":["lika-a"],"switch_on":"2027-07-15"}`), 201, "open")
	path := "/api/v1/cases/" + r.Body["id"].(string) + "/lists"
	body := []byte(voList(benchRows))
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		req := httptest.NewRequest("POST", path, bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+en.tokens["school-vo"])
		rec := httptest.NewRecorder()
		en.e.ServeHTTP(rec, req)
		if rec.Code != 201 {
			b.Fatalf("upload: %d %s", rec.Code, rec.Body.String()[:200])
		}
	}
}

// BenchmarkListFloor50k is the floor: parse the same CSV with
// encoding/csv and seal it with AES-256-GCM, nothing else.
func BenchmarkListFloor50k(b *testing.B) {
	body := []byte(voList(benchRows))
	key := make([]byte, 32)
	rand.Read(key)
	blk, _ := aes.NewCipher(key)
	gcm, _ := cipher.NewGCM(blk)
	nonce := make([]byte, gcm.NonceSize())
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r := csv.NewReader(bytes.NewReader(body))
		r.Comma = ';'
		recs, err := r.ReadAll()
		if err != nil || len(recs) != benchRows+1 {
			b.Fatal(err)
		}
		_ = gcm.Seal(nil, nonce, body, nil)
	}
}
