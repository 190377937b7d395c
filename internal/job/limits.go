package job

import (
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Every field of a job is bounded, so that whatever queuectl adds to a
// valid job as it runs (the output's tail, errors, history) still fits in
// MaxSize: a job that was accepted can always have its outcome recorded.
//
// The fields a job is given (id, command, dir, env, after, unique_key) are
// bounded one by one, and together by what they take in the file once
// escaped as JSON (maxGiven: a command of control characters takes six
// bytes for each). What queuectl writes about runs is cut to its limits
// when the file is written (see clipped), and takes at most about 200 KiB
// however it is escaped; TestWorstCaseFits builds the largest job there can
// be and checks that it fits.

// MaxSize is the largest job file, in bytes, that Parse accepts.
const MaxSize = 1 << 20

// Limits on the fields of a job, in bytes where they are strings.
const (
	// MaxCommand is the longest command: Linux refuses to exec an argument
	// of MAX_ARG_STRLEN (131072) bytes or more, counting its NUL, and the
	// worker puts a short prefix before the command it gives the shell
	// (see the worker's gatePrefix); 256 bytes are left for that.
	MaxCommand = 131072 - 256
	MaxDir     = 4096     // the longest path Linux takes (PATH_MAX)
	MaxEnv     = 64 << 10 // all of env, each variable counted as NAME=VALUE and a NUL
	MaxAfter   = 100      // ids in after
	MaxNoRetry = 256      // exit codes in no_retry_on
	MaxKey     = 256      // unique_key
	MaxOutput  = 4 << 10  // output: the tail of a run's output
	MaxError   = 1 << 10  // last_error, and the error of each run in history
	MaxHistory = 20       // runs kept in history, the latest
	MaxWorker  = 256      // worker, in the job and in its history
	MaxState   = 64       // state

	// maxGiven bounds the JSON that the given fields take together,
	// leaving room for everything queuectl adds.
	maxGiven = MaxSize - 256<<10
)

// Limits on numeric fields; anything beyond them is surely a mistake and
// would overflow the arithmetic of attempts, delays and timeouts.
const (
	MaxRetriesLimit = 1000
	// MaxAttempts is the most runs a job can have had: 1 + max_retries.
	MaxAttempts = 1 + MaxRetriesLimit
	MaxPriority = 1_000_000 // priority is within ±MaxPriority
	MaxTimeout  = 1e9       // seconds, about 31 years

	// An exit code is within what the platforms report: a signed 32-bit
	// code, or an unsigned one (Windows reports 0xC0000005 as 3221225477).
	MinExitCode int64 = -1 << 31
	MaxExitCode int64 = 1<<32 - 1
)

// Validate checks the rules that the JSON types alone do not express, and
// brings every time to UTC and empty env, after and history to nil.
func (j *Job) Validate() error {
	for _, f := range [...]struct{ name, v string }{{"id", j.ID}, {"command", j.Command}, {"dir", j.Dir},
		{"unique_key", j.UniqueKey}, {"worker", j.Worker}, {"last_error", j.LastError}, {"output", j.Output},
		{"state", j.State}} {
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
	if len(j.Command) > MaxCommand {
		return &FieldError{Field: "command", Msg: fmt.Sprintf("%d bytes long, over the limit of %d bytes (the longest command the system can run)", len(j.Command), MaxCommand)}
	}
	if strings.IndexByte(j.Dir, 0) >= 0 {
		return &FieldError{Field: "dir", Msg: "contains a NUL byte"}
	}
	if j.ID != "" {
		if err := CheckID(j.ID); err != nil {
			return &FieldError{Field: "id", Msg: err.Error()}
		}
	}
	if err := j.checkGiven(); err != nil {
		return err
	}
	for _, f := range [...]struct {
		name     string
		v        string
		max      int
		queuectl bool
	}{{"dir", j.Dir, MaxDir, false}, {"unique_key", j.UniqueKey, MaxKey, false},
		{"worker", j.Worker, MaxWorker, true}, {"last_error", j.LastError, MaxError, true},
		{"output", j.Output, MaxOutput, true}, {"state", j.State, MaxState, true}} {
		if len(f.v) > f.max {
			return &FieldError{Field: f.name, Msg: fmt.Sprintf("longer than %d bytes", f.max)}
		}
	}
	if j.MaxRetries != nil {
		if err := bound("max_retries", int64(*j.MaxRetries), 0, MaxRetriesLimit); err != nil {
			return err
		}
	}
	if err := bound("priority", int64(j.Priority), -MaxPriority, MaxPriority); err != nil {
		return err
	}
	if err := bound("attempts", int64(j.Attempts), 0, MaxAttempts); err != nil {
		return err
	}
	if err := bound("interruptions", int64(j.Interrupts), 0, MaxAttempts); err != nil {
		return err
	}
	if j.ExitCode != nil {
		if err := bound("exit_code", int64(*j.ExitCode), MinExitCode, MaxExitCode); err != nil {
			return err
		}
	}
	if j.Timeout < 0 || j.Timeout > MaxTimeout {
		return &FieldError{Field: "timeout", Msg: fmt.Sprintf("must be between 0 and %g seconds", float64(MaxTimeout))}
	}
	if err := utcTimes("", []*time.Time{&j.RunAt, &j.CreatedAt, &j.UpdatedAt, &j.StartedAt, &j.FinishedAt},
		"run_at", "created_at", "updated_at", "started_at", "finished_at"); err != nil {
		return err
	}
	if len(j.History) > MaxHistory {
		return &FieldError{Field: "history", Msg: fmt.Sprintf("more than %d runs", MaxHistory)}
	}
	for i := range j.History {
		if err := j.History[i].validate(fmt.Sprintf("history[%d]", i)); err != nil {
			return err
		}
	}
	if len(j.Env) == 0 {
		j.Env = nil
	}
	if len(j.NoRetryOn) > MaxNoRetry {
		return &FieldError{Field: "no_retry_on", Msg: fmt.Sprintf("more than %d exit codes", MaxNoRetry)}
	}
	for _, c := range j.NoRetryOn {
		if err := bound("no_retry_on", int64(c), 1, MaxExitCode); err != nil {
			return err
		}
	}
	if len(j.After) == 0 {
		j.After = nil
	}
	if len(j.NoRetryOn) == 0 {
		j.NoRetryOn = nil
	}
	if len(j.History) == 0 {
		j.History = nil
	}
	return nil
}

// checkGiven checks env, after and unique_key, and the room the fields a
// job is given take in its file.
func (j *Job) checkGiven() error {
	size := 0
	for k, v := range j.Env {
		if err := checkEnvName(k); err != nil {
			return &FieldError{Field: "env", Msg: err.Error()}
		}
		if !utf8.ValidString(v) || strings.IndexByte(v, 0) >= 0 {
			return &FieldError{Field: "env", Msg: fmt.Sprintf("the value of %s is not valid UTF-8 or contains a NUL byte", quote(k))}
		}
		size += len(k) + len(v) + 2
	}
	if size > MaxEnv {
		return &FieldError{Field: "env", Msg: fmt.Sprintf("%d bytes, over the limit of %d", size, MaxEnv)}
	}
	if len(j.After) > MaxAfter {
		return &FieldError{Field: "after", Msg: fmt.Sprintf("more than %d ids", MaxAfter)}
	}
	seen := make(map[string]bool, len(j.After))
	for _, id := range j.After {
		if err := CheckID(id); err != nil {
			return &FieldError{Field: "after", Msg: err.Error()}
		}
		if seen[id] {
			return &FieldError{Field: "after", Msg: fmt.Sprintf("id %s given twice", quote(id))}
		}
		if id == j.ID {
			return &FieldError{Field: "after", Msg: fmt.Sprintf("id %s is the job itself", quote(id))}
		}
		seen[id] = true
	}
	for _, r := range j.UniqueKey {
		if unicode.IsControl(r) {
			return &FieldError{Field: "unique_key", Msg: "contains a control character"}
		}
	}
	// Most jobs could not exceed maxGiven even if every byte took six.
	const perVar, perID = 12, 8 // quotes, indentation, separators
	n := 0
	for _, id := range j.After {
		n += len(id) + 2 + perID // an id has nothing to escape
	}
	if raw := len(j.ID) + len(j.Command) + len(j.Dir) + len(j.UniqueKey) + size; n+6*raw+perVar*len(j.Env)+8 <= maxGiven {
		return nil
	}
	n += jsonLen(j.ID) + jsonLen(j.Command) + jsonLen(j.Dir) + jsonLen(j.UniqueKey)
	for k, v := range j.Env {
		n += jsonLen(k) + jsonLen(v) + perVar
	}
	if n > maxGiven {
		return &FieldError{Msg: fmt.Sprintf("job too large: its command, dir and env take %d bytes as JSON, over the limit of %d", n, maxGiven)}
	}
	return nil
}

// checkEnvName checks the name of an environment variable: not empty, and
// without '=', NUL or other control characters, which no environment can
// hold as part of a name.
func checkEnvName(k string) error {
	if k == "" {
		return fmt.Errorf("empty variable name")
	}
	if !utf8.ValidString(k) || len(k) > MaxEnv {
		return fmt.Errorf("variable name %s is not valid", quote(k))
	}
	for _, r := range k {
		if r == '=' || unicode.IsControl(r) {
			return fmt.Errorf("variable name %s contains '=' or a control character", quote(k))
		}
	}
	return nil
}

func (r *Run) validate(path string) error {
	if !utf8.ValidString(r.Worker) || !utf8.ValidString(r.Error) {
		return &FieldError{Field: path, Msg: "not valid UTF-8"}
	}
	if err := bound(path+".attempt", int64(r.Attempt), 0, MaxAttempts); err != nil {
		return err
	}
	if r.ExitCode != nil {
		if err := bound(path+".exit_code", int64(*r.ExitCode), MinExitCode, MaxExitCode); err != nil {
			return err
		}
	}
	if len(r.Worker) > MaxWorker {
		return &FieldError{Field: path + ".worker", Msg: fmt.Sprintf("longer than %d bytes", MaxWorker)}
	}
	if len(r.Error) > MaxError {
		return &FieldError{Field: path + ".error", Msg: fmt.Sprintf("longer than %d bytes", MaxError)}
	}
	return utcTimes(path+".", []*time.Time{&r.StartedAt, &r.FinishedAt}, "started_at", "finished_at")
}

func bound(field string, v, lo, hi int64) error {
	if v < lo || v > hi {
		return &FieldError{Field: field, Msg: fmt.Sprintf("must be between %d and %d", lo, hi)}
	}
	return nil
}

// utcTimes brings the times to UTC and checks that their years have four
// digits, as RFC 3339 wants; names are the times' fields, after prefix.
func utcTimes(prefix string, times []*time.Time, names ...string) error {
	for i, t := range times {
		if t.IsZero() {
			continue
		}
		*t = t.UTC()
		if y := t.Year(); y < 1 || y > 9999 {
			return &FieldError{Field: prefix + names[i], Msg: "year out of range"}
		}
	}
	return nil
}

// jsonLen returns how many bytes AppendString writes for s.
func jsonLen(s string) int {
	n := 2
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c >= 0x20 && c != '"' && c != '\\':
				n++
			case c == '"' || c == '\\' || c == '\b' || c == '\f' || c == '\n' || c == '\r' || c == '\t':
				n += 2
			default:
				n += 6
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1, r == '\u2028', r == '\u2029':
			n += 6
		default:
			n += size
		}
		i += size
	}
	return n
}

// clipped returns j, or, if a field that queuectl writes about runs is
// over its limit or not valid UTF-8, a copy of j with those fields cut:
// output to its last MaxOutput bytes, errors and worker names to their
// first bytes, history to its last MaxHistory runs and attempts to
// MaxAttempts. A cut falls between characters.
func (j *Job) clipped() *Job {
	over := func(s string, max int) bool { return len(s) > max || !utf8.ValidString(s) }
	need := over(j.Output, MaxOutput) || over(j.LastError, MaxError) || over(j.Worker, MaxWorker) ||
		over(j.State, MaxState) || j.Attempts > MaxAttempts || len(j.History) > MaxHistory
	for i := 0; i < len(j.History) && !need; i++ {
		r := &j.History[i]
		need = over(r.Error, MaxError) || over(r.Worker, MaxWorker) || r.Attempt > MaxAttempts
	}
	if !need {
		return j
	}
	c := *j
	c.Output = clipTail(c.Output, MaxOutput)
	c.LastError = clipHead(c.LastError, MaxError)
	c.Worker = clipHead(c.Worker, MaxWorker)
	c.State = clipHead(c.State, MaxState)
	c.Attempts = min(c.Attempts, MaxAttempts)
	if len(c.History) > 0 {
		c.History = append([]Run(nil), c.History[max(0, len(c.History)-MaxHistory):]...)
		for i := range c.History {
			r := &c.History[i]
			r.Error = clipHead(r.Error, MaxError)
			r.Worker = clipHead(r.Worker, MaxWorker)
			r.Attempt = min(r.Attempt, MaxAttempts)
		}
	}
	return &c
}

// clipHead returns s as valid UTF-8, cut to its first max bytes (ending
// in "...") if it is longer.
func clipHead(s string, max int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) <= max {
		return s
	}
	const mark = "..."
	i := max - len(mark)
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i] + mark
}

// clipTail returns s as valid UTF-8, cut to its last max bytes if it is
// longer.
func clipTail(s string, max int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) <= max {
		return s
	}
	i := len(s) - max
	for i < len(s) && !utf8.RuneStart(s[i]) {
		i++
	}
	return s[i:]
}
