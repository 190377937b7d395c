package worker

import (
	"errors"
	"log/slog"
	"path/filepath"

	"github.com/queuectl/queuectl/internal/spool"
)

// recoverOrphans puts back the jobs of dead workers. Without notifications
// no event tells of the jobs put back, nor would the other workers see one:
// they are handed to the workers of this process (spool.OfferBack), each
// free worker claiming one before anything else, so that a recovered job
// waits neither for a rescan nor for its turn among the first due jobs
// (see next), and several recovered jobs run side by side.
func (w *Worker) recoverOrphans() {
	if !w.s.OrphanScanTurn(recoverEvery) {
		return // another worker of this process scans for all (network spool)
	}
	var offer func(spool.State, string)
	if !w.isWatching() {
		offer = w.s.OfferBack // each one at once: the first runs while the next is recovered
	}
	if recoverOrphans(w.s, w.cfg.Load().MaxRetries, w.cfg.Load().MaxInterrupts, w.log, offer) > 0 {
		w.signal()
	}
}

// RecoverOrphans puts back every job in processing/ whose owner is dead,
// after killing what is left of its run, and returns how many it moved.
// Files that are not valid jobs are quarantined.
func RecoverOrphans(s *spool.Spool, maxRetries, maxInterrupts int, log *slog.Logger) int {
	return recoverOrphans(s, maxRetries, maxInterrupts, log, nil)
}

// recoverOrphans is RecoverOrphans; back, unless nil, is called with each
// job put back where it can be claimed, as soon as it is.
func recoverOrphans(s *spool.Spool, maxRetries, maxInterrupts int, log *slog.Logger, back func(spool.State, string)) int {
	ids, err := s.Orphans()
	if err != nil {
		log.Error("looking for orphans", "err", err)
		return 0
	}
	n := 0
	for _, id := range ids {
		killLeftovers(s, id)
		j, st, err := s.Recover(id, maxRetries, maxInterrupts)
		var inv *spool.InvalidError
		switch {
		case errors.Is(err, spool.ErrBusy) || errors.Is(err, spool.ErrGone):
		case errors.As(err, &inv):
			if got, err := s.Quarantine(spool.Processing, id+".json", inv.Reason.Error()); err == nil {
				log.Warn("rejected", "file", id+".json", "from", spool.Processing, "to", "rejected/"+got, "reason", inv.Reason.Error())
			}
		case err != nil:
			log.Error("recover", "job", id, "err", err)
		default:
			n++
			if back != nil && (st == spool.Pending || st == spool.Failed) {
				back(st, id)
			}
			log.Warn("recovered", "job", id, "from", spool.Processing, "to", st, "attempt", j.Attempts, "dead_worker", j.Worker)
		}
	}
	return n
}

// spoolPath returns the spool's absolute path, which jobs get as
// QUEUECTL_JOB_SPOOL (not QUEUECTL_SPOOL, which would point a queuectl
// that the job runs at this spool).
func spoolPath(s *spool.Spool) string {
	if abs, err := filepath.Abs(s.Root()); err == nil {
		return abs
	}
	return s.Root()
}

// killLeftovers kills what is left of the run of job id by a dead worker,
// so that a recovered job never runs twice at the same time: the process
// groups of processes whose environment names this spool, the job, and a
// worker that is not alive. A pid alone may have been reused; that
// environment cannot. (Ids are unique within a spool, not across spools.)
func killLeftovers(s *spool.Spool, id string) {
	for _, g := range leftovers(spoolPath(s), id, func(w string) bool { return !s.WorkerAlive(w) }) {
		_ = KillGroup(g)
	}
}
