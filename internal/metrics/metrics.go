// Package metrics describes a spool in Prometheus metrics: gauges read from
// the spool (jobs per state, workers per state, the oldest pending job's
// age, the pause flag) and counters of runs that the workers keep (see
// spool.Counts), written in the Prometheus text format. The format is
// written here rather than by client_golang, whose package initialisation
// (collectors, regular expressions, protobuf descriptors) would cost every
// queuectl command, enqueue included, about a millisecond of CPU.
package metrics

import (
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/queuectl/queuectl/internal/spool"
)

// Outcomes of a run, as counted in queuectl_runs_total.
const (
	Done      = "done"      // exit 0
	Failed    = "failed"    // failed, to be retried
	Dead      = "dead"      // failed for the last time: the job is dead
	Cancelled = "cancelled" // ended by cancel: the job is dead
	Stopped   = "stopped"   // cut short by a stop of its worker; put back uncounted
)

// Outcomes lists the outcomes in the order they are written.
var Outcomes = []string{Done, Failed, Dead, Cancelled, Stopped}

// Buckets are the upper bounds, in seconds, of the run duration histogram:
// shell jobs last from milliseconds to hours.
var Buckets = []float64{0.01, 0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600, 14400}

// WorkerStates are the states queuectl_workers counts: those of the
// heartbeat, and stale for a worker whose process is gone.
var WorkerStates = []string{"idle", "busy", "stopping", "stale"}

// Observe counts a run that ended with outcome and took d (stopped runs
// are counted, but not timed).
func Observe(c *spool.Counts, outcome string, d time.Duration) {
	if c.Runs == nil {
		c.Runs = map[string]uint64{}
	}
	c.Runs[outcome]++
	if outcome == Stopped {
		return
	}
	secs := max(d.Seconds(), 0)
	bound := "+Inf"
	for _, b := range Buckets {
		if secs <= b {
			bound = strconv.FormatFloat(b, 'g', -1, 64)
			break
		}
	}
	if c.Buckets == nil {
		c.Buckets = map[string]uint64{}
	}
	c.Buckets[bound]++
	c.Count++
	c.Sum += secs
}

// Snapshot is what the metrics say about a spool at one moment.
type Snapshot struct {
	Jobs      map[spool.State]int
	Workers   map[string]int // by WorkerStates
	OldestAge float64        // seconds the longest-waiting claimable job has been due; 0 for none
	Paused    bool
	Counts    spool.Counts
}

// JobStates are the states queuectl_jobs counts.
var JobStates = append(append([]spool.State{}, spool.States...), spool.Rejected)

// Read takes a snapshot of the spool at now. It changes nothing.
func Read(s *spool.Spool, now time.Time) (*Snapshot, error) {
	sn := &Snapshot{Jobs: map[spool.State]int{}, Workers: map[string]int{}}
	var err error
	for _, st := range JobStates {
		if sn.Jobs[st], err = s.Count(st); err != nil {
			return nil, err
		}
	}
	ws, err := s.Workers(false)
	if err != nil {
		return nil, err
	}
	for _, w := range ws {
		state := w.State
		if !w.Alive {
			state = "stale"
		}
		sn.Workers[state]++
	}
	oldest, due, err := s.OldestDue(now)
	if err != nil {
		return nil, err
	}
	if due {
		sn.OldestAge = max(now.Sub(oldest).Seconds(), 0)
	}
	sn.Paused = s.Paused()
	if sn.Counts, err = s.Counts(); err != nil {
		return nil, err
	}
	return sn, nil
}

// family is one metric family as the text format writes it.
type family struct {
	name, help, typ string
	label           string   // the name of its one label, if any
	values          []string // its label values, sorted
	samples         []float64
}

// families returns the snapshot's metric families, sorted by name, their
// samples sorted by label value: the order of a Prometheus registry's
// Gather.
func (sn *Snapshot) families() []family {
	paused := 0.0
	if sn.Paused {
		paused = 1
	}
	jobs := family{name: "queuectl_jobs", help: "Jobs in each state: the files in the state's directory.", typ: "gauge", label: "state"}
	for _, st := range JobStates {
		jobs.values = append(jobs.values, string(st))
	}
	workers := family{name: "queuectl_workers", help: "Workers by state; stale: its process is gone, its files not yet cleared.", typ: "gauge", label: "state", values: slices.Clone(WorkerStates)}
	runs := family{name: "queuectl_runs_total", help: "Runs of jobs by outcome, counted by the workers since the spool was made.", typ: "counter", label: "outcome", values: slices.Clone(Outcomes)}
	for _, f := range []*family{&jobs, &workers, &runs} {
		slices.Sort(f.values)
		for _, v := range f.values {
			var n float64
			switch f {
			case &jobs:
				n = float64(sn.Jobs[spool.State(v)])
			case &workers:
				n = float64(sn.Workers[v])
			default:
				n = float64(sn.Counts.Runs[v])
			}
			f.samples = append(f.samples, n)
		}
	}
	return []family{
		jobs,
		{name: "queuectl_oldest_pending_age_seconds", help: "How long the longest-waiting claimable job has been due (since its run_at, else its created_at); 0 when none is.", typ: "gauge", samples: []float64{sn.OldestAge}},
		{name: "queuectl_paused", help: "1 while the spool is paused (no job is claimed), else 0.", typ: "gauge", samples: []float64{paused}},
		{name: "queuectl_run_duration_seconds", help: "How long runs took, from claim to outcome (stopped runs not included).", typ: "histogram"},
		runs,
		workers,
	}
}

// writeText writes the snapshot in the Prometheus text format (version
// 0.0.4), as client_golang's encoder writes a registry's families.
func (sn *Snapshot) writeText(w io.Writer) error {
	var b []byte
	for _, f := range sn.families() {
		b = append(b, "# HELP "...)
		b = append(b, f.name...)
		b = append(b, ' ')
		b = append(b, helpEscaper.Replace(f.help)...)
		b = append(b, "\n# TYPE "...)
		b = append(b, f.name...)
		b = append(b, ' ')
		b = append(b, f.typ...)
		b = append(b, '\n')
		if f.typ == "histogram" {
			b = sn.appendHistogram(b, f.name)
			continue
		}
		for i, v := range f.samples {
			b = append(b, f.name...)
			if f.label != "" {
				b = appendLabel(b, f.label, f.values[i])
			}
			b = append(b, ' ')
			b = appendFloat(b, v)
			b = append(b, '\n')
		}
	}
	_, err := w.Write(b)
	return err
}

// appendHistogram appends the samples of the run duration histogram.
func (sn *Snapshot) appendHistogram(b []byte, name string) []byte {
	cum := cumulative(sn.Counts.Buckets)
	for _, bound := range Buckets {
		b = append(b, name...)
		b = append(b, "_bucket"...)
		b = appendLabel(b, "le", string(appendFloat(nil, bound)))
		b = append(b, ' ')
		b = appendFloat(b, float64(cum[bound]))
		b = append(b, '\n')
	}
	b = append(b, name...)
	b = append(b, "_bucket{le=\"+Inf\"} "...)
	b = appendFloat(b, float64(sn.Counts.Count))
	b = append(b, '\n')
	b = append(b, name...)
	b = append(b, "_sum "...)
	b = appendFloat(b, sn.Counts.Sum)
	b = append(b, '\n')
	b = append(b, name...)
	b = append(b, "_count "...)
	b = strconv.AppendUint(b, sn.Counts.Count, 10)
	return append(b, '\n')
}

var (
	helpEscaper  = strings.NewReplacer("\\", "\\\\", "\n", "\\n")
	valueEscaper = strings.NewReplacer("\\", "\\\\", "\n", "\\n", "\"", "\\\"")
)

func appendLabel(b []byte, name, value string) []byte {
	b = append(b, '{')
	b = append(b, name...)
	b = append(b, "=\""...)
	b = append(b, valueEscaper.Replace(value)...)
	return append(b, "\"}"...)
}

// appendFloat appends f as the text format writes sample values.
func appendFloat(b []byte, f float64) []byte {
	switch {
	case math.IsNaN(f):
		return append(b, "NaN"...)
	case math.IsInf(f, 1):
		return append(b, "+Inf"...)
	case math.IsInf(f, -1):
		return append(b, "-Inf"...)
	}
	return strconv.AppendFloat(b, f, 'g', -1, 64)
}

// cumulative turns buckets kept apart, by bound as text, into the
// cumulative counts of the current Buckets; counts under bounds that are
// not numbers (+Inf) are only in the histogram's total.
func cumulative(apart map[string]uint64) map[float64]uint64 {
	out := make(map[float64]uint64, len(Buckets))
	for k, n := range apart {
		b, err := strconv.ParseFloat(k, 64)
		if err != nil || math.IsInf(b, 0) || math.IsNaN(b) {
			continue
		}
		for _, bound := range Buckets {
			if b <= bound {
				out[bound] += n
			}
		}
	}
	for _, bound := range Buckets {
		out[bound] += 0 // every bucket present, empty ones too
	}
	return out
}

// Write writes the metrics of the spool at now to w in the Prometheus text
// format.
func Write(w io.Writer, s *spool.Spool, now time.Time) error {
	sn, err := Read(s, now)
	if err != nil {
		return err
	}
	return sn.writeText(w)
}

// WriteFile replaces the file at path with the metrics of the spool, as
// node_exporter's textfile collector reads them: written to a temporary
// file in the same directory (whose name does not end in .prom), then
// renamed over path.
func WriteFile(path string, s *spool.Spool, now time.Time) error {
	sn, err := Read(s, now)
	if err != nil {
		return err
	}
	if err := writeTextfile(path, sn); err != nil {
		return fmt.Errorf("metrics file: %w", err)
	}
	return nil
}

func writeTextfile(path string, sn *Snapshot) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path))
	if err != nil {
		return err
	}
	err = sn.writeText(tmp)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), 0o644)
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
	}
	return err
}
