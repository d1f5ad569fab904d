package nova

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"regexp"
	"strings"

	"github.com/gophercloud/gophercloud/v2"

	"github.com/stacktop/stacktop/redact"
	"github.com/stacktop/stacktop/sources"
	"github.com/stacktop/stacktop/sources/httppolicy"
)

// maxMessage bounds the part of a server's error body quoted in an error.
const maxMessage = 160

// safeError carries a message that has been made safe to show (no
// credentials, no URL userinfo, one short line) while still unwrapping to the
// original error for errors.Is/As.
type safeError struct {
	msg string
	err error
}

func (e *safeError) Error() string { return e.msg }
func (e *safeError) Unwrap() error { return e.err }

// sanitize returns err with a message fit for Health.Err: gophercloud's
// wordy errors condensed, URLs without userinfo, secrets replaced. auth says
// whether err came from Keystone, so that 401 reads "credentials refused".
func sanitize(err error, auth bool, secrets []string) error {
	if err == nil {
		return nil
	}
	return &safeError{msg: scrub(describe(err, auth), secrets), err: err}
}

// describe is a short, single-line account of err.
func describe(err error, auth bool) string {
	var redirect *httppolicy.RedirectError
	if errors.As(err, &redirect) {
		return redirect.Error()
	}
	var tooLarge *httppolicy.TooLargeError
	if errors.As(err, &tooLarge) {
		return tooLarge.Error()
	}
	var reauth *gophercloud.ErrUnableToReauthenticate
	if errors.As(err, &reauth) {
		return "token rejected and re-authentication failed: " + describe(reauth.ErrReauth, true)
	}
	var after *gophercloud.ErrErrorAfterReauthentication
	if errors.As(err, &after) {
		return "after re-authenticating: " + describe(after.ErrOriginal, false)
	}
	var code gophercloud.ErrUnexpectedResponseCode
	if errors.As(err, &code) {
		return describeStatus(code.Actual, code.Method, code.URL, code.Body, auth)
	}
	var codeP *gophercloud.ErrUnexpectedResponseCode
	if errors.As(err, &codeP) {
		return describeStatus(codeP.Actual, codeP.Method, codeP.URL, codeP.Body, auth)
	}
	var notFound *gophercloud.ErrEndpointNotFound
	if errors.As(err, &notFound) {
		return "no compute endpoint in the service catalog for that region and interface"
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return "timed out"
	}
	if errors.Is(err, context.Canceled) {
		return "cancelled"
	}
	var unknownAuthority x509.UnknownAuthorityError
	if errors.As(err, &unknownAuthority) {
		return "TLS: certificate signed by an unknown authority (give the CA file, or turn verification off)"
	}
	var hostname x509.HostnameError
	if errors.As(err, &hostname) {
		return "TLS: " + hostname.Error()
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return "truncated response (unexpected EOF)"
	}
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) {
		return fmt.Sprintf("unexpected JSON: %s is a %s", typeErr.Field, typeErr.Value)
	}
	var syntax *json.SyntaxError
	if errors.As(err, &syntax) {
		return "malformed JSON: " + syntax.Error()
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		var op *net.OpError
		if errors.As(ue.Err, &op) {
			return fmt.Sprintf("%s %s: %s", ue.Op, redact.URL(ue.URL), op.Err)
		}
		return fmt.Sprintf("%s %s: %s", ue.Op, redact.URL(ue.URL), describe(ue.Err, auth))
	}
	return oneLine(err.Error(), 300)
}

// describeStatus explains an unexpected HTTP status and quotes the server's own message.
func describeStatus(status int, method, rawURL string, body []byte, auth bool) string {
	var what string
	switch {
	case status == 401 && auth:
		return "credentials refused (401)"
	case status == 401:
		what = "token refused (401)"
	case status == 403 && auth:
		what = "forbidden (403)"
	case status == 403:
		what = "forbidden (403): listing compute services needs the admin role (or a reader role the policy allows)"
	case status == 404:
		what = "not found (404)"
	case status == 406:
		what = "microversion not acceptable (406)"
	case status == 429:
		what = "rate limited (429)"
	default:
		what = fmt.Sprintf("HTTP %d", status)
	}
	s := fmt.Sprintf("%s from %s %s", what, method, redact.URL(rawURL))
	if m := serverMessage(body); m != "" {
		s += ": " + m
	}
	return s
}

var titleRE = regexp.MustCompile(`(?is)<title>(.*?)</title>`)
var tagRE = regexp.MustCompile(`(?s)<[^>]*>`)

// serverMessage extracts the human part of an error body: OpenStack's
// {"<kind>": {"message": ...}}, an HTML page's title, or the start of the text.
func serverMessage(body []byte) string {
	b := strings.TrimSpace(string(body))
	if b == "" {
		return ""
	}
	var doc map[string]json.RawMessage
	if json.Unmarshal([]byte(b), &doc) == nil {
		for _, v := range doc {
			var inner struct {
				Message string `json:"message"`
			}
			if json.Unmarshal(v, &inner) == nil && inner.Message != "" {
				return oneLine(inner.Message, maxMessage)
			}
		}
		var flat struct {
			Message string `json:"message"`
		}
		if json.Unmarshal([]byte(b), &flat) == nil && flat.Message != "" {
			return oneLine(flat.Message, maxMessage)
		}
	}
	if strings.HasPrefix(b, "<") {
		if m := titleRE.FindStringSubmatch(b); m != nil {
			return "HTML page " + strconvQuote(oneLine(m[1], maxMessage))
		}
		return "HTML page " + strconvQuote(oneLine(tagRE.ReplaceAllString(b, " "), maxMessage))
	}
	return strconvQuote(oneLine(b, maxMessage))
}

func strconvQuote(s string) string { return fmt.Sprintf("%q", s) }

// oneLine collapses whitespace and control characters and cuts s to n runes.
func oneLine(s string, n int) string {
	s = strings.Join(strings.FieldsFunc(s, func(r rune) bool {
		return r < 0x20 || r == 0x7f || r == ' ' || (r >= 0x80 && r < 0xa0)
	}), " ")
	if r := []rune(s); len(r) > n {
		s = string(r[:n]) + "…"
	}
	return s
}

// secretsOf lists the credential strings of ao that must never be shown.
func secretsOf(ao gophercloud.AuthOptions) []string {
	var s []string
	for _, v := range []string{ao.Password, ao.Passcode, ao.TokenID, ao.ApplicationCredentialSecret} {
		if v != "" {
			s = append(s, v)
		}
	}
	return s
}

// configSecrets are the secrets cfg and the environment give, known before
// they are resolved, for errors of the resolution itself.
func configSecrets(cfg Config, getenv func(string) string) []string {
	s := []string{getenv("OS_PASSWORD"), getenv("OS_TOKEN"), getenv("OS_APPLICATION_CREDENTIAL_SECRET")}
	if a := cfg.Auth; a != nil {
		s = append(s, a.Password, a.Token, a.ApplicationCredentialSecret)
	}
	return s
}

// scrub replaces every secret in msg, and any URL userinfo, with redact.Placeholder.
func scrub(msg string, secrets []string) string {
	return redact.NewSecrets(secrets...).Scrub(msg)
}

// kindOf is the failure kind of a poll error. auth says whether err came
// from the token request (Keystone): there a refused credential is auth,
// Keystone failing (5xx) or unreachable is keystone-down, and Keystone not
// answering within the deadline is keystone-timeout (slow or down: the
// rules decide what it means);
// from the service call, 401 (a token refused, re-authentication failed)
// is auth and the rest is what the status or the network error says. It
// reads status codes and error types only, never the server's words.
func kindOf(err error, auth bool) sources.FailureKind {
	if err == nil {
		return sources.FailNone
	}
	var reauth *gophercloud.ErrUnableToReauthenticate
	if errors.As(err, &reauth) {
		if k := kindOf(reauth.ErrReauth, true); k == sources.FailKeystone || k == sources.FailKeystoneTimeout {
			return k
		}
		return sources.FailAuth
	}
	var after *gophercloud.ErrErrorAfterReauthentication
	if errors.As(err, &after) {
		return kindOf(after.ErrOriginal, false)
	}
	status := 0
	var code gophercloud.ErrUnexpectedResponseCode
	var codeP *gophercloud.ErrUnexpectedResponseCode
	switch {
	case errors.As(err, &code):
		status = code.Actual
	case errors.As(err, &codeP):
		status = codeP.Actual
	}
	var notFound *gophercloud.ErrEndpointNotFound
	switch {
	case status == 401, auth && status == 403:
		return sources.FailAuth
	case auth && status >= 500:
		return sources.FailKeystone
	case status != 0:
		return sources.KindOfStatus(status)
	case errors.As(err, &notFound):
		return sources.FailOther
	}
	k := sources.KindOf(err)
	switch {
	case auth && k == sources.FailTimeout:
		return sources.FailKeystoneTimeout // slow or down: no answer in time says no more
	case auth && k.Connection() && k != sources.FailTLS:
		return sources.FailKeystone
	}
	return k
}
