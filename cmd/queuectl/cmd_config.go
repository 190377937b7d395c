package main

import (
	"fmt"
	"text/tabwriter"

	"github.com/queuectl/queuectl/internal/config"
	"github.com/spf13/cobra"
)

func (a *app) configCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Show and change settings in queuectl.toml",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return &usageError{"config needs a command: list, get or set"}
		},
	}
	var asJSON bool
	list := &cobra.Command{
		Use:     "list",
		Short:   "Show every setting and its value",
		Example: "  queuectl config list",
		Args:    noArgs,
		RunE: op(func(cmd *cobra.Command, args []string) error {
			cfg, err := a.loadConfig()
			if err != nil {
				return err
			}
			values := map[string]string{}
			for _, k := range config.Keys() {
				values[k], _ = cfg.Get(k)
			}
			if asJSON {
				return writeJSON(a.stdout, values)
			}
			tw := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "KEY\tVALUE\tMEANING")
			for _, k := range config.Keys() {
				fmt.Fprintf(tw, "%s\t%s\t%s\n", k, values[k], config.Doc(k))
			}
			if cfg.Path != "" {
				fmt.Fprintf(tw, "\nfile: %s\n", cfg.Path)
			} else {
				fmt.Fprintf(tw, "\nfile: none (defaults)\n")
			}
			return tw.Flush()
		}),
	}
	list.Flags().BoolVar(&asJSON, "json", false, "print a JSON object")
	get := &cobra.Command{
		Use:     "get KEY",
		Short:   "Print the value of one setting",
		Example: "  queuectl config get retry_delay",
		Args:    exactArgs("KEY"),

		ValidArgsFunction: completeKeys,
		RunE: op(func(cmd *cobra.Command, args []string) error {
			cfg, err := a.loadConfig()
			if err != nil {
				return err
			}
			v, err := cfg.Get(args[0])
			if err != nil {
				return err
			}
			_, err = fmt.Fprintln(a.stdout, v)
			return err
		}),
	}
	set := &cobra.Command{
		Use:   "set KEY VALUE",
		Short: "Change one setting, keeping the file's comments and other keys",
		Long: `Change one setting in the configuration file (created if missing). Values
in seconds also take durations such as 30s or 5m. Running workers pick the
change up without a restart.`,
		Example: "  queuectl config set max_retries 5\n  queuectl config set retry_delay 500ms",
		Args:    exactArgs("KEY", "VALUE"),

		ValidArgsFunction: completeKeys,
		RunE: op(func(cmd *cobra.Command, args []string) error {
			path, _ := a.configPath()
			if path == "" {
				path = config.FileName
			}
			if err := config.Set(path, args[0], args[1]); err != nil {
				return err
			}
			cfg, err := config.Load(path)
			if err != nil {
				return err
			}
			v, _ := cfg.Get(args[0])
			_, err = fmt.Fprintf(a.stdout, "%s = %s (in %s)\n", args[0], v, path)
			return err
		}),
	}
	// Flags go before KEY: what follows it is the value, even when it
	// starts with "-" (config set max_retries -1 is refused for its range,
	// not taken for a flag -1).
	set.Flags().SetInterspersed(false)
	cmd.AddCommand(list, get, set)
	return cmd
}
