package spool

import (
	"io/fs"
	"os"
	"time"
)

// markClaimed: Windows has no mark (a read-only file cannot be replaced by
// a rename), so a claim there writes the attempt before the command runs.
func markClaimed(*os.File, fs.FileInfo) (bool, error) { return false, nil }

func unmarkClaimed(*os.File, fs.FileInfo) {}

func claimMark(fs.FileInfo) (bool, time.Time) { return false, time.Time{} }
