package spool

import (
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// Limits of the record pool (see recordPool).
const (
	poolMinAge = 100 * time.Millisecond // a pooled file is written again no sooner
	poolMax    = 256                    // files kept at most; others are removed
)

// recordPool keeps the files that outcome records displaced from
// processing/, to be written again as later records. Creating a file costs
// an inode, and on some file systems allocating one is the dearest step of
// a short job (ext4 without a journal skips every inode freed in the last
// half minute, so the cost grows with the rate of jobs). Where a rename
// can exchange two names in one step (Linux), a record is exchanged with
// the leased file rather than renamed over it: the old file moves to the
// record's name in tmp/, still open and locked by this process, and is
// reused for a later record instead of being freed.
//
// A pooled file waits at least poolMinAge before it is written again: a
// reader that opened it at its old name just before the exchange has read
// it by then (and one that has not finds another job's id in it, which
// the parser refuses as not matching the file name).
//
// Only a process that asked for it (KeepRecords: a worker, which drops the
// pool as it stops) keeps files; in any other a record replaces the leased
// file as before, so that a command that commits an outcome (cancel,
// recovery) leaves nothing in tmp/.
type recordPool struct {
	on    atomic.Bool
	mu    sync.Mutex
	files []pooled // oldest first
}

type pooled struct {
	f     *os.File // open, locked
	path  string   // in tmp/
	since time.Time
}

// take returns the oldest pooled file if it has waited long enough.
func (p *recordPool) take(now time.Time) (pooled, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.files) == 0 || now.Sub(p.files[0].since) < poolMinAge {
		return pooled{}, false
	}
	e := p.files[0]
	p.files[0] = pooled{}
	p.files = p.files[1:]
	return e, true
}

// put adds f, open and locked at path in tmp/, to the pool; if the pool is
// full, f is removed instead.
func (p *recordPool) put(f *os.File, path string, now time.Time) {
	p.mu.Lock()
	if len(p.files) < poolMax {
		p.files = append(p.files, pooled{f: f, path: path, since: now})
		p.mu.Unlock()
		return
	}
	p.mu.Unlock()
	os.Remove(path)
	f.Close()
}

// drain removes every pooled file.
func (p *recordPool) drain() {
	p.mu.Lock()
	files := p.files
	p.files = nil
	p.mu.Unlock()
	for _, e := range files {
		os.Remove(e.path)
		e.f.Close()
	}
}

// KeepRecords makes this process keep the job files that outcome records
// displace, for reuse as later records (see recordPool), until
// DropRecords.
func (s *Spool) KeepRecords() { s.pool.on.Store(true) }

// DropRecords removes the files kept for reuse as records (see
// recordPool); a worker calls it as it stops. Records written later create
// their files anew.
func (s *Spool) DropRecords() { s.pool.drain() }

// createRecord is createTempLocked for an outcome record: a pooled file is
// written again where there is one.
func (s *Spool) createRecord(hint string, data []byte, sync bool) (string, *os.File, error) {
	if e, ok := s.pool.take(time.Now()); ok {
		if err := rewriteRecord(e.f, e.path, data, s.fileMode(), sync); err == nil {
			return e.path, e.f, nil
		}
		os.Remove(e.path)
		e.f.Close()
	}
	return s.createTempLocked(hint, data, sync)
}

// rewriteRecord writes data as the whole contents of the pooled file f,
// open and locked at path, with mode (a pooled file may carry a claim's
// mark: see markClaimed). f may be open for reading only (a claim opens
// job files so): the contents are written through a second descriptor,
// opened at path and checked to be the same file; f keeps the lock.
func rewriteRecord(f *os.File, path string, data []byte, mode os.FileMode, sync bool) error {
	if err := f.Chmod(mode); err != nil {
		return err
	}
	wf, err := openWrite(path)
	if err != nil {
		return err
	}
	err = sameOpen(f, wf)
	if err == nil {
		_, err = wf.WriteAt(data, 0)
	}
	if err == nil {
		err = wf.Truncate(int64(len(data)))
	}
	if cerr := wf.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	crashPoint("temp/written")
	if sync {
		if err := f.Sync(); err != nil {
			return err
		}
		crashPoint("temp/synced")
	}
	return nil
}

// sameOpen checks that the open files a and b are the same file.
func sameOpen(a, b *os.File) error {
	ai, err := a.Stat()
	if err != nil {
		return err
	}
	bi, err := b.Stat()
	if err != nil {
		return err
	}
	if !os.SameFile(ai, bi) {
		return errReplaced
	}
	return nil
}
