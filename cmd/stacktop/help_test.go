package main

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
)

// Issue 10: --help lists every subcommand, every environment variable,
// every config key and the exit statuses.
func TestHelpListsEverything(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run([]string{"--help"}, &stdout, &stderr, noEnv); code != 0 {
		t.Fatalf("exit %d", code)
	}
	help := stdout.String()
	want := []string{"record", "replay", "timeline", "agent", "EXIT STATUS", "    2   a usage or configuration error",
		"STACKTOP_CONFIG", "STACKTOP_RABBITMQ_URL", "STACKTOP_RABBITMQ_USER", "STACKTOP_RABBITMQ_PASSWORD",
		"STACKTOP_AMQP_URL", "STACKTOP_AMQP_USER", "STACKTOP_AMQP_PASSWORD", "STACKTOP_TRANSPORT_URL", "NO_COLOR", "OS_CLOUD",
		"STACKTOP_AMQP_PASSWORD_FILE", "STACKTOP_AMQP_CA_FILE", "STACKTOP_AGENT_HOST", "STACKTOP_AGENT_INTERVAL", "STACKTOP_AGENT_CONFIG"}
	// Every key of the config file, by its section.
	top, names := yamlFields(reflect.TypeFor[config]())
	for _, name := range names {
		want = append(want, name)
		if ft := top[name]; ft.Kind() == reflect.Struct && ft != durationType {
			_, keys := yamlFields(ft)
			section := help[strings.Index(help, "    "+name+":"):]
			section = section[:regexp.MustCompile(`\n    \S`).FindStringIndex(section)[0]]
			for _, k := range keys {
				if !strings.Contains(section, k) {
					t.Errorf("--help does not list %s.%s", name, k)
				}
			}
		}
	}
	for _, w := range want {
		if !strings.Contains(help, w) {
			t.Errorf("--help does not mention %q", w)
		}
	}
	// Every environment variable the code reads is in the help.
	for _, file := range []string{"config.go", "main.go", "rpcping.go", "agent.go", "memory.go"} {
		src, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for _, part := range strings.Split(string(src), `getenv("`)[1:] {
			name := part[:strings.IndexByte(part, '"')]
			if !strings.Contains(help, name) && !strings.HasPrefix(name, "OS_") && name != "INVOCATION_ID" {
				t.Errorf("%s reads %s, which --help does not list", file, name)
			}
		}
	}
}

// Issue 10: stacktop record refuses to replace a file without --force, and
// --duration 0 is an error (leaving it out records until ctrl-c).
func TestRecordRefusesOverwriteAndZeroDuration(t *testing.T) {
	clearOS(t)
	dir := t.TempDir()
	existing := filepath.Join(dir, "incident.jsonl")
	must(t, os.WriteFile(existing, []byte("the incident\n"), 0o600))
	bad := filepath.Join(dir, "bad.yaml")
	must(t, os.WriteFile(bad, []byte("nova: {clud: x}\n"), 0o600))
	tests := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"record", existing, "--demo", "--duration", "1s"}, 2, "incident.jsonl exists: give --force to replace it"},
		{[]string{"record", existing, "--config", bad, "--force"}, 2, "nova.clud: unknown key"}, // past the check
		{[]string{"record", filepath.Join(dir, "new.jsonl"), "--demo", "--duration", "0s"}, 2, "--duration 0s: want a positive duration"},
		{[]string{"record", filepath.Join(dir, "new.jsonl"), "--demo", "--duration", "-5s"}, 2, "want a positive duration"},
		{[]string{"--record", existing, "--config", bad}, 2, "incident.jsonl exists"},
	}
	for _, tt := range tests {
		var stdout, stderr bytes.Buffer
		code := run(tt.args, &stdout, &stderr, noEnv)
		if code != tt.code || !strings.Contains(stderr.String(), tt.want) {
			t.Errorf("%q: exit %d, stderr %q; want %d and %q", tt.args, code, stderr.String(), tt.code, tt.want)
		}
		if b, _ := os.ReadFile(existing); string(b) != "the incident\n" && !strings.Contains(strings.Join(tt.args, " "), "--force") {
			t.Fatalf("%q replaced the existing recording", tt.args)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "new.jsonl")); err == nil {
		t.Error("a refused --duration left a file behind")
	}
}
