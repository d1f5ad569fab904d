package ui

import (
	"cmp"
	"slices"
	"strconv"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/stacktop/stacktop/format"
	"github.com/stacktop/stacktop/sources"
	"github.com/stacktop/stacktop/state"
	"github.com/stacktop/stacktop/theme"
)

// Service sort modes, cycled by the sort key.
const (
	svcSortGroup = iota // by host (or binary when grouped by binary)
	svcSortSeverity
	svcSortChanged
	svcSortFlap
	svcSortModes
)

var svcSortNames = [svcSortModes]string{"host", "severity", "last change", "flap %"}

// svcSortKey is what the services' sorted order depends on: the services,
// the sort and grouping, and, when severity counts (its sort, or problems
// only), the hosts' heartbeats and the clock second.
type svcSortKey struct {
	svcs     sliceKey
	sort     int
	byBinary bool
	sev      bool
	hosts    sliceKey
	nowSec   int64
}

// svcOrderKey is what the rows shown depend on.
type svcOrderKey struct {
	sorted   svcSortKey
	problems bool
	filter   string
}

// servicesPane lists Nova services.
type servicesPane struct {
	tablePane
	byBinary bool

	snap    *state.Snapshot // the snapshot the rows were placed for
	sortK   svcSortKey
	sorts   int // how many times the services were sorted (tests count them)
	narrow  narrowing
	sorted  []int32 // every service, in the sort's order
	byBin   []int32 // every service by binary, then host
	byBinK  sliceKey
	rs      []ranked // scratch for sorting, twice the services
	key     svcOrderKey
	sev     []int32 // severity per service, by snapshot index, when sortK.sev
	sel     state.ServiceKey
	colsBuf []column
	hostW   int // widest host among the rows in order
	rpcW    int // rpcLeast when a row in order has an RPC ping, else 0
	binW    int // widest binary among them
}

func newServicesPane(e *env) *servicesPane {
	p := &servicesPane{}
	p.tablePane = tablePane{e: e, rows: p, sorts: svcSortModes}
	return p
}

func (p *servicesPane) Title() string { return "Services" }

func (p *servicesPane) total() int { return len(p.e.snap.Services) }

func (p *servicesPane) Status() string {
	s := "sort: " + svcSortNames[p.sort]
	if p.sort == svcSortGroup && p.byBinary {
		s = "sort: binary"
	}
	if p.problems {
		s += " · problems only"
	}
	if f := p.e.figures().Services; f.Known == state.KnownStale {
		s += " · STALE " + format.Age(f.Age(p.e.now)) + ": states as of " + format.Clock(f.At)
	}
	return s
}

// extraKey: b groups by host or by binary.
func (p *servicesPane) extraKey(msg tea.KeyPressMsg) bool {
	if !key.Matches(msg, p.e.keys.Group) {
		return false
	}
	p.byBinary = !p.byBinary
	p.sync()
	return true
}

func (p *servicesPane) open() tea.Cmd {
	if s := p.current(); s != nil {
		return openCmd(newServiceDetail(p.e, s.Key))
	}
	return nil
}

func (p *servicesPane) current() *state.Service {
	if i := p.cursorRow(); i >= 0 {
		return p.e.snap.Services[i]
	}
	return nil
}

func (p *servicesPane) remember() {
	if s := p.current(); s != nil {
		p.sel = s.Key
	}
}

// sync recomputes what changed: the severities and the sorted order when
// the services (a Nova poll), the sort, or for severity the hosts or the
// clock second changed, the rows shown when that order or a filter changed;
// a snapshot that changed none of these only puts the cursor back. A filter
// grown from the last one narrows the rows it matched (narrowing).
func (p *servicesPane) sync() {
	snap := p.e.snap
	sk := svcSortKey{svcs: keyOf(snap.Gen.Services, snap.Services), sort: p.sort, byBinary: p.byBinary,
		sev: p.problems || p.sort == svcSortSeverity}
	if sk.sev {
		sk.hosts, sk.nowSec = keyOf(snap.Gen.Hosts, snap.Hosts), p.e.now.Unix()
	}
	if sk != p.sortK || p.sorted == nil {
		p.sortK = sk
		if sk.sev {
			p.sev = severities(snap, p.e.now, p.sev)
		}
		p.sorted = p.sortServices(p.sorted[:0])
		p.sorts++
	}
	k := svcOrderKey{sorted: sk, problems: p.problems, filter: p.filter}
	if k == p.key && p.order != nil {
		if snap != p.snap {
			p.snap = snap
			p.place()
		}
		return
	}
	if k.sorted != p.key.sorted || k.problems != p.key.problems || p.order == nil {
		p.narrow.reset()
	}
	p.key, p.snap = k, snap
	svcs := snap.Services
	var match func(i int32) bool
	if p.problems || p.filter != "" {
		match = func(i int32) bool {
			return (!p.problems || p.sev[i] != 0) && (p.filter == "" || serviceMatches(svcs[i], p.filter))
		}
	}
	order := p.narrow.rows(p.filter, p.sorted, match)
	p.order = order
	p.hostW, p.binW, p.rpcW = 0, 0, 0
	for n, i := range order {
		if len(order) == len(svcs) {
			i = int32(n) // every service: read them in sequence
		}
		if k := &svcs[i].Key; widerText(k.Host, p.hostW) {
			p.hostW = textWidth(k.Host)
		}
		if k := &svcs[i].Key; widerText(k.Binary, p.binW) {
			p.binW = textWidth(k.Binary)
		}
		if svcs[i].RPC != nil {
			p.rpcW = rpcLeast
		}
	}
	p.place()
}

// sortServices appends every service's index to order in the sort's
// order: grouped by host (as they arrive) or by binary, else by the sort's
// column, ties in the grouping's order.
func (p *servicesPane) sortServices(order []int32) []int32 {
	svcs := p.e.snap.Services
	base := p.groupOrder()
	at := func(n int) int32 {
		if base == nil {
			return int32(n)
		}
		return base[n]
	}
	if p.sort == svcSortGroup {
		for n := range svcs {
			order = append(order, at(n))
		}
		return order
	}
	if cap(p.rs) < 2*len(svcs) {
		p.rs = make([]ranked, 2*len(svcs))
	}
	rs := p.rs[:len(svcs)]
	var ref time.Time
	if len(svcs) > 0 {
		ref = svcs[0].Since
	}
	for n := range svcs {
		i := at(n)
		s := svcs[i]
		var k uint64
		switch p.sort {
		case svcSortSeverity:
			k = desc(uint64(p.sev[i]))
		case svcSortChanged:
			k = desc(intKey(int64(s.Since.Sub(ref)))) // Sub orders as Compare does
		case svcSortFlap:
			k = desc(floatKey(s.FlapPercent))
		}
		rs[n] = ranked{key: k, i: i}
	}
	for _, r := range sortRanked(rs, p.rs[len(svcs):]) {
		order = append(order, r.i)
	}
	return order
}

// groupOrder is every service's index grouped by binary then host when
// the pane groups by binary; nil when it groups by host, the snapshot's
// order.
func (p *servicesPane) groupOrder() []int32 {
	if !p.byBinary {
		return nil
	}
	svcs := p.e.snap.Services
	if k := keyOf(p.e.snap.Gen.Services, svcs); k != p.byBinK || p.byBin == nil {
		p.byBinK = k
		p.byBin = p.byBin[:0]
		for i := range svcs {
			p.byBin = append(p.byBin, int32(i))
		}
		slices.SortFunc(p.byBin, func(x, y int32) int {
			a, b := &svcs[x].Key, &svcs[y].Key
			return cmp.Or(cmp.Compare(a.Binary, b.Binary), cmp.Compare(a.Host, b.Host))
		})
	}
	return p.byBin
}

// severities is every service's severity at now, by snapshot index, in
// one walk over the services and the hosts (both sorted by host).
func severities(snap *state.Snapshot, now time.Time, sev []int32) []int32 {
	svcs, hosts := snap.Services, snap.Hosts
	if cap(sev) < len(svcs) {
		sev = make([]int32, len(svcs))
	}
	sev = sev[:len(svcs)]
	h := 0
	for i := range svcs {
		s := svcs[i]
		for h < len(hosts) && hosts[h].Name < s.Key.Host {
			h++
		}
		var host *state.Host
		if h < len(hosts) && hosts[h].Name == s.Key.Host {
			host = hosts[h]
		}
		sev[i] = severityWith(s, host, now)
	}
	return sev
}

// find is where the remembered service is in the order, or -1.
func (p *servicesPane) find() int {
	svcs := p.e.snap.Services
	if c := p.list.cursor; c >= 0 && c < len(p.order) && svcs[p.order[c]].Key == p.sel {
		return c
	}
	if i, ok := serviceIndex(p.e.snap, p.sel); ok {
		// Found by its key in the snapshot: look for its index, not its key.
		return slices.Index(p.order, int32(i))
	}
	for i, idx := range p.order { // a snapshot not sorted by key (not from a Store)
		if svcs[idx].Key == p.sel {
			return i
		}
	}
	return -1
}

// severityWith ranks how worrying a service looks, its host (nil when it
// has none) found; 0 means nothing to see.
func severityWith(s *state.Service, h *state.Host, now time.Time) int32 {
	var v int32
	switch s.Cond {
	case state.CondDown:
		v += 400
	case state.CondUnknown:
		v += 300
	case state.CondForcedDown:
		v += 200
	case state.CondDisabled:
		v += 100
	}
	if s.Flapping {
		v += 150
	}
	if h != nil {
		switch liveness(h, now) {
		case state.LiveLost:
			v += 60
		case state.LiveLate:
			v += 30
		}
	}
	if s.RPC != nil && s.RPC.Result != sources.ProbeOK {
		v += 20
	}
	return v
}

func serviceMatches(s *state.Service, f string) bool {
	return containsFold(s.Key.Host, f) || containsFold(s.Key.Binary, f) || containsFold(s.Zone, f) ||
		containsFold(condWord(s.Cond), f) || (s.Flapping && containsFold("flapping", f))
}

// condWord is the status text; it reads without colour.
func condWord(c state.Condition) string {
	switch c {
	case state.CondUp:
		return "● up"
	case state.CondDown:
		return "✖ DOWN"
	case state.CondDisabled:
		return "○ disabled"
	case state.CondForcedDown:
		return "⊘ FORCED"
	case state.CondUnknown:
		return "? UNKNOWN"
	}
	return "? " + strconv.Itoa(int(c))
}

func condInk(st *theme.Styles, c state.Condition) theme.Ink {
	switch c {
	case state.CondUp:
		return st.Status.Up
	case state.CondDown:
		return st.Status.Down
	case state.CondDisabled:
		return st.Status.Disabled
	case state.CondForcedDown:
		return st.Status.ForcedDown
	}
	return st.Status.Unknown
}

// columns are sized to the hosts and binaries listed; rpc takes some of what
// is left to say how old the ping is. Short of room, since, report, rpc,
// heartbeat and flap go in that order.
// rpcLeast is the rpc column's least width when services are pinged
// ("TMO 30.0s"); without pings it takes only its title's.
const rpcLeast = 9

// svcColRPC is the rpc column's index.
const svcColRPC = 7

func (p *servicesPane) columns() []column {
	host := column{title: "host", width: 12, fit: true, content: p.hostW, max: 40}
	bin := column{title: "binary", width: 14, fit: true, content: p.binW, max: 24}
	first, second := host, bin
	if p.byBinary {
		first, second = bin, host
	}
	p.colsBuf = append(p.colsBuf[:0], first, second,
		column{title: "status", width: 10},
		column{title: "flap", width: 5, right: true, drop: 1},
		column{title: "since", width: 7, right: true, drop: 5},
		column{title: "report", width: 7, right: true, drop: 4},
		column{title: "heartbeat", width: 10, drop: 2},
		column{title: "rpc", width: rpcLeast, fit: true, content: p.rpcW, grow: 1, max: 20, drop: 3},
	)
	return p.colsBuf
}

func (p *servicesPane) View() string {
	st := &p.e.st
	cols := p.columns()
	p.widths = layoutColumns(cols, p.width, p.widths)
	var b strings.Builder
	b.Grow((p.width + 64) * (p.list.height + 1))
	headerRow(&b, cols, p.widths, st)
	svcs := p.e.snap.Services
	if len(p.order) == 0 {
		b.WriteString("\n  ")
		b.WriteString(emptyText(len(svcs), "services"))
		return b.String()
	}
	lo, hi := p.list.window(len(p.order))
	prevGroup := "" // the top row always names its group
	for i := lo; i < hi; i++ {
		idx := int(p.order[i])
		if idx >= len(svcs) {
			break
		}
		s := svcs[idx]
		b.WriteByte('\n')
		g := p.groupOf(s)
		showGroup := p.sort != svcSortGroup || g != prevGroup || i == p.list.cursor
		prevGroup = g
		p.row(&b, s, i == p.list.cursor, showGroup)
	}
	return b.String()
}

func (p *servicesPane) groupOf(s *state.Service) string {
	if p.byBinary {
		return s.Key.Binary
	}
	return s.Key.Host
}

func (p *servicesPane) row(b *strings.Builder, s *state.Service, selected, showGroup bool) {
	st := &p.e.st
	now := p.e.now
	r := startRow(b, p.widths, selected, st)
	first, second := s.Key.Host, s.Key.Binary
	if p.byBinary {
		first, second = second, first
	}
	if !showGroup {
		first = "〃"
	}
	r.cell(first, false, st.Table.Group)
	r.cell(second, false, theme.Ink{})
	r.cell(condWord(s.Cond), false, condInk(st, s.Cond))
	if s.Flapping { // the percentage only says something of a flapping service
		r.cell("↯"+format.Percent(s.FlapPercent), true, st.Status.Flapping)
	} else {
		r.cell("", true, theme.Ink{})
	}
	r.cell(sinceText(s, now), true, theme.Ink{})
	if s.ReportLate(now) {
		r.cell(lateMark+format.AgeSince(now, s.UpdatedAt), true, st.Table.Warn)
	} else {
		r.cell(format.AgeSince(now, s.UpdatedAt), true, theme.Ink{})
	}
	hbText, hbInk := heartbeatCell(p.e, s.Key.Host)
	r.cell(hbText, false, hbInk)
	rpcText, rpcInk := rpcCell(s.RPC, st)
	if s.RPC != nil && !s.RPC.At.IsZero() {
		// With room, how old the ping is ("ok 9ms 20s ago").
		if age := format.AgeSince(now, s.RPC.At); textWidth(rpcText)+len(age)+5 <= p.widths[svcColRPC] {
			rpcText += " " + age + " ago"
		}
	}
	r.cell(rpcText, false, rpcInk)
	r.end(st)
}

// lateMark leads a Nova report older than two report intervals, so that it
// reads late without colour too.
const lateMark = "!"

// sinceText is how long a service has been in its condition as state knows
// it: "5m12s" since the change stacktop saw, "≤40d11h" since its process
// started or "≤5m12s" since Nova's last report (at most that long), or
// "≥12m00s" since stacktop first listed it (at least that long).
func sinceText(s *state.Service, now time.Time) string {
	if s.CondSince.IsZero() {
		return "≥" + format.AgeSince(now, s.FirstSeen)
	}
	switch s.SinceBasis {
	case state.SinceSeen:
		return format.AgeSince(now, s.CondSince)
	case state.SinceLastReport, state.SinceProcessStart:
		return "≤" + format.AgeSince(now, s.CondSince)
	}
	return "≥" + format.AgeSince(now, s.CondSince)
}

// heartbeatCell is the age of a host's last heartbeat, marked late or lost.
// When state says a host's silence proves nothing (the heartbeat feed is
// down, or the broker blocks every publisher), a silent host is shown as
// unknown ("?"), not lost.
func heartbeatCell(e *env, host string) (string, theme.Ink) {
	now, st := e.now, &e.st
	h := findHost(e.snap, host)
	if h == nil {
		return "", theme.Ink{}
	}
	age := format.AgeSince(now, h.LastSeen)
	live := liveness(h, now)
	if live != state.LiveFresh && e.silenceUnproven() != "" {
		return "? " + age, st.Table.Dim
	}
	if h.Conflicting(now) {
		return "CONFLICT " + age, st.Table.Bad // two senders claim the name: its age proves nothing
	}
	switch live {
	case state.LiveLost:
		return "LOST " + age, st.Table.Bad
	case state.LiveLate:
		return "late " + age, st.Table.Warn
	}
	return age, theme.Ink{}
}

// rpcCell is the last RPC ping's result and round trip.
func rpcCell(pr *state.RPCPing, st *theme.Styles) (string, theme.Ink) {
	if pr == nil {
		return "", theme.Ink{}
	}
	switch pr.Result {
	case sources.ProbeOK:
		return "ok " + format.RTT(pr.RTT), theme.Ink{}
	case sources.ProbeTimeout:
		return "TMO " + format.RTT(pr.RTT), st.Table.Bad
	case sources.ProbeBlocked:
		return "BLOCKED", st.Table.Bad
	}
	return "ERR " + string(pr.Result), st.Table.Bad
}

func emptyText(total int, what string) string {
	if total == 0 {
		return "no " + what + " yet"
	}
	return "no " + what + " match (" + strconv.Itoa(total) + " hidden by filter)"
}
