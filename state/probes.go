package state

import (
	"slices"
	"time"

	"github.com/stacktop/stacktop/sources"
)

func probeAt(p *sources.Probe) time.Time { return p.At }

func rpcPingAt(p *RPCPing) time.Time { return p.At }

// rpcPing is p as a service keeps it. A known result is the package's
// constant, not the batch's copy (a recording's decoder allocates one a
// ping).
func rpcPing(p *sources.Probe) RPCPing {
	r := p.Result
	switch r {
	case sources.ProbeOK:
		r = sources.ProbeOK
	case sources.ProbeTimeout:
		r = sources.ProbeTimeout
	case sources.ProbeBlocked:
		r = sources.ProbeBlocked
	case sources.ProbeError:
		r = sources.ProbeError
	}
	return RPCPing{At: p.At, RTT: p.RTT, Result: r, Detail: p.Detail}
}

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
			ping := rpcPing(&p)
			sv.RPCHistory = trimBefore(appendBounded(sv.RPCHistory, ping, s.cfg.RPCHistory), f.cutoff, rpcPingAt)
			if sv.RPC == nil || !p.At.Before(sv.RPC.At) {
				if n := len(sv.RPCHistory); n > 0 && sv.RPCHistory[n-1] == ping {
					// The ping just appended: its element is never
					// written again (ring.go), so point at it.
					sv.RPC = &sv.RPCHistory[n-1]
				} else {
					latest := ping
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
