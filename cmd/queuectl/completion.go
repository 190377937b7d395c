package main

import (
	"fmt"
	"slices"
	"strings"

	"github.com/queuectl/queuectl/internal/config"
	"github.com/queuectl/queuectl/internal/spool"
	"github.com/spf13/cobra"
)

// Shell completion: cobra's own completion command prints the script for
// bash, zsh, fish or PowerShell; the script asks the hidden __complete
// command for candidates, which the functions here supply. They only list
// directories (no job file is read), open the spool without creating
// anything, and on any error offer nothing: a completion never prints an
// error where the shell expects candidates.

// initCompletion adds cobra's completion command to root (after the
// other commands, and after root's output is set: cobra's generators write
// to it), refusing a missing or unknown shell as every group command does.
func initCompletion(root *cobra.Command) {
	root.InitDefaultCompletionCmd()
	for _, c := range root.Commands() {
		if c.Name() != "completion" {
			continue
		}
		c.Example = "  source <(queuectl completion bash)\n  queuectl completion fish > ~/.config/fish/completions/queuectl.fish"
		c.Args = noArgs
		c.SuggestionsMinimumDistance = 1 // shell names are short: two edits apart is another shell
		c.RunE = func(cmd *cobra.Command, args []string) error {
			return &usageError{"completion needs a shell: bash, zsh, fish or powershell"}
		}
	}
}

// completeJobs returns a completion function for commands whose arguments
// are job ids: the ids in states (every job state when none is given) that
// start with what was typed, from directory listings alone. max is the
// number of ids the command takes (0: any number); ids already on the line
// are not offered again. A command registers it with one line:
//
//	ValidArgsFunction: a.completeJobs(1),
func (a *app) completeJobs(max int, states ...spool.State) cobra.CompletionFunc {
	if len(states) == 0 {
		states = spool.States
	}
	return func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if max > 0 && len(args) >= max {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		s, _, err := a.openReadOnly()
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		var ids []string
		for _, st := range states {
			names, err := s.Names(st)
			if err != nil {
				continue
			}
			for _, n := range names {
				id, err := spool.IDFromName(n)
				if err == nil && strings.HasPrefix(id, toComplete) && !slices.Contains(args, id) {
					ids = append(ids, id)
				}
			}
		}
		slices.Sort(ids)
		return slices.Compact(ids), cobra.ShellCompDirectiveNoFileComp
	}
}

// completeStates completes a flag that takes a state, from states (every
// state, rejected included, when none is given).
func completeStates(states ...spool.State) cobra.CompletionFunc {
	if len(states) == 0 {
		states = append(append([]spool.State{}, spool.States...), spool.Rejected)
	}
	return func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		var out []string
		for _, st := range states {
			if strings.HasPrefix(string(st), toComplete) {
				out = append(out, string(st))
			}
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}

// completeKeys completes the KEY of config get and config set, each key
// with its meaning; config set's VALUE is left to the shell (files, as for
// metrics_file).
func completeKeys(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	if len(args) > 0 {
		if cmd.Name() == "set" && len(args) == 1 {
			return nil, cobra.ShellCompDirectiveDefault
		}
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	var out []string
	for _, k := range config.Keys() {
		if strings.HasPrefix(k, toComplete) {
			out = append(out, cobra.CompletionWithDesc(k, config.Doc(k)))
		}
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}

// suggest returns "; did you mean X?" for a mistyped subcommand of cmd, or
// "" when no subcommand is close (at most two edits away, or starting with
// what was typed).
func suggest(cmd *cobra.Command, typed string) string {
	if typed == "" || cmd.DisableSuggestions {
		return ""
	}
	if cmd.SuggestionsMinimumDistance <= 0 {
		cmd.SuggestionsMinimumDistance = 2
	}
	names := cmd.SuggestionsFor(typed)
	switch len(names) {
	case 0:
		return ""
	case 1:
		return fmt.Sprintf("; did you mean %s?", names[0])
	}
	return fmt.Sprintf("; did you mean %s or %s?", strings.Join(names[:len(names)-1], ", "), names[len(names)-1])
}
