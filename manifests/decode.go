package manifests

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"reflect"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"

	yaml "go.yaml.in/yaml/v3"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8sruntime "k8s.io/apimachinery/pkg/runtime"
	sigsjson "sigs.k8s.io/json"
	sigsyaml "sigs.k8s.io/yaml"
)

// Input names one tree, or one file, to read.
type Input struct {
	// FS holds the files.
	FS fs.FS
	// Path is a folder or a file inside FS; "" means the whole of FS.
	Path string
	// Name is how FS itself is named in diagnostics and Sources: it is
	// joined before every file's path inside FS. "" names files by their
	// path inside FS alone.
	Name string
}

// ObjectResult is the verdict on one object of the input.
type ObjectResult struct {
	// Key identifies the object as far as the input names it (the namespace
	// defaulted to "default" for namespaced kinds).
	Key    Key    `json:"key"`
	Source Source `json:"source"`
	// Object is the loaded object, nil when the object has errors or its kind
	// is ignored.
	Object k8sruntime.Object `json:"-"`
	// Diagnostics are this object's own errors and warnings.
	Diagnostics Diagnostics `json:"diagnostics,omitempty"`
}

// Verdict is "error" when the object has errors, "ignored" when its kind is
// read and skipped, "warning" when it loads with warnings and "ok" otherwise.
func (r ObjectResult) Verdict() string {
	switch {
	case r.Diagnostics.HasErrors():
		return "error"
	case r.Object == nil:
		return "ignored"
	case len(r.Diagnostics) > 0:
		return "warning"
	}
	return "ok"
}

// Result is everything Read learned about its inputs.
type Result struct {
	// Files lists every file read, in the order read.
	Files []string `json:"files"`
	// Objects lists every object found, in file order.
	Objects []ObjectResult `json:"objects"`
	// Diagnostics holds every diagnostic, the objects' and those about whole
	// files (unreadable, unparsable), sorted by file and line.
	Diagnostics Diagnostics `json:"diagnostics"`
}

// Load reads every *.yaml, *.yml and *.json file in fsys (folders whose name
// starts with "." are skipped) and returns the objects as an immutable Set.
// Any error in any file fails the whole load: the returned error is a
// Diagnostics listing every problem, and the Set is nil, so that a caller
// never acts on part of a desired state. Warnings are kept in the Set.
func Load(fsys fs.FS) (*Set, error) {
	return Read(Input{FS: fsys}).Set()
}

// Read reads the inputs and reports every object with its verdict. It never
// fails as a whole: unreadable files and bad objects are diagnostics.
// Objects defined twice (same kind, namespace and name) are errors on both,
// each naming the other's file.
func Read(inputs ...Input) *Result {
	type job struct {
		fsys fs.FS
		name string // path inside fsys
		file string // display name
	}
	res := &Result{}
	var jobs []job
	for _, in := range inputs {
		root := in.Path
		if root == "" {
			root = "."
		}
		display := func(p string) string {
			if in.Name == "" {
				return p
			}
			if p == "." {
				return in.Name
			}
			return path.Join(in.Name, p)
		}
		err := fs.WalkDir(in.FS, root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				res.Diagnostics = append(res.Diagnostics, Diagnostic{Severity: SeverityError, File: display(p),
					Message: fmt.Sprintf("cannot read: %v", unwrapPathError(err))})
				return nil
			}
			if d.IsDir() {
				if p != root && strings.HasPrefix(d.Name(), ".") {
					return fs.SkipDir
				}
				return nil
			}
			if p != root && !isManifestFile(p) {
				return nil
			}
			jobs = append(jobs, job{fsys: in.FS, name: p, file: display(p)})
			return nil
		})
		if err != nil {
			res.Diagnostics = append(res.Diagnostics, Diagnostic{Severity: SeverityError, File: display(root),
				Message: fmt.Sprintf("cannot read: %v", err)})
		}
	}

	// Files are independent until duplicates are checked: decode them in
	// parallel, keeping the results in file order.
	results := make([]fileResult, len(jobs))
	var wg sync.WaitGroup
	next := make(chan int)
	for w := 0; w < runtime.GOMAXPROCS(0); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				j := jobs[i]
				data, err := fs.ReadFile(j.fsys, j.name)
				if err != nil {
					results[i].diags = Diagnostics{{Severity: SeverityError, File: j.file,
						Message: fmt.Sprintf("cannot read: %v", unwrapPathError(err))}}
					continue
				}
				results[i] = decodeFile(j.file, data)
			}
		}()
	}
	for i := range jobs {
		next <- i
	}
	close(next)
	wg.Wait()

	for i, fr := range results {
		res.Files = append(res.Files, jobs[i].file)
		res.Diagnostics = append(res.Diagnostics, fr.diags...)
		res.Objects = append(res.Objects, fr.objects...)
	}
	markDuplicates(res.Objects)
	for _, o := range res.Objects {
		res.Diagnostics = append(res.Diagnostics, o.Diagnostics...)
	}
	sortDiagnostics(res.Diagnostics)
	return res
}

// Set returns the loaded objects as a Set, or, when the result holds any
// error, nil and the Diagnostics as the error.
func (r *Result) Set() (*Set, error) {
	if r.Diagnostics.HasErrors() {
		return nil, r.Diagnostics
	}
	objs := make([]*Object, 0, len(r.Objects))
	for _, o := range r.Objects {
		if o.Object == nil {
			continue
		}
		objs = append(objs, &Object{Key: o.Key, Source: o.Source, Obj: o.Object})
	}
	return newSet(objs, r.Diagnostics.Warnings()), nil
}

func isManifestFile(p string) bool {
	switch strings.ToLower(path.Ext(p)) {
	case ".yaml", ".yml", ".json":
		return true
	}
	return false
}

func unwrapPathError(err error) error {
	if pe, ok := err.(*fs.PathError); ok {
		return pe.Err
	}
	return err
}

// markDuplicates adds an error to every object whose key another object
// has too, naming where the others are.
func markDuplicates(objs []ObjectResult) {
	seen := map[Key][]int{}
	for i, o := range objs {
		if o.Object == nil || o.Key.Name == "" {
			continue
		}
		seen[o.Key] = append(seen[o.Key], i)
	}
	for key, idx := range seen {
		if len(idx) < 2 {
			continue
		}
		for _, i := range idx {
			var others []string
			for _, j := range idx {
				if j != i {
					others = append(others, fmt.Sprintf("%s:%d", objs[j].Source.File, objs[j].Source.Line))
				}
			}
			objs[i].Diagnostics = append(objs[i].Diagnostics, Diagnostic{
				Severity: SeverityError, File: objs[i].Source.File, Line: objs[i].Source.Line, Object: key.String(),
				Message: fmt.Sprintf("duplicate object: %s is also defined at %s; remove one of them", key, strings.Join(others, ", ")),
			})
		}
	}
}

// fileResult is what one file yielded.
type fileResult struct {
	objects []ObjectResult
	diags   Diagnostics // about the file as a whole
}

// document is one YAML document of a file and the line it starts on.
type document struct {
	text      []byte
	startLine int
}

// splitDocuments cuts a YAML stream at "---" separator lines, as kubectl
// does (a line that is "---" followed only by white space).
func splitDocuments(data []byte) []document {
	var docs []document
	start, startLine, line := 0, 1, 1
	for i := 0; i < len(data); {
		end := bytes.IndexByte(data[i:], '\n')
		next := len(data)
		if end >= 0 {
			next = i + end + 1
		}
		l := data[i:next]
		if bytes.HasPrefix(l, []byte("---")) && len(bytes.TrimSpace(l[3:])) == 0 {
			docs = append(docs, document{text: data[start:i], startLine: startLine})
			start, startLine = next, line+1
		}
		i = next
		line++
	}
	docs = append(docs, document{text: data[start:], startLine: startLine})
	return docs
}

var yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): `)

// decodeFile decodes every document of one file.
func decodeFile(file string, data []byte) fileResult {
	var fr fileResult
	docs := []document{{text: data, startLine: 1}}
	if strings.ToLower(path.Ext(file)) != ".json" {
		docs = splitDocuments(data)
	}
	for _, doc := range docs {
		js, err := sigsyaml.YAMLToJSONStrict(doc.text)
		if err != nil {
			fr.diags = append(fr.diags, yamlSyntaxDiagnostic(file, doc.startLine, err))
			continue
		}
		js = bytes.TrimSpace(js)
		if len(js) == 0 || string(js) == "null" {
			continue // an empty document or only comments
		}
		d := &docDecoder{file: file, text: doc.text, lineOffset: doc.startLine - 1, firstLine: firstContentLine(doc)}
		if js[0] != '{' {
			what := "list"
			if js[0] != '[' {
				what = "scalar value " + string(js)
			}
			fr.diags = append(fr.diags, Diagnostic{Severity: SeverityError, File: file, Line: d.firstLine,
				Message: "expected a Kubernetes object (a mapping with apiVersion and kind), got a " + what})
			continue
		}
		fr.objects = append(fr.objects, d.decodeObject(js, "")...)
	}
	return fr
}

// firstContentLine returns the file line of a document's first line that is
// not blank, a comment or a directive.
func firstContentLine(doc document) int {
	line := doc.startLine
	for rest := doc.text; len(rest) > 0; line++ {
		l := rest
		if i := bytes.IndexByte(rest, '\n'); i >= 0 {
			l, rest = rest[:i], rest[i+1:]
		} else {
			rest = nil
		}
		t := bytes.TrimSpace(l)
		if len(t) == 0 || t[0] == '#' || t[0] == '%' || bytes.Equal(t, []byte("---")) {
			continue
		}
		return line
	}
	return doc.startLine
}

// yamlSyntaxDiagnostic turns a YAML parser error into a diagnostic with the
// line in the file.
func yamlSyntaxDiagnostic(file string, startLine int, err error) Diagnostic {
	msg := err.Error()
	line := startLine
	if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
		n, _ := strconv.Atoi(m[1])
		line = startLine + n - 1
		msg = strings.TrimPrefix(msg, m[0])
	} else if strings.Contains(msg, "\n") {
		// yaml.v2 "unmarshal errors:\n  line N: ..." lists; keep the first.
		parts := strings.Split(msg, "\n")
		for _, p := range parts[1:] {
			p = strings.TrimSpace(p)
			if p == "" {
				continue
			}
			var n int
			if _, err := fmt.Sscanf(p, "line %d:", &n); err == nil {
				line = startLine + n - 1
				p = strings.TrimSpace(p[strings.Index(p, ":")+1:])
			}
			msg = p
			break
		}
	}
	msg = strings.TrimPrefix(msg, "yaml: ")
	msg = strings.TrimPrefix(msg, "error converting YAML to JSON: ")
	msg = strings.TrimPrefix(msg, "yaml: ")
	return Diagnostic{Severity: SeverityError, File: file, Line: line, Message: "invalid YAML: " + msg}
}

// docDecoder decodes the objects of one YAML document. It parses the
// document a second time, into YAML nodes, only when a diagnostic or a List
// item needs line numbers: most documents never pay for it.
type docDecoder struct {
	file       string
	text       []byte
	lineOffset int // line of the document in the file, minus one
	firstLine  int // file line of the document's first content line

	parsed bool
	root   *yaml.Node
}

// rootNode parses the document into YAML nodes on first use.
func (d *docDecoder) rootNode() *yaml.Node {
	if !d.parsed {
		d.parsed = true
		var n yaml.Node
		if err := yaml.Unmarshal(d.text, &n); err == nil {
			d.root = unwrapNode(&n)
		}
	}
	return d.root
}

// decodeObject decodes one object (or, for a List, each of its items). at
// is the object's path in the document ("" for the document itself,
// "items[3]" for a List item), for line numbers.
func (d *docDecoder) decodeObject(js []byte, at string) []ObjectResult {
	var generic map[string]any
	if err := sigsjson.UnmarshalCaseSensitivePreserveInts(js, &generic); err != nil || generic == nil {
		return []ObjectResult{d.fail(at, Key{}, "", "expected a Kubernetes object (a mapping with apiVersion and kind)")}
	}
	apiVersion, _ := generic["apiVersion"].(string)
	kind, _ := generic["kind"].(string)
	key := Key{Kind: kind}
	if md, ok := generic["metadata"].(map[string]any); ok {
		key.Name, _ = md["name"].(string)
		key.Namespace, _ = md["namespace"].(string)
	}
	src := Source{File: d.file, Line: d.line(at, ""), APIVersion: apiVersion}
	if apiVersion == "" || kind == "" {
		var missing []string
		if apiVersion == "" {
			missing = append(missing, "apiVersion")
		}
		if kind == "" {
			missing = append(missing, "kind")
		}
		return []ObjectResult{d.fail(at, key, "", fmt.Sprintf("%s is required: every object needs apiVersion and kind", strings.Join(missing, " and ")))}
	}
	if kind == "List" || (strings.HasSuffix(kind, "List") && generic["items"] != nil) {
		return d.decodeList(js, at, key)
	}

	info, legacy, ignoreMsg, errMsg := resolveKind(apiVersion, kind)
	if errMsg != "" {
		return []ObjectResult{d.fail(at, key, "kind", errMsg)}
	}
	if ignoreMsg != "" {
		r := ObjectResult{Key: key, Source: src}
		r.Diagnostics = Diagnostics{d.diag(at, key, SeverityWarning, "kind", ignoreMsg)}
		return []ObjectResult{r}
	}
	if info.namespaced && key.Namespace == "" {
		key.Namespace = metav1.NamespaceDefault
	}
	r := ObjectResult{Key: key, Source: src}
	add := func(sev Severity, p, msg string) {
		r.Diagnostics = append(r.Diagnostics, d.diag(at, key, sev, p, msg))
	}

	// Strict, typed decoding of the version as written.
	newObj := info.newObj
	if legacy != nil {
		newObj = legacy.newObj
	}
	obj := newObj()
	strictErrs, err := sigsjson.UnmarshalStrict(js, obj)
	if err != nil {
		p, msg, found := locateDecodeError(generic, reflect.TypeOf(obj), nil)
		if !found {
			p, msg = "", err.Error()
		}
		add(SeverityError, p, msg)
		return []ObjectResult{r}
	}
	for _, se := range strictErrs {
		p, msg := describeStrictError(se, reflect.TypeOf(obj))
		add(SeverityError, p, msg)
	}
	if len(strictErrs) > 0 {
		return []ObjectResult{r}
	}

	// Convert older versions, then check support on what the object says in
	// the current version.
	written := generic
	if legacy != nil {
		converted, problems := legacy.convert(obj)
		add(SeverityWarning, "apiVersion", fmt.Sprintf("%s %s is deprecated and no longer served by Kubernetes: read as %s; change apiVersion to %q",
			apiVersion, kind, info.apiVersion, info.apiVersion))
		for _, p := range problems {
			sev := SeverityError
			if p.warning {
				sev = SeverityWarning
			}
			add(sev, p.path, p.message)
		}
		if r.Diagnostics.HasErrors() {
			return []ObjectResult{r}
		}
		obj = converted
		written = toGeneric(obj)
		// The typed status of the current version prints zero values that
		// the manifest never wrote: judge status as written.
		if st, ok := generic["status"]; ok {
			written["status"] = st
		} else {
			delete(written, "status")
		}
	}

	meta, _ := metaOf(obj)
	if info.namespaced && meta.Namespace == "" {
		meta.Namespace = metav1.NamespaceDefault
	}
	if !info.namespaced && meta.Namespace != "" {
		ns := meta.Namespace
		meta.Namespace = ""
		key.Namespace = ""
		r.Key = key
		add(SeverityWarning, "metadata.namespace", fmt.Sprintf("%s is cluster-scoped: the namespace %q is ignored", kind, ns))
	}
	for _, p := range checkSupport(kind, written) {
		sev := SeverityError
		if p.warning {
			sev = SeverityWarning
		}
		add(sev, p.path, p.message)
	}
	setDefaults(obj)
	for _, fe := range validateObject(obj) {
		r.Diagnostics = append(r.Diagnostics, d.diag(at, key, SeverityError, fe.Field, fe.Error()))
	}
	if !r.Diagnostics.HasErrors() {
		r.Object = obj
	}
	return []ObjectResult{r}
}

// decodeList decodes the items of a List object one by one.
func (d *docDecoder) decodeList(js []byte, at string, key Key) []ObjectResult {
	var list struct {
		Items []json.RawMessage `json:"items"`
	}
	if err := json.Unmarshal(js, &list); err != nil {
		return []ObjectResult{d.fail(at, key, "items", "expected a list of objects")}
	}
	var out []ObjectResult
	for i, item := range list.Items {
		out = append(out, d.decodeObject(item, joinPath(at, fmt.Sprintf("items[%d]", i)))...)
	}
	return out
}

func joinPath(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	case strings.HasPrefix(b, "["):
		return a + b
	}
	return a + "." + b
}

// line returns the file line of a field path below the object at at.
func (d *docDecoder) line(at, fieldPath string) int {
	if at == "" && fieldPath == "" {
		return d.firstLine
	}
	l := lineOf(d.rootNode(), joinPath(at, fieldPath))
	if l == 0 {
		return d.firstLine
	}
	return l + d.lineOffset
}

// diag makes a diagnostic about a field of an object. A message that does
// not already start with the path gets it as a prefix.
func (d *docDecoder) diag(at string, key Key, sev Severity, fieldPath, msg string) Diagnostic {
	if fieldPath != "" && !strings.HasPrefix(msg, fieldPath+":") && fieldPath != "kind" && fieldPath != "apiVersion" {
		msg = fieldPath + ": " + msg
	}
	obj := ""
	if key.Kind != "" || key.Name != "" {
		obj = key.String()
	}
	return Diagnostic{Severity: sev, File: d.file, Line: d.line(at, fieldPath), Object: obj, Field: fieldPath, Message: msg}
}

// fail returns a result holding one error.
func (d *docDecoder) fail(at string, key Key, fieldPath, msg string) ObjectResult {
	return ObjectResult{
		Key:         key,
		Source:      Source{File: d.file, Line: d.line(at, "")},
		Diagnostics: Diagnostics{d.diag(at, key, SeverityError, fieldPath, msg)},
	}
}

// describeStrictError turns an unknown or duplicate field error of the
// strict decoder into a path and a message, suggesting the field that was
// probably meant.
func describeStrictError(err error, t reflect.Type) (string, string) {
	fe, ok := err.(sigsjson.FieldError)
	if !ok {
		return "", err.Error()
	}
	p := fe.FieldPath()
	msg := err.Error()
	switch {
	case strings.Contains(msg, "unknown field"):
		msg = "unknown field"
		elems := parsePath(p)
		if len(elems) > 0 {
			last := elems[len(elems)-1]
			if parent := typeAt(t, elems[:len(elems)-1]); parent != nil && parent.Kind() == reflect.Struct {
				if s := closestField(last.name, jsonFields(parent)); s != "" {
					msg += fmt.Sprintf(" %q (did you mean %q?)", last.name, s)
				} else {
					msg += fmt.Sprintf(" %q", last.name)
				}
			}
		}
	case strings.Contains(msg, "duplicate field"):
		msg = "field is given more than once"
	}
	return p, msg
}

// typeAt follows a path through Go types, returning nil when it leaves them.
func typeAt(t reflect.Type, elems []pathElem) reflect.Type {
	for _, e := range elems {
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		switch {
		case e.isIndex:
			if t.Kind() != reflect.Slice && t.Kind() != reflect.Array {
				return nil
			}
			t = t.Elem()
		case e.isKey:
			if t.Kind() != reflect.Map {
				return nil
			}
			t = t.Elem()
		default:
			if t.Kind() != reflect.Struct {
				return nil
			}
			ft, ok := jsonFields(t)[e.name]
			if !ok {
				return nil
			}
			t = ft
		}
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t
}

// closestField returns the known field name nearest to name (by edit
// distance, ignoring case), or "" when none is close.
func closestField(name string, fields map[string]reflect.Type) string {
	best, bestDist := "", 1<<30
	names := make([]string, 0, len(fields))
	for f := range fields {
		names = append(names, f)
	}
	sort.Strings(names)
	for _, f := range names {
		if dist := editDistance(strings.ToLower(name), strings.ToLower(f)); dist < bestDist {
			best, bestDist = f, dist
		}
	}
	limit := len(name) / 3
	if limit < 2 {
		limit = 2
	}
	if bestDist <= limit {
		return best
	}
	return ""
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// toGeneric renders a typed object as the generic map its JSON form decodes
// to, leaving out empty values that the types print anyway.
func toGeneric(obj k8sruntime.Object) map[string]any {
	js, err := json.Marshal(obj)
	if err != nil {
		return nil
	}
	var m map[string]any
	if err := sigsjson.UnmarshalCaseSensitivePreserveInts(js, &m); err != nil {
		return nil
	}
	return m
}

// metaOf returns the object's metadata.
func metaOf(obj k8sruntime.Object) (*metav1.ObjectMeta, bool) {
	v := reflect.ValueOf(obj)
	if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
		return nil, false
	}
	f := v.Elem().FieldByName("ObjectMeta")
	if !f.IsValid() {
		return nil, false
	}
	m, ok := f.Addr().Interface().(*metav1.ObjectMeta)
	return m, ok
}

// Document is one YAML document of a file: its text (without the "---"
// line) and the lines it spans.
type Document struct {
	Text []byte
	// StartLine is the 1-based line of its first line; EndLine the line
	// after its last (the next separator's line, or the end).
	StartLine, EndLine int
}

// Documents cuts a YAML stream into its documents exactly as Load does,
// so that an object's Source.Line falls inside its document's lines.
func Documents(data []byte) []Document {
	docs := splitDocuments(data)
	out := make([]Document, len(docs))
	for i, d := range docs {
		end := d.startLine + bytes.Count(d.text, []byte("\n"))
		out[i] = Document{Text: d.text, StartLine: d.startLine, EndLine: end}
	}
	return out
}
