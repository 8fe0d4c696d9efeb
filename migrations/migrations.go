// Package migrations holds the versioned schema of the CMR database, one SQL
// file per version and dialect, embedded in the binary. The Postgres and
// SQLite files of one version describe the same tables.
package migrations

import (
	"embed"
	"io/fs"
)

//go:embed postgres/*.sql sqlite/*.sql
var files embed.FS

// Postgres is the schema for PostgreSQL.
func Postgres() fs.FS { sub, _ := fs.Sub(files, "postgres"); return sub }

// SQLite is the schema for the embedded database of `cmr dev`.
func SQLite() fs.FS { sub, _ := fs.Sub(files, "sqlite"); return sub }
