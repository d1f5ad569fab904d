package heartbeat

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// clockTicks is USER_HZ, the unit of /proc/PID/stat's starttime: 100 on
// every Linux architecture stacktop is built for.
const clockTicks = 100

// procFS reads what a heartbeat says about its node from a /proc tree.
type procFS struct {
	root  string // "/proc", or a fake tree in tests
	btime time.Time
	match func(name string) bool
}

// newProcFS reads the boot time once: /proc/stat's btime can move by a
// second between reads, which would make a process look restarted.
func newProcFS(root string, match func(string) bool) (*procFS, error) {
	if match == nil {
		match = DefaultMatch
	}
	p := &procFS{root: root, match: match}
	b, err := os.ReadFile(filepath.Join(root, "stat"))
	if err != nil {
		return nil, fmt.Errorf("boot time: %w", err)
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "btime "); ok {
			sec, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			if err != nil {
				return nil, fmt.Errorf("boot time: %q: %w", strings.TrimSpace(line), err)
			}
			p.btime = time.Unix(sec, 0).UTC()
			return p, nil
		}
	}
	return nil, errors.New("boot time: no btime line in " + filepath.Join(root, "stat"))
}

// DefaultMatch selects the OpenStack service processes a heartbeat lists:
// nova-* and neutron-*.
func DefaultMatch(name string) bool {
	return strings.HasPrefix(name, "nova-") || strings.HasPrefix(name, "neutron-")
}

// bootID is the kernel's boot id, "" when unreadable.
func (p *procFS) bootID() string {
	b, err := os.ReadFile(filepath.Join(p.root, "sys/kernel/random/boot_id"))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// uptime is the first field of /proc/uptime in seconds, 0 when unreadable.
func (p *procFS) uptime() float64 {
	b, err := os.ReadFile(filepath.Join(p.root, "uptime"))
	if err != nil {
		return 0
	}
	f, _, _ := strings.Cut(string(b), " ")
	v, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
	if err != nil || v < 0 {
		return 0
	}
	return v
}

// processes lists matching processes sorted by pid, at most MaxProcesses.
// Processes that vanish while being read are skipped.
func (p *procFS) processes() ([]Proc, error) {
	d, err := os.Open(p.root)
	if err != nil {
		return nil, err
	}
	names, err := d.Readdirnames(-1)
	d.Close()
	if err != nil {
		return nil, err
	}
	var out []Proc
	for _, n := range names {
		pid, err := strconv.Atoi(n)
		if err != nil || pid <= 0 {
			continue
		}
		pr, ok := p.process(pid)
		if ok {
			out = append(out, pr)
		}
	}
	slices.SortFunc(out, func(a, b Proc) int { return a.PID - b.PID })
	if len(out) > MaxProcesses {
		out = out[:MaxProcesses]
	}
	return out, nil
}

// process reads one pid; ok is false when it does not match or is gone.
func (p *procFS) process(pid int) (Proc, bool) {
	dir := filepath.Join(p.root, strconv.Itoa(pid))
	stat, err := os.ReadFile(filepath.Join(dir, "stat"))
	if err != nil {
		return Proc{}, false
	}
	// pid (comm) state ppid ... : comm may hold spaces and parentheses.
	open, closing := bytes.IndexByte(stat, '('), bytes.LastIndexByte(stat, ')')
	if open < 0 || closing < open {
		return Proc{}, false
	}
	comm := string(stat[open+1 : closing])
	fields := strings.Fields(string(stat[closing+1:]))
	// fields[0] is state (field 3); starttime is field 22, fields[19].
	if len(fields) < 20 {
		return Proc{}, false
	}
	if fields[0] == "Z" {
		return Proc{}, false // a zombie is not a running service
	}
	name, ok := p.name(dir, comm)
	if !ok {
		return Proc{}, false
	}
	ticks, err := strconv.ParseUint(fields[19], 10, 64)
	if err != nil {
		return Proc{}, false
	}
	start := p.btime.Add(time.Duration(ticks) * (time.Second / clockTicks))
	return Proc{Name: name, PID: pid, Start: start}, true
}

// name picks the service name of a process: the kernel's comm is cut at 15
// bytes ("neutron-openvsw"), so argv[0] is preferred (after any
// setproctitle suffix such as "nova-conductor: worker"), and for a script
// run as "python3 /usr/bin/nova-compute" argv[1].
func (p *procFS) name(dir, comm string) (string, bool) {
	var cands []string
	if b, err := os.ReadFile(filepath.Join(dir, "cmdline")); err == nil && len(b) > 0 {
		args := strings.Split(strings.TrimRight(string(b), "\x00"), "\x00")
		cands = append(cands, argName(args[0]))
		if len(args) > 1 && strings.HasPrefix(argName(args[0]), "python") {
			cands = append(cands, argName(args[1]))
		}
	}
	cands = append(cands, comm)
	for _, c := range cands {
		if c != "" && len(c) <= maxStringLen && p.match(c) {
			return c, true
		}
	}
	return "", false
}

// argName is the base name of an argv entry, cut at a space or colon.
func argName(a string) string {
	if i := strings.IndexAny(a, " :"); i >= 0 {
		a = a[:i]
	}
	return filepath.Base(a)
}
