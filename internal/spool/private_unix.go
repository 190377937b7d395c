//go:build unix

package spool

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"syscall"
)

// CheckPrivate refuses a spool that other users can change: anyone who can
// write pending/ (or rename into it, or replace the spool's directories)
// can run commands as the user who runs the workers. The spool's root and
// every directory that holds jobs must belong to this user and be writable
// by no one else; a group-shared spool may instead belong to one of this
// user's groups and be writable by that group, never by others.
func (s *Spool) CheckPrivate() error {
	dirs := []string{s.root, filepath.Join(s.root, dirTmp), filepath.Join(s.root, dirWorkers), filepath.Join(s.root, dirLogs)}
	for _, st := range append(States, Rejected) {
		dirs = append(dirs, s.dir(st))
	}
	uid := os.Getuid()
	groups, _ := os.Getgroups()
	groups = append(groups, os.Getgid())
	forbidden := os.FileMode(0o022)
	if s.group {
		forbidden = 0o002
	}
	for _, d := range dirs {
		fi, err := os.Lstat(d)
		if err != nil {
			return fmt.Errorf("check spool: %w", err)
		}
		if !fi.IsDir() {
			return fmt.Errorf("spool %s: %s is not a directory (a symlink?); refusing to run jobs from it", s.root, d)
		}
		st, ok := fi.Sys().(*syscall.Stat_t)
		if ok && int(st.Uid) != uid && !(s.group && slices.Contains(groups, int(st.Gid))) {
			return fmt.Errorf("spool %s: %s belongs to user %d, not to you (%d): its owner could run commands as you; refusing to run jobs from it", s.root, d, st.Uid, uid)
		}
		if perm := fi.Mode().Perm(); perm&forbidden != 0 {
			return fmt.Errorf("spool %s: %s is writable by other users (mode %04o): anyone who can write it can run commands as you; fix with chmod %s %s", s.root, d, perm, map[bool]string{false: "go-w", true: "o-w"}[s.group], d)
		}
	}
	return nil
}
