package sources

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"io"
	"net"
	"syscall"
)

// FailureKind is what kind of failure a failed poll or connection was, as
// the client knows it: from the status code, the network error's type, or
// the phase that failed (the token request or the service call). It is
// never derived from words in a server's text, which anyone can write.
// Recordings keep it; a recording made before it existed has none, and its
// failures read as FailUnknown.
type FailureKind string

// Failure kinds. The connection kinds (see Connection) say the client could
// not talk to the server at all.
const (
	FailNone            FailureKind = ""                 // the poll succeeded
	FailUnknown         FailureKind = "unknown"          // failed, kind not said (an old recording, an unclassified error)
	FailAuth            FailureKind = "auth"             // credentials or token refused
	FailKeystone        FailureKind = "keystone-down"    // the identity service (Keystone) unreachable or failing: no token can be had or checked
	FailKeystoneTimeout FailureKind = "keystone-timeout" // Keystone did not answer within the deadline: slow or down, the client cannot tell which
	FailTimeout         FailureKind = "timeout"          // no answer within the deadline
	FailRefused         FailureKind = "refused"          // connection refused
	FailUnreachable     FailureKind = "unreachable"      // name does not resolve, no route to host
	FailReset           FailureKind = "reset"            // connection reset or closed mid-answer
	FailTLS             FailureKind = "tls"              // TLS handshake or certificate not trusted
	FailHTTP4xx         FailureKind = "http-4xx"         // the server refused the request (other than auth)
	FailHTTP5xx         FailureKind = "http-5xx"         // the server failed
	FailBlocked         FailureKind = "blocked"          // the broker blocks publishers (a resource alarm)
	FailProtocol        FailureKind = "protocol"         // an answer that does not decode, or is too large
	FailRedirect        FailureKind = "redirect"         // a redirect stacktop refuses to follow
	FailOther           FailureKind = "other"            // failed for another reason the client knows of
	FailPending         FailureKind = "pending"          // not connected yet: the first attempt has not ended (no failure so far)
	FailBehind          FailureKind = "behind"           // a feed flooded or behind (heartbeats): it cannot vouch for silence; the connection is fine
)

// Connection reports whether k means the client could not talk to the
// server at all: timeout, refused, unreachable, reset or TLS.
func (k FailureKind) Connection() bool {
	switch k {
	case FailTimeout, FailRefused, FailUnreachable, FailReset, FailTLS:
		return true
	}
	return false
}

// Failure is an error that carries its kind; it unwraps to the error.
type Failure struct {
	Kind FailureKind
	Err  error
}

func (f *Failure) Error() string { return f.Err.Error() }
func (f *Failure) Unwrap() error { return f.Err }

// Fail returns err marked with kind; nil for a nil err.
func Fail(kind FailureKind, err error) error {
	if err == nil {
		return nil
	}
	return &Failure{Kind: kind, Err: err}
}

// KindOf is the kind of err: the outermost kind a source marked it with
// (Fail), else what the error's types say (deadline, net and syscall errors,
// TLS and x509 errors, JSON errors), else FailOther. FailNone for nil.
// It never looks at the error's text.
func KindOf(err error) FailureKind {
	if err == nil {
		return FailNone
	}
	var f *Failure
	if errors.As(err, &f) && f.Kind != FailNone {
		return f.Kind
	}
	var (
		ne        net.Error
		dns       *net.DNSError
		unknownCA x509.UnknownAuthorityError
		hostname  x509.HostnameError
		invalid   x509.CertificateInvalidError
		verify    *tls.CertificateVerificationError
		record    tls.RecordHeaderError
		alert     tls.AlertError
		syntax    *json.SyntaxError
		typ       *json.UnmarshalTypeError
	)
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return FailTimeout
	case errors.Is(err, syscall.ECONNREFUSED):
		return FailRefused
	case errors.As(err, &dns), errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return FailUnreachable
	case errors.As(err, &unknownCA), errors.As(err, &hostname), errors.As(err, &invalid),
		errors.As(err, &verify), errors.As(err, &record), errors.As(err, &alert):
		return FailTLS
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, net.ErrClosed):
		return FailReset
	case errors.As(err, &syntax), errors.As(err, &typ):
		return FailProtocol
	}
	return FailOther
}

// KindOfStatus is the kind of an HTTP error status: 401 is auth, other 4xx
// http-4xx, 5xx http-5xx, 3xx redirect.
func KindOfStatus(code int) FailureKind {
	switch {
	case code == 401:
		return FailAuth
	case code >= 500:
		return FailHTTP5xx
	case code >= 400:
		return FailHTTP4xx
	case code >= 300:
		return FailRedirect
	}
	return FailOther
}

// KindOfAMQPCode is the kind of an AMQP connection or channel close code
// (amqp091's Error.Code): 403 ACCESS_REFUSED and 530 NOT_ALLOWED (no access
// to the vhost) are auth, 320 CONNECTION_FORCED (the broker shutting down
// or an operator closing it) a reset, 404 NOT_FOUND and 406
// PRECONDITION_FAILED other, and the frame and command errors protocol.
func KindOfAMQPCode(code int) FailureKind {
	switch code {
	case 403, 530:
		return FailAuth
	case 320:
		return FailReset
	case 404, 405, 406:
		return FailOther
	case 0:
		return FailUnknown
	}
	return FailProtocol
}
