package ingress

import (
	"net/http"
	"strings"
	"testing"

	"github.com/shoal-run/shoal/reconciler/services"
	networkingv1 "k8s.io/api/networking/v1"
)

// pathSpec is a path rule of a test: type and path; its backend is named
// "<Type> <path>".
type pathSpec struct {
	typ  networkingv1.PathType
	path string
}

const (
	Exact  = networkingv1.PathTypeExact
	Prefix = networkingv1.PathTypePrefix
	Impl   = networkingv1.PathTypeImplementationSpecific
)

// TestPathMatching runs the Kubernetes documentation's "Examples" table of
// path matching (concepts/services-networking/ingress), and more, through
// the proxy: the body says which path's backend answered; "" is a 404.
func TestPathMatching(t *testing.T) {
	cases := []struct {
		paths []pathSpec
		req   string
		want  string
	}{
		// The documentation's table, row by row.
		{[]pathSpec{{Prefix, "/"}}, "/", "Prefix /"},
		{[]pathSpec{{Prefix, "/"}}, "/any/path/at/all", "Prefix /"},
		{[]pathSpec{{Exact, "/foo"}}, "/foo", "Exact /foo"},
		{[]pathSpec{{Exact, "/foo"}}, "/bar", ""},
		{[]pathSpec{{Exact, "/foo"}}, "/foo/", ""},
		{[]pathSpec{{Exact, "/foo/"}}, "/foo", ""},
		{[]pathSpec{{Prefix, "/foo"}}, "/foo", "Prefix /foo"},
		{[]pathSpec{{Prefix, "/foo"}}, "/foo/", "Prefix /foo"},
		{[]pathSpec{{Prefix, "/foo/"}}, "/foo", "Prefix /foo/"},
		{[]pathSpec{{Prefix, "/foo/"}}, "/foo/", "Prefix /foo/"},
		{[]pathSpec{{Prefix, "/aaa/bb"}}, "/aaa/bbb", ""},
		{[]pathSpec{{Prefix, "/aaa/bbb"}}, "/aaa/bbb", "Prefix /aaa/bbb"},
		{[]pathSpec{{Prefix, "/aaa/bbb/"}}, "/aaa/bbb", "Prefix /aaa/bbb/"},
		{[]pathSpec{{Prefix, "/aaa/bbb"}}, "/aaa/bbb/", "Prefix /aaa/bbb"},
		{[]pathSpec{{Prefix, "/aaa/bbb"}}, "/aaa/bbb/ccc", "Prefix /aaa/bbb"},
		{[]pathSpec{{Prefix, "/aaa/bbb"}}, "/aaa/bbbxyz", ""},
		{[]pathSpec{{Prefix, "/"}, {Prefix, "/aaa"}}, "/aaa/ccc", "Prefix /aaa"},
		{[]pathSpec{{Prefix, "/"}, {Prefix, "/aaa"}, {Prefix, "/aaa/bbb"}}, "/aaa/bbb", "Prefix /aaa/bbb"},
		{[]pathSpec{{Prefix, "/"}, {Prefix, "/aaa"}, {Prefix, "/aaa/bbb"}}, "/ccc", "Prefix /"},
		{[]pathSpec{{Prefix, "/aaa"}}, "/ccc", ""},
		{[]pathSpec{{Prefix, "/foo"}, {Exact, "/foo"}}, "/foo", "Exact /foo"},
		// Beyond the table.
		{[]pathSpec{{Exact, "/foo"}, {Prefix, "/foo"}}, "/foo", "Exact /foo"}, // order does not matter
		{[]pathSpec{{Prefix, "/foo"}, {Exact, "/foo"}}, "/foo/bar", "Prefix /foo"},
		{[]pathSpec{{Prefix, "/foo"}, {Exact, "/foo/"}}, "/foo/", "Exact /foo/"},
		{[]pathSpec{{Exact, "/a"}, {Prefix, "/a/b"}}, "/a/b/c", "Prefix /a/b"},
		{[]pathSpec{{Exact, "/a/b/c"}, {Prefix, "/a/b"}}, "/a/b/c", "Exact /a/b/c"},
		{[]pathSpec{{Prefix, "/Foo"}}, "/foo", ""}, // case sensitive
		{[]pathSpec{{Impl, "/foo"}}, "/foo/bar", "ImplementationSpecific /foo"},
		{[]pathSpec{{Impl, "/foo"}}, "/foobar", ""},
		{[]pathSpec{{Impl, ""}}, "/x", "ImplementationSpecific "}, // an empty path is the root
		{[]pathSpec{{Prefix, "/api"}, {Prefix, "/"}}, "/api/../secret", "Prefix /"},
		{[]pathSpec{{Prefix, "/api"}, {Prefix, "/"}}, "//api//v1", "Prefix /api"},
		{[]pathSpec{{Exact, "/a/b"}}, "/a/./b", "Exact /a/b"},
		{[]pathSpec{{Prefix, "/aaa/bbb"}}, "/aaa/bbb?x=/ccc", "Prefix /aaa/bbb"},
	}
	prx := startProxy(t, Config{})
	c := newClient(t, prx)
	eps := map[string]*backend{}
	for _, tc := range cases {
		var paths []services.Path
		for _, pp := range tc.paths {
			name := string(pp.typ) + " " + pp.path
			if eps[name] == nil {
				eps[name] = newBackend(t, name)
			}
			paths = append(paths, pathRule(pp.typ, pp.path, svc(name, eps[name])))
		}
		update(t, prx, ing("site", rule("", paths...)))
		got := c.get("example.com", tc.req)
		want := http.StatusOK
		if tc.want == "" {
			want = http.StatusNotFound
		}
		if got.code != want || (tc.want != "" && got.body != tc.want) {
			t.Errorf("paths %v, GET %s: %d %q, want %d %q", tc.paths, tc.req, got.code, got.body, want, tc.want)
		}
	}
}

func TestHostMatching(t *testing.T) {
	be := newBackends(t, "exact", "wild", "any", "exact-admin", "wild-other")
	prx := startProxy(t, Config{})
	c := newClient(t, prx)
	update(t, prx,
		ing("a",
			rule("foo.bar.com", prefix("/", svc("exact", be["exact"])), prefix("/admin", svc("exact-admin", be["exact-admin"]))),
			rule("*.bar.com", prefix("/", svc("wild", be["wild"]))),
			rule("", prefix("/", svc("any", be["any"])))),
		ing("b",
			rule("*.other.org", prefix("/app", svc("wild-other", be["wild-other"])))),
	)
	cases := []struct{ host, path, want string }{
		{"foo.bar.com", "/", "exact"},
		{"foo.bar.com", "/admin/x", "exact-admin"},
		{"FOO.Bar.com", "/", "exact"},      // case insensitive
		{"foo.bar.com:8080", "/", "exact"}, // port ignored
		{"foo.bar.com.", "/", "exact"},     // trailing dot ignored
		{"baz.bar.com", "/", "wild"},       // exact host wins, else wildcard
		{"baz.bar.com", "/admin", "wild"},  // the exact host's paths are not the wildcard's
		{"bar.com", "/", "any"},            // a wildcard needs one more label
		{"a.baz.bar.com", "/", "any"},      // ... exactly one
		{"example.org", "/", "any"},
		{"127.0.0.1", "/", "any"},
		{"[::1]:80", "/", "any"},
		{"x.other.org", "/app", "wild-other"},
		{"x.other.org", "/", ""}, // its host's set has no "/": no fall back to rules without a host
	}
	for _, tc := range cases {
		got := c.get(tc.host, tc.path)
		if tc.want == "" {
			if got.code != http.StatusNotFound {
				t.Errorf("GET %s%s: %d %q, want 404", tc.host, tc.path, got.code, got.body)
			}
			continue
		}
		if got.code != http.StatusOK || got.body != tc.want {
			t.Errorf("GET %s%s: %d %q, want %q", tc.host, tc.path, got.code, got.body, tc.want)
		}
	}
}

// TestMerge: rules of several Ingresses for one host are merged; on a
// conflict the first in namespace/name order wins and Update says so.
func TestMerge(t *testing.T) {
	be := newBackends(t, "api", "web", "api-late", "docs", "docs-late")
	prx := startProxy(t, Config{})
	c := newClient(t, prx)
	late := ing("c-late", rule("shop.example", prefix("/api", svc("api-late", be["api-late"]))))
	docsLate := ing("b-docs", rule("shop.example", exact("/docs", svc("docs-late", be["docs-late"]))))
	docsLate.Namespace = "zeta"
	docs := ing("z-docs", rule("shop.example", exact("/docs", svc("docs", be["docs"]))))
	docs.Namespace = "alpha" // namespace first: alpha/z-docs before default/… before zeta/b-docs
	err := prx.Update(table(
		late,
		ing("a-api", rule("shop.example", prefix("/api/", svc("api", be["api"])))),
		ing("b-web", rule("shop.example", prefix("/", svc("web", be["web"])))),
		docsLate, docs,
	))
	if err == nil {
		t.Fatal("Update reported no conflict")
	}
	for _, want := range []string{
		`Ingress default/c-late: host "shop.example" path "/api" (Prefix) is already routed by Ingress default/a-api`,
		`Ingress zeta/b-docs: host "shop.example" path "/docs" (Exact) is already routed by Ingress alpha/z-docs`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Update error %q lacks %q", err, want)
		}
	}
	for _, tc := range []struct{ path, want string }{
		{"/api/v1", "api"}, {"/api", "api"}, {"/", "web"}, {"/docs", "docs"}, {"/docs/x", "web"},
	} {
		if got := c.get("shop.example", tc.path); got.body != tc.want {
			t.Errorf("GET %s: %d %q, want %q", tc.path, got.code, got.body, tc.want)
		}
	}
}

// TestDefaults covers default backends, 404 and 503.
func TestDefaults(t *testing.T) {
	be := newBackends(t, "app", "site-default", "catch-all", "other-default")
	withDefault := func(i services.Ingress, b services.Backend) services.Ingress {
		i.DefaultBackend = &b
		return i
	}
	cases := []struct {
		name      string
		ings      []services.Ingress
		host, url string
		code      int
		body      string
	}{
		{"no ingress", nil, "x.example", "/", 404, "404 Not Found: no Ingress rule matches this host and path\n"},
		{"no rule matches", []services.Ingress{ing("site", rule("site.example", prefix("/app", svc("app", be["app"]))))},
			"site.example", "/other", 404, "404 Not Found: no Ingress rule matches this host and path\n"},
		{"host's own default", []services.Ingress{
			withDefault(ing("site", rule("site.example", prefix("/app", svc("app", be["app"])))), svc("site-default", be["site-default"])),
			withDefault(ing("zz-catch"), svc("catch-all", be["catch-all"])),
		}, "site.example", "/other", 200, "site-default"},
		{"cluster default for an unknown host: a rule-less Ingress's", []services.Ingress{
			withDefault(ing("a-site", rule("site.example", prefix("/app", svc("app", be["app"])))), svc("site-default", be["site-default"])),
			withDefault(ing("zz-catch"), svc("catch-all", be["catch-all"])),
		}, "unknown.example", "/", 200, "catch-all"},
		{"cluster default: else the first Ingress's", []services.Ingress{
			withDefault(ing("a-site", rule("site.example", prefix("/app", svc("app", be["app"])))), svc("site-default", be["site-default"])),
			withDefault(ing("b-site", rule("other.example", prefix("/app", svc("app", be["app"])))), svc("other-default", be["other-default"])),
		}, "unknown.example", "/", 200, "site-default"},
		{"host without own default takes the cluster's", []services.Ingress{
			ing("site", rule("site.example", prefix("/app", svc("app", be["app"])))),
			withDefault(ing("zz-catch"), svc("catch-all", be["catch-all"])),
		}, "site.example", "/other", 200, "catch-all"},
		{"no ready endpoint", []services.Ingress{ing("site", rule("site.example", prefix("/", svc("app"))))},
			"site.example", "/", 503, "503 Service Unavailable: no ready endpoint\n"},
		{"default backend without endpoint", []services.Ingress{withDefault(ing("catch"), svc("catch-all"))},
			"x.example", "/", 503, "503 Service Unavailable: no ready endpoint\n"},
		{"a resource backend (no Service) has no endpoint", []services.Ingress{ing("site", rule("", prefix("/", services.Backend{})))},
			"x.example", "/", 503, "503 Service Unavailable: no ready endpoint\n"},
	}
	prx := startProxy(t, Config{})
	c := newClient(t, prx)
	for _, tc := range cases {
		update(t, prx, tc.ings...)
		if got := c.get(tc.host, tc.url); got.code != tc.code || got.body != tc.body {
			t.Errorf("%s: GET %s%s: %d %q, want %d %q", tc.name, tc.host, tc.url, got.code, got.body, tc.code, tc.body)
		}
	}
}

func TestIngressClass(t *testing.T) {
	be := newBackends(t, "mine")
	withClass := func(name, class string, annotations map[string]string) services.Ingress {
		i := ing(name, rule(name+".example", prefix("/", svc("mine", be["mine"]))))
		i.ClassName, i.Annotations = class, annotations
		return i
	}
	ings := []services.Ingress{
		withClass("unset", "", nil),
		withClass("shoal", "shoal", nil),
		withClass("custom", "custom", nil),
		withClass("nginx", "nginx", nil),
		withClass("legacy-nginx", "", map[string]string{AnnotationIngressClass: "nginx"}),
		withClass("legacy-shoal", "", map[string]string{AnnotationIngressClass: "shoal"}),
		withClass("spec-wins", "shoal", map[string]string{AnnotationIngressClass: "nginx"}),
	}
	for _, tc := range []struct {
		class  string
		served []string
	}{
		{"", []string{"unset", "shoal", "legacy-shoal", "spec-wins"}},
		{"custom", []string{"unset", "custom"}},
	} {
		prx := startProxy(t, Config{ClassName: tc.class})
		c := newClient(t, prx)
		update(t, prx, ings...)
		for _, i := range ings {
			want := http.StatusNotFound
			for _, s := range tc.served {
				if s == i.Name {
					want = http.StatusOK
				}
			}
			if got := c.get(i.Name+".example", "/"); got.code != want {
				t.Errorf("class %q: Ingress %s (class %q): %d, want %d", tc.class, i.Name, i.ClassName, got.code, want)
			}
		}
	}
}

func TestCleanPathAndHost(t *testing.T) {
	for in, want := range map[string]string{
		"": "/", "/": "/", "a": "/a", "/a/": "/a/", "/a/../b": "/b", "/a/..": "/", "//a//b//": "/a/b/", "/./": "/", "/a/.": "/a",
	} {
		if got := cleanPath(in); got != want {
			t.Errorf("cleanPath(%q) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[string]string{
		"Foo.COM": "foo.com", "foo.com:80": "foo.com", "foo.com.": "foo.com", "[::1]:80": "::1", "[::1]": "::1", "10.0.0.1:8080": "10.0.0.1",
	} {
		if got := requestHost(in); got != want {
			t.Errorf("requestHost(%q) = %q, want %q", in, got, want)
		}
	}
}
