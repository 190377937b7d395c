//go:build linux

package main

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
)

// A dm-log-writes log, as the kernel's target writes it on its log device
// (Documentation/admin-guide/device-mapper/log-writes.rst,
// drivers/md/dm-log-writes.c): a super block at byte 0, then, from byte
// sectorsize on, one entry after another. Each entry is one sector (of the
// data device's logical block size) holding a little-endian header, and,
// for a mark, the mark's text after the header; a write's data, nr_sectors
// sectors, follows its header sector. A discard has no data in the log.
//
// All numbers in an entry are in sectorsize units. The super is rewritten
// only after a FUA write or a mark, so its entry count lags the log after
// plain writes and flushes; the reader goes on past it for as long as the
// entries are complete (see readLog).
const (
	lwMagic   = 0x6a736677736872
	lwVersion = 1

	lwFlush    = 1 << 0
	lwFUA      = 1 << 1
	lwDiscard  = 1 << 2
	lwMark     = 1 << 3
	lwMetadata = 1 << 4
	lwKnown    = lwFlush | lwFUA | lwDiscard | lwMark | lwMetadata

	lwHeaderSize = 32 // four __le64: sector, nr_sectors, flags, data_len
)

// lwSuper is the log's super block.
type lwSuper struct {
	Entries    uint64 // nr_entries when the super was last written
	SectorSize uint32
}

// lwEntry is one logged operation.
type lwEntry struct {
	Sector   uint64 // first sector written on the data device
	Sectors  uint64 // how many sectors
	Flags    uint64
	Mark     string // a mark's text
	DataOff  int64  // where the data starts in the log
	EntryOff int64  // where the header is in the log
}

func (e lwEntry) is(flag uint64) bool { return e.Flags&flag != 0 }

// hasData reports whether the entry carries sectors to write.
func (e lwEntry) hasData() bool { return e.Sectors > 0 && !e.is(lwDiscard) && !e.is(lwMark) }

// lwLog is a parsed log: its super and its complete entries, in log order.
type lwLog struct {
	Super   lwSuper
	Entries []lwEntry
	Stop    string // why the reader stopped where it did
}

// maxSectorSize bounds the super's sector size: the kernel takes it from
// the data device's logical block size, which is a power of two from 512
// to the page size.
const maxSectorSize = 64 << 10

// readLog parses the log in r (size bytes long). present, when not nil,
// reports whether the bytes [off, off+n) of the log were ever written (the
// log file starts sparse, so a hole there is a write that had not landed
// when the power went): the kernel submits an entry's header and data as
// separate writes without waiting for either, so after a cut the last
// entries may have a header and no data, or data and no header.
//
// The reader stops at the first entry that is not complete: an all-zero
// header (the end of the log: the kernel never logs an empty write
// without a flag), a header or data range that is not present, a header
// with unknown flags, or one whose data runs past the end of the log. It
// returns an error only when the super itself is unusable.
func readLog(r io.ReaderAt, size int64, present func(off, n int64) (bool, error)) (*lwLog, error) {
	var sb [28]byte
	if _, err := r.ReadAt(sb[:], 0); err != nil {
		return nil, fmt.Errorf("read the log's super block: %w", err)
	}
	if m := binary.LittleEndian.Uint64(sb[0:]); m != lwMagic {
		return nil, fmt.Errorf("not a dm-log-writes log: magic %#x, want %#x", m, uint64(lwMagic))
	}
	if v := binary.LittleEndian.Uint64(sb[8:]); v != lwVersion {
		return nil, fmt.Errorf("dm-log-writes log version %d, want %d", v, lwVersion)
	}
	l := &lwLog{Super: lwSuper{Entries: binary.LittleEndian.Uint64(sb[16:]), SectorSize: binary.LittleEndian.Uint32(sb[24:])}}
	ss := int64(l.Super.SectorSize)
	if ss < 512 || ss > maxSectorSize || ss&(ss-1) != 0 {
		return nil, fmt.Errorf("dm-log-writes log: sector size %d is not a power of two from 512 to %d", ss, maxSectorSize)
	}
	if present == nil {
		present = func(int64, int64) (bool, error) { return true, nil }
	}
	hdr := make([]byte, ss)
	for off := ss; ; {
		if off+ss > size {
			l.Stop = "the end of the log device"
			return l, nil
		}
		if ok, err := present(off, ss); err != nil {
			return nil, err
		} else if !ok {
			l.Stop = fmt.Sprintf("entry %d: its header was never written", len(l.Entries))
			return l, nil
		}
		if _, err := r.ReadAt(hdr, off); err != nil {
			return nil, fmt.Errorf("read log entry %d at byte %d: %w", len(l.Entries), off, err)
		}
		if allZero(hdr) {
			l.Stop = "an empty entry (the end of the log)"
			return l, nil
		}
		e := lwEntry{
			Sector:   binary.LittleEndian.Uint64(hdr[0:]),
			Sectors:  binary.LittleEndian.Uint64(hdr[8:]),
			Flags:    binary.LittleEndian.Uint64(hdr[16:]),
			EntryOff: off,
			DataOff:  off + ss,
		}
		dataLen := binary.LittleEndian.Uint64(hdr[24:])
		if e.Flags&^lwKnown != 0 {
			l.Stop = fmt.Sprintf("entry %d: unknown flags %#x", len(l.Entries), e.Flags)
			return l, nil
		}
		if e.is(lwMark) {
			if dataLen > uint64(ss-lwHeaderSize) {
				l.Stop = fmt.Sprintf("entry %d: a mark of %d bytes does not fit its sector", len(l.Entries), dataLen)
				return l, nil
			}
			e.Mark = string(bytes.TrimRight(hdr[lwHeaderSize:lwHeaderSize+int(dataLen)], "\x00"))
		} else if dataLen != 0 {
			// Inline data is only logged for DAX, which a disk image has not.
			l.Stop = fmt.Sprintf("entry %d: inline data (%d bytes), not supported", len(l.Entries), dataLen)
			return l, nil
		}
		next := off + ss
		if e.hasData() {
			if e.Sectors > uint64((size-next)/ss) {
				l.Stop = fmt.Sprintf("entry %d: %d sectors run past the end of the log", len(l.Entries), e.Sectors)
				return l, nil
			}
			n := int64(e.Sectors) * ss
			if ok, err := present(next, n); err != nil {
				return nil, err
			} else if !ok {
				l.Stop = fmt.Sprintf("entry %d: its data was never completely written", len(l.Entries))
				return l, nil
			}
			next += n
		}
		l.Entries = append(l.Entries, e)
		off = next
	}
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// lwReplay is what replaying a log did.
type lwReplay struct {
	LastFlush    int      // index of the last flush entry, -1 if none
	Applied      int      // writes and discards applied
	FUAAfter     int      // FUA writes after the last flush, applied
	Dropped      int      // writes and discards after the last flush, dropped
	DroppedBytes int64    // their size
	Ambiguous    int      // plain writes over a FUA write's sectors in one flush interval (see replayFlushed)
	Marks        []string // every mark, in log order
}

// replayFlushed writes onto dst (a copy of the data device as it was when
// the log started) what a disk with a volatile write cache must still hold
// after losing its power at the end of the log:
//
//   - every write and discard up to and including the last flush: the
//     target logs a flush only once the flush has completed, together
//     with, just before it, the writes that had completed before the flush
//     was issued, which the flush made durable;
//   - FUA writes after it: a FUA write is durable once it completes, and
//     the target logs it then;
//   - nothing else. The other writes after the last flush had completed,
//     but no flush had covered them: a disk may lose them all, and that is
//     the state this replay builds. (The target keeps writes that no flush
//     has covered yet in memory, not in the log; a cut loses them from the
//     log, so they are dropped without being counted here. The writes after
//     the last flush that are in the log are those of a flush whose own
//     entry the cut kept from being written.)
//
// This is the least a correct disk may keep. It is the worst case for
// ordering bugs of the kind "published before it was durable" (a rename
// made durable while the file's data was not): any write that was not
// flushed is gone, so anything made visible that depended on one shows.
// A disk may also keep any subset of the unflushed writes; those states are
// not built here.
//
// The target does not hold a flush back until it is logged: it completes
// the flush to the file system as soon as the data device has, then queues
// it for the log, so the log may lack flushes the guest saw complete (see
// logReplay for how the check allows for that).
//
// One order the log cannot tell: a plain write is logged with the flush
// that covered it, after any FUA write that completed in the meantime, so
// when both wrote the same sectors the log does not say which completed
// last. They are replayed in log order (the plain write wins) and counted
// as Ambiguous.
//
// A discard is replayed as zeros: after a discard, reads may return zeros
// or the old data, and zeros is the state in which a missing write shows.
//
// dst is devSize bytes long; an entry that would write past its end is an
// error.
func replayFlushed(l *lwLog, log io.ReaderAt, dst io.WriterAt, devSize int64) (*lwReplay, error) {
	rep := &lwReplay{LastFlush: -1}
	for i, e := range l.Entries {
		if e.is(lwFlush) {
			rep.LastFlush = i
		}
		if e.is(lwMark) {
			rep.Marks = append(rep.Marks, e.Mark)
		}
	}
	ss := int64(l.Super.SectorSize)
	buf := make([]byte, 1<<20)
	var fua [][2]uint64 // sector ranges FUA-written since the last flush
	for i, e := range l.Entries {
		if e.is(lwMark) || e.Sectors == 0 {
			if e.is(lwFlush) {
				fua = fua[:0]
			}
			continue
		}
		end := e.Sector + e.Sectors
		if e.is(lwFUA) && !e.is(lwFlush) {
			fua = append(fua, [2]uint64{e.Sector, end})
		} else if !e.is(lwFlush) {
			for _, r := range fua {
				if e.Sector < r[1] && r[0] < end {
					rep.Ambiguous++
					break
				}
			}
		}
		if e.is(lwFlush) {
			fua = fua[:0]
		}
		if i > rep.LastFlush && !e.is(lwFUA) {
			rep.Dropped++
			rep.DroppedBytes += int64(e.Sectors) * ss
			continue
		}
		if i > rep.LastFlush {
			rep.FUAAfter++
		}
		rep.Applied++
		if e.Sector > uint64(devSize/ss) || e.Sectors > uint64(devSize/ss)-e.Sector {
			return nil, fmt.Errorf("log entry at byte %d: sectors %d+%d are past the end of the %d-byte disk", e.EntryOff, e.Sector, e.Sectors, devSize)
		}
		if err := copyEntry(e, ss, log, dst, buf); err != nil {
			return nil, err
		}
	}
	return rep, nil
}

// copyEntry applies one write (or discard, as zeros) to dst.
func copyEntry(e lwEntry, ss int64, log io.ReaderAt, dst io.WriterAt, buf []byte) error {
	to, n := int64(e.Sector)*ss, int64(e.Sectors)*ss
	if e.is(lwDiscard) {
		clear(buf)
	}
	for done := int64(0); done < n; {
		chunk := min(n-done, int64(len(buf)))
		if !e.is(lwDiscard) {
			if _, err := log.ReadAt(buf[:chunk], e.DataOff+done); err != nil {
				return fmt.Errorf("read the data of the log entry at byte %d: %w", e.EntryOff, err)
			}
		}
		if _, err := dst.WriteAt(buf[:chunk], to+done); err != nil {
			return fmt.Errorf("replay the log entry at byte %d: %w", e.EntryOff, err)
		}
		done += chunk
	}
	return nil
}
