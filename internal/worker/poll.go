package worker

import (
	"os"
	"time"
)

// notifications reports whether the worker should wait on file
// notifications: not on a network file system, where a host sees only its
// own changes, nor when the configuration says watch = false.
func (w *Worker) notifications() bool {
	return w.cfg.Load().Watch && !w.s.Network()
}

// configStamp is what polling compares to tell that the configuration file
// changed.
type configStamp struct {
	mod  time.Time
	size int64
	ok   bool
}

// pollConfig reloads the configuration when its file changed since the
// last look, for workers without notifications (see scan).
func (w *Worker) pollConfig() {
	if w.path == "" {
		return
	}
	var now configStamp
	if fi, err := os.Stat(w.path); err == nil {
		now = configStamp{mod: fi.ModTime(), size: fi.Size(), ok: true}
	}
	w.mu.Lock()
	changed := now != w.cfgSeen
	w.cfgSeen = now
	w.mu.Unlock()
	if changed && now.ok {
		w.reloadConfig()
	}
}
