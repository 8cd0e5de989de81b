package manifests

import (
	"fmt"
	"sort"
	"strings"
)

// Severity says whether a Diagnostic stops an object from loading.
type Severity int

const (
	// SeverityWarning is reported but does not stop the object from loading.
	SeverityWarning Severity = iota
	// SeverityError stops the object (or the whole file, when the file cannot
	// be parsed) from loading.
	SeverityError
)

// String returns "warning" or "error".
func (s Severity) String() string {
	if s == SeverityError {
		return "error"
	}
	return "warning"
}

// MarshalText renders the severity as its String, for JSON output.
func (s Severity) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText reads "error" or "warning".
func (s *Severity) UnmarshalText(b []byte) error {
	switch string(b) {
	case "error":
		*s = SeverityError
	case "warning":
		*s = SeverityWarning
	default:
		return fmt.Errorf("unknown severity %q: want error or warning", b)
	}
	return nil
}

// Diagnostic is one error or warning about the input, located as precisely as
// the input allows: a file, a line in it (1-based, 0 when unknown), the object
// (empty when the file as a whole is at fault) and the field path in
// Kubernetes notation (spec.template.spec.containers[0].image).
type Diagnostic struct {
	Severity Severity `json:"severity"`
	File     string   `json:"file"`
	Line     int      `json:"line,omitempty"`
	// Object names the object as Kind/name or Kind/namespace/name.
	Object string `json:"object,omitempty"`
	// Field is the field path the message is about, when there is one.
	Field   string `json:"field,omitempty"`
	Message string `json:"message"`
}

// String renders the diagnostic as "file:line: object: severity: message",
// leaving out the parts that are unknown.
func (d Diagnostic) String() string {
	var b strings.Builder
	b.WriteString(d.File)
	if d.Line > 0 {
		fmt.Fprintf(&b, ":%d", d.Line)
	}
	b.WriteString(": ")
	if d.Object != "" {
		b.WriteString(d.Object)
		b.WriteString(": ")
	}
	b.WriteString(d.Severity.String())
	b.WriteString(": ")
	b.WriteString(d.Message)
	return b.String()
}

// Diagnostics is a list of diagnostics. As an error it reports its errors
// (warnings are left out of Error()).
type Diagnostics []Diagnostic

// Errors returns the diagnostics of severity error.
func (ds Diagnostics) Errors() Diagnostics { return ds.filter(SeverityError) }

// Warnings returns the diagnostics of severity warning.
func (ds Diagnostics) Warnings() Diagnostics { return ds.filter(SeverityWarning) }

// HasErrors reports whether any diagnostic is an error.
func (ds Diagnostics) HasErrors() bool {
	for _, d := range ds {
		if d.Severity == SeverityError {
			return true
		}
	}
	return false
}

func (ds Diagnostics) filter(s Severity) Diagnostics {
	var out Diagnostics
	for _, d := range ds {
		if d.Severity == s {
			out = append(out, d)
		}
	}
	return out
}

// Error lists every error, one per line.
func (ds Diagnostics) Error() string {
	errs := ds.Errors()
	lines := make([]string, len(errs))
	for i, d := range errs {
		lines[i] = d.String()
	}
	return strings.Join(lines, "\n")
}

// sortDiagnostics orders diagnostics by file, then line, then message, so
// that output is stable whatever order files were read in.
func sortDiagnostics(ds Diagnostics) {
	sort.SliceStable(ds, func(i, j int) bool {
		a, b := ds[i], ds[j]
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Message < b.Message
	})
}
