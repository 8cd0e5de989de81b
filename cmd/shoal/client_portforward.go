package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/shoal-run/shoal/nodeagent/api"
)

// portForwardOptions are the flags of `shoal port-forward`.
type portForwardOptions struct {
	connectOptions
	addresses []string
}

func newPortForwardCommand() *cobra.Command {
	var o portForwardOptions
	cmd := &cobra.Command{
		Use:   "port-forward POD|pod/NAME|svc/NAME [LOCAL:]REMOTE...",
		Short: "Forward local ports to a pod's ports",
		Long: `Port-forward listens on local ports and forwards each connection to a port
of a pod, as kubectl port-forward does: each accepted connection is one
connection of the node API (--server), which connects to the pod's IP and
port from the pod's own node.

REMOTE is a port number or the name of a container port; LOCAL defaults to
the same number, and an empty LOCAL (":REMOTE") picks a free port. With
svc/NAME, the first ready endpoint pod of the Service is chosen, once, and
REMOTE is a port of the Service (its number or name), forwarded to the
target port it has on that pod.

It listens on localhost (127.0.0.1, and [::1] when the machine has it)
unless --address gives other addresses, prints "Forwarding from ADDRESS ->
PORT" for each, and runs until interrupted (Ctrl-C). A connection that
fails is reported on stderr; the others go on.`,
		Example: `  shoal port-forward web-7d4b9c-x2x9k 8080:80
  shoal port-forward svc/web 8080:http
  shoal port-forward -n shop pod/cart-0 :5432
  shoal port-forward --address 0.0.0.0 svc/web 8080:80`,
		Args: func(cmd *cobra.Command, args []string) error {
			switch len(args) {
			case 0:
				return errors.New("port-forward needs a pod or service and a port: shoal port-forward POD|svc/NAME [LOCAL:]REMOTE...")
			case 1:
				return fmt.Errorf("port-forward needs at least one port: shoal port-forward %s [LOCAL:]REMOTE...", args[0])
			}
			return nil
		},
	}
	o.bindPod(cmd, o.run)
	cmd.Flags().StringSliceVar(&o.addresses, "address", []string{"localhost"}, "addresses to listen on, comma-separated (localhost: 127.0.0.1 and ::1)")
	return cmd
}

// forwardedPort is one port to forward: a local port (0 until one is
// picked) to a port of the pod.
type forwardedPort struct {
	local, remote uint16
}

func (o *portForwardOptions) run(cmd *cobra.Command, target string, specs []string) error {
	ctx := cmd.Context()
	c, err := o.client()
	if err != nil {
		return err
	}
	pod, ports, err := o.resolve(ctx, c, target, specs)
	if err != nil {
		return err
	}
	f := &forwarder{c: c, namespace: o.namespace, pod: pod, out: &lockedWriter{w: cmd.OutOrStdout()}, errOut: &lockedWriter{w: cmd.ErrOrStderr()},
		conns: map[net.Conn]bool{}}
	if err := f.listen(o.addresses, ports); err != nil {
		f.stop()
		return err
	}
	f.serve(ctx)
	return nil
}

// resolve finds the pod a target names (a pod, or a ready endpoint pod of
// a Service) and the ports to forward to it, as kubectl does.
func (o *portForwardOptions) resolve(ctx context.Context, c *api.Client, target string, specs []string) (string, []forwardedPort, error) {
	name, svc := target, (*corev1.Service)(nil)
	if typ, n, ok := strings.Cut(target, "/"); ok {
		switch kindNamed(typ) {
		case podKind:
		case serviceKind:
			var err error
			if svc, err = api.Get(ctx, c, api.Services, o.namespace, n); err != nil {
				return "", nil, err
			}
		default:
			return "", nil, fmt.Errorf("port-forward: %q: forward to a pod (POD or pod/NAME) or a service (svc/NAME)", target)
		}
		name = n
	}
	if svc != nil {
		var err error
		if name, err = endpointPod(ctx, c, svc); err != nil {
			return "", nil, err
		}
	}
	pod, err := c.GetPod(ctx, o.namespace, name)
	if err != nil {
		return "", nil, err
	}
	if pod.Status.Phase != corev1.PodRunning {
		return "", nil, fmt.Errorf("unable to forward port because pod is not running. Current status=%s", pod.Status.Phase)
	}
	var ports []forwardedPort
	for _, spec := range specs {
		p, err := parsePortSpec(spec, pod, svc)
		if err != nil {
			return "", nil, err
		}
		ports = append(ports, p)
	}
	return pod.Name, ports, nil
}

// endpointPod is the first ready endpoint of a Service that is a pod.
func endpointPod(ctx context.Context, c *api.Client, svc *corev1.Service) (string, error) {
	ep, err := api.Get(ctx, c, api.Endpoints, svc.Namespace, svc.Name)
	if err != nil && !errors.Is(err, api.ErrNotFound) {
		return "", err
	}
	if ep != nil {
		for _, ss := range ep.Subsets {
			for _, a := range ss.Addresses {
				if r := a.TargetRef; r != nil && r.Kind == "Pod" && r.Name != "" {
					return r.Name, nil
				}
			}
		}
	}
	return "", fmt.Errorf("service %s/%s has no ready endpoint pod to forward to (shoal get ep %s -n %s shows its endpoints)", svc.Namespace, svc.Name, svc.Name, svc.Namespace)
}

// parsePortSpec reads one [LOCAL:]REMOTE as kubectl does: REMOTE a number
// or a container port's name (with svc: a port of the Service, by number
// or name, turned into its target port on pod); LOCAL the same number as
// given (the Service's port for a Service), "" for any free port.
func parsePortSpec(spec string, pod *corev1.Pod, svc *corev1.Service) (forwardedPort, error) {
	parts := strings.Split(spec, ":")
	if len(parts) > 2 {
		return forwardedPort{}, fmt.Errorf("invalid port format '%s': use [LOCAL:]REMOTE", spec)
	}
	local, remote := parts[0], parts[len(parts)-1]
	given := len(parts) == 2
	if svc != nil {
		n, err := strconv.Atoi(remote)
		if err != nil {
			sp, ok := servicePortNamed(svc, remote)
			if !ok {
				return forwardedPort{}, fmt.Errorf("service '%s' does not have a named port '%s'", svc.Name, remote)
			}
			n = int(sp)
		}
		if !given {
			local = strconv.Itoa(n)
		}
		target, err := targetPortOf(svc, pod, int32(n))
		if err != nil {
			return forwardedPort{}, err
		}
		remote = strconv.Itoa(int(target))
	} else if _, err := strconv.Atoi(remote); err != nil {
		n, ok := containerPortNamed(pod, remote)
		if !ok {
			return forwardedPort{}, fmt.Errorf("pod '%s' does not have a named port '%s'", pod.Name, remote)
		}
		remote = strconv.Itoa(int(n))
		if !given {
			local = remote
		}
	}
	if local == "" {
		local = "0"
	}
	l, err := strconv.ParseUint(local, 10, 16)
	if err != nil {
		return forwardedPort{}, fmt.Errorf("error parsing local port '%s' of '%s': want a number up to 65535", local, spec)
	}
	r, err := strconv.ParseUint(remote, 10, 16)
	if err != nil || r == 0 {
		return forwardedPort{}, fmt.Errorf("error parsing remote port '%s' of '%s': want a number from 1 to 65535, or a port name", remote, spec)
	}
	return forwardedPort{local: uint16(l), remote: uint16(r)}, nil
}

func servicePortNamed(svc *corev1.Service, name string) (int32, bool) {
	for _, p := range svc.Spec.Ports {
		if p.Name == name {
			return p.Port, true
		}
	}
	return 0, false
}

func containerPortNamed(pod *corev1.Pod, name string) (int32, bool) {
	for _, c := range pod.Spec.Containers {
		for _, p := range c.Ports {
			if p.Name == name {
				return p.ContainerPort, true
			}
		}
	}
	return 0, false
}

// targetPortOf is the port of pod that a Service's port forwards to: its
// targetPort, a number or a container port's name (the port itself for a
// headless Service), as kubectl resolves it.
func targetPortOf(svc *corev1.Service, pod *corev1.Pod, port int32) (int32, error) {
	for _, sp := range svc.Spec.Ports {
		if sp.Port != port {
			continue
		}
		switch {
		case svc.Spec.ClusterIP == corev1.ClusterIPNone:
			return port, nil
		case sp.TargetPort.Type == intstr.Int && sp.TargetPort.IntVal == 0:
			return sp.Port, nil
		case sp.TargetPort.Type == intstr.Int:
			return sp.TargetPort.IntVal, nil
		}
		n, ok := containerPortNamed(pod, sp.TargetPort.StrVal)
		if !ok {
			return 0, fmt.Errorf("pod '%s' does not have a named port '%s' (the target port of port %d of service '%s')", pod.Name, sp.TargetPort.StrVal, port, svc.Name)
		}
		return n, nil
	}
	return 0, fmt.Errorf("service %s does not have a service port %d", svc.Name, port)
}

// forwarder accepts connections on its listeners and forwards each to its
// port of the pod through the node API.
type forwarder struct {
	c         *api.Client
	namespace string
	pod       string
	out       io.Writer
	errOut    io.Writer

	listeners []net.Listener
	ports     []forwardedPort // of each listener

	mu    sync.Mutex
	conns map[net.Conn]bool // the accepted connections still open
	wg    sync.WaitGroup
}

// listen opens the listeners of every port on every address, printing
// each. localhost is 127.0.0.1 and ::1: one of them is enough; any other
// address must work. A port picked for one address is used for the others.
func (f *forwarder) listen(addresses []string, ports []forwardedPort) error {
	for _, p := range ports {
		for _, addr := range addresses {
			hosts := []string{addr}
			if addr == "localhost" {
				hosts = []string{"127.0.0.1", "::1"}
			}
			opened := 0
			var errs []error
			for _, h := range hosts {
				ln, err := net.Listen("tcp", net.JoinHostPort(h, strconv.Itoa(int(p.local))))
				if err != nil {
					errs = append(errs, err)
					continue
				}
				if p.local == 0 {
					p.local = uint16(ln.Addr().(*net.TCPAddr).Port)
				}
				opened++
				f.listeners, f.ports = append(f.listeners, ln), append(f.ports, p)
				fmt.Fprintf(f.out, "Forwarding from %s -> %d\n", net.JoinHostPort(h, strconv.Itoa(int(p.local))), p.remote)
			}
			if opened == 0 {
				return fmt.Errorf("unable to listen on port %d of %s: %w", p.local, addr, errors.Join(errs...))
			}
		}
	}
	return nil
}

// serve forwards the connections until ctx ends, then closes the
// listeners and the connections and waits for them.
func (f *forwarder) serve(ctx context.Context) {
	for i, ln := range f.listeners {
		f.wg.Go(func() { f.accept(ctx, ln, f.ports[i]) })
	}
	<-ctx.Done()
	f.stop()
}

// stop closes the listeners and the open connections, and waits for
// their goroutines.
func (f *forwarder) stop() {
	for _, ln := range f.listeners {
		ln.Close()
	}
	f.mu.Lock()
	for c := range f.conns {
		c.Close()
	}
	f.mu.Unlock()
	f.wg.Wait()
}

func (f *forwarder) accept(ctx context.Context, ln net.Listener, p forwardedPort) {
	for {
		conn, err := ln.Accept()
		if err != nil {
			if ctx.Err() == nil && !errors.Is(err, net.ErrClosed) {
				fmt.Fprintf(f.errOut, "Error: accepting connections on %s: %v\n", ln.Addr(), err)
			}
			return
		}
		f.mu.Lock()
		if ctx.Err() != nil {
			f.mu.Unlock()
			conn.Close()
			return
		}
		f.conns[conn] = true
		f.mu.Unlock()
		fmt.Fprintf(f.out, "Handling connection for %d\n", p.local)
		f.wg.Go(func() {
			defer func() {
				f.mu.Lock()
				delete(f.conns, conn)
				f.mu.Unlock()
			}()
			if err := f.forward(ctx, conn, p); err != nil && ctx.Err() == nil {
				fmt.Fprintf(f.errOut, "Error: forwarding %d -> %d of pod %s/%s: %v\n", p.local, p.remote, f.namespace, f.pod, err)
			}
		})
	}
}

// forward carries one accepted connection to the pod's port, closing it
// when done.
func (f *forwarder) forward(ctx context.Context, conn net.Conn, p forwardedPort) error {
	stream, err := f.c.DialPod(ctx, f.namespace, f.pod, int32(p.remote))
	if err != nil {
		conn.Close()
		return err
	}
	_, _, err = api.Splice(conn, stream)
	return err
}

// lockedWriter serializes the writes of the forwarder's goroutines.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
