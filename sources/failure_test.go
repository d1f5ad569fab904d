package sources

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"
	"testing"
)

func TestKindOf(t *testing.T) {
	opErr := func(errno syscall.Errno) error {
		return &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", errno)}
	}
	var syntax json.SyntaxError
	tests := []struct {
		err  error
		want FailureKind
	}{
		{nil, FailNone},
		{fmt.Errorf("poll: %w", context.DeadlineExceeded), FailTimeout},
		{fmt.Errorf("GET x: %w", opErr(syscall.ECONNREFUSED)), FailRefused},
		{opErr(syscall.EHOSTUNREACH), FailUnreachable},
		{&net.DNSError{Err: "no such host", Name: "mq1"}, FailUnreachable},
		{opErr(syscall.ECONNRESET), FailReset},
		{io.ErrUnexpectedEOF, FailReset},
		{x509.UnknownAuthorityError{}, FailTLS},
		{&syntax, FailProtocol},
		{errors.New("401 token keystone credentials refused timeout"), FailOther}, // words never count
		{Fail(FailAuth, errors.New("credentials refused")), FailAuth},
		{fmt.Errorf("outer: %w", Fail(FailKeystone, opErr(syscall.ECONNREFUSED))), FailKeystone},
	}
	for _, tt := range tests {
		if got := KindOf(tt.err); got != tt.want {
			t.Errorf("KindOf(%v) = %q, want %q", tt.err, got, tt.want)
		}
	}
	for code, want := range map[int]FailureKind{401: FailAuth, 403: FailHTTP4xx, 404: FailHTTP4xx, 500: FailHTTP5xx, 503: FailHTTP5xx, 307: FailRedirect} {
		if got := KindOfStatus(code); got != want {
			t.Errorf("KindOfStatus(%d) = %q, want %q", code, got, want)
		}
	}
	for code, want := range map[int]FailureKind{403: FailAuth, 320: FailReset, 404: FailOther, 501: FailProtocol} {
		if got := KindOfAMQPCode(code); got != want {
			t.Errorf("KindOfAMQPCode(%d) = %q, want %q", code, got, want)
		}
	}
	for _, k := range []FailureKind{FailTimeout, FailRefused, FailUnreachable, FailReset, FailTLS} {
		if !k.Connection() {
			t.Errorf("%q is not a connection kind", k)
		}
	}
	for _, k := range []FailureKind{FailAuth, FailKeystone, FailHTTP5xx, FailUnknown, FailNone} {
		if k.Connection() {
			t.Errorf("%q is a connection kind", k)
		}
	}
}
