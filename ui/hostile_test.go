package ui

import (
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"

	"github.com/stacktop/stacktop/state"
)

// hostile puts terminal escapes, OSC and bidi overrides in every outside string.
func hostile() *state.Snapshot {
	s := incident()
	evil := "\x1b[2J\x1b]0;pwned\x07\x1b]8;;http://x\x1b\\link\u202egnp.exe\x9b31m"
	s.Services[0].Key.Host = "compute-000" + evil
	s.Services[0].Key.Binary = "nova-compute" + evil
	s.Services[0].DisabledReason = evil
	s.Services[0].Zone = evil
	s.Hosts[0].Name = s.Services[0].Key.Host
	s.Hosts[0].AgentVersion = evil
	s.Hosts[0].Processes[0].Name = evil
	s.Sources[2].LastErr = "dial: " + evil
	s.Sources[1].Name = "nova" + evil
	s.Overview.ClusterName = "rabbit" + evil
	s.Queues[0].Key.Name = "q" + evil
	s.Queues[0].Key.VHost = evil
	s.Queues[0].Role = evil
	s.Restarts[0].Where = evil
	s.Restarts[0].What = evil
	s.Restarts[0].Evidence = strings.Repeat(evil, 20)
	s.Restarts[0].Source = evil
	s.Verdict.Summary = "BROKER " + evil
	s.Verdict.Evidence = []string{evil + ": " + evil, "rabbitmq: " + evil, strings.Repeat(evil, 10)}
	s.Verdict.Findings = append(s.Verdict.Findings, state.Finding{Source: evil, Text: strings.Repeat(evil, 10), Host: evil, At: ago(time.Second)})
	s.Nodes[0].Name = "rabbit@" + evil
	s.Nodes[1].Partitions = []string{evil, "rabbit@" + evil}
	s.Overview.RabbitVersion, s.Overview.ErlangVersion, s.Overview.Via = evil, evil, evil
	s.Canary.History[len(s.Canary.History)-1].Detail = evil
	s.Canary.History[len(s.Canary.History)-5].Detail = evil
	s.Services[0].RPC.Detail = evil
	s.Services[0].RPCHistory[len(s.Services[0].RPCHistory)-1].Detail = evil
	s.Hosts[0].BootID = evil
	s.Restarts[4].Where = s.Nodes[0].Name // a broker restart of the hostile node
	s.Restarts[4].Evidence = evil
	for i := range s.Timeline { // every event's text from the cloud
		e := &s.Timeline[i]
		e.Evidence = strings.Repeat(evil, 5)
		e.Source = evil
		if len(e.Hosts) > 0 {
			e.Hosts = append([]string{evil}, e.Hosts[1:]...)
		} else {
			e.Subject = evil
		}
	}
	s.Timeline[1].Subject = evil            // a service transition of a hostile binary
	s.Timeline[5].Change = "BROKER " + evil // a verdict
	s.Timeline[7].Subject = s.Nodes[0].Name // an alarm on the hostile node
	return s
}

func TestHostileStrings(t *testing.T) {
	views := [][]string{nil, {"enter"}, {"2"}, {"2", "enter"}, {"3"}, {"3", "enter"}, {"3", "j", "enter"}, {"3", "j", "j", "enter"}, {"3", "G", "enter"},
		{"3", "j", "j", "j", "j", "j", "j", "j", "enter"}, {"3", "j", "j", "j", "j", "j", "enter"}, {"3", "/", "\x1b"}, {"f"}, {"/", "\x1b"},
		{"4"}, {"4", "enter"}, {"4", "j", "enter"}, {"v"}, {"c"}, {"3", "t", "\x1b"}}
	for _, noColor := range []bool{false, true} {
		for _, keys := range views {
			m := press(newTestModel(hostile(), 160, 48, noColor), keys...)
			out := m.Render()
			if noColor && strings.ContainsRune(out, 0x1b) {
				t.Fatalf("keys %v: ESC in NO_COLOR output: %q", keys, out)
			}
			plain := ansi.Strip(out)
			for _, bad := range []string{"\x1b", "\x07", "\u009b", "\u202e", "pwned\x07"} {
				if strings.Contains(plain, bad) {
					t.Fatalf("keys %v: %q survived: %q", keys, bad, plain)
				}
			}
			// Colour mode: only SGR (lipgloss styling) may remain, never OSC or screen clears.
			if strings.Contains(out, "\x1b]") || strings.Contains(out, "\x1b[2J") {
				t.Fatalf("keys %v: non-SGR escape in output", keys)
			}
			checkFrame(t, plain, 160, 48)
		}
	}
}

func TestNoColorStatusReadable(t *testing.T) {
	out := newTestModel(withoutAlarms(incident()), 160, 48, true).Render()
	if strings.ContainsRune(out, 0x1b) {
		t.Fatal("escape codes with NO_COLOR")
	}
	for _, want := range []string{"● up", "✖ DOWN", "○ disabled", "⊘ FORCED", "? UNKNOWN", "↯", "LOST", "late", "TMO", "STALE", "[1 Services 46]", "▸ "} {
		if !strings.Contains(out, want) {
			t.Errorf("NO_COLOR screen lacks %q", want)
		}
	}
}
