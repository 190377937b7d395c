package job

import (
	"strconv"
	"time"
)

// The scanner of the fast decoder (fast.go).

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

func (s *scanner) null() bool {
	if len(s.b)-s.i >= 4 && string(s.b[s.i:s.i+4]) == "null" {
		s.i += 4
		return true
	}
	return false
}

func (s *scanner) intPtr() (*int, bool) {
	n, ok := s.integer()
	return &n, ok
}

func (s *scanner) time(t *time.Time) bool {
	start := s.i
	if _, _, ok := s.quoted(); !ok {
		return false
	}
	return t.UnmarshalJSON(s.b[start:s.i]) == nil
}

// elements reads a JSON array or object (open and close are its brackets),
// calling elem for each element with the scanner at its start.
func (s *scanner) elements(open, close byte, elem func() bool) bool {
	if !s.eat(open) {
		return false
	}
	s.space()
	if s.eat(close) {
		return true
	}
	for {
		s.space()
		if !elem() {
			return false
		}
		s.space()
		if s.eat(',') {
			continue
		}
		return s.eat(close)
	}
}
