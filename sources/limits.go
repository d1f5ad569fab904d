package sources

import (
	"strings"
	"unicode/utf8"
)

// Length limits on the strings a source keeps from what it decodes. Every
// name OpenStack and RabbitMQ produce fits: Nova's host, binary, zone and
// disabled_reason are 255-character database columns, AMQP queue and vhost
// names are short strings of at most 255 bytes, Erlang node names atoms of at
// most 255 characters. A longer string comes from something hostile or
// broken; it is cut, with "…" at the end, and counted (Batch.Clip).
const (
	MaxName = 255  // a name, identifier, state or version
	MaxText = 1024 // a free-text detail or error message
)

// Clip returns s cut to at most max bytes at a rune boundary, ending in
// "…" when cut, and whether it was cut. Invalid UTF-8 in a cut string is dropped.
func Clip(s string, max int) (string, bool) {
	if len(s) <= max {
		return s, false
	}
	const ell = "…"
	cut := max - len(ell)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	b := make([]byte, 0, max)
	for i := 0; i < cut; {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			i++
			continue
		}
		b = append(b, s[i:i+n]...)
		i += n
	}
	return string(append(b, ell...)), true
}

// Bound returns s, or a copy of its first max+1 bytes when it is longer.
// A decoder calls it on strings it holds many of before a batch is whole
// (a queue list), so that their memory is bounded as they are decoded:
// the result is still over max, so Batch.Clip cuts and counts it as usual.
func Bound(s string, max int) string {
	if len(s) <= max {
		return s
	}
	return strings.Clone(s[:max+1])
}

// clipper cuts strings in place and counts how many it cut.
type clipper int

func (c *clipper) str(p *string, max int) {
	if s, cut := Clip(*p, max); cut {
		*p = s
		*c++
	}
}

func (c *clipper) name(p *string) { c.str(p, MaxName) }

// Clip cuts every string of b to its limit (MaxName for names, MaxText for
// details and errors) and returns how many it cut: the decoders of every
// source call it on what they decoded, before anything reaches the state.
func (b *Batch) Clip() int {
	var c clipper
	c.name(&b.Source)
	c.str(&b.Health.Err, MaxText)
	c.str(&b.Health.Target, MaxText)
	c.str(&b.Health.Detail, MaxText)
	for i := range b.Services {
		s := &b.Services[i]
		c.name(&s.ID)
		c.name(&s.Binary)
		c.name(&s.Host)
		c.name(&s.Zone)
		c.name((*string)(&s.Status))
		c.name((*string)(&s.State))
		c.name(&s.DisabledReason)
	}
	if o := b.Overview; o != nil {
		c.name(&o.ClusterName)
		c.name(&o.RabbitVersion)
		c.name(&o.ErlangVersion)
		c.name(&o.Via)
	}
	for i := range b.Nodes {
		n := &b.Nodes[i]
		c.name(&n.Name)
		for j := range n.Partitions {
			c.name(&n.Partitions[j])
		}
	}
	for i := range b.Queues {
		c.name(&b.Queues[i].VHost)
		c.name(&b.Queues[i].Name)
	}
	for i := range b.Heartbeats {
		h := &b.Heartbeats[i]
		c.name(&h.Host)
		c.name(&h.BootID)
		c.name(&h.AgentVersion)
		for j := range h.Processes {
			c.name(&h.Processes[j].Name)
		}
	}
	for i := range b.Probes {
		p := &b.Probes[i]
		c.name((*string)(&p.Kind))
		c.name(&p.Binary)
		c.name(&p.Host)
		c.name((*string)(&p.Result))
		c.str(&p.Detail, MaxText)
	}
	return int(c)
}
