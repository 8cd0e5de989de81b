package manifests

import (
	"bytes"
	"fmt"
	"reflect"

	yaml "go.yaml.in/yaml/v3"
	sigsjson "sigs.k8s.io/json"
	sigsyaml "sigs.k8s.io/yaml"
)

// DecodeStrict decodes a file holding one YAML (or JSON) document into v, a
// pointer to a Go value described by json tags, as strictly as Load decodes
// Kubernetes objects: invalid YAML, a key given twice, an unknown field and a
// value of the wrong type are errors naming the file, the line and the field
// path (with the closest real field name for an unknown one). It is for
// shoal's own files that are not Kubernetes objects, such as the admission
// policy; checking what the values mean is the caller's job (LineOf locates
// its messages).
//
// A file with no document, or with more than one, is an error. The returned
// diagnostics are all errors; nil means v was filled.
func DecodeStrict(file string, data []byte, v any) Diagnostics {
	var (
		found  *document
		js     []byte
		parsed []byte
	)
	for _, doc := range splitDocuments(data) {
		out, err := sigsyaml.YAMLToJSONStrict(doc.text)
		if err != nil {
			return Diagnostics{yamlSyntaxDiagnostic(file, doc.startLine, err)}
		}
		out = bytes.TrimSpace(out)
		if len(out) == 0 || string(out) == "null" {
			continue
		}
		if found != nil {
			return Diagnostics{{Severity: SeverityError, File: file, Line: firstContentLine(doc),
				Message: "expected one YAML document, found a second one: remove the \"---\" line and keep everything in the first document"}}
		}
		d := doc
		found, js, parsed = &d, out, doc.text
	}
	if found == nil {
		return Diagnostics{{Severity: SeverityError, File: file, Line: 1, Message: "the file is empty: expected a YAML document"}}
	}
	d := &docDecoder{file: file, text: parsed, lineOffset: found.startLine - 1, firstLine: firstContentLine(*found)}
	if js[0] != '{' {
		return Diagnostics{{Severity: SeverityError, File: file, Line: d.firstLine,
			Message: "expected a mapping of fields, got " + jsonKindOfJSON(js)}}
	}
	var generic any
	if err := sigsjson.UnmarshalCaseSensitivePreserveInts(js, &generic); err != nil {
		return Diagnostics{{Severity: SeverityError, File: file, Line: d.firstLine, Message: "invalid document: " + err.Error()}}
	}
	t := reflect.TypeOf(v)
	strictErrs, err := sigsjson.UnmarshalStrict(js, v)
	if err != nil {
		p, msg, ok := locateDecodeError(generic, t, nil)
		if !ok {
			p, msg = "", err.Error()
		}
		return Diagnostics{d.diag("", Key{}, SeverityError, p, msg)}
	}
	var out Diagnostics
	for _, se := range strictErrs {
		p, msg := describeStrictError(se, t)
		out = append(out, d.diag("", Key{}, SeverityError, p, msg))
	}
	return out
}

// jsonKindOfJSON names the JSON type of a document that is not a mapping.
func jsonKindOfJSON(js []byte) string {
	if js[0] == '[' {
		return "a list"
	}
	return "the scalar value " + string(js)
}

// LineOf returns the 1-based line, in a file holding one YAML document, of
// the field that a path in Kubernetes notation names
// ("policies[1].rules.allowedRegistries[0]", "metadata.labels[app]"): the
// key's line for a field, the element's line for a list index. When the path
// goes further than the document, it returns the line of the deepest part
// that exists; it returns 0 when data is not valid YAML.
func LineOf(data []byte, fieldPath string) int {
	var n yaml.Node
	if err := yaml.Unmarshal(data, &n); err != nil {
		return 0
	}
	return lineOf(&n, fieldPath)
}

// FileChecker collects the errors found in the values of one of shoal's
// own files once DecodeStrict has filled them in, each at its field's line
// (LineOf). Set File and Data; Diags holds what was found.
type FileChecker struct {
	File  string
	Data  []byte
	Diags Diagnostics
}

// Errorf adds an error about the field at path in Kubernetes notation
// ("" for the file as a whole), as "path: message".
func (c *FileChecker) Errorf(path, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if path != "" {
		msg = path + ": " + msg
	}
	c.Diags = append(c.Diags, Diagnostic{Severity: SeverityError, File: c.File, Line: LineOf(c.Data, path), Field: path, Message: msg})
}

// Identity checks a field that says what the file is (apiVersion, kind):
// got must be want; wrong is what a different value is said to be ("is
// not a version shoal reads").
func (c *FileChecker) Identity(field, got, want, wrong string) {
	switch got {
	case want:
	case "":
		c.Errorf(field, "required: set %s: %s", field, want)
	default:
		c.Errorf(field, "%q %s: set %s: %s", got, wrong, field, want)
	}
}
