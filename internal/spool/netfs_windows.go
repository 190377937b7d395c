package spool

import (
	"path/filepath"
	"strings"

	"golang.org/x/sys/windows"
)

// onNetworkFS reports whether dir is on another machine: a UNC path
// (\\server\share) or a drive letter mapped to a share. File notifications
// and locks of a share do not reach other hosts' clients.
func onNetworkFS(dir string) bool {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return false
	}
	vol := filepath.VolumeName(abs)
	if isUNC(vol) {
		return true
	}
	// A drive letter behind a device prefix (\\?\Z:) is a drive letter.
	for _, prefix := range []string{`\\?\`, `\\.\`} {
		if d, ok := strings.CutPrefix(vol, prefix); ok && len(d) == 2 {
			vol = d
		}
	}
	if len(vol) != 2 || vol[1] != ':' {
		return false
	}
	root, err := windows.UTF16PtrFromString(vol + `\`)
	if err != nil {
		return false
	}
	return windows.GetDriveType(root) == windows.DRIVE_REMOTE
}

// isUNC reports whether the volume name vol is a share (\\server\share),
// not a local device path (\\?\C: or \\.\C:).
func isUNC(vol string) bool {
	if strings.HasPrefix(vol, `\\?\UNC\`) || strings.HasPrefix(vol, `\\.\UNC\`) {
		return true
	}
	return strings.HasPrefix(vol, `\\`) && !strings.HasPrefix(vol, `\\?\`) && !strings.HasPrefix(vol, `\\.\`)
}
