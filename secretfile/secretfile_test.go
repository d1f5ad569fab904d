package secretfile

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestRead(t *testing.T) {
	tests := []struct {
		mode    os.FileMode
		secret  bool
		wantErr bool
		warn    bool
	}{
		{0o600, true, false, false},
		{0o400, true, false, false},
		{0o640, true, false, true}, // the group can read the secret
		{0o644, true, false, true},
		{0o644, false, false, false}, // nothing secret to read
		{0o660, true, true, false},   // the group can write it
		{0o666, true, true, false},
		{0o666, false, true, false}, // no secret, but it says where the credentials go
		{0o602, false, true, false},
	}
	for _, tt := range tests {
		path := filepath.Join(t.TempDir(), "config.yaml")
		if err := os.WriteFile(path, []byte("password: S3cr3t\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(path, tt.mode); err != nil { // umask does not apply to chmod
			t.Fatal(err)
		}
		b, warn, err := Read(path, func([]byte) bool { return tt.secret })
		if (err != nil) != tt.wantErr {
			t.Errorf("%04o secret=%v: err = %v, want error %v", tt.mode, tt.secret, err, tt.wantErr)
		}
		if err != nil && (!strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "chmod go-w")) {
			t.Errorf("%04o: error %q does not name the file and the fix", tt.mode, err)
		}
		if err == nil && string(b) != "password: S3cr3t\n" {
			t.Errorf("%04o: read %q", tt.mode, b)
		}
		if (warn != "") != tt.warn {
			t.Errorf("%04o secret=%v: warning %q, want one: %v", tt.mode, tt.secret, warn, tt.warn)
		}
		if strings.Contains(warn+func() string {
			if err != nil {
				return err.Error()
			}
			return ""
		}(), "S3cr3t") {
			t.Errorf("%04o: the secret is in the message", tt.mode)
		}
	}
}

func TestReadRefusesHugeAndIrregular(t *testing.T) {
	dir := t.TempDir()
	if _, _, err := Read(dir, nil); err == nil {
		t.Error("a directory was read")
	}
	big := filepath.Join(dir, "big")
	if err := os.WriteFile(big, make([]byte, MaxSize+1), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := Read(big, nil); err == nil {
		t.Error("a file over MaxSize was read")
	}
}

func TestYAMLSecrets(t *testing.T) {
	got := YAMLSecrets([]byte(`
clouds:
  prod:
    auth: {auth_url: "https://keystone:5000/v3", username: admin, password: "S3cr3t"}
    application_credential_secret: AppS3cr3t
rabbitmq: {url: "http://u:P%40ss@mq:15672", password_file: /etc/pw}
rpc: {transport_url: "rabbit://n:T1@h1,n:T2@h2/nova"}
token: [Tok1]
`))
	for _, want := range []string{"S3cr3t", "AppS3cr3t", "P%40ss", "P@ss", "T1", "T2", "Tok1"} {
		if !slices.Contains(got, want) {
			t.Errorf("YAMLSecrets misses %q: %q", want, got)
		}
	}
	if slices.Contains(got, "/etc/pw") || slices.Contains(got, "admin") {
		t.Errorf("YAMLSecrets takes a file name or a user for a secret: %q", got)
	}
	if got := YAMLSecrets([]byte("nova: {cloud: prod}\n")); len(got) != 0 {
		t.Errorf("no secret: %q", got)
	}
}
