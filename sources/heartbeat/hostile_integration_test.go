package heartbeat

// TestIntegrationHostile: hostile heartbeats on the real dev broker (issue
// 11, item 8). It runs in a vhost of its own, made for the test through the
// management API and deleted after it, so that the flood and the forged
// names reach no other test's dashboard on the shared broker.

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/stacktop/stacktop/sources"
	"github.com/stacktop/stacktop/sources/harness"
	"github.com/stacktop/stacktop/state"
)

// privateVHost makes a vhost for this test, with all permissions for user,
// and deletes it when the test ends.
func privateVHost(t *testing.T, user string) string {
	t.Helper()
	env, err := harness.Load("rabbitmq")
	if err != nil {
		t.Fatal(err)
	}
	api, adm, pw := env.Get("STACKTOP_TEST_RABBITMQ_URL"), env.Get("STACKTOP_TEST_RABBITMQ_USER"), env.Get("STACKTOP_TEST_RABBITMQ_PASSWORD")
	if api == "" || adm == "" {
		harness.Absent(t, "the rabbitmq harness names no management API user")
	}
	vhost := uniqueHost(t)
	do := func(method, path, body string) {
		t.Helper()
		req, err := http.NewRequest(method, api+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.SetBasicAuth(adm, pw)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		resp.Body.Close()
		if resp.StatusCode/100 != 2 {
			t.Fatalf("%s %s: %s", method, path, resp.Status)
		}
	}
	do(http.MethodPut, "/api/vhosts/"+url.PathEscape(vhost), `{}`)
	t.Cleanup(func() { do(http.MethodDelete, "/api/vhosts/"+url.PathEscape(vhost), "") })
	do(http.MethodPut, "/api/permissions/"+url.PathEscape(vhost)+"/"+url.PathEscape(user), `{"configure":".*","write":".*","read":".*"}`)
	return vhost
}

// memSample is the process's memory at one moment.
type memSample struct {
	heap uint64 // runtime HeapInuse
	rss  uint64 // VmRSS
}

func sampleMem() memSample {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	m := memSample{heap: ms.HeapInuse}
	if f, err := os.Open("/proc/self/status"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
				kb, _ := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
				m.rss = kb << 10
			}
		}
		f.Close()
	}
	return m
}

func mib(n uint64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

func TestIntegrationHostile(t *testing.T) {
	b := useBroker(t, false)
	b.conn.VHost = privateVHost(t, b.conn.User)
	const iv = 500 * time.Millisecond // the honest agents' interval
	d := startDashboard(t, SourceConfig{Conn: b.conn, Flush: 200 * time.Millisecond, CanaryInterval: -1})
	waitFor(t, 15*time.Second, "the consumer to connect", func() bool {
		h, ok := d.snapshot().Source(sources.NameHeartbeat)
		return ok && h.LastErr == "" && !h.LastSuccess.IsZero()
	})
	victim, bystander := "compute-07", "compute-08"
	runAgent(t, b, victim, iv)
	runAgent(t, b, bystander, iv)
	waitFor(t, 15*time.Second, "both honest agents' heartbeats", func() bool {
		s := d.snapshot()
		_, ok1 := s.Host(victim)
		_, ok2 := s.Host(bystander)
		return ok1 && ok2
	})
	runtime.GC()
	before := sampleMem()

	conn, err := b.conn.dial(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	pub, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	publish := func(ch *amqp.Channel, key string, body []byte) {
		t.Helper()
		if err := ch.Publish(Exchange, key, false, false, amqp.Publishing{Body: body}); err != nil {
			t.Fatalf("publish: %v", err)
		}
	}
	enc := func(m Message) []byte {
		body, err := Encode(m)
		if err != nil {
			t.Fatal(err)
		}
		return body
	}

	// One of each malformed kind; every one is counted, none reaches the state.
	procs := make([]Proc, 10_000)
	for i := range procs {
		procs[i] = Proc{Name: "nova-compute", PID: i + 1, Start: time.Now()}
	}
	huge := make([]byte, 10<<20)
	for i := range huge {
		huge[i] = 'x'
	}
	bad := []struct{ key, why string }{
		{"attacker", "routing key is not the host"},
		{victim, "10 MB body"},
		{victim, "10 MB body"},
		{victim, "10 MB body"},
		{victim, "invalid JSON"},
		{victim, "10,000 processes"},
	}
	publish(pub, "attacker", enc(Message{Host: bystander, Seq: 1, SentAt: time.Now(), IntervalMS: 500}))
	for range 3 {
		publish(pub, victim, huge)
	}
	publish(pub, victim, []byte(`{"v":1,"host":"compute-07",`))
	publish(pub, victim, enc(Message{Host: victim, Seq: 1, SentAt: time.Now(), IntervalMS: 500, Processes: procs}))
	huge, procs = nil, nil
	waitFor(t, 30*time.Second, "every malformed message counted", func() bool { return d.src.Invalid() >= uint64(len(bad)) })
	bigPeak := sampleMem()
	// Reading 30 MB is slow on a loaded machine under -race: the flood's
	// judgement starts from a bystander heard on time.
	waitFor(t, 30*time.Second, "the bystander on time before the flood", func() bool {
		h, ok := d.snapshot().Host(bystander)
		return ok && time.Since(h.LastSeen) < 2*iv
	})

	// A clock ten years ahead: shown as skew, never as freshness.
	future := "future-host"
	publish(pub, future, enc(Message{Host: future, BootID: "future-boot", Seq: 1, SentAt: time.Now().AddDate(10, 0, 0), IntervalMS: 200}))

	// A second sender under the victim's name, with another boot id, and a
	// flood under one name, both while the honest agents go on.
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tk := time.NewTicker(iv / 2)
		defer tk.Stop()
		for seq := uint64(1); ; seq++ {
			select {
			case <-ctx.Done():
				return
			case <-tk.C:
			}
			body, _ := Encode(Message{Host: victim, BootID: "forged-boot-id", UptimeSec: 9 * 3600, Seq: seq, SentAt: time.Now(), IntervalMS: iv.Milliseconds()})
			_ = pub.Publish(Exchange, victim, false, false, amqp.Publishing{Body: body})
		}
	}()
	defer func() { stop(); wg.Wait() }()
	floodConn, err := b.conn.dial(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer floodConn.Close()
	fch, err := floodConn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	const floodFor, floodRate = 3 * time.Second, 100_000
	var flooded atomic.Int64
	floodDone := make(chan time.Duration, 1)
	go func() {
		body, _ := Encode(Message{Host: "flooder", BootID: "flood-boot", Seq: 1, SentAt: time.Now(), IntervalMS: 100})
		start := time.Now()
		defer func() { floodDone <- time.Since(start) }()
		for time.Since(start) < floodFor {
			// Paced at floodRate, a millisecond's worth at a time.
			due := int64(time.Since(start).Seconds() * floodRate)
			for flooded.Load() < due {
				if fch.Publish(Exchange, "flooder", false, false, amqp.Publishing{Body: body}) != nil {
					return
				}
				flooded.Add(1)
			}
			time.Sleep(time.Millisecond)
		}
	}()
	// The broker throttles a publisher it cannot keep up with (credit flow):
	// closing the connection ends a publish that waits.
	stopFlood := time.AfterFunc(floodFor, func() { closeConn(floodConn) })
	defer stopFlood.Stop()

	// Sample while it lasts: memory, and the bystander's age by the
	// receiver's clock. The queue drops the oldest, honest heartbeats alike,
	// so the bystander may fall silent; it must never read LOST while the
	// source says it is flooded.
	peak := before
	var worstAge, floodTook time.Duration
	lostSeen, floodSaid := false, ""
	// Until the flood has ended and the consumer has caught up: the source
	// healthy again and the bystander's heartbeats on time.
	peak.heap, peak.rss = max(peak.heap, bigPeak.heap), max(peak.rss, bigPeak.rss)
	floodEnded := false
	for deadline := time.Now().Add(60 * time.Second); ; {
		select {
		case floodTook = <-floodDone:
			floodEnded = true
		case <-time.After(50 * time.Millisecond):
		}
		m := sampleMem()
		peak.heap, peak.rss = max(peak.heap, m.heap), max(peak.rss, m.rss)
		snap := d.snapshot()
		src, _ := snap.Source(sources.NameHeartbeat)
		if src.LastErr != "" {
			floodSaid = src.LastErr
		}
		now := time.Now()
		h, ok := snap.Host(bystander)
		if ok {
			worstAge = max(worstAge, now.Sub(h.LastSeen))
			lostSeen = lostSeen || (h.Liveness(now) == state.LiveLost && src.LastErr == "" && !src.Stale(now))
		}
		if floodEnded && floodSaid != "" && src.LastErr == "" && ok && now.Sub(h.LastSeen) < 2*iv {
			break
		}
		if now.After(deadline) {
			t.Fatalf("60 s on, the consumer has not caught up with the flood: %+v", src)
		}
	}
	rate := float64(flooded.Load()) / floodTook.Seconds()

	// The consumer catches up: the bystander is fresh again and its heartbeats arrive on time.
	t.Logf("flood: %d messages in %s (%.0f/s); the bystander's worst age %s (interval %s)",
		flooded.Load(), floodTook.Round(time.Millisecond), rate, worstAge.Round(time.Millisecond), iv)
	waitFor(t, 30*time.Second, "the forged sender under the victim's name seen as a conflict", func() bool {
		v, _ := d.snapshot().Host(victim)
		return v.Conflicting(time.Now())
	})
	stop()
	wg.Wait()
	runtime.GC()
	after := sampleMem()
	s := d.snapshot()
	hs, _ := s.Source(sources.NameHeartbeat)
	t.Logf("memory: heap in use %s before, %s peak, %s after; RSS %s before, %s peak, %s after",
		mib(before.heap), mib(peak.heap), mib(after.heap), mib(before.rss), mib(peak.rss), mib(after.rss))
	t.Logf("health detail: %s", hs.Detail)

	if n := d.src.Invalid(); n != uint64(len(bad)) {
		t.Errorf("invalid = %d, want %d (%v)", n, len(bad), bad)
	}
	t.Logf("during the flood the source said: %s", floodSaid)
	t.Logf("memory after the 10 MB bodies: heap in use %s, RSS %s", mib(bigPeak.heap), mib(bigPeak.rss))
	// Not asserted: on a loaded machine under -race the broker's flow
	// control also holds back the honest agents' publishes, which the
	// dashboard cannot tell from a silent host (seen in 2 of 4 such runs).
	if lostSeen {
		t.Logf("NOTE: the bystander read LOST from a healthy feed during the flood (worst age %s)", worstAge)
	}
	if floodSaid == "" {
		t.Errorf("the source never said it was flooded or behind")
	}
	// The per-host limit names the last host it cut: the flooder, or (on a
	// loaded machine) an honest agent whose heartbeats the broker's flow
	// control held back and then delivered in one burst (scripts/test,
	// session 7: "(last: compute-07)" after a 14.7 s hold).
	if hs.Detail != "" && !strings.Contains(hs.Detail, "a batch from one host dropped (last: ") && !strings.Contains(floodSaid, "behind") {
		t.Errorf("neither the per-host limit nor the backlog was hit: %q, %q", hs.Detail, floodSaid)
	}
	if hs.LastErr != "" {
		t.Errorf("after the flood the source still fails: %s", hs.LastErr)
	}
	if grew := int64(peak.heap) - int64(before.heap); grew > 256<<20 {
		t.Errorf("heap grew by %s during the flood, bound 256 MiB", mib(uint64(grew)))
	}
	if grew := int64(after.heap) - int64(before.heap); grew > 32<<20 {
		t.Errorf("heap kept %s after the flood", mib(uint64(grew)))
	}

	// The state: the hosts that exist, no forged name, a conflict said once.
	var names []string
	for _, h := range s.Hosts {
		names = append(names, h.Name)
	}
	if want := []string{bystander, victim, "flooder", future}; !sameSet(names, want) {
		t.Errorf("hosts %v, want %v", names, want)
	}
	v, _ := s.Host(victim)
	if v.Conflicts == 0 || !v.Conflicting(s.At) {
		t.Errorf("victim: %d conflicts, conflicting %v; want the forged sender seen", v.Conflicts, v.Conflicting(s.At))
	}
	conflicts := 0
	for _, e := range s.Timeline {
		if e.Change == "conflicting" {
			conflicts++
			t.Logf("timeline: %s %s: %s", e.What(0), e.Change, e.Evidence)
		}
	}
	for _, r := range s.Restarts {
		if r.Where == victim || r.Where == bystander {
			t.Errorf("restart recorded: %+v", r)
		}
	}
	if conflicts != 1 {
		t.Errorf("%d conflicting events in the timeline, want 1", conflicts)
	}
	f, _ := s.Host(future)
	if f.Skew < 9*365*24*time.Hour {
		t.Errorf("future host's skew %s, want about ten years", f.Skew)
	}
	waitFor(t, 10*time.Second, "the future-stamped host to read lost by the receiver's clock", func() bool {
		h, _ := d.snapshot().Host(future)
		return h.Liveness(time.Now()) == state.LiveLost
	})

	// The dashboard's queue on the broker is bounded and drains.
	q := queueInfo(t, b.conn.VHost, d.src.QueueName())
	if q.Args["x-max-length"] != float64(queueMaxLength) || q.Args["x-max-length-bytes"] != float64(queueMaxBytes) || q.Args["x-overflow"] != "drop-head" {
		t.Errorf("queue arguments %v", q.Args)
	}
}

func sameSet(got, want []string) bool {
	if len(got) != len(want) {
		return false
	}
	seen := map[string]bool{}
	for _, g := range got {
		seen[g] = true
	}
	for _, w := range want {
		if !seen[w] {
			return false
		}
	}
	return true
}

type queueArgs struct {
	Args     map[string]any `json:"arguments"`
	Messages int            `json:"messages"`
}

// queueInfo reads a queue's arguments and depth from the management API.
func queueInfo(t *testing.T, vhost, name string) queueArgs {
	t.Helper()
	env, err := harness.Load("rabbitmq")
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodGet, env.Get("STACKTOP_TEST_RABBITMQ_URL")+"/api/queues/"+url.PathEscape(vhost)+"/"+url.PathEscape(name), nil)
	req.SetBasicAuth(env.Get("STACKTOP_TEST_RABBITMQ_USER"), env.Get("STACKTOP_TEST_RABBITMQ_PASSWORD"))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var q queueArgs
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("queue %s: %s", name, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(&q); err != nil {
		t.Fatal(err)
	}
	return q
}
