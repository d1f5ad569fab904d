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
)

// decodeBody runs body through the same path as a live poll: gophercloud's
// page parsing (services.List's ServicePage), then decodePage.
func decodeBody(t testing.TB, body []byte) ([]sources.Service, error) {
	resp := &http.Response{
		StatusCode: 200,
		Header:     http.Header{"Content-Type": []string{"application/json"}},
		Body:       io.NopCloser(bytes.NewReader(body)),
		Request:    &http.Request{URL: &url.URL{Scheme: "http", Host: "nova", Path: "/v2.1/os-services"}},
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
