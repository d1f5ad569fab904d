package nova

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/config/clouds"

	"github.com/stacktop/stacktop/redact"
	"github.com/stacktop/stacktop/secretfile"
)

// DefaultInterval is the poll interval when Config.Interval is zero.
const DefaultInterval = 10 * time.Second

// MinInterval is the shortest poll interval accepted: polling faster only adds load to a struggling API.
const MinInterval = time.Second

// Config says which cloud to watch and how. Exactly one way of authenticating
// applies, in this order: Auth (explicit credentials), Cloud (an entry of
// clouds.yaml), OS_CLOUD, then the OS_* variables of an openrc file.
type Config struct {
	// Cloud is the clouds.yaml entry to use; "" falls back to OS_CLOUD.
	Cloud string
	// CloudsFile is an explicit clouds.yaml path (secure.yaml is looked for beside it);
	// "" searches like the openstack CLI: OS_CLIENT_CONFIG_FILE, ./, ~/.config/openstack/, /etc/openstack/.
	CloudsFile string
	// Auth is explicit credentials (the built-in demo); it excludes Cloud and CloudsFile.
	Auth *Auth
	// Region selects the compute endpoint; "" means clouds.yaml's region_name or OS_REGION_NAME, else any.
	Region string
	// Interface is the catalog interface: public, internal or admin; "" means clouds.yaml/OS_INTERFACE, else public.
	Interface string
	// CAFile is a PEM bundle to verify the cloud's TLS certificates with, in addition to clouds.yaml's cacert/OS_CACERT.
	CAFile string
	// Insecure turns TLS certificate verification off. Verification is on by default.
	Insecure bool
	// Interval is the time between polls; default DefaultInterval.
	Interval time.Duration
	// Timeout is the deadline of one poll, authentication and version discovery included; default 80% of Interval.
	Timeout time.Duration
	// Warn, when set, is told about a clouds.yaml or secure.yaml holding a
	// secret that others can read (one that others can write is refused).
	Warn func(string)
}

// Auth is explicit Keystone credentials: a password, an application credential or a token.
type Auth struct {
	URL                         string // Keystone, e.g. https://keystone.example:5000/v3
	Username                    string // with UserDomainName or UserDomainID
	UserID                      string // instead of Username
	Password                    string
	UserDomainName              string
	UserDomainID                string
	ProjectName                 string // with ProjectDomainName or ProjectDomainID
	ProjectID                   string // instead of ProjectName
	ProjectDomainName           string
	ProjectDomainID             string
	ApplicationCredentialID     string // with ApplicationCredentialSecret
	ApplicationCredentialName   string // with ApplicationCredentialSecret and a user
	ApplicationCredentialSecret string
	Token                       string // an existing token; cannot be renewed when it expires
}

// resolved is a validated Config turned into what gophercloud needs.
type resolved struct {
	auth     gophercloud.AuthOptions
	endpoint gophercloud.EndpointOpts
	tls      *tls.Config
	target   string
	interval time.Duration
	timeout  time.Duration
	secrets  []string // strings that must never appear in output

	fileSecrets []string // the secrets of clouds.yaml and secure.yaml, whichever cloud they belong to
}

// locateClouds finds clouds.yaml as the openstack CLI (and gophercloud) do:
// the explicit file, OS_CLIENT_CONFIG_FILE, ./clouds.yaml,
// $XDG_CONFIG_HOME (or ~/.config)/openstack/clouds.yaml, /etc/openstack/clouds.yaml.
func locateClouds(explicit string, getenv func(string) string) (string, error) {
	if explicit != "" {
		return explicit, nil
	}
	if p := getenv("OS_CLIENT_CONFIG_FILE"); p != "" {
		return p, nil
	}
	var places []string
	if cwd, err := os.Getwd(); err == nil {
		places = append(places, filepath.Join(cwd, "clouds.yaml"))
	}
	if dir := getenv("XDG_CONFIG_HOME"); dir != "" {
		places = append(places, filepath.Join(dir, "openstack", "clouds.yaml"))
	} else if home, err := os.UserHomeDir(); err == nil {
		places = append(places, filepath.Join(home, ".config", "openstack", "clouds.yaml"))
	}
	places = append(places, "/etc/openstack/clouds.yaml")
	for _, p := range places {
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("no clouds.yaml in %s", strings.Join(places, ", "))
}

// resolve validates cfg and works out credentials, endpoint and TLS
// settings without touching the network. getenv reads the environment.
func resolve(cfg Config, getenv func(string) string) (*resolved, error) {
	r := &resolved{interval: cfg.Interval, timeout: cfg.Timeout}
	if r.interval == 0 {
		r.interval = DefaultInterval
	}
	if r.interval < MinInterval {
		return nil, fmt.Errorf("nova: config: interval %s is shorter than the minimum %s", cfg.Interval, MinInterval)
	}
	if r.timeout < 0 {
		return nil, fmt.Errorf("nova: config: timeout %s is negative", cfg.Timeout)
	}
	if r.timeout == 0 {
		r.timeout = r.interval * 8 / 10
	}
	if r.timeout >= r.interval {
		return nil, fmt.Errorf("nova: config: timeout %s must be shorter than the interval %s", r.timeout, r.interval)
	}
	iface, err := parseInterface(cfg.Interface)
	if err != nil {
		return nil, err
	}

	cloud := cfg.Cloud
	if cfg.Auth == nil && cloud == "" {
		cloud = getenv("OS_CLOUD")
	}
	switch {
	case cfg.Auth != nil && (cfg.Cloud != "" || cfg.CloudsFile != ""):
		return nil, errors.New("nova: config: set either explicit credentials or a cloud from clouds.yaml, not both")
	case cfg.Auth != nil:
		err = r.fromAuth(*cfg.Auth, cfg, iface, "")
	case cloud != "":
		err = r.fromClouds(cloud, cfg, iface, getenv)
	case getenv("OS_AUTH_URL") != "":
		a := authFromEnv(getenv)
		if cfg.Region == "" {
			cfg.Region = getenv("OS_REGION_NAME")
		}
		if iface == "" {
			if iface, err = parseInterface(firstOf(getenv("OS_INTERFACE"), getenv("OS_ENDPOINT_TYPE"))); err != nil {
				return nil, fmt.Errorf("%w (from OS_INTERFACE)", err)
			}
		}
		err = r.fromAuth(a, cfg, iface, getenv("OS_CACERT"))
	default:
		return nil, errors.New("nova: config: no cloud given: name a clouds.yaml entry (or set OS_CLOUD), or source an openrc (OS_AUTH_URL)")
	}
	if err != nil {
		// Whatever an error of the clouds files quotes (a project, a
		// region, a URL), none of their secrets shows: one place for all.
		return nil, redact.NewSecrets(r.fileSecrets...).Error(err)
	}
	// A token alone cannot be re-issued; anything else can, so a token
	// that expires or is revoked mid-incident is replaced transparently.
	r.auth.AllowReauth = r.auth.TokenID == "" || (r.auth.Scope != nil && *r.auth.Scope != gophercloud.AuthScope{})
	r.secrets = append(secretsOf(r.auth), r.fileSecrets...)
	return r, nil
}

// fromAuth fills r from explicit credentials (the demo, or OS_* variables).
func (r *resolved) fromAuth(a Auth, cfg Config, iface gophercloud.Availability, envCA string) error {
	if err := validateAuthURL(a.URL); err != nil {
		return fmt.Errorf("nova: config: %s", scrub(err.Error(), []string{a.Password, a.ApplicationCredentialSecret, a.Token}))
	}
	ao := gophercloud.AuthOptions{
		IdentityEndpoint:            a.URL,
		Username:                    a.Username,
		UserID:                      a.UserID,
		Password:                    a.Password,
		DomainID:                    a.UserDomainID,
		DomainName:                  a.UserDomainName,
		TokenID:                     a.Token,
		ApplicationCredentialID:     a.ApplicationCredentialID,
		ApplicationCredentialName:   a.ApplicationCredentialName,
		ApplicationCredentialSecret: a.ApplicationCredentialSecret,
	}
	switch {
	case a.ProjectID != "":
		ao.Scope = &gophercloud.AuthScope{ProjectID: a.ProjectID}
	case a.ProjectName != "":
		if a.ProjectDomainID == "" && a.ProjectDomainName == "" {
			return fmt.Errorf("nova: config: project %q needs a project domain (name or ID)", a.ProjectName)
		}
		ao.Scope = &gophercloud.AuthScope{ProjectName: a.ProjectName, DomainID: a.ProjectDomainID, DomainName: a.ProjectDomainName}
	}
	if err := validateCredentials(ao); err != nil {
		return fmt.Errorf("nova: config: %w", err)
	}
	r.auth = ao
	r.endpoint = gophercloud.EndpointOpts{Region: cfg.Region, Availability: orPublic(iface)}
	r.target = redact.URL(a.URL)
	tc := &tls.Config{InsecureSkipVerify: cfg.Insecure}
	for _, f := range []string{envCA, cfg.CAFile} {
		if f == "" {
			continue
		}
		if err := addCA(tc, f); err != nil {
			return err
		}
	}
	r.tls = tc
	return nil
}

// fromClouds fills r from a clouds.yaml entry, the way the openstack CLI reads it.
func (r *resolved) fromClouds(cloud string, cfg Config, iface gophercloud.Availability, getenv func(string) string) error {
	opts := []clouds.ParseOption{clouds.WithCloudName(cloud)}
	if cfg.CloudsFile != "" {
		if _, err := os.Stat(cfg.CloudsFile); err != nil {
			return fmt.Errorf("nova: config: clouds file: %w", err)
		}
	}
	// The files are read here, not by gophercloud, to check who can write
	// and read them (secretfile) and to know their secrets for errors.
	path, err := locateClouds(cfg.CloudsFile, getenv)
	if err != nil {
		return fmt.Errorf("nova: config: %w", err)
	}
	read := func(path string) ([]byte, error) {
		b, warning, err := secretfile.Read(path, func(b []byte) bool {
			found := secretfile.YAMLSecrets(b)
			r.fileSecrets = append(r.fileSecrets, found...)
			return len(found) > 0
		})
		if err != nil {
			return nil, fmt.Errorf("nova: config: %w", err)
		}
		if warning != "" && cfg.Warn != nil {
			cfg.Warn(warning)
		}
		return b, nil
	}
	b, err := read(path)
	if err != nil {
		return err
	}
	opts = append(opts, clouds.WithCloudsYAML(bytes.NewReader(b)))
	secure := filepath.Join(filepath.Dir(path), "secure.yaml")
	if _, err := os.Stat(secure); err == nil {
		sb, err := read(secure)
		if err != nil {
			return err
		}
		opts = append(opts, clouds.WithSecureYAML(bytes.NewReader(sb)))
	}
	fileSecrets := r.fileSecrets
	if cfg.Region != "" {
		opts = append(opts, clouds.WithRegion(cfg.Region))
	}
	if iface != "" {
		opts = append(opts, clouds.WithEndpointType(string(iface)))
	}
	if cfg.Insecure {
		opts = append(opts, clouds.WithInsecure(true))
	}
	ao, eo, tc, err := parseClouds(opts...)
	if err != nil {
		// yaml.v2 quotes the value it could not decode: never show it.
		msg := redact.YAMLValues(err.Error())
		return fmt.Errorf("nova: config: cloud %q (%s): %s", cloud, path, scrub(msg, fileSecrets))
	}
	// The URL is quoted (its userinfo redacted), and a secret of the file
	// may sit anywhere in it (the fuzzer found a password as its path).
	if err := validateAuthURL(ao.IdentityEndpoint); err != nil {
		return fmt.Errorf("nova: config: cloud %q: %s", cloud, scrub(err.Error(), fileSecrets))
	}
	if err := validateCredentials(ao); err != nil {
		return fmt.Errorf("nova: config: cloud %q: %s", cloud, scrub(err.Error(), fileSecrets))
	}
	if tc == nil {
		tc = &tls.Config{}
	}
	if cfg.CAFile != "" {
		if err := addCA(tc, cfg.CAFile); err != nil {
			return err
		}
	}
	r.auth, r.endpoint, r.tls = ao, eo, tc
	r.target = cloud
	return nil
}

// parseClouds is clouds.Parse, which dereferences a nil auth section
// ("clouds: {c: }" crashed stacktop, found by FuzzCloudsYAML): a panic
// in it is an error about the file.
func parseClouds(opts ...clouds.ParseOption) (ao gophercloud.AuthOptions, eo gophercloud.EndpointOpts, tc *tls.Config, err error) {
	defer func() {
		if recover() != nil {
			err = errors.New("the cloud's entry cannot be read (is its auth section missing?)")
		}
	}()
	return clouds.Parse(opts...)
}

// authFromEnv reads the OS_* variables an openrc file sets.
//
// openstack.AuthOptionsFromEnv is not used: it ignores OS_USER_DOMAIN_* and
// OS_PROJECT_DOMAIN_* (so a Keystone v3 openrc fails) and OS_TOKEN.
func authFromEnv(getenv func(string) string) Auth {
	return Auth{
		URL:                         getenv("OS_AUTH_URL"),
		Username:                    getenv("OS_USERNAME"),
		UserID:                      firstOf(getenv("OS_USER_ID"), getenv("OS_USERID")),
		Password:                    getenv("OS_PASSWORD"),
		UserDomainName:              firstOf(getenv("OS_USER_DOMAIN_NAME"), getenv("OS_DOMAIN_NAME")),
		UserDomainID:                firstOf(getenv("OS_USER_DOMAIN_ID"), getenv("OS_DOMAIN_ID")),
		ProjectName:                 firstOf(getenv("OS_PROJECT_NAME"), getenv("OS_TENANT_NAME")),
		ProjectID:                   firstOf(getenv("OS_PROJECT_ID"), getenv("OS_TENANT_ID")),
		ProjectDomainName:           firstOf(getenv("OS_PROJECT_DOMAIN_NAME"), getenv("OS_DOMAIN_NAME")),
		ProjectDomainID:             firstOf(getenv("OS_PROJECT_DOMAIN_ID"), getenv("OS_DOMAIN_ID")),
		ApplicationCredentialID:     getenv("OS_APPLICATION_CREDENTIAL_ID"),
		ApplicationCredentialName:   getenv("OS_APPLICATION_CREDENTIAL_NAME"),
		ApplicationCredentialSecret: getenv("OS_APPLICATION_CREDENTIAL_SECRET"),
		Token:                       getenv("OS_TOKEN"),
	}
}

// validateAuthURL checks the Keystone URL without ever echoing its userinfo.
func validateAuthURL(s string) error {
	if s == "" {
		return errors.New("no auth URL (auth_url / OS_AUTH_URL)")
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("auth URL %q is not an http(s)://host[:port]/... URL", redact.URL(s))
	}
	if u.User != nil {
		return fmt.Errorf("auth URL %q must not carry credentials (user:password@)", redact.URL(s))
	}
	return nil
}

// validateCredentials checks that one complete way of authenticating is given.
func validateCredentials(ao gophercloud.AuthOptions) error {
	appCred := ao.ApplicationCredentialID != "" || ao.ApplicationCredentialName != ""
	switch {
	case ao.TokenID != "":
		return nil
	case appCred:
		if ao.ApplicationCredentialSecret == "" {
			return errors.New("application credential without its secret")
		}
		if ao.ApplicationCredentialID == "" && ao.Username == "" && ao.UserID == "" {
			return errors.New("application credential given by name needs a user (username or user ID)")
		}
		return nil
	case ao.Password != "":
		if ao.Username == "" && ao.UserID == "" {
			return errors.New("password without a user (username or user ID)")
		}
		if ao.Username != "" && ao.UserID == "" && ao.DomainID == "" && ao.DomainName == "" {
			return fmt.Errorf("user %q needs a user domain (name or ID)", ao.Username)
		}
		return nil
	default:
		return errors.New("no credentials: need a password, an application credential or a token")
	}
}

// parseInterface maps the catalog interface names the CLI accepts.
func parseInterface(s string) (gophercloud.Availability, error) {
	switch strings.TrimSuffix(strings.ToLower(s), "url") {
	case "":
		return "", nil
	case "public":
		return gophercloud.AvailabilityPublic, nil
	case "internal":
		return gophercloud.AvailabilityInternal, nil
	case "admin":
		return gophercloud.AvailabilityAdmin, nil
	}
	return "", fmt.Errorf("nova: config: interface %q is not public, internal or admin", s)
}

func orPublic(a gophercloud.Availability) gophercloud.Availability {
	if a == "" {
		return gophercloud.AvailabilityPublic
	}
	return a
}

// addCA adds the PEM certificates in path to tc's roots.
func addCA(tc *tls.Config, path string) error {
	pem, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("nova: config: CA file: %w", err)
	}
	if tc.RootCAs == nil {
		tc.RootCAs = x509.NewCertPool() // like the CLI's cacert: the bundle replaces the system roots
	}
	if !tc.RootCAs.AppendCertsFromPEM(pem) {
		return fmt.Errorf("nova: config: CA file %s holds no PEM certificate", path)
	}
	return nil
}

func firstOf(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// getenv is os.Getenv; New reads the environment through it.
var getenv = os.Getenv
