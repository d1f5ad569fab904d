package ui

import "charm.land/bubbles/v2/key"

// KeyMap is every key binding of the UI; pass DefaultKeyMap() or a modified copy in Options.
type KeyMap struct {
	NextTab, PrevTab          key.Binding
	Services, Queues, Restart key.Binding
	Up, Down                  key.Binding
	Home, End                 key.Binding
	PageUp, PageDown          key.Binding
	Filter                    key.Binding
	Accept                    key.Binding // enter: drill down, or accept the filter
	Back                      key.Binding // esc: leave a drill-down, clear the filter, close help
	Sort                      key.Binding
	Group                     key.Binding
	Problems                  key.Binding
	Pause                     key.Binding
	Help                      key.Binding
	Quit                      key.Binding
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
		Restart:  b("3", "restarts", "3"),
		Up:       b("↑/k", "up", "up", "k"),
		Down:     b("↓/j", "down", "down", "j"),
		Home:     b("g/home", "top", "g", "home"),
		End:      b("G/end", "bottom", "G", "end"),
		PageUp:   b("pgup/^u", "page up", "pgup", "ctrl+u"),
		PageDown: b("pgdn/^d", "page down", "pgdown", "ctrl+d"),
		Filter:   b("/", "filter", "/"),
		Accept:   b("enter", "details", "enter"),
		Back:     b("esc", "back/clear", "esc"),
		Sort:     b("s", "sort", "s"),
		Group:    b("b", "group host/binary", "b"),
		Problems: b("f", "problems only", "f"),
		Pause:    b("p", "pause", "p"),
		Help:     b("?", "help", "?"),
		Quit:     b("q", "quit", "q", "ctrl+c"),
	}
}

// ShortHelp is the footer line.
func (k KeyMap) ShortHelp() []key.Binding {
	return []key.Binding{k.NextTab, k.Down, k.Accept, k.Filter, k.Sort, k.Problems, k.Pause, k.Help, k.Quit}
}

// FullHelp is the ? overlay.
func (k KeyMap) FullHelp() [][]key.Binding {
	return [][]key.Binding{
		{k.NextTab, k.PrevTab, k.Services, k.Queues, k.Restart},
		{k.Up, k.Down, k.Home, k.End, k.PageUp, k.PageDown},
		{k.Accept, k.Back, k.Filter, k.Sort, k.Group, k.Problems},
		{k.Pause, k.Help, k.Quit},
	}
}
