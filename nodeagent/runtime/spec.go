package runtime

import (
	"fmt"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	"github.com/opencontainers/runc/libcontainer/configs"
	"github.com/opencontainers/runc/libcontainer/devices"
	"github.com/opencontainers/runc/libcontainer/specconv"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/shoal-run/shoal/nodeagent/runtime/pid1"
)

// ContainerSpec is everything the runtime needs to run one container. The
// node agent builds it from a pod's container; the runtime stores it with
// the container (JSON) so that a later agent can read it back.
type ContainerSpec struct {
	// ID names the container: unique on the node, made of [a-z0-9-_.]
	// (e.g. podUID-container-attempt).
	ID string `json:"id"`
	// Layers are image layer directories, bottom first. The runtime mounts an
	// overlay of them (plus the container's own upper directory) as the
	// root. When empty, Rootfs is used as it is.
	Layers []string `json:"layers,omitempty"`
	// Rootfs is a ready root directory, used only when Layers is empty. The
	// runtime creates the mount points it needs in it (/.shoal, ...).
	Rootfs string `json:"rootfs,omitempty"`
	// ReadonlyRootfs makes the root read-only (mounts stay as configured).
	ReadonlyRootfs bool `json:"readonlyRootfs,omitempty"`

	// Args is the command; Args[0] is looked up in the PATH of Env inside
	// the root when it has no slash. Start fails with ErrCommandNotFound
	// when it does not exist there.
	Args []string `json:"args"`
	// Env is the command's environment ("K=V"); PATH defaults to
	// DefaultPath when absent.
	Env []string `json:"env,omitempty"`
	// WorkingDir is the command's directory (default "/"); created when
	// missing.
	WorkingDir string `json:"workingDir,omitempty"`
	// User is the identity of the command (and of the container's init).
	User User `json:"user"`

	// Hostname is set when the container gets its own UTS namespace
	// (UTSNS empty).
	Hostname string `json:"hostname,omitempty"`
	// NetNS, IPCNS and UTSNS are paths of (bind-mounted) namespaces to join;
	// empty means a new one, unless HostNetwork/HostIPC asks for the host's.
	// A joined network namespace is used as it is: bringing lo up is the
	// caller's job.
	NetNS string `json:"netNS,omitempty"`
	IPCNS string `json:"ipcNS,omitempty"`
	UTSNS string `json:"utsNS,omitempty"`
	// HostNetwork, HostPID and HostIPC share the host's namespace.
	HostNetwork bool `json:"hostNetwork,omitempty"`
	HostPID     bool `json:"hostPID,omitempty"`
	HostIPC     bool `json:"hostIPC,omitempty"`

	// Mounts come after the runtime's own (/proc, /dev, /dev/pts, /dev/shm,
	// /dev/mqueue, /sys, /sys/fs/cgroup); a mount whose destination is one
	// of those replaces it. /etc/hosts, /etc/hostname and /etc/resolv.conf
	// are the caller's bind mounts. Nothing may be mounted under /.shoal.
	Mounts []Mount `json:"mounts,omitempty"`

	// Resources are the cgroup limits; zero means unlimited.
	Resources Resources `json:"resources"`

	// Capabilities adjust the default set (DefaultCapabilities); names with
	// or without "CAP_", case-insensitive; "ALL" is every capability.
	Capabilities Capabilities `json:"capabilities"`
	// Privileged gives every capability and every host device, and masks or
	// write-protects nothing (/sys and /sys/fs/cgroup are read-write).
	Privileged bool `json:"privileged,omitempty"`
	// NoNewPrivileges sets no_new_privs: setuid binaries and file
	// capabilities gain nothing.
	NoNewPrivileges bool `json:"noNewPrivileges,omitempty"`

	// StopSignal is what Stop sends first (default SIGTERM).
	StopSignal syscall.Signal `json:"stopSignal,omitempty"`
}

// User is a numeric identity inside the container. AdditionalGIDs are
// exactly the supplementary groups (the caller adds the primary GID and the
// groups of /etc/group if it wants them, as container engines do).
type User struct {
	UID            uint32   `json:"uid"`
	GID            uint32   `json:"gid"`
	AdditionalGIDs []uint32 `json:"additionalGIDs,omitempty"`
}

// Mount is one mount inside the container.
type Mount struct {
	// Source is a host path for "bind", else the file system's source
	// (defaults to Type).
	Source      string `json:"source,omitempty"`
	Destination string `json:"destination"`
	// Type is "bind" (recursive unless Options has "bind"), "tmpfs", ...
	Type string `json:"type"`
	// Options are mount(8) options ("nosuid", "size=64m", ...).
	Options  []string `json:"options,omitempty"`
	ReadOnly bool     `json:"readOnly,omitempty"`
	// Propagation is "", "private", "rprivate", "slave", "rslave", "shared"
	// or "rshared".
	Propagation string `json:"propagation,omitempty"`
}

// Resources are cgroup limits; zero means unlimited (or the kernel default).
type Resources struct {
	// CPUQuota and CPUPeriod are in microseconds (CFS bandwidth); the
	// period defaults to 100 ms when only the quota is set.
	CPUQuota  int64  `json:"cpuQuota,omitempty"`
	CPUPeriod int64  `json:"cpuPeriod,omitempty"`
	CPUShares uint64 `json:"cpuShares,omitempty"`
	// MemoryLimit is in bytes; exceeding it gets the container OOM-killed.
	MemoryLimit int64 `json:"memoryLimit,omitempty"`
	PidsLimit   int64 `json:"pidsLimit,omitempty"`
}

// Capabilities are added to and dropped from the default set (drops first,
// so Drop ["ALL"] with Add ["NET_BIND_SERVICE"] leaves just that one).
type Capabilities struct {
	Add  []string `json:"add,omitempty"`
	Drop []string `json:"drop,omitempty"`
}

// DefaultPath is the PATH a container gets when its Env has none (as Docker
// and containerd do).
const DefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// maxNofile is the open-files limit containers get, lowered to the hard
// limit of the agent (raising it would fail without CAP_SYS_RESOURCE).
const maxNofile = 1 << 20

// Docker's masked and read-only paths for unprivileged containers.
var (
	maskedPaths = []string{
		"/proc/asound", "/proc/acpi", "/proc/interrupts", "/proc/kcore",
		"/proc/keys", "/proc/latency_stats", "/proc/timer_list",
		"/proc/timer_stats", "/proc/sched_debug", "/proc/scsi",
		"/sys/firmware", "/sys/devices/virtual/powercap",
	}
	readonlyPaths = []string{
		"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
	}
)

// validate checks what can be checked without touching the machine.
func (s *ContainerSpec) validate() error {
	if err := validateID(s.ID); err != nil {
		return err
	}
	if len(s.Args) == 0 || s.Args[0] == "" {
		return fmt.Errorf("container %s: %w: empty command", s.ID, ErrInvalidSpec)
	}
	if len(s.Layers) == 0 && s.Rootfs == "" {
		return fmt.Errorf("container %s: %w: neither layers nor rootfs", s.ID, ErrInvalidSpec)
	}
	for _, l := range s.Layers {
		if !filepath.IsAbs(l) || strings.ContainsAny(l, ":,") {
			return fmt.Errorf("container %s: %w: layer %q must be an absolute path without ':' or ','", s.ID, ErrInvalidSpec, l)
		}
	}
	if s.WorkingDir != "" && !path.IsAbs(s.WorkingDir) {
		return fmt.Errorf("container %s: %w: working dir %q is not absolute", s.ID, ErrInvalidSpec, s.WorkingDir)
	}
	if s.NetNS != "" && s.HostNetwork {
		return fmt.Errorf("container %s: %w: both NetNS and HostNetwork", s.ID, ErrInvalidSpec)
	}
	if s.IPCNS != "" && s.HostIPC {
		return fmt.Errorf("container %s: %w: both IPCNS and HostIPC", s.ID, ErrInvalidSpec)
	}
	for i, m := range s.Mounts {
		d := path.Clean(m.Destination)
		if !path.IsAbs(m.Destination) {
			return fmt.Errorf("container %s: %w: mount %d: destination %q is not absolute", s.ID, ErrInvalidSpec, i, m.Destination)
		}
		if d == "/.shoal" || strings.HasPrefix(d, "/.shoal/") {
			return fmt.Errorf("container %s: %w: mount %d: %s is reserved for the runtime", s.ID, ErrInvalidSpec, i, d)
		}
		if m.Type == "" {
			return fmt.Errorf("container %s: %w: mount %d (%s): no type", s.ID, ErrInvalidSpec, i, d)
		}
		if m.Type == "bind" && !filepath.IsAbs(m.Source) {
			return fmt.Errorf("container %s: %w: mount %d (%s): bind source %q is not absolute", s.ID, ErrInvalidSpec, i, d, m.Source)
		}
		if _, ok := propagations[m.Propagation]; !ok {
			return fmt.Errorf("container %s: %w: mount %d (%s): unknown propagation %q", s.ID, ErrInvalidSpec, i, d, m.Propagation)
		}
	}
	if _, err := capabilitySet(s); err != nil {
		return fmt.Errorf("container %s: %w: %v", s.ID, ErrInvalidSpec, err)
	}
	return nil
}

func validateID(id string) error {
	if id == "" || id == "." || id == ".." || len(id) > 200 {
		return fmt.Errorf("%w: container id %q", ErrInvalidSpec, id)
	}
	for _, c := range id {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return fmt.Errorf("%w: container id %q: only [a-z0-9-_.] allowed", ErrInvalidSpec, id)
		}
	}
	return nil
}

var propagations = map[string]string{
	"": "", "private": "private", "rprivate": "rprivate", "slave": "slave",
	"rslave": "rslave", "shared": "shared", "rshared": "rshared",
}

// env returns the spec's environment with PATH defaulted.
func (s *ContainerSpec) env() []string {
	for _, e := range s.Env {
		if strings.HasPrefix(e, "PATH=") {
			return slices.Clone(s.Env)
		}
	}
	return append(slices.Clone(s.Env), "PATH="+DefaultPath)
}

func (s *ContainerSpec) workingDir() string {
	if s.WorkingDir == "" {
		return "/"
	}
	return s.WorkingDir
}

// libcontainerConfig turns a spec into libcontainer's configuration.
// rootfs is the directory to use as root (the overlay mount point or
// Spec.Rootfs), runDir the host directory mounted at pid1.RunDir.
func (r *Runtime) libcontainerConfig(s *ContainerSpec, rootfs, runDir string) (*configs.Config, error) {
	caps, err := capabilitySet(s)
	if err != nil {
		return nil, err
	}
	oci := specconv.Example()
	oci.Root = &specs.Root{Path: rootfs, Readonly: s.ReadonlyRootfs}
	oci.Process = &specs.Process{
		User:            specs.User{UID: s.User.UID, GID: s.User.GID, AdditionalGids: s.User.AdditionalGIDs},
		Args:            []string{pid1.InitPath},
		Env:             s.env(),
		Cwd:             s.workingDir(),
		NoNewPrivileges: s.NoNewPrivileges,
		Capabilities: &specs.LinuxCapabilities{
			Bounding:  caps,
			Effective: caps,
			Permitted: caps,
		},
	}

	oci.Mounts = r.mounts(s, runDir)

	lx := oci.Linux
	lx.CgroupsPath = path.Join(r.cfg.CgroupParent, s.ID)
	lx.Namespaces = []specs.LinuxNamespace{{Type: specs.MountNamespace}}
	if !s.HostPID {
		lx.Namespaces = append(lx.Namespaces, specs.LinuxNamespace{Type: specs.PIDNamespace})
	}
	if !s.HostNetwork {
		lx.Namespaces = append(lx.Namespaces, specs.LinuxNamespace{Type: specs.NetworkNamespace, Path: s.NetNS})
	}
	if !s.HostIPC {
		lx.Namespaces = append(lx.Namespaces, specs.LinuxNamespace{Type: specs.IPCNamespace, Path: s.IPCNS})
	}
	lx.Namespaces = append(lx.Namespaces, specs.LinuxNamespace{Type: specs.UTSNamespace, Path: s.UTSNS})
	oci.Hostname = ""
	if s.UTSNS == "" {
		oci.Hostname = s.Hostname
	}

	res := &specs.LinuxResources{Devices: []specs.LinuxDeviceCgroup{{Allow: s.Privileged, Access: "rwm"}}}
	if v := s.Resources.MemoryLimit; v > 0 {
		res.Memory = &specs.LinuxMemory{Limit: &v}
	}
	if s.Resources.CPUShares > 0 || s.Resources.CPUQuota > 0 || s.Resources.CPUPeriod > 0 {
		res.CPU = &specs.LinuxCPU{}
		if v := s.Resources.CPUShares; v > 0 {
			res.CPU.Shares = &v
		}
		if v := s.Resources.CPUQuota; v > 0 {
			res.CPU.Quota = &v
			period := uint64(100_000)
			res.CPU.Period = &period
		}
		if v := s.Resources.CPUPeriod; v > 0 {
			period := uint64(v)
			res.CPU.Period = &period
		}
	}
	if v := s.Resources.PidsLimit; v > 0 {
		res.Pids = &specs.LinuxPids{Limit: &v}
	}
	lx.Resources = res
	if s.Privileged {
		lx.MaskedPaths, lx.ReadonlyPaths = nil, nil
	} else {
		lx.MaskedPaths, lx.ReadonlyPaths = slices.Clone(maskedPaths), slices.Clone(readonlyPaths)
	}

	cfg, err := specconv.CreateLibcontainerConfig(&specconv.CreateOpts{
		CgroupName: s.ID,
		Spec:       oci,
	})
	if err != nil {
		return nil, fmt.Errorf("container %s: %w", s.ID, err)
	}
	cfg.Labels = nil // drop "bundle=<agent's cwd>": there is no bundle
	cfg.Rlimits = []configs.Rlimit{{Type: unix.RLIMIT_NOFILE, Hard: r.nofile, Soft: r.nofile}}
	if s.Privileged {
		hostDevs, err := devices.HostDevices()
		if err != nil {
			return nil, fmt.Errorf("container %s: host devices: %w", s.ID, err)
		}
		have := map[string]bool{}
		for _, d := range cfg.Devices {
			have[d.Path] = true
		}
		for _, d := range hostDevs {
			if !have[d.Path] {
				cfg.Devices = append(cfg.Devices, d)
			}
		}
	}
	return cfg, nil
}

// mounts are the runtime's default mounts (runc's default spec), then the
// init and its run directory, then the caller's.
func (r *Runtime) mounts(s *ContainerSpec, runDir string) []specs.Mount {
	overridden := map[string]bool{}
	for _, m := range s.Mounts {
		overridden[path.Clean(m.Destination)] = true
	}
	var out []specs.Mount
	for _, m := range specconv.Example().Mounts {
		if overridden[m.Destination] {
			continue
		}
		if s.Privileged && (m.Destination == "/sys" || m.Destination == "/sys/fs/cgroup") {
			m.Options = slices.DeleteFunc(slices.Clone(m.Options), func(o string) bool { return o == "ro" })
		}
		out = append(out, m)
	}
	out = append(out,
		specs.Mount{Destination: pid1.InitPath, Type: "bind", Source: r.cfg.InitBinary, Options: []string{"bind", "ro", "nosuid", "nodev"}},
		specs.Mount{Destination: pid1.RunDir, Type: "bind", Source: runDir, Options: []string{"bind", "rw", "nosuid", "nodev", "noexec"}},
	)
	for _, m := range s.Mounts {
		out = append(out, ociMount(m))
	}
	return out
}

func ociMount(m Mount) specs.Mount {
	opts := slices.Clone(m.Options)
	src := m.Source
	if m.Type == "bind" {
		if !slices.Contains(opts, "bind") && !slices.Contains(opts, "rbind") {
			opts = append(opts, "rbind")
		}
	} else if src == "" {
		src = m.Type
	}
	if m.ReadOnly && !slices.Contains(opts, "ro") {
		opts = append(opts, "ro")
	}
	if p := propagations[m.Propagation]; p != "" {
		opts = append(opts, p)
	}
	return specs.Mount{Destination: path.Clean(m.Destination), Type: m.Type, Source: src, Options: opts}
}
