package api_test

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/csv"
	"fmt"
	mrand "math/rand/v2"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/cmr-idp/cmr/gormdb"
	"github.com/cmr-idp/cmr/gormdb/gormdbtest"
)

const benchRows = 50_000

// BenchmarkListUpload50k is a school uploading a 50,000-row VO list
// through the real router: read, validated, encrypted, stored. Each
// upload is paired with a run of the floor (BenchmarkListFloor50k: the
// same bytes parsed by bare encoding/csv and sealed with AES-GCM), so the
// ratios it reports (mean and p50) are against a floor measured in the
// same run, under the same load; ns/op is the upload alone.
//
// Its list numbers its pupils (Leerling1, l1@…), which compresses far
// better than a school's list; the -varied runs upload a list of varied
// names, postcodes and random identities (voListVaried), as a school's
// list is.
func BenchmarkListUpload50k(b *testing.B) {
	b.Run("sqlite", func(b *testing.B) { benchUpload(b, gormdbtest.SQLite(b), voList(benchRows)) })
	b.Run("postgres", func(b *testing.B) { benchUpload(b, gormdbtest.Postgres(b), voList(benchRows)) })
	b.Run("sqlite-varied", func(b *testing.B) { benchUpload(b, gormdbtest.SQLite(b), voListVaried(benchRows)) })
	b.Run("postgres-varied", func(b *testing.B) { benchUpload(b, gormdbtest.Postgres(b), voListVaried(benchRows)) })
}

// voListVaried is a VO list of n pupils nearer to a school's: first names
// from twenty and surnames from twenty (each with a number, so fewer
// repeat than at a school), some with a tussenvoegsel, any postcode and
// house number, and random identities that share only their realms (the
// same list each time).
func voListVaried(n int) string {
	first := []string{"Daan", "Emma", "Sem", "Julia", "Lucas", "Mila", "Finn", "Tess", "Noah", "Sophie", "Levi", "Zoë", "Bram", "Anna", "Luuk", "Sara", "Jesse", "Lotte", "Thijs", "Eva"}
	infix := []string{"", "", "", "", "van", "de", "van der", "van den"}
	last := []string{"Jansen", "Vries", "Bakker", "Visser", "Smit", "Meijer", "Boer", "Mulder", "Groot", "Bos", "Vos", "Peters", "Hendriks", "Leeuwen", "Dekker", "Brouwer", "Wit", "Dijkstra", "Smits", "Graaf"}
	r := mrand.New(mrand.NewPCG(1, 2))
	var b strings.Builder
	b.WriteString(voHead + "\n")
	for range n {
		fmt.Fprintf(&b, "%s;%s;%s%d;%04d %c%c;%d;%010x@magis.01AB;%012x@lyceum.nl\n",
			first[r.IntN(len(first))], infix[r.IntN(len(infix))], last[r.IntN(len(last))], r.IntN(50),
			1000+r.IntN(9000), 'A'+r.IntN(26), 'A'+r.IntN(26), 1+r.IntN(300), r.Uint64()>>24, r.Uint64()>>16)
	}
	return b.String()
}

func benchUpload(b *testing.B, store *gormdb.Store, list string) {
	en := newEnv(b, store)
	r := en.want(en.do("dist", "POST", "/api/v1/cases", `{"school":"01AB","from":{"quadrant":1,"idp":"Magister"},"to":{"quadrant":1,"idp":"SOM"},"likas":["lika-a"],"switch_on":"2027-07-15"}`), 201, "open")
	path := "/api/v1/cases/" + r.Body["id"].(string) + "/lists"
	body := []byte(list)
	floor := newFloor(b, body)
	var took, floorTook []time.Duration
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		t0 := time.Now()
		floor()
		floorTook = append(floorTook, time.Since(t0))
		b.StartTimer()

		req := httptest.NewRequest("POST", path, bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+en.tokens["school-vo"])
		rec := httptest.NewRecorder()
		t0 = time.Now()
		en.e.ServeHTTP(rec, req)
		took = append(took, time.Since(t0))
		if rec.Code != 201 {
			b.Fatalf("upload: %d %s", rec.Code, rec.Body.String()[:200])
		}
	}
	b.StopTimer()
	p50, fp50 := percentile(took, 50), percentile(floorTook, 50)
	mean, fmean := average(took), average(floorTook)
	b.ReportMetric(ms(p50), "p50-ms")
	b.ReportMetric(ms(fp50), "floor-p50-ms")
	b.ReportMetric(float64(p50)/float64(fp50), "p50-ratio")
	b.ReportMetric(float64(mean)/float64(fmean), "mean-ratio")
	b.Logf("%d uploads: p50 %.1f ms, mean %.1f ms; floor p50 %.1f ms, mean %.1f ms; ratio p50 %.2f×, mean %.2f×",
		len(took), ms(p50), ms(mean), ms(fp50), ms(fmean), float64(p50)/float64(fp50), float64(mean)/float64(fmean))
}

func average(d []time.Duration) time.Duration {
	var sum time.Duration
	for _, x := range d {
		sum += x
	}
	return sum / time.Duration(len(d))
}

// newFloor returns the floor: body parsed by bare encoding/csv and sealed
// with AES-256-GCM, nothing else.
func newFloor(b *testing.B, body []byte) func() {
	key := make([]byte, 32)
	rand.Read(key)
	blk, _ := aes.NewCipher(key)
	gcm, _ := cipher.NewGCM(blk)
	nonce := make([]byte, gcm.NonceSize())
	return func() {
		r := csv.NewReader(bytes.NewReader(body))
		r.Comma = ';'
		recs, err := r.ReadAll()
		if err != nil || len(recs) != benchRows+1 {
			b.Fatal(err)
		}
		_ = gcm.Seal(nil, nonce, body, nil)
	}
}

// BenchmarkListFloor50k is the floor: parse the same CSV with
// encoding/csv and seal it with AES-256-GCM, nothing else.
func BenchmarkListFloor50k(b *testing.B) {
	body := []byte(voList(benchRows))
	floor := newFloor(b, body)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		floor()
	}
}
