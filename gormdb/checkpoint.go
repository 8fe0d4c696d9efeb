package gormdb

import (
	"database/sql"
	"fmt"
	"sync"
	"time"
)

// SQLite in WAL mode appends every commit to the -wal file and copies the
// pages into the database file later, in a checkpoint. Left to itself it
// checkpoints inside the commit that takes the WAL past 1,000 pages, so
// that one request pays for copying, reading back and syncing everything
// written since: a 50,000-row list is 300 pages, and every third upload
// took about 5 ms longer for it. The checkpointer does that work from a
// connection of its own, off the requests' single connection; commits only
// append. The requests' connection still checkpoints if the WAL grows past
// walSafetyPages, so a checkpointer that falls behind (or fails) cannot
// let the file grow without bound.
const (
	checkpointEvery = 200 * time.Millisecond
	walSafetyPages  = 8192 // 32 MB of 4 KB pages
)

// checkpointer runs PASSIVE checkpoints, which wait for no one: readers
// and the writer go on meanwhile, and what a reader still needs is left
// for the next round.
type checkpointer struct {
	db       *sql.DB
	stop     chan struct{}
	done     chan struct{}
	stopOnce sync.Once
}

func startCheckpointer(dsn string) (*checkpointer, error) {
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open checkpointer: %w", err)
	}
	db.SetMaxOpenConns(1)
	c := &checkpointer{db: db, stop: make(chan struct{}), done: make(chan struct{})}
	go c.run()
	return c, nil
}

func (c *checkpointer) run() {
	defer close(c.done)
	tick := time.NewTicker(checkpointEvery)
	defer tick.Stop()
	for {
		select {
		case <-c.stop:
			return
		case <-tick.C:
			// An error (the disk full, say) is left to the next round
			// and, failing that, to the requests' own checkpoints.
			_ = c.checkpoint()
		}
	}
}

// checkpoint copies what it can of the WAL into the database file and
// says how many pages the WAL holds and how many of them are copied.
func (c *checkpointer) checkpoint() error {
	var busy, log, copied int
	return c.db.QueryRow("PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &log, &copied)
}

// close stops the checkpointer; a second close does nothing more.
func (c *checkpointer) close() error {
	c.stopOnce.Do(func() { close(c.stop) })
	<-c.done
	return c.db.Close()
}
