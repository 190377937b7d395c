package job

import (
	"errors"
	"maps"
	"math"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"
)

// appendJob appends j as encoding/json's Encoder writes it with
// SetEscapeHTML(false) and SetIndent("", "  "): one field a line, in struct
// order, with the struct tags' omitempty and omitzero, ending with the
// closing brace (no newline).
func appendJob(b []byte, j *Job) ([]byte, error) {
	w := Object(b, "  ", "")
	if j.ID != "" {
		w.String("id", j.ID)
	}
	w.String("command", j.Command)
	if j.Dir != "" {
		w.String("dir", j.Dir)
	}
	if len(j.Env) > 0 {
		w.StringMap("env", j.Env)
	}
	if len(j.After) > 0 {
		w.Strings("after", j.After)
	}
	if j.UniqueKey != "" {
		w.String("unique_key", j.UniqueKey)
	}
	if j.MaxRetries != nil {
		w.Int("max_retries", *j.MaxRetries)
	}
	if len(j.NoRetryOn) > 0 {
		w.Ints("no_retry_on", j.NoRetryOn)
	}
	w.Int("priority", j.Priority)
	if j.Timeout != 0 {
		w.Float("timeout", j.Timeout)
	}
	w.Time("run_at", j.RunAt, true)
	w.Int("attempts", j.Attempts)
	if j.Interrupts != 0 {
		w.Int("interruptions", j.Interrupts)
	}
	w.Time("created_at", j.CreatedAt, true)
	w.Time("updated_at", j.UpdatedAt, true)
	w.Time("started_at", j.StartedAt, true)
	w.Time("finished_at", j.FinishedAt, true)
	if j.Worker != "" {
		w.String("worker", j.Worker)
	}
	w.String("last_error", j.LastError)
	w.IntPtr("exit_code", j.ExitCode)
	w.String("output", j.Output)
	if len(j.History) > 0 {
		w.Runs("history", j.History)
	}
	if j.State != "" {
		w.String("state", j.State)
	}
	return w.Close()
}

// ObjectWriter appends one JSON object as encoding/json's Encoder lays it
// out with SetEscapeHTML(false) and an indent of two spaces a level: a
// field a line.
type ObjectWriter struct {
	b       []byte
	in, out string // before each key, and before the closing brace
	n       int
	err     error
}

// Object starts an object at the end of b: in is put before each key (its
// indentation at its depth) and out before the closing brace.
func Object(b []byte, in, out string) *ObjectWriter {
	return &ObjectWriter{b: append(b, '{'), in: in, out: out}
}

func (w *ObjectWriter) key(k string) {
	if w.n > 0 {
		w.b = append(w.b, ',')
	}
	w.n++
	w.b = append(w.b, '\n')
	w.b = append(w.b, w.in...)
	w.b = append(w.b, '"')
	w.b = append(w.b, k...)
	w.b = append(w.b, '"', ':', ' ')
}

// String writes a string field.
func (w *ObjectWriter) String(k, v string) {
	w.key(k)
	w.b = AppendString(w.b, v)
}

// Int writes an integer field.
func (w *ObjectWriter) Int(k string, v int) {
	w.key(k)
	w.b = strconv.AppendInt(w.b, int64(v), 10)
}

// Float writes a number field.
func (w *ObjectWriter) Float(k string, v float64) {
	w.key(k)
	var err error
	if w.b, err = AppendFloat(w.b, v); err != nil && w.err == nil {
		w.err = err
	}
}

// Time writes a time field; omitZero leaves out the zero time, which is
// otherwise written as null (as a nil *time.Time is).
func (w *ObjectWriter) Time(k string, t time.Time, omitZero bool) {
	if t.IsZero() && omitZero {
		return
	}
	w.key(k)
	if t.IsZero() {
		w.b = append(w.b, "null"...)
		return
	}
	var err error
	if w.b, err = AppendTime(w.b, t); err != nil && w.err == nil {
		w.err = err
	}
}

// Bool writes a boolean field.
func (w *ObjectWriter) Bool(k string, v bool) {
	w.key(k)
	w.b = strconv.AppendBool(w.b, v)
}

// Strings writes an array of strings.
func (w *ObjectWriter) Strings(k string, v []string) {
	w.key(k)
	w.array(len(v), func(i int) { w.b = AppendString(w.b, v[i]) }, '[', ']')
}

// Ints writes an array of integers.
func (w *ObjectWriter) Ints(k string, v []int) {
	w.key(k)
	w.array(len(v), func(i int) { w.b = strconv.AppendInt(w.b, int64(v[i]), 10) }, '[', ']')
}

// StringMap writes an object of strings, its keys sorted as encoding/json
// sorts a map's.
func (w *ObjectWriter) StringMap(k string, m map[string]string) {
	w.key(k)
	keys := slices.Sorted(maps.Keys(m))
	w.array(len(keys), func(i int) {
		w.b = AppendString(w.b, keys[i])
		w.b = append(w.b, ':', ' ')
		w.b = AppendString(w.b, m[keys[i]])
	}, '{', '}')
}

// Objects writes an array of n objects; elem writes the i-th one's fields.
func (w *ObjectWriter) Objects(k string, n int, elem func(e *ObjectWriter, i int)) {
	w.key(k)
	inner := w.in + "  "
	w.array(n, func(i int) {
		e := Object(w.b, inner+"  ", inner)
		elem(e, i)
		if b, err := e.Close(); err == nil {
			w.b = b
		} else {
			w.b = e.b
			if w.err == nil {
				w.err = err
			}
		}
	}, '[', ']')
}

// Runs writes a history: an array of runs as in a job file.
func (w *ObjectWriter) Runs(k string, runs []Run) {
	w.Objects(k, len(runs), func(e *ObjectWriter, i int) {
		r := &runs[i]
		e.Int("attempt", r.Attempt)
		e.Time("started_at", r.StartedAt, true)
		e.Time("finished_at", r.FinishedAt, true)
		e.String("worker", r.Worker)
		e.IntPtr("exit_code", r.ExitCode)
		e.String("error", r.Error)
		if r.Stopped {
			e.Bool("stopped", true)
		}
	})
}

// array writes n elements between open and close, one a line, each
// written by elem.
func (w *ObjectWriter) array(n int, elem func(i int), open, close byte) {
	w.b = append(w.b, open)
	for i := range n {
		if i > 0 {
			w.b = append(w.b, ',')
		}
		w.b = append(w.b, '\n')
		w.b = append(w.b, w.in...)
		w.b = append(w.b, ' ', ' ')
		elem(i)
	}
	if n > 0 {
		w.b = append(w.b, '\n')
		w.b = append(w.b, w.in...)
	}
	w.b = append(w.b, close)
}

// IntPtr writes an integer field that may be null.
func (w *ObjectWriter) IntPtr(k string, p *int) {
	w.key(k)
	if p == nil {
		w.b = append(w.b, "null"...)
		return
	}
	w.b = strconv.AppendInt(w.b, int64(*p), 10)
}

// Close ends the object and returns the bytes, or the first error (a time
// or number that JSON cannot hold).
func (w *ObjectWriter) Close() ([]byte, error) {
	if w.err != nil {
		return nil, w.err
	}
	if w.n > 0 {
		w.b = append(w.b, '\n')
		w.b = append(w.b, w.out...)
	}
	return append(w.b, '}'), nil
}

// AppendString appends s as a JSON string, escaped as encoding/json does
// with SetEscapeHTML(false): quotes, backslashes and control characters
// escaped, invalid UTF-8 replaced by U+FFFD, and U+2028 and U+2029
// escaped.
func AppendString(dst []byte, s string) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '\\', '"':
				dst = append(dst, '\\', c)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hex[r&0xF])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// AppendFloat appends f as encoding/json writes a float64.
func AppendFloat(dst []byte, f float64) ([]byte, error) {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return nil, errors.New("json: unsupported value: " + strconv.FormatFloat(f, 'g', -1, 64))
	}
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	dst = strconv.AppendFloat(dst, f, format, -1, 64)
	if format == 'e' {
		// e-09 becomes e-9
		if n := len(dst); n >= 4 && dst[n-4] == 'e' && dst[n-3] == '-' && dst[n-2] == '0' {
			dst[n-2] = dst[n-1]
			dst = dst[:n-1]
		}
	}
	return dst, nil
}

// AppendTime appends t as encoding/json writes a time.Time: a quoted
// RFC 3339 time with sub-second precision.
func AppendTime(dst []byte, t time.Time) ([]byte, error) {
	b, err := t.MarshalJSON()
	if err != nil {
		return nil, errors.New("json: error calling MarshalJSON for type time.Time: " + err.Error())
	}
	return append(dst, b...), nil
}
