package config

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	t.Parallel()
	c, err := Parse([]byte("# comment\nmax_retries = 5\nretry_delay = 0.5\nbackoff_max = 60 # a minute\nspool_dir = \"/var/q\"\n"), "q.toml")
	if err != nil {
		t.Fatal(err)
	}
	want := Default()
	want.MaxRetries, want.RetryDelay, want.BackoffMax, want.SpoolDir, want.Path = 5, 0.5, 60, "/var/q", "q.toml"
	if *c != want {
		t.Fatalf("got %+v\nwant %+v", *c, want)
	}
}

func TestParseErrors(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, data, want string }{
		{"syntax", "max_retries = 3\nbackoff_base = = 2\n", "q.toml:2: "},
		{"unknown key", "# c\n\nmax_retry = 3\n", `q.toml:3: unknown key "max_retry"`},
		{"table", "max_retries = 1\n[extra]\nx = 1\n", `q.toml:2: unknown key "extra"`},
		{"int as string", "max_retries = \"3\"\n", "q.toml:1: max_retries: want an integer, got a string"},
		{"int as float", "max_retries = 3.5\n", "q.toml:1: max_retries: want an integer, got a float"},
		{"negative", "\nmax_retries = -1\n", "q.toml:2: max_retries: must be between 0 and 1000"},
		{"base below one", "backoff_base = 0.5\n", "q.toml:1: backoff_base: must be between 1 and 1000"},
		{"poll zero", "poll_interval = 0\n", "q.toml:1: poll_interval: must be between 0.01 and 3600"},
		{"nan", "retry_delay = nan\n", "q.toml:1: retry_delay: must be between"},
		{"bool", "command_timeout = true\n", "q.toml:1: command_timeout: want a number, got a boolean"},
		{"empty spool", "spool_dir = \"\"\n", "q.toml:1: spool_dir: must be a non-empty path"},
		{"hook as number", "on_dead = 1\n", "q.toml:1: on_dead: want a string, got an integer"},
		{"hook timeout zero", "hook_timeout = 0\n", "q.toml:1: hook_timeout: must be between 0.01 and 86400"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := Parse([]byte(tt.data), "q.toml")
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want it to contain %q", err, tt.want)
			}
		})
	}
	if _, err := Parse([]byte("bogus = 1\n"), "q.toml"); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("unknown key error %v does not match ErrUnknownKey", err)
	}
}

func TestSpoolRelativeToFile(t *testing.T) {
	t.Parallel()
	c, err := Parse([]byte(`spool_dir = "q"`), filepath.Join("etc", "queuectl.toml"))
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Spool(); got != filepath.Join("etc", "q") {
		t.Fatalf("Spool() = %q", got)
	}
	d := Default()
	if d.Spool() != "spool" {
		t.Fatalf("default Spool() = %q", d.Spool())
	}
}

// TestOptionalStrings: metrics_file and the hooks may be empty (none), and
// a relative metrics_file is relative to the configuration file.
func TestOptionalStrings(t *testing.T) {
	t.Parallel()
	c, err := Parse([]byte("metrics_file = \"\"\non_success = \"\"\n"), "q.toml")
	if err != nil {
		t.Fatal(err)
	}
	if c.Metrics() != "" || c.OnSuccess != "" || c.HookTimeout != 30 {
		t.Fatalf("empty values: %+v", c)
	}
	c, err = Parse([]byte(`metrics_file = "queuectl.prom"`), filepath.Join("etc", "queuectl.toml"))
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Metrics(); got != filepath.Join("etc", "queuectl.prom") {
		t.Fatalf("Metrics() = %q", got)
	}
	abs := filepath.Join(t.TempDir(), "q.prom")
	c, err = Parse([]byte("metrics_file = "+strconv.Quote(abs)), filepath.Join("etc", "queuectl.toml"))
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Metrics(); got != abs {
		t.Fatalf("Metrics() = %q, want %q", got, abs)
	}
}

func TestEditKeepsComments(t *testing.T) {
	t.Parallel()
	in := `# queuectl settings
spool_dir = "spool"   # where jobs live
max_retries = 3 # default retries

  retry_delay=1
note = """
max_retries = 9
"""
`
	tests := []struct{ key, value, want string }{
		{"max_retries", "5", strings.Replace(in, "max_retries = 3 #", "max_retries = 5 #", 1)},
		{"retry_delay", "250ms", strings.Replace(in, "retry_delay=1", "retry_delay=0.25", 1)},
		{"spool_dir", `C:\q "x"`, strings.Replace(in, `spool_dir = "spool"`, `spool_dir = "C:\\q \"x\""`, 1)},
		{"backoff_max", "1h", in + "backoff_max = 3600\n"},
		{"on_dead", "mail -s dead ops", in + "on_dead = \"mail -s dead ops\"\n"},
		{"metrics_file", "", in + "metrics_file = \"\"\n"},
	}
	for _, tt := range tests {
		// note is not a key of ours: Parse would refuse it, so edit only
		// what findKey must get right.
		data := []byte(strings.Replace(in, "note = \"\"\"\nmax_retries = 9\n\"\"\"\n", "", 1))
		want := strings.Replace(tt.want, "note = \"\"\"\nmax_retries = 9\n\"\"\"\n", "", 1)
		got, err := Edit(data, "q.toml", tt.key, tt.value)
		if err != nil {
			t.Fatalf("set %s %s: %v", tt.key, tt.value, err)
		}
		if string(got) != want {
			t.Errorf("set %s %s:\n%s\nwant\n%s", tt.key, tt.value, got, want)
		}
	}
	// A multi-line string that looks like a key is not taken for one.
	l, ok := findKey([]byte(in), "max_retries")
	if !ok || l.num != 3 {
		t.Fatalf("findKey max_retries: %+v %v", l, ok)
	}
	if l, ok := findKey([]byte("a = \"\"\"\nx = 1\n\"\"\"\nx = 2\n"), "x"); !ok || l.num != 4 {
		t.Fatalf("findKey after a multi-line string: %+v %v", l, ok)
	}
}

func TestParseValueDurations(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ key, value, want string }{
		{"done_retention", "604800", "604800"},
		{"done_retention", "7d", "604800"},
		{"done_retention", "1.5d", "129600"},
		{"dead_retention", "12h", "43200"},
		{"retry_delay", "500ms", "0.5"},
	} {
		got, err := ParseValue(tt.key, tt.value)
		if err != nil || got != tt.want {
			t.Errorf("ParseValue(%s, %q) = %q, %v; want %q", tt.key, tt.value, got, err, tt.want)
		}
	}
}

func TestEditErrors(t *testing.T) {
	t.Parallel()
	tests := []struct{ key, value, want string }{
		{"max_retry", "3", `unknown key "max_retry"`},
		{"max_retries", "three", `max_retries: want an integer, got "three"`},
		{"max_retries", "-1", "max_retries: must be between 0 and 1000"},
		{"backoff_base", "2s", `backoff_base: want a number, got "2s"`},
		{"retry_delay", "soon", `want a number of seconds or a duration such as 30s or 7d`},
		{"done_retention", "xd", `done_retention: want a number of seconds or a duration such as 30s or 7d, got "xd"`},
		{"done_retention", "NaN", "done_retention: want a number of seconds"},
		{"backoff_base", "2d", `backoff_base: want a number, got "2d"`},
		{"poll_interval", "0", "poll_interval: must be between 0.01 and 3600"},
		{"command_timeout", "inf", "want a number"},
		{"spool_dir", " ", "spool_dir: must be a non-empty path"},
	}
	for _, tt := range tests {
		_, err := Edit([]byte("max_retries = 3\n"), "q.toml", tt.key, tt.value)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("set %s %q: %v, want %q", tt.key, tt.value, err, tt.want)
		}
	}
}

func TestSetFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "queuectl.toml")
	if err := os.WriteFile(path, []byte("# mine\nmax_retries = 3\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	if err := Set(path, "backoff_base", "3"); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(path)
	if string(data) != "# mine\nmax_retries = 3\nbackoff_base = 3\n" {
		t.Fatalf("file after set:\n%s", data)
	}
	if fi, _ := os.Stat(path); runtime.GOOS != "windows" && fi.Mode().Perm() != 0o640 {
		t.Fatalf("mode changed to %v", fi.Mode().Perm())
	}
	c, err := Load(path)
	if err != nil || c.BackoffBase != 3 {
		t.Fatalf("Load after set: %+v, %v", c, err)
	}
	if v, _ := c.Get("backoff_base"); v != "3" {
		t.Fatalf("Get = %q", v)
	}
	// A failed set leaves the file as it was.
	if err := Set(path, "max_retries", "x"); err == nil {
		t.Fatal("bad value accepted")
	}
	if after, _ := os.ReadFile(path); string(after) != string(data) {
		t.Fatal("failed set changed the file")
	}
	// A missing file is created.
	fresh := filepath.Join(dir, "new.toml")
	if err := Set(fresh, "max_retries", "7"); err != nil {
		t.Fatal(err)
	}
	if c, err := Load(fresh); err != nil || c.MaxRetries != 7 {
		t.Fatalf("new file: %+v, %v", c, err)
	}
	des, _ := os.ReadDir(dir)
	if len(des) != 2 {
		t.Fatalf("temporary files left: %v", des)
	}
}

func TestLoadMissing(t *testing.T) {
	t.Parallel()
	_, err := Load(filepath.Join(t.TempDir(), "nope.toml"))
	if err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Fatalf("Load of a missing file: %v", err)
	}
	c, err := Load("")
	if err != nil || *c != Default() {
		t.Fatalf("Load(\"\") = %+v, %v", c, err)
	}
}

func FuzzParseAndEdit(f *testing.F) {
	f.Add([]byte("max_retries = 3 # x\nspool_dir = 'a'\n"), "retry_delay", "1.5")
	f.Add([]byte("a = \"\"\"\nmax_retries = 1\n\"\"\"\n"), "max_retries", "2")
	f.Add([]byte("\"max_retries\" = 3\n[t]\n"), "max_retries", "4")
	f.Add([]byte("poll_interval = 1\r\n"), "spool_dir", "x\ny")
	f.Add([]byte("spool_dir = \"\"\"\n[not a table]\n\"\"\"\n"), "max_retries", "5")
	f.Add([]byte("spool_dir = \"\"\"a\\\"\"\"\nmax_retries = 9\n\"\"\"\nmax_retries = 3\n"), "max_retries", "5")
	f.Add([]byte("\uFEFFmax_retries = 3\n"), "max_retries", "5")
	f.Fuzz(func(t *testing.T, data []byte, key, value string) {
		before, err := Parse(data, "f.toml")
		if err != nil {
			return
		}
		out, err := Edit(data, "f.toml", key, value)
		if err != nil {
			return
		}
		after, err := Parse(out, "f.toml")
		if err != nil {
			t.Fatalf("Edit produced an invalid file:\n%q", out)
		}
		got, _ := after.Get(key)
		want, _ := ParseValue(key, value)
		if wantCfg, err := Parse([]byte(key+" = "+want+"\n"), "f.toml"); err == nil {
			w, _ := wantCfg.Get(key)
			if got != w {
				t.Fatalf("set %s %q: got %q, want %q\n%q", key, value, got, w, out)
			}
		}
		for _, k := range Keys() {
			if k == key {
				continue
			}
			b, _ := before.Get(k)
			a, _ := after.Get(k)
			if a != b {
				t.Fatalf("set %s changed %s from %q to %q\n%q\n%q", key, k, b, a, data, out)
			}
		}
	})
}

// TestShippedFile: the annotated queuectl.toml at the top of the repository
// holds exactly the defaults, and documents every key.
func TestShippedFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join("..", "..", FileName)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	c, err := Parse(data, path)
	if err != nil {
		t.Fatal(err)
	}
	want := Default()
	want.Path = path
	if *c != want {
		t.Fatalf("%s holds %+v, want the defaults %+v", path, *c, want)
	}
	for _, k := range Keys() {
		if lineOf(data, k) == 0 {
			t.Errorf("%s does not set %s", path, k)
		}
	}
}

func TestParseSeconds(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		in   string
		want float64
		ok   bool
	}{
		{"90", 90, true}, {"1.5", 1.5, true}, {"500ms", 0.5, true}, {"1h30m", 5400, true},
		{"7d", 604800, true}, {"0.5d", 43200, true}, {"d", 0, false}, {"soon", 0, false}, {"", 0, false},
	} {
		got, err := ParseSeconds(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("ParseSeconds(%q) = %v, %v; want %v (ok %v)", tt.in, got, err, tt.want, tt.ok)
		}
	}
}
