package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"

	"go.temporal.io/sdk/worker"
)

func requireTemporal() (string, error) {
	addr := os.Getenv("TEMPORAL_ADDRESS")
	if addr == "" {
		return "", errors.New("set TEMPORAL_ADDRESS (host:7233), or use `cmr dev` for an embedded Temporal server")
	}
	return addr, nil
}

// runServe runs the API against a real Temporal cluster and PostgreSQL.
func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	addr := fs.String("addr", envOr("CMR_ADDR", ":8080"), "listen address")
	if err := fs.Parse(args); err != nil {
		return err
	}
	logger := slog.New(slog.NewJSONHandler(stderr, nil))
	tAddr, err := requireTemporal()
	if err != nil {
		return err
	}
	cal, err := calendarConfig()
	if err != nil {
		return err
	}
	store, err := openStore()
	if err != nil {
		return err
	}
	defer store.Close()
	c, err := dialTemporal(ctx, tAddr, os.Getenv("TEMPORAL_NAMESPACE"), logger)
	if err != nil {
		return err
	}
	defer c.Close()
	l, url, err := listen(*addr)
	if err != nil {
		return err
	}
	logger.Info("cmr serve listening", "url", url)
	fmt.Fprintln(stdout, "CMR API at "+url+"/api/v1")
	return serveHTTP(ctx, l, newRouter(store, c, cal, logger))
}

// runWorker runs the workflow worker until interrupted.
func runWorker(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("worker", flag.ContinueOnError)
	if err := fs.Parse(args); err != nil {
		return err
	}
	logger := slog.New(slog.NewJSONHandler(stderr, nil))
	tAddr, err := requireTemporal()
	if err != nil {
		return err
	}
	store, err := openStore()
	if err != nil {
		return err
	}
	defer store.Close()
	c, err := dialTemporal(ctx, tAddr, os.Getenv("TEMPORAL_NAMESPACE"), logger)
	if err != nil {
		return err
	}
	defer c.Close()
	w, err := startWorker(c, store, worker.Options{})
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, "CMR worker polling task queue \"cmr\"")
	<-ctx.Done()
	w.Stop()
	return nil
}
