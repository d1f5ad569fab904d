package ui

import (
	"strconv"
	"strings"
	"time"

	"github.com/stacktop/stacktop/format"
	"github.com/stacktop/stacktop/state"
	"github.com/stacktop/stacktop/ui/sanitize"
)

// figureText is a figure in words, and whether it is trouble or stale.
type figureText struct {
	text       string
	bad, stale bool
}

// staleWords says how old a stale figure is: "stale 20s".
func staleWords(f state.Figure, now time.Time) string {
	return "stale " + format.Age(f.Age(now))
}

// countText is a count as the header shows it: "partitions 0",
// "PARTITIONS 2", "partitions ? (stale 20s)", "PARTITIONS 2? (stale 20s)"
// (2 when last read, unknown since), or "partitions ?" before the first
// reading.
func countText(name string, f state.Figure, now time.Time) figureText {
	switch f.Known {
	case state.KnownNot:
		return figureText{text: name + " ?"}
	case state.KnownStale:
		// Stale: unknown now; a count last seen above zero is said, with a
		// "?", since it may still hold.
		t := name + " ? (" + staleWords(f, now) + ")"
		if f.Value > 0 {
			t = strings.ToUpper(name) + " " + strconv.FormatInt(f.Value, 10) + "? (" + staleWords(f, now) + ")"
		}
		return figureText{text: t, stale: true}
	}
	if f.Value > 0 {
		return figureText{text: strings.ToUpper(name) + " " + strconv.FormatInt(f.Value, 10), bad: true}
	}
	return figureText{text: name + " 0"}
}

// staleFigure is a stale figure's words, without its age, and its age.
type staleFigure struct {
	text string
	age  time.Duration
}

// staleItem says stale figures as one header item with one age, the
// youngest: "ALARMS 1? · partitions ? (stale 20s)", "… (stale ≥20s)" when
// some are older.
func staleItem(fs []staleFigure) string {
	var b strings.Builder
	young, same := fs[0].age, true
	for i, f := range fs {
		if i > 0 {
			b.WriteString(" · ")
		}
		text, _, _ := strings.Cut(f.text, " (stale ")
		b.WriteString(text)
		if format.Age(f.age) != format.Age(young) {
			same = false
		}
		young = min(young, f.age)
	}
	b.WriteString(" (stale ")
	if !same {
		b.WriteString("≥")
	}
	b.WriteString(format.Age(young) + ")")
	return b.String()
}

// alarmsFigure is the alarms figure: a count, and for one alarm which one
// and how it was seen: "ALARMS 1 memory rabbit@mq-1 (canary)".
func alarmsFigure(a state.AlarmFigure, now time.Time) figureText {
	t := countText("alarms", a.Figure, now)
	if a.Known == state.KnownNow && len(a.Alarms) == 1 {
		x := a.Alarms[0]
		t.text += " " + x.Kind
		if x.Node != "" {
			t.text += " " + sanitize.Line(x.Node, 32)
		}
		t.text += " (" + x.Via + ")"
	}
	return t
}

// unconfigured returns how to configure the source called name when it is not configured.
func (e *env) unconfigured(name string) (Unconfigured, bool) {
	for _, u := range e.missing {
		if u.Source == name {
			return u, true
		}
	}
	return Unconfigured{}, false
}

func (e *env) hasUnconfigured(name string) bool {
	_, ok := e.unconfigured(name)
	return ok
}
