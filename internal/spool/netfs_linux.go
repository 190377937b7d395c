package spool

import "golang.org/x/sys/unix"

// Magic numbers of statfs(2) for the file systems that a spool may share
// with other hosts (linux/magic.h, fs/smb).
const (
	magicNFS   = 0x6969
	magicSMB   = 0x517b
	magicCIFS  = 0xff534d42
	magicSMB2  = 0xfe534d42
	magicFUSE  = 0x65735546
	magicCeph  = 0x00c36400
	magic9P    = 0x01021997
	magicAFS   = 0x5346414f
	magicOCFS2 = 0x7461636f
	magicGFS2  = 0x01161970
)

// onNetworkFS reports whether dir is on a network or cluster file system,
// where file notifications miss other hosts' changes and locks may be
// emulated or local only.
func onNetworkFS(dir string) bool {
	t, ok := fsType(dir)
	if !ok {
		return false
	}
	switch t {
	case magicNFS, magicSMB, magicCIFS, magicSMB2, magicFUSE, magicCeph, magic9P, magicAFS, magicOCFS2, magicGFS2:
		return true
	}
	return false
}

// Magic numbers of statfs(2) for the disk file systems on which a job's
// flushes may be held (see Spool.HoldSyncs).
const (
	magicExt      = 0xef53 // ext2, ext3, ext4
	magicXFS      = 0x58465342
	magicBtrfs    = 0x9123683e
	magicF2FS     = 0xf2f52010
	magicTmpfs    = 0x01021994
	magicOverlay  = 0x794c7630
	magicBcachefs = 0xca451a4e
)

// onLocalDisk reports whether dir is on one of the local disk file systems
// above. Anything else, or a statfs that fails, is not: a flush that holds
// its processor must not wait on a server, a FUSE daemon or a file system
// this list does not know.
func onLocalDisk(dir string) bool {
	t, ok := fsType(dir)
	if !ok {
		return false
	}
	switch t {
	case magicExt, magicXFS, magicBtrfs, magicF2FS, magicTmpfs, magicOverlay, magicBcachefs:
		return true
	}
	return false
}

// fsType returns the magic number of the file system dir is on, as
// statfs(2) tells it, and false if it cannot.
func fsType(dir string) (uint32, bool) {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return 0, false
	}
	return uint32(st.Type), true
}
