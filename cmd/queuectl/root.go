package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/queuectl/queuectl/internal/config"
	"github.com/queuectl/queuectl/internal/spool"
	"github.com/spf13/cobra"
)

// app holds what every command shares: the standard streams and the global
// flags.
type app struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	spoolFlag      string
	configFlag     string
}

// run executes the command line args and returns the process's exit code.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	a := &app{stdin: stdin, stdout: stdout, stderr: stderr}
	root := a.rootCmd()
	root.SetArgs(args)
	cmd, err := root.ExecuteC()
	if err != nil && err.Error() != "" { // a resultError may have nothing left to say
		msg := strings.ReplaceAll(strings.TrimSpace(err.Error()), "\n", "; ")
		if exitCode(err) == exitUsage {
			msg += fmt.Sprintf(" (see '%s --help')", cmd.CommandPath())
		}
		fmt.Fprintf(stderr, "queuectl: %s\n", msg)
	}
	return exitCode(err)
}

func (a *app) rootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "queuectl",
		Short: "Run shell commands as background jobs, with retries and a dead letter queue",
		Long: `queuectl runs shell commands as background jobs. Jobs are JSON files in a
spool directory; their state is the directory they are in (pending, processing,
failed, done, dead), so ls shows the queue and any tool can drop a job file
into pending/.

Configuration comes from --config, $QUEUECTL_CONFIG or ./queuectl.toml; the
spool from --spool, $QUEUECTL_SPOOL or the config's spool_dir (default ./spool).

` + exitCodesHelp,
		SilenceErrors: true,
		SilenceUsage:  true,
		Args:          noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return &usageError{"no command given"}
		},
	}
	root.SetIn(a.stdin)
	root.SetOut(a.stdout)
	root.SetErr(a.stderr)
	root.SetFlagErrorFunc(flagError)
	pf := root.PersistentFlags()
	pf.StringVar(&a.spoolFlag, "spool", "", "spool directory (env "+config.EnvSpool+")")
	pf.StringVar(&a.configFlag, "config", "", "configuration file (env "+config.EnvConfig+"; default ./"+config.FileName+")")
	root.AddCommand(
		a.versionCmd(),
		a.enqueueCmd(),
		a.listCmd(),
		a.statusCmd(),
		a.workerCmd(),
		a.logsCmd(),
		a.doctorCmd(),
		a.dlqCmd(),
		a.purgeCmd(),
		a.configCmd(),
		a.pauseCmd(),
		a.resumeCmd(),
		a.showCmd(),
		a.cancelCmd(),
		a.waitCmd(),
		a.metricsCmd(),
	)
	initCompletion(root)
	return root
}

// noArgs refuses arguments, naming an unknown subcommand as such, with the
// subcommands it may have been meant for.
func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		if cmd.HasSubCommands() {
			return &usageError{fmt.Sprintf("unknown command %q for %q%s", args[0], cmd.CommandPath(), suggest(cmd, args[0]))}
		}
		return &usageError{fmt.Sprintf("%s takes no arguments, got %q", cmd.CommandPath(), args[0])}
	}
	return nil
}

// exactArgs requires n arguments, named in the message when missing.
func exactArgs(names ...string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) < len(names) {
			return &usageError{fmt.Sprintf("missing %s", strings.Join(names[len(args):], " and "))}
		}
		if len(args) > len(names) {
			return &usageError{fmt.Sprintf("too many arguments: %s takes %d", cmd.CommandPath(), len(names))}
		}
		return nil
	}
}

// op wraps a command's work so that its errors are told apart from usage
// errors found while parsing the command line.
func op(f func(cmd *cobra.Command, args []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		err := f(cmd, args)
		var ue *usageError
		if err == nil || errors.As(err, &ue) {
			return err
		}
		return &opError{err}
	}
}

// configPath returns the configuration file to use ("" for none) and
// whether the user named it.
func (a *app) configPath() (string, bool) {
	return config.Discover(a.configFlag)
}

// loadConfig reads the configuration.
func (a *app) loadConfig() (*config.Config, error) {
	path, _ := a.configPath()
	return config.Load(path)
}

// spoolDir returns the spool directory: --spool, else $QUEUECTL_SPOOL, else
// the configuration's spool_dir.
func (a *app) spoolDir(cfg *config.Config) string {
	if a.spoolFlag != "" {
		return a.spoolFlag
	}
	if dir := os.Getenv(config.EnvSpool); dir != "" {
		return dir
	}
	return cfg.Spool()
}

// openReadOnly opens the spool for a command that only reads it (list,
// status, dlq list, logs, wait, doctor without --repair): it creates and changes
// nothing, and a spool that does not exist is an error naming the path
// (exit 1), not an empty queue. Every read-only command opens its spool
// with this.
func (a *app) openReadOnly() (*spool.Spool, *config.Config, error) {
	return a.openExisting(true)
}

// openExisting opens a spool that must exist, creating nothing: for the
// commands that only read (readOnly, see openReadOnly) and for those that
// change jobs or workers already there (dlq retry, cancel, worker stop), which
// have nothing to do in a spool that does not exist.
func (a *app) openExisting(readOnly bool) (*spool.Spool, *config.Config, error) {
	cfg, err := a.loadConfig()
	if err != nil {
		return nil, nil, err
	}
	s, err := spool.OpenExisting(a.spoolDir(cfg), spool.Options{GroupShared: cfg.GroupShared, ReadOnly: readOnly, Lease: config.Seconds(cfg.Lease)})
	var ns *spool.NoSpoolError
	if errors.As(err, &ns) {
		return nil, nil, fmt.Errorf("%w (check --spool, $%s or spool_dir in the configuration; enqueue and worker start create a spool)", err, config.EnvSpool)
	}
	if err != nil {
		return nil, nil, err
	}
	return s, cfg, nil
}

// open reads the configuration and opens the spool it names (or the one
// given by --spool or $QUEUECTL_SPOOL), creating it where missing: for
// enqueue and worker start.
func (a *app) open() (*spool.Spool, *config.Config, error) {
	cfg, err := a.loadConfig()
	if err != nil {
		return nil, nil, err
	}
	s, err := spool.OpenWith(a.spoolDir(cfg), spool.Options{GroupShared: cfg.GroupShared, Lease: config.Seconds(cfg.Lease)})
	if err != nil {
		return nil, nil, err
	}
	return s, cfg, nil
}
