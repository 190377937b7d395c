//go:build genman

package main

import (
	"fmt"
	"io"
	"os"

	"github.com/queuectl/queuectl/scripts/man"
)

// Built with -tags genman (as scripts/release.sh does), queuectl can write
// its man pages, generated from its own command tree:
//
//	go run -tags genman ./cmd/queuectl __genman DIR
//
// The tag keeps cobra's doc generator out of the binaries that ship. The
// generator is here, not in a program of its own, because the command tree
// is built by package main, which no other program can import.
func init() {
	if len(os.Args) != 3 || os.Args[1] != "__genman" {
		return
	}
	root := (&app{stdin: os.Stdin, stdout: io.Discard, stderr: os.Stderr}).rootCmd()
	if err := man.Generate(root, versionString(), os.Args[2]); err != nil {
		fmt.Fprintln(os.Stderr, "queuectl: man pages:", err)
		os.Exit(1)
	}
	os.Exit(0)
}
