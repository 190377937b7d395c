package main

import (
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// intFlag is an integer option that refuses, in words, a value that is not
// a whole number or is outside lo..hi. Its errors reach flagError, which
// names the flag.
type intFlag struct {
	p      *int
	lo, hi int
}

// newIntFlag returns an integer option stored in p, which starts at def.
func newIntFlag(p *int, def, lo, hi int) *intFlag {
	*p = def
	return &intFlag{p: p, lo: lo, hi: hi}
}

func (f *intFlag) String() string { return strconv.Itoa(*f.p) }
func (f *intFlag) Type() string   { return "int" }

// Set parses v as a decimal integer within the flag's range.
func (f *intFlag) Set(v string) error {
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		return &valueError{quote: true, msg: fmt.Sprintf("want a whole number between %d and %d", f.lo, f.hi)}
	}
	if err != nil || n < int64(f.lo) || n > int64(f.hi) {
		return &valueError{msg: fmt.Sprintf("must be between %d and %d", f.lo, f.hi)}
	}
	*f.p = int(n)
	return nil
}

// valueError is what a flag's value is refused for, worded to follow the
// flag's name and value: "--count 0: must be between 1 and 256".
type valueError struct {
	msg   string
	quote bool // show the value quoted: it is not a number
}

func (e *valueError) Error() string { return e.msg }

// flagError classifies an error from parsing flags: a value that does not
// parse (--priority high) is an invalid value, exit 1, as when a value
// parses but is out of range; an unknown flag or a missing value is a
// usage error, exit 2. Values are refused in queuectl's words, naming the
// flag and the value, never in those of strconv.
func flagError(c *cobra.Command, err error) error {
	var iv *pflag.InvalidValueError
	if !errors.As(err, &iv) {
		return &usageError{err.Error()}
	}
	name, v := "--"+iv.GetFlag().Name, iv.GetValue()
	var ve *valueError
	switch {
	case errors.As(err, &ve) && ve.quote:
		return &opError{fmt.Errorf("%s %q: %s", name, v, ve.msg)}
	case errors.As(err, &ve):
		return &opError{fmt.Errorf("%s %s: %s", name, v, ve.msg)}
	case iv.GetFlag().Value.Type() == "bool":
		return &opError{fmt.Errorf("%s %q: want true or false (or %s alone, for true)", name, v, name)}
	}
	return &opError{fmt.Errorf("%s %q: %v", name, v, errors.Unwrap(err))}
}

// exclusive refuses two flags given together, as a usage error.
func exclusive(cmd *cobra.Command, a, b, hint string) error {
	if cmd.Flags().Changed(a) && cmd.Flags().Changed(b) {
		return &usageError{fmt.Sprintf("--%s and --%s cannot be combined: %s", a, b, hint)}
	}
	return nil
}

// secondsFlag is a positive duration option, given as seconds ("2", "0.5")
// or as a Go duration ("500ms", "1m"), at most max.
type secondsFlag struct {
	p   *time.Duration
	max time.Duration
}

// newSecondsFlag returns a duration option stored in p, which holds its
// default.
func newSecondsFlag(p *time.Duration, max time.Duration) *secondsFlag {
	return &secondsFlag{p: p, max: max}
}

func (f *secondsFlag) String() string { return f.p.String() }
func (f *secondsFlag) Type() string   { return "duration" }

// Set parses v as seconds or a duration, above 0 and at most the maximum.
func (f *secondsFlag) Set(v string) error {
	d, err := time.ParseDuration(v)
	if err != nil {
		s, ferr := strconv.ParseFloat(v, 64)
		if ferr != nil || s != s {
			return &valueError{quote: true, msg: "want seconds or a duration such as 500ms or 2s"}
		}
		d = time.Duration(s * float64(time.Second))
		if s > f.max.Seconds() {
			d = f.max + 1
		}
	}
	if d <= 0 || d > f.max {
		return &valueError{msg: fmt.Sprintf("must be more than 0 and at most %s", f.max)}
	}
	*f.p = d
	return nil
}
