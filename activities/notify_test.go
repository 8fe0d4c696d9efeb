package activities_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	smtpmock "github.com/mocktools/go-smtp-mock/v2"
	"go.temporal.io/sdk/temporal"

	"github.com/cmr-idp/cmr"
	"github.com/cmr-idp/cmr/activities"
	"github.com/cmr-idp/cmr/gormdb"
	"github.com/cmr-idp/cmr/gormdb/gormdbtest"
	"github.com/cmr-idp/cmr/smtpmail"
	"github.com/cmr-idp/cmr/webhook"
)

// receiver is a party's system: it verifies every delivery's signature.
type receiver struct {
	mu       sync.Mutex
	bodies   []map[string]any
	bad      []error
	failNext int
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	defer r.mu.Unlock()
	b, _ := io.ReadAll(req.Body)
	if err := webhook.Verify("s3cret", req.Header.Get(webhook.HeaderSignature), b, time.Now(), webhook.DefaultWindow); err != nil {
		r.bad = append(r.bad, err)
	}
	if r.failNext > 0 {
		r.failNext--
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	r.bodies = append(r.bodies, m)
}

// TestNoticesEndToEndInTheStore: a completed case notifies the people of
// every party who want it and the school's webhook; a delivery repeated
// (a retry whose result was lost, a restarted worker) sends nothing twice;
// a failing receiver is recorded and retried; nothing personal leaves.
func TestNoticesEndToEndInTheStore(t *testing.T) {
	gormdbtest.Each(t, func(t *testing.T, s *gormdb.Store) {
		ctx := context.Background()
		for _, o := range []cmr.Organisation{
			{ID: "school", Name: "Het Lyceum", Role: cmr.RoleSchool, BRIN: "00AA", Sector: cmr.SectorVO},
			{ID: "dist", Name: "Distributeur", Role: cmr.RoleDistributor},
			{ID: "lika1", Name: "Uitgever 1", Role: cmr.RolePublisher},
			{ID: "kn", Name: "Kennisnet", Role: cmr.RoleKennisnet},
		} {
			if err := s.UpsertOrganisation(ctx, o); err != nil {
				t.Fatal(err)
			}
		}
		people := map[string]cmr.User{}
		for _, u := range []cmr.User{
			{OrganisationID: "school", Email: "ict@lyceum.example", Name: "Anna Jansen"},
			{OrganisationID: "school", Email: "muted@lyceum.example", Name: "Bert Muted"},
			{OrganisationID: "dist", Email: "support@dist.example", Name: "Carla Dist"},
			{OrganisationID: "lika1", Email: "lika@uitgever.example", Name: "Dirk Lika"},
		} {
			got, err := s.UpsertUser(ctx, u)
			if err != nil {
				t.Fatal(err)
			}
			people[u.Email] = got
		}
		if err := s.SetNoticePreferences(ctx, people["muted@lyceum.example"].ID, cmr.NoticePreferences{Email: true, Muted: []cmr.NoticeKind{cmr.NoticeCaseCompleted}}); err != nil {
			t.Fatal(err)
		}
		if err := s.SetNoticePreferences(ctx, people["lika@uitgever.example"].ID, cmr.NoticePreferences{Language: "en", Email: true}); err != nil {
			t.Fatal(err)
		}
		rcv := &receiver{failNext: 1}
		hook := httptest.NewServer(rcv)
		defer hook.Close()
		if err := s.SetWebhook(ctx, "school", hook.URL, "s3cret"); err != nil {
			t.Fatal(err)
		}

		parties := cmr.Parties{SchoolID: "school", DistributorID: "dist", LiKaIDs: []string{"lika1"}, KennisnetIDs: []string{"kn"}}
		plan := cmr.Procedure(cmr.PlanInput{Sector: cmr.SectorVO, Funding: cmr.FundingELF, Options: cmr.CaseOptions{KeepHistory: true}, WasWordt: cmr.WasWordtSuppliers})
		dist := cmr.Actor{UserID: people["support@dist.example"].ID, OrganisationID: "dist", Role: cmr.RoleDistributor}
		st := cmr.NewCaseState("00AA-20270715", cmr.SectorVO, parties, plan, dist, time.Now())
		st.Status = cmr.CaseCompleted
		h := cmr.CaseHeader{ID: st.CaseID, SchoolID: "school", DistributorID: "dist", Sector: cmr.SectorVO,
			SwitchOn: time.Date(2027, 7, 15, 0, 0, 0, 0, time.UTC), Deadline: time.Date(2027, 8, 1, 0, 0, 0, 0, time.UTC)}
		done := cmr.Event{Key: st.CaseID + "#9.1", CaseID: st.CaseID, Type: cmr.EventCaseCompleted, At: time.Now()}
		if err := s.SaveCase(ctx, h, *st, 1, "", []cmr.Event{done}); err != nil {
			t.Fatal(err)
		}

		smtp := smtpmock.New(smtpmock.ConfigurationAttr{MultipleMessageReceiving: true})
		if err := smtp.Start(); err != nil {
			t.Fatal(err)
		}
		defer smtp.Stop()
		mail, err := smtpmail.New(smtpmail.Config{Host: "127.0.0.1", Port: smtp.PortNumber(), From: "cmr@cmr.example", TLS: "none"})
		if err != nil {
			t.Fatal(err)
		}
		a := &activities.Activities{Notices: s, Mail: mail, Webhooks: &webhook.Client{AllowLoopback: true}, PublicURL: "https://cmr.example", Calendar: cmr.DefaultCalendarConfig()}

		planAll := func() activities.PlanNoticesResult {
			t.Helper()
			var all activities.PlanNoticesResult
			for _, ch := range []string{cmr.ChannelEmail, cmr.ChannelWebhook} {
				p, err := a.PlanNotices(ctx, activities.PlanNoticesInput{EventKey: done.Key, Channel: ch})
				if err != nil {
					t.Fatal(err)
				}
				all.Deliveries = append(all.Deliveries, p.Deliveries...)
			}
			return all
		}
		plan1 := planAll()
		var got []string
		for _, d := range plan1.Deliveries {
			got = append(got, d.Channel+":"+d.OrganisationID)
		}
		// Anna, Carla, Dirk by e-mail (Bert muted completions), the school's webhook.
		if strings.Join(got, " ") != "email:school email:dist email:lika1 webhook:school" {
			t.Fatalf("planned %v", got)
		}
		// Planning retried after the world moved on (here: Carla muted
		// completions): her never-attempted delivery is dropped, not left
		// pending for ever; planned again, it is back.
		carla := people["support@dist.example"].ID
		if err := s.SetNoticePreferences(ctx, carla, cmr.NoticePreferences{Email: true, Muted: []cmr.NoticeKind{cmr.NoticeCaseCompleted}}); err != nil {
			t.Fatal(err)
		}
		planAll()
		if log, _ := s.Deliveries(ctx, "dist", cmr.ChannelEmail, 10); len(log) != 0 {
			t.Fatalf("a delivery no longer planned is kept: %+v", log)
		}
		if err := s.SetNoticePreferences(ctx, carla, cmr.NoticePreferences{Email: true}); err != nil {
			t.Fatal(err)
		}
		if again := planAll(); len(again.Deliveries) != len(plan1.Deliveries) {
			t.Fatalf("planned again: %v", again)
		}
		if log, _ := s.Deliveries(ctx, "dist", cmr.ChannelEmail, 10); len(log) != 1 || log[0].State != cmr.DeliveryPending {
			t.Fatalf("delivery planned again: %+v", log)
		}
		for _, d := range plan1.Deliveries {
			if d.Channel == cmr.ChannelEmail {
				// The mail server is the service's own: a failure is an
				// error, not benign (no mailer here makes it fail).
				noMail := *a
				noMail.Mail = nil
				_, err := noMail.Deliver(ctx, activities.DeliverInput{Delivery: d})
				var ae *temporal.ApplicationError
				if err == nil || (errors.As(err, &ae) && ae.Category() == temporal.ApplicationErrorCategoryBenign) {
					t.Errorf("a failed e-mail: %#v", err)
				}
			}
			_, err := a.Deliver(ctx, activities.DeliverInput{Delivery: d})
			if d.Channel == cmr.ChannelWebhook {
				if err == nil {
					t.Fatal("the receiver answered 503: the delivery must fail, to be retried")
				}
				if strings.Contains(err.Error(), hook.URL) {
					t.Errorf("the error for Temporal names the receiver: %v", err)
				}
				// A receiver that is down is not the service's error: the
				// SDK retries it and logs it at debug, not as an error.
				var ae *temporal.ApplicationError
				if !errors.As(err, &ae) || ae.Category() != temporal.ApplicationErrorCategoryBenign || ae.NonRetryable() {
					t.Errorf("a failed attempt is not a benign, retryable error: %#v", err)
				}
				log, _ := s.Deliveries(ctx, "school", cmr.ChannelWebhook, 10)
				if len(log) != 1 || log[0].State != cmr.DeliveryPending || log[0].Attempts != 1 || log[0].LastStatus != 503 || log[0].LastError == "" {
					t.Fatalf("delivery log after a failed attempt: %+v", log)
				}
				_, err = a.Deliver(ctx, activities.DeliverInput{Delivery: d})
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		// Everything again, as after a lost result or a restarted worker.
		plan2 := planAll()
		if len(plan2.Deliveries) != len(plan1.Deliveries) {
			t.Fatalf("second plan: %v", plan2)
		}
		for _, d := range plan2.Deliveries {
			res, err := a.Deliver(ctx, activities.DeliverInput{Delivery: d})
			if err != nil || res.Sent {
				t.Errorf("delivery %s sent again: %+v %v", d.ID, res, err)
			}
		}

		var sent []string
		for _, m := range smtp.Messages() {
			if m.Msg() {
				sent = append(sent, m.MsgRequest())
			}
		}
		if len(sent) != 3 {
			t.Fatalf("want 3 mails, got %d", len(sent))
		}
		all := strings.Join(sent, "\n")
		for _, want := range []string{"Zaak 00AA-20270715 is afgerond", "Case 00AA-20270715 is completed", "https://cmr.example/cases/00AA-20270715"} {
			if !strings.Contains(all, want) {
				t.Errorf("mails lack %q", want)
			}
		}
		for _, name := range []string{"Anna", "Jansen", "Carla", "Dirk", "Bert"} {
			if strings.Contains(all, name) {
				t.Errorf("a mail names %s", name)
			}
		}
		if strings.Contains(all, "muted@lyceum.example") {
			t.Error("a muted kind was mailed")
		}
		if len(rcv.bad) > 0 || len(rcv.bodies) != 1 {
			t.Fatalf("webhook: %d accepted, bad signatures %v", len(rcv.bodies), rcv.bad)
		}
		body := rcv.bodies[0]
		if body["kind"] != "case_completed" || body["case"].(map[string]any)["id"] != st.CaseID || body["link"] != "https://cmr.example/cases/00AA-20270715" {
			t.Errorf("webhook body %v", body)
		}
		log, _ := s.Deliveries(ctx, "school", cmr.ChannelWebhook, 10)
		if len(log) != 1 || log[0].State != cmr.DeliverySent || log[0].Attempts != 2 || log[0].SentAt == nil {
			t.Errorf("delivery log: %+v", log)
		}
		if _, err := s.Delivery(ctx, "dist", log[0].ID); cmr.KindOf(err) != cmr.KindNotFound {
			t.Errorf("another organisation reads the school's delivery: %v", err)
		}

		// By hand, from the admin's delivery log: sent again and recorded.
		if err := a.Redeliver(ctx, log[0]); err != nil {
			t.Fatal(err)
		}
		log, _ = s.Deliveries(ctx, "school", cmr.ChannelWebhook, 10)
		if len(rcv.bodies) != 2 || log[0].Attempts != 3 {
			t.Errorf("redelivery: %d bodies, %+v", len(rcv.bodies), log[0])
		}
		// A notice about a step carries it again when sent again.
		about := log[0]
		about.Step = "14"
		if err := a.Redeliver(ctx, about); err != nil {
			t.Fatal(err)
		}
		if got := rcv.bodies[len(rcv.bodies)-1]["step"]; got != "14" {
			t.Errorf("redelivered without its step: %v", got)
		}
	})
}
