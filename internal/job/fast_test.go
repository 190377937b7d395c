package job

import (
	"bytes"
	"encoding/json"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"
)

// marshalReference is Marshal as encoding/json does it, which the
// hand-written encoder must match byte for byte.
func marshalReference(j *Job) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(j); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// checkFast checks that the fast decoder, where it accepts data, reads it
// as the reference decoder does, and that Marshal writes what
// encoding/json writes.
func checkFast(t *testing.T, data []byte) {
	t.Helper()
	var fast Job
	if decodeFast(data, &fast) {
		var ref Job
		if err := decode(data, &ref); err != nil {
			t.Fatalf("decodeFast accepted %q, decode refused it: %v", data, err)
		}
		if !reflect.DeepEqual(fast, ref) {
			t.Fatalf("decodeFast(%q) = %+v, decode = %+v", data, fast, ref)
		}
		checkMarshal(t, &fast)
	}
}

func checkMarshal(t *testing.T, j *Job) {
	t.Helper()
	got, err := Marshal(j)
	want, werr := marshalReference(j)
	if werr == nil && len(want) > MaxSize {
		werr = ErrTooLarge
	}
	if (err == nil) != (werr == nil) || err == nil && !bytes.Equal(got, want) {
		t.Fatalf("Marshal(%+v) =\n%s, %v\nencoding/json:\n%s, %v", j, got, err, want, werr)
	}
}

func TestDecodeFastAgrees(t *testing.T) {
	t.Parallel()
	for _, data := range []string{
		`{"command": "echo hi"}`,
		` {"command":"x","priority":-3,"attempts":0,"max_retries":7,"exit_code":-1,"timeout":1.5e2} `,
		`{"command": "a\"b\\c\/d\b\f\n\r\t", "output": "é ☃ \u2028", "last_error": "\u0041"}`,
		`{"command": "x", "run_at": "2026-11-27T10:00:00.123+05:30", "exit_code": null, "dir": null}`,
		`{"command": "x", "run_at": "2026-11-27T10:00:00\u005a"}`,
		`{"command": "x", "priority": 1.0}`, `{"command": "x", "priority": 1e2}`,
		`{"command": "x", "priority": 01}`, `{"command": "x", "timeout": 1e400}`,
		`{"command": "x", "timeout": -0}`, `{"command": "x", "timeout": .5}`,
		`{"command": "x",}`, `{"command": "x"}}`, `{"command" "x"}`, `{}`, `{ }`, `[]`,
		`{"command": "x", "command": "y"}`, `{"comm\u0061nd": "x"}`, `{"Command": "x"}`,
		"{\"command\": \"a\tb\"}", `{"command": nul}`, `{"command": nullx}`,
		`{"command": "x", "priority": 99999999999999999999}`, `{"command": "x", "attempts": -0}`,
		`{"command": "x", "started_at": "2026-11-27 10:00:00Z"}`, `{"command": "x", "run_at": 5}`,
		`{"command": "x", "state": ["a"]}`, `{"command": "x", "priority": -}`, `{"command": "x"`,
	} {
		checkFast(t, []byte(data))
	}
}

func TestDecodeFastTakesQueuectlFiles(t *testing.T) {
	t.Parallel()
	retries, code := 3, 1
	now := time.Date(2026, 11, 27, 9, 59, 0, 123456789, time.UTC)
	b, err := Marshal(&Job{ID: "a", Command: "printf 'a\\tb\\n' \"$X\"", Dir: "/tmp", MaxRetries: &retries, Timeout: 2.5,
		RunAt: now, CreatedAt: now, UpdatedAt: now, StartedAt: now, FinishedAt: now, Worker: "w",
		LastError: "exit status 1", ExitCode: &code, Output: "line\n\ttab", State: "failed"})
	if err != nil {
		t.Fatal(err)
	}
	for _, data := range [][]byte{b, []byte(`{"command": "echo from cron"}` + "\n")} {
		var j Job
		if !decodeFast(data, &j) {
			t.Errorf("decodeFast refused %s", data)
		}
		checkFast(t, data)
	}
}

func TestMarshalMatchesEncodingJSON(t *testing.T) {
	t.Parallel()
	retries, code := 0, -7
	now := time.Date(2026, 11, 27, 9, 59, 0, 123456789, time.UTC)
	for _, j := range []*Job{
		{Command: "x"},
		{ID: "a", Command: "<&>\u2028\u2029\x00\x1f\x7f\"\\\b\f\n\r\t caf\xe9 é", Dir: "d", MaxRetries: &retries,
			Priority: -1, Timeout: 1e-7, RunAt: now, Attempts: 3, CreatedAt: now.In(time.FixedZone("x", 3600)),
			UpdatedAt: now, StartedAt: now, FinishedAt: now, Worker: "w", LastError: "e", ExitCode: &code,
			Output: strings.Repeat("ü", 10), State: "done"},
		{Command: "x", Timeout: 1e21}, {Command: "x", Timeout: 123456789.125}, {Command: "x", Timeout: math.Copysign(0, -1)},
		{Command: "x", Timeout: math.NaN()}, {Command: "x", Timeout: math.Inf(1)},
		{Command: "x", RunAt: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)},
	} {
		checkMarshal(t, j)
	}
}

func BenchmarkParse(b *testing.B) {
	retries := 3
	now := time.Date(2026, 11, 27, 9, 59, 0, 123456789, time.UTC)
	data, _ := Marshal(&Job{ID: "job-1", Command: "echo hello", MaxRetries: &retries, CreatedAt: now, UpdatedAt: now, State: "pending"})
	for b.Loop() {
		if _, err := Parse(data, "job-1"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMarshal(b *testing.B) {
	retries := 3
	now := time.Date(2026, 11, 27, 9, 59, 0, 123456789, time.UTC)
	j := &Job{ID: "job-1", Command: "echo hello", MaxRetries: &retries, CreatedAt: now, UpdatedAt: now, State: "pending"}
	for b.Loop() {
		if _, err := Marshal(j); err != nil {
			b.Fatal(err)
		}
	}
}
