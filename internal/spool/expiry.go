package spool

import (
	"sync"
	"time"
)

// expiring is a job in processing/ whose owner, a worker of another host,
// was alive at the last full orphan scan, with the moment its heartbeat
// then becomes older than the lease.
type expiring struct {
	at        time.Time
	id, owner string
}

// expiries is what the last full orphan scan on a network spool found
// about to expire (see expiredOrphans).
type expiries struct {
	mu   sync.Mutex
	soon []expiring
}

// noteExpiring keeps soon, from a full scan, and notes when the first of
// it expires (see UntilOrphanScan).
func (s *Spool) noteExpiring(soon []expiring) {
	s.exp.mu.Lock()
	defer s.exp.mu.Unlock()
	s.exp.soon = soon
	s.storeFirstExpiry()
}

// storeFirstExpiry sets orphanExpiry from s.exp.soon (s.exp.mu held).
func (s *Spool) storeFirstExpiry() {
	var first time.Time
	for _, e := range s.exp.soon {
		if first.IsZero() || e.at.Before(first) {
			first = e.at
		}
	}
	if first.IsZero() {
		s.orphanExpiry.Store(0)
		return
	}
	s.orphanExpiry.Store(first.UnixNano())
}

// expiredOrphans is the orphan scan made at the moment a heartbeat
// expires: only the jobs whose owners' heartbeats the last full scan found
// to expire by now are looked at again, by their owners' heartbeats alone
// (Recover checks each job's file again), not every file in processing/
// with every owner's heartbeat, which over NFS takes a round trip each
// and would delay the recovery by as much. ok is false when nothing was due.
func (s *Spool) expiredOrphans() (ids []string, ok bool) {
	now := s.now()
	s.exp.mu.Lock()
	var due, rest []expiring
	for _, e := range s.exp.soon {
		if now.After(e.at) {
			due = append(due, e)
		} else {
			rest = append(rest, e)
		}
	}
	s.exp.soon = rest
	s.storeFirstExpiry()
	s.exp.mu.Unlock()
	if len(due) == 0 {
		return nil, false
	}
	judged := map[string]peer{}
	for _, e := range due {
		p, seen := judged[e.owner]
		if !seen {
			p, _ = s.peerOf(e.owner)
			judged[e.owner] = p
		}
		if p == peerRemoteDead || p == peerUnknown {
			ids = append(ids, e.id)
		}
	}
	return ids, true
}
