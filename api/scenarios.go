package api

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/cmr-idp/cmr"
)

// endpointJSON is one side of a switch as the API takes it: VO sends
// quadrant and idp, MBO sends eck and kind.
type endpointJSON struct {
	Quadrant int    `json:"quadrant,omitempty"`
	IdP      string `json:"idp,omitempty"`
	ECK      *bool  `json:"eck,omitempty"`
	Kind     string `json:"kind,omitempty"`
}

type scenarioRequest struct {
	Sector      string        `json:"sector"`
	From        *endpointJSON `json:"from"`
	To          *endpointJSON `json:"to"`
	RequestedOn string        `json:"requested_on"`
	SwitchOn    string        `json:"switch_on"`
	ListOpensOn string        `json:"list_opens_on"`
}

func (e *endpointJSON) domain(sector cmr.Sector, side string) (cmr.Endpoint, error) {
	if e == nil {
		return cmr.Endpoint{}, cmr.FieldErrorf(side, "is required: where the school comes from and goes to").
			NL("is verplicht: waar de school vandaan komt en naartoe gaat")
	}
	if sector == cmr.SectorVO {
		if e.Quadrant == 0 {
			return cmr.Endpoint{}, cmr.FieldErrorf(side+".quadrant", "is required for VO: 1, 2, 3 or 4").
				NL("is verplicht voor VO: kies kwadrant 1, 2, 3 of 4")
		}
		return cmr.Endpoint{Quadrant: e.Quadrant, IdP: e.IdP}, nil
	}
	if e.ECK == nil {
		return cmr.Endpoint{}, cmr.FieldErrorf(side+".eck", "is required for MBO: true when the school uses ECK iD, false for activation codes (NON-ECK)").
			NL("is verplicht voor MBO: kies Ja als de school ECK iD gebruikt, Nee bij activeringscodes (NON-ECK)")
	}
	return cmr.Endpoint{ECK: *e.ECK, Kind: cmr.IdPKind(e.Kind)}, nil
}

func optionalDate(field, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	return cmr.ParseDate(field, s)
}

// parseScenario reads a scenario, refusing every field at fault at once
// (cmr.Together); the sides are read only for a known sector.
func parseScenario(sector string, from, to *endpointJSON) (cmr.Scenario, error) {
	sec, err := cmr.ParseSector(sector)
	if err != nil {
		return cmr.Scenario{}, err
	}
	f, errFrom := from.domain(sec, "from")
	t, errTo := to.domain(sec, "to")
	if err := cmr.Together(errFrom, errTo); err != nil {
		return cmr.Scenario{}, err
	}
	return cmr.Scenario{Sector: sec, From: f, To: t}, nil
}

// parseTiming reads the dates of a request, refusing every one at fault
// at once.
func parseTiming(requested, switchOn, listOpens string) (cmr.Timing, error) {
	var t cmr.Timing
	var errs [3]error
	t.RequestedOn, errs[0] = optionalDate("requested_on", requested)
	t.SwitchOn, errs[1] = optionalDate("switch_on", switchOn)
	t.ListOpensOn, errs[2] = optionalDate("list_opens_on", listOpens)
	return t, cmr.Together(errs[:]...)
}

func checkJSON(c cmr.ScenarioCheck) map[string]any {
	m := map[string]any{
		"outcome":    c.Outcome,
		"was_wordt":  c.WasWordt,
		"reasons":    c.Reasons,
		"reasons_nl": c.ReasonsNL,
		"warnings":   nonNil(c.Warnings),
		"mid_year":   c.MidYear,
	}
	if c.Funding != "" {
		m["funding"] = c.Funding
	}
	if c.Described != 0 {
		m["described_scenario"] = c.Described
	}
	if !c.Deadline.IsZero() {
		m["deadline"] = c.Deadline.Format(cmr.DateLayout)
	}
	return m
}

func nonNil[T any](xs []T) []T {
	if xs == nil {
		return []T{}
	}
	return xs
}

// checkScenario handles POST /api/v1/scenarios/check.
func (s *Server) checkScenario(c echo.Context) error {
	var req scenarioRequest
	if err := bind(c, &req); err != nil {
		return err
	}
	sc, errScenario := parseScenario(req.Sector, req.From, req.To)
	t, errTiming := parseTiming(req.RequestedOn, req.SwitchOn, req.ListOpensOn)
	if err := cmr.Together(errScenario, errTiming); err != nil {
		return err
	}
	res, err := cmr.CheckScenario(sc, t)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, checkJSON(res))
}
