package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/pprof"
	"os"
)

// startProfiling serves Go's profiles (net/http/pprof) on CMR_PPROF_ADDR,
// a listener of its own so that they never sit on the public router; keep
// the address on loopback. Unset: no profiles are served.
func startProfiling(ctx context.Context, stdout io.Writer, logger *slog.Logger) error {
	addr := os.Getenv("CMR_PPROF_ADDR")
	if addr == "" {
		return nil
	}
	l, url, err := listen(addr)
	if err != nil {
		return fmt.Errorf("CMR_PPROF_ADDR: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	go func() {
		if err := serveHTTP(ctx, l, mux); err != nil {
			logger.Error("profiling server", "error", err)
		}
	}()
	fmt.Fprintf(stdout, "Profiles at %s/debug/pprof/\n", url)
	return nil
}
