package worker

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/fsnotify/fsnotify"
	"github.com/queuectl/queuectl/internal/config"
	"github.com/queuectl/queuectl/internal/job"
	"github.com/queuectl/queuectl/internal/spool"
)

// watch starts notifications on the claimable directories, on done/ and
// dead/ (the moves that waiting jobs wait for), the workers directory (stop
// flags) and the configuration file's directory.
// It returns nil and no error where notifications are not to be relied on.
func (w *Worker) watch() (*fsnotify.Watcher, error) {
	if !w.notifications() {
		return nil, nil
	}
	watcher, err := fsnotify.NewBufferedWatcher(4096)
	if err != nil {
		return nil, err
	}
	dirs := []string{w.s.StateDir(spool.Pending), w.s.StateDir(spool.Failed), w.s.StateDir(spool.Done), w.s.StateDir(spool.Dead), w.s.WorkerDir()}
	if w.path != "" {
		dirs = append(dirs, filepath.Dir(w.path))
	}
	for _, d := range dirs {
		if err := watcher.Add(d); err != nil {
			watcher.Close()
			return nil, err
		}
	}
	w.mu.Lock()
	w.watching = true
	w.mu.Unlock()
	return watcher, nil
}

// events applies notifications to the index until ctx ends.
func (w *Worker) events(ctx context.Context, watcher *fsnotify.Watcher) {
	pending, failed := w.s.StateDir(spool.Pending), w.s.StateDir(spool.Failed)
	done, dead := w.s.StateDir(spool.Done), w.s.StateDir(spool.Dead)
	for {
		select {
		case <-ctx.Done():
			return
		case err, ok := <-watcher.Errors:
			if !ok {
				return
			}
			// Most often an overflow of the kernel's event queue: events
			// were lost, so look at everything again.
			w.log.Warn("file notifications lost; rescanning", "err", err)
			w.mu.Lock()
			w.rescan = true
			w.mu.Unlock()
			w.signal()
		case ev, ok := <-watcher.Events:
			if !ok {
				return
			}
			dir, name := filepath.Dir(ev.Name), filepath.Base(ev.Name)
			switch {
			case dir == pending:
				w.update(spool.Pending, name, ev.Op)
			case dir == failed:
				w.update(spool.Failed, name, ev.Op)
			case dir == done || dir == dead:
				if id, err := spool.IDFromName(name); err == nil {
					w.depChanged(id)
				}
			case dir == w.s.WorkerDir():
				switch {
				case spool.IsStopFlag(name, w.id):
					w.signal()
				case spool.IsPauseFlag(name):
					w.notePaused()
				default:
					if id, ok := spool.CancelFlagJob(name); ok && ev.Op.Has(fsnotify.Create) {
						w.cancelRequested(id)
					}
				}
			case w.path != "" && name == filepath.Base(w.path):
				w.reloadConfig()
			}
		}
	}
}

// update applies one notification about a claimable directory.
func (w *Worker) update(st spool.State, name string, op fsnotify.Op) {
	if spool.Ignored(name) {
		return
	}
	if op.Has(fsnotify.Create) || op.Has(fsnotify.Write) {
		w.inspect(st, name)
		return
	}
	if op.Has(fsnotify.Remove) || op.Has(fsnotify.Rename) {
		// Renamed away or removed; if a new file took the name, its
		// Create event follows.
		k := w.keyOf(st, name)
		w.mu.Lock()
		w.idx.remove(k)
		w.wait.remove(k)
		delete(w.bad, k)
		w.mu.Unlock()
	}
}

// keyOf returns the index key of a file name; names that cannot be ids
// are keyed by the whole name.
func (w *Worker) keyOf(st spool.State, name string) key {
	if id, err := spool.IDFromName(name); err == nil {
		return key{st, id}
	}
	return key{st, "\x00" + name}
}

// inspect reads one file of a claimable directory into the index, or notes
// it as bad; entries that can never become jobs are quarantined at once.
func (w *Worker) inspect(st spool.State, name string) { w.inspectFrom(st, name, readOwn) }

// How inspectFrom reads a file.
const (
	readOwn      = iota // Peek
	readShared          // PeekShared, waiting for another worker's read
	readOrReturn        // PeekShared; false if another worker reads the file now
)

// inspectFrom is inspect; how says whether to take what another worker of
// this process read of the file a moment ago, where the spool shares that
// (see spool.PeekShared): for a rescan without notifications, where all
// the workers of a process read the same new files. It returns false, the
// file not looked at, if another worker is reading it (readOrReturn).
func (w *Worker) inspectFrom(st spool.State, name string, how int) bool {
	k := w.keyOf(st, name)
	var j *job.Job
	var err error
	switch how {
	case readOwn:
		j, err = w.s.Peek(st, name)
	default:
		j, err = w.s.PeekShared(st, name, how == readShared)
		if errors.Is(err, spool.ErrBeingRead) {
			return false
		}
	}
	if err == nil && j.Waits() {
		w.inspectWaiting(k, j)
		return true
	}
	w.mu.Lock()
	w.wait.remove(k) // no job, or one that no longer waits
	w.mu.Unlock()
	switch {
	case err == nil:
		w.mu.Lock()
		delete(w.bad, k)
		w.idx.put(k, j.Priority, j.Due(), j.Order())
		w.mu.Unlock()
		w.signal()
	case errors.Is(err, fs.ErrNotExist):
		w.mu.Lock()
		w.idx.remove(k)
		delete(w.bad, k)
		w.mu.Unlock()
	case errors.Is(err, spool.ErrNotRegular) || errors.Is(err, job.ErrTooLarge):
		w.mu.Lock()
		w.idx.remove(k)
		delete(w.bad, k)
		w.mu.Unlock()
		w.quarantine(st, name, err)
	default:
		w.mu.Lock()
		w.idx.remove(k)
		b, seen := w.bad[k]
		if !seen {
			b.since = time.Now()
		}
		b.reason = err // the latest reason: the file may still have been growing before
		w.bad[k] = b
		w.mu.Unlock()
		if !seen {
			w.signal() // the main loop waits for its grace to end
		}
	}
	return true
}

func (w *Worker) quarantine(st spool.State, name string, reason error) {
	got, err := w.s.Quarantine(st, name, reason.Error())
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		w.log.Error("cannot quarantine", "file", name, "from", st, "err", err)
	default:
		w.log.Warn("rejected", "file", name, "from", st, "to", "rejected/"+got, "reason", reason.Error())
	}
}

// notePaused reads the pause flag again after a change (or at a rescan),
// and logs and wakes the main loop when it has changed.
func (w *Worker) notePaused() {
	now := w.s.Paused()
	if w.paused.Swap(now) != now {
		if now {
			w.log.Info("paused: no new jobs until queuectl resume")
		} else {
			w.log.Info("resumed")
		}
		w.signal()
	}
}

// scan reads the claimable directories and brings the index in line with
// them: new files are read, vanished ones dropped, bad ones quarantined
// once their grace period is over. Files already indexed are not read
// again. It reads the pause flag too, and without notifications the
// configuration file.
func (w *Worker) scan() {
	w.notePaused()
	polling := !w.isWatching()
	if polling {
		w.pollConfig()
	}
	for _, st := range []spool.State{spool.Pending, spool.Failed} {
		names, err := w.listClaimable(st, polling)
		if err != nil {
			w.log.Error("rescan", "state", st, "err", err)
			continue
		}
		present := make(map[key]bool, len(names))
		var later []string // being read by another worker (see inspectFrom)
		for _, name := range names {
			k := w.keyOf(st, name)
			present[k] = true
			w.mu.Lock()
			known := w.idx.has(k) || w.wait.has(k) // a waiting job is not looked at again
			_, isBad := w.bad[k]
			w.mu.Unlock()
			if known || isBad { // a bad file waits for checkBad
				continue
			}
			if !polling {
				w.inspect(st, name)
			} else if !w.inspectFrom(st, name, readOrReturn) {
				later = append(later, name)
			}
		}
		for _, name := range later {
			w.inspectFrom(st, name, readShared)
		}
		var gone []key
		w.mu.Lock()
		for k := range w.idx.items {
			if k.state == st && !present[k] {
				gone = append(gone, k)
			}
		}
		for k := range w.wait.jobs {
			if k.state == st && !present[k] {
				gone = append(gone, k)
			}
		}
		w.mu.Unlock()
		for _, k := range gone {
			// An event may have added the file after the listing: drop
			// only what is really gone. Polling, no event adds anything
			// (and a file dropped wrongly comes back with the next
			// listing), so the lookup, a round trip over NFS, is spared.
			if !polling {
				if _, err := os.Lstat(w.s.Path(st, k.id)); err == nil {
					continue
				}
			}
			w.drop(k)
		}
		w.mu.Lock()
		for k := range w.bad {
			if k.state == st && !present[k] {
				delete(w.bad, k)
			}
		}
		w.mu.Unlock()
	}
}

// listClaimable lists a claimable directory for scan. Polling, every
// worker of the process rescans as often: one listing serves them all where
// the spool shares it (a network spool).
func (w *Worker) listClaimable(st spool.State, polling bool) ([]string, error) {
	if polling {
		return w.s.NamesShared(st, config.Seconds(w.cfg.Load().PollInterval))
	}
	return w.s.Names(st)
}

// badDue returns when the grace of the oldest bad file ends.
func (w *Worker) badDue() (time.Time, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	var first time.Time
	for _, b := range w.bad {
		if first.IsZero() || b.since.Before(first) {
			first = b.since
		}
	}
	return first.Add(quarantineGrace), !first.IsZero()
}

// checkBad looks again at the files that did not parse once their grace
// is over, and quarantines those that still do not, with the reason they
// have then.
func (w *Worker) checkBad() {
	var due []key
	w.mu.Lock()
	for k, b := range w.bad {
		if time.Since(b.since) >= quarantineGrace {
			due = append(due, k)
		}
	}
	w.mu.Unlock()
	for _, k := range due {
		name := k.id + ".json"
		if n, ok := strings.CutPrefix(k.id, "\x00"); ok {
			name = n
		}
		w.inspect(k.state, name)
		w.mu.Lock()
		b, still := w.bad[k]
		delete(w.bad, k)
		w.mu.Unlock()
		if still {
			w.quarantine(k.state, name, b.reason)
		}
	}
}

// reloadConfig reads the configuration file again after it changed; a
// broken file is reported and the previous configuration kept.
func (w *Worker) reloadConfig() {
	c, err := config.Load(w.path)
	if err != nil {
		w.log.Error("configuration not reloaded", "err", err)
		return
	}
	if *c != *w.cfg.Load() {
		w.cfg.Store(c)
		w.s.SetLease(config.Seconds(c.Lease))
		w.log.Info("configuration reloaded", "file", w.path)
		w.signal()
	}
}
