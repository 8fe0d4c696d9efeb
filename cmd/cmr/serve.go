package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"

	"github.com/cmr-idp/cmr/gormdb"
	"github.com/cmr-idp/cmr/metrics"
)

// infra is what serve and worker share: the database and a Temporal
// client, from DATABASE_URL and TEMPORAL_ADDRESS.
type infra struct {
	logger  *slog.Logger
	store   *gormdb.Store
	client  client.Client
	metrics *metrics.Metrics
}

func connect(ctx context.Context, stderr io.Writer) (*infra, error) {
	logger := slog.New(slog.NewJSONHandler(stderr, nil))
	addr := os.Getenv("TEMPORAL_ADDRESS")
	if addr == "" {
		return nil, errors.New("set TEMPORAL_ADDRESS (host:7233), or use `cmr dev` for an embedded Temporal server")
	}
	store, err := openStore(logger)
	if err != nil {
		return nil, err
	}
	m := metrics.New(store, logger)
	c, err := dialTemporal(ctx, addr, os.Getenv("TEMPORAL_NAMESPACE"), logger, m)
	if err != nil {
		m.Close()
		store.Close()
		return nil, err
	}
	return &infra{logger: logger, store: store, client: c, metrics: m}, nil
}

func (in *infra) Close() {
	in.client.Close()
	in.metrics.Close()
	in.store.Close()
}

// runServe runs the API against a real Temporal cluster and PostgreSQL.
func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	addr := fs.String("addr", envOr("CMR_ADDR", ":8080"), "listen address")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cal, err := calendarConfig()
	if err != nil {
		return err
	}
	keys, err := masterKeyring()
	if err != nil {
		return err
	}
	in, err := connect(ctx, stderr)
	if err != nil {
		return err
	}
	defer in.Close()
	l, url, err := listen(*addr)
	if err != nil {
		return err
	}
	in.logger.Info("cmr serve listening", "url", url)
	fmt.Fprintln(stdout, "CMR API at "+url+"/api/v1")
	signIn, err := signInConfig("")
	if err != nil {
		return err
	}
	ops := operations{metrics: in.metrics, metricsToken: os.Getenv("CMR_METRICS_TOKEN"),
		searchable: searchable(ctx, in.client, os.Getenv("TEMPORAL_NAMESPACE"), in.logger)}
	if ops.metricsToken == "" {
		in.logger.Warn("CMR_METRICS_TOKEN is not set: /metrics answers anyone who reaches this address")
	}
	if err := startProfiling(ctx, stdout, in.logger); err != nil {
		return err
	}
	router, err := newRouter(in.store, in.client, cal, keys, in.logger, false, signIn, ops)
	if err != nil {
		return err
	}
	return serveHTTP(ctx, l, router)
}

// runWorker runs the workflow worker until interrupted.
func runWorker(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("worker", flag.ContinueOnError)
	metricsAddr := fs.String("metrics-addr", envOr("CMR_WORKER_METRICS_ADDR", ":9090"), "where the worker serves /metrics and /healthz (empty: nowhere)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	in, err := connect(ctx, stderr)
	if err != nil {
		return err
	}
	defer in.Close()
	cal, err := calendarConfig()
	if err != nil {
		return err
	}
	mail, err := mailer()
	if err != nil {
		return err
	}
	if mail == nil {
		in.logger.Warn("CMR_SMTP_HOST is not set: no notification e-mail is sent (webhooks still are)")
	}
	anytime, err := notifyAnytime()
	if err != nil {
		return err
	}
	w, err := startWorker(in.client, in.store, worker.Options{}, notifications{mail: mail, publicURL: os.Getenv("CMR_PUBLIC_URL"), metrics: in.metrics, calendar: cal, anytime: anytime})
	if err != nil {
		return err
	}
	if *metricsAddr != "" {
		l, url, err := listen(*metricsAddr)
		if err != nil {
			return err
		}
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", in.metrics.Handler())
		mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"status":"ok"}`))
		})
		go func() {
			if err := serveHTTP(ctx, l, mux); err != nil {
				in.logger.Error("worker metrics server", "error", err)
			}
		}()
		in.logger.Info("worker metrics", "url", url+"/metrics")
	}
	if err := startProfiling(ctx, stdout, in.logger); err != nil {
		return err
	}
	keep, err := retention()
	if err != nil {
		return err
	}
	go purgeLists(ctx, in.store, keep, time.Hour, in.logger)
	fmt.Fprintln(stdout, "CMR worker polling task queue \"cmr\"")
	<-ctx.Done()
	w.Stop()
	return nil
}
