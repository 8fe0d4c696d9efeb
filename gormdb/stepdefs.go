package gormdb

import (
	"encoding/json"
	"reflect"
	"slices"
	"sync"

	"github.com/cmr-idp/cmr"
)

// maxStepDefs bounds the parsed step definitions kept. A procedure has
// about twenty steps and there are a handful of procedures (sector,
// funding, options), each the same JSON in every case that follows it,
// so this is never reached in practice; when it is, the set starts over.
const maxStepDefs = 1024

// stepDefs keeps step definitions parsed by their stored JSON. Every case
// stores its procedure's definitions with its steps (fixed at opening),
// and decoding them was a third of reading a case; the JSON is the same
// for every case of a procedure, so it is decoded once.
type stepDefs struct {
	mu     sync.Mutex
	parsed map[string]cmr.StepDef
}

// decode returns the definition stored as raw. The caller gets copies of
// its slices, so changing them cannot change what the next case reads.
func (d *stepDefs) decode(raw string) (cmr.StepDef, error) {
	d.mu.Lock()
	def, ok := d.parsed[raw]
	d.mu.Unlock()
	if !ok {
		if err := json.Unmarshal([]byte(raw), &def); err != nil {
			return cmr.StepDef{}, err
		}
		d.mu.Lock()
		if d.parsed == nil || len(d.parsed) >= maxStepDefs {
			d.parsed = map[string]cmr.StepDef{}
		}
		d.parsed[raw] = def
		d.mu.Unlock()
	}
	def.Records = slices.Clone(def.Records)
	def.WaitsFor = slices.Clone(def.WaitsFor)
	return def, nil
}

// same says whether two stored forms of a definition say the same: on
// PostgreSQL, JSONB gives a definition back in an order and spacing of its
// own, and comparing the two by decoding both into generic values was
// two thirds of writing a case's steps. Decoded once each (both forms
// are the same for every case of a procedure), they compare as structs.
func (d *stepDefs) same(a, b string) bool {
	if a == b {
		return true
	}
	da, err := d.decode(a)
	if err != nil {
		return false
	}
	db, err := d.decode(b)
	return err == nil && reflect.DeepEqual(da, db)
}
