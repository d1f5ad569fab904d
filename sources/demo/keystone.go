package demo

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"time"
)

// Keystone's timestamp format in token bodies.
const keystoneTime = "2006-01-02T15:04:05.000000Z"

const maxTokens = 10000

func (c *Cloud) keystoneHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		switch strings.TrimSuffix(r.URL.Path, "/") {
		case "":
			if r.Method != http.MethodGet && r.Method != http.MethodHead {
				keystoneError(w, http.StatusMethodNotAllowed, "The method is not allowed for the requested URL.")
				return
			}
			writeJSON(w, http.StatusMultipleChoices, map[string]any{
				"versions": map[string]any{"values": []any{c.keystoneVersion()}},
			})
		case "/v3":
			if r.Method != http.MethodGet && r.Method != http.MethodHead {
				keystoneError(w, http.StatusMethodNotAllowed, "The method is not allowed for the requested URL.")
				return
			}
			writeJSON(w, http.StatusOK, map[string]any{"version": c.keystoneVersion()})
		case "/v3/auth/tokens":
			switch r.Method {
			case http.MethodPost:
				c.issueToken(w, r)
			case http.MethodGet, http.MethodHead:
				c.validateToken(w, r)
			default:
				w.Header().Set("Allow", "GET, HEAD, POST")
				keystoneError(w, http.StatusMethodNotAllowed, "The method is not allowed for the requested URL.")
			}
		default:
			keystoneError(w, http.StatusNotFound, "The resource could not be found.")
		}
	})
	return mux
}

func (c *Cloud) keystoneVersion() map[string]any {
	return map[string]any{
		"id": "v3.14", "status": "stable", "updated": "2020-04-07T00:00:00Z",
		"links":       []any{map[string]any{"rel": "self", "href": c.keystoneURL + "/v3/"}},
		"media-types": []any{map[string]any{"base": "application/json", "type": "application/vnd.openstack.identity-v3+json"}},
	}
}

func keystoneError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]any{"error": map[string]any{
		"code": status, "title": http.StatusText(status), "message": msg,
	}})
}

// authRequest is the part of a Keystone v3 authentication request the simulator reads.
type authRequest struct {
	Auth struct {
		Identity struct {
			Methods  []string `json:"methods"`
			Password struct {
				User struct {
					ID       string   `json:"id"`
					Name     string   `json:"name"`
					Password string   `json:"password"`
					Domain   *nameRef `json:"domain"`
				} `json:"user"`
			} `json:"password"`
			ApplicationCredential struct {
				ID     string `json:"id"`
				Name   string `json:"name"`
				Secret string `json:"secret"`
				User   *struct {
					ID     string   `json:"id"`
					Name   string   `json:"name"`
					Domain *nameRef `json:"domain"`
				} `json:"user"`
			} `json:"application_credential"`
			Token struct {
				ID string `json:"id"`
			} `json:"token"`
		} `json:"identity"`
		Scope json.RawMessage `json:"scope"`
	} `json:"auth"`
}

type nameRef struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

func (c *Cloud) userID() string {
	return strings.ReplaceAll(uuidOf(c.sc.key("user"), c.sc.key("user2")), "-", "")
}
func (c *Cloud) projectID() string {
	return strings.ReplaceAll(uuidOf(c.sc.key("proj"), c.sc.key("proj2")), "-", "")
}

// checkAuth says which method authenticated the request, or "" if none did.
func (c *Cloud) checkAuth(a *authRequest) string {
	id := &a.Auth.Identity
	for _, m := range id.Methods {
		switch m {
		case "password":
			u := id.Password.User
			nameOK := u.ID == c.userID() || (u.Name == c.cfg.User && (u.Domain == nil || u.Domain.ID == "default" || u.Domain.Name == c.cfg.Domain))
			if nameOK && u.Password == c.cfg.Password {
				return m
			}
		case "application_credential":
			ac := id.ApplicationCredential
			if ac.Secret == c.cfg.AppCredSecret && (ac.ID == c.cfg.AppCredID || (ac.Name == c.cfg.AppCredName && ac.User != nil && (ac.User.ID == c.userID() || ac.User.Name == c.cfg.User))) {
				return m
			}
		case "token":
			if c.tokenValid(id.Token.ID) {
				return m
			}
		}
	}
	return ""
}

func (c *Cloud) issueToken(w http.ResponseWriter, r *http.Request) {
	var req authRequest
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&req); err != nil {
		keystoneError(w, http.StatusBadRequest, "Invalid JSON in request body: "+err.Error())
		return
	}
	method := c.checkAuth(&req)
	if method == "" {
		keystoneError(w, http.StatusUnauthorized, "The request you have made requires authentication.")
		return
	}
	now := c.now().UTC()
	expires := now.Add(c.cfg.TokenTTL)
	token := c.newToken(expires)
	w.Header().Set("X-Subject-Token", token)
	writeJSON(w, http.StatusCreated, map[string]any{"token": c.tokenBody(method, now, expires)})
}

func (c *Cloud) validateToken(w http.ResponseWriter, r *http.Request) {
	if !c.tokenValid(r.Header.Get("X-Auth-Token")) {
		keystoneError(w, http.StatusUnauthorized, "The request you have made requires authentication.")
		return
	}
	subject := r.Header.Get("X-Subject-Token")
	c.mu.Lock()
	expires, ok := c.tokens[subject]
	c.mu.Unlock()
	if !ok || !c.now().Before(expires) {
		keystoneError(w, http.StatusNotFound, "Could not find token: "+subject+".")
		return
	}
	w.Header().Set("X-Subject-Token", subject)
	writeJSON(w, http.StatusOK, map[string]any{"token": c.tokenBody("password", expires.Add(-c.cfg.TokenTTL), expires)})
}

func (c *Cloud) newToken(expires time.Time) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.tokens) >= maxTokens {
		now := c.now()
		for t, e := range c.tokens {
			if !now.Before(e) {
				delete(c.tokens, t)
			}
		}
		if len(c.tokens) >= maxTokens {
			clear(c.tokens)
		}
	}
	c.tokenNo++
	raw := make([]byte, 0, 64)
	for i := uint64(0); i < 8; i++ {
		raw = binary.BigEndian.AppendUint64(raw, mix2(c.cfg.Seed^0x70c3, int64(c.tokenNo*8+i)))
	}
	t := "gAAAAA" + base64.RawURLEncoding.EncodeToString(raw)
	c.tokens[t] = expires
	return t
}

// tokenValid reports whether t is an issued, unexpired token.
func (c *Cloud) tokenValid(t string) bool {
	if t == "" {
		return false
	}
	c.mu.Lock()
	expires, ok := c.tokens[t]
	c.mu.Unlock()
	return ok && c.now().Before(expires)
}

func (c *Cloud) tokenBody(method string, issued, expires time.Time) map[string]any {
	domain := map[string]any{"id": "default", "name": c.cfg.Domain}
	endpoint := func(svc, iface, url string) map[string]any {
		return map[string]any{
			"id":     strings.ReplaceAll(uuidOf(c.sc.key(svc+iface), c.sc.key(iface+svc)), "-", ""),
			"region": c.cfg.Region, "region_id": c.cfg.Region, "interface": iface, "url": url,
		}
	}
	entry := func(typ, name, url string) map[string]any {
		return map[string]any{
			"id": strings.ReplaceAll(uuidOf(c.sc.key(typ), c.sc.key(name)), "-", ""), "type": typ, "name": name,
			"endpoints": []any{endpoint(typ, "public", url), endpoint(typ, "internal", url), endpoint(typ, "admin", url)},
		}
	}
	return map[string]any{
		"methods": []string{method},
		"user": map[string]any{
			"domain": domain, "id": c.userID(), "name": c.cfg.User, "password_expires_at": nil,
		},
		"audit_ids":  []string{base64.RawURLEncoding.EncodeToString([]byte(issued.Format("150405.000")))},
		"expires_at": expires.UTC().Format(keystoneTime),
		"issued_at":  issued.UTC().Format(keystoneTime),
		"project":    map[string]any{"domain": domain, "id": c.projectID(), "name": c.cfg.Project},
		"is_domain":  false,
		"roles": []any{
			map[string]any{"id": "4f1e6b7a1c2d4e0f9a8b7c6d5e4f3a2b", "name": "admin"},
			map[string]any{"id": "9c8b7a6d5e4f4a3b2c1d0e9f8a7b6c5d", "name": "reader"},
			map[string]any{"id": "1a2b3c4d5e6f4a7b8c9d0e1f2a3b4c5d", "name": "member"},
		},
		"catalog": []any{
			entry("identity", "keystone", c.keystoneURL+"/v3/"),
			entry("compute", "nova", c.NovaURL()),
		},
	}
}
