// Package config reads and edits queuectl.toml: defaults, discovery,
// validation with the file and line in every error, and a `set` that
// rewrites one value while keeping the user's comments and key order.
package config

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
)

// FileName is the configuration file looked for in the current directory.
const FileName = "queuectl.toml"

// EnvConfig and EnvSpool name the environment variables that stand in for
// --config and --spool.
const (
	EnvConfig = "QUEUECTL_CONFIG"
	EnvSpool  = "QUEUECTL_SPOOL"
)

// Config is queuectl's configuration.
type Config struct {
	SpoolDir       string    // spool directory as written, relative to the file
	MaxRetries     int       // default retries per job
	BackoffBase    float64   // exponential base of retry delays
	RetryDelay     float64   // seconds multiplied by BackoffBase^n
	BackoffMax     float64   // seconds; cap on one delay
	CommandTimeout float64   // seconds per run; 0: none
	PollInterval   float64   // seconds between rescans
	GroupShared    bool      // the spool is shared with the owner's group
	DoneRetention  float64   // seconds a done job is kept; 0: forever
	DeadRetention  float64   // seconds a dead job is kept; 0: forever
	StopTimeout    float64   // seconds a job may finish after SIGTERM to its worker
	MetricsFile    string    // Prometheus text file kept by workers, as written; "": none
	OnSuccess      string    // hook command after a run ends done; "": none
	OnFailure      string    // hook command after a failed run that will be retried
	OnDead         string    // hook command after a run that leaves its job dead
	HookTimeout    float64   // seconds a hook may run before its process group is killed
	BackoffJitter  float64   // each retry delay is multiplied by a random factor in [1, 1+BackoffJitter]
	NoRetry        ExitCodes // exit codes after which a job is not retried
	MaxInterrupts  int       // recoveries of a job whose runs died with their worker before it is dead; 0: no limit
	Watch          bool      // rely on file notifications where the file system has them
	Lease          float64   // seconds a heartbeat of a worker on another host stays valid

	// Path is the file the configuration was read from; "" for defaults.
	Path string
}

type kind int

const (
	kindInt kind = iota
	kindFloat
	kindString
	kindBool
	kindCodes // an array of exit codes
)

// key describes one configuration key: the single table that drives
// defaults, parsing, validation and documentation.
type key struct {
	name     string
	kind     kind
	seconds  bool    // a float that may also be given as a duration such as 30s
	empty    bool    // a string that may be empty (it then means none)
	min, max float64 // inclusive bounds of numbers
	doc      string
	field    func(c *Config) any
}

var keys = []key{
	{name: "spool_dir", kind: kindString, doc: "spool directory, relative to this file",
		field: func(c *Config) any { return &c.SpoolDir }},
	{name: "max_retries", kind: kindInt, min: 0, max: 1000, doc: "default retries per job (a job runs at most 1 + max_retries times)",
		field: func(c *Config) any { return &c.MaxRetries }},
	{name: "backoff_base", kind: kindFloat, min: 1, max: 1000, doc: "exponential base: the n-th retry waits retry_delay * backoff_base^n seconds",
		field: func(c *Config) any { return &c.BackoffBase }},
	{name: "retry_delay", kind: kindFloat, seconds: true, min: 0, max: 1e9, doc: "seconds; the unit multiplied by backoff_base^n (fractions allowed)",
		field: func(c *Config) any { return &c.RetryDelay }},
	{name: "backoff_max", kind: kindFloat, seconds: true, min: 0, max: 1e9, doc: "seconds; cap on one retry delay",
		field: func(c *Config) any { return &c.BackoffMax }},
	{name: "command_timeout", kind: kindFloat, seconds: true, min: 0, max: 1e9, doc: "seconds per run when a job sets no timeout; 0 means none",
		field: func(c *Config) any { return &c.CommandTimeout }},
	{name: "poll_interval", kind: kindFloat, seconds: true, min: 0.01, max: 3600, doc: "seconds; rescan period where file notifications are unavailable",
		field: func(c *Config) any { return &c.PollInterval }},
	{name: "group_shared", kind: kindBool, doc: "true: a spool shared with your group (directories 0770, files 0660); false: private (0700, 0600)",
		field: func(c *Config) any { return &c.GroupShared }},
	{name: "done_retention", kind: kindFloat, seconds: true, min: 0, max: 1e9, doc: "seconds a done job (and its log) is kept after its last update; 0 keeps it forever",
		field: func(c *Config) any { return &c.DoneRetention }},
	{name: "dead_retention", kind: kindFloat, seconds: true, min: 0, max: 1e9, doc: "seconds a dead job (and its log) is kept after its last update; 0 keeps it forever",
		field: func(c *Config) any { return &c.DeadRetention }},
	{name: "stop_timeout", kind: kindFloat, seconds: true, min: 0, max: 1e6, doc: "seconds a worker lets its running job finish after SIGTERM or Ctrl-C; then the job is ended and put back",
		field: func(c *Config) any { return &c.StopTimeout }},
	{name: "metrics_file", kind: kindString, empty: true, doc: "file that workers keep in the Prometheus text format every 15s (node_exporter's textfile collector), relative to this file; empty: none",
		field: func(c *Config) any { return &c.MetricsFile }},
	{name: "on_success", kind: kindString, empty: true, doc: "command a worker runs after a job's run ends done; empty: none",
		field: func(c *Config) any { return &c.OnSuccess }},
	{name: "on_failure", kind: kindString, empty: true, doc: "command a worker runs after a failed run that will be retried; empty: none",
		field: func(c *Config) any { return &c.OnFailure }},
	{name: "on_dead", kind: kindString, empty: true, doc: "command a worker runs after a run that leaves its job dead; empty: none",
		field: func(c *Config) any { return &c.OnDead }},
	{name: "hook_timeout", kind: kindFloat, seconds: true, min: 0.01, max: 86400, doc: "seconds a hook may run; then its whole process group is killed",
		field: func(c *Config) any { return &c.HookTimeout }},
	{name: "backoff_jitter", kind: kindFloat, min: 0, max: 10, doc: "each retry delay is multiplied by a random factor between 1 and 1 + backoff_jitter; never shorter",
		field: func(c *Config) any { return &c.BackoffJitter }},
	{name: "no_retry_exit_codes", kind: kindCodes, min: 1, max: maxExitCode, doc: "exit codes that send a job to dead/ at once, not retried, such as [2, 64]",
		field: func(c *Config) any { return &c.NoRetry }},
	{name: "max_interruptions", kind: kindInt, min: 0, max: 1000, doc: "runs of a job that may die with their worker (kill -9, crash) before it goes to dead/; 0: no limit",
		field: func(c *Config) any { return &c.MaxInterrupts }},
	{name: "watch", kind: kindBool, doc: "false: do not rely on file notifications; rescan every poll_interval (as on a network file system)",
		field: func(c *Config) any { return &c.Watch }},
	{name: "lease", kind: kindFloat, seconds: true, min: 1, max: 1e6, doc: "seconds without a heartbeat after which a worker on another host is taken for dead",
		field: func(c *Config) any { return &c.Lease }},
}

// Default returns the configuration used when no file sets a key.
func Default() Config {
	return Config{
		SpoolDir:      "spool",
		MaxRetries:    3,
		BackoffBase:   2,
		RetryDelay:    1,
		BackoffMax:    3600,
		PollInterval:  1,
		DoneRetention: 7 * 24 * 3600,
		StopTimeout:   30,
		HookTimeout:   30,
		BackoffJitter: 0.1,
		MaxInterrupts: 5,
		Watch:         true,
		Lease:         30,
	}
}

// Keys returns the names of all keys, in the order of the documentation.
func Keys() []string {
	names := make([]string, len(keys))
	for i, k := range keys {
		names[i] = k.name
	}
	return names
}

// Doc returns the one-line description of a key.
func Doc(name string) string {
	if k, err := lookup(name); err == nil {
		return k.doc
	}
	return ""
}

func lookup(name string) (*key, error) {
	for i := range keys {
		if keys[i].name == name {
			return &keys[i], nil
		}
	}
	return nil, fmt.Errorf("%w %q: want one of %s", ErrUnknownKey, name, strings.Join(Keys(), ", "))
}

// ErrUnknownKey is wrapped by errors about keys that do not exist.
var ErrUnknownKey = errors.New("unknown key")

// Discover returns the configuration file to use: the flag's value, else
// $QUEUECTL_CONFIG, else ./queuectl.toml if it exists, else "" (defaults).
// explicit is true when the user named the file, which must then exist for
// reading.
func Discover(flag string) (path string, explicit bool) {
	if flag != "" {
		return flag, true
	}
	if env := os.Getenv(EnvConfig); env != "" {
		return env, true
	}
	if fi, err := os.Stat(FileName); err == nil && !fi.IsDir() {
		return FileName, false
	}
	return "", false
}

// Load reads the configuration file at path; "" gives the defaults.
func Load(path string) (*Config, error) {
	if path == "" {
		c := Default()
		return &c, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("config file %s does not exist", path)
		}
		return nil, fmt.Errorf("config: %w", err)
	}
	return Parse(data, path)
}

// Parse reads a configuration from data; path is named in errors and is
// the base of a relative spool_dir.
func Parse(data []byte, path string) (*Config, error) {
	var raw map[string]any
	if _, err := toml.Decode(string(data), &raw); err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			return nil, fmt.Errorf("%s:%d: %s", path, pe.Position.Line, pe.Message)
		}
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	c := Default()
	c.Path = path
	names := make([]string, 0, len(raw))
	for name := range raw {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		where := fmt.Sprintf("%s:%d", path, lineOf(data, name))
		k, err := lookup(name)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", where, err)
		}
		if err := k.assign(&c, raw[name]); err != nil {
			return nil, fmt.Errorf("%s: %s: %w", where, name, err)
		}
	}
	return &c, nil
}

// assign checks a decoded TOML value against the key and stores it.
func (k *key) assign(c *Config, v any) error {
	switch k.kind {
	case kindString:
		s, ok := v.(string)
		if !ok {
			return fmt.Errorf("want a string, got %s", tomlType(v))
		}
		if err := k.checkString(s); err != nil {
			return err
		}
		*k.field(c).(*string) = s
		return nil
	case kindBool:
		b, ok := v.(bool)
		if !ok {
			return fmt.Errorf("want true or false, got %s", tomlType(v))
		}
		*k.field(c).(*bool) = b
		return nil
	case kindInt:
		n, ok := v.(int64)
		if !ok {
			return fmt.Errorf("want an integer, got %s", tomlType(v))
		}
		if err := k.check(float64(n)); err != nil {
			return err
		}
		*k.field(c).(*int) = int(n)
		return nil
	case kindCodes:
		list, ok := v.([]any)
		if !ok {
			return fmt.Errorf("want an array of exit codes such as [2, 64], got %s", tomlType(v))
		}
		codes := make([]int, 0, len(list))
		for _, e := range list {
			n, ok := e.(int64)
			if !ok {
				return fmt.Errorf("want an array of exit codes such as [2, 64], got %s in it", tomlType(e))
			}
			if err := k.check(float64(n)); err != nil {
				return fmt.Errorf("exit code %d: %w", n, err)
			}
			codes = append(codes, int(n))
		}
		if len(codes) > maxCodes {
			return fmt.Errorf("more than %d exit codes", maxCodes)
		}
		*k.field(c).(*ExitCodes) = NewExitCodes(codes...)
		return nil
	}
	var f float64
	switch n := v.(type) {
	case int64:
		f = float64(n)
	case float64:
		f = n
	default:
		return fmt.Errorf("want a number, got %s", tomlType(v))
	}
	if err := k.check(f); err != nil {
		return err
	}
	*k.field(c).(*float64) = f
	return nil
}

// checkString refuses a string value the key cannot take: NUL bytes, and
// a blank value where the key needs one.
func (k *key) checkString(s string) error {
	switch {
	case !k.empty && strings.TrimSpace(s) == "":
		return errors.New("must be a non-empty path")
	case strings.IndexByte(s, 0) >= 0:
		return errors.New("must not hold a NUL byte")
	}
	return nil
}

func (k *key) check(f float64) error {
	if math.IsNaN(f) || f < k.min || f > k.max {
		if k.kind == kindCodes {
			return fmt.Errorf("must be between %d and %d", int64(k.min), int64(k.max))
		}
		return fmt.Errorf("must be between %g and %g", k.min, k.max)
	}
	return nil
}

func tomlType(v any) string {
	switch v.(type) {
	case string:
		return "a string"
	case int64:
		return "an integer"
	case float64:
		return "a float"
	case bool:
		return "a boolean"
	case time.Time:
		return "a date"
	case []any, []map[string]any:
		return "an array"
	case map[string]any:
		return "a table"
	}
	return fmt.Sprintf("%T", v)
}

// assignString sets key name from its TOML form as ParseValue wrote it.
func (c *Config) assignString(name, tv string) error {
	k, err := lookup(name)
	if err != nil {
		return err
	}
	var raw map[string]any
	if _, err := toml.Decode("v = "+tv, &raw); err != nil {
		return err
	}
	return k.assign(c, raw["v"])
}

// Spool returns the spool directory: spool_dir, relative to the directory
// of the configuration file (or to the current directory for defaults).
func (c *Config) Spool() string {
	if filepath.IsAbs(c.SpoolDir) || c.Path == "" {
		return c.SpoolDir
	}
	return filepath.Join(filepath.Dir(c.Path), c.SpoolDir)
}

// Metrics returns the file that workers keep metrics in: metrics_file,
// relative to the directory of the configuration file; "" for none.
func (c *Config) Metrics() string {
	if c.MetricsFile == "" || filepath.IsAbs(c.MetricsFile) || c.Path == "" {
		return c.MetricsFile
	}
	return filepath.Join(filepath.Dir(c.Path), c.MetricsFile)
}

// Get returns the value of a key as it would be written in the file.
func (c *Config) Get(name string) (string, error) {
	k, err := lookup(name)
	if err != nil {
		return "", err
	}
	switch v := k.field(c).(type) {
	case *string:
		return *v, nil
	case *int:
		return strconv.Itoa(*v), nil
	case *float64:
		return strconv.FormatFloat(*v, 'f', -1, 64), nil
	case *bool:
		return strconv.FormatBool(*v), nil
	case *ExitCodes:
		return v.String(), nil
	}
	return "", nil
}
