package spool

// crashHook, when set, is called at each point of a state change where a
// crash must be survivable. Only builds with the crashpoints tag set it
// (from $QUEUECTL_CRASH_AT), to test that a process killed at any of these
// points loses nothing: it is not a production setting.
var crashHook func(point string)

// crashPoint marks a point where a crash must be survivable.
func crashPoint(point string) {
	if crashHook != nil {
		crashHook(point)
	}
}
