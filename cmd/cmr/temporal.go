package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/cmr-idp/cmr/temporalserver"
)

// runTemporal runs only the embedded Temporal server, persisted in its data
// dir: a Temporal for `cmr serve` and `cmr worker` on a machine without
// Docker, and one a fault test can kill and start again on its own.
func runTemporal(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	start := time.Now()
	fs := flag.NewFlagSet("temporal", flag.ContinueOnError)
	dataDir := fs.String("data", envOr("CMR_TEMPORAL_DIR", filepath.Join(".cmr", "temporal-only")), "where the server keeps its state (temporal.db)")
	port := fs.Int("port", 0, "frontend port on 127.0.0.1 (0: the one of the previous start, or a free one)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := os.MkdirAll(*dataDir, 0o700); err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	ts, err := temporalserver.Start(temporalserver.Config{Dir: *dataDir, LogFile: filepath.Join(*dataDir, "temporal.log"), Port: *port})
	if err != nil {
		return fmt.Errorf("embedded Temporal server: %w", err)
	}
	fmt.Fprintf(stdout, "Temporal ready at %s (namespace default, data in %s) in %.1fs\n", ts.HostPort(), *dataDir, time.Since(start).Seconds())
	<-ctx.Done()
	if err := ts.Stop(); err != nil {
		return fmt.Errorf("stop Temporal: %w", err)
	}
	return nil
}
