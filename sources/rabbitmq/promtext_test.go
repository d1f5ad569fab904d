package rabbitmq

import (
	"bytes"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/stacktop/stacktop/sources"
)

// expfmtDetailedQueues is the reading parseDetailedQueues must agree with:
// expfmt's TextToMetricFamilies over the lines of the families used (as
// the parser before it read them), folded as parseDetailedQueues folds.
func expfmtDetailedQueues(text []byte, keep func(string) bool) (map[queueKey]sources.Queue, error) {
	var used bytes.Buffer
	for _, line := range bytes.SplitAfter(text, []byte("\n")) {
		if name := familyOf(line); name != nil && slices.Contains(detailedFamilies, string(name)) {
			used.Write(line)
		}
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(&used)
	if err != nil {
		return nil, err
	}
	out := map[queueKey]sources.Queue{}
	for f, name := range detailedFamilies {
		for _, m := range mfs[name].GetMetric() {
			k := queueKey{sources.Bound(label(m, "vhost"), sources.MaxName), sources.Bound(label(m, "queue"), sources.MaxName)}
			if keep != nil && !keep(k.name) {
				continue
			}
			q, ok := out[k]
			if !ok {
				q = sources.Queue{VHost: k.vhost, Name: k.name, Messages: -1, Ready: -1, Unacked: -1, Consumers: -1}
			}
			if v, ok := value(m); ok {
				switch f {
				case 0:
					q.Ready = max(q.Ready, int64(v))
				case 1:
					q.Unacked = max(q.Unacked, int64(v))
				case 2:
					q.Consumers = max(q.Consumers, int(v))
				}
			}
			out[k] = q
		}
	}
	for k, q := range out {
		if q.Ready >= 0 && q.Unacked >= 0 {
			q.Messages = q.Ready + q.Unacked
			out[k] = q
		}
	}
	return out, nil
}

// parsedQueues is parseDetailedQueues's result as values: text as the one
// response of a poll of a new index.
func parsedQueues(text []byte, keep func(string) bool) (map[queueKey]sources.Queue, error) {
	return parsedQueuesAfter(text, keep, nil)
}

// parsedQueuesAfter is parsedQueues on an index that has first polled each
// of before in turn (a response that fails to parse: a failed poll).
func parsedQueuesAfter(text []byte, keep func(string) bool, before [][]byte) (map[queueKey]sources.Queue, error) {
	x := newQueueIndex(keep)
	for _, b := range before {
		x.begin()
		if parseDetailedQueues(bytes.NewReader(b), x) == nil {
			x.end()
		}
	}
	x.begin()
	if err := parseDetailedQueues(bytes.NewReader(text), x); err != nil {
		return nil, err
	}
	qs := x.end()
	sorted := slices.Clone(qs)
	sortQueues(sorted)
	if !slices.Equal(qs, sorted) {
		return nil, fmt.Errorf("queues out of order: %v", qs)
	}
	out := make(map[queueKey]sources.Queue, len(qs))
	for _, q := range qs {
		k := queueKey{q.VHost, q.Name}
		if _, dup := out[k]; dup {
			return nil, fmt.Errorf("queue %+v listed twice", q)
		}
		out[k] = q
	}
	return out, nil
}

// parseMap is a poll of one response on a new index, by key.
func parseMap(r io.Reader, keep func(string) bool) (map[queueKey]*sources.Queue, error) {
	x := newQueueIndex(keep)
	x.begin()
	if err := parseDetailedQueues(r, x); err != nil {
		return nil, err
	}
	m := map[queueKey]*sources.Queue{}
	for _, q := range x.end() {
		m[queueKey{q.VHost, q.Name}] = &q
	}
	return m, nil
}

// historyChangesNothing fails t unless parsing text on an index that has
// polled before (the same text, other queues, a poll that failed half way)
// gives what parsing it on a new one gave (got, err).
func historyChangesNothing(t *testing.T, text []byte, keep func(string) bool, got map[queueKey]sources.Queue, err error) {
	t.Helper()
	other := []byte("rabbitmq_detailed_queue_messages_ready{vhost=\"/\",queue=\"other\"} 1\n" +
		"rabbitmq_detailed_queue_messages_ready{vhost=\"v\",queue=\"a\"} 2\n")
	half := text[:len(text)/2]
	for _, before := range [][][]byte{{text}, {other}, {text, other}, {half}, {text, half}, {other, half, text}} {
		g, e := parsedQueuesAfter(text, keep, before)
		if fmt.Sprint(e) != fmt.Sprint(err) || !maps.Equal(g, got) {
			t.Fatalf("after %d polls: %d queues, error %v; on a new index: %d queues, error %v\n%.2000q", len(before), len(g), e, len(got), err, text)
		}
	}
}

// agreeWithExpfmt fails t unless parseDetailedQueues and expfmt read text
// alike: the same queues, or both an error. parseDetailedQueues may refuse,
// as unsupported, what RabbitMQ never writes; it never accepts what expfmt
// refuses.
func agreeWithExpfmt(t *testing.T, text []byte, keep func(string) bool) (map[queueKey]sources.Queue, error) {
	t.Helper()
	want, werr := expfmtDetailedQueues(text, keep)
	got, err := parsedQueues(text, keep)
	historyChangesNothing(t, text, keep, got, err)
	switch {
	case err != nil && werr != nil:
		return nil, err
	case err != nil && strings.Contains(err.Error(), ": unsupported in the queue families: "):
		return nil, err
	case err != nil:
		t.Fatalf("parseDetailedQueues: %v; expfmt reads it (%d queues)\n%.2000q", err, len(want), text)
	case werr != nil:
		t.Fatalf("parseDetailedQueues read %d queues; expfmt: %v\n%.2000q", len(got), werr, text)
	}
	if len(got) != len(want) {
		t.Fatalf("%d queues, expfmt %d\n%.2000q", len(got), len(want), text)
	}
	for k, w := range want {
		if g, ok := got[k]; !ok || g != w {
			t.Fatalf("%+v: got %+v (%v), expfmt %+v\n%.2000q", k, g, ok, w, text)
		}
	}
	return got, nil
}

func TestDetailedQueuesAgreeWithExpfmtOnFixtures(t *testing.T) {
	for _, body := range [][]byte{
		fixture(t, "rabbitmq-3.10-metrics-off-prometheus-detailed-nova.txt"),
		fixture(t, "rabbitmq-3.10-metrics-off-prometheus-metrics.txt"), // no queue families: no queues
		prometheusDetailedText(3000),
	} {
		for _, keep := range []func(string) bool{nil, func(n string) bool { return strings.HasPrefix(n, "reply_") || strings.HasSuffix(n, "7") }} {
			if _, err := agreeWithExpfmt(t, body, keep); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// TestDetailedQueuesAgreeWithExpfmtOnGenerated compares the two readings
// of generated responses with everything the text format allows in the
// families read: escapes, UTF-8, names over the limit, NaN and infinities,
// exponents, timestamps, duplicate series, comments, blank lines, other
// families between, families missing or in any order, several vhosts.
func TestDetailedQueuesAgreeWithExpfmtOnGenerated(t *testing.T) {
	rng := rand.New(rand.NewPCG(12, 2026))
	pick := func(xs ...string) string { return xs[rng.IntN(len(xs))] }
	names := []string{
		"compute.compute-1", "reply_62a6aeea0c4f49e7ba6580a8f99abb78", `say \"hi\"\\now\nnext`,
		"ünïcödé", "", "a,b=c}", `rabbitmq_detailed_queue_consumers{x`, strings.Repeat("q", 300),
		`\\\\`, "tab\there", "conductor_fanout_c0d4aeb4e2c741cd9d69bbe0499fa226",
	}
	vhosts := []string{"nova", "/", `v\"h`, strings.Repeat("v", 256), ""}
	values := []string{"0", "7", "1e3", "-2", "NaN", "+Inf", "-Inf", "3.5", "1.5e2", "12345678901234567", "0.0", "+5"}
	ok := 0
	for range 400 {
		var b strings.Builder
		fams := slices.Clone(detailedFamilies)
		rng.Shuffle(len(fams), func(i, j int) { fams[i], fams[j] = fams[j], fams[i] })
		fams = fams[:1+rng.IntN(len(fams))]
		fams = append(fams, "rabbitmq_detailed_queue_messages")
		for _, fam := range fams {
			if rng.IntN(2) == 0 {
				fmt.Fprintf(&b, "# HELP %s %s\n", fam, pick("Messages ready", `with \\ and \n escapes`, ""))
			}
			if rng.IntN(2) == 0 {
				fmt.Fprintf(&b, "# TYPE %s %s\n", fam, pick("gauge", "counter", "untyped", "GAUGE"))
			}
			for range rng.IntN(12) {
				switch rng.IntN(12) {
				case 0:
					b.WriteString("\n")
				case 1:
					b.WriteString("# a comment\n")
				case 2:
					fmt.Fprintf(&b, "rabbitmq_identity_info{rabbitmq_node=%q} 1\n", "rabbit@vm")
				}
				labels := fmt.Sprintf(`vhost="%s",queue="%s"`, pick(vhosts...), pick(names...))
				switch rng.IntN(6) {
				case 0:
					labels = fmt.Sprintf(`queue="%s", vhost = "%s",`, pick(names...), pick(vhosts...))
				case 1:
					labels = fmt.Sprintf(`queue="%s"`, pick(names...))
				case 2:
					labels += `,node="rabbit@vm"`
				}
				ts := pick("", "", " 1700000000000", "\t-5")
				fmt.Fprintf(&b, "%s%s{%s}%s%s%s\n", pick("", "", " "), fam, labels, pick(" ", "\t", "  "), pick(values...), ts)
			}
		}
		text := []byte(b.String())
		if _, err := agreeWithExpfmt(t, text, nil); err == nil {
			ok++
		}
		if _, err := agreeWithExpfmt(t, text, func(n string) bool { return len(n) < 20 }); err != nil && err.Error() == "" {
			t.Fatal("an empty error")
		}
	}
	if ok < 300 {
		t.Fatalf("only %d of 400 generated responses read without error: the generator tests errors, not readings", ok)
	}
}

// TestDetailedQueuesErrors: what the text format forbids in the families
// read is an error naming its line, as expfmt refuses it too; what it
// allows and RabbitMQ never writes is refused as unsupported.
func TestDetailedQueuesErrors(t *testing.T) {
	const head = "# TYPE rabbitmq_detailed_queue_messages_ready gauge\n# HELP rabbitmq_detailed_queue_messages_ready Ready\nrabbitmq_detailed_queue_messages_ready{vhost=\"/\",queue=\"a\"} 1\n"
	const s = "rabbitmq_detailed_queue_messages_ready"
	tests := []struct {
		name, line string // the 4th line, after head
		want       string
	}{
		{"truncated", s + `{vhost="/",queue="b"} 1`, "line 4 has no end"},
		{"truncated in a label", s + `{vhost="/",queue="b`, "line 4 has no end"},
		{"bad escape", s + `{vhost="/",queue="b\t"} 1` + "\n", `line 4: invalid escape sequence '\t'`},
		{"unescaped end", s + `{vhost="/",queue="b} 1` + "\n", "line 4: the value of label \"queue\" contains an unescaped new-line"},
		{"not UTF-8", s + "{vhost=\"/\",queue=\"\xff\"} 1\n", "line 4: invalid label value"},
		// The vhost and queue values are checked only when they name no
		// queue read before, and a long one in whole before its cut.
		{"vhost not UTF-8", s + "{vhost=\"/\xff\",queue=\"a\"} 1\n", "line 4: invalid label value"},
		{"escaped, not UTF-8", s + "{vhost=\"/\",queue=\"a\\\"\xff\"} 1\n", "line 4: invalid label value"},
		{"other label not UTF-8", s + "{vhost=\"/\",queue=\"a\",node=\"\xff\"} 1\n", "line 4: invalid label value"},
		{"long queue, not UTF-8 past the cut", "rabbitmq_detailed_queue_consumers{vhost=\"/\",queue=\"" + strings.Repeat("q", 300) + "\"} 1\n" +
			s + "{vhost=\"/\",queue=\"" + strings.Repeat("q", 290) + "\xff\"} 1\n", "line 5: invalid label value"},
		{"long vhost, not UTF-8 past the cut", "rabbitmq_detailed_queue_consumers{vhost=\"" + strings.Repeat("v", 300) + "\",queue=\"a\"} 1\n" +
			s + "{vhost=\"" + strings.Repeat("v", 290) + "\xff\",queue=\"a\"} 1\n", "line 5: invalid label value"},
		{"second HELP", "# HELP " + s + " again\n", "line 4: second HELP line"},
		{"TYPE after samples", "# TYPE " + s + " gauge\n", "line 4: second TYPE line"},
		{"unknown type", "# TYPE rabbitmq_detailed_queue_consumers gaug\n", `line 4: unknown metric type "gaug"`},
		{"bad HELP escape", "# HELP rabbitmq_detailed_queue_consumers a\\tb\n", `line 4: invalid escape sequence '\t' in HELP`},
		{"no value", s + `{vhost="/",queue="b"}` + "\n", `line 4: expected float as value, got ""`},
		{"bad value", s + `{vhost="/",queue="b"} 1_000` + "\n", `line 4: expected float as value, got "1_000"`},
		{"value out of range", s + `{vhost="/",queue="b"} 1e999` + "\n", `line 4: expected float as value`},
		{"bad timestamp", s + `{vhost="/",queue="b"} 1 soon` + "\n", `line 4: expected integer as timestamp, got "soon"`},
		{"blank after value", s + `{vhost="/",queue="b"} 1 ` + "\n", `line 4: expected integer as timestamp, got ""`},
		{"after timestamp", s + `{vhost="/",queue="b"} 1 2 3` + "\n", `line 4: spurious string after timestamp: " 3"`},
		{"duplicate label", s + `{vhost="/",vhost="b"} 1` + "\n", "line 4: duplicate label names"},
		{"reserved label", s + `{__name__="x"} 1` + "\n", "line 4: label name \"__name__\" is reserved"},
		{"unquoted value", s + `{vhost=/} 1` + "\n", "line 4: expected '\"' at start of the value of label \"vhost\""},
		{"no =", s + `{vhost} 1` + "\n", "line 4: expected '=' after label name \"vhost\""},
		{"bad label name", s + `{1a="b"} 1` + "\n", "line 4: invalid label name"},
		{"after a value", s + `{a="b" c="d"} 1` + "\n", "line 4: unexpected end of the value of label \"a\""},
		{"name in HELP", "# HELP " + s + "{x} help\n", "line 4: invalid metric name in comment"},
		{"quoted label name", s + `{"vhost"="/"} 1` + "\n", "line 4: unsupported in the queue families: a quoted label name"},
		{"summary", "# TYPE rabbitmq_detailed_queue_consumers summary\n", "line 4: unsupported in the queue families: type SUMMARY"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			text := []byte(head + tt.line)
			_, err := agreeWithExpfmt(t, text, nil)
			if err == nil || !strings.HasPrefix(err.Error(), "parse prometheus text: ") || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

// TestDetailedQueuesIgnoresOtherFamilies: lines of families not read are
// not parsed (a broken one costs nothing), as before; line numbers count them.
func TestDetailedQueuesIgnoresOtherFamilies(t *testing.T) {
	text := "rabbitmq_detailed_queue_messages{vhost=\"/\" broken\n\n# TYPE x gauge\nx{\nrabbitmq_detailed_queue_consumers{vhost=\"/\",queue=\"a\"} 2\nrabbitmq_detailed_queue_consumers{vhost=\"/\",queue=\"a\"} x\n"
	_, err := parsedQueues([]byte(text), nil)
	if err == nil || !strings.Contains(err.Error(), "line 6: expected float") {
		t.Fatalf("err = %v, want one at line 6", err)
	}
	got, err := parsedQueues([]byte(text[:strings.LastIndex(text[:len(text)-1], "\n")+1]), nil)
	if err != nil || len(got) != 1 || got[queueKey{"/", "a"}].Consumers != 2 {
		t.Fatalf("got %v, %v", got, err)
	}
}

// TestDetailedQueuesTwoNodes: a second node's response merges into the
// first's queues, the larger value kept, in any order of its lines.
func TestDetailedQueuesTwoNodes(t *testing.T) {
	first := "rabbitmq_detailed_queue_messages_ready{vhost=\"/\",queue=\"a\"} 5\nrabbitmq_detailed_queue_messages_ready{vhost=\"/\",queue=\"b\"} 1\n"
	second := "rabbitmq_detailed_queue_messages_ready{vhost=\"/\",queue=\"b\"} 3\nrabbitmq_detailed_queue_messages_ready{vhost=\"/\",queue=\"a\"} 2\n" +
		"rabbitmq_detailed_queue_messages_unacked{vhost=\"/\",queue=\"c\"} 1\nrabbitmq_detailed_queue_messages_unacked{vhost=\"/\",queue=\"a\"} 1\n"
	want := []sources.Queue{
		{VHost: "/", Name: "a", Messages: 6, Ready: 5, Unacked: 1, Consumers: -1},
		{VHost: "/", Name: "b", Messages: -1, Ready: 3, Unacked: -1, Consumers: -1},
		{VHost: "/", Name: "c", Messages: -1, Ready: -1, Unacked: 1, Consumers: -1},
	}
	x := newQueueIndex(nil)
	for poll := range 3 { // the next polls find every name indexed
		x.begin()
		for _, text := range []string{first, second} {
			if err := parseDetailedQueues(strings.NewReader(text), x); err != nil {
				t.Fatal(err)
			}
		}
		if got := x.end(); !slices.Equal(got, want) {
			t.Errorf("poll %d: got %+v, want %+v", poll, got, want)
		}
	}
}
