//go:build linux

package main

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// logBuilder writes a dm-log-writes log by hand, the way the kernel lays
// it out: the super at byte 0, entries from one sector on.
type logBuilder struct {
	ss      int
	buf     []byte
	entries int
}

func newLog(ss int) *logBuilder { return &logBuilder{ss: ss, buf: make([]byte, ss)} }

func (b *logBuilder) entry(sector, sectors, flags uint64, mark string, data []byte) *logBuilder {
	h := make([]byte, b.ss)
	binary.LittleEndian.PutUint64(h[0:], sector)
	binary.LittleEndian.PutUint64(h[8:], sectors)
	binary.LittleEndian.PutUint64(h[16:], flags)
	binary.LittleEndian.PutUint64(h[24:], uint64(len(mark)))
	copy(h[lwHeaderSize:], mark)
	b.buf = append(b.buf, h...)
	b.buf = append(b.buf, data...)
	b.entries++
	return b
}

// write logs a write of n sectors at sector, each filled with fill.
func (b *logBuilder) write(sector uint64, n int, flags uint64, fill byte) *logBuilder {
	return b.entry(sector, uint64(n), flags, "", bytes.Repeat([]byte{fill}, n*b.ss))
}

// bytes returns the log with a super counting superEntries entries
// (the kernel's count lags), followed by pad zero bytes.
func (b *logBuilder) bytes(superEntries uint64, pad int) []byte {
	out := append([]byte(nil), b.buf...)
	binary.LittleEndian.PutUint64(out[0:], lwMagic)
	binary.LittleEndian.PutUint64(out[8:], lwVersion)
	binary.LittleEndian.PutUint64(out[16:], superEntries)
	binary.LittleEndian.PutUint32(out[24:], uint32(b.ss))
	return append(out, make([]byte, pad)...)
}

// memDisk is an in-memory data device.
type memDisk []byte

func (d memDisk) WriteAt(p []byte, off int64) (int, error) { return copy(d[off:], p), nil }

func TestReadLogAndReplay(t *testing.T) {
	const ss = 512
	// A history the kernel could write: two writes made durable by a
	// flush, a FUA write, a mark, a flush with data (a journal commit),
	// then, after the last flush, a plain write, a FUA write, a discard
	// and an acknowledgement mark.
	b := newLog(ss).
		write(0, 3, 0, 'a').
		write(4, 1, lwMetadata, 'b').
		entry(0, 0, lwFlush, "", nil).
		write(6, 1, lwFUA, 'c').
		entry(0, 0, lwMark, "ACK,j-1", nil).
		write(1, 1, lwFlush|lwFUA, 'd').
		write(2, 1, 0, 'x').
		write(7, 1, lwFUA, 'e').
		entry(3, 1, lwDiscard, "", nil).
		entry(0, 0, lwMark, "RUN,j-1,1", nil)
	data := b.bytes(5, 4*ss)

	l, err := readLog(bytes.NewReader(data), int64(len(data)), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Entries) != b.entries || l.Super.Entries != 5 || l.Super.SectorSize != ss {
		t.Fatalf("read %d entries, super %+v; want %d entries, super count 5, sector size %d", len(l.Entries), l.Super, b.entries, ss)
	}
	if !strings.Contains(l.Stop, "empty entry") {
		t.Errorf("stopped at %q, want the empty entry after the log", l.Stop)
	}
	if got := l.Entries[4].Mark; got != "ACK,j-1" {
		t.Errorf("mark %q, want ACK,j-1", got)
	}

	disk := memDisk(bytes.Repeat([]byte{'0'}, 8*ss))
	rep, err := replayFlushed(l, bytes.NewReader(data), disk, int64(len(disk)))
	if err != nil {
		t.Fatal(err)
	}
	// Sectors: 0-2 a, then 1 d; 2 a (the later x was never flushed);
	// 3 untouched (the discard came after the last flush); 4 b; 5 old;
	// 6 c; 7 e (FUA, durable though after the last flush).
	const want = "ada0b0ce"
	var got strings.Builder
	for s := 0; s < 8; s++ {
		got.WriteByte(disk[s*ss])
		if !bytes.Equal(disk[s*ss:(s+1)*ss], bytes.Repeat(disk[s*ss:s*ss+1], ss)) {
			t.Errorf("sector %d is not filled with one byte: a write was torn", s)
		}
	}
	if got.String() != want {
		t.Errorf("replayed sectors %q, want %q", got.String(), want)
	}
	if rep.LastFlush != 5 || rep.Dropped != 2 || rep.DroppedBytes != 2*ss || rep.FUAAfter != 1 || rep.Applied != 5 {
		t.Errorf("replay %+v: want last flush 5, 2 dropped (%d bytes), 1 FUA after, 5 applied", rep, 2*ss)
	}
	if strings.Join(rep.Marks, " ") != "ACK,j-1 RUN,j-1,1" {
		t.Errorf("marks %q", rep.Marks)
	}
}

func TestReadLogStops(t *testing.T) {
	const ss = 4096
	good := newLog(ss).write(10, 2, 0, 'a').entry(0, 0, lwFlush, "", nil)
	base := good.bytes(0, 0)
	tests := []struct {
		name    string
		log     func() []byte
		present func(off, n int64) (bool, error)
		entries int
		stop    string
	}{
		{"end of the device", func() []byte { return base }, nil, 2, "end of the log device"},
		{"data past the end", func() []byte {
			return newLog(ss).write(0, 1, lwFlush, 'a').entry(0, 1<<40, 0, "", nil).bytes(0, ss)
		}, nil, 1, "past the end"},
		{"unknown flags", func() []byte {
			return append(newLog(ss).entry(0, 0, lwFlush, "", nil).entry(0, 0, 1<<9, "", nil).bytes(0, 0), make([]byte, ss)...)
		}, nil, 1, "unknown flags"},
		{"a mark too long", func() []byte {
			l := newLog(ss).entry(0, 0, lwFlush, "", nil).entry(0, 0, lwMark, "m", nil).bytes(0, ss)
			binary.LittleEndian.PutUint64(l[2*ss+24:], ss)
			return l
		}, nil, 1, "does not fit"},
		{"header never written", func() []byte { return good.bytes(0, 2*ss) },
			func(off, n int64) (bool, error) { return off < int64(len(base)), nil }, 2, "header was never written"},
		{"data never written", func() []byte { return good.bytes(0, ss) },
			func(off, n int64) (bool, error) { return off != 2*ss, nil }, 0, "data was never completely written"},
		{"inline data", func() []byte {
			l := newLog(ss).entry(0, 0, lwFlush, "", nil).entry(0, 0, 0, "x", nil).bytes(0, ss)
			return l
		}, nil, 1, "inline data"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := tt.log()
			l, err := readLog(bytes.NewReader(data), int64(len(data)), tt.present)
			if err != nil {
				t.Fatal(err)
			}
			if len(l.Entries) != tt.entries || !strings.Contains(l.Stop, tt.stop) {
				t.Errorf("%d entries, stopped at %q; want %d, %q", len(l.Entries), l.Stop, tt.entries, tt.stop)
			}
		})
	}
}

func TestReadLogBadSuper(t *testing.T) {
	good := newLog(512).bytes(0, 512)
	tests := []struct {
		name  string
		patch func(b []byte)
		want  string
	}{
		{"magic", func(b []byte) { b[0] ^= 1 }, "not a dm-log-writes log"},
		{"version", func(b []byte) { b[8] = 2 }, "version 2"},
		{"sector size", func(b []byte) { binary.LittleEndian.PutUint32(b[24:], 1000) }, "sector size 1000"},
		{"short", nil, "super block"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := append([]byte(nil), good...)
			if tt.patch != nil {
				tt.patch(b)
			} else {
				b = b[:10]
			}
			_, err := readLog(bytes.NewReader(b), int64(len(b)), nil)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one saying %q", err, tt.want)
			}
		})
	}
}

// TestLogReplayCommand runs the host command on files, holes included:
// the log file is sparse past its last entry, as the script makes it.
func TestLogReplayCommand(t *testing.T) {
	dir := t.TempDir()
	const ss = 4096
	log := newLog(ss).
		write(1, 1, 0, 'a').
		entry(0, 0, lwFlush, "", nil).
		entry(0, 0, lwMark, "ACK,c1-1", nil).
		write(2, 1, 0, 'b').
		bytes(2, 0)
	logPath, img, written := filepath.Join(dir, "log.img"), filepath.Join(dir, "disk.img"), filepath.Join(dir, "written.img")
	if err := os.WriteFile(logPath, log, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(logPath, int64(len(log))+64*ss); err != nil { // a sparse tail
		t.Fatal(err)
	}
	if err := os.WriteFile(img, make([]byte, 4*ss), 0o644); err != nil {
		t.Fatal(err)
	}
	w := make([]byte, 4*ss)
	copy(w[ss:], bytes.Repeat([]byte{'a'}, ss))
	copy(w[2*ss:], bytes.Repeat([]byte{'b'}, ss))
	if err := os.WriteFile(written, w, 0o644); err != nil {
		t.Fatal(err)
	}
	marks := filepath.Join(dir, "marks")
	if err := logReplay([]string{"-log", logPath, "-image", img, "-written", written, "-marks", marks}); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(img)
	if err != nil {
		t.Fatal(err)
	}
	if got[ss] != 'a' || got[2*ss] != 0 {
		t.Errorf("replayed image: sector 1 %q, sector 2 %q; want the flushed a, not the unflushed b", got[ss], got[2*ss])
	}
	if m, _ := os.ReadFile(marks); string(m) != "ACK c1-1\n" {
		t.Errorf("marks file %q", m)
	}
	if d, n, err := diffBlocks(img, written, ss); err != nil || d != 1 || n != 4 {
		t.Errorf("diffBlocks = %d of %d, %v; want 1 of 4", d, n, err)
	}
}

// FuzzReadLog feeds the reader logs it did not write: it must not panic,
// loop or hand the replay an entry whose data lies outside the log.
func FuzzReadLog(f *testing.F) {
	f.Add(newLog(512).write(0, 1, 0, 'a').entry(0, 0, lwFlush, "", nil).entry(0, 0, lwMark, "ACK,x", nil).bytes(3, 512))
	f.Add(newLog(4096).write(3, 2, lwFUA, 'b').bytes(1, 0))
	f.Fuzz(func(t *testing.T, data []byte) {
		l, err := readLog(bytes.NewReader(data), int64(len(data)), nil)
		if err != nil {
			return
		}
		ss := int64(l.Super.SectorSize)
		for _, e := range l.Entries {
			if e.hasData() && e.DataOff+int64(e.Sectors)*ss > int64(len(data)) {
				t.Fatalf("entry at %d: data past the end of a %d-byte log", e.EntryOff, len(data))
			}
		}
		// A fuzzed entry may point past the disk: an error, not a panic.
		_, _ = replayFlushed(l, bytes.NewReader(data), discardDisk{}, 1<<20)
	})
}

// discardDisk takes any write.
type discardDisk struct{}

func (discardDisk) WriteAt(p []byte, _ int64) (int, error) { return len(p), nil }

// TestReplayAmbiguous: a plain write logged (with its flush) after a FUA
// write to the same sector may have completed before or after it; the
// replay keeps log order and counts the case.
func TestReplayAmbiguous(t *testing.T) {
	const ss = 512
	b := newLog(ss).
		write(2, 1, lwFUA, 'f').
		write(2, 2, 0, 'p'). // over the FUA write: ambiguous
		write(9, 1, 0, 'q'). // elsewhere: not
		entry(0, 0, lwFlush, "", nil).
		write(3, 1, 0, 'r'). // a new flush interval: the FUA write is no longer in it
		entry(0, 0, lwFlush, "", nil)
	data := b.bytes(0, ss)
	l, err := readLog(bytes.NewReader(data), int64(len(data)), nil)
	if err != nil {
		t.Fatal(err)
	}
	disk := make(memDisk, 16*ss)
	rep, err := replayFlushed(l, bytes.NewReader(data), disk, int64(len(disk)))
	if err != nil {
		t.Fatal(err)
	}
	if rep.Ambiguous != 1 || disk[2*ss] != 'p' || disk[3*ss] != 'r' {
		t.Errorf("ambiguous %d, sector 2 %q, sector 3 %q; want 1, p, r", rep.Ambiguous, disk[2*ss], disk[3*ss])
	}
}
