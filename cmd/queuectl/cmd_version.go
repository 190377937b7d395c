package main

import (
	"fmt"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"
)

// version is stamped at build time:
//
//	go build -ldflags "-X main.version=v1.2.3" ./cmd/queuectl
var version = ""

// versionString returns the version of this binary.
func versionString() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		bi = nil
	}
	return formatVersion(version, bi)
}

// formatVersion words the version of a binary: the stamped version if
// there is one; else the module's version when it is a release (go install
// of a tagged module); else, for a build from a source tree, the commit it
// was built from as the build information records it (vcs.revision,
// vcs.time, vcs.modified), such as "devel 3f3b090eda04 (2026-11-27T09:59:00Z,
// modified)". Go records no commit when building with -buildvcs=false or in
// a git worktree; that build says "(devel)".
func formatVersion(stamped string, bi *debug.BuildInfo) string {
	if stamped != "" {
		return stamped
	}
	if bi == nil {
		return "(devel)"
	}
	var rev, at string
	modified := false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.time":
			at = s.Value
		case "vcs.modified":
			modified = s.Value == "true"
		}
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	v := bi.Main.Version
	// Since Go 1.24 a build from a source tree gets a pseudo-version made
	// of the commit's time and hash (v0.0.0-20261127095900-3f3b090eda04):
	// it is no release, so say what it is in plain words.
	release := v != "" && v != "(devel)" && (rev == "" || !strings.Contains(v, rev))
	if release || rev == "" {
		if v == "" {
			return "(devel)"
		}
		return v
	}
	var details []string
	if at != "" {
		details = append(details, at)
	}
	if modified {
		details = append(details, "modified")
	}
	out := "devel " + rev
	if len(details) > 0 {
		out += " (" + strings.Join(details, ", ") + ")"
	}
	return out
}

func (a *app) versionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print queuectl's version",
		Args:  noArgs,
		RunE: op(func(cmd *cobra.Command, args []string) error {
			_, err := fmt.Fprintf(a.stdout, "queuectl %s\n", versionString())
			return err
		}),
	}
}
