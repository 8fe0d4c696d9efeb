package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"text/tabwriter"
	"time"

	"go.temporal.io/sdk/worker"

	"github.com/cmr-idp/cmr"
	"github.com/cmr-idp/cmr/activities"
	"github.com/cmr-idp/cmr/aesgcm"
	"github.com/cmr-idp/cmr/gormdb"
	"github.com/cmr-idp/cmr/metrics"
	"github.com/cmr-idp/cmr/smtpmail"
	"github.com/cmr-idp/cmr/temporalserver"
)

// demo is the cast of `cmr dev`: one organisation of every kind and one
// user each (fictional names and addresses).
var demoOrganisations = []struct {
	org   cmr.Organisation
	email string
	name  string
}{
	{cmr.Organisation{ID: "lyceum-de-linde", Name: "Lyceum De Linde", Role: cmr.RoleSchool, BRIN: "01AB", Sector: cmr.SectorVO}, "ict@lyceum-de-linde.example", "ICT-coördinator De Linde"},
	{cmr.Organisation{ID: "roc-rivierland", Name: "ROC Rivierland", Role: cmr.RoleSchool, BRIN: "02CD", Sector: cmr.SectorMBO}, "ict@roc-rivierland.example", "ICT-coördinator Rivierland"},
	{cmr.Organisation{ID: "distri-noord", Name: "Distri Noord", Role: cmr.RoleDistributor}, "support@distri-noord.example", "Supportdesk Distri Noord"},
	{cmr.Organisation{ID: "boekhuis-zuid", Name: "Boekhuis Zuid", Role: cmr.RoleDistributor}, "support@boekhuis-zuid.example", "Supportdesk Boekhuis Zuid"},
	{cmr.Organisation{ID: "uitgeverij-alfa", Name: "Uitgeverij Alfa (LiKa)", Role: cmr.RolePublisher}, "lika@uitgeverij-alfa.example", "Licentiekantoor Alfa"},
	{cmr.Organisation{ID: "uitgeverij-beta", Name: "Uitgeverij Beta (LiKa)", Role: cmr.RolePublisher}, "lika@uitgeverij-beta.example", "Licentiekantoor Beta"},
	{cmr.Organisation{ID: "uitgeverij-gamma", Name: "Uitgeverij Gamma (LiKa)", Role: cmr.RolePublisher}, "lika@uitgeverij-gamma.example", "Licentiekantoor Gamma"},
	{cmr.Organisation{ID: "kennisnet", Name: "Kennisnet Support", Role: cmr.RoleKennisnet}, "support@kennisnet.example", "Kennisnet Support"},
}

// runDev runs everything in one process: an embedded Temporal server and
// SQLite database in the data dir, the worker and the HTTP server.
func runDev(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	start := time.Now()
	fs := flag.NewFlagSet("dev", flag.ContinueOnError)
	dataDir := fs.String("data", envOr("CMR_DATA_DIR", ".cmr"), "where the embedded Temporal server and database keep their state")
	addr := fs.String("addr", envOr("CMR_ADDR", "127.0.0.1:8080"), "listen address (port 0: any free port)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	devGC()
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	cal, err := calendarConfig()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(*dataDir, 0o700); err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	l, url, err := listen(*addr)
	if err != nil {
		return err
	}

	ts, err := temporalserver.Start(temporalserver.Config{Dir: filepath.Join(*dataDir, "temporal"), LogFile: filepath.Join(*dataDir, "temporal.log")})
	if err != nil {
		return fmt.Errorf("embedded Temporal server: %w", err)
	}
	defer ts.Stop()

	store, err := gormdb.OpenSQLite(filepath.Join(*dataDir, "cmr.db"), gormdb.LogTo(logger))
	if err != nil {
		return err
	}
	defer store.Close()
	if err := store.Migrate(ctx); err != nil {
		return err
	}
	master, err := aesgcm.LoadOrCreateKeyFile(filepath.Join(*dataDir, "master.key"))
	if err != nil {
		return err
	}
	keys, err := aesgcm.NewKeyring(master)
	if err != nil {
		return err
	}
	keep, err := retention()
	if err != nil {
		return err
	}
	go purgeLists(ctx, store, keep, time.Hour, logger)
	tokens, err := seedDemo(ctx, store, filepath.Join(*dataDir, "dev-tokens.json"))
	if err != nil {
		return err
	}

	m := metrics.New(store, logger)
	defer m.Close()
	c, err := dialTemporal(ctx, ts.HostPort(), "default", logger, m)
	if err != nil {
		return err
	}
	defer c.Close()
	mail, err := mailer()
	if err != nil {
		return err
	}
	anytime, err := notifyAnytime()
	if err != nil {
		return err
	}
	mailDir := filepath.Join(*dataDir, "mail")
	if mail == nil {
		// No mail server in dev: messages are written as .eml files.
		mail = &smtpmail.Dir{Path: mailDir, From: "CMR dev <cmr@localhost>"}
	}
	// After a restart the server still routes cached workflows to the
	// previous process's sticky queue until this timeout: keep it short,
	// since in dev there is only ever one worker.
	w, err := startWorker(c, store, worker.Options{StickyScheduleToStartTimeout: time.Second},
		notifications{mail: mail, publicURL: envOr("CMR_PUBLIC_URL", url), metrics: m, calendar: cal, anytime: anytime, loopbackWebhooks: true})
	if err != nil {
		return err
	}
	defer w.Stop()

	signIn, err := signInConfig(url)
	if err != nil {
		return err
	}
	router, err := newRouter(store, c, cal, keys, logger, true, signIn,
		operations{metrics: m, metricsToken: os.Getenv("CMR_METRICS_TOKEN"), searchable: searchable(ctx, c, "default", logger)})
	if err != nil {
		return err
	}
	if err := startProfiling(ctx, stdout, logger); err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 2, 2, ' ', 0)
	fmt.Fprintln(tw, "ROLE\tORGANISATION\tUSER\tAPI TOKEN")
	for _, d := range demoOrganisations {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", d.org.Role, d.org.ID, d.email, tokens[d.email])
	}
	tw.Flush()
	fmt.Fprintf(stdout, "\nData in %s (Temporal %s). Stop with Ctrl-C; start again to carry on.\n", *dataDir, ts.HostPort())
	fmt.Fprintf(stdout, "Sign in at %s/login (pick a demo user). Notification e-mails: %s\n", url, mailShown(mail, mailDir))
	fmt.Fprintf(stdout, "CMR ready at %s (API %s/api/v1) in %.1fs\n", url, url, time.Since(start).Seconds())
	return serveHTTP(ctx, l, router)
}

func mailShown(m activities.Mailer, dir string) string {
	if _, ok := m.(*smtpmail.Dir); ok {
		return dir + " (.eml files)"
	}
	return "sent through " + os.Getenv("CMR_SMTP_HOST")
}

// devGCPercent is the garbage collector's target in `cmr dev` unless GOGC
// is set. The process carries the embedded Temporal server's heap beside
// the product's, and the collector's default lets the heap grow to twice
// what is live: after 20-40 uploads of a 50,000-row list the peak
// resident memory was 293-306 MB, at 75 it is 280-286 MB, for uploads a
// few milliseconds slower (README, performance).
const devGCPercent = 75

// devGC sets the collector's target for `cmr dev`, unless GOGC chose one.
func devGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(devGCPercent)
	}
}

// seedDemo creates the demo organisations and users, and an API token for
// each that survives restarts (kept in the data dir: development only).
func seedDemo(ctx context.Context, store *gormdb.Store, tokenFile string) (map[string]string, error) {
	tokens := map[string]string{}
	if b, err := os.ReadFile(tokenFile); err == nil {
		_ = json.Unmarshal(b, &tokens)
	}
	for _, d := range demoOrganisations {
		if err := store.UpsertOrganisation(ctx, d.org); err != nil {
			return nil, err
		}
		u, err := store.UpsertUser(ctx, cmr.User{OrganisationID: d.org.ID, Email: d.email, Name: d.name})
		if err != nil {
			return nil, err
		}
		// Each demo user administers its organisation, so that the admin
		// page (people, sign-in, API tokens) can be tried.
		first, last, _ := strings.Cut(d.name, " ")
		if err := store.SetPerson(ctx, cmr.Person{UserID: u.ID, FirstName: first, LastName: last}); err != nil {
			return nil, err
		}
		if err := store.SetAdmin(ctx, u.ID, true); err != nil {
			return nil, err
		}
		if tok, ok := tokens[d.email]; ok {
			if got, err := store.Authenticate(ctx, tok); err == nil && got.ID == u.ID {
				continue
			}
		}
		tok, err := store.CreateToken(ctx, u.ID)
		if err != nil {
			return nil, err
		}
		tokens[d.email] = tok
	}
	b, _ := json.MarshalIndent(tokens, "", "  ")
	if err := os.WriteFile(tokenFile, b, 0o600); err != nil {
		return nil, fmt.Errorf("save dev tokens: %w", err)
	}
	return tokens, nil
}
