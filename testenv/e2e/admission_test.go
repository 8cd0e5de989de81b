package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/shoal-run/shoal/testenv"
)

// TestAdmissionOnTheCluster: two nodes and a repository with an admission
// file that forbids hostPath, a quota of 2 pods and a LimitRange in
// namespace shop. The Deployment with a hostPath volume does not run and
// shoal status says why (file, rule, field); the rest of the commit runs;
// a Deployment of 3 replicas in shop gets 2 pods, each with the
// LimitRange's memory limit, and its FailedCreate event, condition and the
// quota's usage say why there is no third.
func TestAdmissionOnTheCluster(t *testing.T) {
	c := startRig(t, 2, func(cfg *testenv.Config) { cfg.GitPollInterval = time.Second })
	sleeper := `{name: app, image: busybox, command: [sleep, "3600"]}`
	shop := strings.Replace(testenv.DeploymentYAML("web", "", sleeper), "metadata: {name: web,", "metadata: {name: web, namespace: shop,", 1)
	shop = strings.Replace(shop, "replicas: 1", "replicas: 3", 1)
	logs := strings.Replace(testenv.DeploymentYAML("logs", "", sleeper), "      containers:", "      volumes: [{name: varlog, hostPath: {path: /var/log}}]\n      containers:", 1)
	push(t, c, map[string]string{
		".shoal/admission.yaml": testenv.AdmissionYAML("forbidHostPath: true"),
		"logs.yaml":             logs,
		"shop.yaml":             shopYAML(shop, 2),
		"ok.yaml":               "apiVersion: v1\nkind: Pod\nmetadata: {name: ok}\nspec:\n  containers: [" + sleeper + "]\n",
	}, "policies, a quota and apps")

	running := func(ps []corev1.Pod, prefix string) []corev1.Pod {
		var out []corev1.Pod
		for _, p := range ps {
			if strings.HasPrefix(p.Name, prefix) && p.Status.Phase == corev1.PodRunning {
				out = append(out, p)
			}
		}
		return out
	}
	var web []corev1.Pod
	waitFor(t, 90*time.Second, "ok and two of web's pods running", func() bool {
		ps := pods(c, t, "node1")
		web = running(ps, "web-")
		return len(running(ps, "ok")) == 1 && len(web) == 2
	})
	for _, p := range web {
		if p.Namespace != "shop" || p.Spec.Containers[0].Resources.Limits.Memory().String() != "64Mi" {
			t.Errorf("pod %s/%s runs with limits %v, want the LimitRange's memory: 64Mi", p.Namespace, p.Name, p.Spec.Containers[0].Resources.Limits)
		}
	}
	if ps := mustPods(c, t, "node2"); len(running(ps, "logs-")) != 0 || len(find(ps, "logs")) != 0 {
		t.Fatalf("the refused Deployment runs")
	}

	// Every node's status shows the refusal; the events and the
	// Deployment say why web has 2 pods of 3.
	for _, node := range c.NodeNames() {
		waitCLI(t, c, node, 30*time.Second, []string{"status"},
			"Refused:  1 object of", "refused by admission",
			"  Deployment/default/logs (logs.yaml:1)",
			"    policy baseline, rule forbidHostPath, spec.template.spec.volumes[0].hostPath: volume \"varlog\" mounts the node's path \"/var/log\"")
	}
	waitCLI(t, c, "node2", 30*time.Second, []string{"get", "events"}, "Warning", "FailedAdmission", "is refused: policy baseline, rule forbidHostPath")
	waitCLI(t, c, "node2", 30*time.Second, []string{"get", "events", "-n", "shop"}, "FailedCreate", `is forbidden: exceeded quota: pods, requested: pods=1, used: pods=2, limited: pods=2`)
	waitCLI(t, c, "node1", 30*time.Second, []string{"describe", "deployment", "web", "-n", "shop"}, "ReplicaFailure True FailedCreate")
	waitCLI(t, c, "node1", 30*time.Second, []string{"get", "quota", "-n", "shop"}, "pods pods: 2/2")
	waitCLI(t, c, "node2", 30*time.Second, []string{"get", "limits", "-n", "shop"}, "mem Container defaultRequest memory=64Mi, default memory=64Mi")
	if got := len(running(mustPods(c, t, "node2"), "web-")); got != 2 {
		t.Fatalf("%d of web's pods run, want the quota's 2", got)
	}

	// Raising the quota lets the third pod run; the refusal stays until the
	// policy allows hostPath.
	push(t, c, map[string]string{"shop.yaml": shopYAML(shop, 3)}, "a bigger quota")
	waitFor(t, 60*time.Second, "three of web's pods running", func() bool {
		return len(running(pods(c, t, "node1"), "web-")) == 3
	})
	waitCLI(t, c, "node1", 30*time.Second, []string{"get", "quota", "-n", "shop"}, "pods pods: 3/3")
}

// shopYAML is namespace shop's Deployment with a quota of pods and a
// LimitRange that gives containers a memory limit.
func shopYAML(deployment string, pods int) string {
	return deployment + fmt.Sprintf(`---
apiVersion: v1
kind: ResourceQuota
metadata: {name: pods, namespace: shop}
spec:
  hard: {pods: "%d"}
---
apiVersion: v1
kind: LimitRange
metadata: {name: mem, namespace: shop}
spec:
  limits: [{type: Container, default: {memory: 64Mi}}]
`, pods)
}
