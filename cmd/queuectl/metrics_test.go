package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// lockedBuffer collects what workers running in this process log.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// metricsEnv runs queuectl commands, in this process, on a spool and
// configuration of their own.
type metricsEnv struct {
	t    *testing.T
	conf string
	log  lockedBuffer
}

func (e *metricsEnv) run(args ...string) string {
	e.t.Helper()
	var stdout, stderr bytes.Buffer
	if code := run(append([]string{"--config", e.conf}, args...), strings.NewReader(""), &stdout, &stderr); code != 0 {
		e.t.Fatalf("queuectl %s: exit %d: %s", strings.Join(args, " "), code, stderr.String())
	}
	return stdout.String()
}

// workers starts count foreground workers; the returned function stops
// them with worker stop and waits for them to return.
func (e *metricsEnv) workers(count string) (stop func()) {
	var wg sync.WaitGroup
	wg.Go(func() {
		code := run([]string{"--config", e.conf, "worker", "start", "--foreground", "--count", count}, strings.NewReader(""), &e.log, &e.log)
		if code != 0 {
			e.t.Errorf("worker start: exit %d; log:\n%s", code, e.log.String())
		}
	})
	return func() {
		e.run("worker", "stop")
		wg.Wait()
	}
}

// scrape parses what queuectl metrics prints, with expfmt's parser.
func (e *metricsEnv) scrape() map[string]*dto.MetricFamily {
	e.t.Helper()
	return parseText(e.t, []byte(e.run("metrics")))
}

func parseText(t *testing.T, data []byte) map[string]*dto.MetricFamily {
	t.Helper()
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("the metrics do not parse: %v\n%s", err, data)
	}
	return mfs
}

// metricValue returns the value of family name's sample with label=value, or
// of its only sample when label is "".
func metricValue(t *testing.T, mfs map[string]*dto.MetricFamily, name, label, value string) float64 {
	t.Helper()
	for _, m := range mfs[name].GetMetric() {
		ok := label == ""
		for _, l := range m.GetLabel() {
			ok = ok || l.GetName() == label && l.GetValue() == value
		}
		switch {
		case !ok:
		case m.Gauge != nil:
			return m.GetGauge().GetValue()
		case m.Counter != nil:
			return m.GetCounter().GetValue()
		case m.Histogram != nil:
			return float64(m.GetHistogram().GetSampleCount())
		}
	}
	t.Fatalf("no sample %s{%s=%q}", name, label, value)
	return 0
}

type want struct {
	name, label, value string
	n                  float64
}

func check(t *testing.T, when string, mfs map[string]*dto.MetricFamily, wants []want) {
	t.Helper()
	for _, w := range wants {
		if got := metricValue(t, mfs, w.name, w.label, w.value); got != w.n {
			t.Errorf("%s: %s{%s=%q} = %g, want %g", when, w.name, w.label, w.value, got, w.n)
		}
	}
}

// TestMetricsWithWorkers: after real workers ran jobs that ended done,
// failed then dead, and dead at once, queuectl metrics (parsed with
// expfmt's parser) counts the runs by outcome and in the duration
// histogram, and the counts stay when the workers are gone and add up when
// new ones run more jobs. metrics_file says the same.
func TestMetricsWithWorkers(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	e := &metricsEnv{t: t, conf: filepath.Join(dir, "queuectl.toml")}
	prom := filepath.Join(dir, "queuectl.prom")
	conf := "retry_delay = 0.05\nmax_retries = 1\nmetrics_file = \"queuectl.prom\"\n"
	if err := os.WriteFile(e.conf, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	e.run("enqueue", "--id", "ok", "--command", "exit 0")
	e.run("enqueue", "--id", "flaky", "--command", "exit 3")
	e.run("enqueue", "--id", "doomed", "--max-retries", "0", "--command", "exit 4")
	stop := e.workers("2")
	waitUntil(t, "the jobs ended", func() bool {
		mfs := e.scrape()
		return metricValue(t, mfs, "queuectl_jobs", "state", "done") == 1 && metricValue(t, mfs, "queuectl_jobs", "state", "dead") == 2 &&
			metricValue(t, mfs, "queuectl_workers", "state", "idle") == 2
	})
	counted := []want{
		{"queuectl_runs_total", "outcome", "done", 1},
		{"queuectl_runs_total", "outcome", "failed", 1},
		{"queuectl_runs_total", "outcome", "dead", 2},
		{"queuectl_runs_total", "outcome", "cancelled", 0},
		{"queuectl_run_duration_seconds", "", "", 4},
	}
	// Counted in memory, saved with a heartbeat: soon there.
	waitUntil(t, "the runs counted", func() bool { return metricValue(t, e.scrape(), "queuectl_run_duration_seconds", "", "") == 4 })
	check(t, "while the workers run", e.scrape(), append(counted,
		want{"queuectl_jobs", "state", "pending", 0},
		want{"queuectl_jobs", "state", "failed", 0},
		want{"queuectl_workers", "state", "busy", 0},
		want{"queuectl_oldest_pending_age_seconds", "", "", 0},
		want{"queuectl_paused", "", "", 0},
	))
	waitUntil(t, "metrics_file written", func() bool { _, err := os.Stat(prom); return err == nil })
	stop()

	check(t, "after the workers stopped", e.scrape(), append(counted, want{"queuectl_workers", "state", "idle", 0}))
	data, err := os.ReadFile(prom)
	if err != nil {
		t.Fatal(err)
	}
	// The last worker out wrote it once more, with its runs folded in.
	check(t, "metrics_file after the workers stopped", parseText(t, data), append(counted, want{"queuectl_workers", "state", "idle", 0}))

	// New workers add to the counts.
	stop = e.workers("1")
	e.run("enqueue", "--id", "ok-2", "--command", "exit 0")
	waitUntil(t, "the new job done", func() bool { return metricValue(t, e.scrape(), "queuectl_jobs", "state", "done") == 2 })
	stop()
	check(t, "after a second round of workers", e.scrape(), []want{
		{"queuectl_runs_total", "outcome", "done", 2},
		{"queuectl_runs_total", "outcome", "failed", 1},
		{"queuectl_runs_total", "outcome", "dead", 2},
		{"queuectl_run_duration_seconds", "", "", 5},
	})
}

// waitUntil polls cond; the deadline only stops a hung test.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
