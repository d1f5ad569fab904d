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
// The live poll asks the transport for the page's raw bytes (rawPageHeader):
// decodeJSON reads them straight into sources.Service, three to four times as
// fast as letting gophercloud parse them into map[string]any first, which for
// 5,000 services costs some 20 ms and 160,000 allocations per poll. A page
// that gophercloud did parse (a transport that kept the Content-Type) is
// walked as a map, with the same rules and messages (see fields.service).
func decodePage(p pagination.Page) ([]sources.Service, error) {
	sp, ok := p.(services.ServicePage)
	if !ok {
		return nil, fmt.Errorf("unexpected page type %T", p)
	}
	switch body := sp.Body.(type) {
	case []byte:
		if sp.Header.Get(rawContentTypeHeader) != "" { // JSON, as bytes: see keepRaw
			return decodeJSON(body)
		}
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
			f := fieldsOf(m)
			s, err := f.service()
			if err != nil {
				return nil, f.errorAt(i, err)
			}
			out = append(out, s)
		}
		return out, nil
	default:
		return nil, fmt.Errorf("unexpected JSON: the response is %s, not an object", jsonKind(body))
	}
}

// isJSON says whether a Content-Type is the one gophercloud parses as JSON.
func isJSON(ct string) bool { return strings.HasPrefix(ct, "application/json") }

// value is one JSON value of an os-services entry as far as decoding needs
// it: its kind and, for a string, number or boolean, its text.
type value struct {
	kind byte   // 0 absent or null, 's' string, '#' number, 'b' boolean, '{' object, '[' list
	text string // the string's value, the number's or boolean's literal; the raw JSON of an object or list
}

// kindName names the JSON type of a value, as jsonKind does.
func (v value) kindName() string {
	switch v.kind {
	case 0:
		return "null"
	case 's':
		return "a string"
	case 'b':
		return "a boolean"
	case '#':
		return "a number"
	case '[':
		return "a list"
	}
	return "an object"
}

// String is the value as fmt's %v shows it decoded into any.
func (v value) String() string {
	if v.kind == 0 {
		return "<nil>"
	}
	return v.text
}

// fields are the members of one os-services entry that stacktop reads.
type fields struct {
	id, binary, host, zone, status, state, disabledReason, forcedDown, updatedAt value
}

// field returns where key's value goes, or nil for a member stacktop ignores.
func (f *fields) field(key string) *value {
	switch key {
	case "id":
		return &f.id
	case "binary":
		return &f.binary
	case "host":
		return &f.host
	case "zone":
		return &f.zone
	case "status":
		return &f.status
	case "state":
		return &f.state
	case "disabled_reason":
		return &f.disabledReason
	case "forced_down":
		return &f.forcedDown
	case "updated_at":
		return &f.updatedAt
	}
	return nil
}

// fieldsOf reads an entry that gophercloud decoded into map[string]any (numbers as json.Number).
func fieldsOf(m map[string]any) fields {
	var f fields
	for k, x := range m {
		p := f.field(k)
		if p == nil {
			continue
		}
		switch x := x.(type) {
		case nil:
		case string:
			*p = value{'s', x}
		case bool:
			*p = value{'b', strconv.FormatBool(x)}
		case json.Number:
			*p = value{'#', string(x)}
		case float64:
			*p = value{'#', strconv.FormatFloat(x, 'g', -1, 64)}
		case []any:
			*p = value{'[', fmt.Sprint(x)}
		default:
			*p = value{'{', fmt.Sprint(x)}
		}
	}
	return f
}

// errorAt puts the entry's index, binary and host in front of err.
func (f *fields) errorAt(i int, err error) error {
	return fmt.Errorf("service %d (%s on %s): %w", i, oneLine(f.binary.String(), 60), oneLine(f.host.String(), 60), err)
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
//
// A member that is null counts as absent.
func (f *fields) service() (sources.Service, error) {
	var s sources.Service
	for _, x := range []struct {
		key string
		v   *value
		dst *string
	}{
		{"binary", &f.binary, &s.Binary}, {"host", &f.host, &s.Host}, {"zone", &f.zone, &s.Zone},
		{"status", &f.status, nil}, {"state", &f.state, nil}, {"disabled_reason", &f.disabledReason, &s.DisabledReason},
		{"updated_at", &f.updatedAt, nil},
	} {
		switch x.v.kind {
		case 0:
		case 's':
			if x.dst != nil {
				*x.dst = x.v.text
			}
		default:
			return sources.Service{}, fmt.Errorf("%s is %s, not a string", x.key, x.v.kindName())
		}
	}
	if s.Binary == "" || s.Host == "" {
		return sources.Service{}, errors.New("no binary or host")
	}
	s.Status = sources.ServiceStatus(f.status.text)
	switch {
	case f.state.kind == 's':
		s.State = sources.ServiceState(f.state.text)
	case f.status.text == string(sources.StateUnknown):
		// 2.69: a service in an unreachable cell is only {binary, host,
		// status: "UNKNOWN"}; neither its state nor its status is known.
		s.State = sources.StateUnknown
		s.Status = ""
	default:
		return sources.Service{}, errors.New("no state")
	}
	switch f.forcedDown.kind {
	case 0:
	case 'b':
		s.ForcedDown = f.forcedDown.text == "true"
	default:
		return sources.Service{}, fmt.Errorf("forced_down is %s, not a boolean", f.forcedDown.kindName())
	}
	var err error
	if s.ID, err = parseID(f.id); err != nil {
		return sources.Service{}, err
	}
	if f.updatedAt.kind == 's' {
		if s.UpdatedAt, err = parseTime(f.updatedAt.text); err != nil {
			return sources.Service{}, err
		}
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
func parseID(v value) (string, error) {
	switch v.kind {
	case 0:
		return "", nil
	case 's':
		return v.text, nil
	case '#':
		if _, err := strconv.ParseInt(v.text, 10, 64); err == nil {
			return v.text, nil
		}
	}
	return "", fmt.Errorf("id %s is neither an integer nor a string", oneLine(v.text, 40))
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
