package gormdb

import (
	"bytes"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestCheckpointerSaysWhenItFails: failing checkpoints are logged once,
// when they start failing, not every round.
func TestCheckpointerSaysWhenItFails(t *testing.T) {
	var log bytes.Buffer
	c, err := startCheckpointer("file:"+filepath.Join(t.TempDir(), "x.db"), slog.New(slog.NewTextHandler(&log, nil)))
	if err != nil {
		t.Fatal(err)
	}
	// Its connection gone, every round fails.
	c.db.Close()
	time.Sleep(4*checkpointEvery + checkpointEvery/2)
	c.close()
	if n := strings.Count(log.String(), "sqlite checkpoints fail"); n != 1 {
		t.Errorf("%d warnings in 4 failed rounds, want 1:\n%s", n, log.String())
	}
}
