// Package heartbeat holds the node heartbeat: its wire format, the agent
// that publishes it, and the dashboard's consumer.
package heartbeat

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/stacktop/stacktop/sources"
)

// Wire constants shared by the agent, the dashboard and the demo.
const (
	Exchange       = "stacktop.heartbeat" // topic exchange; routing key is the host name
	ContentType    = "application/json"
	Version        = 1        // the payload's format version, field "v"
	MaxMessageSize = 64 << 10 // larger payloads are dropped unread
	MaxProcesses   = 256      // more processes than this make a payload invalid
	maxStringLen   = 255
)

// Message is the versioned JSON payload an agent publishes.
type Message struct {
	V          int       `json:"v"`
	Host       string    `json:"host"`
	BootID     string    `json:"boot_id"`
	UptimeSec  float64   `json:"uptime_s"`
	Seq        uint64    `json:"seq"`
	SentAt     time.Time `json:"sent_at"`
	IntervalMS int64     `json:"interval_ms"`
	Agent      string    `json:"agent"` // agent version
	Processes  []Proc    `json:"procs,omitempty"`
}

// Proc is one OpenStack process in a Message.
type Proc struct {
	Name  string    `json:"name"`
	PID   int       `json:"pid"`
	Start time.Time `json:"start"`
}

// Encode serialises a heartbeat, stamping the current format version.
func Encode(m Message) ([]byte, error) {
	m.V = Version
	b, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("heartbeat: encode: %w", err)
	}
	return b, nil
}

// maxUptimeSec is the longest uptime accepted, a century: more would
// overflow time.Duration (292 years) into a negative uptime.
const maxUptimeSec = 100 * 365.25 * 24 * 3600

// ErrInvalid marks a payload that is not a valid heartbeat.
var ErrInvalid = errors.New("heartbeat: invalid message")

// Decode parses and validates a payload received at receivedAt.
// Any error wraps ErrInvalid; the caller counts and drops such messages.
func Decode(b []byte, receivedAt time.Time) (sources.Heartbeat, error) {
	if len(b) > MaxMessageSize {
		return sources.Heartbeat{}, fmt.Errorf("%w: %d bytes, limit %d", ErrInvalid, len(b), MaxMessageSize)
	}
	var m Message
	if err := json.Unmarshal(b, &m); err != nil {
		return sources.Heartbeat{}, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	switch {
	case m.V != Version:
		return sources.Heartbeat{}, fmt.Errorf("%w: version %d, want %d", ErrInvalid, m.V, Version)
	case m.Host == "" || len(m.Host) > maxStringLen:
		return sources.Heartbeat{}, fmt.Errorf("%w: host name missing or longer than %d bytes", ErrInvalid, maxStringLen)
	case len(m.BootID) > maxStringLen || len(m.Agent) > maxStringLen:
		return sources.Heartbeat{}, fmt.Errorf("%w: boot id or agent version too long", ErrInvalid)
	case len(m.Processes) > MaxProcesses:
		return sources.Heartbeat{}, fmt.Errorf("%w: %d processes, limit %d", ErrInvalid, len(m.Processes), MaxProcesses)
	case m.UptimeSec < 0 || m.UptimeSec > maxUptimeSec || m.IntervalMS < 0 || m.IntervalMS > int64(time.Hour/time.Millisecond):
		return sources.Heartbeat{}, fmt.Errorf("%w: uptime or interval out of range", ErrInvalid)
	}
	hb := sources.Heartbeat{
		Host:         m.Host,
		BootID:       m.BootID,
		Uptime:       time.Duration(m.UptimeSec * float64(time.Second)),
		Seq:          m.Seq,
		SentAt:       m.SentAt,
		ReceivedAt:   receivedAt,
		Interval:     time.Duration(m.IntervalMS) * time.Millisecond,
		AgentVersion: m.Agent,
	}
	if len(m.Processes) > 0 {
		hb.Processes = make([]sources.Process, 0, len(m.Processes))
		for _, p := range m.Processes {
			if p.Name == "" || len(p.Name) > maxStringLen || p.PID <= 0 {
				return sources.Heartbeat{}, fmt.Errorf("%w: process entry without a name or pid", ErrInvalid)
			}
			hb.Processes = append(hb.Processes, sources.Process{Name: p.Name, PID: p.PID, StartedAt: p.Start})
		}
	}
	return hb, nil
}
