package job

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"time"
)

// MaxIDLen is the longest id.
const MaxIDLen = 128

// ErrBadID is wrapped by every error that CheckID returns.
var ErrBadID = errors.New("invalid id")

// reserved are the device names that Windows refuses as file names, with or
// without an extension ("nul.json" is as bad as "nul").
var reserved = map[string]bool{
	"con": true, "prn": true, "aux": true, "nul": true, "conin$": true, "conout$": true,
	"com1": true, "com2": true, "com3": true, "com4": true, "com5": true, "com6": true, "com7": true, "com8": true, "com9": true,
	"lpt1": true, "lpt2": true, "lpt3": true, "lpt4": true, "lpt5": true, "lpt6": true, "lpt7": true, "lpt8": true, "lpt9": true,
}

// CheckID reports whether id may name a job: it matches
// [A-Za-z0-9][A-Za-z0-9._-]{0,127} and is not a name that Windows reserves.
// An id that passes is safe to use as a file name on every platform.
func CheckID(id string) error {
	if id == "" {
		return badID(id, "must not be empty")
	}
	if len(id) > MaxIDLen {
		return badID(id, "is longer than 128 characters")
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		alnum := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
		if i == 0 && !alnum {
			return badID(id, "must start with a letter or digit")
		}
		if !alnum && c != '.' && c != '_' && c != '-' {
			return badID(id, "may hold only letters, digits, '.', '_' and '-'")
		}
	}
	base, _, _ := strings.Cut(id, ".")
	if reserved[strings.ToLower(base)] {
		return badID(id, "is a device name reserved by Windows")
	}
	return nil
}

func badID(id, msg string) error {
	return &idError{id: id, msg: msg}
}

type idError struct{ id, msg string }

func (e *idError) Error() string { return "id " + quote(e.id) + " " + e.msg }
func (e *idError) Unwrap() error { return ErrBadID }

func quote(s string) string {
	return strconv.Quote(clip(s))
}

// NewID returns a fresh id that sorts by creation time, such as
// 20261127-095900-3f9a1c2b.
func NewID(now time.Time) string {
	var b [4]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return now.UTC().Format("20060102-150405-") + hex.EncodeToString(b[:])
}
