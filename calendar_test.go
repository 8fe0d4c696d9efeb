package cmr

import (
	"testing"
	"time"
)

func ams(t *testing.T, s string) time.Time {
	t.Helper()
	loc, err := time.LoadLocation("Europe/Amsterdam")
	if err != nil {
		t.Fatal(err)
	}
	v, err := time.ParseInLocation("2006-01-02 15:04", s, loc)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestCalendarDue(t *testing.T) {
	c := MustCalendar(DefaultCalendarConfig())
	tests := []struct {
		name, start, want string
	}{
		{"plain week", "2026-11-16 10:00", "2026-11-19 17:00"},
		{"notification day never counts, even early", "2026-11-16 06:00", "2026-11-19 17:00"},
		{"notified after hours", "2026-11-16 22:00", "2026-11-19 17:00"},
		{"over a weekend", "2026-11-19 10:00", "2026-11-24 17:00"},
		{"notified on Saturday", "2026-11-21 10:00", "2026-11-25 17:00"},
		{"King's Day 2026 (Monday 27 April)", "2026-04-24 10:00", "2026-04-30 17:00"},
		{"King's Day on Sunday moves to Saturday (2025)", "2025-04-25 10:00", "2025-04-30 17:00"},
		{"Good Friday works, Easter Monday does not (2026)", "2026-04-02 10:00", "2026-04-08 17:00"},
		{"Ascension Day 2026 (14 May)", "2026-05-13 10:00", "2026-05-19 17:00"},
		{"Whit Monday 2026 (25 May)", "2026-05-22 10:00", "2026-05-28 17:00"},
		{"Christmas 2026", "2026-12-23 10:00", "2026-12-29 17:00"},
		{"New Year 2027", "2026-12-30 10:00", "2027-01-05 17:00"},
		{"5 May 2026 is a working day (no lustrum)", "2026-05-04 10:00", "2026-05-07 17:00"},
		{"5 May 2025 is off (lustrum)", "2025-05-02 10:00", "2025-05-08 17:00"},
		{"over the switch to winter time", "2026-10-23 10:00", "2026-10-28 17:00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := c.Due(ams(t, tt.start), 3)
			if want := ams(t, tt.want); !got.Equal(want) {
				t.Errorf("Due(%s, 3) = %s, want %s", tt.start, got.Format(time.RFC3339), want.Format(time.RFC3339))
			}
		})
	}
}

func TestCalendarLiberationDaySetting(t *testing.T) {
	start := "2026-05-04 10:00"
	for rule, want := range map[LiberationDay]string{
		LiberationEveryYear: "2026-05-08 17:00",
		LiberationLustrum:   "2026-05-07 17:00",
		LiberationNever:     "2026-05-07 17:00",
	} {
		cfg := DefaultCalendarConfig()
		cfg.LiberationDay = rule
		if got := MustCalendar(cfg).Due(ams(t, start), 3); !got.Equal(ams(t, want)) {
			t.Errorf("%s: got %s, want %s", rule, got, want)
		}
	}
	gf := DefaultCalendarConfig()
	gf.GoodFridayOff = true
	if got := MustCalendar(gf).Due(ams(t, "2026-04-02 10:00"), 3); !got.Equal(ams(t, "2026-04-09 17:00")) {
		t.Errorf("Good Friday off: due %s", got)
	}
	cfg := DefaultCalendarConfig()
	cfg.LiberationDay = LiberationNever
	if got := MustCalendar(cfg).Due(ams(t, "2025-05-02 10:00"), 3); !got.Equal(ams(t, "2025-05-07 17:00")) {
		t.Errorf("never: 5 May 2025 counted as a holiday: due %s", got)
	}
	if _, err := NewCalendar(CalendarConfig{LiberationDay: "sometimes", EndOfDay: time.Hour, Zone: "Europe/Amsterdam"}); KindOf(err) != KindInvalid {
		t.Errorf("bad rule accepted: %v", err)
	}
}

func TestCalendarWorkingDays(t *testing.T) {
	c := MustCalendar(DefaultCalendarConfig())
	for day, want := range map[string]bool{
		"2026-04-27 12:00": false, // King's Day
		"2026-04-28 12:00": true,
		"2026-05-14 12:00": false, // Ascension
		"2026-05-25 12:00": false, // Whit Monday
		"2026-12-25 12:00": false,
		"2026-12-26 12:00": false,
		"2026-11-21 12:00": false, // Saturday
		"2026-11-23 12:00": true,
	} {
		if got := c.IsWorkingDay(ams(t, day)); got != want {
			t.Errorf("IsWorkingDay(%s) = %v, want %v", day, got, want)
		}
	}
	due := ams(t, "2026-11-19 17:00")
	for now, want := range map[string]int{
		"2026-11-16 10:00": 3,
		"2026-11-17 10:00": 2,
		"2026-11-18 18:00": 1,
		"2026-11-19 09:00": 0,
		"2026-11-19 17:30": -1,
		"2026-11-23 10:00": -2,
	} {
		if got := c.WorkingDaysLeft(ams(t, now), due); got != want {
			t.Errorf("WorkingDaysLeft(%s) = %d, want %d", now, got, want)
		}
	}
}
