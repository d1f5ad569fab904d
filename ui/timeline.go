package ui

import (
	"strconv"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/stacktop/stacktop/format"
	"github.com/stacktop/stacktop/state"
	"github.com/stacktop/stacktop/theme"
	"github.com/stacktop/stacktop/ui/sanitize"
)

type tlOrderKey struct {
	timeline sliceKey
	problems bool
	filter   string
}

// timelinePane is the incident timeline (Snapshot.Timeline), newest first:
// service transitions, restarts, alarms, heartbeats lost, the canary,
// sources failing and verdict changes.
type timelinePane struct {
	tablePane

	snap   *state.Snapshot // the snapshot the rows were placed for
	key    tlOrderKey
	lists  int // how many times the rows were listed anew (tests count them)
	whereW int // widest where among the rows on screen, every host named
	whereF int // widest where naming only the first host
	whatW  int // widest what
	evW    int // widest evidence

	sel tlAnchor // the event under the cursor

	jumped  time.Time // the last jump's time, shown until the cursor moves
	jumpHit bool      // whether an entry at or before it was found
	pending time.Time // replay: jump here again when the next snapshot arrives
}

// tlAnchor identifies an event across snapshots: by its ID, or when it has
// none (a timeline not made by a Store) by its time and words.
type tlAnchor struct {
	id                     uint64
	at                     time.Time
	kind                   state.EventKind
	subject, change, where string
}

func anchorOf(e *state.Event) tlAnchor {
	if e.ID != 0 {
		return tlAnchor{id: e.ID}
	}
	return tlAnchor{at: e.At, kind: e.Kind, subject: e.Subject, change: e.Change, where: firstHost(e)}
}

func firstHost(e *state.Event) string {
	if len(e.Hosts) > 0 {
		return e.Hosts[0]
	}
	return ""
}

// is reports whether e is the anchored event.
func (a *tlAnchor) is(e *state.Event) bool {
	if a.id != 0 || e.ID != 0 {
		return a.id == e.ID
	}
	return a.at.Equal(e.At) && a.kind == e.Kind && a.subject == e.Subject && a.change == e.Change && a.where == firstHost(e)
}

// timelineCols: where, what and evidence share the width there is, each up
// to its widest value, the narrowest needs met first; what is cut reads
// whole in the preview line under the table and in the drill-down. Short of
// room, time, evidence and what go in that order.
var timelineCols = []column{
	{title: "time", width: 8, drop: 3},
	{title: "ago", width: 6, right: true},
	{title: "kind", width: 9},
	{title: "where", width: 10, share: true},
	{title: "what", width: 12, share: true, drop: 1},
	{title: "evidence", width: 12, share: true, grow: 1, drop: 2},
}

// Indices of timelineCols.
const (
	tColWhere    = 3
	tColWhat     = 4
	tColEvidence = 5
)

func newTimelinePane(e *env) *timelinePane {
	p := &timelinePane{}
	p.tablePane = tablePane{e: e, rows: p, below: 1}
	return p
}

func (p *timelinePane) Title() string { return "Timeline" }

func (p *timelinePane) total() int { return len(p.e.snap.Timeline) }

func (p *timelinePane) Status() string {
	s := "newest first"
	if p.problems {
		s += " · problems only"
	}
	if !p.jumped.IsZero() {
		if p.jumpHit {
			s += " · at or before " + format.Clock(p.jumped)
		} else {
			s += " · none before " + format.Clock(p.jumped)
		}
	}
	return s
}

// ShortHelp adds the time jump to the table keys.
func (p *timelinePane) ShortHelp() []key.Binding {
	k := p.e.keys
	return []key.Binding{k.NextTab, k.Step, k.Down, k.Accept, k.Jump, k.Help, k.Quit, k.speed(), k.Filter, k.Problems, k.Verdict, k.Canary, k.Pause}
}

// jumpTo puts the cursor on the first event (newest first) at or before t,
// or on the oldest when every event is newer.
func (p *timelinePane) jumpTo(t time.Time) {
	p.sync()
	tl := p.e.snap.Timeline
	p.jumped, p.jumpHit = t, false
	for i, idx := range p.order {
		if !tl[idx].At.After(t) {
			p.list.cursor, p.jumpHit = i, true
			break
		}
	}
	if !p.jumpHit {
		p.list.cursor = len(p.order) - 1
	}
	// The event goes to the top of the window, with what came after it above.
	p.list.offset = max(0, p.list.cursor-1)
	p.list.clamp(len(p.order))
	p.moved = p.e.now // a jump is the user's move: the cursor stays on the event
	p.remember()
}

// remember notes the event under the cursor.
func (p *timelinePane) remember() {
	if i := p.cursorRow(); i >= 0 {
		p.sel = anchorOf(&p.e.snap.Timeline[i])
	}
}

// find is where the remembered event is in the order, or -1.
func (p *timelinePane) find() int {
	tl := p.e.snap.Timeline
	if c := p.list.cursor; c >= 0 && c < len(p.order) && p.sel.is(&tl[p.order[c]]) {
		return c
	}
	for i, idx := range p.order {
		if p.sel.is(&tl[idx]) {
			return i
		}
	}
	return -1
}

// navigated: a moved cursor is no longer at the jump.
func (p *timelinePane) navigated() { p.jumped = time.Time{} }

// open drills into the event's evidence: a group's hosts with their
// times, a service's drill-down, a restart's, a broker node's, the
// verdict's or the canary's; else the event's own fields in full.
func (p *timelinePane) open() tea.Cmd {
	i := p.cursorRow()
	if i < 0 {
		return nil
	}
	ev := &p.e.snap.Timeline[i]
	if len(ev.Hosts) > 1 {
		return openCmd(newGroupDetail(p.e, ev))
	}
	if d := eventDetail(p.e, ev); d != nil {
		return openCmd(d)
	}
	return openCmd(newEventDoc(p.e, ev))
}

// eventDetail is the drill-down that shows e's evidence, or nil.
func eventDetail(en *env, e *state.Event) pane {
	snap := en.snap
	host := ""
	if len(e.Hosts) > 0 {
		host = e.Hosts[0]
	}
	switch e.Kind {
	case state.EventService, state.EventRPC: // drill down to the service
		k := state.ServiceKey{Binary: e.Subject, Host: host}
		if _, ok := snap.Service(k); ok {
			return newServiceDetail(en, k)
		}
	case state.EventRestart:
		for _, r := range snap.Restarts {
			if r.At.Equal(e.At) && r.Where == host && (e.Subject == "" || r.What == e.Subject) {
				return newRestartDetail(en, r)
			}
		}
		kind, what := state.RestartProcess, e.Subject
		if e.Subject == "" {
			kind, what = state.RestartHost, "host"
		}
		return newRestartDetail(en, state.Restart{At: e.At, Kind: kind, Where: host, What: what, Evidence: e.Evidence, Source: e.Source})
	case state.EventBroker:
		if _, ok := snap.Node(e.Subject); ok {
			return newNodeDetail(en, e.Subject)
		}
	case state.EventHeartbeat:
		for _, s := range snap.Services {
			if s.Key.Host == host {
				return newServiceDetail(en, s.Key)
			}
		}
	case state.EventCanary:
		return newCanaryDetail(en)
	case state.EventVerdict:
		return newVerdictDetail(en)
	}
	return nil
}

// eventWhere is the where column: as many of the hosts as fit in width
// cells, the rest counted ("compute-01, compute-02 +4"), or what changed
// when the event is not per host.
func eventWhere(e *state.Event, width int) string {
	if len(e.Hosts) == 0 {
		if e.Kind == state.EventVerdict {
			return ""
		}
		return e.Subject
	}
	n, used := 0, 0
	for i, h := range e.Hosts {
		w := textWidth(h)
		if i > 0 {
			w += 2 // ", "
		}
		more := 0
		if rest := len(e.Hosts) - i - 1; rest > 0 {
			more = 2 + len(strconv.Itoa(rest)) // " +4"
		}
		if used+w+more > width && n > 0 {
			break
		}
		used += w
		n++
	}
	if n == len(e.Hosts) {
		return strings.Join(e.Hosts, ", ")
	}
	return strings.Join(e.Hosts[:n], ", ") + " +" + strconv.Itoa(len(e.Hosts)-n)
}

// whereWidths are the where column's widths naming every host, and naming
// only the first (the rest counted).
func whereWidths(e *state.Event) (all, first int) {
	if len(e.Hosts) == 0 {
		w := textWidth(eventWhere(e, 0))
		return w, w
	}
	all = 2 * (len(e.Hosts) - 1)
	for _, h := range e.Hosts {
		all += textWidth(h)
	}
	first = textWidth(e.Hosts[0])
	if len(e.Hosts) > 1 {
		first += 2 + len(strconv.Itoa(len(e.Hosts)-1))
	}
	return all, first
}

// eventWhat is the what column: the change, with what changed when the
// where column names hosts.
func eventWhat(e *state.Event) string {
	w := e.Change
	if len(e.Hosts) > 0 && e.Subject != "" {
		w = e.Subject + " " + e.Change
	}
	if e.Kind == state.EventVerdict && e.Subject == "verdict" {
		w = "verdict " + e.Change
	}
	if len(e.Hosts) > 1 {
		w += " ×" + strconv.Itoa(len(e.Hosts))
	}
	return w
}

func eventMatches(e *state.Event, f string) bool {
	if containsFold(eventWhat(e), f) || containsFold(e.Evidence, f) || containsFold(string(e.Kind), f) ||
		containsFold(e.Subject, f) || containsFold(e.Source, f) {
		return true
	}
	for _, h := range e.Hosts {
		if containsFold(h, f) {
			return true
		}
	}
	return false
}

// sync recomputes the rows shown when the timeline (an Apply that derived
// events) or a filter changed; a snapshot that changed neither only puts
// the cursor back (and makes a replay's pending jump).
func (p *timelinePane) sync() {
	k := tlOrderKey{timeline: keyOf(p.e.snap.Gen.Timeline, p.e.snap.Timeline), problems: p.problems, filter: p.filter}
	newSnap := p.e.snap != p.snap
	if k == p.key && p.order != nil && !newSnap {
		return
	}
	p.snap = p.e.snap
	if k == p.key && p.order != nil {
		p.place()
		p.jumpPending()
		return
	}
	p.key = k
	p.lists++
	tl := p.e.snap.Timeline
	order := p.order[:0]
	for i := range tl {
		e := &tl[i]
		if p.problems && e.Level != state.LevelProblem {
			continue
		}
		if p.filter != "" && !eventMatches(e, p.filter) {
			continue
		}
		order = append(order, int32(i))
	}
	p.order = order
	p.place()
	if newSnap {
		p.jumpPending()
	}
}

// jumpPending makes the jump a replay's seek left for the next snapshot.
func (p *timelinePane) jumpPending() {
	if !p.pending.IsZero() {
		t := p.pending
		p.pending = time.Time{}
		p.jumpTo(t)
	}
}

// eventInk colours the kind by the event's level: problems by their weight,
// recoveries as up.
func eventInk(st *theme.Styles, e *state.Event) theme.Ink {
	switch e.Level {
	case state.LevelProblem:
		switch e.Kind {
		case state.EventBroker, state.EventVerdict, state.EventCanary, state.EventSource:
			return st.Table.Bad
		case state.EventRestart:
			if e.Subject == "" { // a reboot
				return st.Table.Bad
			}
		}
		return st.Table.Warn
	case state.LevelRecovery:
		return st.Status.Up
	}
	return st.Table.Dim
}

func (p *timelinePane) View() string {
	st := &p.e.st
	p.cols = append(p.cols[:0], timelineCols...)
	p.contentWidths()
	p.cols[tColWhere].content = p.whereW
	p.cols[tColWhere].want = p.whereF
	p.cols[tColWhat].content = p.whatW
	p.cols[tColEvidence].content = p.evW
	p.widths = layoutColumns(p.cols, p.width, p.widths)
	var b strings.Builder
	b.Grow((p.width + 64) * (p.list.height + 1))
	headerRow(&b, p.cols, p.widths, st)
	tl := p.e.snap.Timeline
	if len(p.order) == 0 {
		b.WriteString("\n  ")
		b.WriteString(emptyText(len(tl), "events"))
		return b.String()
	}
	lo, hi := p.list.window(len(p.order))
	for i := lo; i < hi; i++ {
		idx := int(p.order[i])
		if idx >= len(tl) {
			break
		}
		x := &tl[idx]
		b.WriteByte('\n')
		r := startRow(&b, p.widths, i == p.list.cursor, st)
		r.cell(format.Clock(x.At), false, theme.Ink{})
		r.cell(format.AgeSince(p.e.now, x.At), true, st.Table.Dim)
		r.cell(string(x.Kind), false, eventInk(st, x))
		r.cell(eventWhere(x, p.widths[tColWhere]), false, theme.Ink{})
		r.cell(eventWhat(x), false, theme.Ink{})
		r.cell(x.Evidence, false, st.Table.Dim)
		r.end(st)
	}
	for i := hi - lo; i < p.list.height; i++ {
		b.WriteByte('\n')
	}
	b.WriteByte('\n')
	if i := p.cursorRow(); i >= 0 {
		st.Table.Dim.Paint(&b, sanitize.Line(eventPreview(&tl[i]), max(1, p.width)))
	}
	return b.String()
}

// contentWidths measures where, what and evidence over the rows on
// screen, not every event in order: one long event far down the list
// (a verdict's what, an evidence of a paragraph) must not take the width
// the rows shown need, leaving their columns blank beside cut evidence.
func (p *timelinePane) contentWidths() {
	tl := p.e.snap.Timeline
	p.whereW, p.whereF, p.whatW, p.evW = 0, 0, 0, 0
	lo, hi := p.list.window(len(p.order))
	for _, i := range p.order[lo:hi] {
		if int(i) >= len(tl) {
			break
		}
		e := &tl[i]
		all, first := whereWidths(e)
		p.whereW, p.whereF = max(p.whereW, all), max(p.whereF, first)
		p.whatW = max(p.whatW, textWidth(eventWhat(e)))
		p.evW = max(p.evW, textWidth(e.Evidence))
	}
}

// eventPreview is the selected event on one line, every host named: what
// the columns cut.
func eventPreview(e *state.Event) string {
	s := format.Clock(e.At) + " " + string(e.Kind) + " · " + e.What(0)
	if e.Evidence != "" {
		s += " — " + e.Evidence
	}
	return s
}
