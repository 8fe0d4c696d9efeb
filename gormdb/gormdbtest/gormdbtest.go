// Package gormdbtest gives tests a freshly migrated store: a new
// PostgreSQL database per test (dropped afterwards), or a SQLite file in
// the test's temp dir. Without a reachable PostgreSQL the Postgres variant
// skips, except in CI (CI=true), where it fails.
package gormdbtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx" for creating databases

	"github.com/cmr-idp/cmr/gormdb"
)

// PostgresURL is the server the tests use: $CMR_TEST_POSTGRES or the local
// trust-auth default.
func PostgresURL() string {
	if u := os.Getenv("CMR_TEST_POSTGRES"); u != "" {
		return u
	}
	return "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
}

// Postgres returns a store on a new, migrated database.
func Postgres(t testing.TB) *gormdb.Store {
	t.Helper()
	s, err := gormdb.OpenPostgres(EmptyPostgres(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if err := s.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s
}

// EmptyPostgres creates a new, empty database for the test, dropped at its
// end, and returns its URL.
func EmptyPostgres(t testing.TB) string {
	t.Helper()
	admin, err := sql.Open("pgx", PostgresURL())
	if err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err = admin.PingContext(ctx)
		cancel()
	}
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("PostgreSQL is required in CI: %v", err)
		}
		t.Skipf("no PostgreSQL at %s (set CMR_TEST_POSTGRES): %v", PostgresURL(), err)
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	name := "cmr_test_" + hex.EncodeToString(b)
	if _, err := admin.Exec("CREATE DATABASE " + name); err != nil {
		t.Fatalf("create database: %v", err)
	}
	u, _ := url.Parse(PostgresURL())
	u.Path = "/" + name
	t.Cleanup(func() {
		admin.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)")
		admin.Close()
	})
	return u.String()
}

// SQLite returns a store on a new, migrated SQLite file.
func SQLite(t testing.TB) *gormdb.Store {
	t.Helper()
	s, err := gormdb.OpenSQLite(filepath.Join(t.TempDir(), "cmr.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if err := s.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s
}

// Each runs f against every store kind as a subtest.
func Each(t *testing.T, f func(t *testing.T, s *gormdb.Store)) {
	t.Run("sqlite", func(t *testing.T) { f(t, SQLite(t)) })
	t.Run("postgres", func(t *testing.T) { f(t, Postgres(t)) })
}
