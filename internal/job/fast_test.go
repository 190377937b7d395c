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

// checkMarshal checks Marshal against encoding/json, which is given the
// job as Marshal cuts it to its limits.
func checkMarshal(t *testing.T, j *Job) {
	t.Helper()
	got, err := Marshal(j)
	want, werr := marshalReference(j.clipped())
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
		`{"command": "x", "env": {"A": "1", "B_2": "two\n"}, "after": ["a", "b"], "unique_key": "k"}`,
		`{"command": "x", "env": {}, "after": [], "history": []}`, `{"command": "x", "env": { }, "after": [ ]}`,
		`{"command": "x", "env": {"A": "1", "A": "2"}}`, `{"command": "x", "env": {"A": null}}`, `{"command": "x", "env": {"\u0041": "1"}}`,
		`{"command": "x", "env": {"A": 1}}`, `{"command": "x", "env": {"A" "1"}}`, `{"command": "x", "env": {"A": "1",}}`,
		`{"command": "x", "after": [null]}`, `{"command": "x", "after": ["a",]}`, `{"command": "x", "after": ["a" "b"]}`, `{"command": "x", "after": [1]}`,
		`{"command": "x", "history": [{"attempt": 1, "started_at": "2026-11-27T10:00:00Z", "finished_at": "2026-11-27T10:00:01.5+01:00", "worker": "w", "exit_code": 2, "error": "exit status 2", "stopped": true}]}`,
		`{"command": "x", "history": [{}, {"stopped": false, "exit_code": null, "worker": null}]}`,
		`{"command": "x", "history": [null]}`, `{"command": "x", "history": [{"attempt": 1, "attempt": 2}]}`, `{"command": "x", "history": [{"attempts": 1}]}`,
		`{"command": "x", "history": [{"stopped": tru}]}`, `{"command": "x", "history": [{"stopped": truex}]}`, `{"command": "x", "history": [{"attempt": 1.5}]}`,
		`{"command": "x", "history": [{},]}`, `{"command": "x", "history": [{"error": "e"},{"error": "\u0065"}]}`, `{"command": "x", "history": {}}`,
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
		{Command: "x", Env: map[string]string{"Z": "last", "A": "first\u2028", "a": "<&>", "B\x01": "\x00"}, After: []string{"b", "a"},
			UniqueKey: "key \"q\"", History: []Run{{}, {Attempt: 2, StartedAt: now, FinishedAt: now.Add(time.Second), Worker: "w1",
				ExitCode: &code, Error: "exit status 7\n", Stopped: true}, {Attempt: 3, ExitCode: &retries}}},
		{Command: "x", Env: map[string]string{}, After: []string{}, History: []Run{}},
		{Command: "x", History: []Run{{StartedAt: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}}},
		{Command: "x", Output: strings.Repeat("\x01", MaxOutput+10), LastError: strings.Repeat("é", MaxError), Attempts: MaxAttempts + 5},
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
