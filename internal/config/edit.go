package config

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/queuectl/queuectl/internal/durable"
)

// line is one top-level "key = value" line found in a file: where its value
// starts and ends (in bytes of the whole file), so that it can be replaced
// while the rest of the line (spacing, a comment) stays.
type line struct {
	num        int // 1-based
	valueStart int
	valueEnd   int
}

// findKey returns where the top-level key name is set in data, or ok false.
// It reads only as much TOML as a flat file of keys needs: bare or quoted
// keys, and values that may be strings spanning lines; a table header ends
// the top level.
func findKey(data []byte, name string) (l line, ok bool) {
	num := 0
	off := 0
	if bytes.HasPrefix(data, []byte("\uFEFF")) {
		off = 3 // a byte order mark
	}
	for off < len(data) {
		num++
		end := bytes.IndexByte(data[off:], '\n')
		if end < 0 {
			end = len(data)
		} else {
			end += off
		}
		text := string(data[off:end])
		trimmed := strings.TrimLeft(text, " \t")
		if strings.HasPrefix(trimmed, "[") {
			if tableName(trimmed) == name {
				return line{num: num, valueStart: -1}, true
			}
			return line{}, false // tables begin; no more top-level keys
		}
		eq := strings.IndexByte(trimmed, '=')
		if eq < 0 || strings.HasPrefix(trimmed, "#") {
			off = end + 1
			continue
		}
		k := unquoteKey(strings.TrimSpace(trimmed[:eq]))
		vstart := off + len(text) - len(trimmed) + eq + 1
		for vstart < end && (data[vstart] == ' ' || data[vstart] == '\t') {
			vstart++
		}
		vend, next := valueEnd(data, vstart)
		if k == name {
			return line{num: num, valueStart: vstart, valueEnd: vend}, true
		}
		if next > end {
			num += bytes.Count(data[end:next], []byte("\n"))
			end = next
			if end < len(data) && data[end] != '\n' {
				if i := bytes.IndexByte(data[end:], '\n'); i >= 0 {
					end += i
				} else {
					end = len(data)
				}
			}
		}
		off = end + 1
	}
	return line{}, false
}

// lineOf returns the line that sets a top-level key, or 0 if none does.
func lineOf(data []byte, name string) int {
	l, _ := findKey(data, name)
	return l.num
}

func tableName(header string) string {
	header = strings.TrimLeft(header, "[")
	name, _, _ := strings.Cut(header, "]")
	return unquoteKey(strings.TrimSpace(name))
}

func unquoteKey(k string) string {
	if len(k) >= 2 && (k[0] == '"' || k[0] == '\'') && k[len(k)-1] == k[0] {
		if s, err := strconv.Unquote(`"` + k[1:len(k)-1] + `"`); err == nil && k[0] == '"' {
			return s
		}
		return k[1 : len(k)-1]
	}
	return k
}

// valueEnd returns where the value starting at start ends (before spaces and
// a comment), and where the scan stopped (the end of a multi-line string).
func valueEnd(data []byte, start int) (end, next int) {
	rest := data[start:]
	for _, delim := range []string{`"""`, `'''`} {
		if !bytes.HasPrefix(rest, []byte(delim)) {
			continue
		}
		for i := 3; i+3 <= len(rest); i++ {
			if delim[0] == '"' && rest[i] == '\\' {
				i++ // an escaped character, such as \"
				continue
			}
			if bytes.HasPrefix(rest[i:], []byte(delim)) {
				end = start + i + 3
				for end < len(data) && data[end] == delim[0] { // up to two quotes may end the string
					end++
				}
				return end, end
			}
		}
		return len(data), len(data)
	}
	if len(rest) > 0 && (rest[0] == '"' || rest[0] == '\'') {
		q := rest[0]
		for i := 1; i < len(rest) && rest[i] != '\n'; i++ {
			if q == '"' && rest[i] == '\\' {
				i++
				continue
			}
			if rest[i] == q {
				return start + i + 1, start + i + 1
			}
		}
	}
	end = start
	for end < len(data) && data[end] != '\n' && data[end] != '#' {
		end++
	}
	for end > start && (data[end-1] == ' ' || data[end-1] == '\t' || data[end-1] == '\r') {
		end--
	}
	return end, end
}

// ParseValue converts a value given on the command line for a key into its
// TOML form, checking its type and range.
func ParseValue(name, value string) (string, error) {
	k, err := lookup(name)
	if err != nil {
		return "", err
	}
	switch k.kind {
	case kindString:
		if !utf8.ValidString(value) {
			return "", fmt.Errorf("%s: must be valid UTF-8", name)
		}
		if err := k.checkString(value); err != nil {
			return "", fmt.Errorf("%s: %w", name, err)
		}
		return tomlString(value), nil
	case kindBool:
		b, err := strconv.ParseBool(value)
		if err != nil {
			return "", fmt.Errorf("%s: want true or false, got %q", name, value)
		}
		return strconv.FormatBool(b), nil
	case kindInt:
		n, err := strconv.Atoi(value)
		if err != nil {
			return "", fmt.Errorf("%s: want an integer, got %q", name, value)
		}
		if err := k.check(float64(n)); err != nil {
			return "", fmt.Errorf("%s: %w", name, err)
		}
		return strconv.Itoa(n), nil
	case kindCodes:
		return parseCodes(k, value)
	}
	f, err := strconv.ParseFloat(value, 64)
	if err != nil && k.seconds {
		f, err = ParseSeconds(value) // durations and days too, as the flags take them
	}
	if err != nil || math.IsInf(f, 0) || f != f {
		want := "a number"
		if k.seconds {
			want = "a number of seconds or a duration such as 30s or 7d"
		}
		return "", fmt.Errorf("%s: want %s, got %q", name, want, value)
	}
	if err := k.check(f); err != nil {
		return "", fmt.Errorf("%s: %w", name, err)
	}
	return strconv.FormatFloat(f, 'f', -1, 64), nil
}

// parseCodes reads a list of exit codes as given on the command line:
// separated by commas or spaces, with or without the brackets of a TOML
// array ("2,64", "2 64", "[2, 64]"); "" or "[]" is the empty list.
func parseCodes(k *key, value string) (string, error) {
	inner := strings.TrimSpace(value)
	if strings.HasPrefix(inner, "[") && strings.HasSuffix(inner, "]") {
		inner = inner[1 : len(inner)-1]
	}
	var codes []int
	for _, f := range strings.FieldsFunc(inner, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' }) {
		n, err := strconv.Atoi(f)
		if err != nil {
			return "", fmt.Errorf("%s: want exit codes such as 2,64, got %q", k.name, value)
		}
		if err := k.check(float64(n)); err != nil {
			return "", fmt.Errorf("%s: exit code %d: %w", k.name, n, err)
		}
		codes = append(codes, n)
	}
	if len(codes) > maxCodes {
		return "", fmt.Errorf("%s: more than %d exit codes", k.name, maxCodes)
	}
	return NewExitCodes(codes...).String(), nil
}

// tomlString writes s as a TOML basic string.
func tomlString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\u%04X`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// Edit returns data with key name set to value (as given on the command
// line): the value on the key's line is replaced and everything else,
// comments and other keys included, is kept; a key not in the file is added
// after the last top-level line. The result is checked by parsing it.
func Edit(data []byte, path, name, value string) ([]byte, error) {
	tv, err := ParseValue(name, value)
	if err != nil {
		return nil, err
	}
	var out []byte
	l, ok := findKey(data, name)
	switch {
	case ok && l.valueStart < 0:
		return nil, fmt.Errorf("%s:%d: %s is a table; it must be a plain key", path, l.num, name)
	case ok:
		out = make([]byte, 0, len(data)+len(tv))
		out = append(out, data[:l.valueStart]...)
		out = append(out, tv...)
		out = append(out, data[l.valueEnd:]...)
	default:
		// The file has no tables (Parse refuses them), so the end of the
		// file is the end of the top level.
		nl := "\n"
		if bytes.Contains(data, []byte("\r\n")) {
			nl = "\r\n"
		}
		out = append(out, data...)
		if len(out) > 0 && out[len(out)-1] != '\n' {
			out = append(out, nl...)
		}
		out = append(out, name+" = "+tv+nl...)
	}
	// Check the edit did what it should and nothing else: the key has its
	// new value and every other key the value it had.
	after, err := Parse(out, path)
	if err != nil {
		return nil, fmt.Errorf("setting %s would make the file invalid: %w", name, err)
	}
	before, err := Parse(data, path)
	if err != nil {
		return nil, err
	}
	if err := before.assignString(name, tv); err != nil {
		return nil, err
	}
	if *after != *before {
		return nil, fmt.Errorf("%s: cannot set %s safely in this file's layout; edit it by hand", path, name)
	}
	return out, nil
}

// Set sets key name to value in the file at path and rewrites the file
// atomically (a missing file is created). The file keeps its mode, its
// comments and its other keys.
func Set(path, name, value string) error {
	if real, err := filepath.EvalSymlinks(path); err == nil {
		path = real // edit the file a symlink points to, keep the link
	}
	data, err := os.ReadFile(path)
	perm := os.FileMode(0o644)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		data = nil
	case err != nil:
		return fmt.Errorf("config: %w", err)
	default:
		if fi, err := os.Stat(path); err == nil {
			perm = fi.Mode().Perm()
		}
	}
	if len(data) > 0 {
		if _, err := Parse(data, path); err != nil {
			return err
		}
	}
	out, err := Edit(data, path, name, value)
	if err != nil {
		return err
	}
	if err := durable.WriteFile(path, out, perm); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	return nil
}
