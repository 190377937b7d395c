//go:build unix

package worker

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/queuectl/queuectl/internal/config"
	"github.com/queuectl/queuectl/internal/job"
	"github.com/queuectl/queuectl/internal/spool"
)

// Without notifications (watch = false, or a network file system) a worker
// finds jobs, stop flags and configuration changes by rescanning every
// poll_interval.
func TestPollingWithoutNotifications(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		watch   bool
		network bool
	}{
		{name: "watch = false", watch: false},
		{name: "network file system", watch: true, network: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			s, err := spool.OpenWith(filepath.Join(dir, "spool"), spool.Options{Network: tc.network})
			if err != nil {
				t.Fatal(err)
			}
			cfgPath := filepath.Join(dir, "queuectl.toml")
			if err := os.WriteFile(cfgPath, []byte("poll_interval = 0.05\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			cfg, err := config.Load(cfgPath)
			if err != nil {
				t.Fatal(err)
			}
			cfg.Watch = tc.watch
			if !tc.watch {
				if err := os.WriteFile(cfgPath, []byte("poll_interval = 0.05\nwatch = false\n"), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			w := New(Options{ID: "p1", Spool: s, Config: cfg, ConfigPath: cfgPath, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
			ctx, cancel := context.WithCancel(context.Background())
			var wg sync.WaitGroup
			wg.Go(func() {
				if err := w.Run(ctx); err != nil {
					t.Error(err)
				}
			})
			defer wg.Wait()
			defer cancel()
			e := &env{t: t, s: s, cfg: cfg, dir: dir}
			e.enqueue(&job.Job{ID: "a", Command: "true"})
			e.waitFor("the job to be done", func() bool { return e.count(spool.Done) == 1 })
			if w.isWatching() {
				t.Error("the worker waits on file notifications")
			}
			// A configuration change reaches it by polling too.
			time.Sleep(20 * time.Millisecond) // a later modification time than the first write
			body := "poll_interval = 0.05\nmax_retries = 7\n"
			if !tc.watch {
				body += "watch = false\n"
			}
			if err := os.WriteFile(cfgPath, []byte(body), 0o600); err != nil {
				t.Fatal(err)
			}
			e.waitFor("the configuration to be reloaded", func() bool { return w.Config().MaxRetries == 7 })
		})
	}
}
