package nova

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/utils"
)

// MaxMicroversion is the highest compute microversion stacktop asks for:
// 2.11 adds forced_down, 2.53 UUID ids, 2.69 UNKNOWN for services in unreachable cells.
const MaxMicroversion = "2.69"

// microversion is a compute API microversion, 2.x.
type microversion struct{ major, minor int }

func (v microversion) String() string { return fmt.Sprintf("%d.%d", v.major, v.minor) }

func (v microversion) less(w microversion) bool {
	return v.major < w.major || (v.major == w.major && v.minor < w.minor)
}

func parseMicroversion(s string) (microversion, error) {
	a, b, ok := strings.Cut(strings.TrimSpace(s), ".")
	if !ok {
		return microversion{}, fmt.Errorf("microversion %q is not major.minor", s)
	}
	maj, err1 := strconv.Atoi(a)
	min, err2 := strconv.Atoi(b)
	if err1 != nil || err2 != nil || maj < 0 || min < 0 {
		return microversion{}, fmt.Errorf("microversion %q is not major.minor", s)
	}
	return microversion{maj, min}, nil
}

var (
	baseMicroversion = microversion{2, 1}
	maxMicroversion  = microversion{2, 69}
)

// versionDoc is Nova's version document: one "version" at /v2.1/, a list of "versions" at /.
type versionDoc struct {
	Version  *apiVersion  `json:"version"`
	Versions []apiVersion `json:"versions"`
}

type apiVersion struct {
	ID         string `json:"id"`
	Status     string `json:"status"`
	Version    string `json:"version"`     // the maximum microversion; "" when the API has none
	MaxVersion string `json:"max_version"` // the same, as some services spell it
	MinVersion string `json:"min_version"`
}

// negotiate picks the microversion to use from a version document: the
// highest the server offers up to MaxMicroversion, or 2.1 when it offers
// none. header is "" when no microversion header should be sent.
func negotiate(body []byte) (chosen microversion, header string, err error) {
	var doc versionDoc
	if err := json.Unmarshal(body, &doc); err != nil {
		return microversion{}, "", fmt.Errorf("version document: %w", err)
	}
	var v *apiVersion
	switch {
	case doc.Version != nil:
		v = doc.Version
	case len(doc.Versions) > 0:
		for i := range doc.Versions {
			if doc.Versions[i].ID == "v2.1" {
				v = &doc.Versions[i]
			}
		}
		if v == nil {
			return microversion{}, "", errors.New("version document offers no v2.1 API")
		}
	default:
		return microversion{}, "", errors.New("version document has neither \"version\" nor \"versions\"")
	}
	maxS := firstOf(v.Version, v.MaxVersion)
	if maxS == "" {
		return baseMicroversion, "", nil
	}
	hi, err := parseMicroversion(maxS)
	if err != nil {
		return microversion{}, "", fmt.Errorf("version document: %w", err)
	}
	lo := baseMicroversion
	if v.MinVersion != "" {
		if lo, err = parseMicroversion(v.MinVersion); err != nil {
			return microversion{}, "", fmt.Errorf("version document: %w", err)
		}
	}
	chosen = hi
	if maxMicroversion.less(chosen) {
		chosen = maxMicroversion
	}
	if chosen.less(lo) {
		return microversion{}, "", fmt.Errorf("server requires microversion %s or later; stacktop understands up to %s", lo, MaxMicroversion)
	}
	if chosen.less(baseMicroversion) {
		return microversion{}, "", fmt.Errorf("server offers microversions only up to %s", hi)
	}
	return chosen, chosen.String(), nil
}

// discover fetches the version document of the compute endpoint and negotiates.
func discover(ctx context.Context, client *gophercloud.ServiceClient) (microversion, string, error) {
	u, err := utils.BaseVersionedEndpoint(client.Endpoint)
	if err != nil {
		return microversion{}, "", err
	}
	var raw json.RawMessage
	_, err = client.ProviderClient.Request(ctx, "GET", gophercloud.NormalizeURL(u), &gophercloud.RequestOpts{
		JSONResponse: &raw,
		OkCodes:      []int{200, 300},
	})
	if err != nil {
		return microversion{}, "", err
	}
	return negotiate(raw)
}
