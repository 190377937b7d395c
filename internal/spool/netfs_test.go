package spool

import "testing"

func TestNetworkFSName(t *testing.T) {
	t.Parallel()
	for name, want := range map[string]bool{
		"nfs": true, "smbfs": true, "afpfs": true, "webdav": true, "macfuse": true,
		"fusefs.sshfs": true, "apfs": false, "hfs": false, "ufs": false, "zfs": false,
		"tmpfs": false, "": false, "devfs": false,
	} {
		if got := networkFSName(name); got != want {
			t.Errorf("networkFSName(%q) = %v, want %v", name, got, want)
		}
	}
}
