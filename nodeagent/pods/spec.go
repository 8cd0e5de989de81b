package pods

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/shoal-run/shoal/nodeagent/images"
	"github.com/shoal-run/shoal/nodeagent/podnet"
	"github.com/shoal-run/shoal/nodeagent/runtime"
	corev1 "k8s.io/api/core/v1"
)

// cpuPeriod is the CFS period for CPU limits, as the kubelet uses.
const cpuPeriod = 100000

// specInput is everything a container's runtime spec is made from.
type specInput struct {
	id        string
	pod       *corev1.Pod
	container *corev1.Container
	image     *images.Image
	env       []corev1.EnvVar
	sandbox   *podnet.Sandbox
	// podDir holds the pod's managed files (hosts, hostname, resolv.conf)
	// and volumes; runDir is this run's own folder (termination log).
	podDir, runDir string
	// pidsLimit is the node's per-container process limit (0: none).
	pidsLimit int64
	// claim resolves PersistentVolumeClaims.
	claim func(namespace, name string) ClaimVolume
}

// containerSpec turns a Kubernetes container into the runtime's spec: the
// command line by the Kubernetes rules, the image's environment merged
// under the container's, the user from the security context or the image,
// cgroup limits from resources, capabilities, and the pod's namespaces and
// managed files. A configuration the container cannot run with is a
// *ConfigError.
func containerSpec(in specInput) (runtime.ContainerSpec, error) {
	pod, c, img := in.pod, in.container, in.image
	envMap := map[string]string{}
	for _, e := range in.env {
		envMap[e.Name] = e.Value
	}
	lookup := func(k string) (string, bool) { v, ok := envMap[k]; return v, ok }
	spec := runtime.ContainerSpec{
		ID:         in.id,
		Layers:     img.Layers,
		Args:       Argv(c.Command, c.Args, img.Config.Entrypoint, img.Config.Cmd, lookup),
		Env:        mergeEnv(img.Config.Env, Hostname(pod), in.env),
		WorkingDir: c.WorkingDir,
		Hostname:   Hostname(pod),
	}
	if spec.WorkingDir == "" {
		spec.WorkingDir = img.Config.WorkingDir
	}
	if len(spec.Args) == 0 {
		return spec, &ConfigError{fmt.Sprintf("no command specified: image %s has no entrypoint or cmd, and the container sets no command", img.Ref)}
	}
	if sig := img.Config.StopSignal; sig != "" {
		if s, ok := parseSignal(sig); ok {
			spec.StopSignal = s
		}
	}
	if pod.Spec.HostNetwork {
		spec.HostNetwork = true
	}
	spec.HostPID, spec.HostIPC = pod.Spec.HostPID, pod.Spec.HostIPC
	if in.sandbox != nil {
		spec.NetNS, spec.IPCNS, spec.UTSNS = in.sandbox.NetNS, in.sandbox.IPCNS, in.sandbox.UTSNS
	}

	user, err := containerUser(pod, c, img)
	if err != nil {
		return spec, err
	}
	spec.User = user

	sc := c.SecurityContext
	if sc != nil {
		if sc.Privileged != nil {
			spec.Privileged = *sc.Privileged
		}
		if sc.ReadOnlyRootFilesystem != nil {
			spec.ReadonlyRootfs = *sc.ReadOnlyRootFilesystem
		}
		if sc.AllowPrivilegeEscalation != nil && !*sc.AllowPrivilegeEscalation {
			spec.NoNewPrivileges = true
		}
		if sc.Capabilities != nil {
			for _, a := range sc.Capabilities.Add {
				spec.Capabilities.Add = append(spec.Capabilities.Add, capName(string(a)))
			}
			for _, d := range sc.Capabilities.Drop {
				spec.Capabilities.Drop = append(spec.Capabilities.Drop, capName(string(d)))
			}
		}
	}

	spec.Resources = containerResources(c)
	spec.Resources.PidsLimit = in.pidsLimit
	mounts, err := containerMounts(in)
	if err != nil {
		return spec, err
	}
	spec.Mounts = mounts
	return spec, nil
}

// mergeEnv puts the image's variables first, then HOSTNAME, then the
// container's: a later variable of the same name replaces an earlier one.
func mergeEnv(image []string, hostname string, env []corev1.EnvVar) []string {
	var order []string
	values := map[string]string{}
	set := func(k, v string) {
		if _, ok := values[k]; !ok {
			order = append(order, k)
		}
		values[k] = v
	}
	for _, kv := range image {
		k, v, _ := strings.Cut(kv, "=")
		set(k, v)
	}
	set("HOSTNAME", hostname)
	for _, e := range env {
		set(e.Name, e.Value)
	}
	out := make([]string, len(order))
	for i, k := range order {
		out[i] = k + "=" + values[k]
	}
	return out
}

// capName normalizes a capability to the CAP_ form the runtime takes.
func capName(c string) string {
	c = strings.ToUpper(c)
	if c == "ALL" || strings.HasPrefix(c, "CAP_") {
		return c
	}
	return "CAP_" + c
}

// containerResources maps requests and limits to cgroup settings as the
// kubelet does: CPU limit to a CFS quota, CPU request to shares (2 when
// none), memory limit to the memory cgroup limit.
func containerResources(c *corev1.Container) runtime.Resources {
	var r runtime.Resources
	if q, ok := c.Resources.Limits[corev1.ResourceCPU]; ok && !q.IsZero() {
		r.CPUPeriod = cpuPeriod
		r.CPUQuota = q.MilliValue() * cpuPeriod / 1000
		if r.CPUQuota < 1000 {
			r.CPUQuota = 1000
		}
	}
	r.CPUShares = 2
	if q, ok := c.Resources.Requests[corev1.ResourceCPU]; ok && !q.IsZero() {
		shares := uint64(q.MilliValue()) * 1024 / 1000
		if shares < 2 {
			shares = 2
		}
		r.CPUShares = shares
	}
	if q, ok := c.Resources.Limits[corev1.ResourceMemory]; ok {
		r.MemoryLimit = q.Value()
	}
	return r
}

// containerUser decides the user a container runs as: the container's
// security context, else the pod's, else the image's USER (a number, or a
// name looked up in the image's /etc/passwd). runAsNonRoot is enforced
// here, with the kubelet's messages.
func containerUser(pod *corev1.Pod, c *corev1.Container, img *images.Image) (runtime.User, error) {
	var u runtime.User
	var uid, gid *int64
	var nonRoot *bool
	if psc := pod.Spec.SecurityContext; psc != nil {
		uid, gid, nonRoot = psc.RunAsUser, psc.RunAsGroup, psc.RunAsNonRoot
		for _, g := range psc.SupplementalGroups {
			u.AdditionalGIDs = append(u.AdditionalGIDs, uint32(g))
		}
		if psc.FSGroup != nil {
			u.AdditionalGIDs = append(u.AdditionalGIDs, uint32(*psc.FSGroup))
		}
	}
	if sc := c.SecurityContext; sc != nil {
		if sc.RunAsUser != nil {
			uid = sc.RunAsUser
		}
		if sc.RunAsGroup != nil {
			gid = sc.RunAsGroup
		}
		if sc.RunAsNonRoot != nil {
			nonRoot = sc.RunAsNonRoot
		}
	}
	imageUser, imageGroup, _ := strings.Cut(img.Config.User, ":")
	switch {
	case uid != nil:
		u.UID = uint32(*uid)
	case imageUser == "":
		u.UID = 0
	default:
		n, err := strconv.ParseUint(imageUser, 10, 32)
		if err != nil {
			found, pgid, ok := lookupPasswd(img.Layers, imageUser)
			if !ok {
				if nonRoot != nil && *nonRoot {
					return u, &ConfigError{fmt.Sprintf("container has runAsNonRoot and image has non-numeric user (%s), cannot verify user is non-root (pod: %q, container: %s)", imageUser, pod.Namespace+"/"+pod.Name, c.Name)}
				}
				return u, &ConfigError{fmt.Sprintf("unable to find user %s: no matching entries in passwd file of image %s", imageUser, img.Ref)}
			}
			n = uint64(found)
			if gid == nil && imageGroup == "" {
				g := int64(pgid)
				gid = &g
			}
		}
		u.UID = uint32(n)
	}
	switch {
	case gid != nil:
		u.GID = uint32(*gid)
	case imageGroup != "":
		if n, err := strconv.ParseUint(imageGroup, 10, 32); err == nil {
			u.GID = uint32(n)
		}
	}
	if nonRoot != nil && *nonRoot && u.UID == 0 {
		return u, &ConfigError{fmt.Sprintf("container has runAsNonRoot and image will run as root (pod: %q, container: %s)", pod.Namespace+"/"+pod.Name, c.Name)}
	}
	return u, nil
}

// lookupPasswd finds a user name in the top-most /etc/passwd of the layers.
func lookupPasswd(layers []string, name string) (uid, gid uint32, ok bool) {
	for i := len(layers) - 1; i >= 0; i-- {
		f, err := os.Open(filepath.Join(layers[i], "etc", "passwd"))
		if err != nil {
			continue
		}
		defer f.Close()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			parts := strings.Split(sc.Text(), ":")
			if len(parts) < 4 || parts[0] != name {
				continue
			}
			u, err1 := strconv.ParseUint(parts[2], 10, 32)
			g, err2 := strconv.ParseUint(parts[3], 10, 32)
			if err1 == nil && err2 == nil {
				return uint32(u), uint32(g), true
			}
		}
		return 0, 0, false
	}
	return 0, 0, false
}

// parseSignal reads an image's StopSignal ("SIGQUIT", "QUIT" or "3").
func parseSignal(s string) (syscall.Signal, bool) {
	if n, err := strconv.Atoi(s); err == nil {
		return syscall.Signal(n), true
	}
	names := map[string]syscall.Signal{
		"TERM": syscall.SIGTERM, "INT": syscall.SIGINT, "QUIT": syscall.SIGQUIT, "KILL": syscall.SIGKILL,
		"HUP": syscall.SIGHUP, "USR1": syscall.SIGUSR1, "USR2": syscall.SIGUSR2, "WINCH": syscall.SIGWINCH,
	}
	sig, ok := names[strings.TrimPrefix(strings.ToUpper(s), "SIG")]
	return sig, ok
}

// containerMounts gives a container the pod's managed files, its
// termination log, and its volume mounts.
func containerMounts(in specInput) ([]runtime.Mount, error) {
	var mounts []runtime.Mount
	bind := func(src, dst string, ro bool) {
		mounts = append(mounts, runtime.Mount{Source: src, Destination: dst, Type: "bind", Options: []string{"rbind"}, ReadOnly: ro})
	}
	pod, c := in.pod, in.container
	if !pod.Spec.HostNetwork {
		bind(filepath.Join(in.podDir, "hosts"), "/etc/hosts", false)
		bind(filepath.Join(in.podDir, "hostname"), "/etc/hostname", false)
	}
	bind(filepath.Join(in.podDir, "resolv.conf"), "/etc/resolv.conf", false)
	if c.TerminationMessagePath != "" {
		bind(filepath.Join(in.runDir, "termination-log"), c.TerminationMessagePath, false)
	}
	volumes := map[string]*corev1.Volume{}
	for i := range pod.Spec.Volumes {
		volumes[pod.Spec.Volumes[i].Name] = &pod.Spec.Volumes[i]
	}
	for _, vm := range c.VolumeMounts {
		v, ok := volumes[vm.Name]
		if !ok {
			return nil, &ConfigError{fmt.Sprintf("volume %q of mount %s is not defined in the pod", vm.Name, vm.MountPath)}
		}
		src, err := volumeSource(in.podDir, v)
		readOnly := vm.ReadOnly
		if v.PersistentVolumeClaim != nil && in.claim != nil {
			cv := in.claim(in.pod.Namespace, v.PersistentVolumeClaim.ClaimName)
			src, err = claimSource(in.podDir, v, cv)
			readOnly = readOnly || v.PersistentVolumeClaim.ReadOnly || cv.ReadOnly
		}
		if err != nil {
			return nil, err
		}
		subPath := vm.SubPath
		if vm.SubPathExpr != "" {
			// $(VAR) from the container's environment, as Kubernetes expands it.
			subPath = Expand(vm.SubPathExpr, func(k string) (string, bool) {
				for _, e := range in.env {
					if e.Name == k {
						return e.Value, true
					}
				}
				return "", false
			})
		}
		if subPath != "" {
			sub, err := subPathSource(src, subPath)
			if err != nil {
				return nil, &ConfigError{fmt.Sprintf("subPath %s of volume %s: %v", subPath, vm.Name, err)}
			}
			src = sub
		}
		m := runtime.Mount{Source: src, Destination: vm.MountPath, Type: "bind", Options: []string{"rbind"}, ReadOnly: readOnly}
		if vm.MountPropagation != nil {
			switch *vm.MountPropagation {
			case corev1.MountPropagationHostToContainer:
				m.Propagation = "rslave"
			case corev1.MountPropagationBidirectional:
				m.Propagation = "rshared"
			}
		}
		mounts = append(mounts, m)
	}
	return mounts, nil
}

// volumeSource returns the host path that backs a volume for this pod.
// emptyDir, gitRepo, nfs, hostPath, configMap, secret, downwardAPI and
// projected volumes are served here; the other volume types
// come with the volumes work and are refused with a clear message until
// then.
func volumeSource(podDir string, v *corev1.Volume) (string, error) {
	switch {
	case v.EmptyDir != nil, v.GitRepo != nil, v.NFS != nil, isConfigVolume(v):
		return filepath.Join(podDir, "volumes", v.Name), nil
	case v.HostPath != nil:
		return v.HostPath.Path, nil
	}
	return "", &ConfigError{fmt.Sprintf("volume %q: this node does not mount %s volumes yet", v.Name, volumeType(v))}
}

// volumeType names a volume's source type.
func volumeType(v *corev1.Volume) string {
	switch {
	case v.ConfigMap != nil:
		return "configMap"
	case v.Secret != nil:
		return "secret"
	case v.DownwardAPI != nil:
		return "downwardAPI"
	case v.Projected != nil:
		return "projected"
	case v.PersistentVolumeClaim != nil:
		return "persistentVolumeClaim"
	case v.GitRepo != nil:
		return "gitRepo"
	case v.NFS != nil:
		return "nfs"
	}
	return "this kind of"
}

// subPathSource resolves a subPath inside a volume as the kubelet does: a
// missing path becomes a directory; symlinks are followed (a ConfigMap key
// is a link into ..data) but must stay inside the volume. The resolved file
// is what gets bind-mounted, so later updates of the volume do not reach a
// subPath mount, as in Kubernetes.
func subPathSource(volume, subPath string) (string, error) {
	p := filepath.Join(volume, filepath.Clean("/"+subPath))
	if _, err := os.Lstat(p); os.IsNotExist(err) {
		if err := os.MkdirAll(p, 0o755); err != nil {
			return "", err
		}
	}
	real, err := filepath.EvalSymlinks(p)
	if err != nil {
		return "", err
	}
	root, err := filepath.EvalSymlinks(volume)
	if err != nil {
		return "", err
	}
	if real != root && !strings.HasPrefix(real, root+string(filepath.Separator)) {
		return "", fmt.Errorf("it leads outside the volume (%s)", real)
	}
	return real, nil
}

// claimSource is the host path behind a persistentVolumeClaim volume.
func claimSource(podDir string, v *corev1.Volume, c ClaimVolume) (string, error) {
	switch {
	case c.Pending != "":
		return "", &ConfigError{fmt.Sprintf("volume %q: %s", v.Name, c.Pending)}
	case c.NFS != nil:
		return filepath.Join(podDir, "volumes", v.Name), nil
	}
	return c.Path, nil
}
