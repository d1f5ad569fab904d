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
	i, ok := slices.BinarySearchFunc(s.Services, k, func(v state.Service, k state.ServiceKey) int {
		return cmp.Or(cmp.Compare(v.Key.Host, k.Host), cmp.Compare(v.Key.Binary, k.Binary))
	})
	if !ok {
		return nil
	}
	return &s.Services[i]
}

func findQueue(s *state.Snapshot, k state.QueueKey) *state.Queue {
	i, ok := slices.BinarySearchFunc(s.Queues, k, func(v state.Queue, k state.QueueKey) int {
		return cmp.Or(cmp.Compare(v.Key.VHost, k.VHost), cmp.Compare(v.Key.Name, k.Name))
	})
	if !ok {
		return nil
	}
	return &s.Queues[i]
}

// servicesOnHost returns the index range of host's services (Services is sorted by host).
func servicesOnHost(s *state.Snapshot, host string) []state.Service {
	lo, _ := slices.BinarySearchFunc(s.Services, host, func(v state.Service, h string) int { return cmp.Compare(v.Key.Host, h) })
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
