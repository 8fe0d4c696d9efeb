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
