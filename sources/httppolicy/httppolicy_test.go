package httppolicy

import (
	"errors"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stacktop/stacktop/format"
	"github.com/stacktop/stacktop/sources"
)

func TestCheckRedirect(t *testing.T) {
	tests := []struct {
		name, from, to string
		hops           int    // requests made before this one
		want           string // "" when followed, else a part of the error
	}{
		{"same origin, new path", "http://keystone:5000/v3", "http://keystone:5000/v3/", 1, ""},
		{"default port written out", "https://nova/compute", "https://nova:443/compute/", 1, ""},
		{"host case", "http://Keystone:5000/v3", "http://keystone:5000/x", 1, ""},
		{"another host", "http://keystone:5000/v3/auth/tokens", "http://other-host/v3/auth/tokens", 1, "redirect (307) to http://other-host:80 refused: another host than keystone"},
		{"another port", "http://keystone:5000/v3", "http://keystone:5001/v3", 1, "to http://keystone:5001 refused: another port than 5000"},
		{"https to http, same host", "https://nova:8774/v2.1", "http://nova:8774/v2.1", 1, "to http://nova:8774 refused: another scheme than https"},
		{"http to https, same host", "http://rabbit:15672/api", "https://rabbit:15672/api", 1, "another scheme than http"},
		{"userinfo added", "http://rabbit:15672/api", "http://u:p@rabbit:15672/api", 1, "credentials in the URL"},
		{"IPv6", "http://[::1]:5000/", "http://[::2]:5000/", 1, "to http://[::2]:5000 refused"},
		{"too many", "http://a/", "http://a/x", MaxRedirects + 1, "more than 3 redirects"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			from, _ := url.Parse(tt.from)
			to, _ := url.Parse(tt.to)
			via := []*http.Request{{URL: from}}
			for len(via) < tt.hops {
				via = append(via, &http.Request{URL: to})
			}
			req := &http.Request{URL: to, Response: &http.Response{StatusCode: 307}}
			err := CheckRedirect(req, via)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) || !errors.Is(err, ErrRedirect) || sources.KindOf(err) != sources.FailRedirect {
				t.Fatalf("err = %v, want ErrRedirect with %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "p@") {
				t.Errorf("userinfo in %q", err)
			}
		})
	}
}

// TestClientRefusesCrossHostRedirect: two servers are two hosts; the
// credential header never reaches the second.
func TestClientRefusesCrossHostRedirect(t *testing.T) {
	reached := make(chan string, 1)
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reached <- r.Header.Get("X-Auth-Token")
	}))
	defer other.Close()
	first := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/same" {
			_, _ = io.WriteString(w, "followed")
			return
		}
		if r.URL.Path == "/local" {
			http.Redirect(w, r, "/same", http.StatusFound)
			return
		}
		http.Redirect(w, r, other.URL+"/steal", http.StatusTemporaryRedirect)
	}))
	defer first.Close()
	c := Client(http.DefaultTransport)

	req, _ := http.NewRequest(http.MethodGet, first.URL+"/away", nil)
	req.Header.Set("X-Auth-Token", "secret-token")
	resp, err := c.Do(req)
	if resp != nil {
		resp.Body.Close()
	}
	var re *RedirectError
	if !errors.As(err, &re) || re.Status != 307 || !strings.Contains(re.To, "127.0.0.1:") {
		t.Fatalf("err = %v, want a refused 307", err)
	}
	select {
	case tok := <-reached:
		t.Fatalf("the other host got a request (X-Auth-Token %q)", tok)
	default:
	}

	resp, err = c.Get(first.URL + "/local")
	if err != nil {
		t.Fatalf("same-origin redirect: %v", err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "followed" {
		t.Fatalf("body %q", b)
	}
}

func TestLimitReader(t *testing.T) {
	tests := []struct {
		size, limit int64
		tooLarge    bool
	}{
		{0, 0, false}, {10, 10, false}, {11, 10, true}, {1 << 20, 1000, true}, {999, 1000, false},
	}
	for _, tt := range tests {
		b, err := io.ReadAll(LimitReader(strings.NewReader(strings.Repeat("x", int(tt.size))), tt.limit))
		if got := errors.Is(err, ErrTooLarge) && sources.KindOf(err) == sources.FailProtocol; got != tt.tooLarge {
			t.Errorf("size %d limit %d: err %v", tt.size, tt.limit, err)
		}
		if int64(len(b)) > tt.limit {
			t.Errorf("size %d limit %d: read %d bytes", tt.size, tt.limit, len(b))
		}
		if err != nil && err.Error() != "response exceeds "+format.Bytes(tt.limit)+" (after decompression)" {
			t.Errorf("message %q", err)
		}
	}
}

// TestEveryClientUsesThePolicy: no HTTP client of stacktop is built, nor a
// redirect rule written, outside this package (the demo, which serves only
// itself, aside), so none can miss the redirect rule.
func TestEveryClientUsesThePolicy(t *testing.T) {
	root := filepath.Join("..", "..")
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		if d.IsDir() {
			switch rel {
			case ".git", ".run", filepath.Join("sources", "demo"), filepath.Join("sources", "httppolicy"):
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, bad := range []string{"http.Client{", "CheckRedirect: func", "CheckRedirect = func", "http.DefaultClient", "http.Get(", "http.Post("} {
			if strings.Contains(string(b), bad) {
				t.Errorf("%s: %s: build clients with httppolicy.Client, redirect rules from httppolicy", rel, bad)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
