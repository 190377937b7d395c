package spool

import "io/fs"

// otherNames reports whether the file fi has more names than one. On
// Windows moves are never made with hard links (see publish), so a job
// file is never under two names for a move cut short.
func otherNames(fs.FileInfo) bool { return false }
