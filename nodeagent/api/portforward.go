package api

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"
)

// PortForwardProtocol names the port-forward protocol in the Upgrade
// header.
//
// # The port-forward protocol, version 1
//
// The client sends
//
//	POST /api/v1/namespaces/{ns}/pods/{name}/portforward?port=N
//	Connection: Upgrade
//	Upgrade: shoal-portforward/1
//
// The node connects to port N of the pod, from the node the pod runs on.
// An error (no such pod, nothing listening on the port, a bad query, no
// token) is an ordinary JSON Error answer. Otherwise the node answers
// "101 Switching Protocols" with the same Upgrade header, and from then on
// the connection carries that TCP connection's bytes both ways, as they
// are: one API connection per forwarded connection. When one side's data
// ends, the node half-closes the other side's writing; it closes both when
// both directions have ended, or when one breaks.
const PortForwardProtocol = "shoal-portforward/1"

// PortForwarder is what a node adds to its PodService to forward
// connections to pods' ports, when it implements it.
type PortForwarder interface {
	// DialPod connects to a port of a pod. ctx bounds the connecting
	// only: the connection outlives it, until closed. Errors wrap
	// ErrNotFound for a pod that does not exist.
	DialPod(ctx context.Context, namespace, name string, port int32) (io.ReadWriteCloser, error)
}

// podDialTimeout bounds connecting to a pod's port for a port-forward
// request.
const podDialTimeout = 10 * time.Second

// errNoPortForward answers a port-forward request to a node that does not
// forward ports.
var errNoPortForward = &Error{Message: "this node does not forward ports", Reason: ReasonNotFound, Code: http.StatusNotFound}

// portForward serves the port-forward protocol (see PortForwardProtocol):
// it connects to the pod's port before switching protocols, so that a
// failure is an ordinary error answer, then splices the two connections.
func (s *server) portForward(w http.ResponseWriter, r *http.Request) {
	q := query{r: r}
	port := q.int("port", 0, 1)
	switch {
	case q.err != nil:
		s.writeError(w, r, q.err)
		return
	case port == 0 || port > 65535:
		s.writeError(w, r, badRequest("portforward needs the pod's port: port=N in the query, 1 to 65535"))
		return
	}
	if e := upgradeError(r, "portforward", PortForwardProtocol); e != nil {
		s.writeError(w, r, e)
		return
	}
	pf, ok := s.svc.(PortForwarder)
	if !ok {
		s.writeError(w, r, errNoPortForward)
		return
	}
	ns, name := r.PathValue("ns"), r.PathValue("name")
	ctx, cancel := context.WithTimeout(r.Context(), podDialTimeout)
	pod, err := pf.DialPod(ctx, ns, name, int32(port))
	cancel()
	if err != nil {
		s.writeError(w, r, errorFor(err))
		return
	}
	defer pod.Close()
	conn, br, ok := s.switchProtocols(w, r, "portforward", PortForwardProtocol)
	if !ok {
		return
	}
	var client io.ReadWriteCloser = conn
	if br.Buffered() > 0 {
		client = bufferedConn{r: br, Conn: conn}
	}
	log := s.log.With("namespace", ns, "pod", name, "port", port)
	log.Debug("port forward start")
	sent, received, err := Splice(client, pod)
	log.Debug("port forward end", "sent", sent, "received", received, "err", err)
}

// bufferedConn is a hijacked connection whose first bytes are in a
// buffer.
type bufferedConn struct {
	r *bufio.Reader
	net.Conn
}

func (c bufferedConn) Read(p []byte) (int, error) { return c.r.Read(p) }

func (c bufferedConn) CloseWrite() error { return closeWrite(c.Conn) }

// closeWrite half-closes c's writing when it can, else closes it.
func closeWrite(c io.Closer) error {
	if cw, ok := c.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return c.Close()
}

// DialPod connects to a port of a pod through the node's API (see
// PortForwardProtocol) and returns the connection, which carries the
// bytes of a TCP connection to that port; it has a CloseWrite method that
// half-closes it. ctx bounds the connecting only. An error the node
// reports (no such pod, nothing listening) is an *Error.
func (c *Client) DialPod(ctx context.Context, namespace, name string, port int32) (io.ReadWriteCloser, error) {
	q := url.Values{"port": {strconv.Itoa(int(port))}}
	return c.upgrade(ctx, podPath(namespace, name)+"/portforward", q, "portforward", PortForwardProtocol)
}

// Splice copies a to b and b to a until both directions have ended, then
// closes both, and returns how many bytes went each way and the first
// error met. When one side's data ends, the other side's writing is
// half-closed (CloseWrite, when it has one), so that a protocol that
// half-closes works through it; an error either way, or a side that
// cannot half-close, ends both directions.
func Splice(a, b io.ReadWriteCloser) (aToB, bToA int64, err error) {
	var mu sync.Mutex
	var first error
	half := func(dst, src io.ReadWriteCloser, n *int64) {
		var err error
		*n, err = io.Copy(dst, src)
		if err == nil {
			if cw, ok := dst.(interface{ CloseWrite() error }); ok {
				if err = cw.CloseWrite(); err == nil {
					return
				}
			}
		}
		if err != nil {
			mu.Lock()
			if first == nil {
				first = err
			}
			mu.Unlock()
		}
		a.Close()
		b.Close()
	}
	var wg sync.WaitGroup
	wg.Go(func() { half(b, a, &aToB) })
	wg.Go(func() { half(a, b, &bToA) })
	wg.Wait()
	a.Close()
	b.Close()
	return aToB, bToA, first
}
