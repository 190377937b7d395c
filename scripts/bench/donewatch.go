package main

import (
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/fsnotify/fsnotify"
	"github.com/queuectl/queuectl/internal/spool"
)

// doneWatch counts the jobs in a spool's done/ from file notifications,
// so that a drain is timed without listing done/ over and over: a listing
// of 2,000 names costs about 1 ms of CPU, and one every 2 ms took a tenth
// of this 2-core machine from the workers being timed.
type doneWatch struct {
	s    *spool.Spool
	w    *fsnotify.Watcher
	seen map[string]bool
}

// watchDone starts counting: what done/ holds now, and what arrives.
func watchDone(s *spool.Spool) *doneWatch {
	w, err := fsnotify.NewBufferedWatcher(1 << 16)
	if err != nil {
		fatalf("watch done/: %v", err)
	}
	if err := w.Add(s.StateDir(spool.Done)); err != nil {
		fatalf("watch done/: %v", err)
	}
	d := &doneWatch{s: s, w: w}
	d.relist()
	return d
}

// relist counts done/ from a listing: at the start, and when events were
// lost.
func (d *doneWatch) relist() {
	des, err := os.ReadDir(d.s.StateDir(spool.Done))
	if err != nil {
		fatalf("list done/: %v", err)
	}
	d.seen = make(map[string]bool, len(des))
	for _, de := range des {
		d.note(de.Name())
	}
}

// wait returns the time at which done/ held n jobs, waiting at most
// timeout for it; what names the workload in the error.
func (d *doneWatch) wait(n int, timeout time.Duration, what string) time.Time {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	safety := time.NewTicker(time.Second) // a listing now and then, should an event go missing
	defer safety.Stop()
	for len(d.seen) < n {
		select {
		case ev := <-d.w.Events:
			if ev.Op.Has(fsnotify.Create) {
				d.note(filepath.Base(ev.Name))
			}
		case err := <-d.w.Errors:
			log.Printf("watch done/: %v; listing it", err)
			d.relist()
		case <-safety.C:
			d.relist() // about a millisecond for 2,000 names, once a second
		case <-deadline.C:
			fatalf("%s: %d of %d jobs in done/ after %v", what, len(d.seen), n, timeout)
		}
	}
	return time.Now()
}

// note counts the file name in done/ if it is a job's.
func (d *doneWatch) note(name string) {
	if id, err := spool.IDFromName(name); err == nil {
		d.seen[id] = true
	}
}

func (d *doneWatch) close() { d.w.Close() }
