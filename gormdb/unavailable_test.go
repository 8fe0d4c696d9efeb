package gormdb

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/cmr-idp/cmr"
)

// closedPort returns a loopback address nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

func TestUnavailableClassification(t *testing.T) {
	// A real failed connection attempt: ConnectError's cause is
	// unexported, so it cannot be built by hand.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, connectErr := pgconn.Connect(ctx, "postgres://cmr@"+closedPort(t)+"/cmr?sslmode=disable&connect_timeout=2")
	if connectErr == nil {
		t.Fatal("connected to a closed port")
	}
	var syntaxErr *json.SyntaxError
	if err := json.Unmarshal([]byte("{"), &map[string]any{}); !errors.As(err, &syntaxErr) {
		t.Fatalf("json: %v", err)
	}

	for name, tc := range map[string]struct {
		err  error
		want bool
	}{
		"connect refused":           {connectErr, true},
		"admin shutdown 57P01":      {&pgconn.PgError{Severity: "FATAL", Code: "57P01", Message: "terminating connection due to administrator command"}, true},
		"crash shutdown 57P02":      {&pgconn.PgError{Severity: "FATAL", Code: "57P02"}, true},
		"starting up 57P03":         {&pgconn.PgError{Severity: "FATAL", Code: "57P03", Message: "the database system is starting up"}, true},
		"too many connections":      {&pgconn.PgError{Severity: "FATAL", Code: "53300"}, true},
		"connection failure 08006":  {&pgconn.PgError{Code: "08006"}, true},
		"cannot connect 08001":      {fmt.Errorf("query: %w", &pgconn.PgError{Code: "08001"}), true},
		"bad connection":            {driver.ErrBadConn, true},
		"bad connection wrapped":    {fmt.Errorf("begin: %w", driver.ErrBadConn), true},
		"connection done":           {sql.ErrConnDone, true},
		"pgx conn closed":           {fmt.Errorf("query: %w", pgconn.ErrConnClosed), true},
		"unexpected EOF":            {fmt.Errorf("failed to receive message: %w", io.ErrUnexpectedEOF), true},
		"reset by peer":             {&net.OpError{Op: "read", Net: "tcp", Err: os.NewSyscallError("read", syscall.ECONNRESET)}, true},
		"refused":                   {&net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}, true},
		"broken pipe":               {fmt.Errorf("write: %w", syscall.EPIPE), true},
		"deadline waiting for conn": {context.DeadlineExceeded, true},
		"deadline wrapped":          {fmt.Errorf("timeout: %w", context.DeadlineExceeded), true},
		"client went away":          {context.Canceled, false},
		"nil":                       {nil, false},
		"not found":                 {gorm.ErrRecordNotFound, false},
		"duplicate 23505":           {&pgconn.PgError{Code: "23505"}, false},
		"undefined table 42P01":     {&pgconn.PgError{Code: "42P01"}, false},
		"serialization 40001":       {&pgconn.PgError{Code: "40001"}, false},
		"plain error":               {errors.New("sql: Scan error on column index 0"), false},
		"bad JSON in a row":         {syntaxErr, false},
	} {
		t.Run(name, func(t *testing.T) {
			if got := unavailable(tc.err); got != tc.want {
				t.Errorf("unavailable(%v) = %v, want %v", tc.err, got, tc.want)
			}
			if tc.err == nil {
				return
			}
			err := wrap("list cases", tc.err)
			if got := cmr.KindOf(err) == cmr.KindUnavailable; got != tc.want {
				t.Fatalf("wrap: %v (kind %q), want unavailable %v", err, cmr.KindOf(err), tc.want)
			}
			if !tc.want {
				return
			}
			var de *cmr.Error
			errors.As(err, &de)
			if de.Message != "the database is not reachable; try again shortly" || de.MessageNL == "" || de.MessageNL == de.Message {
				t.Errorf("user's message: %q / %q", de.Message, de.MessageNL)
			}
			// The driver's reason stays in the chain, for the log only.
			if !errors.Is(err, tc.err) {
				t.Errorf("wrap dropped the cause: %v", err)
			}
			if !strings.HasPrefix(err.Error(), "list cases: ") {
				t.Errorf("wrap lost the operation: %v", err)
			}
		})
	}
}

// TestUnavailableNotClassifiedTwice: an error classified inside a
// transaction keeps its one domain error when the method wraps it again.
func TestUnavailableNotClassifiedTwice(t *testing.T) {
	err := wrap("save case X", wrap("submission s1", driver.ErrBadConn))
	if cmr.KindOf(err) != cmr.KindUnavailable {
		t.Fatalf("kind %q: %v", cmr.KindOf(err), err)
	}
	if n := strings.Count(err.Error(), "not reachable"); n != 1 {
		t.Errorf("classified %d times: %v", n, err)
	}
}

// TestUnavailableRealDriver runs the store's methods through GORM and pgx
// against a port nothing listens on: the authentication every API request
// starts with, the reads and a projection write all say unavailable (not
// unauthorized, not an internal error).
func TestUnavailableRealDriver(t *testing.T) {
	db, err := gorm.Open(postgres.Open("postgres://cmr@"+closedPort(t)+"/cmr?sslmode=disable&connect_timeout=2"),
		&gorm.Config{Logger: logger.Discard, TranslateError: true, DisableAutomaticPing: true})
	if err != nil {
		t.Fatal(err)
	}
	s := &Store{db: db}
	defer s.Close()
	ctx := context.Background()
	v := Viewer{OrganisationID: "dist", Role: cmr.RoleDistributor}
	calls := map[string]func() error{
		"authenticate": func() error { _, err := s.Authenticate(ctx, "cmr_token"); return err },
		"cases":        func() error { _, err := s.Cases(ctx, v, CaseFilter{}); return err },
		"case":         func() error { _, err := s.Case(ctx, v, "01AB-20270715"); return err },
		"tickets":      func() error { _, err := s.Tickets(ctx, v, TicketFilter{}); return err },
		"submission": func() error {
			_, err := s.CreateSubmission(ctx, cmr.Submission{CaseID: "01AB-20270715", Kind: "step"})
			return err
		},
		"save case": func() error {
			return s.SaveCase(ctx, cmr.CaseHeader{}, cmr.CaseState{CaseID: "01AB-20270715"}, 1, "", nil)
		},
		"save ticket": func() error { return s.SaveTicket(ctx, cmr.Ticket{ID: "t1", CaseID: "01AB-20270715"}, nil) },
	}
	for name, call := range calls {
		t.Run(name, func(t *testing.T) {
			if err := call(); cmr.KindOf(err) != cmr.KindUnavailable {
				t.Errorf("got %v (kind %q), want unavailable", err, cmr.KindOf(err))
			}
		})
	}
}

// TestUnavailableDeadline: a request whose deadline passed while it waited
// for the database is answered as unavailable; one whose client left is not.
func TestUnavailableDeadline(t *testing.T) {
	s, err := OpenSQLite(filepath.Join(t.TempDir(), "cmr.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	expired, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel()
	if _, err := s.Cases(expired, Viewer{OrganisationID: "dist"}, CaseFilter{}); cmr.KindOf(err) != cmr.KindUnavailable {
		t.Errorf("expired deadline: %v (kind %q), want unavailable", err, cmr.KindOf(err))
	}
	gone, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.Cases(gone, Viewer{OrganisationID: "dist"}, CaseFilter{}); err == nil || cmr.KindOf(err) == cmr.KindUnavailable {
		t.Errorf("cancelled: %v (kind %q), want an unclassified error", err, cmr.KindOf(err))
	}
}
