package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/shoal-run/shoal/reconciler/rollout"
)

// rolloutOptions are the flags of the rollout verbs.
type rolloutOptions struct {
	namespace string
	repoDir   string
	path      string
	output    string
	to        int
}

// newRolloutCommand groups the verbs that read and change a Deployment's
// rollout through Git: history from the commits, and undo/pause/resume as
// commits in the user's clone.
func newRolloutCommand() *cobra.Command {
	o := &rolloutOptions{}
	cmd := &cobra.Command{
		Use:   "rollout",
		Short: "A Deployment's revisions from Git; undo, pause and resume as commits in your clone",
		Long: `Rollout works on your local clone of the cluster's repository, because Git is
shoal's only writer: "history" lists the Deployment's revisions (each change of
its pod template, with the commit, author, date and message), and "undo",
"pause" and "resume" change its manifest and commit. Push to apply.`,
	}
	pf := cmd.PersistentFlags()
	pf.StringVarP(&o.namespace, "namespace", "n", "default", "the Deployment's namespace")
	pf.StringVar(&o.repoDir, "repo-dir", ".", "a folder of your clone of the cluster's repository")
	pf.StringVar(&o.path, "path", ".", "the folder of the manifests inside the repository (as the cluster's --path)")
	target := func(arg string) (string, error) {
		kind, name, ok := strings.Cut(arg, "/")
		if !ok {
			return "", fmt.Errorf("%q: give deployment/NAME (or deploy/NAME)", arg)
		}
		switch strings.ToLower(kind) {
		case "deployment", "deployments", "deploy":
		default:
			return "", fmt.Errorf("%q: only Deployments have rollouts here (deployment/NAME)", arg)
		}
		if name == "" {
			return "", fmt.Errorf("%q: the name is missing", arg)
		}
		return name, nil
	}
	// inClone runs fn with the Deployment's name and the user's clone.
	inClone := func(fn func(cmd *cobra.Command, name string, r *rollout.Repo) error) func(*cobra.Command, []string) error {
		return func(cmd *cobra.Command, args []string) error {
			name, err := target(args[0])
			if err != nil {
				return err
			}
			r, err := rollout.Open(o.repoDir, o.path)
			if err != nil {
				return err
			}
			return fn(cmd, name, r)
		}
	}

	history := &cobra.Command{
		Use:   "history deployment/NAME",
		Short: "List a Deployment's revisions with their commits",
		Args:  cobra.ExactArgs(1),
		RunE: inClone(func(cmd *cobra.Command, name string, r *rollout.Repo) error {
			revs, err := r.History(o.namespace, name)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if o.output == "json" {
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				return enc.Encode(revs)
			}
			fmt.Fprintf(out, "deployment.apps/%s\n", name)
			tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "REVISION\tCOMMIT\tDATE\tAUTHOR\tMESSAGE")
			for _, rv := range revs {
				fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\n", rv.Number, rv.Commit[:12], rv.Date.Format("2006-01-02 15:04"), rv.Author, rv.Message)
			}
			return tw.Flush()
		}),
	}
	history.Flags().StringVarP(&o.output, "output", "o", "", "output format: json (default: a table)")

	undo := &cobra.Command{
		Use:   "undo deployment/NAME",
		Short: "Put back an earlier revision's pod template and commit (then push)",
		Args:  cobra.ExactArgs(1),
		RunE: inClone(func(cmd *cobra.Command, name string, r *rollout.Repo) error {
			commit, rev, err := r.Undo(o.namespace, name, o.to)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "deployment.apps/%s rolled back to revision %d (commit %s) in commit %s\npush it to apply: git push\n",
				name, rev.Number, rev.Commit[:12], commit[:12])
			return nil
		}),
	}
	undo.Flags().IntVar(&o.to, "to-revision", 0, "the revision to go back to (default: the one before the last)")

	pause := func(paused bool) *cobra.Command {
		verb, done := "pause", "paused"
		if !paused {
			verb, done = "resume", "resumed"
		}
		return &cobra.Command{
			Use:   verb + " deployment/NAME",
			Short: strings.ToUpper(verb[:1]) + verb[1:] + " a Deployment's rollout (sets spec.paused) and commit (then push)",
			Args:  cobra.ExactArgs(1),
			RunE: inClone(func(cmd *cobra.Command, name string, r *rollout.Repo) error {
				commit, err := r.SetPaused(o.namespace, name, paused)
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "deployment.apps/%s %s in commit %s\npush it to apply: git push\n", name, done, commit[:12])
				return nil
			}),
		}
	}
	var conn connectOptions
	var timeout time.Duration
	status := &cobra.Command{
		Use:   "status deployment/NAME",
		Short: "Follow a Deployment's rollout until it completes (exit 0) or fails (exit 1)",
		Long: `Status asks the cluster (--server, as the other client verbs) for the
Deployment's status and prints each change, as kubectl rollout status does. It
exits 0 once every replica runs the current template and is available, and 1
when the rollout exceeds its progressDeadlineSeconds or --timeout passes.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			name, err := target(args[0])
			if err != nil {
				return err
			}
			c, err := conn.client()
			if err != nil {
				return err
			}
			return rolloutStatus(cmd.Context(), c, o.namespace, name, timeout, cmd.OutOrStdout())
		},
	}
	status.Flags().StringVar(&conn.server, "server", "", "address of a node API, host:port (default: $SHOAL_SERVER, else "+defaultServer+")")
	status.Flags().StringVar(&conn.token, "token", "", "bearer token for the node API (default: $SHOAL_TOKEN)")
	status.Flags().DurationVar(&timeout, "timeout", 0, "give up after this long (0: wait for the progress deadline)")
	cmd.AddCommand(history, undo, pause(true), pause(false), status)
	return cmd
}
