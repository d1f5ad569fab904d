package heartbeat

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// fakeProc writes a /proc tree: files maps paths under it to contents.
func fakeProc(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for p, c := range files {
		full := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

// stat is a /proc/PID/stat line with the given comm, state and starttime (ticks).
func stat(pid, comm, state string, start string) string {
	f := []string{pid, "(" + comm + ")", state}
	for i := 4; i <= 21; i++ {
		f = append(f, "0")
	}
	return strings.Join(append(f, start, "0", "0"), " ") + "\n"
}

func TestProcFS(t *testing.T) {
	root := fakeProc(t, map[string]string{
		"stat":                      "cpu  1 2 3\nbtime 1764000000\nprocesses 9\n",
		"uptime":                    "3600.25 7000.00\n",
		"sys/kernel/random/boot_id": "8d1c7f0e-aaaa-bbbb-cccc-000000000001\n",
		"100/stat":                  stat("100", "nova-compute", "S", "12345"),
		"100/cmdline":               "/usr/bin/python3\x00/usr/bin/nova-compute\x00--config-file\x00/etc/nova/nova.conf\x00",
		"101/stat":                  stat("101", "neutron-openvsw", "S", "200"),
		"101/cmdline":               "/usr/bin/python3\x00/usr/bin/neutron-openvswitch-agent\x00",
		"102/stat":                  stat("102", "nova-conductor", "S", "300"),
		"102/cmdline":               "nova-conductor: ConductorManager worker(0)\x00\x00\x00",
		"103/stat":                  stat("103", "nova-api", "Z", "400"),
		"104/stat":                  stat("104", "bash", "S", "500"),
		"104/cmdline":               "-bash\x00",
		"105/stat":                  stat("105", "nova-x (odd) y", "S", "600"),
		"106/stat":                  "106 (nova-short) S 1\n", // truncated: skipped
		"107/stat":                  stat("107", "kworker/0:1", "I", "1"),
		"self/stat":                 stat("1", "ignored", "S", "1"),
	})
	p, err := newProcFS(root, nil)
	if err != nil {
		t.Fatal(err)
	}
	if p.bootID() != "8d1c7f0e-aaaa-bbbb-cccc-000000000001" || p.uptime() != 3600.25 {
		t.Errorf("boot id %q, uptime %v", p.bootID(), p.uptime())
	}
	procs, err := p.processes()
	if err != nil {
		t.Fatal(err)
	}
	btime := time.Unix(1764000000, 0)
	want := []Proc{
		{"nova-compute", 100, btime.Add(123450 * time.Millisecond)},
		{"neutron-openvswitch-agent", 101, btime.Add(2 * time.Second)},
		{"nova-conductor", 102, btime.Add(3 * time.Second)},
		{"nova-x (odd) y", 105, btime.Add(6 * time.Second)},
	}
	if len(procs) != len(want) {
		t.Fatalf("processes %+v, want %+v", procs, want)
	}
	for i := range want {
		if procs[i].Name != want[i].Name || procs[i].PID != want[i].PID || !procs[i].Start.Equal(want[i].Start) {
			t.Errorf("process %d = %+v, want %+v", i, procs[i], want[i])
		}
	}
}

func TestProcFSErrors(t *testing.T) {
	if _, err := newProcFS(fakeProc(t, map[string]string{"stat": "cpu 1\n"}), nil); err == nil {
		t.Error("no btime: want an error")
	}
	if _, err := newProcFS(t.TempDir(), nil); err == nil {
		t.Error("no /proc/stat: want an error")
	}
	p, err := newProcFS(fakeProc(t, map[string]string{"stat": "btime 1\n", "uptime": "garbage"}), nil)
	if err != nil {
		t.Fatal(err)
	}
	if p.uptime() != 0 || p.bootID() != "" {
		t.Errorf("unreadable uptime %v / boot id %q: want zero values", p.uptime(), p.bootID())
	}
}

// TestProcFSReal finds a process started here under a nova-like name in the real /proc.
func TestProcFSReal(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc")
	}
	path := filepath.Join(t.TempDir(), "nova-procfstest")
	b, err := os.ReadFile("/bin/sleep")
	if err != nil {
		t.Skip(err)
	}
	if err := os.WriteFile(path, b, 0o755); err != nil {
		t.Fatal(err)
	}
	before := time.Now()
	cmd := exec.Command(path, "60")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	p, err := newProcFS("/proc", func(n string) bool { return n == "nova-procfstest" })
	if err != nil {
		t.Fatal(err)
	}
	procs, err := p.processes()
	if err != nil {
		t.Fatal(err)
	}
	if len(procs) != 1 || procs[0].PID != cmd.Process.Pid {
		t.Fatalf("processes %+v, want pid %d", procs, cmd.Process.Pid)
	}
	// btime is whole seconds and starttime is in 10 ms ticks.
	if d := procs[0].Start.Sub(before); d < -1100*time.Millisecond || d > 2*time.Second {
		t.Errorf("start %s, started at %s", procs[0].Start, before)
	}
}
