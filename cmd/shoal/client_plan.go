package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/shoal-run/shoal/reconciler/plan"
)

// The exit codes of `shoal plan`, as `terraform plan -detailed-exitcode`:
// 0 no change, 1 an error, 2 changes.
const (
	planNoChanges = 0
	planFailed    = 1
	planChanges   = 2
)

// newPlanCommand prints what deploying a ref instead of the commit in
// force would change.
func newPlanCommand() *cobra.Command {
	var o connectOptions
	var ref, output string
	cmd := &cobra.Command{
		Use:   "plan --ref REF",
		Short: "Show what deploying a branch, pull request or commit instead of the one in force would change",
		Long: `Plan asks the cluster's leader what deploying REF instead of the commit it
runs would change, without changing anything: the objects added (+),
changed (~, field by field) and removed (-), and the pods that would start,
stop, be replaced, or stay Pending because they fit on no node, once the
rollouts the change begins are done. A Secret's values are never shown.

REF is a branch ("feature"), a tag, a full ref ("refs/pull/7/head") or a
commit hash of the repository the cluster follows; the leader fetches it
beside the branch it follows.

Exit status, as terraform plan -detailed-exitcode: 0 when nothing would
change, 2 when something would, 1 on an error (a ref that does not exist,
manifests that do not load: each file:line is printed). Put it in a pull
request's CI.

Output formats: the default text, and json (the leader's plan.Result).`,
		Example: `  shoal plan --ref feature
  shoal plan --ref refs/pull/7/head -o json
  shoal plan --ref 1a2b3c4d`,
		// Wrong arguments and flags are errors (1), never "changes" (2).
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			code, err := runPlan(cmd, &o, ref, output, args)
			if err != nil {
				fmt.Fprintln(cmd.ErrOrStderr(), "shoal plan:", err)
				return exitError{planFailed}
			}
			if code != 0 {
				return exitError{code}
			}
			return nil
		},
	}
	cmd.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		fmt.Fprintln(cmd.ErrOrStderr(), "shoal plan:", err)
		return exitError{planFailed}
	})
	o.bindServer(cmd)
	cmd.Flags().StringVar(&ref, "ref", "", "the branch, tag, ref or commit to plan (or give it as the argument)")
	cmd.Flags().StringVarP(&output, "output", "o", "", "output format: json (default: text)")
	_ = cmd.RegisterFlagCompletionFunc("output", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return []string{"json"}, cobra.ShellCompDirectiveNoFileComp
	})
	return cmd
}

// runPlan asks for the plan, prints it and returns the exit code.
func runPlan(cmd *cobra.Command, o *connectOptions, ref, output string, args []string) (int, error) {
	switch {
	case len(args) > 1:
		return 0, fmt.Errorf("one ref at a time: got %s", strings.Join(args, " "))
	case len(args) == 1 && ref != "" && args[0] != ref:
		return 0, fmt.Errorf("two refs given: --ref %s and %s", ref, args[0])
	case len(args) == 1:
		ref = args[0]
	case ref == "":
		return 0, fmt.Errorf("no ref: give --ref REF (a branch, a tag, refs/pull/N/head or a commit)")
	}
	if output != "" && output != "json" {
		return 0, fmt.Errorf("-o %q: use json", output)
	}
	c, err := o.client()
	if err != nil {
		return 0, err
	}
	data, err := c.Plan(cmd.Context(), ref)
	if err != nil {
		return 0, err
	}
	var res plan.Result
	if err := json.Unmarshal(data, &res); err != nil {
		return 0, fmt.Errorf("reading the plan: %w", err)
	}
	out := cmd.OutOrStdout()
	if output == "json" {
		var b bytes.Buffer
		if err := json.Indent(&b, data, "", "  "); err != nil {
			return 0, fmt.Errorf("reading the plan: %w", err)
		}
		b.WriteByte('\n')
		if _, err := out.Write(b.Bytes()); err != nil {
			return 0, err
		}
	} else if err := writePlan(out, res); err != nil {
		return 0, err
	}
	if res.Changed() {
		return planChanges, nil
	}
	return planNoChanges, nil
}

// writePlan writes a plan as text:
//
//	Plan of refs/heads/feature (1a2b3c4d5e6f "bump web") against refs/heads/main (9f8e7d6c5b4a "web")
//
//	  + ConfigMap default/extra  (extra.yaml:1)
//	  ~ Deployment default/web  (web.yaml:1)
//	      ~ spec.template.spec.containers[0].image: nginx:1.25 → nginx:1.27
//	  - ConfigMap default/old  (old.yaml:1)
//
//	Pods: 1 to start, 0 to stop, 2 to replace, 1 pending
//	  + default/extra-7d9f8-x2k8q on node2  (Deployment/extra)
//	  ~ default/web-5c6b7-ab12c on node1, replacing web-84f2a-zz9xk  (Deployment/web)
//	  ! default/huge: fits on no node: 0/3 nodes are available: 3 Insufficient memory.
//
//	Plan: 1 to add, 1 to change, 1 to remove; pods: 1 to start, 0 to stop, 2 to replace, 1 pending.
func writePlan(w io.Writer, res plan.Result) error {
	var b strings.Builder
	fmt.Fprintf(&b, "Plan of %s against %s\n", commitLine(res.Proposed), commitLine(res.Current))
	if !res.Changed() {
		b.WriteString("\nNo changes: it deploys the same objects and runs the same pods.\n")
		_, err := io.WriteString(w, b.String())
		return err
	}
	if len(res.Objects) > 0 {
		b.WriteString("\n")
	}
	for _, o := range res.Objects {
		fmt.Fprintf(&b, "  %s %s %s", opSign(o.Op), o.Kind, objectName(o))
		if o.File != "" {
			fmt.Fprintf(&b, "  (%s:%d)", o.File, o.Line)
		}
		b.WriteString("\n")
		if o.Note != "" {
			fmt.Fprintf(&b, "      %s\n", o.Note)
		}
		for _, f := range o.Fields {
			fmt.Fprintf(&b, "      %s %s: %s\n", opSign(f.Op), f.Path, fieldValues(f))
		}
	}
	s := res.Summary
	if !res.Pods.Empty() {
		fmt.Fprintf(&b, "\nPods: %d to start, %d to stop, %d to replace, %d pending\n", s.Start, s.Stop, s.Replace, s.Pending)
		for _, p := range res.Pods.Start {
			fmt.Fprintf(&b, "  + %s%s%s\n", podName(p), onNode(p.Node), ownerNote(p))
		}
		for _, p := range res.Pods.Stop {
			fmt.Fprintf(&b, "  - %s%s%s\n", podName(p), onNode(p.Node), ownerNote(p))
		}
		for _, p := range res.Pods.Replace {
			how := ", replacing " + p.Replaces
			if p.Replaces == p.Name {
				how = ", spec changed"
			}
			if p.OldNode != "" && p.OldNode != p.Node {
				how += " on " + p.OldNode
			}
			fmt.Fprintf(&b, "  ~ %s%s%s%s\n", podName(p), onNode(p.Node), how, ownerNote(p))
		}
		for _, p := range res.Pods.Pending {
			fmt.Fprintf(&b, "  ! %s: fits on no node: %s%s\n", podName(p), p.Message, ownerNote(p))
		}
	}
	if !res.Settled {
		b.WriteString("\nNote: a rollout was followed as far as the leader simulates and did not end; the pods are those of its last step.\n")
	}
	fmt.Fprintf(&b, "\nPlan: %d to add, %d to change, %d to remove; pods: %d to start, %d to stop, %d to replace, %d pending.\n",
		s.Add, s.Change, s.Remove, s.Start, s.Stop, s.Replace, s.Pending)
	_, err := io.WriteString(w, b.String())
	return err
}

// commitLine names a commit: its ref, short hash and message.
func commitLine(c plan.Commit) string {
	s := c.Ref
	if s == "" {
		s = "commit"
	}
	if c.Commit != "" && c.Commit != c.Ref {
		s += " (" + c.Short()
		if c.Message != "" {
			s += " " + strconv.Quote(c.Message)
		}
		s += ")"
	} else if c.Message != "" {
		s += " (" + strconv.Quote(c.Message) + ")"
	}
	return s
}

func opSign(op plan.Op) string {
	switch op {
	case plan.Add:
		return "+"
	case plan.Remove:
		return "-"
	}
	return "~"
}

func objectName(o plan.ObjectChange) string {
	if o.Namespace == "" {
		return o.Name
	}
	return o.Namespace + "/" + o.Name
}

func podName(p plan.PodChange) string { return p.Namespace + "/" + p.Name }

func onNode(node string) string {
	if node == "" {
		return ""
	}
	return " on " + node
}

func ownerNote(p plan.PodChange) string {
	if p.Owner == "" {
		return ""
	}
	return "  (" + p.Owner + ")"
}

// fieldValues writes a field change's values: "old → new", the new or
// the old value alone, or that they are hidden.
func fieldValues(f plan.FieldChange) string {
	switch {
	case f.Redacted:
		return "(value hidden)"
	case f.Note == plan.NoteOrder:
		return "order " + shortValue(f.Old) + " → " + shortValue(f.New)
	case f.Op == plan.Add:
		return shortValue(f.New)
	case f.Op == plan.Remove:
		return shortValue(f.Old)
	}
	return shortValue(f.Old) + " → " + shortValue(f.New)
}

// maxValue bounds a value in the text output (the JSON has them whole).
const maxValue = 100

// shortValue writes a JSON value for reading: a string bare when it is
// one plain word, else quoted; anything else as compact JSON; cut to
// maxValue characters.
func shortValue(v json.RawMessage) string {
	var s string
	out := string(v)
	if json.Unmarshal(v, &s) == nil {
		out = strconv.Quote(s)
		if s != "" && !strings.ContainsAny(s, " \t\n\"'\\,{}[]") && utf8.ValidString(s) {
			out = s
		}
	}
	if utf8.RuneCountInString(out) > maxValue {
		out = string([]rune(out)[:maxValue-1]) + "…"
	}
	return out
}
