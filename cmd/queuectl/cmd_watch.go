package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/queuectl/queuectl/internal/spool"
)

// status --watch: on a terminal a live view (a bubbletea program) that
// redraws in place until q or Ctrl-C; elsewhere a snapshot every interval,
// until interrupted. Both read the spool only.

// snapshot is what one refresh of the watch read.
type snapshot struct {
	at          time.Time
	status      statusView
	pausedSince time.Time            // zero when not paused
	started     map[string]time.Time // running job id → when its run started
	err         error
}

// take reads a snapshot of the spool.
func take(s *spool.Spool) snapshot {
	snap := snapshot{at: time.Now().UTC()}
	snap.status, snap.err = collectStatus(s, snap.at)
	if since, ok := s.PausedSince(); ok {
		snap.pausedSince = since
	}
	for _, w := range snap.status.Workers {
		if w.Job == "" || w.State == "stale" {
			continue
		}
		if j, err := s.Read(spool.Processing, w.Job); err == nil && !j.StartedAt.IsZero() {
			if snap.started == nil {
				snap.started = map[string]time.Time{}
			}
			snap.started[w.Job] = j.StartedAt
		}
	}
	return snap
}

// throughput counts the jobs that finished (reached done/ or dead/) over
// the last minute, from the counts of those directories as this view saw
// them at each refresh: the sum of their rises between one refresh and the
// next. A fall (purge, retention, dlq retry) is no negative work: it sets
// a new base. So the figure covers only the time the view has been
// running, and grows to a full minute.
type throughput struct {
	samples []sample
}

type sample struct {
	at         time.Time
	done, dead int
}

// snapshotTime is how the plain watch dates a snapshot: RFC 3339 in the
// local zone, to the millisecond.
const snapshotTime = "2006-01-02T15:04:05.000Z07:00"

// window is how far back throughput looks.
const window = time.Minute

// add records the counts seen at a refresh.
func (t *throughput) add(at time.Time, done, dead int) {
	t.samples = append(t.samples, sample{at, done, dead})
	cut := 0
	for cut < len(t.samples)-1 && at.Sub(t.samples[cut].at) > window {
		cut++
	}
	t.samples = t.samples[cut:]
}

// finished returns how many jobs reached done/ and dead/ over span, the
// time covered by the samples kept (0 until there are two).
func (t *throughput) finished() (done, dead int, span time.Duration) {
	for i := 1; i < len(t.samples); i++ {
		done += max(0, t.samples[i].done-t.samples[i-1].done)
		dead += max(0, t.samples[i].dead-t.samples[i-1].dead)
	}
	if n := len(t.samples); n > 1 {
		span = t.samples[n-1].at.Sub(t.samples[0].at)
	}
	return done, dead, span
}

// render shows a snapshot: for people (l.human, styled) or as plain text.
func render(snap snapshot, tp *throughput, root string, l looks) string {
	l.now = snap.at
	var b strings.Builder
	if l.human {
		b.WriteString(l.bold("queuectl status") + l.faint(fmt.Sprintf("  spool %s  %s  (q quits)", root, snap.at.Local().Format("15:04:05"))) + "\n\n")
	} else {
		fmt.Fprintf(&b, "== %s spool: %s\n", snap.at.Local().Format(snapshotTime), root)
	}
	if snap.err != nil {
		fmt.Fprintf(&b, "error: %s\n", oneLine(snap.err.Error()))
		return b.String()
	}
	v := snap.status
	counts := make([]string, 0, len(statusStates))
	for _, st := range statusStates {
		counts = append(counts, fmt.Sprintf("%s %d", l.state(string(st)), v.Counts[st]))
	}
	b.WriteString(strings.Join(counts, "  ") + "\n")

	done, dead, span := tp.finished()
	switch {
	case span == 0:
		b.WriteString("finished: measuring (from the next refresh on)\n")
	default:
		over := "the last minute"
		if span < window-time.Second {
			over = "the last " + roundAge(span)
		}
		fmt.Fprintf(&b, "finished: %d in %s (%d done, %d dead)\n", done+dead, over, done, dead)
	}
	if v.OldestPendingAge != nil {
		fmt.Fprintf(&b, "oldest pending job: due for %s\n", v.oldestDue())
	} else {
		b.WriteString("oldest pending job: none due\n")
	}
	if snap.pausedSince.IsZero() {
		b.WriteString("paused: no\n")
	} else {
		since := snap.pausedSince
		fmt.Fprintf(&b, "paused: %s since %s; no job is claimed until queuectl resume\n", l.bold("yes"), whenBoth(l, &since))
	}

	if len(v.Workers) == 0 {
		b.WriteString("workers: none running\n")
		return b.String()
	}
	header := []string{"WORKER", "PID", "HOST", "STATE", "JOB", "RUNNING FOR", "HEARTBEAT"}
	rows := make([][]string, 0, len(v.Workers))
	for _, w := range v.Workers {
		running := "-"
		if at, ok := snap.started[w.Job]; ok {
			running = roundAge(max(0, snap.at.Sub(at)))
		}
		rows = append(rows, []string{w.ID, fmt.Sprint(w.PID), w.Host, l.state(w.State), clean(w.Job, 40), running, l.when(w.HeartbeatAt)})
	}
	b.WriteString("\n")
	if l.human {
		b.WriteString(l.table(header, rows))
		return b.String()
	}
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	tw.Flush()
	return b.String()
}

// whenBoth shows a time as stamp does, and for people how long ago too.
func whenBoth(l looks, t *time.Time) string {
	if !l.human {
		return stamp(t)
	}
	return stamp(t) + " (" + relative(*t, l.now) + ")"
}

func (a *app) runWatch(interval time.Duration) error {
	s, _, err := a.openReadOnly()
	if err != nil {
		return err
	}
	l := looksFor(a.stdout)
	if !l.human {
		return a.watchPlain(s, interval)
	}
	m := &watchModel{s: s, interval: interval, l: l, tp: &throughput{}}
	p := tea.NewProgram(m, tea.WithInput(a.stdin), tea.WithOutput(a.stdout), tea.WithColorProfile(l.profile))
	_, err = p.Run()
	if errors.Is(err, tea.ErrInterrupted) {
		return nil // Ctrl-C from outside the terminal's keyboard: the way to stop it
	}
	return err
}

// watchPlain prints a snapshot every interval, a blank line between two,
// until SIGINT or SIGTERM.
func (a *app) watchPlain(s *spool.Spool, interval time.Duration) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	tp := &throughput{}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for first := true; ; first = false {
		snap := take(s)
		tp.add(snap.at, snap.status.Counts[spool.Done], snap.status.Counts[spool.Dead])
		out := render(snap, tp, s.Root(), looks{})
		if !first {
			out = "\n" + out
		}
		if _, err := fmt.Fprint(a.stdout, out); err != nil {
			return err // a closed pipe: nobody reads any more
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// watchModel is the live view, a bubbletea model: it reads a snapshot,
// shows it, waits an interval, and again.
type watchModel struct {
	s        *spool.Spool
	interval time.Duration
	l        looks
	tp       *throughput
	snap     snapshot
	shown    bool // a snapshot has been read
}

type snapMsg snapshot
type tickMsg struct{}

func (m *watchModel) read() tea.Msg { return snapMsg(take(m.s)) }

// Init reads the first snapshot.
func (m *watchModel) Init() tea.Cmd { return m.read }

// Update takes a key, a snapshot or the tick that asks for the next one.
func (m *watchModel) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.KeyPressMsg:
		switch msg.String() {
		case "q", "Q", "ctrl+c", "esc":
			return m, tea.Quit
		}
	case snapMsg:
		m.snap, m.shown = snapshot(msg), true
		if m.snap.err == nil {
			m.tp.add(m.snap.at, m.snap.status.Counts[spool.Done], m.snap.status.Counts[spool.Dead])
		}
		return m, tea.Tick(m.interval, func(time.Time) tea.Msg { return tickMsg{} })
	case tickMsg:
		return m, m.read
	}
	return m, nil
}

// View draws the last snapshot.
func (m *watchModel) View() tea.View {
	if !m.shown {
		return tea.NewView("reading " + m.s.Root() + "…\n")
	}
	return tea.NewView(render(m.snap, m.tp, m.s.Root(), m.l))
}
