package pods

import (
	"context"
	"fmt"
	"net"
	goruntime "runtime"

	"golang.org/x/sys/unix"
)

// netnsDialer returns a dialer whose sockets are made in the network
// namespace at path: the dialing goroutine's thread enters the namespace,
// dials, and comes back. A socket stays in the namespace it was made in, so
// the connection is usable from any goroutine afterwards.
func netnsDialer(path string) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		type result struct {
			conn net.Conn
			err  error
		}
		ch := make(chan result, 1)
		go func() {
			goruntime.LockOSThread()
			orig, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
			if err != nil {
				goruntime.UnlockOSThread()
				ch <- result{err: fmt.Errorf("open own network namespace: %w", err)}
				return
			}
			defer unix.Close(orig)
			target, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
			if err != nil {
				goruntime.UnlockOSThread()
				ch <- result{err: fmt.Errorf("open network namespace %s: %w", path, err)}
				return
			}
			defer unix.Close(target)
			if err := unix.Setns(target, unix.CLONE_NEWNET); err != nil {
				goruntime.UnlockOSThread()
				ch <- result{err: fmt.Errorf("enter network namespace %s: %w", path, err)}
				return
			}
			var d net.Dialer
			conn, err := d.DialContext(ctx, network, addr)
			if unix.Setns(orig, unix.CLONE_NEWNET) == nil {
				// Back home: the thread may serve other goroutines again.
				goruntime.UnlockOSThread()
			}
			// Otherwise the thread stays locked and dies with this goroutine.
			ch <- result{conn, err}
		}()
		r := <-ch
		return r.conn, r.err
	}
}
