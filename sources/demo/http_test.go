package demo

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/services"
)

// startCloud starts a simulator on a fake clock set to at(sec).
func startCloud(t *testing.T, cfg Config, sec float64) (*Cloud, *fakeClock) {
	t.Helper()
	clk := &fakeClock{t: at(sec)}
	cfg.Epoch, cfg.Now = testEpoch, clk.Now
	c, err := Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c, clk
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func do(t *testing.T, method, url string, body []byte, header map[string]string) response {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", method, url, err)
	}
	return response{resp.StatusCode, resp.Header, b}
}

func passwordAuth(c *Cloud, password string) []byte {
	return []byte(`{"auth":{"identity":{"methods":["password"],"password":{"user":{"name":"` + c.cfg.User +
		`","domain":{"name":"Default"},"password":"` + password + `"}}},"scope":{"project":{"name":"admin","domain":{"name":"Default"}}}}}`)
}

// token authenticates with the password and returns the token.
func token(t *testing.T, c *Cloud) string {
	t.Helper()
	r := do(t, "POST", c.KeystoneURL()+"/auth/tokens", passwordAuth(c, c.cfg.Password), nil)
	if r.status != http.StatusCreated || r.header.Get("X-Subject-Token") == "" {
		t.Fatalf("token: %d %s", r.status, r.body)
	}
	return r.header.Get("X-Subject-Token")
}

func fixture(t *testing.T, name string) any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return v
}

func decode(t *testing.T, r response) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(r.body, &v); err != nil {
		t.Fatalf("status %d, body not JSON: %v: %.200s", r.status, err, r.body)
	}
	return v
}

func keys(v any) []string {
	m, _ := v.(map[string]any)
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// keyUnion and keyCommon are the keys of any / every object in a list.
func keyUnion(list any) []string {
	set := map[string]bool{}
	for _, e := range list.([]any) {
		for _, k := range keys(e) {
			set[k] = true
		}
	}
	var ks []string
	for k := range set {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

func keyCommon(list any) []string {
	var common []string
	for i, e := range list.([]any) {
		if i == 0 {
			common = keys(e)
			continue
		}
		common = slices.DeleteFunc(common, func(k string) bool { return !slices.Contains(keys(e), k) })
	}
	return common
}

func missing(want, got []string) []string {
	var m []string
	for _, k := range want {
		if !slices.Contains(got, k) {
			m = append(m, k)
		}
	}
	return m
}

// sameShape fails unless every list element has all of the fixture's
// always-present keys and no key the fixture never has.
func sameShape(t *testing.T, what string, fix, got any) {
	t.Helper()
	if len(got.([]any)) == 0 {
		t.Fatalf("%s: empty list", what)
	}
	if m := missing(keyCommon(fix), keyCommon(got)); len(m) > 0 {
		t.Errorf("%s: keys missing compared with the fixture: %v", what, m)
	}
	if extra := missing(keyUnion(got), keyUnion(fix)); len(extra) > 0 {
		t.Errorf("%s: keys the fixture never has: %v", what, extra)
	}
}

func TestKeystone(t *testing.T) {
	c, clk := startCloud(t, Config{TokenTTL: time.Minute}, 10)
	base := strings.TrimSuffix(c.KeystoneURL(), "/v3")

	if r := do(t, "GET", base+"/", nil, nil); r.status != http.StatusMultipleChoices || !strings.Contains(string(r.body), `"values"`) {
		t.Errorf("GET /: %d %s", r.status, r.body)
	}
	r := do(t, "GET", c.KeystoneURL(), nil, nil)
	if v := decode(t, r).(map[string]any)["version"].(map[string]any); r.status != 200 || v["status"] != "stable" || !strings.HasPrefix(v["id"].(string), "v3") {
		t.Errorf("GET /v3: %d %s", r.status, r.body)
	}

	tests := []struct {
		name string
		body string
		want int
	}{
		{"password", string(passwordAuth(c, DefaultPassword)), 201},
		{"wrong password", string(passwordAuth(c, "nope")), 401},
		{"application credential by id", `{"auth":{"identity":{"methods":["application_credential"],"application_credential":{"id":"demo-app-cred","secret":"demo-app-cred-secret"}}}}`, 201},
		{"application credential by name", `{"auth":{"identity":{"methods":["application_credential"],"application_credential":{"name":"stacktop-demo","secret":"demo-app-cred-secret","user":{"name":"admin","domain":{"name":"Default"}}}}}}`, 201},
		{"application credential, wrong secret", `{"auth":{"identity":{"methods":["application_credential"],"application_credential":{"id":"demo-app-cred","secret":"x"}}}}`, 401},
		{"not JSON", `{"auth":`, 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := do(t, "POST", c.KeystoneURL()+"/auth/tokens", []byte(tt.body), map[string]string{"Content-Type": "application/json"})
			if r.status != tt.want {
				t.Fatalf("status %d, want %d: %s", r.status, tt.want, r.body)
			}
			if tt.want != 201 {
				return
			}
			if r.header.Get("X-Subject-Token") == "" {
				t.Error("no X-Subject-Token")
			}
			var body struct {
				Token struct {
					ExpiresAt time.Time `json:"expires_at"`
					Catalog   []struct {
						Type      string `json:"type"`
						Endpoints []struct {
							Interface, Region, URL string
						} `json:"endpoints"`
					} `json:"catalog"`
				} `json:"token"`
			}
			if err := json.Unmarshal(r.body, &body); err != nil {
				t.Fatal(err)
			}
			if !body.Token.ExpiresAt.Equal(at(10).Add(time.Minute)) {
				t.Errorf("expires_at %s, want %s", body.Token.ExpiresAt, at(10).Add(time.Minute))
			}
			found := false
			for _, e := range body.Token.Catalog {
				for _, ep := range e.Endpoints {
					if e.Type == "compute" && ep.Interface == "public" && ep.Region == "RegionOne" && ep.URL == c.NovaURL() {
						found = true
					}
				}
			}
			if !found {
				t.Errorf("no public compute endpoint %s in RegionOne: %s", c.NovaURL(), r.body)
			}
		})
	}

	tok := token(t, c)
	services := c.NovaURL() + "/os-services"
	if r := do(t, "GET", services, nil, map[string]string{"X-Auth-Token": tok}); r.status != 200 {
		t.Fatalf("with a fresh token: %d %s", r.status, r.body)
	}
	clk.Set(at(10 + 61))
	if r := do(t, "GET", services, nil, map[string]string{"X-Auth-Token": tok}); r.status != 401 {
		t.Errorf("with an expired token: %d, want 401", r.status)
	}
	tok = token(t, c)
	if r := do(t, "GET", services, nil, map[string]string{"X-Auth-Token": tok}); r.status != 200 {
		t.Errorf("after re-authenticating: %d", r.status)
	}
	c.RevokeTokens()
	if r := do(t, "GET", services, nil, map[string]string{"X-Auth-Token": tok}); r.status != 401 {
		t.Errorf("with a revoked token: %d, want 401", r.status)
	}
}

func TestNovaVersions(t *testing.T) {
	c, _ := startCloud(t, Config{}, 10)
	root := strings.TrimSuffix(c.NovaURL(), "/v2.1")
	r := do(t, "GET", root+"/", nil, nil)
	got, fix := decode(t, r).(map[string]any)["versions"], fixture(t, "nova-versions.json").(map[string]any)["versions"]
	sameShape(t, "GET /", fix, got)
	if v := got.([]any)[1].(map[string]any); v["min_version"] != "2.1" || v["version"] != "2.93" {
		t.Errorf("v2.1 range %v–%v", v["min_version"], v["version"])
	}
	r = do(t, "GET", c.NovaURL()+"/", nil, map[string]string{"X-Auth-Token": token(t, c)})
	gotV, fixV := decode(t, r).(map[string]any)["version"], fixture(t, "nova-version-2.1.json").(map[string]any)["version"]
	if !slices.Equal(keys(gotV), keys(fixV)) {
		t.Errorf("GET /v2.1/ keys %v, fixture %v", keys(gotV), keys(fixV))
	}
}

var novaUpdatedAt = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$`)

func TestNovaServicesByMicroversion(t *testing.T) {
	c, _ := startCloud(t, Config{}, 10)
	tok := token(t, c)
	tests := []struct {
		header, value string
		fixture       string
		wantVersion   string
		intID         bool
	}{
		{"", "", "nova-os-services-2.1.json", "2.1", true},
		{"X-OpenStack-Nova-API-Version", "2.1", "nova-os-services-2.1.json", "2.1", true},
		{"X-OpenStack-Nova-API-Version", "2.11", "nova-os-services-2.11.json", "2.11", true},
		{"OpenStack-API-Version", "compute 2.52", "nova-os-services-2.11.json", "2.52", true},
		{"OpenStack-API-Version", "compute 2.53", "nova-os-services-2.53.json", "2.53", false},
		{"OpenStack-API-Version", "compute 2.69", "nova-os-services-2.69.json", "2.69", false},
		{"X-OpenStack-Nova-API-Version", "latest", "nova-os-services-2.69.json", "2.93", false},
	}
	for _, tt := range tests {
		t.Run(tt.header+" "+tt.value, func(t *testing.T) {
			h := map[string]string{"X-Auth-Token": tok}
			if tt.header != "" {
				h[tt.header] = tt.value
			}
			r := do(t, "GET", c.NovaURL()+"/os-services", nil, h)
			if r.status != 200 {
				t.Fatalf("%d %s", r.status, r.body)
			}
			if got := r.header.Get("OpenStack-API-Version"); got != "compute "+tt.wantVersion {
				t.Errorf("OpenStack-API-Version %q, want compute %s", got, tt.wantVersion)
			}
			list := decode(t, r).(map[string]any)["services"]
			fix := fixture(t, tt.fixture).(map[string]any)["services"]
			if !slices.Equal(keyUnion(list), keyUnion(fix)) || !slices.Equal(keyCommon(list), keyUnion(fix)) {
				t.Errorf("keys %v, fixture %v", keyUnion(list), keyUnion(fix))
			}
			hosts := map[string]bool{}
			for _, e := range list.([]any) {
				s := e.(map[string]any)
				_, isNum := s["id"].(float64)
				if isNum != tt.intID {
					t.Fatalf("id %v: integer %v, want %v", s["id"], isNum, tt.intID)
				}
				if !novaUpdatedAt.MatchString(s["updated_at"].(string)) {
					t.Fatalf("updated_at %q not in Nova's format", s["updated_at"])
				}
				if s["state"] != "up" {
					t.Errorf("%s %s while healthy", s["host"], s["state"])
				}
				hosts[s["host"].(string)] = true
			}
			for _, h := range []string{"compute-01", "compute-40", "ctl-1", "ctl-2", "net-1"} {
				if !hosts[h] {
					t.Errorf("no service on %s", h)
				}
			}
		})
	}
}

func TestNovaErrors(t *testing.T) {
	c, _ := startCloud(t, Config{}, 10)
	tok := token(t, c)
	svc := c.NovaURL() + "/os-services"
	tests := []struct {
		name, method string
		header       map[string]string
		want         int
	}{
		{"no token", "GET", nil, 401},
		{"bad token", "GET", map[string]string{"X-Auth-Token": "gAAAAAbogus"}, 401},
		{"POST", "POST", map[string]string{"X-Auth-Token": tok}, 405},
		{"DELETE", "DELETE", map[string]string{"X-Auth-Token": tok}, 405},
		{"PUT without token", "PUT", nil, 401},
		{"microversion too new", "GET", map[string]string{"X-Auth-Token": tok, "X-OpenStack-Nova-API-Version": "2.94"}, 406},
		{"microversion 3.0", "GET", map[string]string{"X-Auth-Token": tok, "OpenStack-API-Version": "compute 3.0"}, 406},
		{"microversion garbage", "GET", map[string]string{"X-Auth-Token": tok, "X-OpenStack-Nova-API-Version": "two"}, 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := do(t, tt.method, svc, nil, tt.header)
			if r.status != tt.want {
				t.Errorf("%d, want %d: %s", r.status, tt.want, r.body)
			}
			decode(t, r)
		})
	}
	if r := do(t, "GET", c.NovaURL()+"/servers", nil, map[string]string{"X-Auth-Token": tok}); r.status != 404 {
		t.Errorf("GET /servers: %d, want 404", r.status)
	}
}

func TestNovaDuringIncident(t *testing.T) {
	c, _ := startCloud(t, Config{}, 105)
	r := do(t, "GET", c.NovaURL()+"/os-services", nil, map[string]string{"X-Auth-Token": token(t, c), "X-OpenStack-Nova-API-Version": "2.11"})
	var body struct {
		Services []struct {
			Host      string `json:"host"`
			State     string `json:"state"`
			UpdatedAt string `json:"updated_at"`
		} `json:"services"`
	}
	if err := json.Unmarshal(r.body, &body); err != nil {
		t.Fatal(err)
	}
	down := 0
	for _, s := range body.Services {
		u, err := time.Parse(novaTime, s.UpdatedAt)
		if err != nil {
			t.Fatal(err)
		}
		stale := at(105).Sub(u) > DefaultServiceDownTime
		if stale != (s.State == "down") {
			t.Errorf("%s: state %s with updated_at %s (%s old)", s.Host, s.State, s.UpdatedAt, at(105).Sub(u))
		}
		if stale {
			down++
		}
	}
	if down < 5 {
		t.Errorf("%d services down mid-incident, want many", down)
	}
}

func TestNovaDownCell(t *testing.T) {
	c, _ := startCloud(t, Config{Computes: 8, Faults: map[API]Faults{Nova: {DownCell: true}}}, 10)
	tok := token(t, c)
	count := func(mv string) (all, unknown int) {
		r := do(t, "GET", c.NovaURL()+"/os-services", nil, map[string]string{"X-Auth-Token": tok, "X-OpenStack-Nova-API-Version": mv})
		var body struct{ Services []map[string]any }
		if err := json.Unmarshal(r.body, &body); err != nil {
			t.Fatal(err)
		}
		for _, s := range body.Services {
			if s["status"] == "UNKNOWN" {
				unknown++
				if !slices.Equal(keys(s), []string{"binary", "host", "status"}) {
					t.Errorf("down-cell service keys %v", keys(s))
				}
			}
		}
		return len(body.Services), unknown
	}
	if all, unknown := count("2.69"); all != 13 || unknown != 2 {
		t.Errorf("2.69: %d services, %d UNKNOWN; want 13, 2", all, unknown)
	}
	if all, unknown := count("2.68"); all != 11 || unknown != 0 {
		t.Errorf("2.68: %d services, %d UNKNOWN; want 11 (down cell left out), 0", all, unknown)
	}
}

// TestGophercloud authenticates and lists services the way cmd and the nova source do.
func TestGophercloud(t *testing.T) {
	c, _ := startCloud(t, Config{}, 10)
	cr := c.Credentials()
	ctx := context.Background()
	for _, opts := range []gophercloud.AuthOptions{
		{IdentityEndpoint: cr.AuthURL, Username: cr.Username, Password: cr.Password, DomainName: cr.UserDomainName,
			Scope: &gophercloud.AuthScope{ProjectName: cr.ProjectName, DomainName: cr.ProjectDomainName}},
		{IdentityEndpoint: cr.AuthURL, ApplicationCredentialID: cr.AppCredID, ApplicationCredentialSecret: cr.AppCredSecret},
		{IdentityEndpoint: strings.TrimSuffix(cr.AuthURL, "/v3"), Username: cr.Username, Password: cr.Password, DomainName: cr.UserDomainName,
			Scope: &gophercloud.AuthScope{ProjectName: cr.ProjectName, DomainName: cr.ProjectDomainName}},
	} {
		provider, err := openstack.AuthenticatedClient(ctx, opts)
		if err != nil {
			t.Fatalf("authenticate to %s: %v", opts.IdentityEndpoint, err)
		}
		compute, err := openstack.NewComputeV2(provider, gophercloud.EndpointOpts{Region: cr.Region, Availability: gophercloud.AvailabilityPublic})
		if err != nil {
			t.Fatal(err)
		}
		if compute.Endpoint != c.NovaURL()+"/" {
			t.Errorf("compute endpoint %q, want %q", compute.Endpoint, c.NovaURL()+"/")
		}
		compute.Microversion = "2.53"
		pages, err := services.List(compute, nil).AllPages(ctx)
		if err != nil {
			t.Fatal(err)
		}
		list, err := services.ExtractServices(pages)
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != len(c.sc.services) || list[0].ID == "" || list[0].UpdatedAt.IsZero() {
			t.Errorf("%d services, first %+v", len(list), list[0])
		}
	}
}

func rabbitGet(t *testing.T, c *Cloud, path string) response {
	t.Helper()
	req, err := http.NewRequest("GET", c.RabbitURL()+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth(c.cfg.RabbitUser, c.cfg.RabbitPassword)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{resp.StatusCode, resp.Header, b}
}

func TestRabbitShapes(t *testing.T) {
	tests := []struct {
		name    string
		cfg     Config
		path    string
		fixture string
		list    bool
	}{
		{"overview", Config{}, "/api/overview", "rabbitmq-3.10-overview.json", false},
		{"nodes", Config{}, "/api/nodes", "rabbitmq-3.10-nodes.json", true},
		{"queues", Config{}, "/api/queues/nova", "rabbitmq-3.10-queues-nova-full.json", true},
		{"all queues", Config{}, "/api/queues", "rabbitmq-3.10-queues-nova-full.json", true},
		{"queue totals", Config{}, "/api/queues/nova?disable_stats=true&enable_queue_totals=true", "rabbitmq-3.10-queues-nova-totals.json", true},
		{"metrics off: overview", Config{MetricsCollectorOff: true}, "/api/overview", "rabbitmq-3.10-metrics-off-overview.json", false},
		{"metrics off: nodes", Config{MetricsCollectorOff: true}, "/api/nodes", "rabbitmq-3.10-metrics-off-nodes.json", true},
		{"metrics off: queues", Config{MetricsCollectorOff: true}, "/api/queues/nova", "rabbitmq-3.10-metrics-off-queues-nova-full.json", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _ := startCloud(t, tt.cfg, 10)
			r := rabbitGet(t, c, tt.path)
			if r.status != 200 || !strings.HasPrefix(r.header.Get("Content-Type"), "application/json") {
				t.Fatalf("%d %s", r.status, r.body)
			}
			got, fix := decode(t, r), fixture(t, tt.fixture)
			if tt.list {
				sameShape(t, tt.path, fix, got)
				return
			}
			if !slices.Equal(keys(got), keys(fix)) {
				t.Errorf("keys %v, fixture %v", keys(got), keys(fix))
			}
		})
	}
}

func TestRabbitQueues(t *testing.T) {
	c, clk := startCloud(t, Config{}, 105)
	var list []map[string]any
	if err := json.Unmarshal(rabbitGet(t, c, "/api/queues/nova?columns=name,messages_ready,messages_unacknowledged,consumers,message_stats.publish_details.rate").body, &list); err != nil {
		t.Fatal(err)
	}
	names := map[string]map[string]any{}
	for _, q := range list {
		names[q["name"].(string)] = q
		for _, k := range keys(q) {
			if !slices.Contains([]string{"name", "messages_ready", "messages_unacknowledged", "consumers", "message_stats"}, k) {
				t.Fatalf("columns= kept %q", k)
			}
		}
		if ms, ok := q["message_stats"].(map[string]any); ok {
			if !slices.Equal(keys(ms), []string{"publish_details"}) || !slices.Equal(keys(ms["publish_details"]), []string{"rate"}) {
				t.Fatalf("message_stats projected to %v", ms)
			}
		}
	}
	for _, n := range []string{"compute", "conductor", "scheduler", "compute.compute-01", "conductor.ctl-1", "scheduler.ctl-2", "network.net-1"} {
		if names[n] == nil {
			t.Errorf("no queue %s", n)
		}
	}
	reply, fanout := 0, 0
	for n := range names {
		if regexp.MustCompile(`^reply_[0-9a-f]{32}$`).MatchString(n) {
			reply++
		}
		if regexp.MustCompile(`^(compute|conductor|scheduler|network)_fanout_[0-9a-f]{32}$`).MatchString(n) {
			fanout++
		}
	}
	if reply < 5 || fanout < 5 {
		t.Errorf("%d reply and %d fanout queues, want several", reply, fanout)
	}
	if r := names["conductor"]["messages_ready"].(float64); r < 500 {
		t.Errorf("conductor ready %v mid-incident, want a backlog", r)
	}

	// Drill-down into one queue.
	var q map[string]any
	if err := json.Unmarshal(rabbitGet(t, c, "/api/queues/nova/conductor").body, &q); err != nil {
		t.Fatal(err)
	}
	ms := q["message_stats"].(map[string]any)
	rates := map[string]float64{}
	for _, k := range []string{"publish_details", "deliver_get_details", "ack_details"} {
		rates[k] = ms[k].(map[string]any)["rate"].(float64)
	}
	if !(rates["publish_details"] > rates["deliver_get_details"] && rates["deliver_get_details"] >= rates["ack_details"] && rates["ack_details"] > 0) {
		t.Errorf("conductor rates mid-incident %v: want publish > deliver ≥ ack > 0", rates)
	}
	if _, ok := q["consumer_details"].([]any); !ok {
		t.Error("no consumer_details in the drill-down")
	}
	for path, want := range map[string]int{
		"/api/queues/nova/nope":                    404,
		"/api/queues/%2F/conductor":                404,
		"/api/queues/%2F":                          200,
		"/api/queues/elsewhere":                    404,
		"/api/exchanges":                           404,
		"/api/queues/nova?page=1":                  200,
		"/api/queues/nova?page=0":                  400,
		"/api/queues/nova?page=999":                400,
		"/api/whoami":                              200,
		"/api/queues/nova?name=x[(&use_regex=true": 400,
	} {
		if r := rabbitGet(t, c, path); r.status != want {
			t.Errorf("GET %s: %d, want %d", path, r.status, want)
		}
	}
	var page struct {
		Items      []map[string]any `json:"items"`
		TotalCount int              `json:"total_count"`
		PageCount  int              `json:"page_count"`
	}
	if err := json.Unmarshal(rabbitGet(t, c, "/api/queues/nova?page=1&page_size=3&sort=messages&sort_reverse=true&columns=name,messages").body, &page); err != nil {
		t.Fatal(err)
	}
	if len(page.Items) != 3 || page.TotalCount != len(list) || page.Items[0]["name"] != "conductor" {
		t.Errorf("page of the 3 deepest queues: %+v (total %d of %d)", page.Items, page.TotalCount, len(list))
	}

	// During the restart the sick node is down and its queues with it.
	clk.Set(at(190))
	var nodes []map[string]any
	if err := json.Unmarshal(rabbitGet(t, c, "/api/nodes").body, &nodes); err != nil {
		t.Fatal(err)
	}
	if nodes[0]["name"] != "rabbit@mq-1" || nodes[0]["running"] != false || nodes[1]["running"] != true {
		t.Errorf("nodes during the restart: %v %v", nodes[0], nodes[1]["running"])
	}
	if err := json.Unmarshal(rabbitGet(t, c, "/api/queues/nova?columns=name,state,node").body, &list); err != nil {
		t.Fatal(err)
	}
	for _, q := range list {
		if (q["node"] == "rabbit@mq-1") != (q["state"] == "down") {
			t.Fatalf("queue %v during the restart", q)
		}
	}
}

func TestRabbitAuthAndMethods(t *testing.T) {
	c, _ := startCloud(t, Config{RabbitUser: "monitor", RabbitPassword: "s3cret"}, 10)
	tests := []struct {
		name, method string
		user, pass   string
		want         int
	}{
		{"no credentials", "GET", "", "", 401},
		{"wrong password", "GET", "monitor", "guest", 401},
		{"guest is not configured", "GET", "guest", "guest", 401},
		{"right credentials", "GET", "monitor", "s3cret", 200},
		{"POST", "POST", "monitor", "s3cret", 405},
		{"DELETE", "DELETE", "monitor", "s3cret", 405},
		{"PUT", "PUT", "monitor", "s3cret", 405},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, c.RabbitURL()+"/api/overview", nil)
			if tt.user != "" {
				req.SetBasicAuth(tt.user, tt.pass)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.want {
				t.Errorf("%d, want %d", resp.StatusCode, tt.want)
			}
			if tt.want == 401 && !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Basic") {
				t.Error("401 without a Basic challenge")
			}
		})
	}
}

func TestFaults(t *testing.T) {
	c, _ := startCloud(t, Config{}, 10)
	get := func() (response, error) {
		req, _ := http.NewRequest("GET", c.RabbitURL()+"/api/overview", nil)
		req.SetBasicAuth(c.cfg.RabbitUser, c.cfg.RabbitPassword)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return response{}, err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return response{resp.StatusCode, resp.Header, b}, err
	}
	normal, err := get()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		f     Faults
		check func(t *testing.T, r response, err error)
	}{
		{"500s", Faults{FailEvery: 1}, func(t *testing.T, r response, err error) {
			if err != nil || r.status != 500 {
				t.Errorf("%d %v, want 500", r.status, err)
			}
		}},
		{"503s", Faults{FailEvery: 1, FailStatus: 503}, func(t *testing.T, r response, err error) {
			if err != nil || r.status != 503 {
				t.Errorf("%d %v, want 503", r.status, err)
			}
		}},
		{"truncated JSON", Faults{TruncateEvery: 1}, func(t *testing.T, r response, err error) {
			if err != nil || r.status != 200 || json.Valid(r.body) || len(r.body) >= len(normal.body) {
				t.Errorf("%d, %d bytes, valid %v: want a truncated 200", r.status, len(r.body), json.Valid(r.body))
			}
		}},
		{"huge body", Faults{HugeBody: 8 << 20}, func(t *testing.T, r response, err error) {
			if err != nil || len(r.body) < 8<<20 || !json.Valid(r.body) {
				t.Errorf("%d bytes, valid %v: want 8 MiB more of valid JSON", len(r.body), json.Valid(r.body))
			}
		}},
		{"slow", Faults{Latency: 150 * time.Millisecond}, nil},
		{"dropped connection", Faults{DropEvery: 1}, func(t *testing.T, r response, err error) {
			if err == nil {
				t.Errorf("got %d, want a connection error", r.status)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c.SetFaults(RabbitMQ, tt.f)
			defer c.SetFaults(RabbitMQ, Faults{})
			start := time.Now()
			r, err := get()
			if tt.f.Latency > 0 && (time.Since(start) < tt.f.Latency || err != nil || r.status != 200) {
				t.Errorf("answered %d after %s, err %v; want 200 after ≥ %s", r.status, time.Since(start), err, tt.f.Latency)
			}
			if tt.check != nil {
				tt.check(t, r, err)
			}
		})
	}
	// Faults are per API.
	c.SetFaults(Nova, Faults{FailEvery: 1})
	if r, err := get(); err != nil || r.status != 200 {
		t.Errorf("rabbitmq answered %d, %v with faults on nova only", r.status, err)
	}
}

func TestStartAndClose(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	c, err := Start(ctx, DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{c.KeystoneURL(), c.NovaURL(), c.RabbitURL()} {
		if !strings.HasPrefix(u, "http://127.0.0.1:") {
			t.Errorf("URL %s not on 127.0.0.1", u)
		}
	}
	cr := c.Credentials()
	if cr.AuthURL != c.KeystoneURL() || cr.RabbitURL != c.RabbitURL() || cr.Username == "" || cr.Password == "" || cr.RabbitUser == "" || cr.VHost != "nova" {
		t.Errorf("credentials %+v", cr)
	}
	cancel()
	for range 2 {
		if err := c.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	}
	deadline := time.Now().Add(2 * time.Second)
	for {
		_, err := http.Get(c.NovaURL())
		if err != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("nova still answering after Close")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
