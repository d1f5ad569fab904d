package heartbeat

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stacktop/stacktop/sources"
	"github.com/stacktop/stacktop/state"
)

func newTestSource(t testing.TB) *Source {
	t.Helper()
	s, err := NewSource(SourceConfig{Conn: ConnConfig{URL: "amqp://127.0.0.1:1/"}})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestReceiveAndBatch(t *testing.T) {
	s := newTestSource(t)
	now := time.Date(2026, 11, 25, 3, 0, 0, 0, time.UTC)
	good, _ := Encode(Message{Host: "compute-1", Seq: 7, SentAt: now.Add(-time.Second), IntervalMS: 2000})
	s.receive("compute-1", good, now)
	s.receive("compute-2", good, now)                           // routing key is not the host
	s.receive("compute-1", []byte("\x1b[2J{"), now)             // garbage with a terminal escape
	s.receive("compute-1", make([]byte, MaxMessageSize+1), now) // oversized
	s.up = true
	b := s.batch(now)
	if b.Source != sources.NameHeartbeat || !b.Health.OK || len(b.Heartbeats) != 1 || b.Heartbeats[0].Host != "compute-1" ||
		!b.Heartbeats[0].ReceivedAt.Equal(now) || b.Heartbeats[0].Seq != 7 {
		t.Errorf("batch %+v", b)
	}
	if s.Invalid() != 3 || !strings.Contains(b.Health.Detail, "3 invalid dropped") || strings.ContainsRune(b.Health.Detail, '\x1b') {
		t.Errorf("invalid %d, detail %q", s.Invalid(), b.Health.Detail)
	}
	b2 := s.batch(now.Add(time.Second))
	if b2.Heartbeats != nil || b2.Probes != nil {
		t.Errorf("second batch repeats data: %+v", b2)
	}
	s.up, s.lastErr = false, "heartbeat: connect amqp://127.0.0.1:1/: connection refused"
	if b3 := s.batch(now); b3.Health.OK || !strings.Contains(b3.Health.Err, "refused") {
		t.Errorf("down: %+v", b3.Health)
	}
}

// TestBurstKind: a host over maxPerHost in a batch is named a flood only
// when it sent its heartbeats faster than its interval. Heartbeats sent at
// the interval and delivered at once (the broker's flow control held them)
// say so instead of blaming the host; either way the batch vouches for no
// one's silence. A flood outranks a held-back burst in the same batch.
func TestBurstKind(t *testing.T) {
	now := time.Date(2026, 11, 25, 3, 0, 0, 0, time.UTC)
	type send struct {
		host  string
		n     int
		every time.Duration // between two heartbeats' SentAt
		seq   func(i int) uint64
	}
	up := func(i int) uint64 { return uint64(i + 1) }
	same := func(int) uint64 { return 9 } // a replay of one heartbeat
	cases := []struct {
		name  string
		sends []send
		want  string // the health error
	}{
		{"flood", []send{{"flooder", 40, time.Millisecond, up}},
			"heartbeat: flood from flooder (24 over 16 a batch): other hosts' silence proves nothing"},
		{"held back", []send{{"compute-3", 40, 2 * time.Second, up}},
			"heartbeat: compute-3's came at once (24 over 16 a batch), the first 16 sent over 30s by its clock: held back on the way, or replayed; other hosts' silence proves nothing"},
		{"sent at half the interval is still held back", []send{{"compute-3", 20, time.Second, up}},
			"heartbeat: compute-3's came at once (4 over 16 a batch), the first 16 sent over 15s by its clock: held back on the way, or replayed; other hosts' silence proves nothing"},
		{"faster than half the interval", []send{{"compute-3", 20, 900 * time.Millisecond, up}},
			"heartbeat: flood from compute-3 (4 over 16 a batch): other hosts' silence proves nothing"},
		{"a replay, spaced, is a flood", []send{{"replayer", 20, 2 * time.Second, same}},
			"heartbeat: flood from replayer (4 over 16 a batch): other hosts' silence proves nothing"},
		{"flood and held back", []send{{"compute-3", 40, 2 * time.Second, up}, {"flooder", 20, 0, up}},
			"heartbeat: flood from flooder (4 over 16 a batch): other hosts' silence proves nothing"},
		{"held back after a flood", []send{{"flooder", 20, 0, up}, {"compute-3", 40, 2 * time.Second, up}},
			"heartbeat: flood from flooder (4 over 16 a batch): other hosts' silence proves nothing"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := newTestSource(t)
			s.up = true
			for _, sd := range c.sends {
				for i := range sd.n {
					sent := now.Add(-time.Duration(sd.n-i) * sd.every)
					b, err := Encode(Message{Host: sd.host, Seq: sd.seq(i), SentAt: sent, IntervalMS: 2000})
					if err != nil {
						t.Fatal(err)
					}
					s.receive(sd.host, b, now)
				}
			}
			b := s.batch(now)
			if b.Health.OK || b.Health.Err != c.want || b.Health.Kind != sources.FailBehind {
				t.Errorf("health %+v\nwant the error %q (behind)", b.Health, c.want)
			}
			// The hold keeps the cause named for the next batch.
			if b := s.batch(now.Add(time.Second)); b.Health.Err != c.want {
				t.Errorf("next batch: %q, want the hold to repeat the same cause %q", b.Health.Err, c.want)
			}
		})
	}
}

// TestReceiveBounds: a flood under one name costs that name maxPerHost
// slots of a batch, the newest heartbeat last, and other hosts still get
// theirs; new names past maxHosts are dropped; both are counted in health.
func TestReceiveBounds(t *testing.T) {
	s := newTestSource(t)
	s.up = true
	now := time.Date(2026, 11, 25, 3, 0, 0, 0, time.UTC)
	msg := func(host string, seq uint64) []byte {
		b, _ := Encode(Message{Host: host, Seq: seq, SentAt: now, IntervalMS: 2000})
		return b
	}
	const flood = 1000
	for i := range uint64(flood) {
		s.receive("flooder", msg("flooder", i+1), now)
		if i == flood/2 {
			s.receive("compute-1", msg("compute-1", 7), now)
		}
	}
	b := s.batch(now)
	var fromFlood []uint64
	other := false
	for _, hb := range b.Heartbeats {
		switch hb.Host {
		case "flooder":
			fromFlood = append(fromFlood, hb.Seq)
		case "compute-1":
			other = true
		}
	}
	if len(fromFlood) != maxPerHost || fromFlood[len(fromFlood)-1] != flood || !other {
		t.Errorf("flooder's seqs in the batch %v (want %d, the last %d); compute-1 there: %v", fromFlood, maxPerHost, flood, other)
	}
	if want := fmt.Sprintf("%d over %d a batch from one host dropped (last: flooder)", flood-maxPerHost, maxPerHost); !strings.Contains(b.Health.Detail, want) {
		t.Errorf("detail %q, want %q", b.Health.Detail, want)
	}
	// While a flood lasts, the feed cannot vouch for anyone's silence.
	if want := fmt.Sprintf("heartbeat: flood from flooder (%d over %d a batch): other hosts' silence proves nothing", flood-maxPerHost, maxPerHost); b.Health.OK || b.Health.Err != want {
		t.Errorf("health during the flood %+v, want the error %q", b.Health, want)
	}
	// The next batch starts afresh for every host. The flood is over, but
	// the others have not had an interval (2 s here) to report again yet.
	s.receive("flooder", msg("flooder", flood+1), now)
	if b := s.batch(now.Add(time.Second)); len(b.Heartbeats) != 1 || b.Health.OK {
		t.Errorf("next batch %d heartbeats, health %+v; want 1, still failing", len(b.Heartbeats), b.Health)
	}
	if b := s.batch(now.Add(4 * time.Second)); !b.Health.OK {
		t.Errorf("one and a half intervals after the flood: %+v, want ok", b.Health)
	}

	for i := len(s.known); i < maxHosts; i++ {
		s.known[fmt.Sprintf("made-up-%d", i)] = struct{}{}
	}
	s.receive("one-too-many", msg("one-too-many", 1), now)
	s.receive("compute-1", msg("compute-1", 8), now)
	b = s.batch(now)
	if len(b.Heartbeats) != 1 || b.Heartbeats[0].Host != "compute-1" {
		t.Errorf("past the host limit: %+v, want only compute-1's", b.Heartbeats)
	}
	if want := fmt.Sprintf("1 from new hosts dropped: %d host names is the limit", maxHosts); !strings.Contains(b.Health.Detail, want) {
		t.Errorf("detail %q, want %q", b.Health.Detail, want)
	}
}

func TestPrintable(t *testing.T) {
	if got := printable("a\x1b[31mb\u00e9"+strings.Repeat("x", 100), 10); got != "a?[31mbéxx…" {
		t.Errorf("printable = %q", got)
	}
}

// BenchmarkReceive is the consumer's per-delivery work: decode, check the
// routing key, buffer. The fold is state's BenchmarkDecodeAndApplyHeartbeats.
func BenchmarkReceive(b *testing.B) {
	s := newTestSource(b)
	t0 := time.Date(2026, 11, 25, 3, 0, 0, 0, time.UTC)
	const hosts = 1000
	payloads := make([][]byte, hosts)
	for h := range hosts {
		m := Message{Host: fmt.Sprintf("compute-%05d", h), BootID: "8d1c7f0e-boot", UptimeSec: 3600, Seq: 1, SentAt: t0,
			IntervalMS: 2000, Agent: "1.0.0", Processes: []Proc{
				{Name: "nova-compute", PID: 1000 + h, Start: t0}, {Name: "neutron-openvswitch-agent", PID: 2000 + h, Start: t0}}}
		payloads[h], _ = Encode(m)
	}
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		h := n % hosts
		s.receive(keyOf(h), payloads[h], t0)
		n++
		if n%1000 == 0 {
			s.batch(t0)
		}
	}
	if s.Invalid() != 0 {
		b.Fatalf("%d invalid", s.Invalid())
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "heartbeats/s")
}

var keys = func() []string {
	k := make([]string, 1000)
	for i := range k {
		k[i] = fmt.Sprintf("compute-%05d", i)
	}
	return k
}()

func keyOf(h int) string { return keys[h] }

// BenchmarkReceiveAndFold is the dashboard's whole receive path: each
// delivery through receive, and the batch folded into a state.Store every
// 1,000 heartbeats (one Flush's worth at 1,000 heartbeats/s).
func BenchmarkReceiveAndFold(b *testing.B) {
	s := newTestSource(b)
	s.up = true
	store := state.NewStore(state.DefaultConfig())
	t0 := time.Date(2026, 11, 25, 3, 0, 0, 0, time.UTC)
	const hosts = 1000
	payloads := make([][][]byte, 16) // rounds, seq advancing
	for r := range payloads {
		payloads[r] = make([][]byte, hosts)
		for h := range hosts {
			m := Message{Host: keyOf(h), BootID: "8d1c7f0e-boot", UptimeSec: 3600, Seq: uint64(r + 1), SentAt: t0,
				IntervalMS: 2000, Agent: "1.0.0", Processes: []Proc{
					{Name: "nova-compute", PID: 1000 + h, Start: t0}, {Name: "neutron-openvswitch-agent", PID: 2000 + h, Start: t0}}}
			payloads[r][h], _ = Encode(m)
		}
	}
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		r, h := (n/hosts)%len(payloads), n%hosts
		at := t0.Add(time.Duration(n) * time.Millisecond)
		s.receive(keyOf(h), payloads[r][h], at)
		n++
		if n%1000 == 0 {
			store.Apply(s.batch(at))
		}
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "heartbeats/s")
}
