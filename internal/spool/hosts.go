package spool

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/queuectl/queuectl/internal/job"
)

// DefaultLease is how long a heartbeat of a worker on another host stays
// valid when nothing else is set (the configuration's lease).
const DefaultLease = 30 * time.Second

// shared is what a Spool knows about the hosts that may share it.
//
// On a local file system nothing here applies: a job file's lock, which
// the kernel drops when its process dies, tells a live owner from a dead
// one. On a network file system (NFS, SMB, FUSE) several hosts may use
// the spool at once, and a lock says less: a host that lost power leaves
// its locks held on the server until the server's own lease for that
// client runs out, and some mounts (local_lock=flock) do not share locks
// between hosts at all. So on such a spool:
//
//   - locks are taken through descriptors open for writing, which Linux
//     needs to emulate flock with the POSIX locks of NFSv4;
//   - a claim writes its attempt, with the worker's id, into the job file
//     before the command runs (no claim mark, see markClaimed), so that the
//     file in processing/ names its owner;
//   - whether that owner lives is decided by its heartbeat when it runs on
//     another host (alive while the heartbeat is younger than the lease),
//     and by the lock when it runs on this one, as on a local spool;
//   - recoveries hold the exclusive spool lock and check the file again
//     under it, because one may go ahead without the job file's lock (still
//     held for a dead host).
type shared struct {
	network bool         // on a network file system, or Options.Network
	host    string       // this host's name, as workers write it in heartbeats
	lease   atomic.Int64 // nanoseconds; 0: DefaultLease
	// orphanScan is when the last orphan scan through this Spool began
	// (Unix nanoseconds), for OrphanScanTurn.
	orphanScan atomic.Int64
	// orphanExpiry is when the first heartbeat of a live owner of another
	// host, as the last orphan scan found them, will be older than the
	// lease (Unix nanoseconds; 0: none).
	orphanExpiry atomic.Int64
	netc         netCache // see NamesShared
	exp          expiries // see expiredOrphans
}

// OrphanScanTurn reports whether a caller that looks for orphans every
// `every` is to look now. On a network spool the workers of one process
// share the scans: each lists processing/ and reads every file in it and
// its owner's heartbeat, a dozen round trips to the server that one
// worker's scan makes for all. Elsewhere (a local listing is cheap, and
// notifications keep each worker's view) it is always true.
//
// A scan is due too once the heartbeat that the last scan found to expire
// first has expired (see UntilOrphanScan), so that a host's death is seen
// a lease after its last heartbeat, not up to `every` later.
func (s *Spool) OrphanScanTurn(every time.Duration) bool {
	if !s.network {
		return true
	}
	now := s.now().UnixNano()
	last := s.orphanScan.Load()
	exp := s.orphanExpiry.Load()
	due := now-last >= int64(every)-int64(every/10) || exp != 0 && last <= exp && now > exp
	return due && s.orphanScan.CompareAndSwap(last, now)
}

// UntilOrphanScan returns how long a caller that looks for orphans every
// `every` is to wait before its next look: `every`, or less on a network
// spool where a heartbeat of another host's worker that owns a job will be
// older than the lease sooner.
func (s *Spool) UntilOrphanScan(every time.Duration) time.Duration {
	if !s.network {
		return every
	}
	exp := s.orphanExpiry.Load()
	if exp == 0 {
		return every
	}
	d := time.Duration(exp-s.now().UnixNano()) + time.Millisecond // older than, not as old as
	return min(max(d, time.Millisecond), every)
}

// detectShared fills in s.shared once the spool's directory exists.
func (s *Spool) detectShared(o Options) {
	s.network = o.Network || onNetworkFS(s.root)
	s.host, _ = os.Hostname()
	s.SetLease(o.Lease)
}

// Network reports whether the spool is on a network file system (NFS,
// SMB/CIFS, FUSE), where workers cannot rely on file notifications and
// workers of other hosts may share it, or was opened with Options.Network.
func (s *Spool) Network() bool { return s.network }

// SetLease sets how long a heartbeat of a worker on another host stays
// valid: older, the worker is taken for dead and its jobs are recovered.
// Zero or less means DefaultLease. It matters only on a network spool.
func (s *Spool) SetLease(d time.Duration) { s.lease.Store(int64(max(d, 0))) }

func (s *Spool) leaseTime() time.Duration {
	if d := time.Duration(s.lease.Load()); d > 0 {
		return d
	}
	return DefaultLease
}

// peer is what a worker's heartbeat says about where and whether it runs.
type peer int

const (
	peerUnknown    peer = iota // no heartbeat to read (gone, or never written)
	peerLocal                  // runs on this host: its lock decides
	peerRemoteLive             // another host, heartbeat within the lease
	peerRemoteDead             // another host, heartbeat older than the lease
	peerUndecided              // the heartbeat could not be read: take it for alive
)

// peerOf reads the heartbeat of worker id. For a worker of another host
// it returns when that heartbeat was written too.
func (s *Spool) peerOf(id string) (peer, time.Time) {
	if id == "" || job.CheckID(id) != nil {
		return peerUnknown, time.Time{}
	}
	hb, err := s.ReadHeartbeat(id)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return peerUnknown, time.Time{}
	case err != nil:
		return peerUndecided, time.Time{}
	case hb.Host == "" || hb.Host == s.host:
		return peerLocal, time.Time{}
	case s.now().Sub(hb.HeartbeatAt) > s.leaseTime():
		return peerRemoteDead, hb.HeartbeatAt
	}
	return peerRemoteLive, hb.HeartbeatAt
}

// remoteAlive answers for probeLock on a network spool: remote is true if
// worker id's heartbeat says it runs on another host, whose lock proves
// nothing here, and alive then says whether the heartbeat is within the
// lease.
func (s *Spool) remoteAlive(id string) (remote, alive bool) {
	if !s.network {
		return false, false
	}
	switch p, _ := s.peerOf(id); p {
	case peerRemoteLive, peerUndecided:
		return true, true
	case peerRemoteDead:
		return true, false
	}
	return false, false
}

// sharedOrphan decides, on a network spool, whether the job j in
// processing/ (its file fi; locked: this process got the file's lock) has
// lost its owner.
//
// A file whose recorded state is still pending or failed is in the middle
// of a claim (renamed into processing/, its attempt not yet written): its
// claimer is not named in it, so it counts as orphaned only once the file
// has not changed for a lease (the lock cannot say whose claim it is). A
// file with an attempt or an outcome names its worker: one of this host is
// judged by the lock, one of another host by its heartbeat; a worker whose
// heartbeat is gone has ended (it writes one before it claims anything and
// removes it only after its last outcome, and others remove it only once
// it is dead); one whose heartbeat cannot be read is taken for alive.
func (s *Spool) sharedOrphan(j *job.Job, fi fs.FileInfo, locked bool) bool {
	return s.orphanJudged(j, fi, locked, s.ownerOf(j))
}

// ownerOf returns what the heartbeat of job j's worker says (see peerOf),
// where sharedOrphan needs it: for a job that names its worker.
func (s *Spool) ownerOf(j *job.Job) peer {
	switch State(j.State) {
	case Pending, Failed, "":
		return peerUnknown
	}
	p, _ := s.peerOf(j.Worker)
	return p
}

// orphanJudged is sharedOrphan, given the owner's heartbeat as ownerOf read it.
func (s *Spool) orphanJudged(j *job.Job, fi fs.FileInfo, locked bool, owner peer) bool {
	switch State(j.State) {
	case Pending, Failed, "":
		ct := changeTime(fi)
		if ct.IsZero() {
			return locked
		}
		return s.now().Sub(ct) > s.leaseTime()
	}
	switch owner {
	case peerLocal:
		return locked
	case peerRemoteLive, peerUndecided:
		return false
	}
	return true
}

// needsLock reports whether sharedOrphan looks at the lock for job j,
// whose file is fi and whose owner's heartbeat says owner.
func needsLock(j *job.Job, fi fs.FileInfo, owner peer) bool {
	switch State(j.State) {
	case Pending, Failed, "":
		return changeTime(fi).IsZero()
	}
	return owner == peerLocal
}

// openLocked opens an existing job file (see openEntry) and locks it; on a
// network spool the file is opened for writing too, which an exclusive
// lock needs there. It returns the open file's information too.
func (s *Spool) openLocked(path string) (*os.File, fs.FileInfo, error) {
	f, fi, err := s.openForLock(path)
	if err != nil {
		return nil, nil, err
	}
	if err := tryLock(f); err != nil {
		f.Close()
		return nil, nil, err
	}
	return f, fi, nil
}

// openForLock opens an existing job file for reading, and on a network
// spool for writing too.
func (s *Spool) openForLock(path string) (*os.File, fs.FileInfo, error) {
	if s.network {
		return openEntryRW(path)
	}
	return openEntry(path)
}

// recoverShared is Recover on a network spool (see shared).
func (s *Spool) recoverShared(id string, maxRetries, maxInterrupts int) (*job.Job, State, error) {
	src := s.path(Processing, id)
	f, fi, err := s.openForLock(src)
	if err != nil {
		return nil, "", s.takeErr(id, err)
	}
	lerr := tryLock(f)
	if lerr != nil && !errors.Is(lerr, errLocked) {
		f.Close()
		return nil, "", s.takeErr(id, lerr)
	}
	if err := samePath(fi, src); err != nil {
		f.Close()
		return nil, "", err
	}
	j, err := readJob(f, fi, id)
	if err != nil {
		f.Close()
		return nil, "", &InvalidError{Name: id + ".json", Reason: err}
	}
	if !s.sharedOrphan(j, fi, lerr == nil) {
		f.Close()
		return nil, "", ErrBusy
	}
	unlock, err := s.lock(true)
	if err != nil {
		f.Close()
		return nil, "", err
	}
	defer unlock()
	// Another recoverer may have moved the file on meanwhile.
	if err := samePath(fi, src); err != nil {
		f.Close()
		return nil, "", err
	}
	return s.recoverLease(&Lease{s: s, Job: j, f: f, spoolLocked: true}, fi, maxRetries, maxInterrupts)
}

// orphansShared is Orphans on a network spool, a full scan. It notes the
// jobs of live owners of other hosts, and when their heartbeats will be
// older than the lease (see UntilOrphanScan and expiredOrphans).
func (s *Spool) orphansShared(names []string) []string {
	var ids []string
	var soon []expiring
	for _, n := range names {
		id, err := IDFromName(n)
		if err != nil {
			continue
		}
		f, fi, err := s.openForLock(s.path(Processing, id))
		if err != nil {
			continue
		}
		j, err := readJob(f, fi, id)
		if err != nil {
			f.Close()
			continue
		}
		owner, beat := peerUnknown, time.Time{}
		switch State(j.State) {
		case Pending, Failed, "":
		default:
			owner, beat = s.peerOf(j.Worker)
		}
		// The lock is tried only where it decides (an owner of this host):
		// every lock taken on a network file system costs the server a
		// lock owner, and the scan runs every second.
		locked := needsLock(j, fi, owner) && tryLock(f) == nil
		f.Close()
		if s.orphanJudged(j, fi, locked, owner) {
			ids = append(ids, id)
		}
		if owner == peerRemoteLive {
			soon = append(soon, expiring{at: beat.Add(s.leaseTime()), id: id, owner: j.Worker})
		}
	}
	s.noteExpiring(soon)
	return ids
}

// openWritable opens path for reading and writing, for a lock that needs
// it; where the file is not writable for this user (a file another tool
// dropped), it is opened for reading only and its lock may fail.
func openWritable(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|oNoFollow, 0)
	if errors.Is(err, fs.ErrPermission) || errors.Is(err, syscall.EROFS) {
		f, err = os.OpenFile(path, os.O_RDONLY|oNoFollow, 0)
	}
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	return f, nil
}
