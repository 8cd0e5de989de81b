package pods

import (
	"fmt"
	"os"
	"path/filepath"
	goruntime "runtime"

	"github.com/shoal-run/shoal/nodeagent/volumes"
	"golang.org/x/sys/unix"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// syncVolumes writes the pod's configMap, secret, downwardAPI and projected
// volumes from the current desired state. Each write is atomic (a swapped
// ..data link) and does nothing when the content is unchanged, so it runs on
// every pass: a changed ConfigMap or Secret, or new labels, reach the
// mounted files within a pass. Secrets live on tmpfs, never on disk. It
// returns the first failure, as the kubelet's MountVolume.SetUp message.
func (w *worker) syncVolumes() error {
	pod := w.currentPod()
	w.mu.Lock()
	podIP := ""
	if w.sandbox != nil && w.sandbox.IP.IsValid() {
		podIP = w.sandbox.IP.String()
	}
	w.mu.Unlock()
	src := w.m.configSource()
	for i := range pod.Spec.Volumes {
		v := &pod.Spec.Volumes[i]
		var payload map[string]volumes.FileProjection
		var err error
		tmpfs := false
		switch {
		case v.ConfigMap != nil:
			cm, _ := src.ConfigMap(pod.Namespace, v.ConfigMap.Name)
			payload, err = volumes.ConfigMapPayload(v.ConfigMap, cm, mode(v.ConfigMap.DefaultMode))
		case v.Secret != nil:
			s, _ := src.Secret(pod.Namespace, v.Secret.SecretName)
			payload, err = volumes.SecretPayload(v.Secret, s, mode(v.Secret.DefaultMode))
			tmpfs = true
		case v.DownwardAPI != nil:
			payload, err = volumes.DownwardAPIPayload(v.DownwardAPI.Items, pod, podIP, w.m.cfg.NodeName, w.m.allocatable, mode(v.DownwardAPI.DefaultMode))
		case v.Projected != nil:
			payload, err = volumes.ProjectedPayload(v.Projected, src, pod, podIP, w.m.cfg.NodeName, w.m.allocatable, mode(v.Projected.DefaultMode))
			for _, s := range v.Projected.Sources {
				if s.Secret != nil {
					tmpfs = true
				}
			}
		default:
			continue
		}
		if err != nil {
			return fmt.Errorf("MountVolume.SetUp failed for volume %q : %v", v.Name, err)
		}
		dir := filepath.Join(w.dir, "volumes", v.Name)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("MountVolume.SetUp failed for volume %q : %v", v.Name, err)
		}
		if tmpfs {
			if err := volumes.MountTmpfs(dir, 0); err != nil {
				return fmt.Errorf("MountVolume.SetUp failed for volume %q : %v", v.Name, err)
			}
		}
		aw, err := volumes.NewAtomicWriter(dir, w.key+" volume "+v.Name)
		if err != nil {
			return fmt.Errorf("MountVolume.SetUp failed for volume %q : %v", v.Name, err)
		}
		if err := aw.Write(payload, nil); err != nil {
			return fmt.Errorf("MountVolume.SetUp failed for volume %q : %v", v.Name, err)
		}
	}
	return nil
}

// configVolumeKinds reports whether a volume is one syncVolumes writes.
func isConfigVolume(v *corev1.Volume) bool {
	return v.ConfigMap != nil || v.Secret != nil || v.DownwardAPI != nil || v.Projected != nil
}

// usesTmpfs reports whether a volume is kept on tmpfs.
func usesTmpfs(v *corev1.Volume) bool {
	if v.Secret != nil || (v.EmptyDir != nil && v.EmptyDir.Medium == corev1.StorageMediumMemory) {
		return true
	}
	if v.Projected != nil {
		for _, s := range v.Projected.Sources {
			if s.Secret != nil {
				return true
			}
		}
	}
	return false
}

func mode(m *int32) int32 {
	if m == nil {
		return 0o644
	}
	return *m
}

// nodeAllocatable is what the node offers pods: its CPUs and memory. A
// resourceFieldRef to an unset limit reads it, as in Kubernetes.
func nodeAllocatable() corev1.ResourceList {
	rl := corev1.ResourceList{
		corev1.ResourceCPU: *resource.NewQuantity(int64(goruntime.NumCPU()), resource.DecimalSI),
	}
	var si unix.Sysinfo_t
	if unix.Sysinfo(&si) == nil {
		rl[corev1.ResourceMemory] = *resource.NewQuantity(int64(si.Totalram)*int64(si.Unit), resource.BinarySI)
	}
	return rl
}
