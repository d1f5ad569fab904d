// Package redact removes credentials from text before stacktop shows,
// prints or records it: the userinfo of anything that could be a URL,
// whether or not it parses, and the known secrets (configured passwords,
// tokens) wherever they appear. Every error path uses it; there is one
// placeholder and the user name goes with the password.
package redact

import (
	"encoding/base64"
	"net/netip"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Placeholder stands in for every credential removed.
const Placeholder = "REDACTED"

// URL returns s, a URL or something meant to be one, with everything that
// could be credentials replaced by Placeholder:
//
//	https://admin:S3cr3t@keystone:5000/v3       → https://REDACTED@keystone:5000/v3
//	stacktop:S3cr3t@host:15672 (no scheme)       → REDACTED@host:15672
//	rabbit://nova:S3cr3t/nova (no @)             → rabbit://REDACTED
//	rabbit://u:p@h1:5672,u2:p2@h2:5672/nova      → rabbit://REDACTED@h2:5672/nova
//	http://h/x?password=S3cr3t                   → http://h/x?password=REDACTED
//
// The authority ends at the first '/', '?' or '#' after the last '@', so an
// unescaped '/' in a password stays inside what is removed. A host part
// that is not host[:port] could be user:password written without '@': it
// is removed with everything after it. Everything before the last '@' goes,
// host parts of a multi-host URL with it: with ',' '@' ':' unescaped in a
// password they cannot be told apart from it. The user name is never kept.
func URL(s string) string {
	prefix, rest := "", s
	if i := strings.Index(s, "://"); i > 0 && isScheme(s[:i]) {
		prefix, rest = s[:i+3], s[i+3:]
	}
	at := strings.LastIndexByte(rest, '@')
	end := len(rest)
	if i := strings.IndexAny(rest[at+1:], "/?#"); i >= 0 {
		end = at + 1 + i
	}
	authority, tail := rest[:end], rest[end:]
	userinfo := at >= 0 && at < end
	if userinfo {
		// Everything before the last '@' of the authority could be userinfo:
		// with ',' '@' ':' unescaped in a password, host parts before it
		// cannot be told from pieces of the password.
		authority = authority[at+1:]
	}
	parts := strings.Split(authority, ",")
	for _, p := range parts {
		if !isHostPort(p) {
			// user:password without '@', or worse: nothing after it can be trusted.
			return prefix + Placeholder
		}
	}
	if userinfo {
		prefix += Placeholder + "@"
	}
	return prefix + strings.Join(parts, ",") + secretParams.ReplaceAllString(tail, "${1}"+Placeholder)
}

// secretParams are query parameters whose names say they hold a secret.
var secretParams = regexp.MustCompile(`(?i)([?&;][^=&#]*(?:pass|secret|token|key|auth|cred)[^=&#]*=)[^&#;]*`)

func isScheme(s string) bool {
	for i, c := range s {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
		case i > 0 && (c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.'):
		default:
			return false
		}
	}
	return s != ""
}

// isHostPort reports whether s is empty, host, host:port, [v6]:port or a bare
// IPv6 address: something that cannot hide a password.
func isHostPort(s string) bool {
	if s == "" {
		return true
	}
	if _, err := netip.ParseAddr(s); err == nil {
		return true
	}
	host, port := s, ""
	if strings.HasPrefix(s, "[") {
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return false
		}
		if _, err := netip.ParseAddr(s[1:end]); err != nil {
			return false
		}
		host, port = "", s[end+1:]
		if port != "" {
			if port[0] != ':' {
				return false
			}
			port = port[1:]
		}
	} else if i := strings.IndexByte(s, ':'); i >= 0 {
		host, port = s[:i], s[i+1:]
	}
	for _, c := range port {
		if c < '0' || c > '9' {
			return false
		}
	}
	return !strings.ContainsAny(host, ":@[]/ \t")
}

// urlish finds what could be a URL in free text: scheme://… or
// something:something@host.
var urlish = regexp.MustCompile("[A-Za-z][A-Za-z0-9+.-]*://[^\\s\"'`<>]*|[^\\s\"'`<>:]*:[^\\s\"'`<>]*@[^\\s\"'`<>]*")

// Text returns msg with URL applied to everything in it that could be a URL
// with credentials (scheme://…, or user:password@host without a scheme).
// Node names such as rabbit@mq-1 are left alone.
func Text(msg string) string {
	if !strings.Contains(msg, "://") && !strings.Contains(msg, "@") {
		return msg
	}
	return urlish.ReplaceAllStringFunc(msg, URL)
}

// Secrets are known secret strings: configured passwords, tokens,
// application credential secrets. The zero value knows none.
type Secrets struct {
	forms []string // each secret in every form it could be printed in, longest first
	short []string // secrets shorter than MinSubstring, replaced as whole words
}

// MinSubstring is the shortest secret replaced wherever it occurs; a
// shorter one (a password "a") is replaced only where it stands alone,
// or every message would be unreadable.
const MinSubstring = 4

// NewSecrets knows the given secrets; empty strings are ignored.
func NewSecrets(secrets ...string) *Secrets {
	s := &Secrets{}
	s.Add(secrets...)
	return s
}

// Add learns more secrets: each as written, URL-escaped, Go-quoted and,
// for user:password pairs given with AddBasicAuth, base64.
func (s *Secrets) Add(secrets ...string) {
	for _, v := range secrets {
		if v == "" {
			continue
		}
		q := strconv.Quote(v)
		for _, f := range []string{v, url.QueryEscape(v), url.PathEscape(v), q[1 : len(q)-1]} {
			switch {
			case len(f) < MinSubstring:
				if !slices.Contains(s.short, f) {
					s.short = append(s.short, f)
				}
			case !slices.Contains(s.forms, f):
				s.forms = append(s.forms, f)
			}
		}
	}
	slices.SortFunc(s.forms, func(a, b string) int { return len(b) - len(a) })
}

// AddBasicAuth learns a password and the Authorization header value that
// carries it with user.
func (s *Secrets) AddBasicAuth(user, password string) {
	if password == "" {
		return
	}
	s.Add(password)
	s.Add(base64.StdEncoding.EncodeToString([]byte(user + ":" + password)))
}

// Len is how many forms of secrets s looks for.
func (s *Secrets) Len() int {
	if s == nil {
		return 0
	}
	return len(s.forms) + len(s.short)
}

// Scrub returns msg with every known secret, in every form, replaced by
// Placeholder, and Text applied. A nil Secrets applies Text alone.
func (s *Secrets) Scrub(msg string) string {
	if s != nil {
		for _, f := range s.forms {
			msg = strings.ReplaceAll(msg, f, Placeholder)
		}
		for _, w := range s.short {
			msg = replaceWord(msg, w)
		}
	}
	return Text(msg)
}

// replaceWord replaces each occurrence of w in msg that no letter or digit
// touches with Placeholder. It works on bytes: a secret that is not valid
// UTF-8 (a regexp could not even be compiled from it) is matched as written.
func replaceWord(msg, w string) string {
	var b strings.Builder
	last := 0
	for i := 0; i <= len(msg)-len(w); {
		j := strings.Index(msg[i:], w)
		if j < 0 {
			break
		}
		j += i
		end := j + len(w)
		if !wordRune(utf8.DecodeLastRuneInString(msg[:j])) && !wordRune(utf8.DecodeRuneInString(msg[end:])) {
			b.WriteString(msg[last:j])
			b.WriteString(Placeholder)
			last, i = end, end
			continue
		}
		i = j + 1
	}
	if last == 0 {
		return msg
	}
	b.WriteString(msg[last:])
	return b.String()
}

// wordRune: r (as utf8.Decode… returns it) is a letter or a digit.
func wordRune(r rune, _ int) bool { return unicode.IsLetter(r) || unicode.IsNumber(r) }

// Error wraps err so that its text is scrubbed by s, while errors.Is and
// errors.As still see err. A nil err stays nil.
func (s *Secrets) Error(err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	if red := s.Scrub(msg); red != msg {
		return scrubbed{msg: red, err: err}
	}
	return err
}

type scrubbed struct {
	msg string
	err error
}

func (e scrubbed) Error() string { return e.msg }
func (e scrubbed) Unwrap() error { return e.err }

// YAMLValues returns a yaml.v2 error message without the values it quotes
// (cannot unmarshal !!str `S3cr3t` into …: a password under the wrong key)
// and without Go type names: on each line, everything from the first
// backquote to the last goes, whatever backquotes the value itself holds.
func YAMLValues(msg string) string {
	lines := strings.Split(msg, "\n")
	for i, l := range lines {
		if a, b := strings.IndexByte(l, '`'), strings.LastIndexByte(l, '`'); a >= 0 {
			l = l[:a] + l[b+1:]
		}
		lines[i] = yamlInto.ReplaceAllString(l, "")
	}
	return strings.Join(lines, "\n")
}

// yamlInto is yaml.v2's " into main.config" or " into map[string]string".
var yamlInto = regexp.MustCompile(`\s+into\s+\S+`)
