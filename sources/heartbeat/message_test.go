package heartbeat

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stacktop/stacktop/sources"
)

func TestRoundTrip(t *testing.T) {
	sent := time.Date(2026, 11, 25, 3, 0, 0, 0, time.UTC)
	m := Message{Host: "compute-07", BootID: "b-1", UptimeSec: 3600.5, Seq: 42, SentAt: sent, IntervalMS: 2000, Agent: "v1",
		Processes: []Proc{{Name: "nova-compute", PID: 1234, Start: sent.Add(-time.Hour)}}}
	b, err := Encode(m)
	if err != nil {
		t.Fatal(err)
	}
	recv := sent.Add(150 * time.Millisecond)
	hb, err := Decode(b, recv)
	if err != nil {
		t.Fatal(err)
	}
	if hb.Host != "compute-07" || hb.Seq != 42 || hb.Interval != 2*time.Second || !hb.ReceivedAt.Equal(recv) ||
		hb.Uptime != 3600*time.Second+500*time.Millisecond || len(hb.Processes) != 1 || hb.Processes[0].PID != 1234 {
		t.Errorf("decoded %+v", hb)
	}
}

func TestDecodeRejects(t *testing.T) {
	tests := []struct{ name, payload string }{
		{"not json", `{"v":1,`},
		{"wrong version", `{"v":2,"host":"h"}`},
		{"no host", `{"v":1,"host":""}`},
		{"negative uptime", `{"v":1,"host":"h","uptime_s":-1}`},
		{"uptime overflowing a duration (found by FuzzDecode)", `{"v":1,"host":"h","uptime_s":1e308}`},
		{"absurd interval", `{"v":1,"host":"h","interval_ms":999999999999}`},
		{"process without pid", `{"v":1,"host":"h","procs":[{"name":"nova-compute","pid":0}]}`},
		{"host too long", `{"v":1,"host":"` + strings.Repeat("h", 300) + `"}`},
		{"oversized", `{"v":1,"host":"h","boot_id":"` + strings.Repeat("x", MaxMessageSize) + `"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Decode([]byte(tt.payload), time.Now())
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("Decode(%.40q) error = %v, want ErrInvalid", tt.payload, err)
			}
		})
	}
}

func FuzzDecode(f *testing.F) {
	good, _ := Encode(Message{Host: "h", Seq: 1, IntervalMS: 2000, Processes: []Proc{{Name: "nova-api", PID: 1}}})
	f.Add(good)
	f.Add([]byte(`{"v":1,"host":"\u001b[31mx"}`))
	// The hostile heartbeats of issue 11: a long name, a future clock, too
	// many processes, a body over the size limit, invalid JSON, deep nesting.
	f.Add([]byte(`{"v":1,"host":"` + strings.Repeat("h", 300) + `","seq":1,"interval_ms":2000}`))
	f.Add([]byte(`{"v":1,"host":"h","seq":18446744073709551615,"sent_at":"9999-12-31T23:59:59Z","uptime_s":1e308,"interval_ms":3600000}`))
	procs := strings.Repeat(`{"name":"nova-compute","pid":1},`, MaxProcesses+1)
	f.Add([]byte(`{"v":1,"host":"h","procs":[` + procs[:len(procs)-1] + `]}`))
	f.Add(append([]byte(`{"v":1,"host":"h","x":"`), bytes.Repeat([]byte("x"), MaxMessageSize)...))
	f.Add([]byte(`{"v":1,"host":"h",`))
	f.Add([]byte(`{"v":1,"host":"h","x":` + strings.Repeat("[", 20000) + `}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		hb, err := Decode(b, time.Unix(0, 0))
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v does not wrap ErrInvalid", err)
			}
			return
		}
		if hb.Host == "" || len(hb.Processes) > MaxProcesses || hb.Uptime < 0 {
			t.Fatalf("accepted an invalid heartbeat: %+v", hb)
		}
		if (&sources.Batch{Heartbeats: []sources.Heartbeat{hb}}).Clip() != 0 {
			t.Fatalf("accepted a string over %d bytes", sources.MaxName)
		}
	})
}
