// Package ui is stacktop's terminal interface: a Bubble Tea v2 program that
// renders immutable state snapshots as a header (sources, verdict, broker
// health), four panes (services, queues, timeline, broker) and drill-downs.
//
// Snapshots arrive on Options.Updates (or as SnapshotMsg sent to the
// program); Update and View do no IO.
package ui

import (
	"strings"
	"time"
	"unicode/utf8"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"

	"github.com/stacktop/stacktop/format"
	"github.com/stacktop/stacktop/state"
	"github.com/stacktop/stacktop/theme"
	"github.com/stacktop/stacktop/ui/sanitize"
)

// Options configures the UI.
type Options struct {
	Updates    <-chan *state.Snapshot // snapshots from the state store; nil when they are sent as SnapshotMsg
	Initial    *state.Snapshot        // shown until the first update; nil for an empty screen
	Now        func() time.Time       // the clock; time.Now when nil
	KeyMap     *KeyMap                // nil for DefaultKeyMap()
	NoColor    bool                   // NO_COLOR: no escape codes at all, status told by text and symbol
	Light      bool                   // assume a light background until the terminal answers
	Cloud      string                 // cloud name for the header ("" → the nova source's target)
	Broker     string                 // broker name for the header ("" → the cluster name)
	FocusQueue func(k state.QueueKey) // asks the broker source for one queue's rates; zero key to stop; may be nil
	Notices    []string               // warnings found at startup (a config file others can read), shown in the header for the whole run

	// Unconfigured are the sources left out of the configuration: the
	// screen says so, and how to configure them, where their data would be.
	Unconfigured []Unconfigured
	// Recording is the file the live run records to (--record), "" when none:
	// the header shows "● REC file".
	Recording string

	// Step and Seek drive a replay; both are nil in live mode, and their keys
	// are then hidden from the help and do nothing. The UI calls them from a
	// tea.Cmd, never from Update, so they may block briefly; they must not
	// send to the program themselves: the snapshots they cause arrive as
	// usual on Updates (or as SnapshotMsg).
	//
	// Step plays the next recorded batch while the replay is stepping (key n).
	// Seek moves the replay to the state at t (key t, the same time entry that
	// jumps the timeline: HH:MM or HH:MM:SS on the day of the UI's
	// clock, Now, or the day before when that would be in the future); the
	// timeline's cursor goes to the first entry at or before t again when the
	// next snapshot arrives.
	Step func()
	Seek func(t time.Time)

	// Pause pauses the replay, or resumes it (key p; nil in live mode, where
	// p freezes the screen instead). It is called from a tea.Cmd, as Step is.
	Pause func()

	// ChangeSpeed plays the replay one speed faster or slower (keys + and -,
	// shown only when it is set), from where it stands. It is called from a
	// tea.Cmd, as Step is.
	ChangeSpeed func(faster bool)

	// Replay carries a replay's status (nil in live mode): the header shows
	// it in place of the clock. Like Updates it is read by a command, never
	// in Update; the replay offers the newest status whenever it changes.
	Replay <-chan ReplayStatus
}

// Unconfigured is a source that is not configured, and how to configure it.
type Unconfigured struct {
	Source string // its name in the state (sources.NameRabbitMQ, ...)
	What   string // what it would show: "broker", "heartbeats and canary"
	How    string // how to configure it: "set rabbitmq.url or STACKTOP_RABBITMQ_URL"
}

// SnapshotMsg delivers a new snapshot; the UI sends these itself from
// Options.Updates, and a program may also Send them.
type SnapshotMsg struct{ Snapshot *state.Snapshot }

// updatesClosedMsg says the snapshot channel was closed.
type updatesClosedMsg struct{}

// tickMsg advances the clock once a second so ages move between snapshots.
type tickMsg time.Time

// detailView is one drill-down on the stack.
type detailView struct {
	p     pane
	queue *state.QueueKey // for a queue's drill-down: the queue whose rates the broker source fetches
}

// maxFilter bounds the filter's length.
const maxFilter = 128

// Tab indices.
const (
	tabServices = iota
	tabQueues
	tabTimeline
	tabBroker
	numTabs
)

// Model is the root Bubble Tea model.
type Model struct {
	opts   Options
	e      *env
	latest *state.Snapshot
	paused bool
	closed bool
	replay *ReplayStatus // the replay's latest status; nil in live mode

	tabs    [numTabs]listPane
	active  int
	details []detailView // open drill-downs, the last on top; esc pops one

	filter    textinput.Model // the / field, showing the active pane's filter
	filters   [numTabs]string // each pane's filter as typed; it stays with its pane
	filtering bool
	showHelp  bool

	jump    textinput.Model // the t field: a time to jump (and seek) to
	jumping bool
	jumpErr string // why the last entry was refused
	help    help.Model

	width, height int
	headerH       int
	bodyH         int
}

// New builds the root model.
func New(opts Options) Model {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	km := DefaultKeyMap()
	if opts.KeyMap != nil {
		km = *opts.KeyMap
	}
	km.Step.SetEnabled(opts.Step != nil)
	km.Faster.SetEnabled(opts.ChangeSpeed != nil)
	km.Slower.SetEnabled(opts.ChangeSpeed != nil)
	if opts.Seek != nil {
		km.Jump.SetHelp(km.Jump.Help().Key, "seek to time")
	}
	if opts.Pause != nil {
		km.Pause.SetHelp(km.Pause.Help().Key, "pause replay")
	}
	snap := opts.Initial
	if snap == nil {
		snap = emptySnapshot
	}
	e := &env{snap: snap, now: opts.Now(), keys: &km, missing: opts.Unconfigured, asyncQueues: defaultAsyncQueues}
	m := Model{opts: opts, e: e, latest: snap, width: 80, height: 24}
	m.tabs = [numTabs]listPane{newServicesPane(e), newQueuesPane(e), newTimelinePane(e), newBrokerPane(e)}
	m.help = help.New()
	m.filter = textinput.New()
	m.filter.Prompt = ""
	m.filter.CharLimit = maxFilter
	m.filter.KeyMap.Paste.SetEnabled(false) // reading the clipboard is IO; bracketed paste still works
	m.filter.SetVirtualCursor(false)        // the terminal's cursor: no blink timer, no escape codes in the text
	m.jump = textinput.New()
	m.jump.Prompt = ""
	m.jump.Placeholder = "HH:MM[:SS]"
	m.jump.CharLimit = 8
	m.jump.SetWidth(9)
	m.jump.KeyMap.Paste.SetEnabled(false)
	m.jump.SetVirtualCursor(false)
	m.setStyles(theme.New(!opts.Light, opts.NoColor))
	m.refresh()
	m.layout()
	return m
}

func (m *Model) setStyles(st theme.Styles) {
	m.e.st = st
	m.e.styles++
	m.help.Styles = help.Styles{
		ShortKey: st.Help.Key, ShortDesc: st.Help.Desc, ShortSeparator: st.Help.Sep, Ellipsis: st.Help.Sep,
		FullKey: st.Help.Key, FullDesc: st.Help.Desc, FullSeparator: st.Help.Sep,
	}
	m.filter.SetStyles(st.Input)
	m.jump.SetStyles(st.Input)
}

// Init starts listening for snapshots, starts the clock and asks the terminal for its background colour.
func (m Model) Init() tea.Cmd {
	return tea.Batch(m.wait(), m.waitReplay(), tick(), tea.RequestBackgroundColor)
}

func (m Model) wait() tea.Cmd {
	ch := m.opts.Updates
	if ch == nil {
		return nil
	}
	return func() tea.Msg {
		s, ok := <-ch
		if !ok {
			return updatesClosedMsg{}
		}
		return SnapshotMsg{Snapshot: s}
	}
}

// tickSkip: a tick this soon after the clock last moved (a snapshot shown)
// leaves the screen as it is, so ages are redrawn once a second, not on the
// tick and again on the snapshot; they lag the clock by at most 1.5 s.
const tickSkip = 500 * time.Millisecond

func tick() tea.Cmd {
	return tea.Tick(time.Second, func(t time.Time) tea.Msg { return tickMsg(t) })
}

// Update handles one message, and starts the queues' sort if it is to run
// off the UI goroutine.
func (m Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	next, cmd := m.update(msg)
	if c := next.(Model).queues().takeCmd(); c != nil {
		cmd = tea.Batch(cmd, c)
	}
	return next, cmd
}

func (m Model) queues() *queuesPane { return m.tabs[tabQueues].(*queuesPane) }

func (m Model) update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case qOrderMsg:
		m.queues().receive(msg)
		return m, nil
	case SnapshotMsg:
		if msg.Snapshot != nil {
			m.latest = msg.Snapshot
			if !m.paused {
				m.show(msg.Snapshot)
			}
		}
		return m, m.wait()
	case ReplayMsg:
		st := msg.Status
		m.replay = &st
		m.e.now = m.opts.Now() // a pause or the end stops the clock now, not at the next tick
		m.refresh()
		m.layout()
		return m, m.waitReplay()
	case updatesClosedMsg:
		m.closed = true
		m.layout()
		return m, nil
	case tickMsg:
		if m.paused {
			return m, tick() // the view is frozen, its ages with it: nothing turns stale behind the user's back
		}
		now := m.opts.Now()
		if d := now.Sub(m.e.now); d >= 0 && d < tickSkip {
			return m, tick() // a snapshot has just shown the ages: not twice in one second
		}
		m.e.now = now
		m.refresh()
		m.layout() // ages in the header may wrap it differently
		return m, tick()
	case tea.WindowSizeMsg:
		m.width, m.height = max(0, msg.Width), max(0, msg.Height)
		m.layout()
		return m, nil
	case tea.BackgroundColorMsg:
		m.setStyles(theme.New(msg.IsDark(), m.opts.NoColor))
		m.layout()
		return m, nil
	case openDetailMsg:
		return m.openDetail(msg)
	case tea.KeyPressMsg:
		return m.key(msg)
	case tea.PasteMsg:
		if m.filtering {
			return m.editFilter(msg)
		}
		if m.jumping {
			return m.editJump(msg)
		}
		return m, nil
	}
	return m, nil
}

// show puts a snapshot on screen.
func (m *Model) show(s *state.Snapshot) {
	m.e.snap = s
	m.e.now = m.opts.Now()
	m.refresh()
	m.layout() // the verdict line may come or go
}

// refresh lets panes recompute their row order if its inputs changed: the
// pane shown, and hidden ones whose tab says how many rows they hide.
func (m *Model) refresh() {
	for i, p := range m.tabs {
		p.refresh(i == m.active)
	}
}

func (m Model) key(msg tea.KeyPressMsg) (tea.Model, tea.Cmd) {
	k := m.e.keys
	if msg.String() == "ctrl+c" {
		return m, tea.Quit
	}
	if m.filtering {
		return m.filterKey(msg)
	}
	if m.jumping {
		return m.jumpKey(msg)
	}
	if m.showHelp {
		if key.Matches(msg, k.Back, k.Help) {
			m.showHelp = false
		} else if key.Matches(msg, k.Quit) {
			return m, tea.Quit
		}
		return m, nil
	}
	switch {
	case key.Matches(msg, k.Quit):
		return m, tea.Quit
	case key.Matches(msg, k.Help):
		m.showHelp = true
		return m, nil
	case key.Matches(msg, k.Pause) && m.opts.Pause != nil:
		pause := m.opts.Pause // the replay stops; its status says so when it arrives
		return m, func() tea.Msg { pause(); return nil }
	case key.Matches(msg, k.Pause):
		m.paused = !m.paused
		if !m.paused {
			m.show(m.latest) // the clock runs again: ages are true at once
		}
		m.layout()
		return m, nil
	case key.Matches(msg, k.NextTab):
		return m.switchTab((m.active + 1) % numTabs)
	case key.Matches(msg, k.PrevTab):
		return m.switchTab((m.active + numTabs - 1) % numTabs)
	case key.Matches(msg, k.Services):
		return m.switchTab(tabServices)
	case key.Matches(msg, k.Queues):
		return m.switchTab(tabQueues)
	case key.Matches(msg, k.Timeline):
		return m.switchTab(tabTimeline)
	case key.Matches(msg, k.Broker):
		return m.switchTab(tabBroker)
	case key.Matches(msg, k.Verdict):
		if _, open := m.detail().(*verdictDetail); !open {
			return m.openDetail(openDetailMsg{p: newVerdictDetail(m.e)})
		}
		return m, nil
	case key.Matches(msg, k.Canary):
		if _, open := m.detail().(*canaryDetail); !open {
			return m.openDetail(openDetailMsg{p: newCanaryDetail(m.e)})
		}
		return m, nil
	case key.Matches(msg, k.Step):
		step := m.opts.Step
		return m, func() tea.Msg { step(); return nil }
	case key.Matches(msg, k.Faster, k.Slower):
		change, faster := m.opts.ChangeSpeed, key.Matches(msg, k.Faster)
		return m, func() tea.Msg { change(faster); return nil }
	case key.Matches(msg, k.Jump) && (m.opts.Seek != nil || m.active == tabTimeline && len(m.details) == 0):
		m.jumping = true
		m.jumpErr = ""
		m.jump.SetValue("")
		return m, m.jump.Focus()
	case key.Matches(msg, k.Back):
		if len(m.details) > 0 {
			return m, m.setDetails(m.details[:len(m.details)-1])
		}
		m.setFilter("")
		return m, nil
	case key.Matches(msg, k.Filter) && len(m.details) == 0:
		m.filtering = true
		m.filter.CursorEnd()
		return m, m.filter.Focus()
	}
	var cmd tea.Cmd
	if top := len(m.details) - 1; top >= 0 {
		m.details[top].p, cmd = m.details[top].p.Update(msg)
	} else {
		_, cmd = m.tabs[m.active].Update(msg)
	}
	return m, cmd
}

// filterKey handles a key while the filter field has the focus: esc clears
// the filter, enter keeps it, anything else edits it (q is text here).
func (m Model) filterKey(msg tea.KeyPressMsg) (tea.Model, tea.Cmd) {
	k := m.e.keys
	switch {
	case key.Matches(msg, k.Back):
		m.filtering = false
		m.filter.Blur()
		m.setFilter("")
		return m, nil
	case key.Matches(msg, k.Accept):
		m.filtering = false
		m.filter.Blur()
		return m, nil
	}
	return m.editFilter(msg)
}

// jumpKey handles a key while the time field has the focus: esc cancels,
// enter jumps (and seeks, in replay) when the text is a time.
func (m Model) jumpKey(msg tea.KeyPressMsg) (tea.Model, tea.Cmd) {
	k := m.e.keys
	switch {
	case key.Matches(msg, k.Back):
		m.jumping = false
		m.jump.Blur()
		return m, nil
	case key.Matches(msg, k.Accept):
		t, err := format.ParseClock(m.jump.Value(), m.e.now, m.opts.Seek != nil)
		if err != nil {
			m.jumpErr = err.Error()
			return m, nil
		}
		m.jumping = false
		m.jump.Blur()
		rp := m.tabs[tabTimeline].(*timelinePane)
		rp.jumpTo(t)
		if seek := m.opts.Seek; seek != nil {
			rp.pending = t
			return m, func() tea.Msg { seek(t); return nil }
		}
		return m, nil
	}
	m, cmd := m.editJump(msg)
	m.jumpErr = ""
	return m, cmd
}

// editJump passes a key or paste to the time field, dropping what
// sanitize.Input drops (a U+202E would turn the field around).
func (m Model) editJump(msg tea.Msg) (Model, tea.Cmd) {
	var cmd tea.Cmd
	m.jump, cmd = m.jump.Update(msg)
	if v := m.jump.Value(); sanitize.Input(v) != v {
		pos := m.jump.Position() + utf8.RuneCountInString(sanitize.Input(v)) - utf8.RuneCountInString(v)
		m.jump.SetValue(sanitize.Input(v))
		m.jump.SetCursor(max(0, pos))
	}
	return m, cmd
}

// editFilter passes a key or paste to the field and refilters the pane when the text changed.
func (m Model) editFilter(msg tea.Msg) (tea.Model, tea.Cmd) {
	var cmd tea.Cmd
	m.filter, cmd = m.filter.Update(msg)
	v := m.filter.Value()
	if clean := sanitize.Input(v); clean != v {
		// Bidi controls and invisible characters (textinput already drops
		// controls) are dropped; the cursor stays after what was typed.
		pos := m.filter.Position() + utf8.RuneCountInString(clean) - utf8.RuneCountInString(v)
		m.filter.SetValue(clean)
		m.filter.SetCursor(max(0, pos))
		v = clean
	}
	if v != m.filters[m.active] {
		m.filters[m.active] = v
		m.tabs[m.active].SetFilter(strings.ToLower(v))
	}
	m.fitField()
	return m, cmd
}

// fitField sizes the field to its text (the cursor cell comes after), up to what the
// footer has room for, so the match count follows the text; longer text scrolls.
func (m *Model) fitField() {
	w := min(filterFieldWidth(m.width), textWidth(m.filter.Value()))
	if w != m.filter.Width() {
		m.filter.SetWidth(w)
		m.filter.SetValue(m.filter.Value()) // recomputes the visible part; the cursor stays
	}
}

// setFilter sets the active pane's filter and the field showing it.
func (m *Model) setFilter(v string) {
	m.filter.SetValue(v)
	m.filter.CursorEnd()
	m.fitField()
	if v != m.filters[m.active] {
		m.filters[m.active] = v
		m.tabs[m.active].SetFilter(strings.ToLower(v))
	}
}

// switchTab shows pane i with its own filter; drill-downs close.
func (m Model) switchTab(i int) (tea.Model, tea.Cmd) {
	m.active = i
	cmd := m.setDetails(nil)
	m.tabs[i].enter()
	m.filter.SetValue(m.filters[i])
	m.filter.CursorEnd()
	m.fitField()
	return m, cmd
}

// openDetail pushes a drill-down on the stack.
func (m Model) openDetail(msg openDetailMsg) (tea.Model, tea.Cmd) {
	msg.p.SetSize(m.width, m.bodyH)
	// A fresh array: earlier copies of the model keep their own stack.
	ds := append(m.details[:len(m.details):len(m.details)], detailView(msg))
	return m, m.setDetails(ds)
}

// setDetails replaces the drill-down stack; when the queue on top changes it
// tells the broker source which queue's rates to fetch (none: the zero key).
func (m *Model) setDetails(ds []detailView) tea.Cmd {
	before, hadBefore := m.focusedQueue()
	if len(ds) == 0 && len(m.details) > 0 {
		m.tabs[m.active].enter() // back on the pane
	}
	m.details = ds
	after, hasAfter := m.focusedQueue()
	switch {
	case hasAfter && (!hadBefore || after != before):
		return m.focus(after)
	case hadBefore && !hasAfter:
		return m.focus(state.QueueKey{})
	}
	return nil
}

// focusedQueue is the queue of the drill-down on top, if it is a queue's.
func (m *Model) focusedQueue() (state.QueueKey, bool) {
	if n := len(m.details); n > 0 && m.details[n-1].queue != nil {
		return *m.details[n-1].queue, true
	}
	return state.QueueKey{}, false
}

// detail is the drill-down on top of the stack, nil when none is open.
func (m *Model) detail() pane {
	if n := len(m.details); n > 0 {
		return m.details[n-1].p
	}
	return nil
}

func (m *Model) focus(k state.QueueKey) tea.Cmd {
	f := m.opts.FocusQueue
	if f == nil {
		return nil
	}
	return func() tea.Msg { f(k); return nil }
}

// layout sizes the panes: header (a height set by the width), tab line, body, footer.
func (m *Model) layout() {
	m.headerH = statusLines(m.width) + 1 // whatever the header says
	m.bodyH = max(0, m.height-m.headerH-2)
	for _, p := range m.tabs {
		p.SetSize(m.width, m.bodyH)
	}
	for _, d := range m.details {
		d.p.SetSize(m.width, m.bodyH)
	}
	m.help.SetWidth(m.width)
	m.fitField()
}
