package main

import (
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"charm.land/bubbles/v2/progress"
	"github.com/charmbracelet/colorprofile"
)

// progressMin is how many steps make work long enough for a progress bar.
const progressMin = 500

// progressBar shows on a terminal's stderr how far long work has come: a
// bar redrawn in place on one line from a count that the work adds to.
// Nothing is drawn when stderr is no terminal (a script's log stays
// clean) or the work is short.
type progressBar struct {
	w     io.Writer
	label string // what the work is: "enqueue"
	what  string // how much: "1000 jobs"
	total int64
	count *atomic.Int64
	bar   progress.Model
	stop  chan struct{}
	wg    sync.WaitGroup
}

// startProgress starts drawing count out of total steps on w, if w is a
// terminal and total is at least progressMin; it returns nil otherwise.
// The caller ends it with finish.
func startProgress(w io.Writer, label, what string, total int64, count *atomic.Int64) *progressBar {
	if total < progressMin || !terminal(w) {
		return nil
	}
	p := &progressBar{
		// Colours reduced to what the terminal shows, or none (NO_COLOR).
		w:     &colorprofile.Writer{Forward: w, Profile: colourProfile(w)},
		label: label, what: what, total: total, count: count, stop: make(chan struct{}),
		bar: progress.New(progress.WithDefaultBlend(), progress.WithWidth(30), progress.WithoutPercentage()),
	}
	p.draw()
	p.wg.Go(func() {
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-p.stop:
				return
			case <-t.C:
				p.draw()
			}
		}
	})
	return p
}

func (p *progressBar) draw() {
	n := min(p.count.Load(), p.total)
	frac := float64(n) / float64(p.total)
	// \r and "erase to the end of the line": the bar replaces itself.
	fmt.Fprintf(p.w, "\r%s %s %3.0f%% of %s\x1b[K", p.label, p.bar.ViewAs(frac), frac*100, p.what)
}

// finish stops drawing. Work that succeeded leaves its bar, full, on its
// line; work that failed takes it away, so that its error reads alone.
func (p *progressBar) finish(ok bool) {
	if p == nil {
		return
	}
	close(p.stop)
	p.wg.Wait()
	if ok {
		p.count.Store(p.total)
		p.draw()
		fmt.Fprint(p.w, "\n")
		return
	}
	fmt.Fprint(p.w, "\r\x1b[K")
}
