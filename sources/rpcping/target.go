package rpcping

import (
	"cmp"
	"slices"
)

// Target is one Nova service to ping: its RPC server listens on the
// control exchange with routing key "<topic>.<host>".
type Target struct {
	Binary string // nova-compute, nova-conductor, nova-scheduler
	Host   string // Nova's host of the service (its oslo.messaging server name)
	Topic  string // compute, conductor, scheduler
}

// RoutingKey is the key of the service's own queue, e.g. compute.compute-1.
func (t Target) RoutingKey() string { return t.Topic + "." + t.Host }

// topics are the RPC topics of the Nova services stacktop pings.
var topics = map[string]string{
	"nova-compute":   "compute",
	"nova-conductor": "conductor",
	"nova-scheduler": "scheduler",
}

// NewTarget returns the ping target of a Nova service, or false for a
// binary that has no per-host RPC server stacktop knows (nova-api and
// others) or an empty host.
func NewTarget(binary, host string) (Target, bool) {
	topic, ok := topics[binary]
	if !ok || host == "" {
		return Target{}, false
	}
	return Target{Binary: binary, Host: host, Topic: topic}, true
}

// normalise sorts targets (by host, then binary) and drops duplicates,
// so rounds keep a stable order.
func normalise(ts []Target) []Target {
	ts = slices.Clone(ts)
	slices.SortFunc(ts, func(a, b Target) int {
		return cmp.Or(cmp.Compare(a.Host, b.Host), cmp.Compare(a.Binary, b.Binary), cmp.Compare(a.Topic, b.Topic))
	})
	return slices.Compact(ts)
}
