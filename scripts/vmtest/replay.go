//go:build linux

package main

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

// seekHole is lseek(2)'s SEEK_HOLE: the offset of the next hole at or
// after the given one (the end of the file counts as one).
const seekHole = 4

// logReplay rebuilds, after a power cut, the disk a guest wrote through
// dm-log-writes as a disk with a volatile write cache would have kept it:
// -image is a copy of the data device as it was when the log began, and
// is changed in place (see replayFlushed). -written, the data device as
// the guest left it (every completed write), is compared with the result
// to show what the replay took away. -marks gets the log's marks, one a
// line, with commas turned into spaces ("ACK,id" becomes "ACK id").
//
// The log lags the guest: the target completes a flush to the guest as
// soon as the data device has, and only then queues it to be logged, so
// the guest may have seen flushes (and acted on them) that the cut kept
// out of the log. What the guest did is therefore taken from the marks it
// put in the log after each acknowledgement and at the start of each run:
// a mark is queued after the flush that made the acknowledged state
// durable, so a mark in the log proves that flush is in the log too, at
// or before the last flush this replay keeps.
func logReplay(args []string) error {
	fs := flag.NewFlagSet("replay", flag.ExitOnError)
	logPath := fs.String("log", "", "the dm-log-writes log device's image")
	imgPath := fs.String("image", "", "a copy of the data device as the log began; replayed in place")
	written := fs.String("written", "", "the data device as the guest left it, to count what the replay dropped")
	marksPath := fs.String("marks", "", "write the log's marks to this file")
	_ = fs.Parse(args)
	if *logPath == "" || *imgPath == "" {
		return errors.New("replay: -log and -image are required")
	}
	lf, err := os.Open(*logPath)
	if err != nil {
		return err
	}
	defer lf.Close()
	st, err := lf.Stat()
	if err != nil {
		return err
	}
	present := func(off, n int64) (bool, error) {
		hole, err := lf.Seek(off, seekHole)
		if err != nil {
			return false, fmt.Errorf("seek a hole in %s: %w", *logPath, err)
		}
		return hole >= off+n, nil
	}
	l, err := readLog(lf, st.Size(), present)
	if err != nil {
		return fmt.Errorf("%s: %w", *logPath, err)
	}
	img, err := os.OpenFile(*imgPath, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer img.Close()
	ist, err := img.Stat()
	if err != nil {
		return err
	}
	rep, err := replayFlushed(l, lf, img, ist.Size())
	if err != nil {
		return err
	}
	if err := img.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", *imgPath, err)
	}
	var flushes, fuas int
	for _, e := range l.Entries {
		if e.is(lwFlush) {
			flushes++
		}
		if e.is(lwFUA) {
			fuas++
		}
	}
	fmt.Printf("log: %d entries (%d flushes, %d FUA, %d marks; the super counted %d), read up to %s\n",
		len(l.Entries), flushes, fuas, len(rep.Marks), l.Super.Entries, l.Stop)
	fmt.Printf("replay: %d writes applied (%d of them FUA after the last flush, entry %d; %d plain writes over a FUA write's sectors); dropped %d logged writes after the last flush (%d KiB)",
		rep.Applied, rep.FUAAfter, rep.LastFlush, rep.Ambiguous, rep.Dropped, rep.DroppedBytes>>10)
	if *written != "" {
		diff, total, err := diffBlocks(*imgPath, *written, 4096)
		if err != nil {
			return err
		}
		fmt.Printf("; the replayed disk differs from the disk as written in %d of %d 4 KiB blocks", diff, total)
	}
	fmt.Println()
	if rep.LastFlush < 0 {
		return errors.New("replay: the log has no flush: the guest did not get far enough")
	}
	if *marksPath != "" {
		var b strings.Builder
		for _, m := range rep.Marks {
			b.WriteString(strings.ReplaceAll(m, ",", " ") + "\n")
		}
		if err := os.WriteFile(*marksPath, []byte(b.String()), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// diffBlocks counts the blocks of size bs in which files a and b differ.
func diffBlocks(a, b string, bs int) (diff, total int, err error) {
	fa, err := os.Open(a)
	if err != nil {
		return 0, 0, err
	}
	defer fa.Close()
	fb, err := os.Open(b)
	if err != nil {
		return 0, 0, err
	}
	defer fb.Close()
	ra, rb := bufio.NewReaderSize(fa, 1<<20), bufio.NewReaderSize(fb, 1<<20)
	pa, pb := make([]byte, bs), make([]byte, bs)
	for {
		na, ea := io.ReadFull(ra, pa)
		nb, eb := io.ReadFull(rb, pb)
		if na == 0 && nb == 0 {
			return diff, total, nil
		}
		total++
		if na != nb || !bytes.Equal(pa[:na], pb[:nb]) {
			diff++
		}
		for _, e := range []error{ea, eb} {
			if e != nil && e != io.EOF && e != io.ErrUnexpectedEOF {
				return 0, 0, fmt.Errorf("compare %s with %s: %w", a, b, e)
			}
		}
	}
}
