package main

import (
	"errors"

	"github.com/queuectl/queuectl/internal/spool"
)

// Exit codes: the contract with scripts, decided here and nowhere else.
const (
	exitOK       = 0  // success
	exitFailed   = 1  // the operation failed: invalid job or value, duplicate id, wrong state
	exitUsage    = 2  // unknown command or flag, missing argument
	exitNotFound = 3  // no job with that id
	exitTempFail = 75 // temporary failure (disk full, I/O error), safe to retry; nothing changed
)

// exitCodesHelp is listed in --help and mirrors the README.
const exitCodesHelp = `Exit codes:
  0   success
  1   the operation failed: invalid job or value, duplicate id, wrong state
  2   usage: unknown command or flag, missing argument
  3   no job with that id
  75  temporary failure (disk full, I/O error), safe to retry; nothing was changed`

// usageError is a mistake in how the command was called.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

// opError marks an error returned by a command's own work, as opposed to
// one that cobra returned while parsing flags and arguments (a usage error).
type opError struct{ err error }

func (e *opError) Error() string { return e.err.Error() }
func (e *opError) Unwrap() error { return e.err }

// exitCode maps an error to the exit code of the contract.
func exitCode(err error) int {
	var ue *usageError
	var oe *opError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &ue):
		return exitUsage
	case !errors.As(err, &oe):
		return exitUsage // from cobra: unknown command or flag, bad arguments
	case errors.Is(err, spool.ErrNotFound):
		return exitNotFound
	case spool.IsTemporary(err):
		return exitTempFail
	}
	return exitFailed
}
