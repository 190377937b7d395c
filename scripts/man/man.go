// Package man writes queuectl's man pages from its cobra command tree, one
// page a command (queuectl(1), queuectl-enqueue(1), queuectl-worker-start(1),
// ...), with cobra's doc generator. It is used by a build of queuectl made
// with -tags genman; see scripts/release.sh.
package man

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"
)

// Generate writes the man pages of root and every command under it to dir,
// in section 1. The pages are dated by $SOURCE_DATE_EPOCH when it is set,
// so that a release can be rebuilt byte for byte, else today.
func Generate(root *cobra.Command, version, dir string) error {
	date := time.Now().UTC()
	if epoch := os.Getenv("SOURCE_DATE_EPOCH"); epoch != "" {
		sec, err := strconv.ParseInt(epoch, 10, 64)
		if err != nil {
			return fmt.Errorf("SOURCE_DATE_EPOCH %q: want seconds since 1970", epoch)
		}
		date = time.Unix(sec, 0).UTC()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	root.DisableAutoGenTag = true // no "generated on <date>" line: the header has the date
	escape(root)
	hdr := &doc.GenManHeader{
		Title:   "QUEUECTL",
		Section: "1",
		Date:    &date,
		Source:  "queuectl " + version,
		Manual:  "queuectl manual",
	}
	return doc.GenManTree(root, hdr, dir)
}

// escape keeps the angle brackets of the commands' descriptions
// ("spool/workers/<id>.log"), which the Markdown that cobra's generator
// reads would take for HTML and drop.
func escape(cmd *cobra.Command) {
	cmd.Long = strings.ReplaceAll(cmd.Long, "<", `\<`)
	cmd.Short = strings.ReplaceAll(cmd.Short, "<", `\<`)
	for _, c := range cmd.Commands() {
		escape(c)
	}
}
