package demo

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// Nova's microversion range, as the fixtures' nova 26 "Zed" reports it.
const (
	novaMinVersion = "2.1"
	novaMaxVersion = "2.93"
)

// Nova's updated_at format: microseconds, no zone (UTC).
const novaTime = "2006-01-02T15:04:05.000000"

// microversion is a Nova API microversion, major.minor.
type microversion struct{ major, minor int }

func (v microversion) String() string { return fmt.Sprintf("%d.%d", v.major, v.minor) }

func (v microversion) atLeast(minor int) bool {
	return v.major > 2 || (v.major == 2 && v.minor >= minor)
}

func parseMicroversion(s string) (microversion, bool) {
	maj, min, ok := strings.Cut(strings.TrimSpace(s), ".")
	if !ok {
		return microversion{}, false
	}
	a, err1 := strconv.Atoi(maj)
	b, err2 := strconv.Atoi(min)
	if err1 != nil || err2 != nil || a < 0 || b < 0 {
		return microversion{}, false
	}
	return microversion{a, b}, true
}

// requestedMicroversion reads OpenStack-API-Version ("compute 2.53") or,
// failing that, X-OpenStack-Nova-API-Version; absent means the minimum.
func requestedMicroversion(r *http.Request) (microversion, string, bool) {
	min, _ := parseMicroversion(novaMinVersion)
	max, _ := parseMicroversion(novaMaxVersion)
	raw := ""
	for _, h := range r.Header.Values("OpenStack-API-Version") {
		for _, part := range strings.Split(h, ",") {
			svc, ver, _ := strings.Cut(strings.TrimSpace(part), " ")
			if strings.EqualFold(svc, "compute") {
				raw = strings.TrimSpace(ver)
			}
		}
	}
	if raw == "" {
		raw = strings.TrimSpace(r.Header.Get("X-OpenStack-Nova-API-Version"))
	}
	switch strings.ToLower(raw) {
	case "":
		return min, "", true
	case "latest":
		return max, "", true
	}
	v, ok := parseMicroversion(raw)
	if !ok {
		return v, fmt.Sprintf("Invalid API version request: %s", raw), false
	}
	if (v.major < min.major || (v.major == min.major && v.minor < min.minor)) || (v.major > max.major || (v.major == max.major && v.minor > max.minor)) {
		return v, fmt.Sprintf("Version %s is not supported by the API. Minimum is %s and maximum is %s.", v, min, max), false
	}
	return v, "", true
}

func (c *Cloud) novaHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		path := strings.TrimSuffix(r.URL.Path, "/")
		known := path == "" || path == "/v2.1" || path == "/v2.1/os-services"
		if !known {
			novaError(w, http.StatusNotFound, "itemNotFound", "The resource could not be found.")
			return
		}
		if path == "" {
			if !allowGet(w, r) {
				return
			}
			writeJSON(w, http.StatusOK, map[string]any{"versions": []any{
				map[string]any{
					"id": "v2.0", "status": "SUPPORTED", "version": "", "min_version": "", "updated": "2011-01-21T11:33:21Z",
					"links": []any{map[string]string{"rel": "self", "href": c.novaURL + "/v2/"}},
				},
				map[string]any{
					"id": "v2.1", "status": "CURRENT", "version": novaMaxVersion, "min_version": novaMinVersion, "updated": "2013-07-23T11:33:21Z",
					"links": []any{map[string]string{"rel": "self", "href": c.novaURL + "/v2.1/"}},
				},
			}})
			return
		}
		if !c.tokenValid(r.Header.Get("X-Auth-Token")) {
			w.Header().Set("WWW-Authenticate", fmt.Sprintf("Keystone uri=%q", c.keystoneURL))
			writeJSON(w, http.StatusUnauthorized, map[string]any{"error": map[string]any{
				"code": 401, "title": "Unauthorized", "message": "The request you have made requires authentication.",
			}})
			return
		}
		if !allowGet(w, r) {
			return
		}
		mv, msg, ok := requestedMicroversion(r)
		if !ok {
			status, name := http.StatusNotAcceptable, "computeFault"
			if strings.HasPrefix(msg, "Invalid") {
				status, name = http.StatusBadRequest, "badRequest"
			}
			novaError(w, status, name, msg)
			return
		}
		w.Header().Set("OpenStack-API-Version", "compute "+mv.String())
		w.Header().Set("X-OpenStack-Nova-API-Version", mv.String())
		w.Header().Set("Vary", "OpenStack-API-Version, X-OpenStack-Nova-API-Version")
		reqID := "req-" + uuidOf(mix(uint64(len(r.URL.RawQuery))^c.sc.key(r.RemoteAddr)), mix(uint64(c.now().UnixNano())))
		w.Header().Set("X-OpenStack-Request-Id", reqID)
		w.Header().Set("X-Compute-Request-Id", reqID)
		if path == "/v2.1" {
			writeJSON(w, http.StatusOK, map[string]any{"version": map[string]any{
				"id": "v2.1", "status": "CURRENT", "version": novaMaxVersion, "min_version": novaMinVersion,
				"updated": "2013-07-23T11:33:21Z",
				"links": []any{
					map[string]string{"rel": "self", "href": c.novaURL + "/v2.1/"},
					map[string]string{"rel": "describedby", "type": "text/html", "href": "http://docs.openstack.org/"},
				},
				"media-types": []any{map[string]string{"base": "application/json", "type": "application/vnd.openstack.compute+json;version=2.1"}},
			}})
			return
		}
		c.maybeSlow(r, 0.3)
		writeJSON(w, http.StatusOK, obj{{"services", c.osServices(r, mv)}})
	})
}

// allowGet answers 405 to anything but GET and HEAD and reports whether the request may go on.
func allowGet(w http.ResponseWriter, r *http.Request) bool {
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		return true
	}
	w.Header().Set("Allow", "GET, HEAD")
	novaError(w, http.StatusMethodNotAllowed, "badMethod", "The method specified is not allowed for this resource.")
	return false
}

func novaError(w http.ResponseWriter, status int, name, msg string) {
	writeJSON(w, status, map[string]any{name: map[string]any{"code": status, "message": msg}})
}

// osServices renders os-services at microversion mv, honouring the binary and host filters.
func (c *Cloud) osServices(r *http.Request, mv microversion) []obj {
	now := c.now()
	c.mu.Lock()
	downCell := c.faults[Nova].DownCell
	c.mu.Unlock()
	binary, host := r.URL.Query().Get("binary"), r.URL.Query().Get("host")
	out := make([]obj, 0, len(c.sc.services))
	for _, s := range c.sc.services {
		if (binary != "" && s.binary != binary) || (host != "" && s.host != host) {
			continue
		}
		if downCell && s.cell2 {
			if mv.atLeast(69) {
				out = append(out, obj{{"binary", s.binary}, {"host", s.host}, {"status", "UNKNOWN"}})
			}
			continue
		}
		updated, up := c.sc.serviceState(s, now)
		var id any = s.id
		if mv.atLeast(53) {
			id = s.uuid
		}
		status, state := "enabled", "up"
		var reason any
		if s.disabledReason != "" {
			status, reason = "disabled", s.disabledReason
		}
		if !up {
			state = "down"
		}
		o := obj{
			{"binary", s.binary}, {"host", s.host}, {"id", id}, {"zone", s.zone},
			{"status", status}, {"state", state}, {"updated_at", updated.UTC().Format(novaTime)},
			{"disabled_reason", reason},
		}
		if mv.atLeast(11) {
			o = append(o, field{"forced_down", false})
		}
		out = append(out, o)
	}
	return out
}
