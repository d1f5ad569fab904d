package nova

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stacktop/stacktop/redact"
	"github.com/stacktop/stacktop/secretfile"
)

// Issue 11: a Keystone URL written with credentials and no scheme, from
// clouds.yaml or OS_AUTH_URL, is never printed whole; nor is a value of
// clouds.yaml that yaml cannot decode.
func TestConfigErrorsHideSecrets(t *testing.T) {
	const secret = "S3cr3t"
	tests := []struct {
		name   string
		clouds string
		env    map[string]string
	}{
		{name: "clouds.yaml auth_url without scheme", clouds: "clouds:\n  c:\n    auth:\n      auth_url: admin:" + secret + "@keystone:5000/v3\n      username: admin\n      password: x" + secret + "\n      user_domain_name: Default\n"},
		{name: "clouds.yaml auth_url with userinfo", clouds: "clouds:\n  c:\n    auth:\n      auth_url: https://admin:" + secret + "@keystone:5000/v3\n      username: admin\n      password: pw\n      user_domain_name: Default\n"},
		{name: "clouds.yaml auth_url without '@'", clouds: "clouds:\n  c:\n    auth:\n      auth_url: https://admin:" + secret + "/v3\n      username: admin\n      password: pw\n      user_domain_name: Default\n"},
		{name: "clouds.yaml value of the wrong type", clouds: "clouds:\n  c:\n    auth: " + secret + "\n"},
		{name: "clouds.yaml password of the wrong type", clouds: "clouds:\n  c:\n    auth:\n      password: {x: " + secret + "}\n"},
		{name: "OS_AUTH_URL without scheme", env: map[string]string{"OS_AUTH_URL": "admin:" + secret + "@keystone:5000/v3", "OS_USERNAME": "admin", "OS_PASSWORD": "pw", "OS_USER_DOMAIN_NAME": "Default"}},
		{name: "OS_AUTH_URL with userinfo", env: map[string]string{"OS_AUTH_URL": "https://admin:" + secret + "@keystone:5000/v3", "OS_USERNAME": "admin", "OS_PASSWORD": "pw", "OS_USER_DOMAIN_NAME": "Default"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := Config{}
			if tt.clouds != "" {
				cfg = Config{Cloud: "c", CloudsFile: writeClouds(t, tt.clouds, "")}
			}
			_, err := newSource(cfg, env(tt.env))
			if err == nil {
				t.Fatal("accepted")
			}
			if strings.Contains(err.Error(), secret) || strings.Contains(err.Error(), "admin:") {
				t.Errorf("error shows the secret: %v", err)
			}
		})
	}
}

// Issue 11: clouds.yaml and secure.yaml that others can write are refused;
// readable ones give one warning naming the file.
func TestCloudsFilePermissions(t *testing.T) {
	const clouds = "clouds:\n  c:\n    auth:\n      auth_url: https://keystone:5000/v3\n      username: admin\n      user_domain_name: Default\n      project_name: admin\n      project_domain_name: Default\n"
	tests := []struct {
		name                string
		cloudsMode, secMode os.FileMode
		wantErr, wantWarn   bool
	}{
		{"0600", 0o600, 0o600, false, false},
		{"secure.yaml 0640", 0o600, 0o640, false, true},
		{"secure.yaml 0644", 0o644, 0o644, false, true}, // clouds.yaml holds no secret: only secure.yaml is warned of
		{"secure.yaml 0666", 0o600, 0o666, true, false},
		{"clouds.yaml 0666", 0o666, 0o600, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeClouds(t, clouds, "clouds:\n  c:\n    auth:\n      password: S3cr3t\n")
			secure := filepath.Join(filepath.Dir(path), "secure.yaml")
			for p, m := range map[string]os.FileMode{path: tt.cloudsMode, secure: tt.secMode} {
				if err := os.Chmod(p, m); err != nil {
					t.Fatal(err)
				}
			}
			var warnings []string
			_, err := newSource(Config{Cloud: "c", CloudsFile: path, Warn: func(w string) { warnings = append(warnings, w) }}, env(nil))
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want one: %v", err, tt.wantErr)
			}
			if tt.wantErr && !strings.Contains(err.Error(), "writable by others") {
				t.Errorf("err = %v", err)
			}
			if got := len(warnings) > 0; got != tt.wantWarn {
				t.Errorf("warnings %q, want some: %v", warnings, tt.wantWarn)
			}
			for _, w := range warnings {
				if !strings.Contains(w, secure) || strings.Contains(w, "S3cr3t") {
					t.Errorf("warning %q", w)
				}
			}
		})
	}
}

// FuzzCloudsYAML: whatever clouds.yaml holds, resolving a cloud from it
// never panics, and its errors show none of the file's secrets and quote
// no value the way yaml.v2 does.
func FuzzCloudsYAML(f *testing.F) {
	for _, p := range []string{"testdata/clouds.yaml", "../../cmd/stacktop/testdata/clouds.yaml"} {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(string(b))
		}
	}
	for _, s := range []string{
		"clouds:\n  c:\n    auth:\n      auth_url: admin:S3cr3tPass@keystone:5000/v3\n      username: admin\n      password: S3cr3tPass\n      user_domain_name: Default\n",
		"clouds:\n  c:\n    auth:\n      auth_url: https://admin:S3cr3tPass@keystone:5000/v3\n      password: S3cr3tPass\n",
		"clouds:\n  c:\n    auth: S3cr3tPass\n",
		"clouds:\n  c:\n    auth:\n      password: {x: S3cr3tPass}\n",
		"clouds:\n  c:\n    auth:\n      auth_url: https://k/v3\n      application_credential_id: id\n      application_credential_secret: S3cr3tPass\n",
		"clouds:\n  c:\n    auth:\n      auth_url: https://k/v3\n      token: S3cr3tToken\n    auth_type: token\n",
		"clouds: [S3cr3tPass]\n", "clouds:\n  c:\n    profile: S3cr3tPass\n", "clouds:\n  c:\n    verify: S3cr3tPass\n", "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, doc string) {
		if len(doc) > 1<<16 {
			return
		}
		path := filepath.Join(t.TempDir(), "clouds.yaml")
		if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := resolve(Config{Cloud: "c", CloudsFile: path}, env(nil))
		if err == nil {
			return
		}
		msg := err.Error()
		if strings.Contains(msg, "`") {
			t.Fatalf("error %q quotes a value", msg)
		}
		for _, s := range secretfile.YAMLSecrets([]byte(doc)) {
			if len(s) >= redact.MinSubstring && strings.Contains(msg, s) && !strings.Contains(redact.Placeholder+path, s) {
				t.Fatalf("error %q shows the secret %q", msg, s)
			}
		}
	})
}
