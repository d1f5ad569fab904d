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

// staleTogether joins stale figures of one age: "ALARMS 1? · partitions ?
// (stale 20s)".
func staleTogether(now time.Time, ts ...figureText) figureText {
	out := figureText{stale: true}
	for i, t := range ts {
		text, _, _ := strings.Cut(t.text, " (stale ")
		if i > 0 {
			out.text += " · "
		}
		out.text += text
	}
	if len(ts) > 0 {
		_, age, _ := strings.Cut(ts[0].text, " (stale ")
		out.text += " (stale " + age
	}
	return out
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
