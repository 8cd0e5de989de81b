package main

import (
	"context"
	"fmt"
	"io"
	"time"

	appsv1 "k8s.io/api/apps/v1"

	"github.com/shoal-run/shoal/nodeagent/api"
	"github.com/shoal-run/shoal/reconciler/deployments"
)

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
