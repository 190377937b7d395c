package worker

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/queuectl/queuectl/internal/config"
	"github.com/queuectl/queuectl/internal/spool"
)

// Timing of retention.
const (
	retentionEvery = time.Minute // at most one pass a minute, of all the spool's workers
	retentionCheck = time.Second // how often the janitor looks at the configuration
)

// janitor is the worker's retention role: in a goroutine of its own, never
// on the claim path, it removes done jobs older than done_retention and
// dead jobs older than dead_retention (with their logs), through
// spool.Purge as the purge command does: when the worker starts, then at
// most once a minute, and soon after a reload of the configuration changes
// either setting.
//
// Of several workers on one spool, one runs a pass at a time (the others
// skip theirs: see spool.TryRetention), and a worker skips a pass due a
// minute after its last one when another worker has passed meanwhile. Each
// pass is logged, with its counts per state.
type janitor struct {
	s   *spool.Spool
	cfg func() *config.Config
	log *slog.Logger

	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}

	// Of this janitor's last pass (main goroutine of the janitor only).
	lastAt             time.Time
	lastDone, lastDead float64
}

func newJanitor(s *spool.Spool, cfg func() *config.Config, log *slog.Logger) *janitor {
	ctx, cancel := context.WithCancel(context.Background())
	return &janitor{s: s, cfg: cfg, log: log, ctx: ctx, cancel: cancel, done: make(chan struct{})}
}

// start runs the janitor in a goroutine of wg until shutdown.
func (j *janitor) start(wg *sync.WaitGroup) {
	wg.Go(func() {
		defer close(j.done)
		j.exec(true)
		t := time.NewTicker(retentionCheck)
		defer t.Stop()
		for {
			select {
			case <-j.ctx.Done():
				return
			case <-t.C:
			}
			c := j.cfg()
			changed := c.DoneRetention != j.lastDone || c.DeadRetention != j.lastDead
			if changed || time.Since(j.lastAt) >= retentionEvery {
				j.exec(changed)
			}
		}
	})
}

// shutdown stops the janitor, a pass in progress at its next chunk, and
// waits for it.
func (j *janitor) shutdown() {
	j.cancel()
	<-j.done
}

// exec runs one retention pass unless another worker runs one now or,
// when the pass is not forced (by the start or a change of settings), ran
// one less than a minute ago.
func (j *janitor) exec(forced bool) {
	c := j.cfg()
	j.lastAt, j.lastDone, j.lastDead = time.Now(), c.DoneRetention, c.DeadRetention
	// What killed workers left in tmp/ goes, whatever the settings.
	if n, err := j.s.SweepTemp(); err != nil || n > 0 {
		j.log.Info("stale temporary files removed", "tmp", n, "err", err)
	}
	if c.DoneRetention == 0 && c.DeadRetention == 0 {
		return
	}
	turn, err := j.s.TryRetention()
	if err != nil {
		j.log.Error("retention pass", "err", err)
		return
	}
	if turn == nil {
		return // another worker's pass is running
	}
	defer turn.Release()
	// Ticks of different workers drift: "a minute ago" allows a second.
	if !forced && time.Since(turn.LastPass()) < retentionEvery-retentionCheck {
		return
	}
	start := time.Now()
	counts := []any{}
	var failed error
	for _, r := range []struct {
		st  spool.State
		age float64
	}{{spool.Done, c.DoneRetention}, {spool.Dead, c.DeadRetention}} {
		if r.age == 0 {
			continue
		}
		o := spool.PurgeOptions{Before: time.Now().Add(-config.Seconds(r.age))}
		if r.st == spool.Done {
			keep, err := awaited(j.s)
			if err != nil {
				failed = err
				continue
			}
			o.Keep = keep
		}
		n, err := j.s.Purge(j.ctx, r.st, o)
		counts = append(counts, string(r.st), n)
		if err != nil && j.ctx.Err() == nil {
			failed = err
		}
	}
	if j.ctx.Err() == nil {
		_ = turn.Passed()
	}
	args := append(counts, "took", time.Since(start).Round(time.Millisecond).String())
	if failed != nil {
		j.log.Error("retention pass", append(args, "err", failed)...)
		return
	}
	j.log.Info("retention pass", args...)
}

// awaited returns the test by which retention keeps a done job that a
// waiting job names in its after list (design: "Retention keeps a done job
// that a waiting job names in --after"): spool.Needed, one lstat for a job
// that nothing ever named.
func awaited(s *spool.Spool) (func(id string) bool, error) { return s.Needed, nil }
