package pods

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// ProbeTarget is how probes and lifecycle handlers reach one container.
type ProbeTarget struct {
	// Host is the address httpGet and tcpSocket actions connect to when they
	// name no host: the pod IP (or a node address for host-network pods).
	Host string
	// Ports are the container's declared ports, for named ports.
	Ports []corev1.ContainerPort
	// Exec runs a command in the container and returns its exit code.
	Exec func(ctx context.Context, cmd []string) (int, error)
	// Dial opens connections for httpGet and tcpSocket actions; nil means
	// a plain net.Dialer (the agent's own network namespace).
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
}

// dial opens a connection through t.Dial or a plain dialer.
func (t ProbeTarget) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	if t.Dial != nil {
		return t.Dial(ctx, network, addr)
	}
	var d net.Dialer
	return d.DialContext(ctx, network, addr)
}

// probeUserAgent is what the kubelet sends, so that applications that
// special-case probes keep working.
const probeUserAgent = "kube-probe/1.33"

// RunProbe runs one attempt of a probe within its timeout and reports
// whether it succeeded, with a message for events when it did not:
// httpGet succeeds on a status from 200 to 399, tcpSocket on a connection,
// exec on exit code 0.
func RunProbe(ctx context.Context, p *corev1.Probe, t ProbeTarget) (bool, string) {
	timeout := time.Duration(p.TimeoutSeconds) * time.Second
	if timeout <= 0 {
		timeout = time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	switch {
	case p.HTTPGet != nil:
		return httpAction(ctx, p.HTTPGet, t)
	case p.TCPSocket != nil:
		return tcpAction(ctx, p.TCPSocket, t)
	case p.Exec != nil:
		return execAction(ctx, p.Exec.Command, t)
	}
	return false, "probe has no handler"
}

// RunHandler runs a postStart or preStop handler and returns an error
// saying why it failed. A sleep handler waits, unless ctx ends first.
func RunHandler(ctx context.Context, h *corev1.LifecycleHandler, t ProbeTarget) error {
	var ok bool
	var msg string
	switch {
	case h.Exec != nil:
		ok, msg = execAction(ctx, h.Exec.Command, t)
	case h.HTTPGet != nil:
		ok, msg = httpAction(ctx, h.HTTPGet, t)
	case h.Sleep != nil:
		select {
		case <-time.After(time.Duration(h.Sleep.Seconds) * time.Second):
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	default:
		return fmt.Errorf("lifecycle handler has no action")
	}
	if !ok {
		return fmt.Errorf("%s", msg)
	}
	return nil
}

// resolvePort turns a number or a container port name into a port number.
func resolvePort(p intstr.IntOrString, ports []corev1.ContainerPort) (int, error) {
	if p.Type == intstr.Int {
		return p.IntValue(), nil
	}
	if n, err := strconv.Atoi(p.StrVal); err == nil {
		return n, nil
	}
	for _, cp := range ports {
		if cp.Name == p.StrVal {
			return int(cp.ContainerPort), nil
		}
	}
	return 0, fmt.Errorf("no container port named %q", p.StrVal)
}

func httpAction(ctx context.Context, a *corev1.HTTPGetAction, t ProbeTarget) (bool, string) {
	port, err := resolvePort(a.Port, t.Ports)
	if err != nil {
		return false, err.Error()
	}
	host := a.Host
	if host == "" {
		host = t.Host
	}
	scheme := strings.ToLower(string(a.Scheme))
	if scheme == "" {
		scheme = "http"
	}
	path := a.Path
	if !strings.HasPrefix(path, "/") {
		path = "/" + path
	}
	u := &url.URL{Scheme: scheme, Host: net.JoinHostPort(host, strconv.Itoa(port))}
	full := u.String() + path
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, full, nil)
	if err != nil {
		return false, err.Error()
	}
	req.Header.Set("User-Agent", probeUserAgent)
	req.Header.Set("Accept", "*/*")
	for _, h := range a.HTTPHeaders {
		if strings.EqualFold(h.Name, "Host") {
			req.Host = h.Value
			continue
		}
		req.Header.Add(h.Name, h.Value)
	}
	client := &http.Client{
		Transport: &http.Transport{
			TLSClientConfig:   &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // Kubernetes does not verify probe certificates
			DisableKeepAlives: true,
			Proxy:             nil,
			DialContext:       t.dial,
		},
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= 10 || req.URL.Hostname() != u.Hostname() {
				return http.ErrUseLastResponse
			}
			return nil
		},
	}
	resp, err := client.Do(req)
	if err != nil {
		return false, fmt.Sprintf("Get %q: %v", full, unwrapURLError(err))
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 10*1024))
	if resp.StatusCode >= 200 && resp.StatusCode < 400 {
		return true, ""
	}
	return false, fmt.Sprintf("HTTP probe failed with statuscode: %d (%s)", resp.StatusCode, strings.TrimSpace(string(body)))
}

func unwrapURLError(err error) error {
	if ue, ok := err.(*url.Error); ok {
		return ue.Err
	}
	return err
}

func tcpAction(ctx context.Context, a *corev1.TCPSocketAction, t ProbeTarget) (bool, string) {
	port, err := resolvePort(a.Port, t.Ports)
	if err != nil {
		return false, err.Error()
	}
	host := a.Host
	if host == "" {
		host = t.Host
	}
	addr := net.JoinHostPort(host, strconv.Itoa(port))
	conn, err := t.dial(ctx, "tcp", addr)
	if err != nil {
		return false, fmt.Sprintf("dial tcp %s: %v", addr, err)
	}
	conn.Close()
	return true, ""
}

func execAction(ctx context.Context, cmd []string, t ProbeTarget) (bool, string) {
	if t.Exec == nil {
		return false, "exec is not available for this container"
	}
	code, err := t.Exec(ctx, cmd)
	if err != nil {
		if ctx.Err() != nil {
			return false, fmt.Sprintf("command %q timed out", strings.Join(cmd, " "))
		}
		return false, fmt.Sprintf("command %q failed: %v", strings.Join(cmd, " "), err)
	}
	if code != 0 {
		return false, fmt.Sprintf("command %q exited with %d", strings.Join(cmd, " "), code)
	}
	return true, ""
}

// ProbeState counts a probe's consecutive results against its thresholds.
// Its Result starts as the kubelet's initial value: false for readiness and
// startup probes, true for liveness probes.
type ProbeState struct {
	Result              bool
	successes, failures int32
}

// Failures is the number of failed attempts in a row.
func (s *ProbeState) Failures() int32 { return s.failures }

// NewProbeState returns the state of a probe that has not run yet.
func NewProbeState(liveness bool) ProbeState { return ProbeState{Result: liveness} }

// Observe records one attempt and reports whether the result changed:
// it turns true after successThreshold successes in a row and false after
// failureThreshold failures in a row.
func (s *ProbeState) Observe(p *corev1.Probe, ok bool) bool {
	success, failure := p.SuccessThreshold, p.FailureThreshold
	if success < 1 {
		success = 1
	}
	if failure < 1 {
		failure = 3
	}
	prev := s.Result
	if ok {
		s.failures = 0
		s.successes++
		if s.successes >= success {
			s.Result = true
		}
	} else {
		s.successes = 0
		s.failures++
		if s.failures >= failure {
			s.Result = false
		}
	}
	return s.Result != prev
}
