package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/shoal-run/shoal/manifests"
	"github.com/shoal-run/shoal/nodeagent/pods"
	"github.com/shoal-run/shoal/reconciler/volumebinding"
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/types"
)

// localBinder runs the PersistentVolume binder in-process for a one-machine
// node, as the reconciler will for a cluster: bindings are kept in a ledger
// file in the data folder (so they survive restarts), and shoal's
// local-path provisioner's directories are made and deleted here, on the
// only node there is.
type localBinder struct {
	node    string
	ledger  string // ledger file
	baseDir string // default base of provisioned volumes
	log     *slog.Logger

	mu    sync.Mutex
	state ledgerState
}

// ledgerState is what the ledger file holds.
type ledgerState struct {
	Bindings []volumebinding.Binding `json:"bindings"`
	// Paths are the directories of provisioned volumes, by volume name.
	Paths map[string]string `json:"paths"`
}

func newLocalBinder(dataDir, node string, log *slog.Logger) (*localBinder, error) {
	b := &localBinder{node: node, ledger: filepath.Join(dataDir, "volume-bindings.json"),
		baseDir: filepath.Join(dataDir, "local-path"), log: log.With("component", "volumebinding")}
	data, err := os.ReadFile(b.ledger)
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return nil, err
	default:
		if err := json.Unmarshal(data, &b.state); err != nil {
			return nil, fmt.Errorf("%s: %w", b.ledger, err)
		}
	}
	if b.state.Paths == nil {
		b.state.Paths = map[string]string{}
	}
	return b, nil
}

// Sync binds the claims of a desired state, provisions and deletes
// local-path volumes, records the ledger, and returns where each claim's
// data lives.
func (b *localBinder) Sync(set *manifests.Set) pods.Claims {
	b.mu.Lock()
	defer b.mu.Unlock()
	pvs := manifests.Of[*corev1.PersistentVolume](set)
	claims := manifests.Of[*corev1.PersistentVolumeClaim](set)
	in := volumebinding.Input{
		Volumes:        pvs,
		Claims:         claims,
		StorageClasses: manifests.Of[*storagev1.StorageClass](set),
		Bindings:       b.state.Bindings,
		ClaimNodes:     map[types.NamespacedName]string{},
		NodeLabels:     map[string]map[string]string{b.node: {"kubernetes.io/hostname": b.node}},
		Now:            time.Now(),
	}
	// Every pod runs on this node, so every claim a pod uses is wanted here.
	for _, p := range manifests.Of[*corev1.Pod](set) {
		for _, v := range p.Spec.Volumes {
			if v.PersistentVolumeClaim != nil {
				in.ClaimNodes[types.NamespacedName{Namespace: p.Namespace, Name: v.PersistentVolumeClaim.ClaimName}] = b.node
			}
		}
	}
	plan := volumebinding.Compute(in)
	for _, p := range plan.Provision {
		base := p.BasePath
		if base == "" {
			base = b.baseDir
		}
		dir := filepath.Join(base, p.VolumeName)
		if err := os.MkdirAll(dir, 0o777); err != nil {
			b.log.Error("provision volume", "claim", p.Claim, "volume", p.VolumeName, "error", err)
			continue
		}
		os.Chmod(dir, 0o777)
		b.state.Paths[p.VolumeName] = dir
		b.log.Info("provisioned volume", "claim", p.Claim, "volume", p.VolumeName, "path", dir)
	}
	for _, name := range plan.Delete {
		if dir, ok := b.state.Paths[name]; ok {
			if err := os.RemoveAll(dir); err != nil {
				b.log.Error("delete provisioned volume", "volume", name, "error", err)
				continue
			}
			delete(b.state.Paths, name)
			b.log.Info("deleted provisioned volume", "volume", name, "path", dir)
		}
	}
	b.state.Bindings = plan.Apply(b.state.Bindings)
	if data, err := json.MarshalIndent(b.state, "", "  "); err == nil {
		tmp := b.ledger + ".tmp"
		if err := os.WriteFile(tmp, data, 0o600); err == nil {
			os.Rename(tmp, b.ledger)
		}
	}

	byName := map[string]*corev1.PersistentVolume{}
	for _, pv := range pvs {
		byName[pv.Name] = pv
	}
	out := pods.ClaimMap{}
	for _, c := range claims {
		key := types.NamespacedName{Namespace: c.Namespace, Name: c.Name}
		cv := pods.ClaimVolume{Pending: fmt.Sprintf("persistentvolumeclaim %q is not bound", c.Name)}
		if reason, ok := plan.Pending[key]; ok {
			cv.Pending = fmt.Sprintf("persistentvolumeclaim %q is not bound: %s", c.Name, reason)
		}
		for _, bd := range b.state.Bindings {
			if bd.Claim != key || bd.Released {
				continue
			}
			cv = b.claimVolume(bd, byName[bd.Volume])
		}
		out[c.Namespace+"/"+c.Name] = cv
	}
	return out
}

// claimVolume says where a bound volume's data is.
func (b *localBinder) claimVolume(bd volumebinding.Binding, pv *corev1.PersistentVolume) pods.ClaimVolume {
	if bd.Provisioned {
		return pods.ClaimVolume{Path: b.state.Paths[bd.Volume]}
	}
	if pv == nil {
		return pods.ClaimVolume{Pending: fmt.Sprintf("persistentvolume %q is gone from the desired state", bd.Volume)}
	}
	readOnly := len(pv.Spec.AccessModes) == 1 && pv.Spec.AccessModes[0] == corev1.ReadOnlyMany
	switch {
	case pv.Spec.HostPath != nil:
		// Like a container runtime, make a missing directory when the type
		// does not ask for a check.
		if pv.Spec.HostPath.Type == nil || *pv.Spec.HostPath.Type == "" || *pv.Spec.HostPath.Type == corev1.HostPathDirectoryOrCreate {
			os.MkdirAll(pv.Spec.HostPath.Path, 0o755)
		}
		return pods.ClaimVolume{Path: pv.Spec.HostPath.Path, ReadOnly: readOnly}
	case pv.Spec.Local != nil:
		return pods.ClaimVolume{Path: pv.Spec.Local.Path, ReadOnly: readOnly}
	case pv.Spec.NFS != nil:
		return pods.ClaimVolume{NFS: pv.Spec.NFS, ReadOnly: readOnly}
	}
	return pods.ClaimVolume{Pending: fmt.Sprintf("persistentvolume %q has no volume source this node can mount", pv.Name)}
}
