package secretfile

import (
	"net/url"
	"slices"
	"strings"

	"gopkg.in/yaml.v2"
)

// YAMLSecrets returns, from a YAML file that may not even decode as its
// reader expects, every value under a key that names a secret (password,
// secret, token; not *_file) and the passwords of every URL in it, so that
// no error about the file can show them. Whether the slice is empty says
// whether the file holds a secret.
func YAMLSecrets(b []byte) []string {
	var doc any
	if yaml.Unmarshal(b, &doc) != nil {
		return nil
	}
	var found []string
	var walk func(key string, v any)
	walk = func(key string, v any) {
		switch x := v.(type) {
		case map[any]any:
			for k, e := range x {
				ks, _ := k.(string)
				walk(strings.ToLower(ks), e)
			}
		case []any:
			for _, e := range x {
				walk(key, e)
			}
		case string:
			found = append(found, URLPasswords(x)...)
			if strings.HasSuffix(key, "_file") {
				return
			}
			if strings.Contains(key, "password") || strings.Contains(key, "secret") || strings.Contains(key, "token") {
				found = append(found, x)
			}
		}
	}
	walk("", doc)
	return slices.DeleteFunc(found, func(s string) bool { return s == "" })
}

// URLPasswords are the passwords in what may be a URL, every host's of a
// multi-host transport URL, as written and unescaped; nil without '@'.
func URLPasswords(raw string) []string {
	if _, rest, ok := strings.Cut(raw, "://"); ok {
		raw = rest
	}
	at := strings.LastIndexByte(raw, '@')
	if at < 0 {
		return nil
	}
	userinfo := raw[:at]
	var out []string
	add := func(p string) {
		if p == "" {
			return
		}
		out = append(out, p)
		if u, err := url.PathUnescape(p); err == nil && u != p {
			out = append(out, u)
		}
	}
	for _, part := range strings.Split(userinfo, ",") {
		if i := strings.LastIndexByte(part, '@'); i >= 0 {
			part = part[:i]
		}
		if _, p, ok := strings.Cut(part, ":"); ok {
			add(p)
		}
	}
	if _, p, ok := strings.Cut(userinfo, ":"); ok { // a password holding ',' or '@'
		add(p)
	}
	return out
}
