package cmr

import (
	"fmt"
	"time"

	"github.com/rickar/cal/v2"
	"github.com/rickar/cal/v2/nl"
)

// LiberationDay says when 5 May (Bevrijdingsdag) is a day off: it is a
// national holiday every year, but most collective agreements give it off
// only in lustrum years (2025, 2030, ...).
type LiberationDay string

// Liberation-day rules.
const (
	LiberationEveryYear LiberationDay = "every_year"
	LiberationLustrum   LiberationDay = "lustrum"
	LiberationNever     LiberationDay = "never"
)

// CalendarConfig configures the working-day calendar. Its zero value is not
// valid; start from DefaultCalendarConfig.
type CalendarConfig struct {
	LiberationDay LiberationDay `json:"liberation_day"`
	// EndOfDay is when a working day ends, as an offset from midnight.
	EndOfDay time.Duration `json:"end_of_day"`
	// Zone is the IANA zone the calendar lives in.
	Zone string `json:"zone"`
	// GoodFridayOff makes Good Friday a day off. The Algemene termijnenwet
	// does not count it as a holiday, so by default it is a working day.
	GoodFridayOff bool `json:"good_friday_off,omitempty"`
}

// DefaultCalendarConfig: 17:00 Europe/Amsterdam, 5 May off in lustrum years.
func DefaultCalendarConfig() CalendarConfig {
	return CalendarConfig{LiberationDay: LiberationLustrum, EndOfDay: 17 * time.Hour, Zone: "Europe/Amsterdam"}
}

// Today is the civil date (00:00 UTC) of now in the calendar's zone, as
// dates people give are compared with it; UTC if the zone is unknown.
func (cfg CalendarConfig) Today(now time.Time) time.Time {
	if loc, err := time.LoadLocation(cfg.Zone); err == nil {
		now = now.In(loc)
	}
	return civilDate(now)
}

// Calendar is the Dutch working-day calendar: weekends and the national
// holidays from github.com/rickar/cal/v2/nl are not working days (5 May
// and Good Friday as configured).
type Calendar struct {
	cal      *cal.BusinessCalendar
	loc      *time.Location
	endOfDay time.Duration
}

// NewCalendar builds a calendar from cfg.
func NewCalendar(cfg CalendarConfig) (*Calendar, error) {
	loc, err := time.LoadLocation(cfg.Zone)
	if err != nil {
		return nil, FieldErrorf("zone", "unknown time zone %q", cfg.Zone).NL("onbekende tijdzone %q", cfg.Zone)
	}
	if cfg.EndOfDay <= 0 || cfg.EndOfDay > 24*time.Hour {
		return nil, FieldErrorf("end_of_day", "must be a time of day between 00:00 and 24:00").
			NL("moet een tijdstip tussen 00:00 en 24:00 zijn")
	}
	bc := cal.NewBusinessCalendar()
	for _, h := range nl.Holidays {
		if h == nl.BevrijdingsDag || (h == nl.GoedeVrijdag && !cfg.GoodFridayOff) {
			continue
		}
		bc.AddHoliday(h)
	}
	switch cfg.LiberationDay {
	case LiberationEveryYear:
		bc.AddHoliday(nl.BevrijdingsDag)
	case LiberationLustrum:
		// Holiday.Clone does not override Func, so build the holiday here.
		bc.AddHoliday(&cal.Holiday{Name: nl.BevrijdingsDag.Name, Type: nl.BevrijdingsDag.Type, Month: time.May, Day: 5,
			Func: func(h *cal.Holiday, year int) time.Time {
				if year%5 != 0 {
					return time.Time{}
				}
				return cal.CalcDayOfMonth(h, year)
			}})
	case LiberationNever:
	default:
		return nil, FieldErrorf("liberation_day", "must be every_year, lustrum or never, got %q", cfg.LiberationDay).
			NL("moet every_year (elk jaar), lustrum (eens per vijf jaar) of never (nooit) zijn, niet %q", cfg.LiberationDay)
	}
	return &Calendar{cal: bc, loc: loc, endOfDay: cfg.EndOfDay}, nil
}

// MustCalendar is NewCalendar for configurations known to be valid.
func MustCalendar(cfg CalendarConfig) *Calendar {
	c, err := NewCalendar(cfg)
	if err != nil {
		panic(fmt.Sprintf("calendar: %v", err))
	}
	return c
}

// Location is the calendar's time zone.
func (c *Calendar) Location() *time.Location { return c.loc }

// IsWorkingDay reports whether the day of t (in the calendar's zone) is a
// working day.
func (c *Calendar) IsWorkingDay(t time.Time) bool {
	t = t.In(c.loc)
	return c.cal.IsWorkday(time.Date(t.Year(), t.Month(), t.Day(), 12, 0, 0, 0, c.loc))
}

// AddWorkingDays returns the n-th working day after the day of t, at the
// same clock time. The day of t itself never counts.
func (c *Calendar) AddWorkingDays(t time.Time, n int) time.Time {
	t = t.In(c.loc)
	d := time.Date(t.Year(), t.Month(), t.Day(), 12, 0, 0, 0, c.loc)
	for n > 0 {
		d = d.AddDate(0, 0, 1)
		if c.cal.IsWorkday(d) {
			n--
		}
	}
	return time.Date(d.Year(), d.Month(), d.Day(), t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), c.loc)
}

// EndOfWorkingDay returns the end (e.g. 17:00) of the day of t.
func (c *Calendar) EndOfWorkingDay(t time.Time) time.Time {
	t = t.In(c.loc)
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, c.loc).Add(c.endOfDay)
}

// Due returns the SLA due moment for a clock started at start: the end of
// the n-th working day after the day the clock starts. The start day never
// counts, even when the clock starts early on a working day.
func (c *Calendar) Due(start time.Time, n int) time.Time {
	return c.EndOfWorkingDay(c.AddWorkingDays(start, n))
}

// WorkingDaysLeft counts the working days from now until due, the day of
// due included and today excluded; 0 when due is today, negative when
// overdue (the number of working days late, at least -1).
func (c *Calendar) WorkingDaysLeft(now, due time.Time) int {
	if now.After(due) {
		late := 0
		for d := c.EndOfWorkingDay(due); d.Before(now); d = c.AddWorkingDays(d, 1) {
			late++
		}
		if late == 0 {
			late = 1
		}
		return -late
	}
	left := 0
	for d := c.EndOfWorkingDay(now); c.EndOfWorkingDay(d).Before(c.EndOfWorkingDay(due)); d = c.AddWorkingDays(d, 1) {
		left++
	}
	return left
}
