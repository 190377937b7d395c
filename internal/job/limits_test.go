package job

import (
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// worstCase returns the largest job file there can be: every given field
// at its limit, in characters that JSON escapes (fill), and every field
// queuectl writes at its limit in characters that take six bytes each.
func worstCase(t *testing.T, fill string) *Job {
	t.Helper()
	code := int(MinExitCode)
	retries := MaxRetriesLimit
	late := time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC)
	j := &Job{
		ID: strings.Repeat("i", MaxIDLen), Dir: "/" + strings.Repeat(fill, MaxDir)[:MaxDir-1],
		UniqueKey: strings.Repeat("\"", MaxKey), MaxRetries: &retries, Priority: -MaxPriority,
		Timeout: 123456789.123456789, RunAt: late, Attempts: MaxAttempts, CreatedAt: late, UpdatedAt: late,
		StartedAt: late, FinishedAt: late, Worker: strings.Repeat("\x01", MaxWorker),
		LastError: strings.Repeat("\x01", MaxError), ExitCode: &code,
		Output: strings.Repeat("\x01", MaxOutput), State: strings.Repeat("\x01", MaxState),
		Env: map[string]string{},
	}
	for i := range MaxAfter {
		j.After = append(j.After, fmt.Sprintf("%0*d", MaxIDLen, i))
	}
	// Many small variables cost the most room for their size.
	for i := 0; ; i++ {
		k := fmt.Sprintf("V%d", i)
		if envSize(j.Env)+len(k)+len(fill)+2 > MaxEnv {
			break
		}
		j.Env[k] = fill
	}
	for i := range MaxHistory {
		j.History = append(j.History, Run{Attempt: MaxAttempts - i, StartedAt: late, FinishedAt: late,
			Worker: strings.Repeat("\x01", MaxWorker), ExitCode: &code, Error: strings.Repeat("\x01", MaxError), Stopped: true})
	}
	// The command takes what room is left to the given fields, up to its
	// own limit.
	j.Command = "x"
	for lo, hi := 1, MaxCommand; lo <= hi; {
		mid := (lo + hi) / 2
		c := *j
		c.Command = strings.Repeat(fill, mid)[:mid]
		if c.Validate() == nil {
			j.Command, lo = c.Command, mid+1
		} else {
			hi = mid - 1
		}
	}
	if err := j.Validate(); err != nil {
		t.Fatalf("the worst case is not a valid job: %v", err)
	}
	return j
}

func envSize(env map[string]string) int {
	n := 0
	for k, v := range env {
		n += len(k) + len(v) + 2
	}
	return n
}

// TestWorstCaseFits checks that every valid job, with everything queuectl
// adds to it at its limit, is written within MaxSize and read back.
func TestWorstCaseFits(t *testing.T) {
	t.Parallel()
	for _, fill := range []string{"x", "\x01", "\u2028", "\\\"", "a\x01"} {
		t.Run(fmt.Sprintf("%q", fill), func(t *testing.T) {
			t.Parallel()
			j := worstCase(t, fill)
			// queuectl adds a run to the history after each one.
			j.History = append(j.History, j.History[0])
			b, err := Marshal(j)
			if err != nil {
				t.Fatalf("Marshal of the worst case (command of %d bytes): %v", len(j.Command), err)
			}
			t.Logf("worst case with a command of %d bytes: %d bytes", len(j.Command), len(b))
			got, err := Parse(b, j.ID)
			if err != nil {
				t.Fatalf("Parse of the worst case: %v", err)
			}
			if len(got.History) != MaxHistory || got.Command != j.Command || len(got.Output) > MaxOutput {
				t.Fatalf("the worst case came back changed: %d runs, command of %d bytes", len(got.History), len(got.Command))
			}
		})
	}
}

// TestGivenFieldsBounded checks that the given fields, escaped, cannot
// together take the room of what queuectl adds.
func TestGivenFieldsBounded(t *testing.T) {
	t.Parallel()
	j := &Job{Command: strings.Repeat("\x01", MaxCommand), Env: map[string]string{"A": strings.Repeat("\x01", 30000)}}
	err := j.Validate()
	if err == nil || !strings.Contains(err.Error(), "job too large: its command, dir and env take") {
		t.Fatalf("Validate = %v", err)
	}
	j.Env = nil
	if err := j.Validate(); err != nil {
		t.Fatalf("a command of %d control characters: %v", MaxCommand, err)
	}
}

// TestReviewedBigJobRefused: a valid job file of 1,048,218 bytes was once
// accepted and then could never have its outcome recorded.
func TestReviewedBigJobRefused(t *testing.T) {
	t.Parallel()
	head, tail := `{"command": "`, `"}`
	data := head + strings.Repeat("x", 1048218-len(head)-len(tail)) + tail
	_, err := Parse([]byte(data), "big")
	want := fmt.Sprintf(`field "command": %d bytes long, over the limit of %d bytes`, 1048218-len(head)-len(tail), MaxCommand)
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("Parse = %v, want %q", err, want)
	}
}

func TestMarshalClips(t *testing.T) {
	t.Parallel()
	var runs []Run
	for i := range MaxHistory + 5 {
		runs = append(runs, Run{Attempt: i + 1, Error: strings.Repeat("é", MaxError), Worker: strings.Repeat("w", 300)})
	}
	out := "start" + strings.Repeat("ü", MaxOutput) + "end"
	j := &Job{ID: "a", Command: "x", Output: out, LastError: "bad\xff" + strings.Repeat("e", MaxError),
		Worker: strings.Repeat("w", 300), Attempts: MaxAttempts + 1, History: runs}
	b, err := Marshal(j)
	if err != nil {
		t.Fatal(err)
	}
	if j.Output != out || len(j.History) != MaxHistory+5 || j.Attempts != MaxAttempts+1 {
		t.Fatal("Marshal changed the job it was given")
	}
	got, err := Parse(b, "a")
	if err != nil {
		t.Fatalf("Parse(Marshal(j)): %v", err)
	}
	if len(got.Output) > MaxOutput || !strings.HasSuffix(got.Output, "üend") || !utf8.ValidString(got.Output) {
		t.Errorf("output kept %d bytes, ending %q", len(got.Output), got.Output[max(0, len(got.Output)-8):])
	}
	if len(got.LastError) > MaxError || !strings.HasPrefix(got.LastError, "bad\uFFFDeee") || !strings.HasSuffix(got.LastError, "...") {
		t.Errorf("last_error = %.20q... (%d bytes)", got.LastError, len(got.LastError))
	}
	if len(got.History) != MaxHistory || got.History[0].Attempt != 6 || got.History[MaxHistory-1].Attempt != MaxHistory+5 {
		t.Errorf("history kept %d runs, from attempt %d", len(got.History), got.History[0].Attempt)
	}
	for _, r := range got.History {
		if len(r.Error) > MaxError || !utf8.ValidString(r.Error) || len(r.Worker) > MaxWorker {
			t.Fatalf("a run kept an error of %d bytes and a worker of %d", len(r.Error), len(r.Worker))
		}
	}
	if got.Attempts != MaxAttempts || len(got.Worker) > MaxWorker {
		t.Errorf("attempts = %d, worker of %d bytes", got.Attempts, len(got.Worker))
	}
}

func TestRoundTripNewFields(t *testing.T) {
	t.Parallel()
	code := 3
	now := time.Date(2026, 11, 27, 9, 59, 0, 123456789, time.UTC)
	assertRoundTrip(t, &Job{ID: "n", Command: "env", Env: map[string]string{"PATH": "/bin", "X": "a b\n", "é": "ü"},
		After: []string{"b", "a"}, UniqueKey: "nightly report", History: []Run{
			{Attempt: 1, StartedAt: now, FinishedAt: now.Add(time.Second), Worker: "w1", ExitCode: &code, Error: "exit status 3"},
			{Attempt: 2, StartedAt: now, Worker: "w2", Error: "interrupted", Stopped: true},
		}})
	j, err := Parse([]byte(`{"command": "x", "env": {}, "after": [], "history": []}`), "")
	if err != nil || j.Env != nil || j.After != nil || j.History != nil {
		t.Fatalf("empty env, after and history: %+v, %v", j, err)
	}
	j, err = Parse([]byte(`{"command": "x", "history": [{"started_at": "2026-11-27T12:00:00+02:00"}]}`), "")
	if err != nil || j.History[0].StartedAt.Location() != time.UTC || j.History[0].StartedAt.Hour() != 10 {
		t.Fatalf("history times: %+v, %v", j, err)
	}
}
