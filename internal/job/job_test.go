package job

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestParseErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, data, file, want string
	}{
		{"empty", ``, "", "not a JSON object"},
		{"array", `[]`, "", "not a JSON object"},
		{"truncated", `{"command": "echo`, "", "invalid JSON"},
		{"trailing", `{"command": "x"} {}`, "", "data after the JSON object"},
		{"trailing garbage", `{"command": "x"} garbage`, "", "data after the JSON object"},
		{"trailing brace", `{"command": "x"}}`, "", "data after the JSON object"},
		{"year after utc", `{"command": "x", "run_at": "9999-12-31T23:30:00-01:00"}`, "", `field "run_at": year out of range`},
		{"year zero after utc", `{"command": "x", "run_at": "0001-01-01T00:30:00+01:00"}`, "", `field "run_at": year out of range`},
		{"unknown field", `{"comand": "echo hi"}`, "", `field "comand": unknown field`},
		{"duplicate key", `{"command": "a", "command": "b"}`, "", `field "command": given twice`},
		{"missing command", `{"id": "a"}`, "", `field "command": missing or empty`},
		{"empty command", `{"command": "  "}`, "", `field "command": missing or empty`},
		{"null command", `{"command": null}`, "", `field "command": missing or empty`},
		{"command type", `{"command": 42}`, "", `field "command": want a string, got 42`},
		{"priority type", `{"command": "x", "priority": "high"}`, "", `field "priority": want an integer`},
		{"priority float", `{"command": "x", "priority": 1.5}`, "", `field "priority": want an integer`},
		{"retries negative", `{"command": "x", "max_retries": -1}`, "", `field "max_retries": must be between 0 and 1000`},
		{"retries huge", `{"command": "x", "max_retries": 99999999999999999999}`, "", `field "max_retries": want an integer`},
		{"timeout negative", `{"command": "x", "timeout": -1}`, "", `field "timeout": must be between`},
		{"timeout string", `{"command": "x", "timeout": "30s"}`, "", `field "timeout": want a number`},
		{"run_at bad", `{"command": "x", "run_at": "tomorrow"}`, "", `field "run_at": want an RFC 3339 time`},
		{"attempts negative", `{"command": "x", "attempts": -2}`, "", `field "attempts": must be between 0 and 1001`},
		{"attempts overflow", `{"command": "echo hi", "attempts": 9223372036854775807}`, "", `field "attempts": must be between 0 and 1001`},
		{"attempts over", `{"command": "x", "attempts": 1002}`, "", `field "attempts": must be between 0 and 1001`},
		{"retries over", `{"command": "x", "max_retries": 1001}`, "", `field "max_retries": must be between 0 and 1000`},
		{"priority over", `{"command": "x", "priority": 1000001}`, "", `field "priority": must be between -1000000 and 1000000`},
		{"priority under", `{"command": "x", "priority": -1000001}`, "", `field "priority": must be between -1000000 and 1000000`},
		{"exit code over", `{"command": "x", "exit_code": 4294967296}`, "", `field "exit_code": must be between -2147483648 and 4294967295`},
		{"exit code under", `{"command": "x", "exit_code": -2147483649}`, "", `field "exit_code": must be between`},
		{"command too long", `{"command": "` + strings.Repeat("x", MaxCommand+1) + `"}`, "", `field "command": 130817 bytes long, over the limit of 130816 bytes`},
		{"dir too long", `{"command": "x", "dir": "/` + strings.Repeat("d", MaxDir) + `"}`, "", `field "dir": longer than 4096 bytes`},
		{"last error too long", `{"command": "x", "last_error": "` + strings.Repeat("e", MaxError+1) + `"}`, "", `field "last_error": longer than 1024 bytes`},
		{"worker too long", `{"command": "x", "worker": "` + strings.Repeat("w", MaxWorker+1) + `"}`, "", `field "worker": longer than 256 bytes`},
		{"state too long", `{"command": "x", "state": "` + strings.Repeat("s", MaxState+1) + `"}`, "", `field "state": longer than 64 bytes`},
		{"env type", `{"command": "x", "env": ["A=1"]}`, "", `field "env": want an object of strings`},
		{"env value type", `{"command": "x", "env": {"A": 1}}`, "", `field "env": variable "A": want a string`},
		{"env null value", `{"command": "x", "env": {"A": null}}`, "", `field "env": variable "A": want a string`},
		{"env twice", `{"command": "x", "env": {"A": "1", "A": "2"}}`, "", `field "env": variable "A" given twice`},
		{"env name with =", `{"command": "x", "env": {"A=B": "1"}}`, "", `field "env": variable name "A=B" contains '='`},
		{"env name empty", `{"command": "x", "env": {"": "1"}}`, "", `field "env": empty variable name`},
		{"env name nul", `{"command": "x", "env": {"A\u0000": "1"}}`, "", `field "env": variable name "A\x00" contains '='`},
		{"env value nul", `{"command": "x", "env": {"A": "a\u0000b"}}`, "", `field "env": the value of "A" is not valid UTF-8 or contains a NUL byte`},
		{"env too large", `{"command": "x", "env": {"A": "` + strings.Repeat("v", MaxEnv) + `"}}`, "", `field "env": 65539 bytes, over the limit of 65536`},
		{"after type", `{"command": "x", "after": "a"}`, "", `field "after": want an array of strings`},
		{"after bad id", `{"command": "x", "after": ["a/b"]}`, "", `field "after": id "a/b" may hold only`},
		{"after null id", `{"command": "x", "after": [null]}`, "", `field "after": id "" must not be empty`},
		{"after twice", `{"command": "x", "after": ["a", "b", "a"]}`, "", `field "after": id "a" given twice`},
		{"after itself", `{"command": "x", "after": ["me"]}`, "me", `field "after": id "me" is the job itself`},
		{"after too many", `{"command": "x", "after": ["a0"` + strings.Repeat(`, "a1"`, MaxAfter) + `]}`, "", `field "after": more than 100 ids`},
		{"unique key control", `{"command": "x", "unique_key": "a\tb"}`, "", `field "unique_key": contains a control character`},
		{"unique key too long", `{"command": "x", "unique_key": "` + strings.Repeat("k", MaxKey+1) + `"}`, "", `field "unique_key": longer than 256 bytes`},
		{"history type", `{"command": "x", "history": {}}`, "", `field "history": want an array of objects`},
		{"history entry type", `{"command": "x", "history": [1]}`, "", `field "history[0]": want an object, got 1`},
		{"history null entry", `{"command": "x", "history": [{}, null]}`, "", `field "history[1]": want an object, got null`},
		{"history unknown field", `{"command": "x", "history": [{"attempt": 1, "exitcode": 1}]}`, "", `field "history[0].exitcode": unknown field`},
		{"history field twice", `{"command": "x", "history": [{"attempt": 1, "attempt": 2}]}`, "", `field "history[0].attempt": given twice`},
		{"history field type", `{"command": "x", "history": [{"stopped": "yes"}]}`, "", `field "history[0].stopped": want true or false, got "yes"`},
		{"history time", `{"command": "x", "history": [{"started_at": "now"}]}`, "", `field "history[0].started_at": want an RFC 3339 time`},
		{"history attempt", `{"command": "x", "history": [{"attempt": 1}, {"attempt": 9223372036854775807}]}`, "", `field "history[1].attempt": must be between 0 and 1001`},
		{"history exit code", `{"command": "x", "history": [{"exit_code": -9999999999}]}`, "", `field "history[0].exit_code": must be between`},
		{"history error", `{"command": "x", "history": [{"error": "` + strings.Repeat("e", MaxError+1) + `"}]}`, "", `field "history[0].error": longer than 1024 bytes`},
		{"history too long", `{"command": "x", "history": [{}` + strings.Repeat(`, {}`, MaxHistory) + `]}`, "", `field "history": more than 20 runs`},
		{"bad id", `{"id": "../x", "command": "x"}`, "", `field "id": id "../x" must start with a letter or digit`},
		{"bad id char", `{"id": "a/b", "command": "x"}`, "", `field "id": id "a/b" may hold only`},
		{"reserved id", `{"id": "NUL", "command": "x"}`, "", `reserved by Windows`},
		{"id mismatch", `{"id": "a", "command": "x"}`, "b", `field "id": "a" does not match the file name "b.json"`},
		{"invalid utf8", "{\"command\": \"\xff\"}", "", "not valid UTF-8"},
		{"nul in command", `{"command": "a\u0000b"}`, "", `field "command": contains a NUL byte`},
		{"deep nesting", `{"command": "x", "dir": ` + strings.Repeat("[", 5000) + strings.Repeat("]", 5000) + `}`, "", `field "dir": want a string`},
		{"output too long", `{"command": "x", "output": "` + strings.Repeat("a", MaxOutput+1) + `"}`, "", `field "output": longer than`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := Parse([]byte(tt.data), tt.file)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Parse(%.40q) error = %v, want it to contain %q", tt.data, err, tt.want)
			}
		})
	}
}

func TestValidateUTF8(t *testing.T) {
	t.Parallel()
	j := &Job{Command: "cat caf\xe9.txt"}
	if err := j.Validate(); err == nil || !strings.Contains(err.Error(), `field "command": not valid UTF-8`) {
		t.Fatalf("Validate = %v", err)
	}
}

func TestMarshalKeepsCharacters(t *testing.T) {
	t.Parallel()
	b, err := Marshal(&Job{ID: "a", Command: "make && ./run > out < in"})
	if err != nil || !strings.Contains(string(b), `"make && ./run > out < in"`) {
		t.Fatalf("Marshal = %s, %v", b, err)
	}
	big := &Job{ID: "b", Command: strings.Repeat("x", MaxSize-50)}
	if _, err := Marshal(big); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("Marshal of a job over the size limit: %v", err)
	}
}

func TestParseTooLarge(t *testing.T) {
	t.Parallel()
	data := []byte(`{"command": "` + strings.Repeat("x", MaxSize) + `"}`)
	if _, err := Parse(data, ""); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("err = %v, want ErrTooLarge", err)
	}
}

func TestParseMinimal(t *testing.T) {
	t.Parallel()
	j, err := Parse([]byte(`{"command": "echo hi"}`), "from-name")
	if err != nil {
		t.Fatal(err)
	}
	if j.ID != "from-name" || j.Command != "echo hi" || j.MaxRetries != nil || j.Attempts != 0 || j.ExitCode != nil {
		t.Fatalf("got %+v", j)
	}
	if got := j.Retries(3); got != 3 {
		t.Fatalf("Retries(3) = %d for a file without max_retries", got)
	}
}

func TestParseNormalizesTimes(t *testing.T) {
	t.Parallel()
	j, err := Parse([]byte(`{"command": "x", "run_at": "2026-11-27T12:00:00.5+02:00", "exit_code": null}`), "")
	if err != nil {
		t.Fatal(err)
	}
	want := time.Date(2026, 11, 27, 10, 0, 0, 5e8, time.UTC)
	if !j.RunAt.Equal(want) || j.RunAt.Location() != time.UTC {
		t.Fatalf("run_at = %v, want %v in UTC", j.RunAt, want)
	}
	if !j.Due().Equal(want) {
		t.Fatalf("Due() = %v", j.Due())
	}
}

// TestDueOnlyRunAt: only run_at delays a job; created_at orders it.
func TestDueOnlyRunAt(t *testing.T) {
	t.Parallel()
	created := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	j := &Job{Command: "x", CreatedAt: created}
	if !j.Due().IsZero() || !j.Order().Equal(created) {
		t.Fatalf("created_at only: Due() = %v, Order() = %v", j.Due(), j.Order())
	}
	j.RunAt = created.Add(time.Hour)
	if !j.Due().Equal(j.RunAt) || !j.Order().Equal(j.RunAt) {
		t.Fatalf("with run_at: Due() = %v, Order() = %v", j.Due(), j.Order())
	}
}

func TestRoundTrip(t *testing.T) {
	t.Parallel()
	retries, code := 5, 2
	now := time.Date(2026, 11, 27, 9, 59, 0, 123456789, time.UTC)
	jobs := []*Job{
		{ID: "min", Command: "true"},
		{
			ID: "full-1.x_y", Command: "echo 'hi' \"there\"\n", Dir: "/tmp", MaxRetries: &retries,
			Priority: -3, Timeout: 1.5, RunAt: now.Add(time.Hour), Attempts: 2, CreatedAt: now,
			UpdatedAt: now, StartedAt: now, FinishedAt: now, Worker: "w1", LastError: "exit status 2",
			ExitCode: &code, Output: "héllo\n", State: "failed",
		},
	}
	for _, j := range jobs {
		assertRoundTrip(t, j)
	}
}

func assertRoundTrip(t *testing.T, j *Job) {
	t.Helper()
	b, err := Marshal(j)
	if err != nil {
		t.Fatalf("Marshal(%+v): %v", j, err)
	}
	checkMarshal(t, j)
	got, err := Parse(b, j.ID)
	if err != nil {
		t.Fatalf("Parse(Marshal(j)): %v\n%s", err, b)
	}
	if !reflect.DeepEqual(got, j) {
		t.Fatalf("round trip changed the job:\n got %+v\nwant %+v\n%s", got, j, b)
	}
}

func TestCheckID(t *testing.T) {
	t.Parallel()
	good := []string{"a", "job-001", "A.b_c-9", "0", strings.Repeat("x", 128), "console", "nul-ish", "a..b"}
	bad := []string{"", ".hidden", "-x", "_x", "a/b", `a\b`, "a b", "é", strings.Repeat("x", 129),
		"con", "CON", "nul.txt", "Com1", "lpt9.json", "a\nb", "..", "a:b"}
	for _, id := range good {
		if err := CheckID(id); err != nil {
			t.Errorf("CheckID(%q) = %v, want nil", id, err)
		}
	}
	for _, id := range bad {
		if err := CheckID(id); !errors.Is(err, ErrBadID) {
			t.Errorf("CheckID(%q) = %v, want ErrBadID", id, err)
		}
	}
}

func TestNewID(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 27, 9, 59, 0, 0, time.UTC)
	a, b := NewID(now), NewID(now)
	if a == b {
		t.Fatalf("two ids alike: %s", a)
	}
	if !strings.HasPrefix(a, "20261127-095900-") || CheckID(a) != nil {
		t.Fatalf("NewID = %q", a)
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(`{"command": "echo hi"}`), "job")
	f.Add([]byte(`{"id": "a", "command": "x", "max_retries": 3, "priority": 1, "timeout": 2.5, "run_at": "2026-11-27T10:00:00Z", "attempts": 1, "exit_code": 0, "output": "o"}`), "a")
	f.Add([]byte(`{"command": "x", "run_at": "2026-11-27T10:00:00.123+05:30", "exit_code": null}`), "")
	f.Add([]byte(`{"command": "x", "command": "y"}`), "")
	f.Add([]byte(`{"command": "\ud800"}`), "")
	f.Add([]byte(`{"command": "x", "run_at": "9999-12-31T23:30:00-01:00"}`), "")
	f.Add([]byte(`{"command": "x"} garbage`), "")
	f.Add([]byte(`{"command": "a\"b\\c\n\t\u2028", "timeout": 1e-7, "state": null}`), "")
	f.Add([]byte(`{"command": "x", "env": {"A": "1", "B": "two"}, "after": ["a", "b"], "unique_key": "k"}`), "c")
	f.Add([]byte(`{"command": "x", "env": {"A": "1", "A": "2"}, "after": ["a", "a"]}`), "")
	f.Add([]byte(`{"command": "x", "env": {"A=B": "1", "": "2", "C": "\u0000"}}`), "")
	f.Add([]byte(`{"command": "x", "history": [{"attempt": 1, "started_at": "2026-11-27T10:00:00Z", "finished_at": "2026-11-27T10:00:01Z", "worker": "w", "exit_code": 1, "error": "exit status 1", "stopped": true}, {}]}`), "")
	f.Add([]byte(`{"command": "x", "history": [{"attempt": 1, "bogus": 2}, null]}`), "")
	f.Add([]byte(`{"command": "echo hi", "attempts": 9223372036854775807}`), "")
	f.Add([]byte(`{"command": "x", "attempts": 1001, "max_retries": 1000, "priority": -1000000, "exit_code": 4294967295}`), "")
	f.Add([]byte(`{"command": "x", "attempts": 1002, "priority": 1000001, "exit_code": -2147483649}`), "")
	f.Add([]byte(`{"command": "x", "no_retry_on": [2, 64, 4294967295], "interruptions": 2}`), "")
	f.Add([]byte(`{"command": "x", "no_retry_on": [0, null, 1.5, "2"]}`), "")
	f.Fuzz(func(t *testing.T, data []byte, name string) {
		if utf8.Valid(data) {
			checkFast(t, data)
		}
		j, err := Parse(data, name)
		if err != nil {
			if j != nil {
				t.Fatal("Parse returned a job and an error")
			}
			return
		}
		if j.Command == "" || (j.ID != "" && CheckID(j.ID) != nil) {
			t.Fatalf("Parse accepted an invalid job: %+v", j)
		}
		assertRoundTrip(t, j)
	})
}
