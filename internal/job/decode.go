package job

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"
)

// The reference decoder, built on encoding/json: it reads every file that
// the fast path (fast.go) leaves to it, and words every error.

// decode fills j from one JSON object, field by field, refusing unknown and
// duplicate keys and trailing data.
func decode(data []byte, j *Job) error {
	return decodeObject(data, j.fields(), "")
}

// decodeObject fills the targets of fields from one JSON object, refusing
// unknown and duplicate keys and trailing data. path names the object in
// errors: "" for the job itself, else the field that holds it, such as
// "history[0]".
func decodeObject(data []byte, fields map[string]any, path string) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return &FieldError{Field: path, Msg: "not a JSON object: " + jsonMsg(err)}
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return &FieldError{Field: path, Msg: "not a JSON object"}
	}
	seen := make(map[string]bool)
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return &FieldError{Msg: "invalid JSON: " + jsonMsg(err)}
		}
		key, _ := tok.(string)
		name := key
		if path != "" {
			name = path + "." + key
		}
		target, ok := fields[key]
		if !ok {
			return &FieldError{Field: name, Msg: "unknown field"}
		}
		if seen[key] {
			return &FieldError{Field: name, Msg: "given twice"}
		}
		seen[key] = true
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return &FieldError{Msg: "invalid JSON: " + jsonMsg(err)}
		}
		if string(raw) == "null" {
			continue // null is absent
		}
		if err := decodeValue(raw, target, name); err != nil {
			return err
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

// decodeValue fills target from the JSON value raw of the field name.
func decodeValue(raw []byte, target any, name string) error {
	switch t := target.(type) {
	case *map[string]string:
		return decodeEnv(raw, t, name)
	case *[]Run:
		return decodeHistory(raw, t, name)
	}
	if err := json.Unmarshal(raw, target); err != nil {
		return &FieldError{Field: name, Msg: "want " + kind(target) + ", got " + clip(string(raw))}
	}
	return nil
}

// decodeEnv reads an object of strings, refusing a name given twice (which
// encoding/json would let the last one win).
func decodeEnv(raw []byte, m *map[string]string, name string) error {
	wrong := &FieldError{Field: name, Msg: "want " + kind(m) + ", got " + clip(string(raw))}
	dec := json.NewDecoder(bytes.NewReader(raw))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return wrong
	}
	env := map[string]string{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return wrong
		}
		k, _ := tok.(string)
		if _, dup := env[k]; dup {
			return &FieldError{Field: name, Msg: fmt.Sprintf("variable %s given twice", quote(k))}
		}
		tok, err = dec.Token()
		v, ok := tok.(string)
		if err != nil || !ok {
			return &FieldError{Field: name, Msg: fmt.Sprintf("variable %s: want a string", quote(k))}
		}
		env[k] = v
	}
	*m = env
	return nil
}

// decodeHistory reads an array of runs, each as strictly as the job.
func decodeHistory(raw []byte, h *[]Run, name string) error {
	var elems []json.RawMessage
	if err := json.Unmarshal(raw, &elems); err != nil {
		return &FieldError{Field: name, Msg: "want " + kind(h) + ", got " + clip(string(raw))}
	}
	runs := make([]Run, len(elems))
	for i, e := range elems {
		path := fmt.Sprintf("%s[%d]", name, i)
		if len(e) == 0 || e[0] != '{' {
			return &FieldError{Field: path, Msg: "want an object, got " + clip(string(e))}
		}
		if err := decodeObject(e, runs[i].fields(), path); err != nil {
			return err
		}
	}
	*h = runs
	return nil
}

// fields maps each JSON key to the field it fills.
func (j *Job) fields() map[string]any {
	return map[string]any{
		"id": &j.ID, "command": &j.Command, "dir": &j.Dir,
		"env": &j.Env, "after": &j.After, "unique_key": &j.UniqueKey,
		"max_retries": &j.MaxRetries, "no_retry_on": &j.NoRetryOn, "priority": &j.Priority, "timeout": &j.Timeout,
		"run_at": &j.RunAt, "attempts": &j.Attempts, "interruptions": &j.Interrupts,
		"created_at": &j.CreatedAt, "updated_at": &j.UpdatedAt,
		"started_at": &j.StartedAt, "finished_at": &j.FinishedAt, "worker": &j.Worker,
		"last_error": &j.LastError, "exit_code": &j.ExitCode, "output": &j.Output,
		"history": &j.History, "state": &j.State,
	}
}

// fields maps each JSON key of a history entry to the field it fills.
func (r *Run) fields() map[string]any {
	return map[string]any{
		"attempt": &r.Attempt, "started_at": &r.StartedAt, "finished_at": &r.FinishedAt,
		"worker": &r.Worker, "exit_code": &r.ExitCode, "error": &r.Error, "stopped": &r.Stopped,
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
	case *bool:
		return "true or false"
	case *time.Time:
		return "an RFC 3339 time"
	case *[]string:
		return "an array of strings"
	case *[]int:
		return "an array of integers"
	case *map[string]string:
		return "an object of strings"
	case *[]Run:
		return "an array of objects"
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
