package worker

// reaper does nothing on Windows, where a job's process tree is tied to
// its worker otherwise.
type reaper struct{}

func (r *reaper) track(int) error { return nil }
func (r *reaper) untrack()        {}
func (r *reaper) close()          {}
