// Package metrics describes a spool in Prometheus metrics: gauges read from
// the spool (jobs per state, workers per state, the oldest pending job's
// age, the pause flag) and counters of runs that the workers keep (see
// spool.Counts), built as client_model's metric families and written in the
// Prometheus text format by prometheus/common's expfmt encoder.
package metrics

import (
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/queuectl/queuectl/internal/spool"
	"google.golang.org/protobuf/proto"
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

// The metrics, as client_model's families: built here and written by
// prometheus/common's expfmt encoder, the Prometheus format's own. (Not
// through client_golang's registry: its package initialisation, default
// collectors and all, would cost every queuectl command, enqueue
// included, about 0.6 ms.)
const (
	helpJobs     = "Jobs in each state: the files in the state's directory."
	helpWorkers  = "Workers by state; stale: its process is gone, its files not yet cleared."
	helpOldest   = "How long the longest-waiting claimable job has been due (since its run_at, else its created_at); 0 when none is."
	helpPaused   = "1 while the spool is paused (no job is claimed), else 0."
	helpRuns     = "Runs of jobs by outcome, counted by the workers since the spool was made."
	helpDuration = "How long runs took, from claim to outcome (stopped runs not included)."
)

// Families returns the snapshot's metric families, sorted by name, the
// metrics of each by label value, as a registry gathers them.
func (sn *Snapshot) Families() []*dto.MetricFamily {
	paused := 0.0
	if sn.Paused {
		paused = 1
	}
	jobs := make(map[string]float64, len(JobStates))
	for _, st := range JobStates {
		jobs[string(st)] = float64(sn.Jobs[st])
	}
	workers := make(map[string]float64, len(WorkerStates))
	for _, st := range WorkerStates {
		workers[st] = float64(sn.Workers[st])
	}
	runs := make(map[string]float64, len(Outcomes))
	for _, o := range Outcomes {
		runs[o] = float64(sn.Counts.Runs[o])
	}
	mfs := []*dto.MetricFamily{
		labelled("queuectl_jobs", helpJobs, dto.MetricType_GAUGE, "state", jobs),
		labelled("queuectl_workers", helpWorkers, dto.MetricType_GAUGE, "state", workers),
		single("queuectl_oldest_pending_age_seconds", helpOldest, sn.OldestAge),
		single("queuectl_paused", helpPaused, paused),
		labelled("queuectl_runs_total", helpRuns, dto.MetricType_COUNTER, "outcome", runs),
		sn.histogram(),
	}
	slices.SortFunc(mfs, func(a, b *dto.MetricFamily) int { return strings.Compare(a.GetName(), b.GetName()) })
	return mfs
}

// labelled returns a family of one metric per value of label.
func labelled(name, help string, typ dto.MetricType, label string, values map[string]float64) *dto.MetricFamily {
	mf := &dto.MetricFamily{Name: proto.String(name), Help: proto.String(help), Type: typ.Enum()}
	for _, v := range slices.Sorted(maps.Keys(values)) {
		m := &dto.Metric{Label: []*dto.LabelPair{{Name: proto.String(label), Value: proto.String(v)}}}
		if typ == dto.MetricType_COUNTER {
			m.Counter = &dto.Counter{Value: proto.Float64(values[v])}
		} else {
			m.Gauge = &dto.Gauge{Value: proto.Float64(values[v])}
		}
		mf.Metric = append(mf.Metric, m)
	}
	return mf
}

// single returns a family of one gauge without labels.
func single(name, help string, v float64) *dto.MetricFamily {
	return &dto.MetricFamily{Name: proto.String(name), Help: proto.String(help), Type: dto.MetricType_GAUGE.Enum(),
		Metric: []*dto.Metric{{Gauge: &dto.Gauge{Value: proto.Float64(v)}}}}
}

// histogram returns the run durations' histogram, its buckets cumulative.
func (sn *Snapshot) histogram() *dto.MetricFamily {
	cum := cumulative(sn.Counts.Buckets)
	h := &dto.Histogram{SampleCount: proto.Uint64(sn.Counts.Count), SampleSum: proto.Float64(sn.Counts.Sum)}
	for _, bound := range slices.Sorted(maps.Keys(cum)) {
		h.Bucket = append(h.Bucket, &dto.Bucket{UpperBound: proto.Float64(bound), CumulativeCount: proto.Uint64(cum[bound])})
	}
	return &dto.MetricFamily{Name: proto.String("queuectl_run_duration_seconds"), Help: proto.String(helpDuration),
		Type: dto.MetricType_HISTOGRAM.Enum(), Metric: []*dto.Metric{{Histogram: h}}}
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
	return encode(w, sn)
}

func encode(w io.Writer, sn *Snapshot) error {
	enc := expfmt.NewEncoder(w, expfmt.NewFormat(expfmt.TypeTextPlain))
	for _, mf := range sn.Families() {
		if err := enc.Encode(mf); err != nil {
			return fmt.Errorf("metrics: %w", err)
		}
	}
	return nil
}

// WriteFile replaces the file at path with the metrics of the spool, as
// node_exporter's textfile collector reads them: written to a temporary
// file in the same directory (whose name does not end in .prom), made
// readable by all (0644), then renamed over path.
func WriteFile(path string, s *spool.Spool, now time.Time) error {
	sn, err := Read(s, now)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("metrics file: %w", err)
	}
	err = encode(tmp, sn)
	if err == nil {
		err = tmp.Chmod(0o644)
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("metrics file: %w", err)
	}
	return nil
}
