package gormdb

import (
	"database/sql"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// SQLite in WAL mode appends every commit to the -wal file and copies the
// pages into the database file later, in a checkpoint. Left to itself it
// checkpoints inside the commit that takes the WAL past 1,000 pages, so
// that one request pays for copying, reading back and syncing everything
// written since: a 50,000-row list is 300 pages, and every third upload
// paid for the 4 MB of three, about 5 ms per upload on average (a 1.2 MB
// insert took 15 ms instead of 10-11). The checkpointer does that work from a
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
	logger   *slog.Logger // nil: none
	stop     chan struct{}
	done     chan struct{}
	stopOnce sync.Once
}

func startCheckpointer(dsn string, logger *slog.Logger) (*checkpointer, error) {
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open checkpointer: %w", err)
	}
	db.SetMaxOpenConns(1)
	c := &checkpointer{db: db, logger: logger, stop: make(chan struct{}), done: make(chan struct{})}
	go c.run()
	return c, nil
}

func (c *checkpointer) run() {
	defer close(c.done)
	tick := time.NewTicker(checkpointEvery)
	defer tick.Stop()
	failing := false
	for {
		select {
		case <-c.stop:
			return
		case <-tick.C:
			// An error (the disk full, say) is left to the next round
			// and, failing that, to the requests' own checkpoints; the
			// log says when that starts and when it ends.
			err := c.checkpoint()
			if c.logger != nil && (err != nil) != failing {
				if err != nil {
					c.logger.Warn("sqlite checkpoints fail; commits checkpoint themselves once the WAL passes 32 MB", "err", err)
				} else {
					c.logger.Info("sqlite checkpoints work again")
				}
			}
			failing = err != nil
		}
	}
}

// checkpoint copies what it can of the WAL into the database file.
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
