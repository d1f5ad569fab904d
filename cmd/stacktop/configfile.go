package main

import (
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v2"

	"github.com/stacktop/stacktop/redact"
	"github.com/stacktop/stacktop/secretfile"
)

// usageError is a mistake in what the user gave (a flag, a config key, an
// environment variable): stacktop exits with status 2, as for a bad flag.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// exitStatus is 2 for a usage error, 1 for anything else.
func exitStatus(err error) int {
	var u usageError
	if errors.As(err, &u) {
		return 2
	}
	return 1
}

// decodeYAML decodes a config file into out (a pointer to a struct with
// yaml tags). Every mistake is named by its key path, "nova.interval", and
// the value is never quoted except a duration's, which the known secrets
// are scrubbed from: a password typed on the wrong line must not end up on
// the screen of whoever reads the error.
func decodeYAML(b []byte, out any) error {
	var doc yaml.MapSlice
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return errors.New(yamlSyntax(err))
	}
	if err := checkYAML(doc, reflect.TypeOf(out).Elem(), ""); err != nil {
		return err
	}
	if err := yaml.UnmarshalStrict(b, out); err != nil {
		// checkYAML let through something yaml.v2 refuses: say where, never what.
		return errors.New(yamlSyntax(err))
	}
	return nil
}

// yamlSyntax is a yaml.v2 error without the quoted values and Go type names.
func yamlSyntax(err error) string {
	s := redact.YAMLValues(strings.TrimPrefix(err.Error(), "yaml: "))
	s = yamlUnmarshal.ReplaceAllStringFunc(s, func(m string) string {
		tag := yamlUnmarshal.FindStringSubmatch(m)[1]
		kind, ok := yamlKinds[tag]
		if !ok {
			kind = "a value"
		}
		return kind + " is not what belongs there"
	})
	return strings.ReplaceAll(s, "!!", "")
}

// yamlUnmarshal matches yaml.v2's "cannot unmarshal !!seq `…` into main.config" (the value already cut).
var yamlUnmarshal = regexp.MustCompile(`cannot unmarshal !!(\w+)\s*`)

// yamlKinds names YAML's tags as kindOf names Go's values.
var yamlKinds = map[string]string{"seq": "a list", "map": "a section of keys", "str": "text", "int": "a number",
	"float": "a number", "bool": "true/false", "binary": "binary data", "null": "nothing", "timestamp": "a time"}

var durationType = reflect.TypeFor[duration]()

// checkYAML walks v, as yaml.v2 decodes into a MapSlice, against t and
// names what does not fit.
func checkYAML(v any, t reflect.Type, path string) error {
	if v == nil {
		return nil
	}
	key := path
	if key == "" {
		key = "the file"
	}
	switch {
	case t == durationType:
		switch x := v.(type) {
		case string:
			if _, err := time.ParseDuration(x); err != nil {
				return fmt.Errorf("%s: %q is not a duration (e.g. 10s, 1m)", key, x)
			}
			return nil
		case int, float64:
			return fmt.Errorf("%s: a number without a unit is not a duration (e.g. 10s, 1m)", key)
		}
		return fmt.Errorf("%s: want a duration (e.g. 10s, 1m), got %s", key, kindOf(v))
	case t.Kind() == reflect.Struct:
		ms, ok := v.(yaml.MapSlice)
		if !ok {
			return fmt.Errorf("%s: want a section of keys, got %s", key, kindOf(v))
		}
		fields, names := yamlFields(t)
		seen := map[string]bool{}
		for _, it := range ms {
			k, ok := it.Key.(string)
			if !ok {
				return fmt.Errorf("%s: a key is %s, not a name", key, kindOf(it.Key))
			}
			sub := keyName(k)
			if path != "" {
				sub = path + "." + sub
			}
			ft, ok := fields[k]
			if !ok {
				return fmt.Errorf("%s: unknown key (%s takes %s)", sub, key, strings.Join(names, ", "))
			}
			if seen[k] {
				return fmt.Errorf("%s: set twice", sub)
			}
			seen[k] = true
			if err := checkYAML(it.Value, ft, sub); err != nil {
				return err
			}
		}
		return nil
	case t.Kind() == reflect.String:
		if isScalar(v) {
			return nil
		}
		return fmt.Errorf("%s: want text, got %s", key, kindOf(v))
	case t.Kind() == reflect.Bool:
		if _, ok := v.(bool); ok {
			return nil
		}
		return fmt.Errorf("%s: want true or false, got %s", key, kindOf(v))
	case t.Kind() == reflect.Int:
		if _, ok := v.(int); ok {
			return nil
		}
		return fmt.Errorf("%s: want a whole number, got %s", key, kindOf(v))
	case t.Kind() == reflect.Slice:
		list, ok := v.([]any)
		if !ok {
			return fmt.Errorf("%s: want a list, got %s", key, kindOf(v))
		}
		for i, e := range list {
			if err := checkYAML(e, t.Elem(), fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
		return nil
	}
	return nil
}

// yamlFields maps a struct's yaml keys to their types, and lists the keys.
func yamlFields(t reflect.Type) (map[string]reflect.Type, []string) {
	fields := map[string]reflect.Type{}
	var names []string
	for f := range t.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if !f.IsExported() || name == "-" || name == "" {
			continue
		}
		fields[name] = f.Type
		names = append(names, name)
	}
	slices.Sort(names)
	return fields, names
}

func isScalar(v any) bool {
	switch v.(type) {
	case string, int, int64, uint64, float64, bool:
		return true
	}
	return false
}

// kindOf names what a YAML value is, never what it says.
func kindOf(v any) string {
	switch v.(type) {
	case string:
		return "text"
	case int, int64, uint64, float64:
		return "a number"
	case bool:
		return "true/false"
	case []any:
		return "a list"
	case yaml.MapSlice:
		return "a section of keys"
	}
	return "something else"
}

// keyName is a key as typed when it is a plain name, else quoted (a key
// can hold anything, terminal escapes included).
func keyName(k string) string {
	for _, c := range k {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			if len(k) > 40 {
				k = k[:40]
			}
			return strconv.QuoteToASCII(k)
		}
	}
	return k
}

// urlSecrets learns the passwords of a URL, a transport URL's every host's.
func urlSecrets(raw string, s *redact.Secrets) { s.Add(secretfile.URLPasswords(raw)...) }
