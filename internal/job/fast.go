package job

import (
	"errors"
	"math"
	"strconv"
	"time"
	"unicode/utf8"
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
// appendJob writes what encoding/json would.

// Field numbers, in the order of the Job struct.
const (
	fID = iota
	fCommand
	fDir
	fMaxRetries
	fPriority
	fTimeout
	fRunAt
	fAttempts
	fCreatedAt
	fUpdatedAt
	fStartedAt
	fFinishedAt
	fWorker
	fLastError
	fExitCode
	fOutput
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
	case "max_retries":
		return fMaxRetries
	case "priority":
		return fPriority
	case "timeout":
		return fTimeout
	case "run_at":
		return fRunAt
	case "attempts":
		return fAttempts
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
	case "state":
		return fState
	}
	return -1
}

// scanner walks a JSON text; every method reports false on anything it
// does not handle.
type scanner struct {
	b []byte
	i int
}

func (s *scanner) space() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

func (s *scanner) eat(c byte) bool {
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return true
	}
	return false
}

// quoted returns a string's bytes between its quotes, without the quotes,
// if it has no escapes and no control characters; esc reports whether it
// stopped at a backslash (the string may still be read by str).
func (s *scanner) quoted() (raw []byte, esc, ok bool) {
	if !s.eat('"') {
		return nil, false, false
	}
	start := s.i
	for s.i < len(s.b) {
		c := s.b[s.i]
		switch {
		case c == '"':
			s.i++
			return s.b[start : s.i-1], false, true
		case c == '\\':
			return nil, true, false
		case c < 0x20:
			return nil, false, false
		}
		s.i++
	}
	return nil, false, false
}

// str reads a string value, with the escapes that encoding/json writes
// for control characters, quotes and backslashes; \u escapes are left to
// the reference decoder.
func (s *scanner) str() (string, bool) {
	start := s.i
	raw, esc, ok := s.quoted()
	if ok {
		return string(raw), true
	}
	if !esc {
		return "", false
	}
	s.i = start + 1
	buf := make([]byte, 0, 64)
	for s.i < len(s.b) {
		c := s.b[s.i]
		switch {
		case c == '"':
			s.i++
			return string(buf), true
		case c < 0x20:
			return "", false
		case c != '\\':
			buf = append(buf, c)
			s.i++
			continue
		}
		if s.i+1 >= len(s.b) {
			return "", false
		}
		switch e := s.b[s.i+1]; e {
		case '"', '\\', '/':
			buf = append(buf, e)
		case 'b':
			buf = append(buf, '\b')
		case 'f':
			buf = append(buf, '\f')
		case 'n':
			buf = append(buf, '\n')
		case 'r':
			buf = append(buf, '\r')
		case 't':
			buf = append(buf, '\t')
		default:
			return "", false
		}
		s.i += 2
	}
	return "", false
}

// number returns a JSON number's text; integer says it has neither
// fraction nor exponent.
func (s *scanner) number() (text string, integer, ok bool) {
	start := s.i
	s.eat('-')
	switch {
	case s.eat('0'):
	case s.i < len(s.b) && '1' <= s.b[s.i] && s.b[s.i] <= '9':
		s.digits()
	default:
		return "", false, false
	}
	integer = true
	if s.eat('.') {
		integer = false
		if !s.digits() {
			return "", false, false
		}
	}
	if s.eat('e') || s.eat('E') {
		integer = false
		if !s.eat('+') {
			s.eat('-')
		}
		if !s.digits() {
			return "", false, false
		}
	}
	return string(s.b[start:s.i]), integer, true
}

func (s *scanner) digits() bool {
	start := s.i
	for s.i < len(s.b) && '0' <= s.b[s.i] && s.b[s.i] <= '9' {
		s.i++
	}
	return s.i > start
}

func (s *scanner) integer() (int, bool) {
	text, integer, ok := s.number()
	if !ok || !integer {
		return 0, false
	}
	n, err := strconv.ParseInt(text, 10, strconv.IntSize)
	return int(n), err == nil
}

// decodeFast fills the zero job j from data, as decode would, and reports
// whether it could; when it reports false, j is in an unspecified state and
// data must go to decode.
func decodeFast(data []byte, j *Job) bool {
	s := scanner{b: data}
	s.space()
	if !s.eat('{') {
		return false
	}
	s.space()
	if !s.eat('}') {
		var seen uint32
		for {
			s.space()
			key, _, ok := s.quoted()
			if !ok {
				return false
			}
			f := fieldNumber(key)
			if f < 0 || seen&(1<<f) != 0 {
				return false
			}
			seen |= 1 << f
			s.space()
			if !s.eat(':') {
				return false
			}
			s.space()
			if !s.value(j, f) {
				return false
			}
			s.space()
			if s.eat(',') {
				continue
			}
			if s.eat('}') {
				break
			}
			return false
		}
	}
	s.space()
	return s.i == len(s.b)
}

// value reads the value of field f into j.
func (s *scanner) value(j *Job, f int) bool {
	if len(s.b)-s.i >= 4 && string(s.b[s.i:s.i+4]) == "null" {
		s.i += 4 // null is absent
		return true
	}
	var ok bool
	switch f {
	case fID:
		j.ID, ok = s.str()
	case fCommand:
		j.Command, ok = s.str()
	case fDir:
		j.Dir, ok = s.str()
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
	case fMaxRetries, fExitCode:
		var n int
		if n, ok = s.integer(); ok {
			if f == fMaxRetries {
				j.MaxRetries = &n
			} else {
				j.ExitCode = &n
			}
		}
	case fTimeout:
		var text string
		if text, _, ok = s.number(); ok {
			var err error
			j.Timeout, err = strconv.ParseFloat(text, 64)
			ok = err == nil
		}
	case fRunAt, fCreatedAt, fUpdatedAt, fStartedAt, fFinishedAt:
		start := s.i
		if _, _, ok = s.quoted(); ok {
			ok = j.timeField(f).UnmarshalJSON(s.b[start:s.i]) == nil
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
	if j.MaxRetries != nil {
		w.Int("max_retries", *j.MaxRetries)
	}
	w.Int("priority", j.Priority)
	if j.Timeout != 0 {
		w.Float("timeout", j.Timeout)
	}
	w.Time("run_at", j.RunAt, true)
	w.Int("attempts", j.Attempts)
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
	if j.State != "" {
		w.String("state", j.State)
	}
	return w.Close()
}

// ObjectWriter appends one JSON object as encoding/json's Encoder lays it
// out with SetEscapeHTML(false) and an indent: a field a line.
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
