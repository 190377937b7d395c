package main

import (
	"runtime/debug"
	"testing"
)

func TestFormatVersion(t *testing.T) {
	t.Parallel()
	const rev = "3f3b090eda04f33e6c4c7826b9547883d61dae7f"
	vcs := func(modified string) []debug.BuildSetting {
		return []debug.BuildSetting{
			{Key: "-compiler", Value: "gc"},
			{Key: "vcs", Value: "git"},
			{Key: "vcs.revision", Value: rev},
			{Key: "vcs.time", Value: "2026-11-27T09:59:00Z"},
			{Key: "vcs.modified", Value: modified},
		}
	}
	info := func(v string, settings []debug.BuildSetting) *debug.BuildInfo {
		return &debug.BuildInfo{Main: debug.Module{Path: "github.com/queuectl/queuectl", Version: v}, Settings: settings}
	}
	tests := []struct {
		name    string
		stamped string
		bi      *debug.BuildInfo
		want    string
	}{
		{"stamped", "v0.1.0", info("(devel)", vcs("false")), "v0.1.0"},
		{"stamped, modified tree", "v0.1.0", info("(devel)", vcs("true")), "v0.1.0"},
		{"stamped, no build info", "v0.1.0", nil, "v0.1.0"},
		{"source tree", "", info("(devel)", vcs("false")), "devel 3f3b090eda04 (2026-11-27T09:59:00Z)"},
		{"source tree, modified", "", info("(devel)", vcs("true")), "devel 3f3b090eda04 (2026-11-27T09:59:00Z, modified)"},
		{"pseudo-version", "", info("v0.0.0-20261127095900-3f3b090eda04", vcs("false")), "devel 3f3b090eda04 (2026-11-27T09:59:00Z)"},
		{"pseudo-version, modified", "", info("v0.0.0-20261127095900-3f3b090eda04+dirty", vcs("true")), "devel 3f3b090eda04 (2026-11-27T09:59:00Z, modified)"},
		{"revision only", "", info("(devel)", []debug.BuildSetting{{Key: "vcs.revision", Value: rev}}), "devel 3f3b090eda04"},
		{"tagged module", "", info("v1.2.3", nil), "v1.2.3"},
		{"tagged commit", "", info("v1.2.3", vcs("false")), "v1.2.3"},
		{"no version control information", "", info("(devel)", []debug.BuildSetting{{Key: "-compiler", Value: "gc"}}), "(devel)"},
		{"no build info", "", nil, "(devel)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := formatVersion(tt.stamped, tt.bi); got != tt.want {
				t.Errorf("formatVersion(%q, ...) = %q, want %q", tt.stamped, got, tt.want)
			}
		})
	}
}
