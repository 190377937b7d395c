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

// resultError ends a command about several jobs (cancel, wait) whose
// per-job results were printed already: it carries the exit code that the
// worst of them calls for, and a message only if one line is still to be
// said (else nothing more is printed).
type resultError struct {
	code int
	msg  string
}

func (e *resultError) Error() string { return e.msg }

// timeoutError says that a wait ran out of time before its jobs ended:
// nothing was changed, and waiting again is safe.
type timeoutError struct{ msg string }

func (e *timeoutError) Error() string { return e.msg }

// worse returns the exit code that tells more of two results about
// several jobs: an unknown id (3) before a job in the wrong state or
// another failure (1), before a temporary failure (75), before success.
func worse(a, b int) int {
	rank := func(c int) int {
		switch c {
		case exitOK:
			return 0
		case exitTempFail:
			return 1
		case exitNotFound:
			return 3
		}
		return 2
	}
	if rank(b) > rank(a) {
		return b
	}
	return a
}

// jobCode is the exit code of one job's error, for worse.
func jobCode(err error) int { return exitCode(&opError{err}) }

// exitCode maps an error to the exit code of the contract.
func exitCode(err error) int {
	var ue *usageError
	var oe *opError
	var re *resultError
	var te *timeoutError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &ue):
		return exitUsage
	case errors.As(err, &re):
		return re.code
	case errors.As(err, &te):
		return exitTempFail
	case !errors.As(err, &oe):
		return exitUsage // from cobra: unknown command or flag, bad arguments
	case errors.Is(err, spool.ErrNotFound):
		return exitNotFound
	case spool.IsTemporary(err):
		return exitTempFail
	}
	return exitFailed
}
