// Package pid1 is shoal's container init: the process libcontainer starts as
// PID 1 of every container. The user's command is its only direct child.
//
// libcontainer keeps no exit code (only the parent that waits gets it) and a
// container's logs must outlive the agent that started it, so the init does
// what would otherwise need a live agent:
//
//   - it starts the user's command with stdin on /dev/null and stdout/stderr
//     on pipes, and appends every line to <run-dir>/log in the CRI log format
//     ("2026-11-27T10:00:00.123456789Z stdout F text"; lines longer than
//     16 KiB are split into P chunks ending with an F chunk), whether or not
//     an agent is running;
//   - it forwards the catchable signals it receives (SIGTERM, SIGINT, SIGHUP,
//     SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH, ... and the real-time ones) to the
//     command through a pidfd, so a signal never reaches a recycled pid;
//   - it reaps every child, including the orphans of exec sessions that the
//     kernel re-parents to it (it also marks itself a child subreaper, so this
//     holds when the container shares the host PID namespace);
//   - when the command exits, the container ends: as PID 1 of a PID
//     namespace the init kills what is left (what it can; exiting as PID 1
//     makes the kernel kill the rest), drains the pipes (bounded by -drain,
//     since a background process may still hold them open), writes
//     <run-dir>/status atomically (temporary file + rename) as JSON [Status],
//     and exits with the command's code, 128+signal when the command was
//     killed by a signal.
//
// Identity: the init runs with exactly the identity the runtime gives the
// user's process (uid, gid, supplementary groups, capabilities,
// no_new_privs): libcontainer applies them before it execs the init, and the
// init never changes them. It needs no privilege of its own; the runtime makes
// the run directory writable by the user's uid. The consequence is that the
// user's process could write to the run directory too; it can only lie about
// its own exit and logs.
//
// Start-up handshake: with -ready-fd N the init writes one line to fd N and
// closes it: "ok <pid> <started>" once the command is running (pid as seen
// inside the container, start time in Unix nanoseconds) or "err <code> <message>" when it could not be started (code 127
// when not found, 126 when not executable). In the error case it also writes
// the status file and the message to the log, and exits with that code.
//
// The shoal binary calls [Main] when it is started as [InitPath]; the
// command line is
//
//	/.shoal/init [-run-dir DIR] [-ready-fd N] [-drain D] -- command [args...]
package pid1
