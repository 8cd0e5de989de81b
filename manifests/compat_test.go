package manifests

import (
	"os"
	"strings"
	"testing"
)

// TestCompatCorpus reads every manifest of ../shared/compat/kubernetes-in-action
// (real manifests written for real clusters, see its README) one file at a
// time and checks the file's verdict: the worst verdict of its objects, how
// many objects it holds, and the start of its first error (or, for files
// without errors, its first warning). Every diagnostic must name its object;
// nothing is dropped silently. The table covers every file of the corpus.
func TestCompatCorpus(t *testing.T) {
	dir, ok := compatDir()
	if !ok {
		if os.Getenv("CI") != "" {
			t.Fatalf("compatibility corpus not found at %s (set SHOAL_COMPAT_DIR)", dir)
		}
		t.Skipf("compatibility corpus not found at %s (set SHOAL_COMPAT_DIR)", dir)
	}
	tests := []struct {
		file    string
		verdict string // worst verdict of the file's objects: ok, ignored, warning, error
		objects int
		message string // prefix of the first error (or warning, when there is no error)
	}{
		{"Chapter02/kubia.yaml", "ok", 1, ""},
		{"Chapter03/custom-namespace.yaml", "ok", 1, ""},
		{"Chapter03/kubia-gpu.yaml", "ok", 1, ""},
		{"Chapter03/kubia-manual-custom-namespace.yaml", "ok", 1, ""},
		{"Chapter03/kubia-manual-with-labels.yaml", "ok", 1, ""},
		{"Chapter03/kubia-manual.yaml", "ok", 1, ""},
		{"Chapter04/batch-job.yaml", "ok", 1, ""},
		{"Chapter04/cronjob.yaml", "warning", 1, "batch/v1beta1 CronJob is deprecated and no longer served by"},
		{"Chapter04/kubia-liveness-probe-initial-delay.yaml", "ok", 1, ""},
		{"Chapter04/kubia-liveness-probe.yaml", "ok", 1, ""},
		{"Chapter04/kubia-rc.yaml", "ok", 1, ""},
		{"Chapter04/kubia-replicaset-matchexpressions.yaml", "warning", 1, "apps/v1beta2 ReplicaSet is deprecated and no longer served by"},
		{"Chapter04/kubia-replicaset.yaml", "warning", 1, "apps/v1beta2 ReplicaSet is deprecated and no longer served by"},
		{"Chapter04/multi-completion-batch-job.yaml", "ok", 1, ""},
		{"Chapter04/multi-completion-parallel-batch-job.yaml", "ok", 1, ""},
		{"Chapter04/ssd-monitor-daemonset.yaml", "warning", 1, "apps/v1beta2 DaemonSet is deprecated and no longer served by"},
		{"Chapter04/time-limited-batch-job.yaml", "ok", 1, ""},
		{"Chapter05/external-service-endpoints.yaml", "ok", 1, ""},
		{"Chapter05/external-service-externalname.yaml", "ok", 1, ""},
		{"Chapter05/external-service.yaml", "ok", 1, ""},
		{"Chapter05/kubia-ingress-tls.yaml", "warning", 1, "extensions/v1beta1 Ingress is deprecated and no longer served by"},
		{"Chapter05/kubia-ingress.yaml", "warning", 1, "extensions/v1beta1 Ingress is deprecated and no longer served by"},
		{"Chapter05/kubia-rc-readinessprobe.yaml", "ok", 1, ""},
		{"Chapter05/kubia-svc-client-ip-session-affinity.yaml", "ok", 1, ""},
		{"Chapter05/kubia-svc-headless.yaml", "ok", 1, ""},
		{"Chapter05/kubia-svc-loadbalancer.yaml", "ok", 1, ""},
		{"Chapter05/kubia-svc-named-ports.yaml", "ok", 1, ""},
		{"Chapter05/kubia-svc-nodeport-onlylocal.yaml", "ok", 1, ""},
		{"Chapter05/kubia-svc-nodeport.yaml", "ok", 1, ""},
		{"Chapter05/kubia-svc-publish-not-ready.yaml", "error", 1, "spec.publishNotReadyEndpoints: unknown field"},
		{"Chapter05/kubia-svc.yaml", "ok", 1, ""},
		{"Chapter06/fortune-pod.yaml", "ok", 1, ""},
		{"Chapter06/gitrepo-volume-pod.yaml", "ok", 1, ""},
		{"Chapter06/mongodb-pod-aws.yaml", "error", 1, "spec.volumes[0].awsElasticBlockStore: volume type"},
		{"Chapter06/mongodb-pod-gcepd.yaml", "error", 1, "spec.volumes[0].gcePersistentDisk: volume type gcePersistentDisk is"},
		{"Chapter06/mongodb-pod-hostpath.yaml", "ok", 1, ""},
		{"Chapter06/mongodb-pod-nfs.yaml", "ok", 1, ""},
		{"Chapter06/mongodb-pod-pvc.yaml", "ok", 1, ""},
		{"Chapter06/mongodb-pv-gcepd.yaml", "error", 1, "spec.gcePersistentDisk: volume type gcePersistentDisk is not"},
		{"Chapter06/mongodb-pv-hostpath.yaml", "ok", 1, ""},
		{"Chapter06/mongodb-pvc-dp-nostorageclass.yaml", "ok", 1, ""},
		{"Chapter06/mongodb-pvc-dp.yaml", "ok", 1, ""},
		{"Chapter06/mongodb-pvc.yaml", "ok", 1, ""},
		{"Chapter06/pv_with_labels/mongodb-pv.yaml", "error", 1, "spec.gcePersistentDisk: volume type gcePersistentDisk is not"},
		{"Chapter06/pv_with_labels/mongodb-pvc-pod.yaml", "ok", 1, ""},
		{"Chapter06/pv_with_labels/mongodb-pvc.yaml", "ok", 1, ""},
		{"Chapter06/storageclass-fast-gcepd.yaml", "error", 1, "provisioner: value \"kubernetes.io/gce-pd\" is not supported:"},
		{"Chapter06/storageclass-fast-hostpath.yaml", "error", 1, "provisioner: value \"k8s.io/minikube-hostpath\" is not supported:"},
		{"Chapter06/test.yaml", "ok", 1, ""},
		{"Chapter07/fortune-config.yaml", "ok", 1, ""},
		{"Chapter07/fortune-pod-args-configmap.yaml", "ok", 1, ""},
		{"Chapter07/fortune-pod-args.yaml", "ok", 1, ""},
		{"Chapter07/fortune-pod-configmap-volume-defaultMode.yaml", "ok", 1, ""},
		{"Chapter07/fortune-pod-configmap-volume-with-items.yaml", "ok", 1, ""},
		{"Chapter07/fortune-pod-configmap-volume.yaml", "ok", 1, ""},
		{"Chapter07/fortune-pod-env-configmap.yaml", "ok", 1, ""},
		{"Chapter07/fortune-pod-env.yaml", "ok", 1, ""},
		{"Chapter07/fortune-pod-https.yaml", "ok", 1, ""},
		{"Chapter07/pod-with-private-image.yaml", "ok", 1, ""},
		{"Chapter08/curl-with-ambassador.yaml", "ok", 1, ""},
		{"Chapter08/curl.yaml", "ok", 1, ""},
		{"Chapter08/downward-api-env.yaml", "ok", 1, ""},
		{"Chapter08/downward-api-volume.yaml", "ok", 1, ""},
		{"Chapter08/my-job.yaml", "ok", 1, ""},
		{"Chapter09/kubia-deployment-and-service-v1.yaml", "warning", 2, "apps/v1beta1 Deployment is deprecated and no longer served by"},
		{"Chapter09/kubia-deployment-v1.yaml", "warning", 1, "spec.template.metadata.name: ignored: a controller names the pods and"},
		{"Chapter09/kubia-deployment-v2.yaml", "warning", 1, "apps/v1beta1 Deployment is deprecated and no longer served by"},
		{"Chapter09/kubia-deployment-v3-with-readinesscheck.yaml", "warning", 1, "apps/v1beta1 Deployment is deprecated and no longer served by"},
		{"Chapter09/kubia-deployment-v3.yaml", "warning", 1, "apps/v1beta1 Deployment is deprecated and no longer served by"},
		{"Chapter09/kubia-rc-and-service-v1.yaml", "warning", 2, "spec.template.metadata.name: ignored: a controller names the pods and"},
		{"Chapter10/kubia-service-headless.yaml", "ok", 1, ""},
		{"Chapter10/kubia-service-public.yaml", "ok", 1, ""},
		{"Chapter10/kubia-statefulset-peers.yaml", "error", 1, "StatefulSet is not supported: use a Deployment with a"},
		{"Chapter10/kubia-statefulset.yaml", "error", 1, "StatefulSet is not supported: use a Deployment with a"},
		{"Chapter10/persistent-volumes-gcepd.yaml", "error", 3, "spec.gcePersistentDisk: volume type gcePersistentDisk is not"},
		{"Chapter10/persistent-volumes-hostpath.yaml", "error", 3, "spec.persistentVolumeReclaimPolicy: value \"Recycle\" is not supported:"},
		{"Chapter12/curl-custom-sa.yaml", "ok", 1, ""},
		{"Chapter12/node-lister.yaml", "ignored", 1, "RBAC objects are ignored: shoal has no Kubernetes API for pods to"},
		{"Chapter12/pv-reader.yaml", "ignored", 1, "RBAC objects are ignored: shoal has no Kubernetes API for pods to"},
		{"Chapter12/sa-image-pull-secrets.yaml", "ok", 1, ""},
		{"Chapter12/service-reader.yaml", "ignored", 1, "RBAC objects are ignored: shoal has no Kubernetes API for pods to"},
		{"Chapter13/kubia-hostport.yaml", "ok", 1, ""},
		{"Chapter13/network-policy-cart.yaml", "ok", 1, ""},
		{"Chapter13/network-policy-cidr.yaml", "ok", 1, ""},
		{"Chapter13/network-policy-default-deny.yaml", "ok", 1, ""},
		{"Chapter13/network-policy-egress.yaml", "ok", 1, ""},
		{"Chapter13/network-policy-postgres.yaml", "ok", 1, ""},
		{"Chapter13/pod-add-settime-capability.yaml", "ok", 1, ""},
		{"Chapter13/pod-add-sysadmin-capability.yaml", "ok", 1, ""},
		{"Chapter13/pod-as-user-guest.yaml", "ok", 1, ""},
		{"Chapter13/pod-drop-chown-capability.yaml", "ok", 1, ""},
		{"Chapter13/pod-privileged.yaml", "ok", 1, ""},
		{"Chapter13/pod-run-as-non-root.yaml", "ok", 1, ""},
		{"Chapter13/pod-security-policy.yaml", "error", 1, "PodSecurityPolicy is not supported (Kubernetes removed it in 1.25):"},
		{"Chapter13/pod-with-host-network.yaml", "ok", 1, ""},
		{"Chapter13/pod-with-host-pid-and-ipc.yaml", "ok", 1, ""},
		{"Chapter13/pod-with-readonly-filesystem.yaml", "ok", 1, ""},
		{"Chapter13/pod-with-shared-volume-fsgroup.yaml", "ok", 1, ""},
		{"Chapter13/pod-with-shared-volume.yaml", "ok", 1, ""},
		{"Chapter13/psp-capabilities.yaml", "error", 1, "PodSecurityPolicy is not supported (Kubernetes removed it in 1.25):"},
		{"Chapter13/psp-must-run-as.yaml", "error", 1, "PodSecurityPolicy is not supported (Kubernetes removed it in 1.25):"},
		{"Chapter13/psp-privileged.yaml", "error", 1, "PodSecurityPolicy is not supported (Kubernetes removed it in 1.25):"},
		{"Chapter13/psp-volumes.yaml", "error", 1, "PodSecurityPolicy is not supported (Kubernetes removed it in 1.25):"},
		{"Chapter14/custom-resource-request-pod.yaml", "error", 1, "spec.containers[0].resources.requests: resource"},
		{"Chapter14/kubia-requests.yaml", "ok", 1, ""},
		{"Chapter14/limited-pod.yaml", "ok", 1, ""},
		{"Chapter14/limits-pod-too-big.yaml", "ok", 1, ""},
		{"Chapter14/limits.yaml", "ok", 1, ""},
		{"Chapter14/limits2.yaml", "ok", 1, ""},
		{"Chapter14/memoryhog.yaml", "ok", 1, ""},
		{"Chapter14/pod-deadline.yaml", "ok", 1, ""},
		{"Chapter14/qos-besteffort.yaml", "ok", 1, ""},
		{"Chapter14/qos-burstable.yaml", "ok", 1, ""},
		{"Chapter14/qos-burstable2.yaml", "ok", 1, ""},
		{"Chapter14/qos-guaranteed.yaml", "ok", 1, ""},
		{"Chapter14/quota-cpu-memory.yaml", "ok", 1, ""},
		{"Chapter14/quota-object-count.yaml", "ok", 1, ""},
		{"Chapter14/quota-scoped.yaml", "ok", 1, ""},
		{"Chapter14/quota-storage.yaml", "ok", 1, ""},
		{"Chapter14/requests-pod-2.yaml", "ok", 1, ""},
		{"Chapter14/requests-pod.yaml", "ok", 1, ""},
		{"Chapter15/deployment-apps-v1beta2.yaml", "warning", 1, "apps/v1beta2 Deployment is deprecated and no longer served by"},
		{"Chapter15/deployment.yaml", "warning", 1, "extensions/v1beta1 Deployment is deprecated and no longer served by"},
		{"Chapter16/frontend-podaffinity-host.yaml", "error", 1, "spec.template.spec.affinity.podAffinity.requiredDuringSchedulingIgnor"},
		{"Chapter16/frontend-podaffinity-preferred-host.yaml", "warning", 1, "extensions/v1beta1 Deployment is deprecated and no longer served by"},
		{"Chapter16/frontend-podaffinity-rack.yaml", "error", 1, "spec.template.spec.affinity.podAffinity.requiredDuringSchedulingIgnor"},
		{"Chapter16/frontend-podantiaffinity-host.yaml", "error", 1, "spec.template.spec.affinity.podAntiAffinity.requiredDuringSchedulingI"},
		{"Chapter16/kubia-gpu-nodeaffinity.yaml", "ok", 1, ""},
		{"Chapter16/kubia-gpu-nodeselector.yaml", "ok", 1, ""},
		{"Chapter16/preferred-deployment.yaml", "warning", 1, "extensions/v1beta1 Deployment is deprecated and no longer served by"},
		{"Chapter16/production-deployment.yaml", "warning", 1, "extensions/v1beta1 Deployment is deprecated and no longer served by"},
		{"Chapter17/fortune-client.yaml", "ok", 1, ""},
		{"Chapter17/fortune-server.yaml", "ok", 2, ""},
		{"Chapter17/post-start-hook-httpget.yaml", "ok", 1, ""},
		{"Chapter17/post-start-hook.yaml", "ok", 1, ""},
		{"Chapter17/pre-stop-hook-command.yaml", "ok", 1, ""},
		{"Chapter17/pre-stop-hook-httpget.yaml", "ok", 1, ""},
		{"Chapter17/pre-stop-hook-volume.yaml", "ok", 1, ""},
		{"Chapter17/replicaset-crashingpods.yaml", "warning", 1, "extensions/v1beta1 ReplicaSet is deprecated and no longer served by"},
		{"Chapter17/termination-message-success.yaml", "ok", 1, ""},
		{"Chapter17/termination-message.yaml", "ok", 1, ""},
		{"Chapter18/database-broker.yaml", "error", 1, "kind Broker (apiVersion servicecatalog.k8s.io/v1alpha1) is not"},
		{"Chapter18/database-instance.yaml", "error", 1, "kind Instance (apiVersion servicecatalog.k8s.io/v1alpha1) is not"},
		{"Chapter18/imaginary-kubia-website.yaml", "error", 1, "apiVersion is required: every object needs apiVersion and kind"},
		{"Chapter18/k8s-site.yaml", "error", 1, "kind Website (apiVersion extensions.example.com/v1) is not supported"},
		{"Chapter18/kubia-website.yaml", "error", 1, "kind Website (apiVersion extensions.example.com/v1) is not supported"},
		{"Chapter18/my-postgres-db-binding.yaml", "error", 1, "kind Binding (apiVersion servicecatalog.k8s.io/v1alpha1) is not"},
		{"Chapter18/website-controller.yaml", "warning", 1, "apps/v1beta1 Deployment is deprecated and no longer served by"},
		{"Chapter18/website-crd.yaml", "error", 1, "CustomResourceDefinition is not supported: shoal has no API server to"},
	}
	fsys := os.DirFS(dir)
	seen := map[string]bool{}
	rank := map[string]int{"ok": 0, "ignored": 1, "warning": 2, "error": 3}
	for _, tt := range tests {
		seen[tt.file] = true
		t.Run(tt.file, func(t *testing.T) {
			res := Read(Input{FS: fsys, Path: tt.file})
			verdict := "ok"
			var errs, warns []Diagnostic
			for _, o := range res.Objects {
				if rank[o.Verdict()] > rank[verdict] {
					verdict = o.Verdict()
				}
				for _, d := range o.Diagnostics {
					if d.Object == "" {
						t.Errorf("diagnostic names no object: %s", d)
					}
					if d.Severity == SeverityError {
						errs = append(errs, d)
					} else {
						warns = append(warns, d)
					}
				}
			}
			for _, d := range res.Diagnostics {
				if d.Object == "" {
					verdict = "error"
					errs = append(errs, d)
				}
			}
			if verdict != tt.verdict || len(res.Objects) != tt.objects {
				t.Errorf("verdict %s with %d objects, want %s with %d; diagnostics:\n%s",
					verdict, len(res.Objects), tt.verdict, tt.objects, strings.Join(diagStrings(res.Diagnostics), "\n"))
			}
			first := ""
			switch {
			case len(errs) > 0:
				first = errs[0].Message
			case len(warns) > 0:
				first = warns[0].Message
			}
			if !strings.HasPrefix(first, tt.message) {
				t.Errorf("first message %q, want it to start with %q", first, tt.message)
			}
		})
	}
	whole := Read(Input{FS: fsys})
	for _, f := range whole.Files {
		if !seen[f] {
			t.Errorf("corpus file %s has no expected verdict in this table", f)
		}
	}
	if len(whole.Files) != len(tests) {
		t.Errorf("corpus has %d files, the table %d", len(whole.Files), len(tests))
	}
}
