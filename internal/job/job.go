// Package job defines the queuectl job file: its schema, a strict parser for
// files that other programs write, and the rules for job ids.
//
// A job file is a JSON object. Only "command" is required; every other field
// has a zero value that means "not set". Unknown fields, duplicate keys and
// values of the wrong type are errors that name the field, so that a typo
// such as "comand" never silently runs nothing.
package job

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"
)

// MaxSize is the largest job file, in bytes, that Parse accepts.
const MaxSize = 1 << 20

// MaxOutput is the most output, in bytes, that a job file keeps.
const MaxOutput = 4 << 10

// Limits on numeric fields; anything beyond them is surely a mistake and
// would overflow the arithmetic of delays and timeouts.
const (
	MaxRetriesLimit = 1000
	MaxTimeout      = 1e9 // seconds, about 31 years
)

// Job is one job file. The zero value of every field but Command means the
// field is absent.
type Job struct {
	ID         string    `json:"id,omitempty"`
	Command    string    `json:"command"`
	Dir        string    `json:"dir,omitempty"`         // working directory; empty: the worker's
	MaxRetries *int      `json:"max_retries,omitempty"` // nil: the configured default
	Priority   int       `json:"priority"`              // higher runs first
	Timeout    float64   `json:"timeout,omitempty"`     // seconds; 0: the configured default
	RunAt      time.Time `json:"run_at,omitzero"`       // not claimed before; zero: now
	Attempts   int       `json:"attempts"`              // started runs
	CreatedAt  time.Time `json:"created_at,omitzero"`
	UpdatedAt  time.Time `json:"updated_at,omitzero"`
	StartedAt  time.Time `json:"started_at,omitzero"`  // start of the latest run
	FinishedAt time.Time `json:"finished_at,omitzero"` // end of the latest run
	Worker     string    `json:"worker,omitempty"`     // worker of the latest run
	LastError  string    `json:"last_error"`
	ExitCode   *int      `json:"exit_code"` // nil until a run has ended with an exit code
	Output     string    `json:"output"`    // tail of the latest run's output, whatever its outcome
	State      string    `json:"state,omitempty"`
}

// Due reports when the job may be claimed: its run_at, else its creation
// time (the zero time if it has neither).
func (j *Job) Due() time.Time {
	if !j.RunAt.IsZero() {
		return j.RunAt
	}
	return j.CreatedAt
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

// decode fills j from one JSON object, field by field, refusing unknown and
// duplicate keys and trailing data.
func decode(data []byte, j *Job) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return &FieldError{Msg: "not a JSON object: " + jsonMsg(err)}
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return &FieldError{Msg: "not a JSON object"}
	}
	fields := j.fields()
	seen := make(map[string]bool)
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return &FieldError{Msg: "invalid JSON: " + jsonMsg(err)}
		}
		key, _ := tok.(string)
		target, ok := fields[key]
		if !ok {
			return &FieldError{Field: key, Msg: "unknown field"}
		}
		if seen[key] {
			return &FieldError{Field: key, Msg: "given twice"}
		}
		seen[key] = true
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return &FieldError{Msg: "invalid JSON: " + jsonMsg(err)}
		}
		if string(raw) == "null" {
			continue // null is absent
		}
		if err := json.Unmarshal(raw, target); err != nil {
			return &FieldError{Field: key, Msg: "want " + kind(target) + ", got " + clip(string(raw))}
		}
	}
	if _, err := dec.Token(); err != nil {
		return &FieldError{Msg: "invalid JSON: " + jsonMsg(err)}
	}
	if _, err := dec.Token(); err != io.EOF {
		return &FieldError{Msg: "data after the JSON object"}
	}
	return nil
}

// fields maps each JSON key to the field it fills.
func (j *Job) fields() map[string]any {
	return map[string]any{
		"id": &j.ID, "command": &j.Command, "dir": &j.Dir,
		"max_retries": &j.MaxRetries, "priority": &j.Priority, "timeout": &j.Timeout,
		"run_at": &j.RunAt, "attempts": &j.Attempts,
		"created_at": &j.CreatedAt, "updated_at": &j.UpdatedAt,
		"started_at": &j.StartedAt, "finished_at": &j.FinishedAt, "worker": &j.Worker,
		"last_error": &j.LastError, "exit_code": &j.ExitCode, "output": &j.Output,
		"state": &j.State,
	}
}

func kind(target any) string {
	switch target.(type) {
	case *string:
		return "a string"
	case *int, **int:
		return "an integer"
	case *float64:
		return "a number"
	case *time.Time:
		return "an RFC 3339 time"
	}
	return "another type"
}

func jsonMsg(err error) string {
	return strings.TrimPrefix(err.Error(), "json: ")
}

// clip shortens a value quoted in an error message.
func clip(s string) string {
	const n = 40
	if len(s) <= n {
		return s
	}
	for i := n; i > 0; i-- {
		if utf8.RuneStart(s[i]) {
			return s[:i] + "..."
		}
	}
	return "..."
}

// Validate checks the rules that the JSON types alone do not express, and
// brings every time to UTC.
func (j *Job) Validate() error {
	for _, f := range [...]struct{ name, v string }{{"id", j.ID}, {"command", j.Command}, {"dir", j.Dir},
		{"worker", j.Worker}, {"last_error", j.LastError}, {"output", j.Output}, {"state", j.State}} {
		if !utf8.ValidString(f.v) {
			return &FieldError{Field: f.name, Msg: "not valid UTF-8"}
		}
	}
	if strings.TrimSpace(j.Command) == "" {
		return &FieldError{Field: "command", Msg: "missing or empty"}
	}
	if strings.IndexByte(j.Command, 0) >= 0 {
		return &FieldError{Field: "command", Msg: "contains a NUL byte"}
	}
	if strings.IndexByte(j.Dir, 0) >= 0 {
		return &FieldError{Field: "dir", Msg: "contains a NUL byte"}
	}
	if j.ID != "" {
		if err := CheckID(j.ID); err != nil {
			return &FieldError{Field: "id", Msg: err.Error()}
		}
	}
	if j.MaxRetries != nil && (*j.MaxRetries < 0 || *j.MaxRetries > MaxRetriesLimit) {
		return &FieldError{Field: "max_retries", Msg: fmt.Sprintf("must be between 0 and %d", MaxRetriesLimit)}
	}
	if j.Timeout < 0 || j.Timeout > MaxTimeout {
		return &FieldError{Field: "timeout", Msg: fmt.Sprintf("must be between 0 and %g seconds", float64(MaxTimeout))}
	}
	if j.Attempts < 0 {
		return &FieldError{Field: "attempts", Msg: "must not be negative"}
	}
	if len(j.Output) > MaxOutput {
		return &FieldError{Field: "output", Msg: fmt.Sprintf("longer than %d bytes", MaxOutput)}
	}
	times := [...]struct {
		name string
		t    *time.Time
	}{
		{"run_at", &j.RunAt}, {"created_at", &j.CreatedAt}, {"updated_at", &j.UpdatedAt},
		{"started_at", &j.StartedAt}, {"finished_at", &j.FinishedAt},
	}
	for _, f := range times {
		if f.t.IsZero() {
			continue
		}
		*f.t = f.t.UTC()
		if y := f.t.Year(); y < 1 || y > 9999 {
			return &FieldError{Field: f.name, Msg: "year out of range"}
		}
	}
	return nil
}

// Marshal encodes a job as it is written to a spool file: indented, one
// field a line, ending in a newline.
// Characters such as & and < are kept as they are, not escaped, so that
// commands stay readable and files stay small.
func Marshal(j *Job) ([]byte, error) {
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
