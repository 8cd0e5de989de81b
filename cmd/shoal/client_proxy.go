package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/shoal-run/shoal/nodeagent/api"
)

// proxyOptions are the flags of `shoal proxy`.
type proxyOptions struct {
	connectOptions
	port        int
	address     string
	acceptHosts string
	rejectPaths string
}

// kubectl proxy's defaults: requests for another host name than the
// loopback's (DNS rebinding) and exec and attach are refused.
const (
	defaultAcceptHosts = `^localhost$,^127\.0\.0\.1$,^\[::1\]$`
	defaultRejectPaths = `^/api/.*/pods/.*/exec,^/api/.*/pods/.*/attach`
)

func newProxyCommand() *cobra.Command {
	var o proxyOptions
	cmd := &cobra.Command{
		Use:   "proxy [--port 8001] [--address 127.0.0.1]",
		Short: "Serve the node API on a local port, with your credentials added",
		Long: `Proxy serves the node API (--server) on a local port, as kubectl proxy does:
every request is forwarded to the node with the bearer token (--token or
SHOAL_TOKEN) added, so that curl or a browser need none:

  curl localhost:8001/api/v1/pods

As kubectl proxy, it refuses (403) requests whose Host is not a loopback
name (--accept-hosts, against DNS rebinding) and exec and attach requests
(--reject-paths); both are comma-separated regular expressions. Upgraded
connections (port-forward) pass through. --port 0 picks a free port. It
runs until interrupted (Ctrl-C).`,
		Example: `  shoal proxy
  shoal proxy --port 0
  shoal proxy --address 0.0.0.0 --accept-hosts '.*'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return o.run(cmd) },
	}
	o.bindServer(cmd)
	f := cmd.Flags()
	f.IntVarP(&o.port, "port", "p", 8001, "local port to serve on (0: any free one)")
	f.StringVar(&o.address, "address", "127.0.0.1", "local address to serve on")
	f.StringVar(&o.acceptHosts, "accept-hosts", defaultAcceptHosts, "regular expressions of the host names to accept, comma-separated")
	f.StringVar(&o.rejectPaths, "reject-paths", defaultRejectPaths, "regular expressions of the paths to refuse, comma-separated")
	return cmd
}

func (o *proxyOptions) run(cmd *cobra.Command) error {
	accept, err := regexps("--accept-hosts", o.acceptHosts)
	if err != nil {
		return err
	}
	reject, err := regexps("--reject-paths", o.rejectPaths)
	if err != nil {
		return err
	}
	server, token := o.credentials()
	c, err := api.NewClient(server, api.ClientOptions{})
	if err != nil {
		return err
	}
	target, err := url.Parse(c.Server())
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(o.address, strconv.Itoa(o.port)))
	if err != nil {
		return fmt.Errorf("proxy: cannot listen on %s port %d: %w", o.address, o.port, err)
	}
	fmt.Fprintf(cmd.OutOrStdout(), "Starting to serve on %s\n", ln.Addr())
	srv := &http.Server{Handler: proxyHandler(target, token, accept, reject, cmd.ErrOrStderr()), ReadHeaderTimeout: 10 * time.Second}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case err := <-done:
		return err
	case <-cmd.Context().Done():
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	srv.Shutdown(ctx)
	if err := <-done; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// regexps compiles a comma-separated list of regular expressions.
func regexps(flag, list string) ([]*regexp.Regexp, error) {
	var out []*regexp.Regexp
	for _, s := range strings.Split(list, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		re, err := regexp.Compile(s)
		if err != nil {
			return nil, fmt.Errorf("%s: %q is not a regular expression: %w", flag, s, err)
		}
		out = append(out, re)
	}
	return out, nil
}

func matchesAny(res []*regexp.Regexp, s string) bool {
	for _, re := range res {
		if re.MatchString(s) {
			return true
		}
	}
	return false
}

// proxyHandler forwards requests to the node API at target with token
// (none when empty) as the bearer token, refusing those for a host accept
// does not match and those for a path reject matches. Failures to reach
// the node are reported on errOut and answered 502.
func proxyHandler(target *url.URL, token string, accept, reject []*regexp.Regexp, errOut io.Writer) http.Handler {
	errOut = &lockedWriter{w: errOut} // requests are served concurrently
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.Proxy = nil
	rp := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(target)
			r.Out.Header.Del("Authorization")
			if token != "" {
				r.Out.Header.Set("Authorization", "Bearer "+token)
			}
		},
		Transport: transport,
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			fmt.Fprintf(errOut, "Error: proxying %s %s to %s: %v\n", r.Method, r.URL.Path, target, err)
			http.Error(w, fmt.Sprintf("shoal proxy: cannot reach the node API at %s: %v", target, err), http.StatusBadGateway)
		},
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host := r.Host
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
			if strings.Contains(h, ":") {
				host = "[" + h + "]"
			}
		}
		if !matchesAny(accept, host) || matchesAny(reject, r.URL.Path) {
			http.Error(w, "Forbidden", http.StatusForbidden)
			return
		}
		rp.ServeHTTP(w, r)
	})
}
