package job

import (
	"strconv"
	"time"
)

// The job file's JSON, read and written without reflection: job files are
// read by the ten thousand (list, a worker's scan) and written once per
// enqueue, where encoding/json's reflection and its first-use set-up cost
// more than the work itself.
//
// decodeFast reads only the plain files that queuectl and most tools write;
// anything else (a syntax error, a \u escape, a key given twice, a value of
// the wrong type) is left to decode, the reference, which also words the
// error. So the fast path never changes what a file means: FuzzParse checks
// that it agrees with decode wherever it accepts a file, and that
// appendJob (encode.go) writes what encoding/json would.

// Field numbers, in the order of the Job struct.
const (
	fID = iota
	fCommand
	fDir
	fEnv
	fAfter
	fUniqueKey
	fMaxRetries
	fNoRetryOn
	fPriority
	fTimeout
	fRunAt
	fAttempts
	fInterrupts
	fCreatedAt
	fUpdatedAt
	fStartedAt
	fFinishedAt
	fWorker
	fLastError
	fExitCode
	fOutput
	fHistory
	fState
)

func fieldNumber(key []byte) int {
	switch string(key) {
	case "id":
		return fID
	case "command":
		return fCommand
	case "dir":
		return fDir
	case "env":
		return fEnv
	case "after":
		return fAfter
	case "unique_key":
		return fUniqueKey
	case "max_retries":
		return fMaxRetries
	case "no_retry_on":
		return fNoRetryOn
	case "priority":
		return fPriority
	case "timeout":
		return fTimeout
	case "run_at":
		return fRunAt
	case "attempts":
		return fAttempts
	case "interruptions":
		return fInterrupts
	case "created_at":
		return fCreatedAt
	case "updated_at":
		return fUpdatedAt
	case "started_at":
		return fStartedAt
	case "finished_at":
		return fFinishedAt
	case "worker":
		return fWorker
	case "last_error":
		return fLastError
	case "exit_code":
		return fExitCode
	case "output":
		return fOutput
	case "history":
		return fHistory
	case "state":
		return fState
	}
	return -1
}

// decodeFast fills the zero job j from data, as decode would, and reports
// whether it could; when it reports false, j is in an unspecified state and
// data must go to decode.
func decodeFast(data []byte, j *Job) bool {
	s := scanner{b: data}
	s.space()
	if !s.fields(fieldNumber, func(f int) bool { return s.value(j, f) }) {
		return false
	}
	s.space()
	return s.i == len(s.b)
}

// fields reads an object whose keys number maps to field numbers (below
// 32; -1 for an unknown key), each read by value. An unknown key or one
// given twice makes it fail, for decode to name.
func (s *scanner) fields(number func(key []byte) int, value func(f int) bool) bool {
	var seen uint32
	return s.elements('{', '}', func() bool {
		key, _, ok := s.quoted()
		if !ok {
			return false
		}
		f := number(key)
		if f < 0 || seen&(1<<f) != 0 {
			return false
		}
		seen |= 1 << f
		s.space()
		if !s.eat(':') {
			return false
		}
		s.space()
		return value(f)
	})
}

// value reads the value of field f into j.
func (s *scanner) value(j *Job, f int) bool {
	if s.null() {
		return true // null is absent
	}
	var ok bool
	switch f {
	case fID:
		j.ID, ok = s.str()
	case fCommand:
		j.Command, ok = s.str()
	case fDir:
		j.Dir, ok = s.str()
	case fUniqueKey:
		j.UniqueKey, ok = s.str()
	case fEnv:
		j.Env, ok = s.env()
	case fAfter:
		j.After, ok = s.strings()
	case fHistory:
		j.History, ok = s.history()
	case fWorker:
		j.Worker, ok = s.str()
	case fLastError:
		j.LastError, ok = s.str()
	case fOutput:
		j.Output, ok = s.str()
	case fState:
		j.State, ok = s.str()
	case fPriority:
		j.Priority, ok = s.integer()
	case fAttempts:
		j.Attempts, ok = s.integer()
	case fInterrupts:
		j.Interrupts, ok = s.integer()
	case fMaxRetries:
		j.MaxRetries, ok = s.intPtr()
	case fNoRetryOn:
		j.NoRetryOn, ok = s.ints()
	case fExitCode:
		j.ExitCode, ok = s.intPtr()
	case fTimeout:
		var text string
		if text, _, ok = s.number(); ok {
			var err error
			j.Timeout, err = strconv.ParseFloat(text, 64)
			ok = err == nil
		}
	case fRunAt, fCreatedAt, fUpdatedAt, fStartedAt, fFinishedAt:
		ok = s.time(j.timeField(f))
	}
	return ok
}

// strings reads an array of strings; null elements are left to decode.
func (s *scanner) strings() ([]string, bool) {
	list := []string{}
	ok := s.elements('[', ']', func() bool {
		v, ok := s.str()
		list = append(list, v)
		return ok
	})
	return list, ok
}

// ints reads an array of integers; null elements are left to decode.
func (s *scanner) ints() ([]int, bool) {
	list := []int{}
	ok := s.elements('[', ']', func() bool {
		v, ok := s.integer()
		list = append(list, v)
		return ok
	})
	return list, ok
}

// env reads an object of strings; a name given twice, a name with escapes
// and a null value are left to decode.
func (s *scanner) env() (map[string]string, bool) {
	m := map[string]string{}
	ok := s.elements('{', '}', func() bool {
		k, _, ok := s.quoted()
		if !ok {
			return false
		}
		if _, dup := m[string(k)]; dup {
			return false
		}
		s.space()
		if !s.eat(':') {
			return false
		}
		s.space()
		v, ok := s.str()
		m[string(k)] = v
		return ok
	})
	return m, ok
}

// Field numbers of a history entry.
const (
	rAttempt = iota
	rStartedAt
	rFinishedAt
	rWorker
	rExitCode
	rError
	rStopped
)

func runFieldNumber(key []byte) int {
	switch string(key) {
	case "attempt":
		return rAttempt
	case "started_at":
		return rStartedAt
	case "finished_at":
		return rFinishedAt
	case "worker":
		return rWorker
	case "exit_code":
		return rExitCode
	case "error":
		return rError
	case "stopped":
		return rStopped
	}
	return -1
}

// history reads an array of runs; a null entry is left to decode.
func (s *scanner) history() ([]Run, bool) {
	runs := []Run{}
	ok := s.elements('[', ']', func() bool {
		var r Run
		ok := s.fields(runFieldNumber, func(f int) bool { return s.runValue(&r, f) })
		runs = append(runs, r)
		return ok
	})
	return runs, ok
}

// runValue reads the value of field f of a history entry into r.
func (s *scanner) runValue(r *Run, f int) bool {
	if s.null() {
		return true // null is absent
	}
	var ok bool
	switch f {
	case rAttempt:
		r.Attempt, ok = s.integer()
	case rStartedAt:
		ok = s.time(&r.StartedAt)
	case rFinishedAt:
		ok = s.time(&r.FinishedAt)
	case rWorker:
		r.Worker, ok = s.str()
	case rExitCode:
		r.ExitCode, ok = s.intPtr()
	case rError:
		r.Error, ok = s.str()
	case rStopped:
		switch {
		case len(s.b)-s.i >= 4 && string(s.b[s.i:s.i+4]) == "true":
			r.Stopped, ok = true, true
			s.i += 4
		case len(s.b)-s.i >= 5 && string(s.b[s.i:s.i+5]) == "false":
			ok = true
			s.i += 5
		}
	}
	return ok
}

func (j *Job) timeField(f int) *time.Time {
	switch f {
	case fRunAt:
		return &j.RunAt
	case fCreatedAt:
		return &j.CreatedAt
	case fUpdatedAt:
		return &j.UpdatedAt
	case fStartedAt:
		return &j.StartedAt
	}
	return &j.FinishedAt
}
