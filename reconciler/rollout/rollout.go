// Package rollout reads a Deployment's revision history from Git and
// changes it in a local clone: Git is shoal's only writer, so `shoal rollout
// undo`, `pause` and `resume` edit the manifest in the user's working tree
// and commit, and the user pushes.
//
// A revision is each change of the Deployment's pod template along the
// branch's first-parent history, as Kubernetes numbers its ReplicaSets: the
// first template is revision 1, and every commit whose template differs
// from the one before starts the next revision, going back to an earlier
// template included.
package rollout

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	yaml "go.yaml.in/yaml/v3"
	appsv1 "k8s.io/api/apps/v1"

	"github.com/shoal-run/shoal/manifests"
	"github.com/shoal-run/shoal/reconciler/deployments"
	"github.com/shoal-run/shoal/reconciler/gitsource"
)

// Revision is one revision of a Deployment.
type Revision struct {
	Number  int       `json:"revision"`
	Commit  string    `json:"commit"`
	Author  string    `json:"author"`
	Date    time.Time `json:"date"`
	Message string    `json:"message"`
	// Hash is the pod template's hash (the pod-template-hash label).
	Hash string `json:"podTemplateHash"`
	// File is the manifest holding the Deployment in that commit,
	// relative to the repository root.
	File string `json:"file"`
	// ChangeCause is the kubernetes.io/change-cause annotation, if any.
	ChangeCause string `json:"changeCause,omitempty"`
}

// Repo is a local clone: its root and the folder of manifests in it.
type Repo struct {
	Root string // the working tree's root
	Path string // the manifests' folder, relative to Root ("." for all)
	repo *git.Repository
}

// Open finds the repository that holds dir (dir or a parent) and uses
// path (relative to the repository root) as its manifests' folder.
func Open(dir, manifestsPath string) (*Repo, error) {
	r, err := git.PlainOpenWithOptions(dir, &git.PlainOpenOptions{DetectDotGit: true})
	if err != nil {
		return nil, fmt.Errorf("%s is not in a Git clone (%w): run this in your clone of the cluster's repository, or give --repo-dir", dir, err)
	}
	wt, err := r.Worktree()
	if err != nil {
		return nil, fmt.Errorf("the repository has no working tree: %w", err)
	}
	p := path.Clean(filepath.ToSlash(manifestsPath))
	if p == "" {
		p = "."
	}
	return &Repo{Root: wt.Filesystem.Root(), Path: p, repo: r}, nil
}

// MaxCommits bounds how far back History reads.
const MaxCommits = 1000

// History returns the revisions of Deployment namespace/name, oldest first.
// Commits whose manifests do not load are skipped.
func (r *Repo) History(namespace, name string) ([]Revision, error) {
	head, err := r.repo.Head()
	if err != nil {
		return nil, fmt.Errorf("the clone has no commit yet: %w", err)
	}
	var commits []*object.Commit
	c, err := r.repo.CommitObject(head.Hash())
	for err == nil && len(commits) < MaxCommits {
		commits = append(commits, c)
		if c.NumParents() == 0 {
			break
		}
		c, err = c.Parent(0) // first parent: the branch's own history
	}
	var out []Revision
	prev := ""
	for i := len(commits) - 1; i >= 0; i-- {
		c := commits[i]
		d, file := r.deploymentAt(c, namespace, name)
		if d == nil {
			prev = ""
			continue
		}
		h := deployments.TemplateHash(&d.Spec.Template)
		if h == prev {
			continue
		}
		prev = h
		msg, _, _ := strings.Cut(strings.TrimSpace(c.Message), "\n")
		out = append(out, Revision{
			Number: len(out) + 1, Commit: c.Hash.String(), Author: c.Author.Name + " <" + c.Author.Email + ">",
			Date: c.Author.When, Message: msg, Hash: h, File: file,
			ChangeCause: d.Annotations["kubernetes.io/change-cause"],
		})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("deployment %s/%s is in no commit of %s under %q", namespace, name, head.Name().Short(), r.Path)
	}
	return out, nil
}

// deploymentAt loads the manifests of commit c and returns the Deployment
// and its file, or nil.
func (r *Repo) deploymentAt(c *object.Commit, namespace, name string) (*appsv1.Deployment, string) {
	fsys, err := gitsource.CommitFS(c)
	if err != nil {
		return nil, ""
	}
	if r.Path != "." {
		if fsys, err = fs.Sub(fsys, r.Path); err != nil {
			return nil, ""
		}
	}
	set, err := manifests.Load(fsys)
	if err != nil {
		return nil, ""
	}
	o, ok := set.Lookup(manifests.Key{Kind: "Deployment", Namespace: namespace, Name: name})
	if !ok {
		return nil, ""
	}
	return o.Obj.(*appsv1.Deployment), path.Join(r.Path, o.Source.File)
}

// ErrNoRevision is returned for a revision that does not exist.
var ErrNoRevision = errors.New("no such revision")

// Undo puts revision to (0: the one before the last) of the Deployment
// back in the working tree — the document as it was written in that
// revision's commit replaces the current one — and commits. It returns the
// new commit.
func (r *Repo) Undo(namespace, name string, to int) (string, Revision, error) {
	revs, err := r.History(namespace, name)
	if err != nil {
		return "", Revision{}, err
	}
	if to == 0 {
		if len(revs) < 2 {
			return "", Revision{}, fmt.Errorf("%w: deployment %s/%s has only one revision", ErrNoRevision, namespace, name)
		}
		to = revs[len(revs)-2].Number
	}
	if to < 1 || to > len(revs) {
		return "", Revision{}, fmt.Errorf("%w: deployment %s/%s has revisions 1 to %d", ErrNoRevision, namespace, name, len(revs))
	}
	rev := revs[to-1]
	if to == len(revs) {
		return "", rev, fmt.Errorf("revision %d is the current one: nothing to undo", to)
	}
	c, err := r.repo.CommitObject(plumbingHash(rev.Commit))
	if err != nil {
		return "", rev, err
	}
	f, err := c.File(rev.File)
	if err != nil {
		return "", rev, err
	}
	content, err := f.Contents()
	if err != nil {
		return "", rev, err
	}
	old, ok := findDocument([]byte(content), namespace, name)
	if !ok {
		return "", rev, fmt.Errorf("deployment %s/%s not found in %s at %s", namespace, name, rev.File, rev.Commit[:12])
	}
	msg := fmt.Sprintf("Roll back deployment %s to revision %d\n\nThe pod template of commit %s (%s), restored by `shoal rollout undo`.\n",
		name, to, rev.Commit[:12], rev.Message)
	hash, err := r.editAndCommit(namespace, name, func([]byte) ([]byte, error) { return old, nil }, msg)
	return hash, rev, err
}

// SetPaused sets spec.paused of the Deployment in the working tree and
// commits; it fails if it already has that value.
func (r *Repo) SetPaused(namespace, name string, paused bool) (string, error) {
	verb := "Pause"
	if !paused {
		verb = "Resume"
	}
	return r.editAndCommit(namespace, name, func(doc []byte) ([]byte, error) {
		return setPaused(doc, paused)
	}, fmt.Sprintf("%s the rollout of deployment %s\n\nMade by `shoal rollout %s`.\n", verb, name, strings.ToLower(verb)))
}

// editAndCommit replaces the Deployment's document in its current file
// with edit(document) and commits that file.
func (r *Repo) editAndCommit(namespace, name string, edit func([]byte) ([]byte, error), msg string) (string, error) {
	dir := filepath.Join(r.Root, filepath.FromSlash(r.Path))
	set, err := manifests.Load(os.DirFS(dir))
	if err != nil {
		return "", fmt.Errorf("the manifests in %s do not load; fix them first: %w", dir, err)
	}
	o, ok := set.Lookup(manifests.Key{Kind: "Deployment", Namespace: namespace, Name: name})
	if !ok {
		return "", fmt.Errorf("deployment %s/%s is not in %s", namespace, name, dir)
	}
	file := filepath.Join(dir, filepath.FromSlash(o.Source.File))
	data, err := os.ReadFile(file)
	if err != nil {
		return "", err
	}
	var doc manifests.Document
	for _, d := range manifests.Documents(data) {
		if o.Source.Line >= d.StartLine && o.Source.Line < max(d.EndLine, d.StartLine+1) {
			doc = d
		}
	}
	if doc.Text == nil {
		return "", fmt.Errorf("%s: no document at line %d", file, o.Source.Line)
	}
	next, err := edit(doc.Text)
	if err != nil {
		return "", fmt.Errorf("%s: %w", file, err)
	}
	if bytes.Equal(next, doc.Text) {
		return "", fmt.Errorf("%s: deployment %s/%s is already like that: nothing to commit", file, namespace, name)
	}
	if err := os.WriteFile(file, replaceLines(data, doc.StartLine, doc.EndLine, next), 0o644); err != nil {
		return "", err
	}
	wt, err := r.repo.Worktree()
	if err != nil {
		return "", err
	}
	rel, err := filepath.Rel(r.Root, file)
	if err != nil {
		return "", err
	}
	if _, err := wt.Add(filepath.ToSlash(rel)); err != nil {
		return "", err
	}
	sig := r.signature()
	h, err := wt.Commit(msg, &git.CommitOptions{Author: sig, Committer: sig})
	if err != nil {
		return "", err
	}
	return h.String(), nil
}

// signature is the user's Git identity (repository, then global config),
// or shoal's.
func (r *Repo) signature() *object.Signature {
	sig := &object.Signature{Name: "shoal", Email: "shoal@localhost", When: time.Now()}
	for _, scope := range []config.Scope{config.LocalScope, config.GlobalScope, config.SystemScope} {
		cfg, err := r.repo.ConfigScoped(scope)
		if err == nil && cfg.User.Name != "" {
			sig.Name, sig.Email = cfg.User.Name, cfg.User.Email
			break
		}
	}
	return sig
}

// findDocument returns the document of data that is Deployment
// namespace/name.
func findDocument(data []byte, namespace, name string) ([]byte, bool) {
	for _, d := range manifests.Documents(data) {
		var head struct {
			Kind     string `yaml:"kind"`
			Metadata struct {
				Name      string `yaml:"name"`
				Namespace string `yaml:"namespace"`
			} `yaml:"metadata"`
		}
		if yaml.Unmarshal(d.Text, &head) != nil || head.Kind != "Deployment" || head.Metadata.Name != name {
			continue
		}
		ns := head.Metadata.Namespace
		if ns == "" {
			ns = "default"
		}
		if ns == namespace {
			return d.Text, true
		}
	}
	return nil, false
}

// replaceLines replaces lines [start, end) (1-based) of data by text.
func replaceLines(data []byte, start, end int, text []byte) []byte {
	lines := bytes.SplitAfter(data, []byte("\n"))
	var out bytes.Buffer
	for i, l := range lines {
		n := i + 1
		if n == start {
			out.Write(text)
			if len(text) > 0 && text[len(text)-1] != '\n' {
				out.WriteByte('\n')
			}
		}
		if n >= start && n < end {
			continue
		}
		out.Write(l)
	}
	if start > len(lines) {
		out.Write(text)
	}
	return out.Bytes()
}

// setPaused sets spec.paused in a Deployment document, keeping the rest
// (comments included) as yaml.v3 re-encodes it.
func setPaused(doc []byte, paused bool) ([]byte, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(doc, &root); err != nil {
		return nil, err
	}
	if root.Kind != yaml.DocumentNode || len(root.Content) == 0 || root.Content[0].Kind != yaml.MappingNode {
		return nil, errors.New("not a YAML mapping")
	}
	spec := mapValue(root.Content[0], "spec")
	if spec == nil || spec.Kind != yaml.MappingNode {
		return nil, errors.New("the deployment has no spec mapping")
	}
	value := "false"
	if paused {
		value = "true"
	}
	if v := mapValue(spec, "paused"); v != nil {
		if v.Value == value {
			return doc, nil
		}
		v.Value, v.Tag = value, "!!bool"
	} else if paused {
		spec.Content = append(spec.Content,
			&yaml.Node{Kind: yaml.ScalarNode, Value: "paused"},
			&yaml.Node{Kind: yaml.ScalarNode, Value: value, Tag: "!!bool"})
	} else {
		return doc, nil
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(&root); err != nil {
		return nil, err
	}
	enc.Close()
	return buf.Bytes(), nil
}

func mapValue(m *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

func plumbingHash(s string) plumbing.Hash { return plumbing.NewHash(s) }
