package nova

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestConfigErrors(t *testing.T) {
	good := func() *Auth {
		return &Auth{URL: "https://keystone.example:5000/v3", Username: "u", Password: testPassword, UserDomainName: "Default", ProjectName: "p", ProjectDomainName: "Default"}
	}
	with := func(f func(a *Auth)) *Auth { a := good(); f(a); return a }
	tests := []struct {
		name string
		cfg  Config
		env  map[string]string
		want string
	}{
		{"nothing at all", Config{}, nil, "nova: config: no cloud given"},
		{"both auth and cloud", Config{Auth: good(), Cloud: "x"}, nil, "not both"},
		{"interval too short", Config{Auth: good(), Interval: 100 * time.Millisecond}, nil, "interval 100ms is shorter than the minimum 1s"},
		{"timeout not below interval", Config{Auth: good(), Interval: 5 * time.Second, Timeout: 5 * time.Second}, nil, "timeout 5s must be shorter than the interval 5s"},
		{"negative timeout", Config{Auth: good(), Timeout: -time.Second}, nil, "timeout -1s is negative"},
		{"bad interface", Config{Auth: good(), Interface: "private"}, nil, `interface "private" is not public, internal or admin`},
		{"no auth URL", Config{Auth: with(func(a *Auth) { a.URL = "" })}, nil, "no auth URL"},
		{"auth URL not http", Config{Auth: with(func(a *Auth) { a.URL = "keystone:5000" })}, nil, "is not an http(s)://host"},
		{"no credentials", Config{Auth: with(func(a *Auth) { a.Password = "" })}, nil, "no credentials: need a password, an application credential or a token"},
		{"password without user", Config{Auth: with(func(a *Auth) { a.Username = "" })}, nil, "password without a user"},
		{"user without domain", Config{Auth: with(func(a *Auth) { a.UserDomainName = "" })}, nil, `user "u" needs a user domain`},
		{"project without domain", Config{Auth: with(func(a *Auth) { a.ProjectDomainName = "" })}, nil, `project "p" needs a project domain`},
		{"app credential without secret", Config{Auth: &Auth{URL: "https://k/v3", ApplicationCredentialID: "id"}}, nil, "application credential without its secret"},
		{"app credential by name without user", Config{Auth: &Auth{URL: "https://k/v3", ApplicationCredentialName: "n", ApplicationCredentialSecret: "s3cr3t"}}, nil, "needs a user"},
		{"missing CA file", Config{Auth: good(), CAFile: "/nonexistent/ca.pem"}, nil, "nova: config: CA file: open /nonexistent/ca.pem"},
		{"missing clouds file", Config{Cloud: "c", CloudsFile: "/nonexistent/clouds.yaml"}, nil, "nova: config: clouds file: stat /nonexistent/clouds.yaml"},
		{"openrc without password", Config{}, map[string]string{"OS_AUTH_URL": "https://k/v3", "OS_USERNAME": "u"}, "no credentials"},
		{"openrc with bad interface", Config{}, map[string]string{"OS_AUTH_URL": "https://k/v3", "OS_INTERFACE": "backdoor"}, `interface "backdoor"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := newSource(tt.cfg, env(tt.env))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
			if !strings.HasPrefix(err.Error(), "nova: config: ") {
				t.Errorf("err %q does not start with nova: config:", err)
			}
			if strings.Contains(err.Error(), testPassword) {
				t.Errorf("err %q leaks the password", err)
			}
		})
	}
}

// writeClouds writes clouds.yaml (and secure.yaml when given) to a temp dir.
func writeClouds(t *testing.T, clouds, secure string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "clouds.yaml"), []byte(clouds), 0o600); err != nil {
		t.Fatal(err)
	}
	if secure != "" {
		if err := os.WriteFile(filepath.Join(dir, "secure.yaml"), []byte(secure), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return filepath.Join(dir, "clouds.yaml")
}

// The way an integration test constructs the source: a clouds.yaml path and a cloud name.
func TestCloudsYAML(t *testing.T) {
	f := newFakeCloud(t, false)
	clouds := `clouds:
  prod:
    auth:
      auth_url: ` + f.authURL() + `
      username: ` + testUser + `
      user_domain_name: Default
      project_name: admin
      project_domain_name: Default
    region_name: RegionOne
    interface: internal
  appcred:
    auth_type: v3applicationcredential
    auth:
      auth_url: ` + f.authURL() + `
      application_credential_id: ac-1
      application_credential_secret: ` + testAppCred + `
  token:
    auth_type: token
    auth:
      auth_url: ` + f.authURL() + `
      token: user-token-1
      project_name: admin
      project_domain_name: Default
  elsewhere:
    auth:
      auth_url: ` + f.authURL() + `
      username: ` + testUser + `
      password: ` + testPassword + `
      user_domain_name: Default
    region_name: Nowhere
`
	secure := `clouds:
  prod:
    auth:
      password: ` + testPassword + `
`
	path := writeClouds(t, clouds, secure)
	tests := []struct {
		cloud       string
		wantReauth  bool
		wantPollErr string
	}{
		{"prod", true, ""}, // password from secure.yaml beside clouds.yaml
		{"appcred", true, ""},
		{"token", true, ""}, // a token with a scope can be re-scoped
		{"elsewhere", true, `nova: find compute endpoint: no compute endpoint in the service catalog for that region and interface`},
	}
	for _, tt := range tests {
		t.Run(tt.cloud, func(t *testing.T) {
			s := newTestSource(t, Config{Cloud: tt.cloud, CloudsFile: path})
			if s.Target() != tt.cloud {
				t.Errorf("Target = %q", s.Target())
			}
			if s.cfg.auth.AllowReauth != tt.wantReauth {
				t.Errorf("AllowReauth = %v", s.cfg.auth.AllowReauth)
			}
			b, err := s.poll(context.Background())
			if tt.wantPollErr != "" {
				if err == nil || err.Error() != tt.wantPollErr {
					t.Fatalf("err = %v, want %s", err, tt.wantPollErr)
				}
				return
			}
			if err != nil || len(b.Services) != 4 || b.Health.Target != tt.cloud {
				t.Fatalf("poll: %v, %d services, target %q", err, len(b.Services), b.Health.Target)
			}
		})
	}

	t.Run("OS_CLOUD and OS_CLIENT_CONFIG_FILE", func(t *testing.T) {
		t.Setenv("OS_CLIENT_CONFIG_FILE", path)
		s2, err := newSource(Config{}, env(map[string]string{"OS_CLOUD": "prod", "OS_CLIENT_CONFIG_FILE": path}))
		if err != nil || s2.Target() != "prod" {
			t.Fatalf("newSource: %v", err)
		}
		if _, err := s2.poll(context.Background()); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("unknown cloud", func(t *testing.T) {
		_, err := newSource(Config{Cloud: "staging", CloudsFile: path}, env(nil))
		if err == nil || err.Error() != `nova: config: cloud "staging" (`+path+`): cloud "staging" not found in clouds.yaml` {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("cloud without credentials", func(t *testing.T) {
		p := writeClouds(t, "clouds:\n  bare:\n    auth:\n      auth_url: https://k/v3\n      username: u\n", "")
		_, err := newSource(Config{Cloud: "bare", CloudsFile: p}, env(nil))
		if err == nil || !strings.Contains(err.Error(), `nova: config: cloud "bare": no credentials`) {
			t.Fatalf("err = %v", err)
		}
	})
}

// An openrc for Keystone v3 sets OS_USER_DOMAIN_NAME and OS_PROJECT_DOMAIN_NAME.
func TestOpenrcEnvironment(t *testing.T) {
	f := newFakeCloud(t, false)
	vars := map[string]string{
		"OS_AUTH_URL": f.authURL(), "OS_USERNAME": testUser, "OS_PASSWORD": testPassword,
		"OS_USER_DOMAIN_NAME": "Default", "OS_PROJECT_NAME": "admin", "OS_PROJECT_DOMAIN_NAME": "Default",
		"OS_REGION_NAME": testRegion, "OS_INTERFACE": "internal",
	}
	s, err := newSource(Config{}, env(vars))
	if err != nil {
		t.Fatal(err)
	}
	if s.cfg.endpoint.Region != testRegion || s.cfg.endpoint.Availability != "internal" || !s.cfg.auth.AllowReauth {
		t.Errorf("resolved %+v reauth %v", s.cfg.endpoint, s.cfg.auth.AllowReauth)
	}
	if _, err := s.poll(context.Background()); err != nil {
		t.Fatal(err)
	}

	// A bare token (no scope) cannot be re-issued: gophercloud refuses AllowReauth for it.
	s2, err := newSource(Config{}, env(map[string]string{"OS_AUTH_URL": f.authURL(), "OS_TOKEN": "user-token-2"}))
	if err != nil {
		t.Fatal(err)
	}
	if s2.cfg.auth.AllowReauth {
		t.Error("AllowReauth for an unscoped token")
	}
}
