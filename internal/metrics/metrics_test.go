package metrics

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/queuectl/queuectl/internal/job"
	"github.com/queuectl/queuectl/internal/spool"
)

// parse reads the text format with expfmt's own parser.
func parse(t *testing.T, data []byte) map[string]*dto.MetricFamily {
	t.Helper()
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("parse: %v\n%s", err, data)
	}
	return mfs
}

// value returns the value of the sample of family name whose label (if
// any) has value lv.
func value(t *testing.T, mfs map[string]*dto.MetricFamily, name, label, lv string) float64 {
	t.Helper()
	mf, ok := mfs[name]
	if !ok {
		t.Fatalf("no %s", name)
	}
	for _, m := range mf.GetMetric() {
		match := label == ""
		for _, l := range m.GetLabel() {
			if l.GetName() == label && l.GetValue() == lv {
				match = true
			}
		}
		if !match {
			continue
		}
		switch {
		case m.Gauge != nil:
			return m.GetGauge().GetValue()
		case m.Counter != nil:
			return m.GetCounter().GetValue()
		}
	}
	t.Fatalf("no %s{%s=%q}", name, label, lv)
	return 0
}

// TestWrite: the gauges of a seeded spool and the counters of its workers,
// as Prometheus reads them.
func TestWrite(t *testing.T) {
	t.Parallel()
	s, err := spool.Open(filepath.Join(t.TempDir(), "spool"))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	s.Now = func() time.Time { return now.Add(-90 * time.Second) }
	for _, id := range []string{"a", "b"} {
		if err := s.Enqueue(&job.Job{ID: id, Command: "true"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Enqueue(&job.Job{ID: "later", Command: "true", RunAt: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(s.StateDir(spool.Pending), "bad.json"), []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Quarantine(spool.Pending, "bad.json", "invalid JSON"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Pause(); err != nil {
		t.Fatal(err)
	}
	reg, err := s.Register("w1")
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	if err := reg.Beat(spool.Heartbeat{State: "busy", Job: "a"}); err != nil {
		t.Fatal(err)
	}
	var c spool.Counts
	Observe(&c, Done, 200*time.Millisecond)
	Observe(&c, Done, 3*time.Second)
	Observe(&c, Failed, 20*time.Hour)
	Observe(&c, Dead, 0)
	Observe(&c, Stopped, time.Minute)
	if err := reg.SaveCounts(c); err != nil {
		t.Fatal(err)
	}

	var buf bytes.Buffer
	if err := Write(&buf, s, now); err != nil {
		t.Fatal(err)
	}
	mfs := parse(t, buf.Bytes())
	for _, tc := range []struct {
		name, label, lv string
		want            float64
	}{
		{"queuectl_jobs", "state", "pending", 3},
		{"queuectl_jobs", "state", "processing", 0},
		{"queuectl_jobs", "state", "rejected", 1},
		{"queuectl_jobs", "state", "dead", 0},
		{"queuectl_workers", "state", "busy", 1},
		{"queuectl_workers", "state", "idle", 0},
		{"queuectl_workers", "state", "stale", 0},
		{"queuectl_oldest_pending_age_seconds", "", "", 90},
		{"queuectl_paused", "", "", 1},
		{"queuectl_runs_total", "outcome", "done", 2},
		{"queuectl_runs_total", "outcome", "failed", 1},
		{"queuectl_runs_total", "outcome", "dead", 1},
		{"queuectl_runs_total", "outcome", "cancelled", 0},
		{"queuectl_runs_total", "outcome", "stopped", 1},
	} {
		if got := value(t, mfs, tc.name, tc.label, tc.lv); got != tc.want {
			t.Errorf("%s{%s=%q} = %g, want %g", tc.name, tc.label, tc.lv, got, tc.want)
		}
	}
	h := mfs["queuectl_run_duration_seconds"].GetMetric()[0].GetHistogram()
	if h.GetSampleCount() != 4 || h.GetSampleSum() != 0.2+3+20*3600 {
		t.Errorf("histogram count %d sum %g, want 4 and %g", h.GetSampleCount(), h.GetSampleSum(), 0.2+3+20*3600.0)
	}
	want := map[float64]uint64{0.01: 1, 0.1: 1, 0.5: 2, 1: 2, 5: 3, 14400: 3}
	for _, b := range h.GetBucket() {
		if n, ok := want[b.GetUpperBound()]; ok && b.GetCumulativeCount() != n {
			t.Errorf("bucket le=%g: %d, want %d", b.GetUpperBound(), b.GetCumulativeCount(), n)
		}
	}
	if len(h.GetBucket()) != len(Buckets)+1 { // and +Inf
		t.Errorf("%d buckets, want %d", len(h.GetBucket()), len(Buckets)+1)
	}
}

// TestWriteFile: the file for node_exporter is replaced whole, and no
// temporary file that the textfile collector would read (*.prom) is left.
func TestWriteFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s, err := spool.Open(filepath.Join(dir, "spool"))
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "textfile", "queuectl.prom")
	if err := os.Mkdir(filepath.Dir(out), 0o755); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := WriteFile(out, s, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if got := value(t, parse(t, data), "queuectl_paused", "", ""); got != 0 {
		t.Errorf("queuectl_paused = %g", got)
	}
	des, err := os.ReadDir(filepath.Dir(out))
	if err != nil {
		t.Fatal(err)
	}
	if len(des) != 1 {
		t.Errorf("files left in the textfile directory: %v", des)
	}
}
