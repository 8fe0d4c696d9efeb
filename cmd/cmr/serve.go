package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"

	"github.com/cmr-idp/cmr/gormdb"
)

// infra is what serve and worker share: the database and a Temporal
// client, from DATABASE_URL and TEMPORAL_ADDRESS.
type infra struct {
	logger *slog.Logger
	store  *gormdb.Store
	client client.Client
}

func connect(ctx context.Context, stderr io.Writer) (*infra, error) {
	logger := slog.New(slog.NewJSONHandler(stderr, nil))
	addr := os.Getenv("TEMPORAL_ADDRESS")
	if addr == "" {
		return nil, errors.New("set TEMPORAL_ADDRESS (host:7233), or use `cmr dev` for an embedded Temporal server")
	}
	store, err := openStore()
	if err != nil {
		return nil, err
	}
	c, err := dialTemporal(ctx, addr, os.Getenv("TEMPORAL_NAMESPACE"), logger)
	if err != nil {
		store.Close()
		return nil, err
	}
	return &infra{logger: logger, store: store, client: c}, nil
}

func (in *infra) Close() {
	in.client.Close()
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
	router, err := newRouter(in.store, in.client, cal, keys, in.logger, false, signIn)
	if err != nil {
		return err
	}
	return serveHTTP(ctx, l, router)
}

// runWorker runs the workflow worker until interrupted.
func runWorker(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("worker", flag.ContinueOnError)
	if err := fs.Parse(args); err != nil {
		return err
	}
	in, err := connect(ctx, stderr)
	if err != nil {
		return err
	}
	defer in.Close()
	w, err := startWorker(in.client, in.store, worker.Options{})
	if err != nil {
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
