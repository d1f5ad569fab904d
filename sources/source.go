// Package sources defines the Source interface every data source implements
// and the typed observations a source emits, one Batch per poll.
//
// Data flows one way: a source polls (or consumes) on its own goroutine and
// calls emit with one Batch per poll; the state package folds batches into
// immutable snapshots; the ui renders snapshots. Observation types are plain
// values that serialise to JSON, so a batch can be recorded and replayed.
package sources

import (
	"context"
	"time"
)

// Source polls or consumes one data source until its context is cancelled.
type Source interface {
	// Name identifies the source in batches, health and logs ("nova", "rabbitmq", "heartbeat").
	Name() string
	// Run blocks, calling emit once per poll with everything that poll saw,
	// until ctx is cancelled. It never calls emit concurrently with itself.
	Run(ctx context.Context, emit func(Batch)) error
}

// Names of the built-in sources.
const (
	NameNova      = "nova"
	NameRabbitMQ  = "rabbitmq"
	NameHeartbeat = "heartbeat"
	NameRPCPing   = "rpcping" // the RPC pings of the Nova services (sources/rpcping)
)

// Batch is everything one poll of one source observed.
//
// A nil slice means "this poll says nothing about that kind"; a non-nil
// slice (even empty) for Services or Queues or Nodes is the complete current
// list, and anything missing from it is gone. A failed poll carries
// Health.Err and no data: the state keeps the previous data, marked stale.
type Batch struct {
	Source     string      `json:"source"`
	At         time.Time   `json:"at"` // when the poll completed, by the receiver's clock
	Health     Health      `json:"health"`
	Services   []Service   `json:"services,omitempty"`
	Overview   *Overview   `json:"overview,omitempty"`
	Nodes      []Node      `json:"nodes,omitempty"`
	Queues     []Queue     `json:"queues,omitempty"`
	Heartbeats []Heartbeat `json:"heartbeats,omitempty"`
	Probes     []Probe     `json:"probes,omitempty"`
}

// Health is how the poll itself went: a slow or failing API is a symptom too.
type Health struct {
	OK       bool          `json:"ok"`
	Err      string        `json:"err,omitempty"`      // what failed, credentials already redacted
	Kind     FailureKind   `json:"kind,omitempty"`     // the kind of the failure, as the client knows it; "" when OK
	Latency  time.Duration `json:"latency"`            // wall time of the poll's requests
	Interval time.Duration `json:"interval"`           // the poll interval the source runs at; data older than 2× is stale
	Target   string        `json:"target,omitempty"`   // what was polled: cloud name, broker URL without userinfo
	Detail   string        `json:"detail,omitempty"`   // e.g. "microversion 2.69", "management API", "prometheus"
	Requests int           `json:"requests,omitempty"` // HTTP requests this poll made
}

// ServiceState is Nova's view of whether a service reports in.
type ServiceState string

// Service states as Nova reports them; Unknown comes from an unreachable cell (microversion 2.69).
const (
	StateUp      ServiceState = "up"
	StateDown    ServiceState = "down"
	StateUnknown ServiceState = "UNKNOWN"
)

// ServiceStatus is the administrative status of a Nova service.
type ServiceStatus string

// Administrative statuses.
const (
	StatusEnabled  ServiceStatus = "enabled"
	StatusDisabled ServiceStatus = "disabled"
)

// Service is one row of Nova's os-services list.
type Service struct {
	ID             string        `json:"id"`
	Binary         string        `json:"binary"`
	Host           string        `json:"host"`
	Zone           string        `json:"zone,omitempty"`
	Status         ServiceStatus `json:"status"`
	State          ServiceState  `json:"state"`
	ForcedDown     bool          `json:"forced_down,omitempty"`
	DisabledReason string        `json:"disabled_reason,omitempty"`
	UpdatedAt      time.Time     `json:"updated_at"` // Nova's own heartbeat of the service; zero when never reported
}

// Overview is the broker cluster's summary (RabbitMQ /api/overview).
type Overview struct {
	ClusterName     string `json:"cluster_name"`
	RabbitVersion   string `json:"rabbitmq_version,omitempty"`
	ErlangVersion   string `json:"erlang_version,omitempty"`
	Queues          int    `json:"queues"`
	Connections     int    `json:"connections"`
	Channels        int    `json:"channels"`
	Consumers       int    `json:"consumers"`
	MessagesReady   int64  `json:"messages_ready"`
	MessagesUnacked int64  `json:"messages_unacked"`
	Via             string `json:"via,omitempty"` // "management" or "prometheus": where node and queue metrics come from
}

// Node is one broker cluster node. Gauges are -1 when the broker did not say.
type Node struct {
	Name          string        `json:"name"`
	Running       bool          `json:"running"`
	MemUsed       int64         `json:"mem_used"`
	MemLimit      int64         `json:"mem_limit"`
	MemAlarm      bool          `json:"mem_alarm,omitempty"`
	DiskFree      int64         `json:"disk_free"`
	DiskFreeLimit int64         `json:"disk_free_limit"`
	DiskAlarm     bool          `json:"disk_alarm,omitempty"`
	FDUsed        int64         `json:"fd_used"`
	FDTotal       int64         `json:"fd_total"`
	SocketsUsed   int64         `json:"sockets_used"`
	SocketsTotal  int64         `json:"sockets_total"`
	ProcUsed      int64         `json:"proc_used"`
	ProcTotal     int64         `json:"proc_total"`
	Partitions    []string      `json:"partitions,omitempty"`
	Uptime        time.Duration `json:"uptime"` // -1 when unknown
}

// Queue is one broker queue at poll time. Consumers is -1 when the broker did not say.
type Queue struct {
	VHost     string `json:"vhost"`
	Name      string `json:"name"`
	Messages  int64  `json:"messages"`
	Ready     int64  `json:"ready"`
	Unacked   int64  `json:"unacked"`
	Consumers int    `json:"consumers"`
	// Rates in messages per second, only present for a queue open in a drill-down.
	Rates *QueueRates `json:"rates,omitempty"`
}

// QueueRates are a queue's message rates as the broker computes them.
type QueueRates struct {
	Publish float64 `json:"publish"`
	Deliver float64 `json:"deliver"`
	Ack     float64 `json:"ack"`
}

// Heartbeat is one heartbeat received from a node's stacktop agent.
type Heartbeat struct {
	Host         string        `json:"host"`
	BootID       string        `json:"boot_id"`
	Uptime       time.Duration `json:"uptime"`
	Seq          uint64        `json:"seq"`
	SentAt       time.Time     `json:"sent_at"`     // the sender's clock: used for skew, never for ages
	ReceivedAt   time.Time     `json:"received_at"` // the receiver's clock
	Interval     time.Duration `json:"interval"`    // the agent's publish interval
	AgentVersion string        `json:"agent_version,omitempty"`
	Processes    []Process     `json:"processes,omitempty"`
}

// Process is an OpenStack service process the agent found on its node.
type Process struct {
	Name      string    `json:"name"` // e.g. "nova-compute"
	PID       int       `json:"pid"`
	StartedAt time.Time `json:"started_at"`
}

// ProbeKind tells a broker round-trip canary from an RPC ping of a service.
type ProbeKind string

// Probe kinds.
const (
	ProbeCanary ProbeKind = "canary"   // stacktop to itself through the broker
	ProbeRPC    ProbeKind = "rpc-ping" // oslo.messaging ping of a Nova service
)

// ProbeResult is how a probe ended.
type ProbeResult string

// Probe results.
const (
	ProbeOK      ProbeResult = "ok"
	ProbeTimeout ProbeResult = "timeout" // no reply in time: the MessagingTimeout of the seed incident
	ProbeBlocked ProbeResult = "blocked" // the broker blocked the publisher (resource alarm)
	ProbeError   ProbeResult = "error"   // could not even send
)

// Probe is one round trip through the broker.
type Probe struct {
	Kind   ProbeKind     `json:"kind"`
	Binary string        `json:"binary,omitempty"` // for rpc-ping: the service's binary
	Host   string        `json:"host,omitempty"`   // for rpc-ping: the service's host
	At     time.Time     `json:"at"`               // when it was sent
	RTT    time.Duration `json:"rtt"`              // round trip, or time waited before giving up
	Result ProbeResult   `json:"result"`
	Detail string        `json:"detail,omitempty"`
}
