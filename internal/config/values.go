package config

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Value types of the configuration: lists of exit codes, and seconds as
// users write them.

// maxExitCode is the largest exit code a platform reports (Windows codes
// are unsigned 32-bit numbers).
const maxExitCode = 1<<32 - 1

// maxCodes is the most exit codes no_retry_exit_codes holds.
const maxCodes = 256

// ExitCodes is a set of exit codes. It is kept as its canonical text (the
// codes in ascending order, comma-separated) so that a Config stays
// comparable with ==.
type ExitCodes struct{ text string }

// NewExitCodes returns the set of codes.
func NewExitCodes(codes ...int) ExitCodes {
	c := slices.Clone(codes)
	slices.Sort(c)
	c = slices.Compact(c)
	parts := make([]string, len(c))
	for i, n := range c {
		parts[i] = strconv.Itoa(n)
	}
	return ExitCodes{strings.Join(parts, ",")}
}

// Codes returns the codes in ascending order.
func (e ExitCodes) Codes() []int {
	if e.text == "" {
		return nil
	}
	parts := strings.Split(e.text, ",")
	out := make([]int, 0, len(parts))
	for _, p := range parts {
		n, _ := strconv.Atoi(p)
		out = append(out, n)
	}
	return out
}

// Has reports whether code is in the set.
func (e ExitCodes) Has(code int) bool { return slices.Contains(e.Codes(), code) }

// String returns the set as a TOML array, such as [2, 64]; [] when empty.
func (e ExitCodes) String() string {
	return "[" + strings.ReplaceAll(e.text, ",", ", ") + "]"
}

// ParseSeconds reads a number of seconds as users write one: a number
// (90, 1.5), a Go duration (90s, 30m, 1h30m) or days (7d). Range and sign
// are the caller's to check.
func ParseSeconds(v string) (float64, error) {
	if f, err := strconv.ParseFloat(v, 64); err == nil {
		return f, nil
	}
	if days, ok := strings.CutSuffix(v, "d"); ok {
		if n, err := strconv.ParseFloat(days, 64); err == nil {
			return n * 24 * 3600, nil
		}
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return 0, fmt.Errorf("not seconds, a duration or days: %q", v)
	}
	return d.Seconds(), nil
}

// Seconds converts a number of seconds from the configuration to a duration.
func Seconds(s float64) time.Duration {
	return time.Duration(s * float64(time.Second))
}
