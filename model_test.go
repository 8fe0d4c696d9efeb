package cmr_test

import (
	"testing"

	cmr "github.com/cmr-idp/cmr"
)

func TestEventVisibleTo(t *testing.T) {
	alfa := cmr.Actor{UserID: "u-alfa", OrganisationID: "alfa", Role: cmr.RolePublisher}
	beta := cmr.Actor{UserID: "u-beta", OrganisationID: "beta", Role: cmr.RolePublisher}
	school := cmr.Actor{UserID: "u-school", OrganisationID: "school", Role: cmr.RoleSchool}
	dist := cmr.Actor{UserID: "u-dist", OrganisationID: "dist", Role: cmr.RoleDistributor}
	own := map[string]bool{"T-alfa": true}
	for _, tc := range []struct {
		name string
		e    cmr.Event
		me   cmr.Actor
		want bool
	}{
		{"the distributor sees another publisher's ticket", cmr.Event{TicketID: "T-beta", Actor: &beta}, dist, true},
		{"the school sees a publisher's download", cmr.Event{Actor: &beta}, school, true},
		{"a LiKa sees its own ticket", cmr.Event{TicketID: "T-alfa", Actor: &dist}, alfa, true},
		{"a LiKa does not see another's ticket", cmr.Event{TicketID: "T-beta"}, alfa, false},
		{"a LiKa does not see another's ticket, even its own doing", cmr.Event{TicketID: "T-beta", Actor: &alfa}, alfa, false},
		{"a LiKa sees the case's steps", cmr.Event{Step: "11", Actor: &school}, alfa, true},
		{"a LiKa sees the system's events", cmr.Event{}, alfa, true},
		{"a LiKa sees what it did without a ticket", cmr.Event{Actor: &alfa}, alfa, true},
		{"a LiKa does not see what another publisher did without a ticket", cmr.Event{Actor: &beta}, alfa, false},
		{"a LiKa does not see the school's uploads of the list", cmr.Event{Type: cmr.EventListUploaded, Actor: &school}, alfa, false},
		{"a LiKa sees its own part uploaded", cmr.Event{Type: cmr.EventListUploaded, TicketID: "T-alfa", Actor: &alfa}, alfa, true},
		{"the distributor sees the school's uploads", cmr.Event{Type: cmr.EventListUploaded, Actor: &school}, dist, true},
		{"a LiKa does not see the school's downloads of the merged list", cmr.Event{Type: cmr.EventListDownloaded, Actor: &school}, alfa, false},
		{"a LiKa sees its own download from before downloads had a ticket", cmr.Event{Type: cmr.EventListDownloaded, Actor: &alfa}, alfa, true},
		{"the distributor sees the school's downloads", cmr.Event{Type: cmr.EventListDownloaded, Actor: &school}, dist, true},
	} {
		if got := tc.e.VisibleTo(tc.me, own); got != tc.want {
			t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestEventTitle: every event type of the audit trail has a Dutch and an
// English name; an unknown type is shown as it is.
func TestEventTitle(t *testing.T) {
	types := []string{cmr.EventCaseOpened, cmr.EventStepCompleted, cmr.EventTestFailed, cmr.EventCaseCompleted, cmr.EventCaseCancelled,
		cmr.EventTicketCreated, cmr.EventTicketClockStarted, cmr.EventTicketSLAWarning, cmr.EventTicketOverdue, cmr.EventTicketClosed,
		cmr.EventTicketWaived, cmr.EventTicketCancelled, cmr.EventListUploaded, cmr.EventListDownloaded, cmr.EventListsPurged, cmr.EventListReturned}
	seen := map[string]bool{}
	for _, typ := range types {
		nl, en := cmr.EventTitle(typ, "nl"), cmr.EventTitle(typ, "en")
		if nl == typ || en == typ || nl == en || seen[nl] || seen[en] {
			t.Errorf("%s: %q, %q", typ, nl, en)
		}
		seen[nl], seen[en] = true, true
	}
	if got := cmr.EventTitle("step.snoozed", "nl"); got != "step.snoozed" {
		t.Errorf("unknown type: %q", got)
	}
}
