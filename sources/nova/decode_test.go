package nova

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/services"
	"github.com/gophercloud/gophercloud/v2/pagination"

	"github.com/stacktop/stacktop/sources"
	"github.com/stacktop/stacktop/state"
)

// decodeBody runs body through the same path as a live poll: the source's
// transport (guard) asked for the raw page, gophercloud's page parsing
// (services.List's ServicePage), then decodePage.
func decodeBody(t testing.TB, body []byte) ([]sources.Service, error) {
	return decodeVia(body, true)
}

// decodeGeneric decodes body the way gophercloud parses a page by itself,
// into map[string]any, then decodePage's map path: the reference decodeBody
// must agree with.
func decodeGeneric(body []byte) ([]sources.Service, error) {
	return decodeVia(body, false)
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func decodeVia(body []byte, raw bool) ([]sources.Service, error) {
	g := &guard{next: roundTripFunc(func(req *http.Request) (*http.Response, error) {
		if req.Header.Get(rawPageHeader) != "" {
			return nil, fmt.Errorf("%s reached the server", rawPageHeader)
		}
		return &http.Response{
			StatusCode: 200,
			Header:     http.Header{"Content-Type": []string{"application/json"}},
			Body:       io.NopCloser(bytes.NewReader(body)),
			Request:    req,
		}, nil
	})}
	req := &http.Request{Method: http.MethodGet, URL: &url.URL{Scheme: "http", Host: "nova", Path: "/v2.1/os-services"}, Header: http.Header{}}
	if raw {
		req.Header.Set(rawPageHeader, "1")
	}
	resp, err := g.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	pr, err := pagination.PageResultFrom(resp)
	if err != nil {
		return nil, fmt.Errorf("decode: %w", err)
	}
	return decodePage(services.ServicePage{SinglePageBase: pagination.SinglePageBase(pr)})
}

func TestDecodeFixtures(t *testing.T) {
	at := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	tests := []struct {
		file string
		ids  []string
	}{
		{"nova-os-services-2.1.json", []string{"2", "3", "4", "5"}},
		{"nova-os-services-2.11.json", []string{"2", "3", "4", "5"}},
		{"nova-os-services-2.53.json", []string{"c19e6170-d4e3-4859-89b0-3f30020c52cf", "12104070-e659-4ef7-b77e-303c0cad77ab", "078e71ef-5733-4baa-8bc5-b4346a85736b", "dfd445c1-54a8-435e-b378-cde614eb9c1f"}},
		{"nova-os-services-2.69.json", []string{"c19e6170-d4e3-4859-89b0-3f30020c52cf", "12104070-e659-4ef7-b77e-303c0cad77ab", "078e71ef-5733-4baa-8bc5-b4346a85736b", "dfd445c1-54a8-435e-b378-cde614eb9c1f"}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			got, err := decodeBody(t, fixture(t, tt.file))
			if err != nil {
				t.Fatal(err)
			}
			want := []sources.Service{
				{Binary: "nova-scheduler", Host: "vm", Zone: "internal", UpdatedAt: at("2026-11-25T03:27:13.008266Z")},
				{Binary: "nova-conductor", Host: "vm", Zone: "internal", UpdatedAt: at("2026-11-25T03:27:12.845681Z")},
				{Binary: "nova-compute", Host: "compute-2", Zone: "nova", UpdatedAt: at("2026-11-25T03:27:12.528912Z")},
				{Binary: "nova-compute", Host: "compute-1", Zone: "nova", UpdatedAt: at("2026-11-25T03:27:12.125123Z")},
			}
			if len(got) != len(want) {
				t.Fatalf("got %d services, want %d", len(got), len(want))
			}
			for i := range want {
				want[i].ID = tt.ids[i]
				want[i].Status = sources.StatusEnabled
				want[i].State = sources.StateUp
				if got[i] != want[i] {
					t.Errorf("service %d:\n got %+v\nwant %+v", i, got[i], want[i])
				}
				if got[i].UpdatedAt.Location() != time.UTC {
					t.Errorf("service %d: updated_at in %v, want UTC", i, got[i].UpdatedAt.Location())
				}
			}
		})
	}
}

func TestDecodeCases(t *testing.T) {
	tests := []struct {
		name    string
		entry   string // one element of "services"
		want    sources.Service
		wantErr string
	}{
		{
			name:  "down and disabled with a reason, forced down",
			entry: `{"id": 7, "binary": "nova-compute", "host": "c7", "zone": "nova", "status": "disabled", "state": "down", "forced_down": true, "disabled_reason": "fenced by on-call", "updated_at": "2026-11-25T03:20:00.000001"}`,
			want: sources.Service{ID: "7", Binary: "nova-compute", Host: "c7", Zone: "nova", Status: sources.StatusDisabled, State: sources.StateDown,
				ForcedDown: true, DisabledReason: "fenced by on-call", UpdatedAt: time.Date(2026, 11, 25, 3, 20, 0, 1000, time.UTC)},
		},
		{
			name:  "never reported: null updated_at and disabled_reason",
			entry: `{"id": "8e8c0c54-0000-4000-8000-000000000001", "binary": "nova-compute", "host": "c8", "zone": "nova", "status": "enabled", "state": "down", "forced_down": false, "disabled_reason": null, "updated_at": null}`,
			want:  sources.Service{ID: "8e8c0c54-0000-4000-8000-000000000001", Binary: "nova-compute", Host: "c8", Zone: "nova", Status: sources.StatusEnabled, State: sources.StateDown},
		},
		{
			name:  "2.69 service in an unreachable cell: only binary, host and status UNKNOWN",
			entry: `{"binary": "nova-compute", "host": "cell2-c1", "status": "UNKNOWN"}`,
			want:  sources.Service{Binary: "nova-compute", Host: "cell2-c1", State: sources.StateUnknown},
		},
		{
			name:  "state UNKNOWN kept distinct from down",
			entry: `{"id": 9, "binary": "nova-compute", "host": "c9", "status": "enabled", "state": "UNKNOWN", "updated_at": null}`,
			want:  sources.Service{ID: "9", Binary: "nova-compute", Host: "c9", Status: sources.StatusEnabled, State: sources.StateUnknown},
		},
		{
			name:  "updated_at with a zone is converted to UTC",
			entry: `{"id": 10, "binary": "nova-compute", "host": "c10", "status": "enabled", "state": "up", "updated_at": "2026-11-25T05:27:13.5+02:00"}`,
			want:  sources.Service{ID: "10", Binary: "nova-compute", Host: "c10", Status: sources.StatusEnabled, State: sources.StateUp, UpdatedAt: time.Date(2026, 11, 25, 3, 27, 13, 5e8, time.UTC)},
		},
		{
			name:  "updated_at without fraction",
			entry: `{"id": 11, "binary": "nova-compute", "host": "c11", "status": "enabled", "state": "up", "updated_at": "2026-11-25T03:27:13"}`,
			want:  sources.Service{ID: "11", Binary: "nova-compute", Host: "c11", Status: sources.StatusEnabled, State: sources.StateUp, UpdatedAt: time.Date(2026, 11, 25, 3, 27, 13, 0, time.UTC)},
		},
		{name: "id neither number nor string", entry: `{"id": {"x": 1}, "binary": "b", "host": "h", "status": "enabled", "state": "up"}`, wantErr: "neither an integer nor a string"},
		{name: "fractional id", entry: `{"id": 1.5, "binary": "b", "host": "h", "status": "enabled", "state": "up"}`, wantErr: "neither an integer nor a string"},
		{name: "no state", entry: `{"id": 1, "binary": "b", "host": "h", "status": "enabled"}`, wantErr: "no state"},
		{name: "no host", entry: `{"id": 1, "binary": "b", "status": "enabled", "state": "up"}`, wantErr: "no binary or host"},
		{name: "bad updated_at", entry: `{"id": 1, "binary": "b", "host": "h", "status": "enabled", "state": "up", "updated_at": "25/11/2026"}`, wantErr: "not a timestamp"},
		{name: "updated_at not a string", entry: `{"id": 1, "binary": "b", "host": "h", "status": "enabled", "state": "up", "updated_at": 12}`, wantErr: "updated_at is a number, not a string"},
		{name: "binary not a string", entry: `{"id": 1, "binary": 3, "host": "h", "status": "enabled", "state": "up"}`, wantErr: "binary is a number, not a string"},
		{name: "forced_down not a boolean", entry: `{"id": 1, "binary": "b", "host": "h", "status": "enabled", "state": "up", "forced_down": "no"}`, wantErr: "forced_down is a string, not a boolean"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := decodeBody(t, []byte(`{"services": [`+tt.entry+`]}`))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 1 || got[0] != tt.want {
				t.Fatalf("\n got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestDecodeEmptyAndMissing(t *testing.T) {
	got, err := decodeBody(t, []byte(`{"services": []}`))
	if err != nil || got == nil || len(got) != 0 {
		t.Fatalf("empty list: %v, %v (want a non-nil empty slice: the complete, empty, list)", got, err)
	}
	for _, body := range []string{`{}`, `{"services": null}`, `{"services": [1]}`, `[]`, `"services"`} {
		if _, err := decodeBody(t, []byte(body)); err == nil {
			t.Errorf("%s: no error", body)
		}
	}
}

// synthetic builds an os-services body of n services at microversion 2.69.
func synthetic(n int) []byte {
	var b bytes.Buffer
	b.WriteString(`{"services": [`)
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"binary": "nova-compute", "host": "compute-%05d", "id": "%08x-d4e3-4859-89b0-3f30020c52cf", "zone": "nova", "status": "enabled", "state": "up", "updated_at": "2026-11-25T03:27:13.008266", "disabled_reason": null, "forced_down": false}`, i, i)
	}
	b.WriteString(`]}`)
	return b.Bytes()
}

// BenchmarkDecode5000 decodes a 5,000-service os-services response the way
// a poll does: gophercloud's page parsing, then conversion to sources.Service.
func BenchmarkDecode5000(b *testing.B) {
	body := synthetic(5000)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		got, err := decodeBody(b, body)
		if err != nil || len(got) != 5000 {
			b.Fatal(err, len(got))
		}
	}
}

// agreementBodies are bodies on which the raw decoder must agree with the
// map path: the fixtures, the decode cases, and JSON it must read like encoding/json.
func agreementBodies(t testing.TB) [][]byte {
	bodies := [][]byte{synthetic(3)}
	for _, f := range []string{"nova-os-services-2.1.json", "nova-os-services-2.11.json", "nova-os-services-2.53.json", "nova-os-services-2.69.json"} {
		bodies = append(bodies, fixture(t, f))
	}
	for _, s := range []string{
		``, ` `, `{}`, `[]`, `null`, `"services"`, `12`, `true`, `{"services": null}`, `{"services": [1]}`, `{"services": [[]]}`,
		`{"services": {"a": 1}}`, `{"services": "x"}`, `{"services": []}`, `{"services": []} trailing`, `{"services": [] `,
		`{"services": [{"binary": "b", "host": "h", "state": "up", "extra": {"x": [1, 2.5e3, -0, "\u00e9\n", null, true, false]}}]}`,
		`{"services": [{"binary": "b\u0041\\\"/\/", "host": "h\u00e9\ud83d\ude00", "state": "up"}]}`,
		`{"services": [{"binary": "b", "host": "h\xff", "state": "up"}]}`,
		`{"services": [{"binary": "b", "host": "h", "state": "up", "id": 12}], "services": "later"}`,
		`{"services": "first", "services": [{"binary": "b", "host": "h", "state": "up", "id": -12}]}`,
		`{"services": [{"binary": "b", "host": "h", "state": "up", "id": 1e2}]}`,
		`{"services": [{"binary": "b", "host": "h", "state": "up", "id": 99999999999999999999}]}`,
		`{"services": [{"binary": "b", "host": "h", "state": "up", "id": [1]}]}`,
		`{"services": [{"binary": "b", "host": "h", "state": "up", "forced_down": true, "disabled_reason": "r"}, {"binary": "c", "host": "h"}]}`,
		`{"services": [{"binary": "b", "host": "h", "state": "up"}, 3, {]}`,
		`{"services": [{"binary": "b", "host": "h", "state": "up",}]}`,
		`{"services": [{"binary": "b", "host": "h", "state": "up"},]}`,
		`{"services": [{"binary": "b", "host": "h", "state": "up", "x": 01}]}`,
		`{"services": [{"binary": "b", "host": "h", "state": "up", "x": 1.}]}`,
		`{"services": [{"binary": "b", "host": "h", "state": "up", "x": "\q"}]}`,
		`{"services": [{"binary": "b", "host": "h", "state": "up", "x": "\u12"}]}`,
		`{"services": [{"binary": "b", "host": "h", "state": "up", "x": "a` + "\n" + `"}]}`,
		`{"services": [{"binary": "b", "host": "h", "state": "nul"}]}`,
		`{"services" [] }`, `{services: []}`, `{"services": [], }`,
	} {
		bodies = append(bodies, []byte(s))
	}
	return bodies
}

// TestDecodeRawAgrees: the raw decoder of the live poll and the map path
// over gophercloud's own parsing accept the same bodies and decode them alike.
func TestDecodeRawAgrees(t *testing.T) {
	for _, body := range agreementBodies(t) {
		checkAgree(t, body)
	}
}

func checkAgree(t *testing.T, body []byte) {
	t.Helper()
	raw, rawErr := decodeBody(t, body)
	ref, refErr := decodeGeneric(body)
	if (rawErr == nil) != (refErr == nil) {
		t.Fatalf("%q:\n raw: %v\n map: %v", body, rawErr, refErr)
	}
	if rawErr != nil {
		return
	}
	if len(raw) != len(ref) || (raw == nil) != (ref == nil) {
		t.Fatalf("%q: raw %d services, map %d", body, len(raw), len(ref))
	}
	for i := range raw {
		if raw[i] != ref[i] {
			t.Fatalf("%q: service %d:\n raw %+v\n map %+v", body, i, raw[i], ref[i])
		}
	}
}

// FuzzDecodeRawAgrees: the os-services decoder never panics and agrees
// with the reference on every body; seeds are the captured pages, the
// agreement cases and the hostile ones of issue 11.
func FuzzDecodeRawAgrees(f *testing.F) {
	for _, body := range agreementBodies(f) {
		f.Add(body)
	}
	for _, s := range []string{
		`{"services": [{"binary": "b", "host": "` + strings.Repeat("h", 300) + `", "state": "up"}]}`,
		`{"services": [{"binary": "b", "host": "h", "state": "up", "x": ` + strings.Repeat("[", 9997) + strings.Repeat("]", 9997) + `}]}`, // depth 10,000: encoding/json's limit
		`{"services": [{"binary": "b", "host": "h", "state": "up", "x": ` + strings.Repeat("[", 9998) + strings.Repeat("]", 9998) + `}]}`, // one deeper
		`{"services": [{"binary": "b", "host": "h\u202ecompute\u0000\u001b]52;c;", "state": "up"}]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(checkAgree)
}

// pollBodies builds an os-services body of n services (microversion 2.69)
// that can be rewritten in place for each poll: every updated_at, and the
// state of every hundredth service.
type pollBody struct {
	body    []byte
	updated []int // offsets of the updated_at values
	flips   []int // offsets of the state values that change
}

const nova269Time = "2006-01-02T15:04:05.000000"

func newPollBody(n int) *pollBody {
	var b bytes.Buffer
	p := &pollBody{}
	b.WriteString(`{"services": [`)
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"binary": "nova-compute", "host": "compute-%05d", "id": "%08x-d4e3-4859-89b0-3f30020c52cf", "zone": "nova", "status": "enabled", "state": `, i, i)
		if i%100 == 0 {
			p.flips = append(p.flips, b.Len())
		}
		b.WriteString(`"up"  , "updated_at": "`)
		p.updated = append(p.updated, b.Len())
		b.WriteString(nova269Time)
		b.WriteString(`", "disabled_reason": null, "forced_down": false}`)
	}
	b.WriteString(`]}`)
	p.body = b.Bytes()
	return p
}

// at rewrites the body as Nova would answer at poll time now: every service
// reported within the last second, the flipping ones down on odd polls.
func (p *pollBody) at(now time.Time, poll int) []byte {
	for i, off := range p.updated {
		copy(p.body[off:], now.Add(-time.Duration(i%1000)*time.Millisecond).UTC().AppendFormat(nil, nova269Time))
	}
	state := `"up"  `
	if poll%2 == 1 {
		state = `"down"`
	}
	for _, off := range p.flips {
		copy(p.body[off:], state)
	}
	return p.body
}

// BenchmarkDecodeAndFold5000 is a live poll's work on stacktop's side for
// a cloud of 5,000 services: decode the os-services response (transport,
// gophercloud's page, decodePage) and fold the batch into the state store,
// every poll a full list 10 s after the last, every service's report newer,
// 1 % of them changing state.
func BenchmarkDecodeAndFold5000(b *testing.B) {
	const n, every = 5000, 10 * time.Second
	p := newPollBody(n)
	t0 := time.Date(2026, 11, 25, 3, 0, 0, 0, time.UTC)
	store := state.NewStore(state.DefaultConfig())
	fold := func(i int) {
		now := t0.Add(time.Duration(i) * every)
		list, err := decodeBody(b, p.at(now, i))
		if err != nil || len(list) != n {
			b.Fatal(err, len(list))
		}
		store.Apply(sources.Batch{Source: sources.NameNova, At: now, Health: sources.Health{OK: true, Interval: every}, Services: list})
	}
	fold(0)
	b.SetBytes(int64(len(p.body)))
	b.ReportAllocs()
	i := 1
	for b.Loop() {
		fold(i)
		i++
	}
	snap := store.Snapshot()
	if len(snap.Services) != n || snap.Services[0].ReportInterval == 0 {
		b.Fatalf("%d services in the snapshot, report interval %v", len(snap.Services), snap.Services[0].ReportInterval)
	}
}
