package ingress

import (
	"cmp"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/shoal-run/shoal/reconciler/services"
	networkingv1 "k8s.io/api/networking/v1"
)

// The ingress-nginx annotations honoured (see the package doc).
const (
	AnnotationAffinity         = "nginx.ingress.kubernetes.io/affinity"
	AnnotationCookieName       = "nginx.ingress.kubernetes.io/session-cookie-name"
	AnnotationCookieMaxAge     = "nginx.ingress.kubernetes.io/session-cookie-max-age"
	AnnotationSSLRedirect      = "nginx.ingress.kubernetes.io/ssl-redirect"
	AnnotationForceSSLRedirect = "nginx.ingress.kubernetes.io/force-ssl-redirect"
	// AnnotationIngressClass is the class annotation older than
	// spec.ingressClassName.
	AnnotationIngressClass = "kubernetes.io/ingress.class"
	// DefaultCookieName names the affinity cookie when the Ingress does
	// not.
	DefaultCookieName = "INGRESSCOOKIE"
)

// routes is one table's routing, built whole by Update and never changed
// after: requests read it without locks.
type routes struct {
	hosts     map[string]*hostRules // by exact host
	wildcards map[string]*hostRules // "*.example.com" under "example.com"
	anyHost   *hostRules            // rules without a host; nil when none
	fallback  *route                // the cluster's default backend; nil when none
	certs     map[string]*tls.Certificate
	pools     map[string]*pool // by poolKey, to keep round robin across Updates
}

// hostRules are the merged paths of one host.
type hostRules struct {
	exact  map[string]*route
	prefix map[string]*route // by path without trailing slash ("/" for the root)
	// fallback is the default backend of the first Ingress with rules
	// for this host that has one.
	fallback *route
}

// route is where a matched request goes.
type route struct {
	ingress *ingressInfo
	pool    *pool
	// cookiePath is the affinity cookie's Path: the rule's path.
	cookiePath string
}

// ingressInfo is what requests need of an Ingress.
type ingressInfo struct {
	namespace, name string
	affinity        bool
	cookieName      string
	cookieMaxAge    int
	sslRedirect     bool
}

func (i *ingressInfo) key() string { return i.namespace + "/" + i.name }

// pool is one backend (a Service port) and its ready endpoints.
type pool struct {
	service  string // "namespace/name", for logs and metrics
	targets  []target
	byCookie map[string]int // affinity cookie value → index in targets
	counter  *atomic.Uint64 // round robin, shared with the same backend of earlier tables
}

// target is one endpoint.
type target struct {
	host   string // "ip:port"
	cookie string // the affinity cookie's value
}

// next returns the index of the next endpoint in round robin.
func (p *pool) next() int {
	return int((p.counter.Add(1) - 1) % uint64(len(p.targets)))
}

// match returns the route of a request for host (normalised by
// requestHost) and path (cleaned by cleanPath), nil when nothing matches
// and there is no default backend.
func (rt *routes) match(host, p string) *route {
	if hr := rt.hostRules(host); hr != nil {
		if r := hr.match(p); r != nil {
			return r
		}
		if hr.fallback != nil {
			return hr.fallback
		}
	}
	return rt.fallback
}

// hostRules picks the exact host's rules, else the wildcard's, else the
// rules without a host.
func (rt *routes) hostRules(host string) *hostRules {
	if hr := rt.hosts[host]; hr != nil {
		return hr
	}
	if i := strings.IndexByte(host, '.'); i > 0 {
		if hr := rt.wildcards[host[i+1:]]; hr != nil {
			return hr
		}
	}
	return rt.anyHost
}

// match returns the longest matching path's route, Exact first at equal
// length: an Exact match is as long as the request path, and a Prefix
// match as long only when it is that very path.
func (hr *hostRules) match(p string) *route {
	if r := hr.exact[p]; r != nil {
		return r
	}
	if len(hr.prefix) == 0 {
		return nil
	}
	// Walk the path's ancestors, longest first: /a/b/ → /a/b → /a → /.
	for {
		p = strings.TrimRight(p, "/")
		if p == "" {
			return hr.prefix["/"]
		}
		if r := hr.prefix[p]; r != nil {
			return r
		}
		p = p[:strings.LastIndexByte(p, '/')]
	}
}

// requestHost normalises a Host header: port and trailing dot removed,
// lower case, IPv6 brackets removed.
func requestHost(h string) string {
	if host, _, err := net.SplitHostPort(h); err == nil {
		h = host
	} else if strings.HasPrefix(h, "[") && strings.HasSuffix(h, "]") {
		h = h[1 : len(h)-1]
	}
	return strings.ToLower(strings.TrimSuffix(h, "."))
}

// cleanPath resolves ".", ".." and "//" in a request path, keeping a
// trailing slash, as http.ServeMux does.
func cleanPath(p string) string {
	if p == "" || p == "/" {
		return "/"
	}
	if p[0] != '/' {
		p = "/" + p
	}
	np := path.Clean(p)
	if p[len(p)-1] == '/' && np != "/" {
		np += "/"
	}
	return np
}

// prefixKey is a Prefix path as hostRules.prefix keys it.
func prefixKey(p string) string {
	if p = strings.TrimRight(p, "/"); p == "" {
		return "/"
	}
	return p
}

// build makes the routing of table t. old is the routing it replaces, for
// round robin counters. problems are what Update reports: conflicts and
// unusable certificates; the routing is usable all the same.
func build(t *services.Table, className string, old *routes) (rt *routes, problems []string) {
	rt = &routes{
		hosts:     map[string]*hostRules{},
		wildcards: map[string]*hostRules{},
		certs:     map[string]*tls.Certificate{},
		pools:     map[string]*pool{},
	}
	if t == nil {
		return rt, nil
	}
	var ings []*services.Ingress
	for i := range t.Ingresses {
		if serves(&t.Ingresses[i], className) {
			ings = append(ings, &t.Ingresses[i])
		}
	}
	slices.SortStableFunc(ings, func(a, b *services.Ingress) int {
		return cmp.Or(cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Name, b.Name))
	})

	// owner says which Ingress a path of a host came from, for conflicts.
	owner := map[string]string{}
	var ruleless, anyDefault *route
	for _, ing := range ings {
		info := newIngressInfo(ing)
		newRoute := func(b *services.Backend, p string) *route {
			return &route{ingress: info, pool: rt.pool(ing.Namespace, b, old), cookiePath: p}
		}
		var def *route
		if ing.DefaultBackend != nil {
			def = newRoute(ing.DefaultBackend, "/")
			if anyDefault == nil {
				anyDefault = def
			}
			if ruleless == nil && len(ing.Rules) == 0 {
				ruleless = def
			}
		}
		for _, rule := range ing.Rules {
			hr := rt.rulesFor(strings.ToLower(rule.Host))
			if hr.fallback == nil {
				hr.fallback = def
			}
			for _, p := range rule.Paths {
				paths, key, kind := hr.prefix, prefixKey(p.Path), "Prefix"
				if p.PathType == networkingv1.PathTypeExact {
					paths, key, kind = hr.exact, p.Path, "Exact"
				}
				if _, taken := paths[key]; taken {
					if first := owner[rule.Host+" "+kind+" "+key]; first != info.key() {
						problems = append(problems, fmt.Sprintf("Ingress %s: host %q path %q (%s) is already routed by Ingress %s, which wins",
							info.key(), rule.Host, p.Path, kind, first))
					}
					continue // within one Ingress, the first of the same path wins silently
				}
				owner[rule.Host+" "+kind+" "+key] = info.key()
				paths[key] = newRoute(&p.Backend, key)
			}
		}
	}
	rt.fallback = cmp.Or(ruleless, anyDefault)
	problems = append(problems, rt.addCerts(ings)...)
	return rt, problems
}

// serves reports whether an Ingress is of the class served.
func serves(ing *services.Ingress, className string) bool {
	if ing.ClassName != "" {
		return ing.ClassName == className
	}
	c := ing.Annotations[AnnotationIngressClass]
	return c == "" || c == className
}

func newIngressInfo(ing *services.Ingress) *ingressInfo {
	a := ing.Annotations
	info := &ingressInfo{
		namespace:   ing.Namespace,
		name:        ing.Name,
		affinity:    a[AnnotationAffinity] == "cookie",
		cookieName:  cmp.Or(a[AnnotationCookieName], DefaultCookieName),
		sslRedirect: a[AnnotationSSLRedirect] == "true" || a[AnnotationForceSSLRedirect] == "true",
	}
	if n, err := strconv.Atoi(a[AnnotationCookieMaxAge]); err == nil && n > 0 {
		info.cookieMaxAge = n
	}
	return info
}

// rulesFor returns the rules of a host as written in a rule, made empty
// the first time.
func (rt *routes) rulesFor(host string) *hostRules {
	newRules := func() *hostRules {
		return &hostRules{exact: map[string]*route{}, prefix: map[string]*route{}}
	}
	var m map[string]*hostRules
	switch {
	case host == "":
		if rt.anyHost == nil {
			rt.anyHost = newRules()
		}
		return rt.anyHost
	case strings.HasPrefix(host, "*."):
		m, host = rt.wildcards, host[2:]
	default:
		m = rt.hosts
	}
	if m[host] == nil {
		m[host] = newRules()
	}
	return m[host]
}

// pool returns the pool of a backend, one per Service port of a namespace
// (the table resolves a Service port to the same targets everywhere, so
// the first reference's targets are the pool's).
func (rt *routes) pool(namespace string, b *services.Backend, old *routes) *pool {
	key := namespace + "/" + b.Service + ":" + b.PortName + ":" + strconv.Itoa(int(b.PortNumber))
	if p := rt.pools[key]; p != nil {
		return p
	}
	p := &pool{service: namespace + "/" + b.Service, byCookie: map[string]int{}}
	if prev := old.pools[key]; prev != nil {
		p.counter = prev.counter
	} else {
		p.counter = new(atomic.Uint64)
		p.counter.Store(rand.Uint64()) // nodes start their round robin apart
	}
	for i, a := range b.Targets {
		t := target{host: a.String(), cookie: affinityCookie(a)}
		p.targets = append(p.targets, t)
		p.byCookie[t.cookie] = i
	}
	rt.pools[key] = p
	return p
}

// affinityCookie is the affinity cookie's value for an endpoint: a hash
// of its address, so the cookie does not show pod addresses.
func affinityCookie(a netip.AddrPort) string {
	sum := sha256.Sum256([]byte(a.String()))
	return hex.EncodeToString(sum[:8])
}

// addCerts parses the served Ingresses' certificates into rt.certs.
func (rt *routes) addCerts(ings []*services.Ingress) (problems []string) {
	for _, ing := range ings {
		for _, t := range ing.TLS {
			where := fmt.Sprintf("Ingress %s/%s: TLS Secret %q", ing.Namespace, ing.Name, t.SecretName)
			if len(t.Cert) == 0 || len(t.Key) == 0 {
				problems = append(problems, where+" has no certificate and key (tls.crt, tls.key); its hosts get the default certificate")
				continue
			}
			cert, err := tls.X509KeyPair(t.Cert, t.Key)
			if err == nil && cert.Leaf == nil {
				err = errors.New("no certificate")
			}
			if err != nil {
				problems = append(problems, fmt.Sprintf("%s: %v; its hosts get the default certificate", where, err))
				continue
			}
			hosts := t.Hosts
			if len(hosts) == 0 { // the rule hosts the certificate is valid for
				for _, r := range ing.Rules {
					if validFor(cert.Leaf, r.Host) {
						hosts = append(hosts, r.Host)
					}
				}
			}
			for _, h := range hosts {
				if h = strings.ToLower(h); rt.certs[h] == nil {
					rt.certs[h] = &cert
				}
			}
		}
	}
	return problems
}

// validFor reports whether a certificate is valid for a rule host: a
// wildcard host needs the same wildcard among the certificate's names.
func validFor(leaf *x509.Certificate, host string) bool {
	switch {
	case host == "":
		return false
	case strings.HasPrefix(host, "*."):
		return slices.ContainsFunc(leaf.DNSNames, func(n string) bool { return strings.EqualFold(n, host) })
	default:
		return leaf.VerifyHostname(host) == nil
	}
}

// certificate returns the certificate for an SNI name: exact, then
// wildcard; nil when none.
func (rt *routes) certificate(name string) *tls.Certificate {
	name = strings.ToLower(strings.TrimSuffix(name, "."))
	if c := rt.certs[name]; c != nil {
		return c
	}
	if i := strings.IndexByte(name, '.'); i > 0 {
		return rt.certs["*"+name[i:]]
	}
	return nil
}
