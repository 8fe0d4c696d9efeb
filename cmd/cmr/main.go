// Command cmr is the CMR for IdP-migration cases: one binary that runs
// everything in one process for development (`cmr dev`), or the API and
// the worker against a real Temporal cluster and PostgreSQL (`cmr serve`,
// `cmr worker`; `cmr temporal` runs a Temporal server for them where
// there is no cluster), plus the administration commands (`cmr migrate`,
// `cmr token`, `cmr org`, `cmr user`). This is the only place that reads
// the environment and wires the packages together.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	_ "time/tzdata" // Europe/Amsterdam on machines without zoneinfo
)

const usage = `cmr: the coordination system for IdP-migration cases

Usage:
  cmr dev     [--data DIR] [--addr HOST:PORT]    everything in one process, zero setup
  cmr serve   [--addr HOST:PORT]                 the API (needs DATABASE_URL, TEMPORAL_ADDRESS)
  cmr worker                                     the workflow worker (same settings)
  cmr temporal [--data DIR] [--port PORT]        only the embedded Temporal server, for serve and worker without Docker
  cmr migrate [--sqlite FILE]                    apply the database migrations
  cmr token create --user EMAIL                  make an API token (shown once)
  cmr token revoke --user EMAIL                  revoke every token of a user
  cmr org add --id ID --name NAME --role ROLE [--brin BRIN --sector VO|MBO]
  cmr org patterns --org ORG_ID PATTERN...      e-mail patterns a first OIDC login is matched on
  cmr user add --email EMAIL --name NAME --org ORG_ID
  cmr user import --org ORG_ID FILE             register staff from CSV/XLSX (Voornaam, Achternaam, E-mail, ...)
  cmr user admin --user EMAIL [--off]           make a person an admin of their organisation
  cmr key rotate                                re-wrap every case key from CMR_MASTER_KEY to CMR_NEW_MASTER_KEY

Settings (environment):
  DATABASE_URL         postgres://user@host:5432/db?sslmode=disable (serve, worker, migrate, token, org, user)
  CMR_SQLITE           a SQLite file instead of DATABASE_URL (admin commands on a dev data dir)
  TEMPORAL_ADDRESS     host:7233 (serve, worker)
  TEMPORAL_NAMESPACE   default "default"
  CMR_ADDR             listen address for serve, default ":8080"
  CMR_LIBERATION_DAY   5 May off: every_year, lustrum (default) or never
  CMR_END_OF_DAY       when a working day ends for the SLA, default 17:00
  CMR_GOOD_FRIDAY_OFF  true to count Good Friday as a day off (default: a working day)
  CMR_MASTER_KEY       base64 32-byte key that encrypts was-wordt lists (serve; dev keeps one in its data dir)
  CMR_OIDC_PROVIDERS   JSON list (or @file) of {name, issuer, client_id, client_secret, organisations}
  CMR_PUBLIC_URL       this site's address as browsers reach it (the OIDC redirect comes back there)
  CMR_TRUSTED_PROXIES  address ranges of reverse proxies whose X-Forwarded-For is believed, e.g. 10.0.0.0/8
  CMR_LIST_RETENTION_DAYS  days list data is kept after a case ends, default 30 (dev, worker)
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	nameBuild()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "cmr:", err)
		}
		os.Exit(2)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errors.New("name a command")
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "dev":
		return runDev(ctx, rest, stdout, stderr)
	case "serve":
		return runServe(ctx, rest, stdout, stderr)
	case "worker":
		return runWorker(ctx, rest, stdout, stderr)
	case "temporal":
		return runTemporal(ctx, rest, stdout, stderr)
	case "migrate":
		return runMigrate(ctx, rest, stdout)
	case "token":
		return runToken(ctx, rest, stdout)
	case "org":
		return runOrg(ctx, rest, stdout)
	case "user":
		return runUser(ctx, rest, stdout)
	case "key":
		return runKey(ctx, rest, stdout)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q", cmd)
}
