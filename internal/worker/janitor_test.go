//go:build unix

package worker

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/queuectl/queuectl/internal/config"
	"github.com/queuectl/queuectl/internal/job"
	"github.com/queuectl/queuectl/internal/spool"
)

// logLines collects a worker's log.
type logLines struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logLines) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logLines) count(s string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Count(l.b.String(), s)
}

func (l *logLines) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startLogged runs one worker with the configuration file path (which may
// not exist) until the test ends, logging into the returned lines.
func (e *env) startLogged(path string) *logLines {
	logs := &logLines{}
	ctx, cancel := context.WithCancel(context.Background())
	w := New(Options{ID: fmt.Sprintf("%sw%d", e.prefix, len(e.stop)), Spool: e.s, Config: e.cfg, ConfigPath: path,
		Log: slog.New(slog.NewTextHandler(logs, nil))})
	e.stop = append(e.stop, cancel)
	e.wg.Go(func() {
		if err := w.Run(ctx); err != nil {
			e.t.Errorf("worker %s: %v", w.id, err)
		}
	})
	return logs
}

// seed writes a job file in state st last updated at updated, with a log.
func (e *env) seed(st spool.State, id string, updated time.Time) {
	e.t.Helper()
	data := fmt.Sprintf(`{"command": "true", "updated_at": %q, "exit_code": 0}`, updated.UTC().Format(time.RFC3339Nano))
	if err := os.WriteFile(e.s.Path(st, id), []byte(data), 0o600); err != nil {
		e.t.Fatal(err)
	}
	if err := os.WriteFile(e.s.LogPath(id), []byte("output\n"), 0o600); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) exists(path string) bool {
	_, err := os.Lstat(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		e.t.Fatal(err)
	}
	return err == nil
}

// TestRetention: a starting worker removes the done jobs (and their logs)
// older than done_retention and keeps the younger ones; dead jobs stay
// unless dead_retention is set.
func TestRetention(t *testing.T) {
	t.Parallel()
	day := 24 * 3600.0
	for _, tt := range []struct {
		name       string
		done, dead float64
		gone, kept []string // jobs, by id (state in the id)
		log        string   // in the worker's log
	}{
		{name: "defaults: done for 7 days, dead forever", done: 7 * day,
			gone: []string{"done-8d"}, kept: []string{"done-1h", "done-6d", "dead-8d", "dead-400d"},
			log: " done=1 took="},
		{name: "done for a day, dead for a year", done: day, dead: 365 * day,
			gone: []string{"done-8d", "done-6d", "dead-400d"}, kept: []string{"done-1h", "dead-8d"},
			log: " done=2 dead=1 took="},
		{name: "done forever, dead for a week", dead: 7 * day,
			gone: []string{"dead-8d", "dead-400d"}, kept: []string{"done-8d", "done-6d", "done-1h"},
			log: " dead=2 took="},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			e.cfg.DoneRetention, e.cfg.DeadRetention = tt.done, tt.dead
			now := time.Now()
			ago := func(d time.Duration) time.Time { return now.Add(-d) }
			e.seed(spool.Done, "done-1h", ago(time.Hour))
			e.seed(spool.Done, "done-6d", ago(6*24*time.Hour))
			e.seed(spool.Done, "done-8d", ago(8*24*time.Hour))
			e.seed(spool.Dead, "dead-8d", ago(8*24*time.Hour))
			e.seed(spool.Dead, "dead-400d", ago(400*24*time.Hour))
			logs := e.startLogged("")
			e.waitFor("a retention pass", func() bool { return logs.count("retention pass") > 0 })
			if !strings.Contains(logs.String(), tt.log) {
				t.Errorf("the worker's log has no %q:\n%s", tt.log, logs)
			}
			for _, id := range tt.gone {
				st := spool.State(strings.Split(id, "-")[0])
				if e.exists(e.s.Path(st, id)) || e.exists(e.s.LogPath(id)) {
					t.Errorf("%s (or its log) is still there", id)
				}
			}
			for _, id := range tt.kept {
				st := spool.State(strings.Split(id, "-")[0])
				if !e.exists(e.s.Path(st, id)) || !e.exists(e.s.LogPath(id)) {
					t.Errorf("%s (or its log) was removed", id)
				}
			}
		})
	}
}

// A running worker applies a done_retention that config set (a reload)
// brings, soon, without waiting for its next minute; with both settings 0
// it runs no pass at all.
func TestRetentionFollowsConfig(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.cfg.DoneRetention = 0
	path := filepath.Join(e.dir, "queuectl.toml")
	if err := os.WriteFile(path, []byte("done_retention = 0\nretry_delay = 0.1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	e.seed(spool.Done, "old", time.Now().Add(-48*time.Hour))
	logs := e.startLogged(path)
	e.waitFor("the worker to start", func() bool { return logs.count("worker started") > 0 })
	time.Sleep(2 * retentionCheck)
	if n := logs.count("retention pass"); n != 0 || !e.exists(e.s.Path(spool.Done, "old")) {
		t.Fatalf("with done_retention 0: %d passes, old job there: %v", n, e.exists(e.s.Path(spool.Done, "old")))
	}
	if err := os.WriteFile(path+".new", []byte("done_retention = 86400\nretry_delay = 0.1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(path+".new", path); err != nil {
		t.Fatal(err)
	}
	e.waitFor("a retention pass", func() bool { return logs.count("retention pass") > 0 })
	if e.exists(e.s.Path(spool.Done, "old")) || e.exists(e.s.LogPath("old")) {
		t.Error("the old job (or its log) is still there")
	}
	if !strings.Contains(logs.String(), "msg=\"retention pass\" worker=w0 done=1 ") {
		t.Errorf("the pass logged the wrong count:\n%s", logs)
	}
	if !e.exists(filepath.Join(e.s.WorkerDir(), ".retention.lock")) {
		t.Error("no retention lock file")
	}
	if ws, err := e.s.Workers(false); err != nil || len(ws) != 1 {
		t.Errorf("the retention lock is taken for a worker: %+v, %v", ws, err)
	}
}

// Of two workers' janitors, one runs a pass while the other holds the
// retention lock: the other skips; a pass not forced is skipped when
// another worker passed less than a minute ago.
func TestRetentionOneAtATime(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.seed(spool.Done, "old", time.Now().Add(-30*24*time.Hour))
	logs := &logLines{}
	cfg := config.Default()
	j := newJanitor(e.s, func() *config.Config { return &cfg }, slog.New(slog.NewTextHandler(logs, nil)))
	held, err := e.s.TryRetention()
	if err != nil || held == nil {
		t.Fatalf("TryRetention = %v, %v", held, err)
	}
	if other, err := e.s.TryRetention(); other != nil || err != nil {
		t.Fatalf("a second TryRetention while held = %v, %v; want nil, nil", other, err)
	}
	j.exec(true)
	if logs.count("retention pass") != 0 || !e.exists(e.s.Path(spool.Done, "old")) {
		t.Fatalf("a pass ran while another held the lock:\n%s", logs)
	}
	if err := held.Passed(); err != nil {
		t.Fatal(err)
	}
	held.Release()
	j.exec(false)
	if logs.count("retention pass") != 0 {
		t.Fatalf("a pass ran a moment after another's:\n%s", logs)
	}
	j.exec(true)
	if logs.count("retention pass") != 1 || e.exists(e.s.Path(spool.Done, "old")) {
		t.Fatalf("a forced pass did not run:\n%s", logs)
	}
}

// TestRetentionKeepsDependencies: a done job that a waiting job names in
// after is kept by retention, however old; one that nothing waits for is
// removed.
func TestRetentionKeepsDependencies(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.cfg.DoneRetention = 24 * 3600
	old := time.Now().Add(-8 * 24 * time.Hour)
	e.seed(spool.Done, "needed", old)
	e.seed(spool.Done, "unneeded", old)
	// waiter waits for needed (done) and for later, which is not due for
	// a day: it stays waiting through the pass.
	e.enqueue(&job.Job{ID: "later", Command: "true", RunAt: time.Now().Add(24 * time.Hour)})
	e.enqueue(&job.Job{ID: "waiter", Command: "true", After: []string{"needed", "later"}})
	logs := e.startLogged("")
	e.waitFor("a retention pass", func() bool { return logs.count("retention pass") > 0 })
	if !e.exists(e.s.Path(spool.Done, "needed")) {
		t.Error("retention removed a done job that a waiting job names in after")
	}
	if e.exists(e.s.Path(spool.Done, "unneeded")) {
		t.Error("retention kept a done job that nothing waits for")
	}
	if !e.exists(e.s.Path(spool.Pending, "waiter")) {
		t.Error("the waiting job left pending/")
	}
}

// A retention pass removes the records a killed worker left in tmp/ (older
// than spool.StaleTemp, held by no one), with retention set or not, and
// leaves young ones and other files (an enqueue's or a batch's).
func TestRetentionSweepsTemp(t *testing.T) {
	t.Parallel()
	for _, done := range []float64{0, 7 * 24 * 3600} {
		t.Run(fmt.Sprint("done_retention ", done), func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			e.cfg.DoneRetention = done
			tmp := filepath.Join(e.s.Root(), "tmp")
			old, young := filepath.Join(tmp, "j1.0123456789ab.rec"), filepath.Join(tmp, "j2.0123456789ab.rec")
			batch := filepath.Join(tmp, "j3.0123456789ab.tmp") // an old batch's file, waiting for the lock
			for _, p := range []string{old, young, batch} {
				if err := os.WriteFile(p, []byte(`{"command": "true"}`), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			long := time.Now().Add(-2 * spool.StaleTemp)
			for _, p := range []string{old, batch} {
				if err := os.Chtimes(p, long, long); err != nil {
					t.Fatal(err)
				}
			}
			logs := e.startLogged("")
			e.waitFor("the old file to go", func() bool { return !e.exists(old) })
			if !e.exists(young) || !e.exists(batch) {
				t.Errorf("a young record or a batch's file was removed: %v %v", e.exists(young), e.exists(batch))
			}
			if !strings.Contains(logs.String(), "tmp=1") {
				t.Errorf("the worker's log does not count the file:\n%s", logs)
			}
		})
	}
}
