// Package job defines the queuectl job file: its schema, a strict parser for
// files that other programs write, and the rules for job ids.
//
// A job file is a JSON object. Only "command" is required; every other field
// has a zero value that means "not set". Unknown fields, duplicate keys and
// values of the wrong type are errors that name the field, so that a typo
// such as "comand" never silently runs nothing.
package job

import (
	"errors"
	"fmt"
	"time"
	"unicode/utf8"
)

// Job is one job file. The zero value of every field but Command means the
// field is absent.
type Job struct {
	ID         string            `json:"id,omitempty"`
	Command    string            `json:"command"`
	Dir        string            `json:"dir,omitempty"`           // working directory; empty: the worker's
	Env        map[string]string `json:"env,omitempty"`           // added to the command's environment
	After      []string          `json:"after,omitempty"`         // ids of the jobs that must be done first
	UniqueKey  string            `json:"unique_key,omitempty"`    // at most one live job per key
	MaxRetries *int              `json:"max_retries,omitempty"`   // nil: the configured default
	NoRetryOn  []int             `json:"no_retry_on,omitempty"`   // exit codes after which the job is not retried
	Priority   int               `json:"priority"`                // higher runs first
	Timeout    float64           `json:"timeout,omitempty"`       // seconds; 0: the configured default
	RunAt      time.Time         `json:"run_at,omitzero"`         // not claimed before; zero: now
	Attempts   int               `json:"attempts"`                // started runs
	Interrupts int               `json:"interruptions,omitempty"` // runs that died with their worker, since the job was enqueued or retried
	CreatedAt  time.Time         `json:"created_at,omitzero"`
	UpdatedAt  time.Time         `json:"updated_at,omitzero"`
	StartedAt  time.Time         `json:"started_at,omitzero"`  // start of the latest run
	FinishedAt time.Time         `json:"finished_at,omitzero"` // end of the latest run
	Worker     string            `json:"worker,omitempty"`     // worker of the latest run
	LastError  string            `json:"last_error"`
	ExitCode   *int              `json:"exit_code"`         // nil until a run has ended with an exit code
	Output     string            `json:"output"`            // tail of the latest run's output, whatever its outcome
	History    []Run             `json:"history,omitempty"` // the latest runs, oldest first
	State      string            `json:"state,omitempty"`
}

// Run is one entry of a job's history: one run of its command.
type Run struct {
	Attempt    int       `json:"attempt"`
	StartedAt  time.Time `json:"started_at,omitzero"`
	FinishedAt time.Time `json:"finished_at,omitzero"`
	Worker     string    `json:"worker"`
	ExitCode   *int      `json:"exit_code"` // nil if the command did not exit by itself
	Error      string    `json:"error"`     // as last_error; empty on success
	Stopped    bool      `json:"stopped,omitempty"`
}

// Due reports when the job may be claimed: its run_at, or the zero time
// (at once) if it has none. Only run_at delays a job; its creation time
// and its file's modification time only order it (see Order).
func (j *Job) Due() time.Time {
	return j.RunAt
}

// Order reports the time that places the job among those of its priority,
// earliest first: its run_at, else its creation time.
func (j *Job) Order() time.Time {
	if !j.RunAt.IsZero() {
		return j.RunAt
	}
	return j.CreatedAt
}

// Waits reports whether the job waits for the jobs it names in after: it
// has some and has not started a run yet. Dependencies are checked before
// the first run only; a job that has run (and failed, or was stopped) is
// not held back by them again.
func (j *Job) Waits() bool {
	return len(j.After) > 0 && j.Attempts == 0 && len(j.History) == 0
}

// Retries returns the job's max_retries, or def when the file has none.
func (j *Job) Retries(def int) int {
	if j.MaxRetries != nil {
		return *j.MaxRetries
	}
	return def
}

// FieldError is a problem with one field of a job file. Its text names the
// field and is fit to be a quarantine reason.
type FieldError struct {
	Field string
	Msg   string
}

func (e *FieldError) Error() string {
	if e.Field == "" {
		return e.Msg
	}
	return fmt.Sprintf("field %q: %s", e.Field, e.Msg)
}

// ErrTooLarge is returned for job files over MaxSize.
var ErrTooLarge = fmt.Errorf("job file is larger than %d bytes", MaxSize)

// ErrIDMismatch is returned when a file's "id" differs from its name.
var ErrIDMismatch = errors.New("id does not match the file name")

// Parse reads a job file strictly. name is the id that the file's name
// implies ("" when the job does not come from a spool file); when the file
// gives no id, the job takes that one.
func Parse(data []byte, name string) (*Job, error) {
	if len(data) > MaxSize {
		return nil, ErrTooLarge
	}
	if !utf8.Valid(data) {
		return nil, &FieldError{Msg: "job file is not valid UTF-8"}
	}
	j := new(Job)
	if !decodeFast(data, j) {
		*j = Job{}
		if err := decode(data, j); err != nil {
			return nil, err
		}
	}
	if j.ID == "" {
		j.ID = name
	} else if name != "" && j.ID != name {
		return nil, &FieldError{Field: "id", Msg: fmt.Sprintf("%q does not match the file name %q", j.ID, name+".json")}
	}
	if err := j.Validate(); err != nil {
		return nil, err
	}
	return j, nil
}

// Marshal encodes a job as it is written to a spool file: indented, one
// field a line, ending in a newline.
// Characters such as & and < are kept as they are, not escaped, so that
// commands stay readable and files stay small.
//
// What queuectl writes about runs is cut to its limits first (see
// clipped), so that the file of a valid job always fits in MaxSize: the
// job itself is not changed.
func Marshal(j *Job) ([]byte, error) {
	j = j.clipped()
	b, err := appendJob(make([]byte, 0, 512+len(j.Command)+len(j.Output)+len(j.LastError)), j)
	if err != nil {
		return nil, err
	}
	b = append(b, '\n')
	if len(b) > MaxSize {
		return nil, ErrTooLarge
	}
	return b, nil
}
