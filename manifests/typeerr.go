package manifests

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"
)

var jsonUnmarshalerType = reflect.TypeOf((*json.Unmarshaler)(nil)).Elem()

// locateDecodeError walks a generic JSON value (as decoded into any) beside
// the Go type it is meant to fill, and returns the path and reason of the
// first value that does not decode. It exists because encoding/json reports
// the failing field without list indexes, and not at all when a type's own
// UnmarshalJSON (resource.Quantity, intstr.IntOrString) fails.
func locateDecodeError(v any, t reflect.Type, path []pathElem) (string, string, bool) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if v == nil {
		return "", "", false
	}
	if reflect.PointerTo(t).Implements(jsonUnmarshalerType) || isScalarKind(t.Kind()) ||
		(t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Uint8) {
		raw, err := json.Marshal(v)
		if err != nil {
			return formatPath(path), err.Error(), true
		}
		if err := json.Unmarshal(raw, reflect.New(t).Interface()); err != nil {
			return formatPath(path), describeDecodeError(err, v), true
		}
		return "", "", false
	}
	switch t.Kind() {
	case reflect.Struct:
		m, ok := v.(map[string]any)
		if !ok {
			return formatPath(path), fmt.Sprintf("expected an object, got %s", jsonKindOf(v)), true
		}
		fields := jsonFields(t)
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			ft, ok := fields[k]
			if !ok {
				continue // unknown fields are reported by the strict decoder
			}
			if p, msg, bad := locateDecodeError(m[k], ft, append(path, pathElem{name: k})); bad {
				return p, msg, true
			}
		}
	case reflect.Slice, reflect.Array:
		l, ok := v.([]any)
		if !ok {
			return formatPath(path), fmt.Sprintf("expected a list, got %s", jsonKindOf(v)), true
		}
		for i, e := range l {
			if p, msg, bad := locateDecodeError(e, t.Elem(), append(path, pathElem{index: i, isIndex: true})); bad {
				return p, msg, true
			}
		}
	case reflect.Map:
		m, ok := v.(map[string]any)
		if !ok {
			return formatPath(path), fmt.Sprintf("expected an object, got %s", jsonKindOf(v)), true
		}
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if p, msg, bad := locateDecodeError(m[k], t.Elem(), append(path, pathElem{name: k, isKey: true})); bad {
				return p, msg, true
			}
		}
	}
	return "", "", false
}

// jsonFields maps the JSON names of a struct's fields (following inline and
// anonymous embedded structs) to their types.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		ft := f.Type
		for ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		if (f.Anonymous && name == "") || strings.Contains(opts, "inline") {
			if ft.Kind() == reflect.Struct {
				for k, v := range jsonFields(ft) {
					out[k] = v
				}
				continue
			}
		}
		if name == "" {
			name = f.Name
		}
		out[name] = f.Type
	}
	return out
}

func isScalarKind(k reflect.Kind) bool {
	switch k {
	case reflect.Bool, reflect.String,
		reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64:
		return true
	}
	return false
}

// jsonKindOf names the JSON type of a generic value, with the value itself
// for scalars.
func jsonKindOf(v any) string {
	switch x := v.(type) {
	case map[string]any:
		return "an object"
	case []any:
		return "a list"
	case string:
		return fmt.Sprintf("string %q", x)
	case bool:
		return fmt.Sprintf("boolean %v", x)
	case nil:
		return "null"
	default:
		return fmt.Sprintf("number %v", x)
	}
}

// describeDecodeError turns a decoding error of one value into a message a
// manifest author can act on.
func describeDecodeError(err error, v any) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		want := te.Type.String()
		switch te.Type.Kind() {
		case reflect.String:
			want = "a string"
		case reflect.Bool:
			want = "a boolean (true or false)"
		case reflect.Int, reflect.Int32, reflect.Int64, reflect.Int16, reflect.Int8,
			reflect.Uint, reflect.Uint32, reflect.Uint64, reflect.Uint16, reflect.Uint8:
			want = "a whole number"
		case reflect.Float32, reflect.Float64:
			want = "a number"
		case reflect.Map, reflect.Struct:
			want = "an object"
		case reflect.Slice:
			want = "a list"
		}
		msg := fmt.Sprintf("expected %s, got %s", want, jsonKindOf(v))
		if te.Type.Kind() == reflect.String {
			if _, isStr := v.(string); !isStr {
				msg += `: quote the value in YAML (unquoted yes, no, on, off, true, false and numbers are not strings)`
			}
		}
		return msg
	}
	msg := err.Error()
	msg = strings.TrimPrefix(msg, "json: ")
	return fmt.Sprintf("invalid value %s: %s", jsonKindOf(v), msg)
}
