package spool

import (
	"errors"
	"sync"
	"time"

	"github.com/queuectl/queuectl/internal/job"
)

// peekShareFor is how long a job file read by one worker of a process
// serves the others (see PeekShared).
const peekShareFor = 10 * time.Second

// netCache shares, between the workers of one process on a network spool,
// what each would otherwise read from the server on its own: the listings
// of the claimable directories and the job files new in them. Every worker
// keeps its own index, rescans every poll_interval and, at the start, reads
// every pending job; on NFS each listing and each read is a round trip (and,
// with noac and lookupcache=none, several), so four workers on one host
// read everything four times. What is shared is only a hint for the index:
// a claim opens and checks the file itself.
type netCache struct {
	mu    sync.Mutex
	lists map[State]*listing
	peeks map[peekKey]*peeked
	taken map[peekKey]time.Time // claimed or found gone by a worker of this process (see NoteTaken)
	back  []peekKey             // jobs put back by a recovery, for the next worker free (see OfferBack)
	offer chan struct{}         // closed by OfferBack (see Offered)
}

type listing struct {
	mu      sync.Mutex // held while the directory is read: other callers wait for the result
	at      time.Time  // when the reading began
	took    time.Duration
	names   []string
	regular map[string]bool // the names that the listing gave as regular files
}

// listingShare is how many times the duration of a listing it serves for
// at least (see NamesShared).
const listingShare = 4

type peekKey struct {
	st   State
	name string
}

type peeked struct {
	done chan struct{} // closed once j and err are set
	at   time.Time
	j    *job.Job
	err  error
}

// NamesShared is Names, except that on a network spool a listing that
// another caller of this process began less than maxAge ago is returned
// instead of a new one; callers that come while a listing is being read
// wait for it, and take it. A large directory can take seconds to list
// over NFS, under emulation: a listing then serves for listingShare times
// as long as it took, so that listing takes at most a fifth of the time.
// The slice is shared: callers must not change it.
func (s *Spool) NamesShared(st State, maxAge time.Duration) ([]string, error) {
	if !s.network {
		return s.names(st)
	}
	asked := time.Now()
	s.netc.mu.Lock()
	if s.netc.lists == nil {
		s.netc.lists = map[State]*listing{}
	}
	l := s.netc.lists[st]
	if l == nil {
		l = &listing{}
		s.netc.lists[st] = l
	}
	s.netc.mu.Unlock()
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.at.IsZero() && (!l.at.Before(asked) || time.Since(l.at) < max(maxAge, listingShare*l.took)) {
		return l.names, nil
	}
	at := time.Now() // the listing shows the directory as of this moment, or later
	des, err := s.entries(st)
	if err != nil {
		return nil, err
	}
	names := make([]string, len(des))
	regular := make(map[string]bool, len(des))
	for i, de := range des {
		names[i] = de.Name()
		if de.Type().IsRegular() {
			regular[names[i]] = true
		}
	}
	s.netc.mu.Lock() // as well as l.mu: TakenRecently reads l.at under netc.mu
	l.at, l.took, l.names = at, time.Since(at), names
	l.regular = regular
	s.netc.mu.Unlock()
	return names, nil
}

// ErrBeingRead is PeekShared's answer, without wait, for a file that
// another caller is reading.
var ErrBeingRead = errors.New("being read by another caller")

// PeekShared is Peek, except that on a network spool a job that another
// caller of this process read from the same entry within the last
// peekShareFor is returned instead of reading the file again (errors are
// not shared). A caller that comes while the file is being read waits for
// it if wait is set, else gets ErrBeingRead: callers that read many files
// then read different ones side by side instead of the same ones in turn.
// The job is shared: callers must not change it. It may be out of date
// (the job left and came back under the same name), so it is for choosing
// what to claim, which reads the file again, not for acting on.
func (s *Spool) PeekShared(st State, name string, wait bool) (*job.Job, error) {
	if !s.network {
		return s.readName(st, name)
	}
	k := peekKey{st, name}
	now := time.Now()
	s.netc.mu.Lock()
	if s.netc.peeks == nil {
		s.netc.peeks = map[peekKey]*peeked{}
	}
	p := s.netc.peeks[k]
	if p != nil {
		select {
		case <-p.done:
			if p.err != nil || now.Sub(p.at) >= peekShareFor {
				p = nil // read it again
			}
		default: // being read
		}
	}
	if p != nil {
		s.netc.mu.Unlock()
		if !wait {
			select {
			case <-p.done:
			default:
				return nil, ErrBeingRead
			}
		}
		<-p.done
		return p.j, p.err
	}
	p = &peeked{done: make(chan struct{})}
	s.netc.peeks[k] = p
	if len(s.netc.peeks) > 1024 && len(s.netc.peeks)%256 == 0 {
		s.netc.prune(now)
	}
	// A name that the latest listing gave as a regular file is opened
	// without a lookup first (see readNameOpen): a round trip less.
	listedRegular := false
	if l := s.netc.lists[st]; l != nil {
		listedRegular = l.regular[name]
	}
	s.netc.mu.Unlock()
	p.at = time.Now()
	p.j, p.err = s.readNameOpen(st, name, listedRegular)
	close(p.done)
	return p.j, p.err
}

// prune drops the entries that no longer serve (c.mu held).
func (c *netCache) prune(now time.Time) {
	for k, p := range c.peeks {
		select {
		case <-p.done:
			if p.err != nil || now.Sub(p.at) >= peekShareFor {
				delete(c.peeks, k)
			}
		default:
		}
	}
}

// OfferBack hands the job id, which a recovery has just put back into
// state st, to whichever worker of this process is free first (TakeBack):
// without notifications the others would see it only at their next rescan.
// The hint is kept only where it is taken (a network spool, or one whose
// workers poll, which call TakeBack).
func (s *Spool) OfferBack(st State, id string) {
	s.netc.mu.Lock()
	defer s.netc.mu.Unlock()
	if len(s.netc.back) < 1024 {
		s.netc.back = append(s.netc.back, peekKey{st, id})
	}
	if s.netc.offer != nil {
		close(s.netc.offer)
		s.netc.offer = nil
	}
}

// Offered returns a channel that is closed at the next OfferBack: idle
// workers wait on it too, so that a job put back does not wait for their
// next rescan.
func (s *Spool) Offered() <-chan struct{} {
	s.netc.mu.Lock()
	defer s.netc.mu.Unlock()
	if s.netc.offer == nil {
		s.netc.offer = make(chan struct{})
	}
	return s.netc.offer
}

// TakeBack returns a job that OfferBack handed over, if any, once: the
// state it was put back into, and its id.
func (s *Spool) TakeBack() (State, string, bool) {
	s.netc.mu.Lock()
	defer s.netc.mu.Unlock()
	if len(s.netc.back) == 0 {
		return "", "", false
	}
	k := s.netc.back[0]
	s.netc.back = s.netc.back[1:]
	return k.st, k.name, true
}

// takenFor is how long NoteTaken remembers a job at most.
const takenFor = time.Minute

// NoteTaken tells the other workers of this process that the job id in
// state st has just been claimed, or found gone, by one of them (see
// TakenRecently). Only where the spool shares reads (a network spool).
func (s *Spool) NoteTaken(st State, id string) {
	if !s.network {
		return
	}
	now := time.Now()
	s.netc.mu.Lock()
	defer s.netc.mu.Unlock()
	if s.netc.taken == nil {
		s.netc.taken = map[peekKey]time.Time{}
	}
	if len(s.netc.taken) >= 4096 {
		for k, at := range s.netc.taken {
			if now.Sub(at) >= takenFor {
				delete(s.netc.taken, k)
			}
		}
	}
	s.netc.taken[peekKey{st, id}] = now
}

// TakenRecently reports whether a worker of this process noted the job id
// in state st as taken since the latest listing of st began (see
// NamesShared): polling workers, whose view of the spool comes from those
// listings, drop it from theirs instead of trying a claim that fails (a
// round trip or more to the server). A job that came back since (put back,
// or failed again) is in a later listing, and counts again.
func (s *Spool) TakenRecently(st State, id string) bool {
	if !s.network {
		return false
	}
	s.netc.mu.Lock()
	defer s.netc.mu.Unlock()
	at, ok := s.netc.taken[peekKey{st, id}]
	if !ok || time.Since(at) >= takenFor {
		return false
	}
	var listed time.Time // when the latest listing of st began
	if l := s.netc.lists[st]; l != nil {
		listed = l.at
	}
	return at.After(listed)
}
