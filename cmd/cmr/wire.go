package main

import (
	"context"
	"crypto/subtle"
	"debug/elf"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"

	"github.com/cmr-idp/cmr"
	"github.com/cmr-idp/cmr/activities"
	"github.com/cmr-idp/cmr/aesgcm"
	"github.com/cmr-idp/cmr/api"
	"github.com/cmr-idp/cmr/gormdb"
	"github.com/cmr-idp/cmr/metrics"
	"github.com/cmr-idp/cmr/smtpmail"
	"github.com/cmr-idp/cmr/web"
	"github.com/cmr-idp/cmr/webhook"
	"github.com/cmr-idp/cmr/workflows"
)

// openStore opens the database the environment names: CMR_SQLITE, or
// DATABASE_URL (PostgreSQL). The store logs its background trouble to
// logger (nil: nowhere).
func openStore(logger *slog.Logger) (*gormdb.Store, error) {
	if path := os.Getenv("CMR_SQLITE"); path != "" {
		return gormdb.OpenSQLite(path, gormdb.LogTo(logger))
	}
	dsn := os.Getenv("DATABASE_URL")
	if dsn == "" {
		return nil, errors.New("set DATABASE_URL (postgres://…) or CMR_SQLITE (a SQLite file; `cmr dev` keeps one in its data dir)")
	}
	return gormdb.OpenPostgres(dsn)
}

func calendarConfig() (cmr.CalendarConfig, error) {
	cfg := cmr.DefaultCalendarConfig()
	if v := os.Getenv("CMR_LIBERATION_DAY"); v != "" {
		cfg.LiberationDay = cmr.LiberationDay(v)
	}
	if v := os.Getenv("CMR_GOOD_FRIDAY_OFF"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return cfg, fmt.Errorf("CMR_GOOD_FRIDAY_OFF: want true or false, got %q", v)
		}
		cfg.GoodFridayOff = b
	}
	if v := os.Getenv("CMR_END_OF_DAY"); v != "" {
		t, err := time.Parse("15:04", v)
		if err != nil {
			return cfg, fmt.Errorf("CMR_END_OF_DAY: want HH:MM, got %q", v)
		}
		cfg.EndOfDay = time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute
	}
	if _, err := cmr.NewCalendar(cfg); err != nil {
		return cfg, fmt.Errorf("calendar settings: %w", err)
	}
	return cfg, nil
}

func dialTemporal(ctx context.Context, hostPort, namespace string, logger *slog.Logger, m *metrics.Metrics) (client.Client, error) {
	if namespace == "" {
		namespace = "default"
	}
	var c client.Client
	var err error
	// The server may still be starting (docker compose): retry for a while.
	for attempt := 0; attempt < 60; attempt++ {
		c, err = client.Dial(client.Options{HostPort: hostPort, Namespace: namespace, Logger: tlog.NewStructuredLogger(logger), MetricsHandler: m.Temporal()})
		if err == nil {
			return c, nil
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(time.Second):
		}
	}
	return nil, fmt.Errorf("connect to Temporal at %s: %w", hostPort, err)
}

// searchable registers the case search attributes; where the cluster
// refuses (no operator rights), cases run without them.
func searchable(ctx context.Context, c client.Client, namespace string, logger *slog.Logger) bool {
	if namespace == "" {
		namespace = "default"
	}
	if err := workflows.RegisterSearchAttributes(ctx, c, namespace); err != nil {
		logger.Warn("Temporal search attributes not registered: cases will not be searchable by case ID, BRIN or status in the Temporal UI; register CmrCaseId, CmrSchoolBrin and CmrCaseStatus (Keyword) once with operator rights", "error", err)
		return false
	}
	return true
}

// notifications are the worker's channels: e-mail (nil: none) and
// webhooks, and the site address messages link to.
type notifications struct {
	mail      activities.Mailer
	publicURL string
	metrics   *metrics.Metrics
	calendar  cmr.CalendarConfig
	anytime   bool
	// loopbackWebhooks lets webhooks go to this machine (cmr dev).
	loopbackWebhooks bool
}

// mailer reads CMR_SMTP_HOST, _PORT, _USERNAME, _PASSWORD, _FROM and _TLS;
// without a host there is no e-mail (nil).
func mailer() (activities.Mailer, error) {
	host := os.Getenv("CMR_SMTP_HOST")
	if host == "" {
		return nil, nil
	}
	port := 0
	if v := os.Getenv("CMR_SMTP_PORT"); v != "" {
		p, err := strconv.Atoi(v)
		if err != nil || p <= 0 || p > 65535 {
			return nil, fmt.Errorf("CMR_SMTP_PORT: want a port number, got %q", v)
		}
		port = p
	}
	return smtpmail.New(smtpmail.Config{Host: host, Port: port, Username: os.Getenv("CMR_SMTP_USERNAME"), Password: os.Getenv("CMR_SMTP_PASSWORD"),
		From: envOr("CMR_SMTP_FROM", "CMR <noreply@"+host+">"), TLS: os.Getenv("CMR_SMTP_TLS")})
}

// notifyAnytime reads CMR_NOTIFY_ANYTIME: true sends notices at once,
// also outside working hours.
func notifyAnytime() (bool, error) {
	v := os.Getenv("CMR_NOTIFY_ANYTIME")
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, fmt.Errorf("CMR_NOTIFY_ANYTIME: want true or false, got %q", v)
	}
	return b, nil
}

// workerStopTimeout is how long a stopping worker lets its running
// activities finish. Without it they are cancelled at once and their
// results never reach the server, so each stalls until its start-to-close
// timeout (30 s) before it is retried: after a restart a case answers late
// (a projection write, a ticket's notice), and an update waiting on one
// times out. Well within the usual 30 s a process is given to stop.
const workerStopTimeout = 10 * time.Second

func startWorker(c client.Client, store *gormdb.Store, opts worker.Options, n notifications) (worker.Worker, error) {
	if opts.WorkerStopTimeout == 0 {
		opts.WorkerStopTimeout = workerStopTimeout
	}
	w := worker.New(c, workflows.TaskQueue, opts)
	w.RegisterWorkflow(workflows.CaseWorkflow)
	w.RegisterWorkflow(workflows.TicketWorkflow)
	w.RegisterWorkflow(workflows.NotifyWorkflow)
	w.RegisterWorkflow(workflows.NoticesWorkflow)
	acts := &activities.Activities{Store: store, Announcer: &workflows.Announcer{Client: c, Calendar: n.calendar, Anytime: n.anytime},
		Notices: store, Webhooks: &webhook.Client{AllowLoopback: n.loopbackWebhooks}, PublicURL: n.publicURL, Calendar: n.calendar}
	if n.mail != nil {
		acts.Mail = n.mail
	}
	if n.metrics != nil {
		acts.Counter = n.metrics
	}
	w.RegisterActivity(acts)
	if err := w.Start(); err != nil {
		return nil, fmt.Errorf("start worker: %w", err)
	}
	return w, nil
}

// nameBuild names this executable to the Temporal SDK by the Go build ID
// the linker wrote into it, before any worker starts (CMR's, or the
// embedded server's own): unnamed, the SDK names it by an MD5 of the
// whole executable, 220 MB read and 0.3 s of CPU at every start of `cmr
// dev`, `cmr worker` or `cmr temporal`. The server records the name with
// the workflow tasks the worker completes; the build ID's content part
// identifies the executable as exactly. Where there is none (not ELF),
// the SDK hashes as before.
func nameBuild() {
	exe, err := os.Executable()
	if err != nil {
		return
	}
	if id := goBuildID(exe); id != "" {
		worker.SetBinaryChecksum("cmr-" + id)
	}
}

// goBuildID is the content part of the Go build ID of the ELF executable
// exe (the last of its parts, as `go tool buildid` prints them), or "".
func goBuildID(exe string) string {
	f, err := elf.Open(exe)
	if err != nil {
		return ""
	}
	defer f.Close()
	sec := f.Section(".note.go.buildid")
	if sec == nil {
		return ""
	}
	note, err := sec.Data()
	if err != nil {
		return ""
	}
	return buildIDNote(note, f.ByteOrder)
}

// buildIDNote reads the content part of a Go build ID from its ELF note:
// name size 4, description size, type 4, the name "Go\0\0", then the
// description, the ID, as the go command writes it. Anything else is "",
// and so is an ID without the command's parts (one set with -ldflags
// -buildid, which many builds could share).
func buildIDNote(note []byte, order binary.ByteOrder) string {
	if len(note) < 16 || order.Uint32(note[0:4]) != 4 || order.Uint32(note[8:12]) != 4 || string(note[12:16]) != "Go\x00\x00" {
		return ""
	}
	size := order.Uint32(note[4:8])
	if size == 0 || uint64(size) > uint64(len(note)-16) {
		return ""
	}
	id := string(note[16 : 16+int(size)])
	i := strings.LastIndexByte(id, '/')
	if i < 0 || i == len(id)-1 {
		return ""
	}
	return id[i+1:]
}

// operations is what the operators' endpoints need: the metrics registry,
// the token Prometheus scrapes /metrics with (empty: open, for cmr dev on
// loopback only), and whether the case search attributes are registered.
type operations struct {
	metrics      *metrics.Metrics
	metricsToken string
	searchable   bool
}

// newRouter wires the API and the pages; devSignIn offers the demo users
// at /login (cmr dev only).
func newRouter(store *gormdb.Store, c client.Client, cal cmr.CalendarConfig, keys *aesgcm.Keyring, logger *slog.Logger, devSignIn bool, signIn signInSettings, ops operations) (*echo.Echo, error) {
	inFlight, err := requestCap("CMR_MAX_INFLIGHT", api.DefaultMaxInFlight)
	if err != nil {
		return nil, err
	}
	transitions, err := requestCap("CMR_MAX_TRANSITIONS", api.DefaultMaxTransitions)
	if err != nil {
		return nil, err
	}
	openings, err := requestCap("CMR_MAX_OPENINGS", api.DefaultMaxOpenings)
	if err != nil {
		return nil, err
	}
	srv := &api.Server{Store: store, Engine: &workflows.Engine{Client: c, Searchable: ops.searchable, Projection: store}, Calendar: cal, Logger: logger, Lists: store, Keyring: keys,
		MaxInFlight: inFlight, MaxTransitions: transitions, MaxOpenings: openings}
	e := api.NewRouter(srv)
	e.Use(ops.metrics.Middleware())
	e.GET("/metrics", echo.WrapHandler(ops.metrics.Handler()), metricsAuth(ops.metricsToken))
	if len(signIn.TrustedProxies) > 0 {
		opts := []echo.TrustOption{echo.TrustLoopback(false), echo.TrustLinkLocal(false), echo.TrustPrivateNet(false)}
		for _, n := range signIn.TrustedProxies {
			opts = append(opts, echo.TrustIPRange(n))
		}
		e.IPExtractor = echo.ExtractIPFromXFFHeader(opts...)
	}
	pages := &web.Server{Store: store, Sessions: store, Calendar: cal, DevSignIn: devSignIn, Engine: srv.Engine, Submissions: store, Guard: srv.StepPrecheck,
		Opener: srv.Engine, SLADays: srv.SLADays, Lists: srv, Admin: store, Logger: logger, Providers: signIn.Providers, PublicURL: signIn.PublicURL, Reports: store,
		Notices: store, AllowHTTPWebhooks: devSignIn, RequestTimeout: srv.RequestTimeout, UploadTimeout: srv.UploadTimeout,
		Redeliver: (&activities.Activities{Notices: store, Webhooks: &webhook.Client{AllowLoopback: devSignIn}, Calendar: cal, PublicURL: signIn.PublicURL}).Redeliver}
	if len(signIn.Providers) > 0 {
		pages.SignIn = store
	}
	if err := pages.Register(e); err != nil {
		return nil, fmt.Errorf("web pages: %w", err)
	}
	srv.Pages = pages.ErrorPage
	api.RegisterHealth(e, logger,
		api.Probe{Name: "database", Check: store.Ping},
		api.Probe{Name: "temporal", Check: func(ctx context.Context) error {
			_, err := c.CheckHealth(ctx, &client.CheckHealthRequest{})
			return err
		}})
	return e, nil
}

// metricsAuth asks for the scrape token when one is set; without one the
// metrics are open (cmr dev listens on loopback).
func metricsAuth(token string) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			got, _ := strings.CutPrefix(c.Request().Header.Get(echo.HeaderAuthorization), "Bearer ")
			if token != "" && subtle.ConstantTimeCompare([]byte(got), []byte(token)) != 1 {
				return echo.NewHTTPError(http.StatusNotFound)
			}
			return next(c)
		}
	}
}

// listen binds addr first, so that the printed address is the real one
// (port 0 picks a free port).
func listen(addr string) (net.Listener, string, error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, "", fmt.Errorf("listen on %s: %w", addr, err)
	}
	host := l.Addr().(*net.TCPAddr)
	shown := host.String()
	if host.IP.IsUnspecified() {
		shown = fmt.Sprintf("localhost:%d", host.Port)
	}
	return l, "http://" + shown, nil
}

// serveHTTP serves until ctx ends, then shuts down gracefully.
func serveHTTP(ctx context.Context, l net.Listener, h http.Handler) error {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 60 * time.Second, WriteTimeout: 90 * time.Second, IdleTimeout: 120 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(l) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return srv.Shutdown(sctx)
}

func envOr(key, def string) string {
	if v := strings.TrimSpace(os.Getenv(key)); v != "" {
		return v
	}
	return def
}

// masterKeyring reads CMR_MASTER_KEY (base64, 32 bytes).
func masterKeyring() (*aesgcm.Keyring, error) {
	v := os.Getenv("CMR_MASTER_KEY")
	if v == "" {
		return nil, errors.New("set CMR_MASTER_KEY to a base64 32-byte key (e.g. `openssl rand -base64 32`): was-wordt lists are encrypted with it")
	}
	k, err := aesgcm.ParseKey(v)
	if err != nil {
		return nil, fmt.Errorf("CMR_MASTER_KEY: %w", err)
	}
	return aesgcm.NewKeyring(k)
}

// retention is how long list data outlives its case: CMR_LIST_RETENTION_DAYS (default 30).
func retention() (time.Duration, error) {
	days := 30
	if v := os.Getenv("CMR_LIST_RETENTION_DAYS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("CMR_LIST_RETENTION_DAYS: want a number of days, got %q", v)
		}
		days = n
	}
	return time.Duration(days) * 24 * time.Hour, nil
}

// requestCap reads a cap on requests served at once from key:
// CMR_MAX_INFLIGHT for all of them (default api.DefaultMaxInFlight),
// CMR_MAX_TRANSITIONS for the workflow transitions among them (default
// api.DefaultMaxTransitions), CMR_MAX_OPENINGS for case openings (default
// api.DefaultMaxOpenings); beyond it the rest are answered 503. 0 turns the
// cap off, for a proxy that limits in front.
func requestCap(key string, def int) (int, error) {
	v := strings.TrimSpace(os.Getenv(key))
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%s: want a number of requests (0: no cap), got %q", key, v)
	}
	if n == 0 {
		return -1, nil
	}
	return n, nil
}

// purgeLists deletes, every interval, the lists and keys of cases closed
// longer ago than keep; each purge is an audit event of its case.
func purgeLists(ctx context.Context, store *gormdb.Store, keep, every time.Duration, logger *slog.Logger) {
	for {
		ids, err := store.PurgeLists(ctx, time.Now().Add(-keep))
		if err != nil {
			logger.Error("purge lists", "error", err)
		} else if len(ids) > 0 {
			logger.Info("purged lists", "cases", len(ids))
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(every):
		}
	}
}

// signInSettings are the identity providers people sign in with and the
// site's public address, which the providers send people back to.
type signInSettings struct {
	Providers []web.Provider
	PublicURL string
	// TrustedProxies may set X-Forwarded-For: the client address that
	// sign-in attempts are limited by comes from them only.
	TrustedProxies []*net.IPNet
}

// signInConfig reads CMR_OIDC_PROVIDERS (a JSON list, or @file holding
// one) and CMR_PUBLIC_URL; listenURL is the fallback address (cmr dev).
func signInConfig(listenURL string) (signInSettings, error) {
	set := signInSettings{PublicURL: strings.TrimRight(envOr("CMR_PUBLIC_URL", listenURL), "/")}
	for _, cidr := range strings.FieldsFunc(os.Getenv("CMR_TRUSTED_PROXIES"), func(r rune) bool { return r == ',' || r == ' ' }) {
		_, n, err := net.ParseCIDR(cidr)
		if err != nil {
			return set, fmt.Errorf("CMR_TRUSTED_PROXIES: %q is not an address range like 10.0.0.0/8", cidr)
		}
		set.TrustedProxies = append(set.TrustedProxies, n)
	}
	raw := strings.TrimSpace(os.Getenv("CMR_OIDC_PROVIDERS"))
	if raw == "" {
		return set, nil
	}
	if file, ok := strings.CutPrefix(raw, "@"); ok {
		b, err := os.ReadFile(file)
		if err != nil {
			return set, fmt.Errorf("CMR_OIDC_PROVIDERS: %w", err)
		}
		raw = string(b)
	}
	dec := json.NewDecoder(strings.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&set.Providers); err != nil {
		return set, fmt.Errorf("CMR_OIDC_PROVIDERS: want a JSON list of {name, issuer, client_id, client_secret, organisations}: %w", err)
	}
	seen := map[string]bool{}
	for i, p := range set.Providers {
		switch {
		case p.Name == "" || seen[p.Name]:
			return set, fmt.Errorf("CMR_OIDC_PROVIDERS[%d]: each provider needs its own name", i)
		case !strings.HasPrefix(p.Issuer, "https://") && !strings.HasPrefix(p.Issuer, "http://localhost") && !strings.HasPrefix(p.Issuer, "http://127.0.0.1"):
			return set, fmt.Errorf("CMR_OIDC_PROVIDERS[%d] (%s): the issuer must be an https:// address", i, p.Name)
		case p.ClientID == "" || len(p.Organisations) == 0:
			return set, fmt.Errorf("CMR_OIDC_PROVIDERS[%d] (%s): client_id and at least one organisation are required", i, p.Name)
		}
		seen[p.Name] = true
	}
	if set.PublicURL == "" {
		return set, errors.New("CMR_PUBLIC_URL is required with CMR_OIDC_PROVIDERS: the address people reach this site at, e.g. https://cmr.example.nl")
	}
	return set, nil
}
