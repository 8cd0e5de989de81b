package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	appsv1 "k8s.io/api/apps/v1"

	"github.com/shoal-run/shoal/nodeagent/api"
	"github.com/shoal-run/shoal/reconciler/deployments"
)

// isDeploymentCommandLine reports whether a `get` command line is about
// Deployments.
func isDeploymentCommandLine(args []string) bool {
	if len(args) == 0 {
		return false
	}
	kind, _, _ := strings.Cut(args[0], "/")
	switch strings.ToLower(kind) {
	case "deployments", "deployment", "deploy":
		return true
	}
	return false
}

// getDeployments prints Deployments as kubectl does: NAME READY UP-TO-DATE
// AVAILABLE AGE.
func (o *getOptions) getDeployments(cmd *cobra.Command, args []string, now time.Time) error {
	var names []string
	if _, name, ok := strings.Cut(args[0], "/"); ok {
		names = append(names, name)
	}
	names = append(names, args[1:]...)
	c, err := o.client()
	if err != nil {
		return err
	}
	ns := o.namespace
	if o.allNamespaces {
		ns = ""
	}
	all, err := api.List(cmd.Context(), c, api.Deployments, ns)
	if err != nil {
		return err
	}
	var ds []appsv1.Deployment
	if len(names) == 0 {
		ds = all
	}
	for _, n := range names {
		found := false
		for _, d := range all {
			if d.Name == n {
				ds, found = append(ds, d), true
			}
		}
		if !found {
			return fmt.Errorf("deployment %q not found in namespace %q", n, o.namespace)
		}
	}
	out := cmd.OutOrStdout()
	switch o.output {
	case "json", "yaml":
		for i := range ds {
			ds[i].Kind, ds[i].APIVersion = "Deployment", "apps/v1"
		}
		return writeObjects(out, ds, o.output, len(names) == 1)
	case "name":
		for _, d := range ds {
			fmt.Fprintf(out, "deployment.apps/%s\n", d.Name)
		}
		return nil
	case "":
	default:
		return fmt.Errorf("-o %q: use yaml, json or name", o.output)
	}
	if len(ds) == 0 {
		fmt.Fprintf(cmd.ErrOrStderr(), "No resources found in %s namespace.\n", o.namespace)
		return nil
	}
	return writeDeploymentTable(out, ds, o.allNamespaces, now)
}

func writeDeploymentTable(w io.Writer, ds []appsv1.Deployment, namespaces bool, now time.Time) error {
	tw := tabwriter.NewWriter(w, 0, 4, 3, ' ', 0)
	if namespaces {
		fmt.Fprint(tw, "NAMESPACE\t")
	}
	fmt.Fprintln(tw, "NAME\tREADY\tUP-TO-DATE\tAVAILABLE\tAGE")
	for _, d := range ds {
		if namespaces {
			fmt.Fprintf(tw, "%s\t", d.Namespace)
		}
		fmt.Fprintf(tw, "%s\t%d/%d\t%d\t%d\t%s\n", d.Name, d.Status.ReadyReplicas, replicasOf(&d),
			d.Status.UpdatedReplicas, d.Status.AvailableReplicas, age(d.CreationTimestamp.Time, now))
	}
	return tw.Flush()
}

func replicasOf(d *appsv1.Deployment) int32 {
	if d.Spec.Replicas != nil {
		return *d.Spec.Replicas
	}
	return 1
}

// rolloutStatus follows a Deployment's rollout as `kubectl rollout status`
// does, printing each change, until it completes (nil), its progress
// deadline passes, or timeout.
func rolloutStatus(ctx context.Context, c *api.Client, ns, name string, timeout time.Duration, out io.Writer) error {
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	last := ""
	for {
		d, err := api.Get(ctx, c, api.Deployments, ns, name)
		if err != nil && ctx.Err() == nil {
			return err
		}
		if d != nil {
			msg, done, failed := rolloutMessage(d)
			if msg != last {
				fmt.Fprintln(out, msg)
				last = msg
			}
			if done {
				return nil
			}
			if failed {
				return exitError{code: 1} // the message says it
			}
		}
		select {
		case <-ctx.Done():
			fmt.Fprintf(out, "error: timed out waiting for the rollout of deployment %q\n", name)
			return exitError{code: 1}
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// rolloutMessage is kubectl's rollout status message for d.
func rolloutMessage(d *appsv1.Deployment) (msg string, done, failed bool) {
	want := replicasOf(d)
	st := d.Status
	var progressing *appsv1.DeploymentCondition
	for i := range st.Conditions {
		if st.Conditions[i].Type == appsv1.DeploymentProgressing {
			progressing = &st.Conditions[i]
		}
	}
	switch {
	case progressing == nil:
		return fmt.Sprintf("Waiting for deployment %q to be seen by the leader...", d.Name), false, false
	case progressing.Reason == deployments.ReasonProgressDeadlineExceeded:
		return fmt.Sprintf("error: deployment %q exceeded its progress deadline", d.Name), false, true
	case progressing.Reason == deployments.ReasonPaused:
		return fmt.Sprintf("Waiting for deployment %q: it is paused (shoal rollout resume)", d.Name), false, false
	case st.UpdatedReplicas < want:
		return fmt.Sprintf("Waiting for deployment %q rollout to finish: %d out of %d new replicas have been updated...", d.Name, st.UpdatedReplicas, want), false, false
	case st.Replicas > st.UpdatedReplicas:
		return fmt.Sprintf("Waiting for deployment %q rollout to finish: %d old replicas are pending termination...", d.Name, st.Replicas-st.UpdatedReplicas), false, false
	case st.AvailableReplicas < st.UpdatedReplicas:
		return fmt.Sprintf("Waiting for deployment %q rollout to finish: %d of %d updated replicas are available...", d.Name, st.AvailableReplicas, st.UpdatedReplicas), false, false
	}
	return fmt.Sprintf("deployment %q successfully rolled out", d.Name), true, false
}
