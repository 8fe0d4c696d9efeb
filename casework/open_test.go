package casework_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cmr-idp/cmr"
	"github.com/cmr-idp/cmr/casework"
	"github.com/cmr-idp/cmr/workflows"
)

// directory is an in-memory casework.Directory.
type directory struct {
	openings []cmr.Opening
	closed   map[string]bool // case IDs no longer open
}

// OpenCasesOf takes every opening of the distributor's as an open case of
// the one school, unless it was closed.
func (d *directory) OpenCasesOf(_ context.Context, distributorID, _ string) ([]cmr.Case, error) {
	var out []cmr.Case
	for _, o := range slices.Backward(d.openings) {
		if o.OrganisationID == distributorID && !d.closed[o.CaseID] {
			var c cmr.Case
			c.ID = o.CaseID
			c.SwitchOn, _ = time.Parse("20060102", strings.Split(o.CaseID, "-")[1])
			out = append(out, c)
		}
	}
	return out, nil
}

func (d *directory) Organisations(_ context.Context, roles ...cmr.Role) ([]cmr.Organisation, error) {
	all := []cmr.Organisation{
		{ID: "school", Name: "Het Lyceum", Role: cmr.RoleSchool, BRIN: "01AB", Sector: cmr.SectorVO},
		{ID: "lika", Name: "Uitgever", Role: cmr.RolePublisher},
	}
	var out []cmr.Organisation
	for _, o := range all {
		for _, r := range roles {
			if o.Role == r {
				out = append(out, o)
			}
		}
	}
	return out, nil
}

func (d *directory) School(ctx context.Context, key string) (cmr.Organisation, error) {
	schools, _ := d.Organisations(ctx, cmr.RoleSchool)
	for _, o := range schools {
		if o.ID == key || strings.EqualFold(o.BRIN, key) {
			return o, nil
		}
	}
	return cmr.Organisation{}, cmr.ErrNotFound
}

func (d *directory) CaseIDsWithPrefix(_ context.Context, prefix string) ([]string, error) {
	var ids []string
	for _, o := range d.openings {
		if strings.HasPrefix(o.CaseID, prefix) {
			ids = append(ids, o.CaseID)
		}
	}
	return ids, nil
}

func (d *directory) ReserveOpening(_ context.Context, o cmr.Opening) error {
	for _, p := range d.openings {
		if p.CaseID == o.CaseID || (o.Key != "" && p.OrganisationID == o.OrganisationID && p.Key == o.Key) {
			return cmr.Errorf(cmr.KindConflict, "taken")
		}
	}
	d.openings = append(d.openings, o)
	return nil
}

func (d *directory) OpeningByKey(_ context.Context, org, key string) (cmr.Opening, error) {
	for _, p := range d.openings {
		if key != "" && p.OrganisationID == org && p.Key == key {
			return p, nil
		}
	}
	return cmr.Opening{}, cmr.ErrNotFound
}

// opener fails its first start, as when the workflow start's answer is
// lost, and records the starts it was asked for: "open:<case ID>" for
// OpenCase, "await:<case ID>" for OpenOrAwaitCase.
type opener struct {
	fail  error
	calls []string
}

func (o *opener) start(how string, in workflows.CaseInput) (workflows.UpdateResult, error) {
	o.calls = append(o.calls, how+":"+in.Header.ID)
	if err := o.fail; err != nil {
		o.fail = nil
		return workflows.UpdateResult{}, err
	}
	return workflows.UpdateResult{Status: cmr.CaseOpen}, nil
}

func (o *opener) OpenCase(_ context.Context, in workflows.CaseInput) (workflows.UpdateResult, error) {
	return o.start("open", in)
}

func (o *opener) OpenOrAwaitCase(_ context.Context, in workflows.CaseInput) (workflows.UpdateResult, error) {
	return o.start("await", in)
}

// TestOpenCaseAfterALostStart: the first attempt reserved its case ID but
// its start failed (Temporal unreachable, the client gave up); the request
// sent again with the same key starts that case, under that ID.
func TestOpenCaseAfterALostStart(t *testing.T) {
	ctx := context.Background()
	dir := &directory{}
	eng := &opener{fail: cmr.Errorf(cmr.KindUnavailable, "temporal is unreachable")}
	me := cmr.Actor{UserID: "u", OrganisationID: "dist", Role: cmr.RoleDistributor}
	set := casework.Settings{Calendar: cmr.DefaultCalendarConfig(), SLADays: 3, Today: time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)}
	req := casework.OpenRequest{School: "01AB", LiKas: []string{"lika"}, IdempotencyKey: "k1",
		Scenario: cmr.Scenario{Sector: cmr.SectorVO, From: cmr.Endpoint{Quadrant: 1, IdP: "Magister"}, To: cmr.Endpoint{Quadrant: 1, IdP: "SOM"}},
		Timing:   cmr.Timing{SwitchOn: time.Date(2027, 7, 15, 0, 0, 0, 0, time.UTC)}}

	if _, err := casework.OpenCase(ctx, dir, eng, me, req, set); cmr.KindOf(err) != cmr.KindUnavailable {
		t.Fatalf("first attempt: %v", err)
	}
	id, err := casework.OpenCase(ctx, dir, eng, me, req, set)
	if err != nil || id != "01AB-20270715" {
		t.Fatalf("sent again: %q %v", id, err)
	}
	// A new request (new key, or none) takes the next ID, not the reserved one.
	for _, k := range []string{"k2", ""} {
		r := req
		r.IdempotencyKey = k
		if _, err := casework.OpenCase(ctx, dir, eng, me, r, set); err != nil {
			t.Fatal(err)
		}
	}
	if want := []string{"await:01AB-20270715", "await:01AB-20270715", "await:01AB-20270715-2", "open:01AB-20270715-3"}; !slices.Equal(eng.calls, want) {
		t.Errorf("starts %v, want %v", eng.calls, want)
	}
	// The key with another request is refused, naming the case it opened.
	r := req
	r.Timing.SwitchOn = r.Timing.SwitchOn.AddDate(0, 0, 1)
	_, err = casework.OpenCase(ctx, dir, eng, me, r, set)
	var e *cmr.Error
	if !errors.As(err, &e) || e.Kind != cmr.KindConflict || e.Field != "Idempotency-Key" || !strings.Contains(e.Message, "01AB-20270715") {
		t.Errorf("the key with another request: %v", err)
	}
}

// TestOnlyCase: the wizard's request refuses a second open case for the
// school, naming the open one, until the person confirms it; a request
// sent again gets its own case, and a closed case is no reason to ask.
func TestOnlyCase(t *testing.T) {
	ctx := context.Background()
	dir := &directory{closed: map[string]bool{}}
	eng := &opener{}
	me := cmr.Actor{UserID: "u", OrganisationID: "dist", Role: cmr.RoleDistributor}
	set := casework.Settings{Calendar: cmr.DefaultCalendarConfig(), SLADays: 3, Today: time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)}
	req := casework.OpenRequest{School: "01AB", LiKas: []string{"lika"}, IdempotencyKey: "k1", OnlyCase: true,
		Scenario: cmr.Scenario{Sector: cmr.SectorVO, From: cmr.Endpoint{Quadrant: 1, IdP: "Magister"}, To: cmr.Endpoint{Quadrant: 1, IdP: "SOM"}},
		Timing:   cmr.Timing{SwitchOn: time.Date(2027, 7, 15, 0, 0, 0, 0, time.UTC)}}
	if id, err := casework.OpenCase(ctx, dir, eng, me, req, set); err != nil || id != "01AB-20270715" {
		t.Fatalf("the first case: %q %v", id, err)
	}
	if id, err := casework.OpenCase(ctx, dir, eng, me, req, set); err != nil || id != "01AB-20270715" {
		t.Fatalf("the same form sent again: %q %v", id, err)
	}

	second := req
	second.IdempotencyKey = "k2"
	_, err := casework.OpenCase(ctx, dir, eng, me, second, set)
	var e *cmr.Error
	if !errors.As(err, &e) || e.Kind != cmr.KindConflict || e.Field != casework.AnotherCaseField ||
		!strings.Contains(e.Message, "01AB-20270715 (switch on 15-7-2027)") || !strings.Contains(e.MessageNL, "01AB-20270715 (overstap op 15-7-2027)") {
		t.Fatalf("a second case for the school: %v", err)
	}
	if len(dir.openings) != 1 {
		t.Errorf("the refused request reserved a case: %+v", dir.openings)
	}

	// Another distributor's case is not this one's business.
	other := me
	other.OrganisationID = "dist2"
	if id, err := casework.OpenCase(ctx, dir, eng, other, second, set); err != nil || id != "01AB-20270715-2" {
		t.Errorf("another distributor's first case: %q %v", id, err)
	}

	second.OnlyCase = false // confirmed
	if id, err := casework.OpenCase(ctx, dir, eng, me, second, set); err != nil || id != "01AB-20270715-3" {
		t.Errorf("confirmed: %q %v", id, err)
	}
	dir.closed["01AB-20270715"], dir.closed["01AB-20270715-3"] = true, true
	third := req
	third.IdempotencyKey = "k3"
	if id, err := casework.OpenCase(ctx, dir, eng, me, third, set); err != nil || id != "01AB-20270715-4" {
		t.Errorf("after the school's cases closed: %q %v", id, err)
	}
}

// TestCheckTimingRefusesAYearMistyped: a date more than five years from
// today is a typing error in the year; each one is named.
func TestCheckTimingRefusesAYearMistyped(t *testing.T) {
	today := time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC)
	day := func(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }
	if _, err := casework.CheckTiming(cmr.Timing{RequestedOn: day(2021, 11, 24), SwitchOn: day(2031, 11, 24)}, cmr.SectorVO, today); err != nil {
		t.Errorf("five years either way: %v", err)
	}
	if _, err := casework.CheckTiming(cmr.Timing{RequestedOn: day(2026, 11, 25), SwitchOn: day(2027, 7, 15)}, cmr.SectorVO, today); err == nil ||
		!strings.Contains(err.Error(), "requested_on: 2026-11-25 lies after today (2026-11-24): give the day the school asked") {
		t.Errorf("a request after today: %v", err)
	}
	_, err := casework.CheckTiming(cmr.Timing{RequestedOn: day(2021, 11, 23), SwitchOn: day(2062, 7, 15)}, cmr.SectorVO, today)
	var e *cmr.Error
	if !errors.As(err, &e) || e.Field != "requested_on" || !strings.Contains(err.Error(), "switch_on: 2062-07-15 lies more than 5 years from today: check the year") ||
		!strings.Contains(e.Text("nl"), "15-07-2062 ligt meer dan 5 jaar van vandaag") {
		t.Errorf("a year mistyped: %v", err)
	}
	// A request after today and a switch before it: both at once; a year
	// mistyped is not compared with the other dates.
	_, err = casework.CheckTiming(cmr.Timing{RequestedOn: day(2026, 12, 1), SwitchOn: day(2026, 11, 30), ListOpensOn: day(2062, 8, 1)}, cmr.SectorMBO, today)
	if !errors.As(err, &e) || len(cmr.Problems(err)) != 3 || !strings.Contains(err.Error(), "switch_on: 2026-11-30 lies before the request date 2026-12-01") ||
		!strings.Contains(err.Error(), "requested_on: 2026-12-01 lies after today") || !strings.Contains(err.Error(), "list_opens_on: 2062-08-01 lies more than 5 years") {
		t.Errorf("three dates at fault: %v", err)
	}
	_, err = casework.CheckTiming(cmr.Timing{RequestedOn: day(2062, 11, 1), SwitchOn: day(2027, 7, 15)}, cmr.SectorVO, today)
	if len(cmr.Problems(err)) != 1 {
		t.Errorf("a request in 2062 compared with the switch: %v", err)
	}
}

// TestOpenCaseNamesEveryProblem: the scenario, the dates and the LiKas are
// checked apart, and every one at fault is named in one refusal, not one
// per attempt; nothing is reserved or started.
func TestOpenCaseNamesEveryProblem(t *testing.T) {
	dir := &directory{}
	eng := &opener{}
	me := cmr.Actor{UserID: "u", OrganisationID: "dist", Role: cmr.RoleDistributor}
	set := casework.Settings{Calendar: cmr.DefaultCalendarConfig(), SLADays: 3, Today: time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)}
	req := casework.OpenRequest{School: "01AB", LiKas: []string{"lika", "nobody"},
		Scenario: cmr.Scenario{Sector: cmr.SectorVO, From: cmr.Endpoint{Quadrant: 7, IdP: "Magister"}, To: cmr.Endpoint{Quadrant: 1, IdP: "SOM"}},
		Timing:   cmr.Timing{RequestedOn: time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)}}
	_, err := casework.OpenCase(context.Background(), dir, eng, me, req, set)
	var e *cmr.Error
	if !errors.As(err, &e) || e.Kind != cmr.KindInvalid {
		t.Fatalf("refused as invalid input: %v", err)
	}
	problems, _ := e.Details["problems"].([]map[string]string)
	var fields []string
	for _, p := range problems {
		fields = append(fields, p["field"])
	}
	if want := []string{"from.quadrant", "switch_on", "requested_on", "likas[1]"}; !slices.Equal(fields, want) {
		t.Errorf("fields named: %q, want %q (%v)", fields, want, err)
	}
	if len(dir.openings) != 0 || len(eng.calls) != 0 {
		t.Errorf("a refused opening reserved %v, started %v", dir.openings, eng.calls)
	}
}
