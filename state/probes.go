package state

import (
	"slices"
	"time"

	"github.com/stacktop/stacktop/sources"
)

func probeAt(p *sources.Probe) time.Time { return p.At }

// probeSeries wraps a history, counting its failures.
func probeSeries(h []sources.Probe) ProbeSeries {
	ps := ProbeSeries{History: h}
	for i := range h {
		if h[i].Result != sources.ProbeOK {
			ps.Failures++
		}
	}
	return ps
}

// foldProbes appends canaries to next.Canary and attaches RPC pings to their
// services. A ping of a service Nova has not listed is dropped.
//
// A batch of pings copies the service list's pointers (8 bytes a service)
// and the services it pings, each once; the others are shared with the
// previous snapshot, whose services never change.
func (s *Store) foldProbes(f *fold, next *Snapshot) {
	canary := next.Canary.History
	canaryChanged := false
	prev := next.Services
	for _, p := range f.b.Probes {
		switch p.Kind {
		case sources.ProbeCanary:
			canary = appendBounded(canary, p, s.cfg.ProbeHistory)
			canaryChanged = true
		case sources.ProbeRPC:
			i, ok := slices.BinarySearchFunc(next.Services, ServiceKey{Binary: p.Binary, Host: p.Host}, cmpServiceAt)
			if !ok {
				continue
			}
			if sameSlice(next.Services, prev) {
				next.Services = slices.Clone(prev)
			}
			if next.Services[i] == prev[i] { // not yet copied in this batch
				c := *prev[i]
				next.Services[i] = &c
			}
			sv := next.Services[i]
			// The service's own strings, not the batch's: one copy of the
			// names per service, not one per ping kept.
			p.Binary, p.Host = sv.Key.Binary, sv.Key.Host
			sv.RPCHistory = trimBefore(appendBounded(sv.RPCHistory, p, s.cfg.RPCHistory), f.cutoff, probeAt)
			if sv.RPC == nil || !p.At.Before(sv.RPC.At) {
				if n := len(sv.RPCHistory); n > 0 && sv.RPCHistory[n-1] == p {
					// The ping just appended: its element is never
					// written again (ring.go), so point at it.
					sv.RPC = &sv.RPCHistory[n-1]
				} else {
					latest := p
					sv.RPC = &latest
				}
			}
		}
	}
	if canaryChanged {
		next.Canary = probeSeries(trimBefore(canary, f.cutoff, probeAt))
		next.Canary.Source = f.b.Source
	}
}
