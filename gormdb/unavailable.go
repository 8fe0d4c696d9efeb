package gormdb

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"io"
	"net"
	"strings"
	"syscall"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/cmr-idp/cmr"
)

// errUnavailable is what a caller is told while the database cannot be
// reached: the API answers 503 with Retry-After, activities retry. It
// names neither the statement nor the server.
func errUnavailable() *cmr.Error {
	return cmr.Errorf(cmr.KindUnavailable, "the database is not reachable; try again shortly").
		NL("de database is even niet bereikbaar; probeer het zo opnieuw")
}

// unavailableStates are the SQLSTATEs, besides class 08 (connection
// exception), with which a server says it is going away or not back yet:
// nothing was wrong with the statement.
var unavailableStates = map[string]bool{
	"57P01": true, // admin_shutdown: fast or immediate shutdown
	"57P02": true, // crash_shutdown: another backend crashed
	"57P03": true, // cannot_connect_now: starting up, shutting down, recovering
	"53300": true, // too_many_connections: the server is full, not the request wrong
}

// unavailable reports whether err says that the database could not be
// reached or dropped the connection, rather than refused the statement:
// the same request may well succeed shortly. The checks are on the
// drivers' typed errors (pgx, database/sql, the network), not on message
// text, which differs between versions and languages.
func unavailable(err error) bool {
	if err == nil {
		return false
	}
	// A failed connection attempt wraps whatever went wrong, even a server
	// error such as "the database system is starting up": all of them
	// mean no connection, so no answer.
	var connect *pgconn.ConnectError
	if errors.As(err, &connect) {
		return true
	}
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		return strings.HasPrefix(pg.Code, "08") || unavailableStates[pg.Code]
	}
	// A context that ran out of time while waiting for a pooled
	// connection or for the server: the database is too slow to answer
	// now. A cancelled context (the client left) is not the database's
	// doing, and stays unclassified.
	if errors.Is(err, context.DeadlineExceeded) || (pgconn.Timeout(err) && !errors.Is(err, context.Canceled)) {
		return true
	}
	for _, target := range []error{
		driver.ErrBadConn,    // database/sql gave up on a broken connection
		sql.ErrConnDone,      // the connection was closed under a transaction
		pgconn.ErrConnClosed, // pgx closed it after a failed read or write
		io.EOF,               // the server closed the socket mid-conversation
		io.ErrUnexpectedEOF,  // the same, inside a message
		syscall.ECONNREFUSED, // nothing listens: down or restarting
		syscall.ECONNRESET,   // killed while connected
		syscall.ECONNABORTED, // the same, seen on accept
		syscall.EPIPE,        // written to after the server went away
		syscall.ETIMEDOUT,    // the network dropped packets
		syscall.EHOSTUNREACH, // no route to the server
		syscall.ENETUNREACH,  // no network
		net.ErrClosed,        // the socket was closed by the pool
	} {
		if errors.Is(err, target) {
			return true
		}
	}
	// Any other failed network operation (a dial, a read, a name lookup)
	// is the connection's fault, not the statement's.
	var op *net.OpError
	return errors.As(err, &op)
}
