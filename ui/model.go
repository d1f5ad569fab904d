// Package ui is stacktop's terminal interface: a Bubble Tea v2 program that
// renders immutable state snapshots as a header (sources, verdict, broker
// health), three panes (services, queues, restarts) and drill-downs.
//
// Snapshots arrive on Options.Updates (or as SnapshotMsg sent to the
// program); Update and View do no IO.
package ui

import (
	"strings"
	"time"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/stacktop/stacktop/state"
	"github.com/stacktop/stacktop/theme"
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
}

// SnapshotMsg delivers a new snapshot; the UI sends these itself from
// Options.Updates, and a program may also Send them.
type SnapshotMsg struct{ Snapshot *state.Snapshot }

// updatesClosedMsg says the snapshot channel was closed.
type updatesClosedMsg struct{}

// tickMsg advances the clock once a second so ages move between snapshots.
type tickMsg time.Time

// Tab indices.
const (
	tabServices = iota
	tabQueues
	tabRestarts
	numTabs
)

// Model is the root Bubble Tea model.
type Model struct {
	opts   Options
	e      *env
	latest *state.Snapshot
	paused bool
	closed bool

	tabs   [numTabs]listPane
	active int
	detail pane // open drill-down, nil when none
	dQueue bool // the open drill-down is a queue's

	filter    lineInput
	filtering bool
	showHelp  bool
	help      help.Model

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
	snap := opts.Initial
	if snap == nil {
		snap = emptySnapshot
	}
	e := &env{snap: snap, now: opts.Now(), keys: &km}
	m := Model{opts: opts, e: e, latest: snap, width: 80, height: 24}
	m.tabs = [numTabs]listPane{newServicesPane(e), newQueuesPane(e), newRestartsPane(e)}
	m.help = help.New()
	m.setStyles(theme.New(!opts.Light, opts.NoColor))
	m.refresh()
	m.layout()
	return m
}

func (m *Model) setStyles(st theme.Styles) {
	m.e.st = st
	m.help.Styles = help.Styles{
		ShortKey: st.Help.Key, ShortDesc: st.Help.Desc, ShortSeparator: st.Help.Sep, Ellipsis: st.Help.Sep,
		FullKey: st.Help.Key, FullDesc: st.Help.Desc, FullSeparator: st.Help.Sep,
	}
}

// Init starts listening for snapshots, starts the clock and asks the terminal for its background colour.
func (m Model) Init() tea.Cmd {
	return tea.Batch(m.wait(), tick(), tea.RequestBackgroundColor)
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

func tick() tea.Cmd {
	return tea.Tick(time.Second, func(t time.Time) tea.Msg { return tickMsg(t) })
}

// Update handles one message.
func (m Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case SnapshotMsg:
		if msg.Snapshot != nil {
			m.latest = msg.Snapshot
			if !m.paused {
				m.show(msg.Snapshot)
			}
		}
		return m, m.wait()
	case updatesClosedMsg:
		m.closed = true
		return m, nil
	case tickMsg:
		m.e.now = m.opts.Now()
		m.refresh()
		return m, tick()
	case tea.WindowSizeMsg:
		m.width, m.height = max(0, msg.Width), max(0, msg.Height)
		m.layout()
		return m, nil
	case tea.BackgroundColorMsg:
		m.setStyles(theme.New(msg.IsDark(), m.opts.NoColor))
		return m, nil
	case openDetailMsg:
		return m.openDetail(msg)
	case tea.KeyPressMsg:
		return m.key(msg)
	case tea.PasteMsg:
		if m.filtering {
			before := m.filter.Value()
			m.filter.Update(msg)
			if v := m.filter.Value(); v != before {
				m.tabs[m.active].SetFilter(strings.ToLower(v))
			}
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

// refresh lets panes recompute their row order if its inputs changed.
func (m *Model) refresh() {
	for _, p := range m.tabs {
		p.Update(refreshMsg{})
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
	case key.Matches(msg, k.Pause):
		m.paused = !m.paused
		if !m.paused && m.latest != m.e.snap {
			m.show(m.latest)
		}
		return m, nil
	case key.Matches(msg, k.NextTab):
		return m.switchTab((m.active + 1) % numTabs)
	case key.Matches(msg, k.PrevTab):
		return m.switchTab((m.active + numTabs - 1) % numTabs)
	case key.Matches(msg, k.Services):
		return m.switchTab(tabServices)
	case key.Matches(msg, k.Queues):
		return m.switchTab(tabQueues)
	case key.Matches(msg, k.Restart):
		return m.switchTab(tabRestarts)
	case key.Matches(msg, k.Back):
		if m.detail != nil {
			return m, m.closeDetail()
		}
		if m.filter.Value() != "" {
			m.filter.SetValue("")
			m.tabs[m.active].SetFilter("")
		}
		return m, nil
	case key.Matches(msg, k.Filter) && m.detail == nil:
		m.filtering = true
		m.filter.pos = len(m.filter.value)
		return m, nil
	}
	var cmd tea.Cmd
	if m.detail != nil {
		m.detail, cmd = m.detail.Update(msg)
	} else {
		_, cmd = m.tabs[m.active].Update(msg)
	}
	return m, cmd
}

func (m Model) filterKey(msg tea.KeyPressMsg) (tea.Model, tea.Cmd) {
	k := m.e.keys
	switch {
	case key.Matches(msg, k.Back):
		m.filtering = false
		m.filter.SetValue("")
		m.tabs[m.active].SetFilter("")
		return m, nil
	case key.Matches(msg, k.Accept):
		m.filtering = false
		return m, nil
	}
	before := m.filter.Value()
	m.filter.Update(msg)
	if v := m.filter.Value(); v != before {
		m.tabs[m.active].SetFilter(strings.ToLower(v))
	}
	return m, nil
}

func (m Model) switchTab(i int) (tea.Model, tea.Cmd) {
	var cmd tea.Cmd
	if m.detail != nil {
		cmd = m.closeDetail()
	}
	if i != m.active {
		// The filter belongs to the pane it was typed in.
		m.tabs[m.active].SetFilter("")
		m.filter.SetValue("")
		m.active = i
	}
	return m, cmd
}

func (m Model) openDetail(msg openDetailMsg) (tea.Model, tea.Cmd) {
	var cmd tea.Cmd
	if m.detail != nil {
		cmd = m.closeDetail()
	}
	m.detail = msg.p
	m.dQueue = msg.queue != nil
	m.layout()
	if msg.queue != nil {
		cmd = tea.Batch(cmd, m.focus(*msg.queue))
	}
	return m, cmd
}

// closeDetail leaves the drill-down; for a queue it tells the broker source to stop fetching rates.
func (m *Model) closeDetail() tea.Cmd {
	var cmd tea.Cmd
	if m.dQueue {
		cmd = m.focus(state.QueueKey{})
	}
	m.detail, m.dQueue = nil, false
	return cmd
}

func (m *Model) focus(k state.QueueKey) tea.Cmd {
	f := m.opts.FocusQueue
	if f == nil {
		return nil
	}
	return func() tea.Msg { f(k); return nil }
}

// layout sizes the panes: header, tab line, body, footer.
func (m *Model) layout() {
	m.headerH = 2
	if m.e.snap.Verdict.Summary != "" {
		m.headerH = 3
	}
	m.bodyH = max(0, m.height-m.headerH-2)
	for _, p := range m.tabs {
		p.SetSize(m.width, m.bodyH)
	}
	if m.detail != nil {
		m.detail.SetSize(m.width, m.bodyH)
	}
	m.help.SetWidth(m.width)
}
