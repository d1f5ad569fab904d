package nova

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/services"
	"github.com/gophercloud/gophercloud/v2/pagination"

	"github.com/stacktop/stacktop/sources"
)

// wireService is one os-services entry as Nova sends it, at any microversion.
type wireService struct {
	ID             json.RawMessage `json:"id"` // integer before 2.53, UUID string from 2.53; absent for a down cell
	Binary         string          `json:"binary"`
	Host           string          `json:"host"`
	Zone           *string         `json:"zone"`
	Status         string          `json:"status"`
	State          *string         `json:"state"`
	ForcedDown     bool            `json:"forced_down"` // from 2.11
	DisabledReason *string         `json:"disabled_reason"`
	UpdatedAt      *string         `json:"updated_at"`
}

// decodePage turns a page of services.List into observations. A page that
// is not JSON or has no "services" list is an error, not an empty cloud.
func decodePage(p pagination.Page) ([]sources.Service, error) {
	sp, ok := p.(services.ServicePage)
	if !ok {
		return nil, fmt.Errorf("unexpected page type %T", p)
	}
	if raw, isBytes := sp.Body.([]byte); isBytes {
		return nil, fmt.Errorf("response is not JSON (Content-Type %q): %s", sp.Header.Get("Content-Type"), serverMessage(raw))
	}
	var doc struct {
		Services *[]wireService `json:"services"`
	}
	if err := sp.ExtractInto(&doc); err != nil {
		return nil, fmt.Errorf("decode: %w", err)
	}
	if doc.Services == nil {
		return nil, errors.New(`response has no "services" list`)
	}
	return convert(*doc.Services)
}

// convert maps wire entries to sources.Service. The result is never nil.
func convert(in []wireService) ([]sources.Service, error) {
	out := make([]sources.Service, 0, len(in))
	for i, w := range in {
		s, err := w.service()
		if err != nil {
			return nil, fmt.Errorf("service %d (%s on %s): %w", i, w.Binary, w.Host, err)
		}
		out = append(out, s)
	}
	return out, nil
}

func (w *wireService) service() (sources.Service, error) {
	if w.Binary == "" || w.Host == "" {
		return sources.Service{}, errors.New("no binary or host")
	}
	s := sources.Service{
		Binary:     w.Binary,
		Host:       w.Host,
		Status:     sources.ServiceStatus(w.Status),
		ForcedDown: w.ForcedDown,
	}
	var err error
	if s.ID, err = parseID(w.ID); err != nil {
		return sources.Service{}, err
	}
	if w.Zone != nil {
		s.Zone = *w.Zone
	}
	if w.DisabledReason != nil {
		s.DisabledReason = *w.DisabledReason
	}
	switch {
	case w.State != nil:
		s.State = sources.ServiceState(*w.State)
	case w.Status == string(sources.StateUnknown):
		// 2.69: a service in an unreachable cell is only {binary, host,
		// status: "UNKNOWN"}; neither its state nor its status is known.
		s.State = sources.StateUnknown
		s.Status = ""
	default:
		return sources.Service{}, errors.New("no state")
	}
	if w.UpdatedAt != nil {
		if s.UpdatedAt, err = parseTime(*w.UpdatedAt); err != nil {
			return sources.Service{}, err
		}
	}
	return s, nil
}

// parseID accepts the integer id of microversions before 2.53 and the UUID string after.
func parseID(raw json.RawMessage) (string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	if raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", fmt.Errorf("id: %w", err)
		}
		return s, nil
	}
	if _, err := strconv.ParseInt(string(raw), 10, 64); err != nil {
		return "", fmt.Errorf("id %s is neither an integer nor a string", oneLine(string(raw), 40))
	}
	return string(raw), nil
}

// timeLayouts are the forms updated_at takes: Nova's zone-less
// isoformat (UTC by convention), with or without a zone or fraction.
var timeLayouts = []string{
	"2006-01-02T15:04:05.999999999",
	time.RFC3339Nano,
	"2006-01-02 15:04:05.999999999",
	"2006-01-02T15:04:05.999999999-0700",
}

// parseTime parses an updated_at in UTC; "" is the zero time.
func parseTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	for _, l := range timeLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("updated_at %q is not a timestamp", oneLine(s, 40))
}
