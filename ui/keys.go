package ui

import "charm.land/bubbles/v2/key"

// KeyMap is every key binding of the UI; pass DefaultKeyMap() or a modified copy in Options.
type KeyMap struct {
	NextTab, PrevTab                   key.Binding
	Services, Queues, Timeline, Broker key.Binding
	Up, Down                           key.Binding
	Home, End                          key.Binding
	PageUp, PageDown                   key.Binding
	Filter                             key.Binding
	Accept                             key.Binding // enter: drill down, or accept the filter
	Back                               key.Binding // esc (or alt+esc, esc pressed twice quickly): leave a drill-down, clear the filter, close help
	Sort                               key.Binding
	Group                              key.Binding
	Problems                           key.Binding
	Pause                              key.Binding // freeze the screen; in a replay, pause the replay itself (Options.Pause)
	Verdict                            key.Binding // the verdict's evidence, or the rules' inputs when none fired
	Canary                             key.Binding // the broker canary's round trips and failures
	Jump                               key.Binding // jump to a time in the timeline (and seek, in replay)
	Step                               key.Binding // replay: the next batch; disabled (hidden) unless Options.Step is set
	Faster, Slower                     key.Binding // replay: the next speed up or down; disabled (hidden) unless Options.ChangeSpeed is set
	Help                               key.Binding
	Quit                               key.Binding
}

// DefaultKeyMap returns the standard bindings.
func DefaultKeyMap() KeyMap {
	b := func(help, desc string, keys ...string) key.Binding {
		return key.NewBinding(key.WithKeys(keys...), key.WithHelp(help, desc))
	}
	return KeyMap{
		NextTab:  b("tab", "next pane", "tab"),
		PrevTab:  b("shift+tab", "prev pane", "shift+tab"),
		Services: b("1", "services", "1"),
		Queues:   b("2", "queues", "2"),
		Timeline: b("3", "timeline", "3"),
		Broker:   b("4", "broker", "4"),
		Up:       b("↑/k", "up", "up", "k"),
		Down:     b("↓/j", "down", "down", "j"),
		Home:     b("g/home", "top", "g", "home"),
		End:      b("G/end", "bottom", "G", "end"),
		PageUp:   b("pgup/^u", "page up", "pgup", "ctrl+u"),
		PageDown: b("pgdn/^d", "page down", "pgdown", "ctrl+d"),
		Filter:   b("/", "filter", "/"),
		Accept:   b("enter", "details", "enter"),
		Back:     b("esc", "back/clear", "esc", "alt+esc"),
		Sort:     b("s", "sort", "s"),
		Group:    b("b", "group host/binary", "b"),
		Problems: b("f", "problems only", "f"),
		Pause:    b("p", "pause", "p"),
		Verdict:  b("v", "verdict", "v"),
		Canary:   b("c", "canary", "c"),
		Jump:     b("t", "jump to time", "t"),
		Step:     b("n", "next batch", "n"),
		Faster:   b("+", "faster", "+", "="),
		Slower:   b("-", "slower", "-"),
		Help:     b("?", "help", "?"),
		Quit:     b("q", "quit", "q", "ctrl+c"),
	}
}

// ShortHelp is the footer line: what a narrow terminal cuts comes last.
// Disabled bindings (the replay's in live mode) are not shown.
func (k KeyMap) ShortHelp() []key.Binding {
	return []key.Binding{k.NextTab, k.Step, k.Down, k.Accept, k.Filter, k.Help, k.Quit, k.Sort, k.speed(), k.Problems, k.Verdict, k.Canary, k.Pause}
}

// speed is Faster and Slower as one footer entry, "+/- speed" (for display only).
func (k KeyMap) speed() key.Binding {
	b := key.NewBinding(key.WithKeys(append(k.Faster.Keys(), k.Slower.Keys()...)...),
		key.WithHelp(k.Faster.Help().Key+"/"+k.Slower.Help().Key, "speed"))
	b.SetEnabled(k.Faster.Enabled() && k.Slower.Enabled())
	return b
}

// FullHelp is the ? overlay, in three columns so that it fits 80 cells.
// Disabled bindings (the replay's in live mode) are not shown.
func (k KeyMap) FullHelp() [][]key.Binding {
	return [][]key.Binding{
		{k.NextTab, k.PrevTab, k.Services, k.Queues, k.Timeline, k.Broker, k.Help, k.Quit},
		{k.Up, k.Down, k.Home, k.End, k.PageUp, k.PageDown, k.Pause, k.Faster, k.Slower},
		{k.Accept, k.Back, k.Filter, k.Sort, k.Group, k.Problems, k.Verdict, k.Canary, k.Jump, k.Step},
	}
}
