package spool

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/fsnotify/fsnotify"
)

// Changes tells of files that appear, change or go in some directories of
// the spool, for the commands that wait for jobs (wait, cancel, logs
// --follow). C receives the id of the job whose file in one of them
// changed, or "" when anything may have changed: every poll interval where
// notifications are unavailable, and when the kernel lost some.
type Changes struct {
	C <-chan string

	watcher *fsnotify.Watcher
	stop    context.CancelFunc
	done    chan struct{}
}

// Watch starts telling of changes in the directories of the states sts
// (and in logs/, with logs), by file-system notifications; where they are
// unavailable, it says "" every poll instead. It is to be set up before
// the first look at the jobs, so that no change after that look is missed.
// Close ends it.
func (s *Spool) Watch(poll time.Duration, logs bool, sts ...State) *Changes {
	dirs := make([]string, 0, len(sts)+1)
	for _, st := range sts {
		dirs = append(dirs, s.dir(st))
	}
	if logs {
		dirs = append(dirs, filepath.Join(s.root, dirLogs))
	}
	ch := make(chan string)
	ctx, stop := context.WithCancel(context.Background())
	c := &Changes{C: ch, stop: stop, done: make(chan struct{})}
	w, err := watchDirs(dirs)
	if err != nil {
		go c.poll(ctx, ch, poll)
		return c
	}
	c.watcher = w
	go c.forward(ctx, ch, w, dirs)
	return c
}

// watchDirs watches every one of dirs, or fails.
func watchDirs(dirs []string) (*fsnotify.Watcher, error) {
	w, err := fsnotify.NewBufferedWatcher(1024)
	if err != nil {
		return nil, err
	}
	for _, d := range dirs {
		if err := w.Add(d); err != nil {
			w.Close()
			return nil, fmt.Errorf("watch %s: %w", d, err)
		}
	}
	return w, nil
}

// Close stops the notifications and waits for their goroutine.
func (c *Changes) Close() {
	c.stop()
	if c.watcher != nil {
		c.watcher.Close()
	}
	<-c.done
}

func (c *Changes) poll(ctx context.Context, ch chan<- string, poll time.Duration) {
	defer close(c.done)
	t := time.NewTicker(max(poll, 10*time.Millisecond))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if !send(ctx, ch, "") {
				return
			}
		}
	}
}

func (c *Changes) forward(ctx context.Context, ch chan<- string, w *fsnotify.Watcher, dirs []string) {
	defer close(c.done)
	for {
		select {
		case <-ctx.Done():
			return
		case err, ok := <-w.Errors:
			if !ok {
				return
			}
			// Most often an overflow of the kernel's queue: events were
			// lost, so look at everything again.
			_ = err
			if !send(ctx, ch, "") {
				return
			}
		case ev, ok := <-w.Events:
			if !ok {
				return
			}
			if !slices.Contains(dirs, filepath.Dir(ev.Name)) {
				continue
			}
			name := filepath.Base(ev.Name)
			id, ok := strings.CutSuffix(name, ".json")
			if !ok {
				id, ok = strings.CutSuffix(name, ".log")
			}
			if !ok || id == "" || Ignored(name) {
				continue
			}
			if !send(ctx, ch, id) {
				return
			}
		}
	}
}

func send(ctx context.Context, ch chan<- string, id string) bool {
	select {
	case ch <- id:
		return true
	case <-ctx.Done():
		return false
	}
}

// Await waits until every job of ids is done or dead, calling ended with
// each as it ends, in that order; it returns nil once all have ended, or
// ctx's error. It is driven by notifications (see Watch), with a rescan
// every poll only where they are unavailable. A job that vanishes while
// awaited (removed) is an error matching ErrNotFound.
func (s *Spool) Await(ctx context.Context, ids []string, poll time.Duration, ended func(id string, st State) error) error {
	left := map[string]bool{}
	for _, id := range ids {
		left[id] = true
	}
	c := s.Watch(poll, false, Done, Dead)
	defer c.Close()
	look := func(id string) error {
		st, err := s.Find(id)
		if err != nil {
			return err
		}
		if st == Done || st == Dead {
			delete(left, id)
			return ended(id, st)
		}
		return nil
	}
	// First look at every job, in the order given, after the watch is set
	// up: a job that ends after its look is told by a notification.
	for _, id := range ids {
		if left[id] {
			if err := look(id); err != nil {
				return err
			}
		}
	}
	for len(left) > 0 {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case id := <-c.C:
			if id != "" {
				if !left[id] {
					continue
				}
				if err := look(id); err != nil {
					return err
				}
				continue
			}
			for _, id := range ids {
				if left[id] {
					if err := look(id); err != nil {
						return err
					}
				}
			}
		}
	}
	return nil
}
