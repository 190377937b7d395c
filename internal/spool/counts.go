package spool

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/gofrs/flock"
)

// Counters of runs that survive the workers that counted them.
//
// A worker counts in memory: the job path pays nothing per job. With its
// heartbeat (every few seconds) and as it exits, the worker writes its
// counts to workers/<id>.counts (SaveCounts), a file only it writes. When
// a worker's files go (its own Close, or the removal of a dead worker's
// files under its lock), its counts are first folded into the spool-wide
// totals, workers/.totals.json, under the totals lock. A reader (Counts)
// adds the totals and every worker file not folded yet.
//
// Totals never go backwards: every worker file carries a key of its own
// (the worker's id and a random part, new at each Register), and the
// totals keep the keys of the files they hold. A fold that crashed after
// writing the totals and before removing the worker file does not add it
// twice; a reader that read a worker file just before it was folded reads
// the totals after, finds the key there, and does not add it twice either.
// A worker that crashes loses what it counted since its last save: a few
// seconds of runs (a power cut may lose more, as the worker files are not
// fsynced; the totals are).

// Names in workers/ that are not a worker's: a worker id never starts with
// a dot.
const (
	totalsName      = ".totals.json"
	totalsLockName  = ".totals.lock"
	metricsLockName = ".metrics.lock"
	countsExt       = ".counts"
	keepFolded      = 256 // keys of folded files kept in the totals
)

// Counts are counters of runs: how many ended in each outcome, and a
// histogram of their durations. The histogram's buckets are kept apart
// (not cumulative), keyed by their upper bound as text, so that counts
// taken with other bounds still add up.
type Counts struct {
	Runs    map[string]uint64 `json:"runs,omitempty"`    // outcome: runs
	Buckets map[string]uint64 `json:"buckets,omitempty"` // upper bound: runs that took at most that, and more than the bound below
	Count   uint64            `json:"count"`             // runs in the histogram
	Sum     float64           `json:"sum"`               // their seconds, added up
}

// Add adds o to c.
func (c *Counts) Add(o Counts) {
	c.Runs = addMap(c.Runs, o.Runs)
	c.Buckets = addMap(c.Buckets, o.Buckets)
	c.Count += o.Count
	c.Sum += o.Sum
}

// Clone returns a copy of c that shares nothing with it.
func (c *Counts) Clone() Counts {
	var o Counts
	o.Add(*c)
	return o
}

func addMap(to, from map[string]uint64) map[string]uint64 {
	if len(from) > 0 && to == nil {
		to = make(map[string]uint64, len(from))
	}
	for k, v := range from {
		to[k] += v
	}
	return to
}

// workerCounts is a worker's file of counts.
type workerCounts struct {
	Key string `json:"key"`
	Counts
}

// totals is the spool-wide file of the counts of workers that are gone.
type totals struct {
	Counts
	Folded []string `json:"folded"` // keys of the worker files added, oldest first
}

// newCountsKey returns a key for the counts of a new registration of
// worker id: the id and a random part.
func newCountsKey(id string) string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return id + "/" + hex.EncodeToString(b[:])
}

func (s *Spool) totalsPath() string { return filepath.Join(s.root, dirWorkers, totalsName) }

// SaveCounts writes the worker's counts, which hold everything it counted
// since it registered. Like a heartbeat it is not fsynced.
func (r *Registration) SaveCounts(c Counts) error {
	data, err := json.Marshal(workerCounts{Key: r.key, Counts: c})
	if err != nil {
		return err
	}
	tmp := r.s.tempPath("counts-" + r.id)
	if err := os.WriteFile(tmp, data, r.s.fileMode()); err != nil {
		return fmt.Errorf("save counts of worker %s: %w", r.id, err)
	}
	if err := renameOver(tmp, r.s.workerPath(r.id, countsExt)); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("save counts of worker %s: %w", r.id, err)
	}
	return nil
}

// foldCounts adds the counts file of worker id, which the caller holds the
// lock of (the worker is gone, or going), to the totals and removes it.
func (s *Spool) foldCounts(id string) error {
	path := s.workerPath(id, countsExt)
	data, err := readEntry(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("fold counts of worker %s: %w", id, err)
	}
	var wc workerCounts
	if err := json.Unmarshal(data, &wc); err != nil || wc.Key == "" {
		os.Remove(path) // not ours to read; nothing to add
		return fmt.Errorf("fold counts of worker %s: not a counts file", id)
	}
	l := flock.New(filepath.Join(s.root, dirWorkers, totalsLockName), flock.SetPermissions(s.fileMode()))
	if err := l.Lock(); err != nil {
		return fmt.Errorf("fold counts of worker %s: lock totals: %w", id, err)
	}
	defer l.Close()
	t, err := s.readTotals()
	if err != nil {
		return fmt.Errorf("fold counts of worker %s: %w", id, err)
	}
	if !slices.Contains(t.Folded, wc.Key) {
		t.Add(wc.Counts)
		t.Folded = append(t.Folded, wc.Key)
		if n := len(t.Folded); n > keepFolded {
			t.Folded = slices.Clone(t.Folded[n-keepFolded:])
		}
		out, err := json.Marshal(t)
		if err == nil {
			// Durable before the worker file goes: the totals are all
			// that is left of it then.
			err = s.replace(s.totalsPath(), "totals", out)
		}
		if err != nil {
			return fmt.Errorf("fold counts of worker %s: %w", id, err)
		}
	}
	crashPoint("counts/folded")
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("fold counts of worker %s: %w", id, err)
	}
	return nil
}

// readReplaced is readEntry for a file that is replaced by renames (the
// totals, a worker's counts): one replaced while it was opened is read
// again, not taken for gone.
func readReplaced(path string) ([]byte, error) {
	for try := 0; ; try++ {
		data, err := readEntry(path)
		if !errors.Is(err, errReplaced) || try == 100 {
			return data, err
		}
	}
}

func (s *Spool) readTotals() (totals, error) {
	var t totals
	data, err := readReplaced(s.totalsPath())
	if errors.Is(err, fs.ErrNotExist) {
		return t, nil
	}
	if err == nil {
		err = json.Unmarshal(data, &t)
	}
	if err != nil {
		return t, fmt.Errorf("read totals: %w", err)
	}
	return t, nil
}

// Counts returns the counts of every worker, live, dead or gone: the totals
// plus the worker files not folded into them yet. It changes nothing, and
// never goes backwards as workers come and go (see foldCounts): the worker
// files are read first, the totals after.
func (s *Spool) Counts() (Counts, error) {
	des, err := os.ReadDir(s.WorkerDir())
	if s.missing(err) {
		return Counts{}, nil
	}
	if err != nil {
		return Counts{}, fmt.Errorf("read counts: %w", err)
	}
	var files []workerCounts
	for _, de := range des {
		if !strings.HasSuffix(de.Name(), countsExt) || strings.HasPrefix(de.Name(), ".") {
			continue
		}
		data, err := readReplaced(filepath.Join(s.WorkerDir(), de.Name()))
		var wc workerCounts
		if err != nil || json.Unmarshal(data, &wc) != nil || wc.Key == "" {
			continue // folded meanwhile (the totals have it), or not ours
		}
		files = append(files, wc)
	}
	t, err := s.readTotals()
	if err != nil {
		return Counts{}, err
	}
	c := t.Clone()
	for _, wc := range files {
		if !slices.Contains(t.Folded, wc.Key) {
			c.Add(wc.Counts)
		}
	}
	return c, nil
}

// MetricsLock is held by the one worker that keeps the metrics file.
type MetricsLock struct{ l *flock.Flock }

// TryLockMetrics takes the metrics lock without waiting; ok is false when
// another worker holds it.
func (s *Spool) TryLockMetrics() (lock *MetricsLock, ok bool, err error) {
	l := flock.New(filepath.Join(s.root, dirWorkers, metricsLockName), flock.SetPermissions(s.fileMode()))
	ok, err = l.TryLock()
	if err != nil || !ok {
		l.Close()
		return nil, false, err
	}
	return &MetricsLock{l}, true, nil
}

// Release lets another worker take the lock.
func (m *MetricsLock) Release() { m.l.Close() }
