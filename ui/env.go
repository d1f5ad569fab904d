package ui

import (
	"cmp"
	"slices"
	"time"

	"github.com/stacktop/stacktop/state"
	"github.com/stacktop/stacktop/theme"
)

// env is what every pane reads: the snapshot on screen, the clock, styles and keys.
// The root model owns it; panes hold a pointer and never change it.
type env struct {
	snap *state.Snapshot
	now  time.Time
	st   theme.Styles
	keys *KeyMap
	// missing are the sources not configured (Options.Unconfigured).
	missing []Unconfigured

	// asyncQueues is how many queues make the queues pane sort and filter
	// them off the UI goroutine (defaultAsyncQueues; tests lower it).
	asyncQueues int

	// styles counts the changes of st (see linesCache).
	styles int

	// What state judges of snap at now, computed once for both (see figures).
	judged   *state.Snapshot
	judgedAt time.Time
	fig      state.Figures
	unproven string
}

// linesCache keeps a drill-down's lines while what they are drawn from
// (the snapshot, the clock, the width, the styles) is the same.
type linesCache struct {
	snap   *state.Snapshot
	now    time.Time
	width  int
	styles int
	lines  []string
}

// get returns the lines build made for e's snapshot, clock and styles at
// width, building them anew when one of those changed.
func (c *linesCache) get(e *env, width int, build func() []string) []string {
	if c.lines == nil || c.snap != e.snap || c.now != e.now || c.width != width || c.styles != e.styles {
		c.snap, c.now, c.width, c.styles = e.snap, e.now, width, e.styles
		c.lines = build()
	}
	return c.lines
}

// figures is snap.Figures(now), computed once per snapshot and clock
// reading however many rows and panes show it.
func (e *env) figures() state.Figures {
	e.judge()
	return e.fig
}

// silenceUnproven is snap.SilenceUnproven(now), computed once as figures is.
func (e *env) silenceUnproven() string {
	e.judge()
	return e.unproven
}

func (e *env) judge() {
	if e.judged == e.snap && e.judgedAt.Equal(e.now) && e.judgedAt.Location() == e.now.Location() {
		return
	}
	e.judged, e.judgedAt = e.snap, e.now
	e.fig = e.snap.Figures(e.now)
	e.unproven = e.snap.SilenceUnproven(e.now)
}

// emptySnapshot stands in until the first snapshot arrives.
var emptySnapshot = &state.Snapshot{}

func findHost(s *state.Snapshot, name string) *state.Host {
	i, ok := slices.BinarySearchFunc(s.Hosts, name, func(h *state.Host, n string) int { return cmp.Compare(h.Name, n) })
	if !ok {
		return nil
	}
	return s.Hosts[i]
}

func findService(s *state.Snapshot, k state.ServiceKey) *state.Service {
	i, ok := serviceIndex(s, k)
	if !ok {
		return nil
	}
	return s.Services[i]
}

// serviceIndex is where the service k is in s.Services (sorted by host, binary).
func serviceIndex(s *state.Snapshot, k state.ServiceKey) (int, bool) {
	return slices.BinarySearchFunc(s.Services, k, func(v *state.Service, k state.ServiceKey) int {
		return cmp.Or(cmp.Compare(v.Key.Host, k.Host), cmp.Compare(v.Key.Binary, k.Binary))
	})
}

func findQueue(s *state.Snapshot, k state.QueueKey) *state.Queue {
	i, ok := queueIndex(s, k)
	if !ok {
		return nil
	}
	return &s.Queues[i]
}

// queueIndex is where the queue k is in s.Queues (sorted by vhost, name).
func queueIndex(s *state.Snapshot, k state.QueueKey) (int, bool) {
	return slices.BinarySearchFunc(s.Queues, k, func(v state.Queue, k state.QueueKey) int {
		return cmp.Or(cmp.Compare(v.Key.VHost, k.VHost), cmp.Compare(v.Key.Name, k.Name))
	})
}

// servicesOnHost returns the index range of host's services (Services is sorted by host).
func servicesOnHost(s *state.Snapshot, host string) []*state.Service {
	lo, _ := slices.BinarySearchFunc(s.Services, host, func(v *state.Service, h string) int { return cmp.Compare(v.Key.Host, h) })
	hi := lo
	for hi < len(s.Services) && s.Services[hi].Key.Host == host {
		hi++
	}
	return s.Services[lo:hi]
}

// liveness is the state package's verdict on a host's agent (late after 2.5
// intervals without a heartbeat, lost after 5).
func liveness(h *state.Host, now time.Time) state.Liveness { return h.Liveness(now) }

// stale reports whether a source's data is older than twice its interval (or it never succeeded).
func stale(h state.SourceHealth, now time.Time) bool { return h.Stale(now) }
