package spool

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"unicode/utf8"
)

// reasonSuffix ends the name of the file that says why an entry of
// rejected/ was rejected.
const reasonSuffix = ".reason"

// Quarantine moves the entry name of state st into rejected/, as it is (a
// symlink stays a symlink and is not followed), and writes beside it
// <name>.reason holding reason. It returns the entry's name in rejected/,
// which gets a numeric suffix when the name is taken. The error matches
// fs.ErrNotExist if the entry is gone (another process moved it first).
//
// The reason file is published first, with a rename that never overwrites:
// whoever publishes it owns the name, so two processes rejecting entries of
// the same name never overwrite each other. A crash between the two steps
// leaves a reason without its entry, which is harmless.
func (s *Spool) Quarantine(st State, name, reason string) (string, error) {
	if name == "" || strings.ContainsAny(name, `/\`) || name == "." || name == ".." {
		return "", fmt.Errorf("quarantine %q: not a file name", name)
	}
	src := filepath.Join(s.dir(st), name)
	if _, err := os.Lstat(src); err != nil {
		return "", fmt.Errorf("quarantine %s: %w", name, err)
	}
	data := []byte(strings.TrimSpace(reason) + "\n")
	base := rejectedName(name)
	for n := 0; ; n++ {
		dst := base
		if n > 0 {
			dst = base + "." + strconv.Itoa(n)
		}
		if _, err := os.Lstat(filepath.Join(s.dir(Rejected), dst)); err == nil {
			continue
		}
		tmp, err := s.writeTemp("reason", data)
		if err != nil {
			return "", fmt.Errorf("quarantine %s: %w", name, err)
		}
		reasonPath := filepath.Join(s.dir(Rejected), dst+reasonSuffix)
		if err := publish(tmp, reasonPath); err != nil {
			os.Remove(tmp)
			if errors.Is(err, fs.ErrExist) {
				continue
			}
			return "", fmt.Errorf("quarantine %s: %w", name, err)
		}
		if err := publish(src, filepath.Join(s.dir(Rejected), dst)); err != nil {
			os.Remove(reasonPath)
			if errors.Is(err, fs.ErrExist) {
				continue
			}
			return "", fmt.Errorf("quarantine %s: %w", name, err)
		}
		if err := syncDir(s.dir(Rejected)); err != nil {
			return dst, fmt.Errorf("quarantine %s: %w", name, err)
		}
		return dst, syncDir(s.dir(st))
	}
}

// maxRejectedName keeps "<name>.<n>.reason" within the 255 bytes that file
// systems allow in a name.
const maxRejectedName = 200

// rejectedName returns the name an entry gets in rejected/: its own name,
// shortened with a hash if it is too long, and never ending in .reason,
// which marks reason files.
func rejectedName(name string) string {
	if len(name) > maxRejectedName {
		sum := sha256.Sum256([]byte(name))
		cut := maxRejectedName - 17
		for cut > 0 && !utf8.RuneStart(name[cut]) {
			cut--
		}
		name = name[:cut] + "~" + hex.EncodeToString(sum[:8])
	}
	if strings.HasSuffix(name, reasonSuffix) {
		name += "_"
	}
	return name
}

// reason returns why the entry name of rejected/ was rejected.
func (s *Spool) reason(name string) error {
	data, err := readEntry(filepath.Join(s.dir(Rejected), name+reasonSuffix))
	if err != nil {
		return errors.New("rejected (no reason recorded)")
	}
	return errors.New(strings.TrimSpace(string(data)))
}
