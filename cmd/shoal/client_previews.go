package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/shoal-run/shoal/nodeagent/api"
)

func newPreviewsCommand(now func() time.Time) *cobra.Command {
	var o connectOptions
	var output string
	cmd := &cobra.Command{
		Use:   "previews",
		Short: "List the previews: refs deployed beside the tracked branch",
		Long: `Previews lists the refs that run beside the tracked branch, each in
namespaces of its own (<id>-<namespace>): its ref, the commit it runs,
its namespaces, the URLs of its Ingress hosts, its state (Active, Failed
or Expired) and its age. Under the table come, for each preview, why it
is not Active, the objects it does not run, and the changes made to
those it runs.

The tracked branch's .shoal/previews.yaml turns previews on and says
which refs are previews (by default refs/pull/*/head and
refs/heads/preview/*), the domain of their hosts, how long one runs
without a new commit (ttl) and how many run at once. Any node answers,
from the ledger.

Output formats: the default table, yaml and json (the API's
PreviewList).`,
		Example: `  shoal previews
  shoal previews -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return showOne(cmd, &o, output, (*api.Client).Previews, func(w io.Writer, list *api.PreviewList) error {
				return writePreviews(w, list, now())
			})
		},
	}
	o.bindServer(cmd)
	bindYAMLJSON(cmd, &output, "a table")
	return cmd
}

// writePreviews writes the previews as a table, with ages relative to
// now:
//
//	REF                      COMMIT   NAMESPACES         URLS                                            STATE   AGE
//	refs/heads/preview/shop  1a2b3c4  preview-shop-shop  http://preview-shop.shop.preview.example.test  Active  5m
//
//	refs/heads/preview/shop:
//	  refused: Pod/shop/bad (app.yaml:12): refused by admission: ...
//
// A list with more than one namespace or URL joins them with commas.
func writePreviews(w io.Writer, list *api.PreviewList, now time.Time) error {
	var b strings.Builder
	cfg := list.Config
	switch {
	case cfg.Error != "":
		fmt.Fprintf(&b, "The tracked branch's %s (commit %s) does not load; the configuration read before stays in force:\n%s\n\n", cfg.File, shortCommit(cfg.Commit), cfg.Error)
	case cfg.File != "" && !cfg.Enabled && len(list.Items) == 0:
		fmt.Fprintf(&b, "Previews are off: the tracked branch has no %s.\n", cfg.File)
		_, err := io.WriteString(w, b.String())
		return err
	}
	if len(list.Items) == 0 {
		b.WriteString("No previews.\n")
		_, err := io.WriteString(w, b.String())
		return err
	}
	tw := tabwriter.NewWriter(&b, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "REF\tCOMMIT\tNAMESPACES\tURLS\tSTATE\tAGE")
	for _, p := range list.Items {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", p.Ref, orNone(shortCommit(p.Commit)), orNone(strings.Join(p.Namespaces, ",")),
			orNone(strings.Join(p.URLs, ",")), p.State, age(p.FirstSeen, now))
	}
	tw.Flush()
	for _, p := range list.Items {
		if p.Error == "" && len(p.Refused) == 0 && len(p.Notes) == 0 {
			continue
		}
		fmt.Fprintf(&b, "\n%s:\n", p.Ref)
		if p.Error != "" {
			fmt.Fprintf(&b, "  %s: %s\n", strings.ToLower(p.State), indentLines(p.Error, "    "))
		}
		for _, r := range p.Refused {
			fmt.Fprintf(&b, "  not run: %s\n", r)
		}
		for _, n := range p.Notes {
			fmt.Fprintf(&b, "  changed: %s\n", n)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// indentLines indents every line of s but the first.
func indentLines(s, prefix string) string {
	return strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n"+prefix)
}
