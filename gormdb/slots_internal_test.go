package gormdb

import (
	"testing"

	"modernc.org/libc"
)

// The premise of slotPages: while its blocks are held, the driver's
// allocator serves a part-sized block from a pinned page instead of
// mapping a new one. If the allocator changes so that this no longer
// holds, the pinning is dead weight and this test says so.
func TestPinnedSlotPagesServeParts(t *testing.T) {
	p := pinSlotPages()
	defer p.release()
	if len(p.blocks) == 0 {
		t.Fatal("no page pinned")
	}
	pinned := map[uintptr]bool{}
	for _, b := range p.blocks {
		pinned[b&^(slotPageSize-1)] = true
	}
	tls := libc.NewTLS()
	defer tls.Close()
	// A part's two copies: the bound value and the row.
	for range 20 {
		a, b := libc.Xmalloc(tls, listPartSize), libc.Xmalloc(tls, listPartSize+64)
		if !pinned[a&^(slotPageSize-1)] || !pinned[b&^(slotPageSize-1)] {
			t.Fatalf("a part's copies landed outside the pinned pages (%d pinned)", len(pinned))
		}
		libc.Xfree(tls, b)
		libc.Xfree(tls, a)
	}
	p.release()
	p.release() // a second release does nothing
	if p.blocks != nil {
		t.Error("blocks still held after release")
	}
}
