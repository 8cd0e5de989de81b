package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
)

// isEventCommandLine reports whether a `get` command line is about events.
func isEventCommandLine(args []string) bool {
	if len(args) == 0 {
		return false
	}
	switch strings.ToLower(args[0]) {
	case "events", "event", "ev":
		return true
	}
	return false
}

// getEvents prints the cluster's events as kubectl does (LAST SEEN TYPE
// REASON OBJECT MESSAGE); with --watch it keeps printing new ones.
func (o *getOptions) getEvents(cmd *cobra.Command, now func() time.Time) error {
	c, err := o.client()
	if err != nil {
		return err
	}
	ns := o.namespace
	if o.allNamespaces {
		ns = ""
	}
	ctx := cmd.Context()
	out := cmd.OutOrStdout()
	seen := map[string]int32{}
	header := true
	for {
		evs, err := c.ListEvents(ctx, ns)
		if err != nil {
			if o.watch && ctx.Err() != nil {
				return nil
			}
			return err
		}
		var fresh []corev1.Event
		for _, e := range evs {
			if seen[e.Name] != e.Count {
				seen[e.Name] = e.Count
				fresh = append(fresh, e)
			}
		}
		switch o.output {
		case "json", "yaml":
			if err := writeObjects(out, fresh, o.output, false); err != nil {
				return err
			}
		case "":
			if len(evs) == 0 && header && !o.watch {
				fmt.Fprintf(cmd.ErrOrStderr(), "No events found in %s namespace.\n", o.namespace)
				return nil
			}
			if len(fresh) > 0 {
				writeEventTable(out, fresh, o.allNamespaces, header, now())
				header = false
			}
		default:
			return fmt.Errorf("-o %q: use yaml or json", o.output)
		}
		if !o.watch {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(time.Second):
		}
	}
}

func writeEventTable(w io.Writer, evs []corev1.Event, namespaces, header bool, now time.Time) {
	tw := tabwriter.NewWriter(w, 0, 4, 3, ' ', 0)
	if header {
		if namespaces {
			fmt.Fprint(tw, "NAMESPACE\t")
		}
		fmt.Fprintln(tw, "LAST SEEN\tTYPE\tREASON\tOBJECT\tMESSAGE")
	}
	for _, e := range evs {
		if namespaces {
			fmt.Fprintf(tw, "%s\t", e.Namespace)
		}
		last := age(e.LastTimestamp.Time, now)
		if e.Count > 1 {
			last = fmt.Sprintf("%s (x%d over %s)", last, e.Count, age(e.FirstTimestamp.Time, now))
		}
		obj := strings.ToLower(e.InvolvedObject.Kind) + "/" + e.InvolvedObject.Name
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", last, e.Type, e.Reason, obj, e.Message)
	}
	tw.Flush()
}
