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

// decodePage turns a page of services.List into observations. A page that
// is not JSON or has no "services" list is an error, not an empty cloud.
//
// gophercloud has already parsed the body into map[string]any (numbers as
// json.Number); walking that directly is twice as fast as ExtractInto,
// which marshals it back to JSON and decodes again.
func decodePage(p pagination.Page) ([]sources.Service, error) {
	sp, ok := p.(services.ServicePage)
	if !ok {
		return nil, fmt.Errorf("unexpected page type %T", p)
	}
	switch body := sp.Body.(type) {
	case []byte:
		return nil, fmt.Errorf("response is not JSON (Content-Type %q): %s", sp.Header.Get("Content-Type"), serverMessage(body))
	case map[string]any:
		list, ok := body["services"].([]any)
		if !ok {
			if body["services"] == nil {
				return nil, errors.New(`response has no "services" list`)
			}
			return nil, fmt.Errorf(`unexpected JSON: "services" is %s, not a list`, jsonKind(body["services"]))
		}
		out := make([]sources.Service, 0, len(list))
		for i, e := range list {
			m, ok := e.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("service %d is %s, not an object", i, jsonKind(e))
			}
			s, err := service(m)
			if err != nil {
				return nil, fmt.Errorf("service %d (%v on %v): %w", i, m["binary"], m["host"], err)
			}
			out = append(out, s)
		}
		return out, nil
	default:
		return nil, fmt.Errorf("unexpected JSON: the response is %s, not an object", jsonKind(body))
	}
}

// service maps one os-services entry, at any microversion, to a sources.Service:
//
//	id               integer before 2.53, UUID string from 2.53; absent for a down cell
//	binary, host     always
//	zone, state      absent for a down cell
//	status           "enabled", "disabled"; "UNKNOWN" for a down cell (2.69)
//	forced_down      from 2.11
//	disabled_reason  string or null
//	updated_at       zone-less UTC timestamp or null; absent for a down cell
func service(m map[string]any) (sources.Service, error) {
	var s sources.Service
	var status, state string
	var hasState bool
	var err error
	for _, f := range []struct {
		key  string
		dst  *string
		seen *bool
	}{
		{"binary", &s.Binary, nil}, {"host", &s.Host, nil}, {"zone", &s.Zone, nil},
		{"status", &status, nil}, {"state", &state, &hasState}, {"disabled_reason", &s.DisabledReason, nil},
	} {
		switch v := m[f.key].(type) {
		case nil:
		case string:
			*f.dst = v
			if f.seen != nil {
				*f.seen = true
			}
		default:
			return sources.Service{}, fmt.Errorf("%s is %s, not a string", f.key, jsonKind(v))
		}
	}
	if s.Binary == "" || s.Host == "" {
		return sources.Service{}, errors.New("no binary or host")
	}
	s.Status = sources.ServiceStatus(status)
	switch {
	case hasState:
		s.State = sources.ServiceState(state)
	case status == string(sources.StateUnknown):
		// 2.69: a service in an unreachable cell is only {binary, host,
		// status: "UNKNOWN"}; neither its state nor its status is known.
		s.State = sources.StateUnknown
		s.Status = ""
	default:
		return sources.Service{}, errors.New("no state")
	}
	switch v := m["forced_down"].(type) {
	case nil:
	case bool:
		s.ForcedDown = v
	default:
		return sources.Service{}, fmt.Errorf("forced_down is %s, not a boolean", jsonKind(v))
	}
	if s.ID, err = parseID(m["id"]); err != nil {
		return sources.Service{}, err
	}
	switch v := m["updated_at"].(type) {
	case nil:
	case string:
		if s.UpdatedAt, err = parseTime(v); err != nil {
			return sources.Service{}, err
		}
	default:
		return sources.Service{}, fmt.Errorf("updated_at is %s, not a string", jsonKind(v))
	}
	return s, nil
}

// jsonKind names the JSON type of a value decoded into any.
func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case json.Number, float64:
		return "a number"
	case []any:
		return "a list"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("a %T", v)
}

// parseID accepts the integer id of microversions before 2.53 and the UUID string after.
func parseID(v any) (string, error) {
	switch id := v.(type) {
	case nil:
		return "", nil
	case string:
		return id, nil
	case json.Number:
		if _, err := strconv.ParseInt(string(id), 10, 64); err == nil {
			return string(id), nil
		}
	case float64:
		if id == float64(int64(id)) {
			return strconv.FormatInt(int64(id), 10), nil
		}
	}
	return "", fmt.Errorf("id %s is neither an integer nor a string", oneLine(fmt.Sprint(v), 40))
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
