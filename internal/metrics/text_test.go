package metrics

import (
	"bytes"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"
	"github.com/queuectl/queuectl/internal/spool"
)

// collector gathers a snapshot with client_golang, as a reference for
// writeText.
type collector struct{ sn *Snapshot }

var (
	refJobs     = prometheus.NewDesc("queuectl_jobs", "Jobs in each state: the files in the state's directory.", []string{"state"}, nil)
	refWorkers  = prometheus.NewDesc("queuectl_workers", "Workers by state; stale: its process is gone, its files not yet cleared.", []string{"state"}, nil)
	refOldest   = prometheus.NewDesc("queuectl_oldest_pending_age_seconds", "How long the longest-waiting claimable job has been due (since its run_at, else its created_at); 0 when none is.", nil, nil)
	refPaused   = prometheus.NewDesc("queuectl_paused", "1 while the spool is paused (no job is claimed), else 0.", nil, nil)
	refRuns     = prometheus.NewDesc("queuectl_runs_total", "Runs of jobs by outcome, counted by the workers since the spool was made.", []string{"outcome"}, nil)
	refDuration = prometheus.NewDesc("queuectl_run_duration_seconds", "How long runs took, from claim to outcome (stopped runs not included).", nil, nil)
)

func (c collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{refJobs, refWorkers, refOldest, refPaused, refRuns, refDuration} {
		ch <- d
	}
}

func (c collector) Collect(ch chan<- prometheus.Metric) {
	sn := c.sn
	for _, st := range JobStates {
		ch <- prometheus.MustNewConstMetric(refJobs, prometheus.GaugeValue, float64(sn.Jobs[st]), string(st))
	}
	for _, st := range WorkerStates {
		ch <- prometheus.MustNewConstMetric(refWorkers, prometheus.GaugeValue, float64(sn.Workers[st]), st)
	}
	ch <- prometheus.MustNewConstMetric(refOldest, prometheus.GaugeValue, sn.OldestAge)
	paused := 0.0
	if sn.Paused {
		paused = 1
	}
	ch <- prometheus.MustNewConstMetric(refPaused, prometheus.GaugeValue, paused)
	for _, o := range Outcomes {
		ch <- prometheus.MustNewConstMetric(refRuns, prometheus.CounterValue, float64(sn.Counts.Runs[o]), o)
	}
	ch <- prometheus.MustNewConstHistogram(refDuration, sn.Counts.Count, sn.Counts.Sum, cumulative(sn.Counts.Buckets))
}

// The text written by writeText is, byte for byte, what client_golang's
// registry and encoder write for the same snapshot.
func TestWriteTextMatchesClientGolang(t *testing.T) {
	snaps := map[string]*Snapshot{
		"empty": {Jobs: map[spool.State]int{}, Workers: map[string]int{}},
		"busy": {
			Jobs:      map[spool.State]int{spool.Pending: 100000, spool.Done: 1, spool.Dead: 1234567, spool.Rejected: 3},
			Workers:   map[string]int{"busy": 2, "stale": 1},
			OldestAge: 0.123456789, Paused: true,
			Counts: spool.Counts{Runs: map[string]uint64{Done: 7, Failed: 1, Stopped: 2, Dead: 1}, Count: 10, Sum: 1234.5678,
				Buckets: map[string]uint64{"0.01": 3, "1": 2, "3600": 4, "+Inf": 1}},
		},
	}
	for name, sn := range snaps {
		t.Run(name, func(t *testing.T) {
			reg := prometheus.NewRegistry()
			reg.MustRegister(collector{sn})
			mfs, err := reg.Gather()
			if err != nil {
				t.Fatal(err)
			}
			var want, got bytes.Buffer
			enc := expfmt.NewEncoder(&want, expfmt.NewFormat(expfmt.TypeTextPlain))
			for _, mf := range mfs {
				if err := enc.Encode(mf); err != nil {
					t.Fatal(err)
				}
			}
			if err := sn.writeText(&got); err != nil {
				t.Fatal(err)
			}
			if got.String() != want.String() {
				t.Errorf("writeText:\n%s\nclient_golang:\n%s", got.String(), want.String())
			}
		})
	}
}
