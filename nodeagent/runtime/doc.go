// Package runtime runs a node's containers through libcontainer (runc's Go
// library, cgroupfs manager), one container per pod container.
//
// # Contracts
//
//   - Start creates and runs a container and returns once its command runs;
//     on error it leaves nothing behind. A command missing from the root is
//     found before anything runs (ErrCommandNotFound).
//   - State, List and LogPath never block. Wait blocks until the container
//     has exited (or ctx ends). Stop blocks for at most the grace period plus
//     the kill. Exec blocks until the exec'd process ends.
//   - Remove is idempotent and leaves nothing of the container: no mount, no
//     cgroup folder in any hierarchy, no libcontainer state, no files (but the
//     log with RemoveOptions.KeepLogs).
//   - Containers outlive the Runtime (and the agent process) that started
//     them. A new Runtime on the same Root re-adopts them on first use
//     (State, Wait, Signal, Exec, Stop, Remove, List): it finds them with
//     libcontainer.Load and waits for their end through a pidfd.
//   - The exit status and the logs survive an agent restart, because the
//     container's PID 1 is shoal's own init (package pid1), bind-mounted
//     read-only at /.shoal/init: it runs the command as its child, writes
//     its output to the CRI log and its exit to a status file, in the
//     container's run directory (mounted at /.shoal/run), whether or not an
//     agent is watching. The init runs with the command's identity and
//     privileges and changes neither.
//   - When the runtime sees a container end, it records the final State
//     (exit code, signal, OOM kill from the memory cgroup, reason) once, in
//     exit.json; every later State or Wait, in any process, reads it.
//
// # On disk
//
//	Root/libcontainer/<id>/           libcontainer's state (state.json)
//	Root/containers/<id>/spec.json    the ContainerSpec, created and started times
//	Root/containers/<id>/rootfs/      overlay mount point (when Layers are given)
//	Root/containers/<id>/upper/       overlay upper directory: the container's writes
//	Root/containers/<id>/work/        overlay work directory
//	Root/containers/<id>/shoal/       mounted at /.shoal/run, owned by the container's uid
//	Root/containers/<id>/shoal/log    CRI log, appended by the init (LogPath)
//	Root/containers/<id>/shoal/status the command's exit, written by the init
//	Root/containers/<id>/exit.json    the final State, written by the runtime
//
// Cgroups are at CgroupParent/<id> in every hierarchy. Remove deletes those;
// the CgroupParent folders themselves are shared by the node's containers
// and stay until PruneCgroupParent (node teardown).
//
// # Source files
//
// runtime.go (Config, New, lookup), start.go, lifecycle.go (State, Wait,
// Signal, Stop), exec.go, remove.go, container.go (the handle, re-adoption,
// watching the init), state.go (State, the final record), spec.go
// (ContainerSpec to libcontainer's configuration), caps.go, rootfs.go
// (overlay, command lookup inside the root), cgroups.go (hierarchies, OOM
// kills).
//
// # The agent binary
//
// libcontainer re-executes the agent's own binary as "runc init" to set a
// container up: the binary's main package must call libcontainer.Init()
// when os.Args[1] == "init", and import
// github.com/opencontainers/runc/libcontainer/nsenter and
// github.com/opencontainers/cgroups/devices for their side effects. It
// should also call runtime.LockOSThread() in an init function, keeping the
// main thread to the main goroutine: libcontainer moves a goroutine's thread
// into a new container's mount namespace and leaves it locked so that Go
// ends the thread, but the main thread cannot end, and /proc/self (which
// shows the main thread's namespaces) would describe that container from
// then on. (The runtime itself reads /proc/thread-self.) The container init
// (Config.InitBinary, by default the agent's binary) must be a static
// executable that calls pid1.Main when started as /.shoal/init.
//
// Not done here: container terminals for the main process (Exec has them),
// seccomp (needs a libseccomp build), user namespaces, log rotation.
package runtime
