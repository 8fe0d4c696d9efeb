package gormdb

import (
	"sync"

	"modernc.org/libc"
)

// slotPages keeps a few pages of the SQLite driver's 16 KB memory slots
// mapped for as long as the store is open, so that writing a list's parts
// (listPartSize) reuses their slots.
//
// Why: the pure-Go SQLite driver (modernc.org/sqlite) allocates its C
// memory from modernc.org/memory, which hands out blocks of up to 16 KB
// from 64 KB pages and unmaps a page as soon as its last block is freed.
// Each part of a list is copied twice (the bound value, the row), both
// freed when the statement ends: without a block that stays, every part
// mapped a page, faulted it in and unmapped it, and an unmap in a
// many-threaded process interrupts every core (a TLB shoot-down). A
// 50,000-row list's 100 parts cost 7 ms of that; with these pages kept,
// the parts' copies come and go in slots that stay mapped
// (BenchmarkListUpload50k). Only speed depends on this: were the
// allocator to change, the lists would be written all the same, and
// TestPinnedSlotPagesServeParts would say the pinning no longer pays.
// modernc.org/libc is required at the version modernc.org/sqlite is built
// against; upgrade the two together.
type slotPages struct {
	once   sync.Once
	tls    *libc.TLS
	blocks []uintptr // one held block per page
}

const (
	slotPageSize = 64 << 10 // modernc.org/memory's page
	slotsToPin   = 9        // blocks asked for: three pages' worth of 16 KB slots
)

// pinSlotPages takes one block of listPartSize's slot class in each of
// a few pages and gives the rest back: the pages stay mapped, and their
// free slots are the ones a part's copies get.
func pinSlotPages() *slotPages {
	p := &slotPages{tls: libc.NewTLS()}
	seen := map[uintptr]bool{}
	var spare []uintptr
	for range slotsToPin {
		b := libc.Xmalloc(p.tls, listPartSize)
		switch page := b &^ (slotPageSize - 1); {
		case b == 0:
		case seen[page]:
			spare = append(spare, b)
		default:
			seen[page] = true
			p.blocks = append(p.blocks, b)
		}
	}
	for _, b := range spare {
		libc.Xfree(p.tls, b)
	}
	return p
}

// release gives the held blocks back; their pages go once empty. A second
// call does nothing.
func (p *slotPages) release() {
	if p == nil {
		return
	}
	p.once.Do(func() {
		for _, b := range p.blocks {
			libc.Xfree(p.tls, b)
		}
		p.blocks = nil
		p.tls.Close()
	})
}
