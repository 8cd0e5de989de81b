package main

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/shoal-run/shoal/gossip"
	"github.com/shoal-run/shoal/nodeagent/api"
	"github.com/spf13/cobra"
)

func newStatusCommand(now func() time.Time) *cobra.Command {
	var o connectOptions
	var output string
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show the cluster as a node sees it: leader, members, last sync",
		Long: `Status shows the cluster as the node --server names sees it: the leader
and its term, every member with its state, addresses and age, and the
commit last synced from Git (with the error of the last sync, if it
failed), the objects kept running though removed from Git, and the
objects of the commit that the admission policies refuse, with the policy,
rule, field and reason of each refusal. Nodes decide from their own view,
so two nodes may briefly disagree while news spreads.

Output formats: the default text, yaml and json (the API's ClusterStatus).`,
		Example: `  shoal status
  shoal status --server node2:7947 -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return showOne(cmd, &o, output, (*api.Client).Status, func(w io.Writer, st *api.ClusterStatus) error {
				return writeClusterStatus(w, st, now())
			})
		},
	}
	o.bind(cmd)
	_ = cmd.Flags().MarkHidden("namespace") // the cluster has no namespace
	bindYAMLJSON(cmd, &output, "text")
	return cmd
}

// writeClusterStatus writes the status as text:
//
//	Cluster as seen by node2
//	Leader:   node1 (term node1@2026-11-27T12:00:00.123Z)
//	Members:  3 alive
//	  NAME   STATE   ADDRESS           API               ELIGIBLE   AGE
//	  node1  alive   10.250.1.11:7946  10.250.1.11:7947  yes        5m   (leader)
//	Repo:     https://git.example/infra.git
//	Sync:     main @ 1a2b3c4 "scale web" (synced 12s ago)
//	Error:    the error of the last sync, when it failed
//	Kept:     1 object removed from Git but running as last applied, opted out of pruning (shoal delete KIND NAME removes one)
//	  KIND        NAMESPACE  NAME  LAST FILE      REMOVED
//	  Deployment  default    web   apps/web.yaml  in 5d6e7f8, 3h ago
//	Refused:  1 object of 1a2b3c4 refused by admission: not run, the rest of the commit runs (...)
//	  Deployment/shop/api (apps/api.yaml:1)
//	    policy baseline, rule forbidHostPath, spec.template.spec.volumes[0].hostPath: volume "logs" mounts ...
//
// Ages are relative to now.
func writeClusterStatus(w io.Writer, st *api.ClusterStatus, now time.Time) error {
	var b strings.Builder
	fmt.Fprintf(&b, "Cluster as seen by %s\n", st.Node)
	if st.Leader.Name == "" {
		fmt.Fprintf(&b, "Leader:   <none> (no live member may lead)\n")
	} else {
		fmt.Fprintf(&b, "Leader:   %s (term %s)\n", st.Leader.Name, showTerm(st.Leader.Term))
	}
	fmt.Fprintf(&b, "Members:  %s\n", countStates(st.Members))
	if len(st.Members) > 0 {
		tw := tabwriter.NewWriter(&b, 0, 8, 2, ' ', 0)
		fmt.Fprintln(tw, "  NAME\tSTATE\tADDRESS\tAPI\tELIGIBLE\tAGE")
		for _, m := range st.Members {
			eligible := "no"
			if m.Eligible {
				eligible = "yes"
			}
			row := fmt.Sprintf("  %s\t%s\t%s\t%s\t%s\t%s", m.Name, m.State, orNone(m.Addr), orNone(m.APIAddr), eligible, age(m.StartTime, now))
			if m.Leader {
				row += "\t(leader)"
			}
			fmt.Fprintln(tw, row)
		}
		tw.Flush()
	}
	if st.Sync.Repo != "" {
		fmt.Fprintf(&b, "Repo:     %s\n", st.Sync.Repo)
	}
	fmt.Fprintf(&b, "Sync:     %s\n", syncLine(st.Sync, now))
	if st.Sync.Error != "" {
		fmt.Fprintf(&b, "Error:    %s%s\n", st.Sync.Error, since(" (", st.Sync.ErrorTime, now, " ago)"))
	}
	if len(st.Refs) > 1 {
		fmt.Fprintf(&b, "Refs:\n")
		for _, r := range st.Refs {
			fmt.Fprintf(&b, "  %s\n", syncLine(r, now))
			if r.Error != "" {
				fmt.Fprintf(&b, "    Error: %s%s\n", r.Error, since(" (", r.ErrorTime, now, " ago)"))
			}
		}
	}
	writeKept(&b, st.Kept, now)
	writeRefused(&b, st.Refused)
	_, err := io.WriteString(w, b.String())
	return err
}

// writeRefused lists the objects admission refuses, each with its file
// and every reason (policy, rule, field and message) on a line of its
// own.
func writeRefused(b *strings.Builder, r *api.RefusedStatus) {
	if r == nil || r.Total == 0 {
		return
	}
	objects := fmt.Sprintf("%d objects", r.Total)
	if r.Total == 1 {
		objects = "1 object"
	}
	fmt.Fprintf(b, "Refused:  %s of %s refused by admission: not run, the rest of the commit runs (change the object or .shoal/admission.yaml in Git)\n", objects, shortCommit(r.Commit))
	for _, o := range r.Objects {
		key := o.Kind + "/" + o.Name
		if o.Namespace != "" {
			key = o.Kind + "/" + o.Namespace + "/" + o.Name
		}
		where := o.File
		if o.Line > 0 {
			where += fmt.Sprintf(":%d", o.Line)
		}
		fmt.Fprintf(b, "  %s (%s)\n", key, where)
		for _, v := range o.Violations {
			fmt.Fprintf(b, "    policy %s, rule %s", v.Policy, v.Rule)
			if v.Field != "" && !strings.HasPrefix(v.Message, v.Field+":") {
				fmt.Fprintf(b, ", %s", v.Field)
			}
			fmt.Fprintf(b, ": %s\n", v.Message)
		}
	}
	if more := r.Total - len(r.Objects); more > 0 {
		fmt.Fprintf(b, "  and %d more (shoal get events lists every FailedAdmission)\n", more)
	}
}

// writeKept lists the objects kept though removed from Git.
func writeKept(b *strings.Builder, kept []api.KeptObject, now time.Time) {
	if len(kept) == 0 {
		return
	}
	objects := fmt.Sprintf("%d objects", len(kept))
	if len(kept) == 1 {
		objects = "1 object"
	}
	fmt.Fprintf(b, "Kept:     %s removed from Git but running as last applied, opted out of pruning (shoal delete KIND NAME removes one)\n", objects)
	tw := tabwriter.NewWriter(b, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "  KIND\tNAMESPACE\tNAME\tLAST FILE\tREMOVED")
	for _, k := range kept {
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\tin %s, %s ago\n", k.Kind, orNone(k.Namespace), k.Name, k.File, shortCommit(k.RemovedCommit), age(k.Removed, now))
	}
	tw.Flush()
}

// showTerm renders a gossip term with the leader's start time readable:
// node1@2026-11-27T12:00:00.123Z; a term that does not parse as it is.
func showTerm(term string) string {
	name, start, err := gossip.Term(term).Parse()
	if err != nil {
		return term
	}
	return name + "@" + start.UTC().Format("2006-01-02T15:04:05.000Z")
}

// countStates says how many members are in each state: "3 alive, 1 dead".
func countStates(ms []api.MemberStatus) string {
	counts := map[string]int{}
	order := []string{api.MemberAlive, api.MemberSuspect, api.MemberDead, api.MemberLeft}
	for _, m := range ms {
		if !slices.Contains(order, m.State) {
			order = append(order, m.State) // a state this client does not know
		}
		counts[m.State]++
	}
	var parts []string
	for _, s := range order {
		if counts[s] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", counts[s], s))
		}
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

// syncLine renders a ref's last sync: main @ 1a2b3c4 "subject" (synced 12s
// ago), or that it has not synced.
func syncLine(s api.SyncStatus, now time.Time) string {
	ref := s.Ref
	if ref == "" {
		ref = "<unknown ref>"
	}
	if s.Commit == "" {
		if s.Error != "" {
			return ref + ": never synced"
		}
		return ref + ": not synced yet"
	}
	line := ref + " @ " + shortCommit(s.Commit)
	if s.Message != "" {
		line += fmt.Sprintf(" %q", s.Message)
	}
	return line + since(" (synced ", s.Time, now, " ago)")
}

func shortCommit(c string) string {
	if len(c) > 7 {
		return c[:7]
	}
	return c
}

// since renders before+age+after, or "" for no time.
func since(before string, t, now time.Time, after string) string {
	if t.IsZero() {
		return ""
	}
	return before + age(t, now) + after
}
