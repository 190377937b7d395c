// Package metrics describes a spool in Prometheus metrics: gauges read from
// the spool (jobs per state, workers per state, the oldest pending job's
// age, the pause flag) and counters of runs that the workers keep (see
// spool.Counts), gathered with client_golang's registry and written in the
// Prometheus text format by its encoder.
package metrics

import (
	"fmt"
	"io"
	"math"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"
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

var (
	descJobs     = prometheus.NewDesc("queuectl_jobs", "Jobs in each state: the files in the state's directory.", []string{"state"}, nil)
	descWorkers  = prometheus.NewDesc("queuectl_workers", "Workers by state; stale: its process is gone, its files not yet cleared.", []string{"state"}, nil)
	descOldest   = prometheus.NewDesc("queuectl_oldest_pending_age_seconds", "How long the longest-waiting claimable job has been due (since its run_at, else its created_at); 0 when none is.", nil, nil)
	descPaused   = prometheus.NewDesc("queuectl_paused", "1 while the spool is paused (no job is claimed), else 0.", nil, nil)
	descRuns     = prometheus.NewDesc("queuectl_runs_total", "Runs of jobs by outcome, counted by the workers since the spool was made.", []string{"outcome"}, nil)
	descDuration = prometheus.NewDesc("queuectl_run_duration_seconds", "How long runs took, from claim to outcome (stopped runs not included).", nil, nil)
)

// Describe sends the descriptions of the metrics; with Collect, a
// Snapshot is a prometheus.Collector.
func (sn *Snapshot) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descJobs, descWorkers, descOldest, descPaused, descRuns, descDuration} {
		ch <- d
	}
}

// Collect sends the metrics of the snapshot.
func (sn *Snapshot) Collect(ch chan<- prometheus.Metric) {
	for _, st := range JobStates {
		ch <- prometheus.MustNewConstMetric(descJobs, prometheus.GaugeValue, float64(sn.Jobs[st]), string(st))
	}
	for _, st := range WorkerStates {
		ch <- prometheus.MustNewConstMetric(descWorkers, prometheus.GaugeValue, float64(sn.Workers[st]), st)
	}
	ch <- prometheus.MustNewConstMetric(descOldest, prometheus.GaugeValue, sn.OldestAge)
	paused := 0.0
	if sn.Paused {
		paused = 1
	}
	ch <- prometheus.MustNewConstMetric(descPaused, prometheus.GaugeValue, paused)
	for _, o := range Outcomes {
		ch <- prometheus.MustNewConstMetric(descRuns, prometheus.CounterValue, float64(sn.Counts.Runs[o]), o)
	}
	ch <- prometheus.MustNewConstHistogram(descDuration, sn.Counts.Count, sn.Counts.Sum, cumulative(sn.Counts.Buckets))
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

// Registry returns a registry that gathers the snapshot.
func (sn *Snapshot) Registry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(sn)
	return reg
}

// Write writes the metrics of the spool at now to w in the Prometheus text
// format.
func Write(w io.Writer, s *spool.Spool, now time.Time) error {
	sn, err := Read(s, now)
	if err != nil {
		return err
	}
	mfs, err := sn.Registry().Gather()
	if err != nil {
		return fmt.Errorf("metrics: %w", err)
	}
	enc := expfmt.NewEncoder(w, expfmt.NewFormat(expfmt.TypeTextPlain))
	for _, mf := range mfs {
		if err := enc.Encode(mf); err != nil {
			return err
		}
	}
	return nil
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
	if err := prometheus.WriteToTextfile(path, sn.Registry()); err != nil {
		return fmt.Errorf("metrics file: %w", err)
	}
	return nil
}
