package spool

import (
	"bytes"

	"golang.org/x/sys/unix"
)

// onNetworkFS reports whether dir is on a network file system (NFS, SMB,
// AFP, WebDAV, FUSE), where file notifications miss other hosts' changes
// and locks may be local only.
func onNetworkFS(dir string) bool {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return false
	}
	name, _, _ := bytes.Cut(st.Fstypename[:], []byte{0})
	return networkFSName(string(name))
}
