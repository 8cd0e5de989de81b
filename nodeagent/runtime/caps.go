package runtime

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// DefaultCapabilities is the capability set of an unprivileged container:
// Docker's and containerd's default list.
var DefaultCapabilities = []string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD",
	"CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP",
	"CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
}

// capNumbers maps capability names to their numbers.
var capNumbers = map[string]int{
	"CAP_CHOWN": unix.CAP_CHOWN, "CAP_DAC_OVERRIDE": unix.CAP_DAC_OVERRIDE,
	"CAP_DAC_READ_SEARCH": unix.CAP_DAC_READ_SEARCH, "CAP_FOWNER": unix.CAP_FOWNER,
	"CAP_FSETID": unix.CAP_FSETID, "CAP_KILL": unix.CAP_KILL,
	"CAP_SETGID": unix.CAP_SETGID, "CAP_SETUID": unix.CAP_SETUID,
	"CAP_SETPCAP": unix.CAP_SETPCAP, "CAP_LINUX_IMMUTABLE": unix.CAP_LINUX_IMMUTABLE,
	"CAP_NET_BIND_SERVICE": unix.CAP_NET_BIND_SERVICE, "CAP_NET_BROADCAST": unix.CAP_NET_BROADCAST,
	"CAP_NET_ADMIN": unix.CAP_NET_ADMIN, "CAP_NET_RAW": unix.CAP_NET_RAW,
	"CAP_IPC_LOCK": unix.CAP_IPC_LOCK, "CAP_IPC_OWNER": unix.CAP_IPC_OWNER,
	"CAP_SYS_MODULE": unix.CAP_SYS_MODULE, "CAP_SYS_RAWIO": unix.CAP_SYS_RAWIO,
	"CAP_SYS_CHROOT": unix.CAP_SYS_CHROOT, "CAP_SYS_PTRACE": unix.CAP_SYS_PTRACE,
	"CAP_SYS_PACCT": unix.CAP_SYS_PACCT, "CAP_SYS_ADMIN": unix.CAP_SYS_ADMIN,
	"CAP_SYS_BOOT": unix.CAP_SYS_BOOT, "CAP_SYS_NICE": unix.CAP_SYS_NICE,
	"CAP_SYS_RESOURCE": unix.CAP_SYS_RESOURCE, "CAP_SYS_TIME": unix.CAP_SYS_TIME,
	"CAP_SYS_TTY_CONFIG": unix.CAP_SYS_TTY_CONFIG, "CAP_MKNOD": unix.CAP_MKNOD,
	"CAP_LEASE": unix.CAP_LEASE, "CAP_AUDIT_WRITE": unix.CAP_AUDIT_WRITE,
	"CAP_AUDIT_CONTROL": unix.CAP_AUDIT_CONTROL, "CAP_SETFCAP": unix.CAP_SETFCAP,
	"CAP_MAC_OVERRIDE": unix.CAP_MAC_OVERRIDE, "CAP_MAC_ADMIN": unix.CAP_MAC_ADMIN,
	"CAP_SYSLOG": unix.CAP_SYSLOG, "CAP_WAKE_ALARM": unix.CAP_WAKE_ALARM,
	"CAP_BLOCK_SUSPEND": unix.CAP_BLOCK_SUSPEND, "CAP_AUDIT_READ": unix.CAP_AUDIT_READ,
	"CAP_PERFMON": unix.CAP_PERFMON, "CAP_BPF": unix.CAP_BPF,
	"CAP_CHECKPOINT_RESTORE": unix.CAP_CHECKPOINT_RESTORE,
}

// boundingSet is the agent's own capability bounding set, by name: what it
// can give a container ("all capabilities" of a privileged one). Root in a
// restricted sandbox may lack some (e.g. CAP_SYS_RESOURCE).
var boundingSet = sync.OnceValue(func() []string {
	all := make([]string, 0, len(capNumbers))
	for name := range capNumbers {
		all = append(all, name)
	}
	slices.Sort(all)
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return all
	}
	for line := range strings.Lines(string(b)) {
		hex, ok := strings.CutPrefix(line, "CapBnd:")
		if !ok {
			continue
		}
		mask, err := strconv.ParseUint(strings.TrimSpace(hex), 16, 64)
		if err != nil {
			return all
		}
		return slices.DeleteFunc(all, func(name string) bool { return mask&(1<<capNumbers[name]) == 0 })
	}
	return all
})

// capabilitySet is the capability list of the container: the defaults
// (those the agent has), minus Drop, plus Add; every capability the agent
// has when privileged. Adding one the agent lacks is an error.
func capabilitySet(s *ContainerSpec) ([]string, error) {
	have := boundingSet()
	if s.Privileged {
		return slices.Clone(have), nil
	}
	norm := func(name string) (string, error) {
		n := strings.ToUpper(strings.TrimSpace(name))
		if n == "ALL" {
			return n, nil
		}
		if !strings.HasPrefix(n, "CAP_") {
			n = "CAP_" + n
		}
		if _, ok := capNumbers[n]; !ok {
			return "", fmt.Errorf("unknown capability %q", name)
		}
		return n, nil
	}
	set := slices.DeleteFunc(slices.Clone(DefaultCapabilities), func(c string) bool { return !slices.Contains(have, c) })
	for _, d := range s.Capabilities.Drop {
		n, err := norm(d)
		if err != nil {
			return nil, err
		}
		if n == "ALL" {
			set = nil
			continue
		}
		set = slices.DeleteFunc(set, func(c string) bool { return c == n })
	}
	for _, a := range s.Capabilities.Add {
		n, err := norm(a)
		if err != nil {
			return nil, err
		}
		if n == "ALL" {
			set = slices.Clone(have)
			continue
		}
		if !slices.Contains(have, n) {
			return nil, fmt.Errorf("capability %s: the agent itself does not have it", n)
		}
		if !slices.Contains(set, n) {
			set = append(set, n)
		}
	}
	return set, nil
}
