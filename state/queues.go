package state

import (
	"strings"

	"github.com/stacktop/stacktop/sources"
)

func cmpQueueKey(a, b QueueKey) int {
	if c := strings.Compare(a.VHost, b.VHost); c != 0 {
		return c
	}
	return strings.Compare(a.Name, b.Name)
}

// foldQueues merges a complete queue list with prev (sorted by key) into a
// new sorted list. Queues missing from the list are dropped; a duplicate key
// keeps the last row. Each queue's History gains one sample, appended in
// place per the ring invariant (see ring.go and QueueHistory.with), so this
// costs O(queues) and not O(queues × samples), and only a few queues a
// poll copy their history.
func (s *Store) foldQueues(f *fold, prev []Queue, in []sources.Queue) []Queue {
	order := sortedOrder(len(in), func(i, j int) int {
		return cmpQueueKey(QueueKey{in[i].VHost, in[i].Name}, QueueKey{in[j].VHost, in[j].Name})
	})
	out := make([]Queue, 0, len(in))
	j := 0
	for n, i := range order {
		row := &in[i]
		if n+1 < len(order) {
			if nx := &in[order[n+1]]; nx.VHost == row.VHost && nx.Name == row.Name {
				continue
			}
		}
		key := QueueKey{VHost: row.VHost, Name: row.Name}
		for j < len(prev) && cmpQueueKey(prev[j].Key, key) < 0 {
			j++
		}
		q := Queue{
			Key:       key,
			Messages:  row.Messages,
			Ready:     row.Ready,
			Unacked:   row.Unacked,
			Consumers: row.Consumers,
		}
		if row.Rates != nil {
			r := *row.Rates
			q.Rates = &r
		}
		v := QueueSample{At: f.at, Messages: row.Messages, Unacked: row.Unacked, Consumers: row.Consumers}
		var hist QueueHistory
		if j < len(prev) && prev[j].Key == key {
			p := &prev[j]
			j++
			// The previous snapshot's strings, not the batch's: the batch
			// and whatever its decoder read stay collectable.
			q.Key, q.Role, q.Host = p.Key, p.Role, p.Host
			hist = p.History
		} else {
			q.Role, q.Host = QueueRole(row.Name)
		}
		q.History = hist.with(v, f.cutoff, s.cfg.QueueSamples, n)
		if n := q.History.Len(); n >= 2 {
			// Growth between the last two samples as stored (to the
			// millisecond), so that their times compare alike.
			last, cur := q.History.Sample(n-2), q.History.Sample(n-1)
			if dt := cur.At.Sub(last.At); dt > 0 && cur.Messages >= 0 && last.Messages >= 0 { // -1: the broker did not say
				q.GrowthPerMin = float64(cur.Messages-last.Messages) / dt.Minutes()
			}
		}
		out = append(out, q)
	}
	return out
}

// Queue roles.
const (
	RoleCompute       = "compute"       // nova-compute's topic, compute.<host> per host
	RoleConductor     = "conductor"     // nova-conductor
	RoleScheduler     = "scheduler"     // nova-scheduler
	RoleReply         = "reply"         // oslo.messaging RPC reply queue, reply_<hex>
	RoleFanout        = "fanout"        // oslo.messaging fanout queue, <topic>_fanout_<hex>
	RoleNotifications = "notifications" // notifications.<priority>, versioned_notifications.<priority>
)

// topicRoles maps well-known oslo.messaging RPC topics to a role. A queue
// named <topic> or <topic>.<host> gets that role (and the host).
var topicRoles = map[string]string{
	"compute":     RoleCompute,
	"conductor":   RoleConductor,
	"scheduler":   RoleScheduler,
	"consoleauth": "consoleauth",
	"console":     "console",
	"cells":       "cells",
	// cinder
	"cinder-volume":    "cinder-volume",
	"cinder-scheduler": "cinder-scheduler",
	"cinder-backup":    "cinder-backup",
	// neutron
	"q-plugin":         "neutron",
	"q-l3-plugin":      "neutron",
	"q-reports-plugin": "neutron",
	"dhcp_agent":       "neutron",
	"l3_agent":         "neutron",
	// heat
	"engine":               "heat",
	"heat-engine-listener": "heat",
}

// QueueRole classifies an OpenStack (oslo.messaging) queue name, returning
// its role and, for a per-host queue such as compute.<host>, the host;
// ("", "") when the name is not recognised.
func QueueRole(name string) (role, host string) {
	if rest, ok := strings.CutPrefix(name, "reply_"); ok && isHex(rest) {
		return RoleReply, ""
	}
	if i := strings.LastIndex(name, "_fanout_"); i > 0 && isHex(name[i+len("_fanout_"):]) {
		return RoleFanout, ""
	}
	if strings.HasPrefix(name, "notifications.") || strings.HasPrefix(name, "versioned_notifications.") {
		return RoleNotifications, ""
	}
	if strings.HasPrefix(name, "q-agent-notifier-") {
		return "neutron", ""
	}
	topic, h, _ := strings.Cut(name, ".")
	if r, ok := topicRoles[topic]; ok {
		return r, h
	}
	return "", ""
}

// isHex reports whether s is non-empty lowercase or uppercase hex.
func isHex(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}
