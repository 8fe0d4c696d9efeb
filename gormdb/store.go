// Package gormdb is the storage adapter: organisations, users, API tokens,
// the case/ticket projection, submissions and the append-only audit trail,
// in PostgreSQL (`cmr serve`) or the embedded SQLite file (`cmr dev`),
// through GORM. The schema comes only from the versioned files in
// migrations/.
package gormdb

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
	"gorm.io/driver/postgres"
	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/cmr-idp/cmr"
	"github.com/cmr-idp/cmr/migrations"

	// The pure-Go SQLite driver, registered as "sqlite". The embedded
	// Temporal server links the same package, so there is one registration.
	_ "modernc.org/sqlite"
)

// Store reads and writes the CMR database.
type Store struct {
	db *gorm.DB
	// reader serves the reads that need no transaction on SQLite
	// (reads): connections of their own, which WAL lets read beside the
	// one that writes, so that a case list or a token check does not
	// queue behind a list being written. Nil on PostgreSQL, whose pool
	// reads and writes at once already.
	reader  *gorm.DB
	dialect goose.Dialect
	schema  fs.FS
	ckpt    *checkpointer // SQLite only
	// listPart is the size of the parts a list's ciphertext is stored in:
	// listPartSize on SQLite, whose driver's slots pinned keeps mapped,
	// pgListPartSize on PostgreSQL; 0: one part.
	listPart int
	pinned   *slotPages
	defs     stepDefs
}

// gormConfig is how the store uses GORM. SkipDefaultTransaction: GORM
// would wrap every single write in a transaction of its own (three round
// trips instead of one); a statement is atomic by itself, the store uses
// no associations or hooks, and what writes more than one statement
// opens its transaction itself.
func gormConfig() *gorm.Config {
	return &gorm.Config{Logger: logger.Discard, TranslateError: true, SkipDefaultTransaction: true}
}

// OpenPostgres connects to PostgreSQL, e.g.
// postgres://postgres@127.0.0.1:5432/cmr?sslmode=disable.
func OpenPostgres(dsn string) (*Store, error) {
	db, err := gorm.Open(postgres.Open(dsn), gormConfig())
	if err != nil {
		return nil, fmt.Errorf("open postgres: %w", err)
	}
	sqlDB, err := db.DB()
	if err != nil {
		return nil, fmt.Errorf("open postgres: %w", err)
	}
	// Connections stay open between bursts (database/sql keeps 2 by
	// default): a new one costs PostgreSQL a backend process, milliseconds
	// that a request beyond the second at once paid every time.
	sqlDB.SetMaxOpenConns(20)
	sqlDB.SetMaxIdleConns(20)
	sqlDB.SetConnMaxIdleTime(5 * time.Minute)
	return &Store{db: db, dialect: goose.DialectPostgres, schema: migrations.Postgres(), listPart: pgListPartSize}, nil
}

// A SQLiteOption adjusts OpenSQLite.
type SQLiteOption func(*sqliteOptions)

type sqliteOptions struct {
	logger *slog.Logger
}

// LogTo has the store log what goes wrong in its background work (the
// checkpoints) to l; without it, or with a nil l, nothing is logged.
func LogTo(l *slog.Logger) SQLiteOption {
	return func(o *sqliteOptions) { o.logger = l }
}

// OpenSQLite opens (creating) the SQLite database file at path.
func OpenSQLite(path string, opts ...SQLiteOption) (*Store, error) {
	var o sqliteOptions
	for _, opt := range opts {
		opt(&o)
	}
	// Commits leave checkpoints to the checkpointer (checkpoint.go) up to
	// walSafetyPages.
	dsn := "file:" + path + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)&_pragma=secure_delete(ON)" +
		fmt.Sprintf("&_pragma=wal_autocheckpoint(%d)", walSafetyPages) + "&_time_format=sqlite"
	db, err := gorm.Open(sqlite.New(sqlite.Config{DriverName: "sqlite", DSN: dsn}), gormConfig())
	if err != nil {
		return nil, fmt.Errorf("open sqlite: %w", err)
	}
	sqlDB, err := db.DB()
	if err != nil {
		return nil, fmt.Errorf("open sqlite: %w", err)
	}
	// One connection: SQLite has one writer, and queueing here beats
	// SQLITE_BUSY under concurrent activities.
	sqlDB.SetMaxOpenConns(1)
	if err := sqlDB.Ping(); err != nil {
		return nil, fmt.Errorf("open sqlite: %w", err)
	}
	// The file holds users, tokens' hashes and encrypted lists: owner only.
	for _, f := range []string{path, path + "-wal", path + "-shm"} {
		if err := os.Chmod(f, 0o600); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("open sqlite: %w", err)
		}
	}
	reader, err := gorm.Open(sqlite.New(sqlite.Config{DriverName: "sqlite", DSN: dsn + "&_pragma=query_only(1)"}), gormConfig())
	if err != nil {
		sqlDB.Close()
		return nil, fmt.Errorf("open sqlite: %w", err)
	}
	readDB, err := reader.DB()
	if err != nil {
		sqlDB.Close()
		return nil, fmt.Errorf("open sqlite: %w", err)
	}
	readDB.SetMaxOpenConns(readers)
	readDB.SetMaxIdleConns(readers)
	ckpt, err := startCheckpointer(dsn, o.logger)
	if err != nil {
		readDB.Close()
		sqlDB.Close()
		return nil, fmt.Errorf("open sqlite: %w", err)
	}
	return &Store{db: db, reader: reader, dialect: goose.DialectSQLite3, schema: migrations.SQLite(), ckpt: ckpt,
		listPart: listPartSize, pinned: pinSlotPages()}, nil
}

// readers is how many connections read beside the writer on SQLite: the
// machine's two cores, and two more for reads that wait on the disk.
const readers = 4

// reads is the database for a read that needs no transaction: on SQLite
// the readers' connections, which do not wait for the writer's.
func (s *Store) reads(ctx context.Context) *gorm.DB { return s.readDB().WithContext(ctx) }

func (s *Store) readDB() *gorm.DB {
	if s.reader != nil {
		return s.reader
	}
	return s.db
}

// Close releases the connections.
func (s *Store) Close() error {
	defer s.pinned.release()
	var ckptErr error
	if s.ckpt != nil {
		ckptErr = s.ckpt.close()
	}
	// The readers first: the writer's close, the last, checkpoints the
	// WAL into the file.
	var readErr error
	if s.reader != nil {
		if readDB, err := s.reader.DB(); err == nil {
			readErr = readDB.Close()
		}
	}
	sqlDB, err := s.db.DB()
	if err != nil {
		return errors.Join(err, readErr, ckptErr)
	}
	return errors.Join(sqlDB.Close(), readErr, ckptErr)
}

// OverNetwork says whether the database is a server across the network
// (PostgreSQL), not a file in the process (SQLite).
func (s *Store) OverNetwork() bool { return s.dialect == goose.DialectPostgres }

// Ping checks the database is reachable.
func (s *Store) Ping(ctx context.Context) error {
	sqlDB, err := s.db.DB()
	if err != nil {
		return err
	}
	return sqlDB.PingContext(ctx)
}

// Migrate applies the pending migrations. Concurrent starts against
// Postgres are serialised with a session lock.
func (s *Store) Migrate(ctx context.Context) error {
	sqlDB, err := s.db.DB()
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	var opts []goose.ProviderOption
	if s.dialect == goose.DialectPostgres {
		locker, err := lock.NewPostgresSessionLocker()
		if err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	}
	p, err := goose.NewProvider(s.dialect, sqlDB, s.schema, opts...)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return nil
}

// wrap turns storage errors into the domain's: not found stays not found,
// unique violations become conflicts, a database that cannot be reached
// unavailable (see unavailable.go). Every method returns its errors
// through here, so that the API maps them to a status in one place.
func wrap(op string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, gorm.ErrRecordNotFound):
		return cmr.ErrNotFound
	case errors.Is(err, gorm.ErrDuplicatedKey), strings.Contains(err.Error(), "UNIQUE constraint failed"):
		// The SQLite dialector translates only its cgo driver's errors;
		// modernc's unique violations arrive as text.
		return &cmr.Error{Kind: cmr.KindConflict, Message: op + ": already exists", MessageNL: "bestaat al"}
	case cmr.KindOf(err) != "":
		// Classified further down (a helper inside a transaction).
		return fmt.Errorf("%s: %w", op, err)
	case unavailable(err):
		// The driver's error stays in the chain for the log; the caller
		// sees only the domain error's sentence.
		return fmt.Errorf("%s: %w: %w", op, errUnavailable(), err)
	}
	return fmt.Errorf("%s: %w", op, err)
}

func now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

func utc(t *time.Time) *time.Time {
	if t == nil || t.IsZero() {
		return nil
	}
	u := t.UTC().Truncate(time.Microsecond)
	return &u
}
