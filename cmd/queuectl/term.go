package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"charm.land/lipgloss/v2"
	"charm.land/lipgloss/v2/table"
	"github.com/charmbracelet/colorprofile"
	"golang.org/x/term"
)

// Terminal manners. Text for people (colours, "3m ago", a progress bar) is
// written only to a terminal; to a pipe or a file every command writes
// what it always wrote, since scripts parse it.

// terminal reports whether w is an interactive terminal.
func terminal(w any) bool {
	f, ok := w.(interface{ Fd() uintptr })
	return ok && term.IsTerminal(int(f.Fd()))
}

// colourWanted reports whether colour may be used on a terminal: not when
// NO_COLOR is set to anything (no-color.org), nor on a dumb terminal.
func colourWanted() bool {
	return os.Getenv("NO_COLOR") == "" && os.Getenv("TERM") != "dumb"
}

// colourProfile is the colours that a terminal at w shows: as it tells
// through its environment (TERM, COLORTERM, terminfo), and none at all
// (text attributes such as bold only) when colour is not wanted.
func colourProfile(w io.Writer) colorprofile.Profile {
	if !colourWanted() {
		return colorprofile.ASCII
	}
	return max(colorprofile.Detect(w, os.Environ()), colorprofile.ASCII)
}

// looks is how a command writes for people: whether to say times relative
// to now, and in which colours. The zero value writes as for a script,
// plain.
type looks struct {
	human   bool      // stdout is a terminal
	colour  bool      // it shows colours, and they are wanted
	now     time.Time // what relative times count from
	profile colorprofile.Profile
}

// looksFor returns how to write to w.
func looksFor(w io.Writer) looks {
	if !terminal(w) {
		return looks{}
	}
	p := colourProfile(w)
	return looks{human: true, colour: p > colorprofile.ASCII, now: time.Now(), profile: p}
}

// print writes styled text to w as the terminal can show it: colours
// reduced to its profile, or taken away.
func (l looks) print(w io.Writer, s string) error {
	if !l.human {
		_, err := io.WriteString(w, s)
		return err
	}
	_, err := io.WriteString(&colorprofile.Writer{Forward: w, Profile: l.profile}, s)
	return err
}

// stateColours are the ANSI colours of the job states: the terminal's own
// palette, so that they suit its theme.
var stateColours = map[string]string{
	"pending":    "4", // blue
	"processing": "3", // yellow
	"failed":     "5", // magenta
	"done":       "2", // green
	"dead":       "1", // red
	"rejected":   "1",
	"busy":       "3",
	"idle":       "2",
	"stopping":   "5",
	"stale":      "1",
}

// state shows a job's (or a worker's) state, in its colour for people.
func (l looks) state(s string) string {
	c, ok := stateColours[s]
	if !l.colour || !ok {
		return s
	}
	return lipgloss.NewStyle().Foreground(lipgloss.Color(c)).Render(s)
}

// bold shows s in bold for people.
func (l looks) bold(s string) string {
	if !l.human {
		return s
	}
	return lipgloss.NewStyle().Bold(true).Render(s)
}

// faint shows s dimmed for people.
func (l looks) faint(s string) string {
	if !l.human {
		return s
	}
	return lipgloss.NewStyle().Faint(true).Render(s)
}

// when shows a time: relative to now for people ("3m ago", "in 2h"), as
// stamp does for scripts.
func (l looks) when(t *time.Time) string {
	if !l.human || t == nil {
		return stamp(t)
	}
	return relative(*t, l.now)
}

// relative says how long before or after now t is, in the largest whole
// unit: "just now", "45s ago", "3m ago", "2h ago", "4d ago", "in 5m".
func relative(t, now time.Time) string {
	d := now.Sub(t)
	future := d < 0
	if future {
		d = -d
	}
	var n string
	switch {
	case d < time.Second:
		return "just now"
	case d < time.Minute:
		n = fmt.Sprintf("%ds", int(d/time.Second))
	case d < time.Hour:
		n = fmt.Sprintf("%dm", int(d/time.Minute))
	case d < 48*time.Hour:
		n = fmt.Sprintf("%dh", int(d/time.Hour))
	default:
		n = fmt.Sprintf("%dd", int(d/(24*time.Hour)))
	}
	if future {
		return "in " + n
	}
	return n + " ago"
}

// table renders rows under a bold header for people: columns two spaces
// apart as text/tabwriter sets them for scripts, but measured by what the
// terminal shows, so that cells coloured beforehand line up.
func (l looks) table(header []string, rows [][]string) string {
	last := len(header) - 1
	t := table.New().Headers(header...).Rows(rows...).
		BorderTop(false).BorderBottom(false).BorderLeft(false).BorderRight(false).
		BorderHeader(false).BorderColumn(false).BorderRow(false).
		StyleFunc(func(row, col int) lipgloss.Style {
			s := lipgloss.NewStyle()
			if col < last {
				s = s.PaddingRight(2)
			}
			if row == table.HeaderRow {
				s = s.Bold(true)
			}
			return s
		})
	// The table pads every line to its full width; a terminal needs no
	// trailing blanks.
	lines := strings.Split(t.String(), "\n")
	for i, line := range lines {
		lines[i] = strings.TrimRight(line, " ")
	}
	return strings.Join(lines, "\n") + "\n"
}
