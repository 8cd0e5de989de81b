package pods

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
)

// ClaimVolume is where a PersistentVolumeClaim's data lives for this node.
type ClaimVolume struct {
	// Path is a directory on the node (hostPath and local volumes, and
	// volumes shoal's local-path provisioner made).
	Path string
	// NFS is set instead of Path for nfs volumes.
	NFS *corev1.NFSVolumeSource
	// ReadOnly is set when the volume only allows ReadOnlyMany.
	ReadOnly bool
	// Pending, when not empty, says why the claim is not usable yet; the
	// pod waits with it.
	Pending string
}

// Claims resolves the claims pods use. The binder (in-process for `shoal
// up`, the reconciler in a cluster) provides it; it must be safe for
// concurrent use.
type Claims interface {
	Claim(namespace, name string) ClaimVolume
}

// ClaimMap is a Claims over a fixed map keyed by namespace/name.
type ClaimMap map[string]ClaimVolume

// Claim implements Claims: an unknown claim is pending.
func (m ClaimMap) Claim(namespace, name string) ClaimVolume {
	if c, ok := m[namespace+"/"+name]; ok {
		return c
	}
	return ClaimVolume{Pending: fmt.Sprintf("persistentvolumeclaim %q not found", name)}
}

// SetClaims gives the manager the current claim bindings; call it before
// Apply with the same desired state.
func (m *Manager) SetClaims(c Claims) {
	m.mu.Lock()
	m.claims = c
	m.mu.Unlock()
}

func (m *Manager) claim(namespace, name string) ClaimVolume {
	m.mu.Lock()
	c := m.claims
	m.mu.Unlock()
	if c == nil {
		return ClaimVolume{Pending: fmt.Sprintf("persistentvolumeclaim %q is not bound: this node has no volume binder", name)}
	}
	return c.Claim(namespace, name)
}
