package state

import (
	"slices"
	"strings"
)

// Service returns the service with key k, in O(log n).
func (s *Snapshot) Service(k ServiceKey) (Service, bool) {
	i, ok := slices.BinarySearchFunc(s.Services, k, cmpServiceAt)
	if !ok {
		return Service{}, false
	}
	return *s.Services[i], true
}

// ServicesOnHost returns the services on host, sorted by binary, in O(log n).
// The result shares the snapshot's array and services: do not modify them (appending is safe).
func (s *Snapshot) ServicesOnHost(host string) []*Service {
	lo, _ := slices.BinarySearchFunc(s.Services, host, func(sv *Service, h string) int { return strings.Compare(sv.Key.Host, h) })
	hi := lo
	for hi < len(s.Services) && s.Services[hi].Key.Host == host {
		hi++
	}
	if lo == hi {
		return nil
	}
	return s.Services[lo:hi:hi]
}

// Queue returns the queue with key k, in O(log n).
func (s *Snapshot) Queue(k QueueKey) (Queue, bool) {
	i, ok := slices.BinarySearchFunc(s.Queues, k, func(q Queue, k QueueKey) int { return cmpQueueKey(q.Key, k) })
	if !ok {
		return Queue{}, false
	}
	return s.Queues[i], true
}

// Host returns the heartbeat state of the host called name, in O(log n).
func (s *Snapshot) Host(name string) (Host, bool) {
	i, ok := slices.BinarySearchFunc(s.Hosts, name, cmpHostName)
	if !ok {
		return Host{}, false
	}
	return *s.Hosts[i], true
}

// Source returns the health of the source called name.
func (s *Snapshot) Source(name string) (SourceHealth, bool) {
	i, ok := slices.BinarySearchFunc(s.Sources, name, func(h SourceHealth, n string) int { return strings.Compare(h.Name, n) })
	if !ok {
		return SourceHealth{}, false
	}
	return s.Sources[i], true
}
