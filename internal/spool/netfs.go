package spool

// networkFSNames are the file system type names that statfs(2) gives on
// macOS (f_fstypename) for file systems that a spool may share with other
// hosts.
var networkFSNames = map[string]bool{
	"nfs": true, "smbfs": true, "cifs": true, "afpfs": true, "webdav": true,
	"macfuse": true, "osxfuse": true, "fusefs": true, "fuse": true, "9p": true,
}

// networkFSName reports whether the statfs type name name is one of
// networkFSNames. A FUSE file system's name may carry its kind after a dot
// (fusefs.sshfs).
func networkFSName(name string) bool {
	for i := range len(name) {
		if name[i] == '.' {
			name = name[:i]
			break
		}
	}
	return networkFSNames[name]
}
