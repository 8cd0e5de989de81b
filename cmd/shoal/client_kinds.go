package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/shoal-run/shoal/nodeagent/api"
)

// kindHandler is one kind of object that `get` and `describe` handle.
type kindHandler interface {
	// aliases are the names the command line accepts for the kind, the
	// plural first.
	aliases() []string
	get(cmd *cobra.Command, o *getOptions, names []string, now time.Time) error
	describe(cmd *cobra.Command, o *connectOptions, names []string, now time.Time, loc *time.Location) error
	// complete lists the names of the kind's objects for shell completion.
	complete(ctx context.Context, o *connectOptions) []string
}

// kinds are every kind `get` and `describe` know, in the order the
// unknown-type message lists them.
var kinds = []kindHandler{podKind, nodeKind, deploymentKind, replicaSetKind, replicationControllerKind, daemonSetKind, jobKind, cronJobKind,
	serviceKind, endpointsKind, ingressKind,
	resourceQuotaKind, limitRangeKind}

// kindNamed returns the kind the command line calls name, nil if none.
func kindNamed(name string) kindHandler {
	for _, k := range kinds {
		for _, a := range k.aliases() {
			if strings.EqualFold(a, name) {
				return k
			}
		}
	}
	return nil
}

// unknownType is the error for a resource type no kind answers to: it
// lists every type with its names.
func unknownType(verb, name string) error {
	var types []string
	for _, k := range kinds {
		a := k.aliases()
		types = append(types, fmt.Sprintf("%s (%s)", a[0], strings.Join(a, ", ")))
	}
	if verb == "get" {
		types = append(types, "events (events, event, ev)")
	}
	return fmt.Errorf("shoal %s: unknown resource type %q: the node API serves %s and %s", verb, name,
		strings.Join(types[:len(types)-1], ", "), types[len(types)-1])
}

// resolveArgs reads a `get`/`describe` command line: "TYPE [NAME...]", or
// "TYPE/NAME..." with every argument of one type.
func resolveArgs(verb string, args []string) (kindHandler, []string, error) {
	first, _, _ := strings.Cut(args[0], "/")
	k := kindNamed(first)
	if k == nil {
		return nil, nil, unknownType(verb, first)
	}
	if !strings.Contains(args[0], "/") {
		return k, args[1:], nil
	}
	var names []string
	for _, a := range args {
		typ, name, ok := strings.Cut(a, "/")
		if !ok || name == "" {
			return nil, nil, fmt.Errorf("shoal %s: %q: give TYPE/NAME for every argument, or TYPE NAME...", verb, a)
		}
		if other := kindNamed(typ); other != k {
			if other == nil {
				return nil, nil, unknownType(verb, typ)
			}
			return nil, nil, fmt.Errorf("shoal %s: %q: name objects of one type per command (%s here)", verb, a, k.aliases()[0])
		}
		names = append(names, name)
	}
	return k, names, nil
}

// apiObject is a pointer to a Kubernetes object of type T.
type apiObject[T any] interface {
	*T
	runtime.Object
	GetNamespace() string
	GetName() string
}

// objectKind is a kind of object, T its Go type: how to reach its objects
// through the node API and how to print them.
type objectKind[T any, PT apiObject[T]] struct {
	names      []string // as the command line gives them, the plural first
	apiVersion string
	kind       string
	nameKind   string // the -o name prefix: "pod", "deployment.apps"
	namespaced bool
	listAll    func(ctx context.Context, c *api.Client, ns string) ([]T, error)
	getOne     func(ctx context.Context, c *api.Client, ns, name string) (*T, error)
	columns    columns[T, PT]
	// show writes one object for describe, before its events.
	show func(d describer, o PT, rel *related)
}

func (k *objectKind[T, PT]) aliases() []string { return k.names }

// loaded are the objects a command asked for, from client c.
type loaded[T any] struct {
	c      *api.Client
	ns     string // "" for every namespace
	items  []T
	failed bool // an object named could not be had (reported on stderr)
}

// load gets the objects named (of the -n namespace), or every object of
// the namespace when none is (of every namespace with all). -n and -A do
// not apply to a kind without namespaces.
func (k *objectKind[T, PT]) load(cmd *cobra.Command, o *connectOptions, names []string, all bool) (*loaded[T], error) {
	l := &loaded[T]{}
	if k.namespaced {
		if all && len(names) > 0 {
			return nil, fmt.Errorf("a %s cannot be named across all namespaces: drop -A, and use -n for its namespace", strings.ToLower(k.kind))
		}
		if !all {
			l.ns = o.namespace
		}
	}
	var err error
	if l.c, err = o.client(); err != nil {
		return nil, err
	}
	ctx := cmd.Context()
	if len(names) == 0 {
		if l.items, err = k.listAll(ctx, l.c, l.ns); err != nil {
			return nil, err
		}
	}
	for _, name := range names {
		obj, err := k.getOne(ctx, l.c, l.ns, name)
		if err != nil {
			fmt.Fprintf(cmd.ErrOrStderr(), "Error: %v\n", err)
			l.failed = true
			continue
		}
		l.items = append(l.items, *obj)
	}
	gvk := schema.FromAPIVersionAndKind(k.apiVersion, k.kind)
	for i := range l.items {
		PT(&l.items[i]).GetObjectKind().SetGroupVersionKind(gvk)
	}
	return l, nil
}

// noResources says that a listing found nothing, as kubectl does.
func (k *objectKind[T, PT]) noResources(w io.Writer, ns string) {
	if k.namespaced && ns != "" {
		fmt.Fprintf(w, "No resources found in %s namespace.\n", ns)
	} else {
		fmt.Fprintln(w, "No resources found")
	}
}

// get runs `shoal get KIND [NAME...]`: a table (wide adds columns), yaml
// or json (the object itself when one is named, else a List), or names.
// -n and -A do not apply to a kind without namespaces, as in kubectl.
func (k *objectKind[T, PT]) get(cmd *cobra.Command, o *getOptions, names []string, now time.Time) error {
	if o.watch {
		return errors.New("--watch works with events only")
	}
	switch o.output {
	case "", "wide", "yaml", "json", "name":
	default:
		return fmt.Errorf("-o %q: use wide, yaml, json or name", o.output)
	}
	l, err := k.load(cmd, &o.connectOptions, names, o.allNamespaces)
	if err != nil {
		return err
	}
	items := l.items
	out := cmd.OutOrStdout()
	switch {
	case o.output == "yaml" || o.output == "json":
		err = writeObjects(out, items, o.output, len(names) == 1)
	case len(items) == 0 && len(names) == 0:
		k.noResources(cmd.ErrOrStderr(), l.ns)
	case o.output == "name":
		for i := range items {
			if _, err = fmt.Fprintf(out, "%s/%s\n", k.nameKind, PT(&items[i]).GetName()); err != nil {
				break
			}
		}
	case len(items) > 0:
		err = writeTable(out, items, tableOptions{wide: o.output == "wide", namespace: k.namespaced && o.allNamespaces}, now, k.columns)
	}
	if err != nil {
		return err
	}
	if l.failed {
		return exitError{code: 1}
	}
	return nil
}

// describe runs `shoal describe KIND [NAME...]`: each object as kubectl
// describes it, ending with its events.
func (k *objectKind[T, PT]) describe(cmd *cobra.Command, o *connectOptions, names []string, now time.Time, loc *time.Location) error {
	l, err := k.load(cmd, o, names, false)
	if err != nil {
		return err
	}
	items := l.items
	if len(items) == 0 && len(names) == 0 {
		k.noResources(cmd.ErrOrStderr(), l.ns)
	}
	rel := &related{ctx: cmd.Context(), c: l.c, ns: l.ns, warn: cmd.ErrOrStderr(), now: now}
	for i := range items {
		if i > 0 {
			fmt.Fprint(cmd.OutOrStdout(), "\n\n")
		}
		tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 8, 2, ' ', 0)
		d := describer{w: tw, loc: loc}
		p := PT(&items[i])
		k.show(d, p, rel)
		if evs, ok := rel.events(); ok {
			d.events(eventsOf(evs, k.kind, p.GetNamespace(), p.GetName()), now)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	if l.failed {
		return exitError{code: 1}
	}
	return nil
}

func (k *objectKind[T, PT]) complete(ctx context.Context, o *connectOptions) []string {
	ns := ""
	if k.namespaced {
		ns = o.namespace
	}
	var names []string
	for _, obj := range k.completionList(ctx, o, ns) {
		names = append(names, PT(&obj).GetName())
	}
	return names
}

// completionList lists the objects of namespace ns ("" for all) for shell
// completion, within completionTimeout: nil when that fails.
func (k *objectKind[T, PT]) completionList(ctx context.Context, o *connectOptions, ns string) []T {
	c, err := o.client()
	if err != nil {
		return nil
	}
	if ctx == nil {
		ctx = context.Background()
	}
	ctx, cancel := context.WithTimeout(ctx, completionTimeout)
	defer cancel()
	items, err := k.listAll(ctx, c, ns)
	if err != nil {
		return nil
	}
	return items
}

// resourceKind is a Resource of the node API (a workload, a Service, ...)
// as `get` and `describe` know it.
func resourceKind[T any, PT apiObject[T]](r api.Resource[T], nameKind string, names []string, cols columns[T, PT], show func(describer, PT, *related)) *objectKind[T, PT] {
	return &objectKind[T, PT]{
		names: names, apiVersion: r.GroupVersion, kind: r.Kind, nameKind: nameKind, namespaced: true,
		listAll: func(ctx context.Context, c *api.Client, ns string) ([]T, error) { return api.List(ctx, c, r, ns) },
		getOne: func(ctx context.Context, c *api.Client, ns, name string) (*T, error) {
			return api.Get(ctx, c, r, ns, name)
		},
		columns: cols, show: show,
	}
}

// tableOptions select a table's columns.
type tableOptions struct {
	wide      bool // the wide columns
	namespace bool // NAMESPACE first
}

// columns are a kind's table after NAME: row gives a row's cells, and
// wide the cells of the wide columns (nil when the kind has none). A kind
// whose cells differ when wide (kubectl clips long address lists
// otherwise) gives wideRow for them.
type columns[T any, PT apiObject[T]] struct {
	names, wideNames []string
	row              func(o PT, now time.Time) []string
	wideRow          func(o PT, now time.Time) []string
	wide             func(o PT) []string
}

// writeTable writes items as kubectl's table: NAMESPACE first when asked,
// NAME, the kind's columns, and its wide ones when asked. Ages are
// relative to now.
func writeTable[T any, PT apiObject[T]](w io.Writer, items []T, opts tableOptions, now time.Time, cols columns[T, PT]) error {
	tw := tabwriter.NewWriter(w, 6, 4, 3, ' ', 0)
	var head []string
	if opts.namespace {
		head = append(head, "NAMESPACE")
	}
	head = append(append(head, "NAME"), cols.names...)
	if opts.wide {
		head = append(head, cols.wideNames...)
	}
	fmt.Fprintln(tw, strings.Join(head, "\t"))
	for i := range items {
		o := PT(&items[i])
		var row []string
		if opts.namespace {
			row = append(row, o.GetNamespace())
		}
		cells := cols.row
		if opts.wide && cols.wideRow != nil {
			cells = cols.wideRow
		}
		row = append(append(row, o.GetName()), cells(o, now)...)
		if opts.wide && cols.wide != nil {
			row = append(row, cols.wide(o)...)
		}
		fmt.Fprintln(tw, strings.Join(row, "\t"))
	}
	return tw.Flush()
}

// related fetches, once each, what describe shows beside its objects: the
// pods and ReplicaSets of the namespace described, and its events. A
// listing that fails is reported on stderr once and its section left out.
type related struct {
	ctx  context.Context
	c    *api.Client
	ns   string // "" for a kind without namespaces: every namespace
	warn io.Writer
	now  time.Time

	podList listing[corev1.Pod]
	rsList  listing[appsv1.ReplicaSet]
	svcList listing[corev1.Service]
	epList  listing[corev1.Endpoints]
	evList  listing[corev1.Event]
}

// listing is one listing of related objects, done once.
type listing[T any] struct {
	done  bool
	items []T
	ok    bool
}

// fetchOnce lists into l the first time, reporting a failure as what.
func fetchOnce[T any](r *related, l *listing[T], what string, list func() ([]T, error)) ([]T, bool) {
	if !l.done {
		l.done = true
		items, err := list()
		if err != nil {
			fmt.Fprintf(r.warn, "Warning: cannot list %s: %v\n", what, err)
		}
		l.items, l.ok = items, err == nil
	}
	return l.items, l.ok
}

func (r *related) pods() ([]corev1.Pod, bool) {
	return fetchOnce(r, &r.podList, "the pods", func() ([]corev1.Pod, error) { return r.c.ListPods(r.ctx, r.ns) })
}

// listResource lists a Resource of the namespace described into l, once.
func listResource[T any](r *related, l *listing[T], res api.Resource[T]) ([]T, bool) {
	return fetchOnce(r, l, "the "+res.Plural, func() ([]T, error) { return api.List(r.ctx, r.c, res, r.ns) })
}

func (r *related) replicaSets() ([]appsv1.ReplicaSet, bool) {
	return listResource(r, &r.rsList, api.ReplicaSets)
}

func (r *related) services() ([]corev1.Service, bool) {
	return listResource(r, &r.svcList, api.Services)
}

func (r *related) endpoints() ([]corev1.Endpoints, bool) {
	return listResource(r, &r.epList, api.Endpoints)
}

// named finds the object of namespace ns called name among items; nil
// when there is none.
func named[T any, PT apiObject[T]](items []T, ns, name string) PT {
	for i := range items {
		if o := PT(&items[i]); o.GetNamespace() == ns && o.GetName() == name {
			return o
		}
	}
	return nil
}

func (r *related) events() ([]corev1.Event, bool) {
	return fetchOnce(r, &r.evList, "the events", func() ([]corev1.Event, error) { return r.c.ListEvents(r.ctx, r.ns) })
}

// eventsOf are the events about one object: its kind and name, and its
// namespace unless it has none (a node's events may be in any).
func eventsOf(evs []corev1.Event, kind, ns, name string) []corev1.Event {
	var out []corev1.Event
	for _, e := range evs {
		o := e.InvolvedObject
		if strings.EqualFold(o.Kind, kind) && o.Name == name && (ns == "" || o.Namespace == "" || o.Namespace == ns) {
			out = append(out, e)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return eventTime(out[i]).Before(eventTime(out[j])) })
	return out
}

// eventTime is when an event last happened.
func eventTime(e corev1.Event) time.Time {
	if !e.LastTimestamp.IsZero() {
		return e.LastTimestamp.Time
	}
	return e.FirstTimestamp.Time
}

// events writes the Events section as kubectl describe does: Type, Reason,
// Age ("30s (x3 over 5m)" when repeated), From and Message; <none> when
// there are none.
func (d describer) events(evs []corev1.Event, now time.Time) {
	if len(evs) == 0 {
		d.line(0, "Events:\t<none>")
		return
	}
	d.line(0, "Events:")
	d.line(1, "Type\tReason\tAge\tFrom\tMessage")
	d.line(1, "----\t------\t----\t----\t-------")
	for _, e := range evs {
		first := e.FirstTimestamp.Time
		if first.IsZero() {
			first = eventTime(e)
		}
		when := age(first, now)
		if e.Count > 1 {
			when = fmt.Sprintf("%s (x%d over %s)", age(eventTime(e), now), e.Count, age(first, now))
		}
		from := e.Source.Component
		if from == "" {
			from = e.ReportingController
		}
		d.line(1, "%s\t%s\t%s\t%s\t%s", e.Type, e.Reason, when, from, strings.TrimSpace(e.Message))
	}
}

// completeKindArgs completes a `get`/`describe` command line: the types
// (and extra, such as events), then the names of the type's objects.
func completeKindArgs(ctx context.Context, o *connectOptions, args []string, extra ...string) ([]string, cobra.ShellCompDirective) {
	if len(args) == 0 {
		var types []string
		for _, k := range kinds {
			types = append(types, k.aliases()[0])
		}
		return append(types, extra...), cobra.ShellCompDirectiveNoFileComp
	}
	first, _, _ := strings.Cut(args[0], "/")
	if k := kindNamed(first); k != nil {
		return k.complete(ctx, o), cobra.ShellCompDirectiveNoFileComp
	}
	return nil, cobra.ShellCompDirectiveNoFileComp
}
