package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/shoal-run/shoal/manifests"
	"github.com/spf13/cobra"
)

// validateOptions are the flags of `shoal validate`.
type validateOptions struct {
	output           string
	warningsAsErrors bool
	quiet            bool
}

func newValidateCommand() *cobra.Command {
	var o validateOptions
	cmd := &cobra.Command{
		Use:   "validate PATH...",
		Short: "Check manifests the way shoal will read them",
		Long: `Validate reads Kubernetes manifests (files, or folders searched for *.yaml,
*.yml and *.json; folders starting with "." are skipped) exactly as the
cluster will read them: strict decoding, conversion of older API versions,
Kubernetes defaults and validation, and shoal's support matrix.

It prints each object's verdict and every error and warning as
"file:line: object: message", and exits 1 when any object has an error, so
that a repository's CI can run it before anything is pushed.`,
		Example: `  shoal validate .
  shoal validate deploy/ extra/service.yaml
  shoal validate -o json manifests/ | jq '.objects[] | select(.verdict=="error")'`,
		Args: cobra.MinimumNArgs(1),
		ValidArgsFunction: func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
			return []string{"yaml", "yml", "json"}, cobra.ShellCompDirectiveFilterFileExt
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.output != "text" && o.output != "json" {
				return fmt.Errorf("-o %q: use text or json", o.output)
			}
			res := manifests.Read(inputsFor(args)...)
			var err error
			if o.output == "json" {
				err = writeValidateJSON(cmd.OutOrStdout(), res)
			} else {
				err = writeValidateText(cmd.OutOrStdout(), res, o.quiet)
			}
			if err != nil {
				return err
			}
			if res.Diagnostics.HasErrors() || (o.warningsAsErrors && len(res.Diagnostics) > 0) {
				return exitError{code: 1}
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&o.output, "output", "o", "text", "output format: text or json")
	cmd.Flags().BoolVar(&o.warningsAsErrors, "warnings-as-errors", false, "exit 1 on warnings too")
	cmd.Flags().BoolVarP(&o.quiet, "quiet", "q", false, "print only errors, warnings and the summary")
	_ = cmd.RegisterFlagCompletionFunc("output", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return []string{"text", "json"}, cobra.ShellCompDirectiveNoFileComp
	})
	return cmd
}

// inputsFor turns command-line paths into inputs named as the user wrote
// them. A path that is neither a file nor a folder is still passed on, so
// that Read reports it as unreadable.
func inputsFor(paths []string) []manifests.Input {
	var in []manifests.Input
	for _, p := range paths {
		clean := filepath.Clean(p)
		if st, err := os.Stat(clean); err == nil && st.IsDir() {
			in = append(in, manifests.Input{FS: os.DirFS(clean), Name: filepath.ToSlash(clean)})
			continue
		}
		dir, file := filepath.Split(clean)
		if dir == "" {
			dir = "."
		}
		in = append(in, manifests.Input{FS: os.DirFS(dir), Path: file, Name: filepath.ToSlash(filepath.Clean(dir))})
	}
	return in
}

// summary counts objects by verdict.
type summary struct {
	Files    int `json:"files"`
	Objects  int `json:"objects"`
	OK       int `json:"ok"`
	Warnings int `json:"warning"`
	Ignored  int `json:"ignored"`
	Errors   int `json:"error"`
	// FileErrors counts errors about whole files (unreadable, not YAML).
	FileErrors int `json:"fileErrors"`
}

func summarize(res *manifests.Result) summary {
	s := summary{Files: len(res.Files), Objects: len(res.Objects)}
	for _, o := range res.Objects {
		switch o.Verdict() {
		case "ok":
			s.OK++
		case "warning":
			s.Warnings++
		case "ignored":
			s.Ignored++
		case "error":
			s.Errors++
		}
	}
	for _, d := range fileDiagnostics(res) {
		if d.Severity == manifests.SeverityError {
			s.FileErrors++
		}
	}
	return s
}

// fileDiagnostics returns the diagnostics that belong to no object.
func fileDiagnostics(res *manifests.Result) manifests.Diagnostics {
	var out manifests.Diagnostics
	for _, d := range res.Diagnostics {
		if d.Object == "" {
			out = append(out, d)
		}
	}
	return out
}

func writeValidateText(w io.Writer, res *manifests.Result, quiet bool) error {
	for _, d := range fileDiagnostics(res) {
		if _, err := fmt.Fprintln(w, d.String()); err != nil {
			return err
		}
	}
	for _, o := range res.Objects {
		if !quiet || len(o.Diagnostics) > 0 {
			loc := o.Source.File
			if o.Source.Line > 0 {
				loc = fmt.Sprintf("%s:%d", loc, o.Source.Line)
			}
			if _, err := fmt.Fprintf(w, "%s: %s: %s\n", loc, o.Key, o.Verdict()); err != nil {
				return err
			}
		}
		for _, d := range o.Diagnostics {
			if _, err := fmt.Fprintln(w, "  "+d.String()); err != nil {
				return err
			}
		}
	}
	s := summarize(res)
	_, err := fmt.Fprintf(w, "%d files, %d objects: %d ok, %d with warnings, %d ignored, %d with errors",
		s.Files, s.Objects, s.OK, s.Warnings, s.Ignored, s.Errors)
	if err == nil && s.FileErrors > 0 {
		_, err = fmt.Fprintf(w, "; %d file errors", s.FileErrors)
	}
	if err == nil {
		_, err = fmt.Fprintln(w)
	}
	return err
}

// jsonObject is one object in `validate -o json`.
type jsonObject struct {
	Kind        string                `json:"kind"`
	Namespace   string                `json:"namespace,omitempty"`
	Name        string                `json:"name"`
	File        string                `json:"file"`
	Line        int                   `json:"line"`
	APIVersion  string                `json:"apiVersion,omitempty"`
	Verdict     string                `json:"verdict"`
	Diagnostics manifests.Diagnostics `json:"diagnostics"`
}

// jsonReport is the document `validate -o json` prints.
type jsonReport struct {
	Summary summary `json:"summary"`
	// FileDiagnostics are problems with whole files.
	FileDiagnostics manifests.Diagnostics `json:"fileDiagnostics"`
	Objects         []jsonObject          `json:"objects"`
}

func writeValidateJSON(w io.Writer, res *manifests.Result) error {
	rep := jsonReport{Summary: summarize(res), FileDiagnostics: fileDiagnostics(res), Objects: []jsonObject{}}
	if rep.FileDiagnostics == nil {
		rep.FileDiagnostics = manifests.Diagnostics{}
	}
	for _, o := range res.Objects {
		diags := o.Diagnostics
		if diags == nil {
			diags = manifests.Diagnostics{}
		}
		rep.Objects = append(rep.Objects, jsonObject{
			Kind: o.Key.Kind, Namespace: o.Key.Namespace, Name: o.Key.Name,
			File: o.Source.File, Line: o.Source.Line, APIVersion: o.Source.APIVersion,
			Verdict: o.Verdict(), Diagnostics: diags,
		})
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rep)
}
