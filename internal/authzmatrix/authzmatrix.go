// Package authzmatrix holds what the API's and the pages' authorization
// matrix tests share: matching a router's routes with a policy table both
// ways, filling path parameters, and the table of mismatches a failed run
// prints.
package authzmatrix

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"text/tabwriter"

	"github.com/labstack/echo/v4"
)

// Routes returns the routes of e that include selects, as "METHOD path",
// sorted; a route the policy table lacks, or a policy for a route e does
// not have, fails t, so that no route goes unchecked.
func Routes[P any](t testing.TB, e *echo.Echo, include func(path string) bool, policies map[string]P, table string) []string {
	t.Helper()
	seen := map[string]bool{}
	var routes []string
	for _, r := range e.Routes() {
		if r.Method == echo.RouteNotFound || !include(r.Path) {
			continue
		}
		key := r.Method + " " + r.Path
		if seen[key] {
			continue
		}
		seen[key] = true
		routes = append(routes, key)
		if _, ok := policies[key]; !ok {
			t.Errorf("route %s has no entry in the authorization policy table (%s): decide who may call it", key, table)
		}
	}
	slices.Sort(routes)
	for key := range policies {
		if !seen[key] {
			t.Errorf("policy for %s, which the router does not have", key)
		}
	}
	return routes
}

// Fill puts params into a route's path parameters (":id").
func Fill(path string, params map[string]string) string {
	parts := strings.Split(path, "/")
	for i, s := range parts {
		if name, ok := strings.CutPrefix(s, ":"); ok {
			parts[i] = params[name]
		}
	}
	return strings.Join(parts, "/")
}

// Cut shortens s to n bytes, marking the cut.
func Cut(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// Mismatch is one answer the policy did not allow.
type Mismatch struct {
	Phase, Route, Caller, Object, Variant, Class, Got, Want, Body string
}

// Table prints mismatches: counted by phase, route, class and answer, then
// each (the first 200), with its body shortened by body.
func Table(ms []Mismatch, body func(string) string) string {
	var sb strings.Builder
	w := tabwriter.NewWriter(&sb, 0, 0, 2, ' ', 0)
	counts := map[string]int{}
	for _, m := range ms {
		counts[fmt.Sprintf("%s\t%s\t%s\tgot %s\twant %s", m.Phase, m.Route, m.Class, m.Got, m.Want)]++
	}
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	fmt.Fprintln(w, "COUNT\tPHASE\tROUTE\tCLASS\tGOT\tWANT")
	for _, k := range keys {
		fmt.Fprintf(w, "%d\t%s\n", counts[k], k)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "PHASE\tROUTE\tCALLER\tCLASS\tOBJECT\tVARIANT\tGOT\tWANT\tBODY")
	for i, m := range ms {
		if i == 200 {
			fmt.Fprintf(w, "… and %d more\n", len(ms)-200)
			break
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", m.Phase, m.Route, m.Caller, m.Class, m.Object, m.Variant, m.Got, m.Want, body(m.Body))
	}
	w.Flush()
	return sb.String()
}

// Known reports the tolerated deviations (known: key → reason; counts: key
// → requests that showed it) and returns how many requests they covered.
// Unless strict, each is logged, and one that no longer occurs fails t so
// that the list shrinks as handlers are fixed. table names the map.
func Known(t testing.TB, known map[string]string, counts map[string]int, strict bool, table string) int {
	t.Helper()
	total := 0
	for _, k := range slices.Sorted(maps.Keys(known)) {
		total += counts[k]
		switch {
		case strict:
		case counts[k] == 0:
			t.Errorf("known deviation %s no longer occurs: remove it from %s", k, table)
		default:
			t.Logf("known deviation %s: %d requests: %s", k, counts[k], known[k])
		}
	}
	return total
}

// Answers summarises the statuses a run got, e.g. "813×200 6038×404".
func Answers(statuses map[int]int) string {
	var out []string
	for _, code := range slices.Sorted(maps.Keys(statuses)) {
		out = append(out, fmt.Sprintf("%d×%d", statuses[code], code))
	}
	return strings.Join(out, " ")
}
