package gitsource

import (
	"errors"
	"strings"
	"testing"

	"github.com/shoal-run/shoal/policies/admission"
	"github.com/shoal-run/shoal/testenv"
)

var (
	admissionFile = testenv.AdmissionYAML("forbidHostPath: true")
	// admissionTypo misspells a rule on line 7.
	admissionTypo = testenv.AdmissionYAML("forbidHostPaths: true")
)

func policyNames(cfg *admission.Config) []string {
	if cfg == nil {
		return nil
	}
	var out []string
	for _, p := range cfg.Policies {
		out = append(out, p.Name)
	}
	return out
}

// TestSyncAdmissionFile: the admission file comes from the commit's tree,
// in the folder of the manifests; a file that does not load leaves the
// commit to apply under the policies of the last commit whose file loads
// (never looser), with the error naming file:line; with no such commit
// the commit does not apply.
func TestSyncAdmissionFile(t *testing.T) {
	r := newRig(t, "", "")
	none, _ := r.push(change{files: map[string]string{"deploy/pod.yaml": podWeb}, message: "no policy yet"})
	cfg := r.config(t)
	cfg.Path = "deploy"
	s := mustNew(t, cfg)
	ctx := ctxT(t)

	res, err := s.SyncResult(ctx)
	if err != nil || res.Admission == nil || len(res.Admission.Policies) != 0 || res.AdmissionErr != nil {
		t.Fatalf("without a file: %+v, %v; want an empty Config", res, err)
	}

	// A file outside Path is not the cluster's.
	r.push(change{files: map[string]string{".shoal/admission.yaml": admissionTypo}, message: "root file"})
	if res, err = s.SyncResult(ctx); err != nil || len(res.Admission.Policies) != 0 {
		t.Fatalf("a file outside Path was read: %v, %v", policyNames(res.Admission), err)
	}

	// A bad file right after a commit without one: no policy stays.
	bad1, _ := r.push(change{files: map[string]string{"deploy/.shoal/admission.yaml": admissionTypo}, message: "typo"})
	res, err = s.SyncResult(ctx)
	var ae *AdmissionError
	if err != nil || res.Set == nil || !errors.As(res.AdmissionErr, &ae) || len(res.Admission.Policies) != 0 {
		t.Fatalf("bad file after none: %v, %v, %v", err, res.AdmissionErr, policyNames(res.Admission))
	}
	if ae.Revision.Commit != bad1 || ae.KeptFrom.Commit == none || ae.KeptFile || !IsStalled(ae) {
		t.Errorf("AdmissionError %+v: want commit %s, kept from the root-file commit without a file", ae, bad1[:12])
	}

	good, _ := r.push(change{files: map[string]string{"deploy/.shoal/admission.yaml": admissionFile}, message: "policy"})
	res, err = s.SyncResult(ctx)
	if err != nil || res.AdmissionErr != nil || strings.Join(policyNames(res.Admission), ",") != "baseline" || res.Admission.File != "deploy/.shoal/admission.yaml" {
		t.Fatalf("good file: %v, %v, %v", err, res.AdmissionErr, res.Admission)
	}

	// A bad file keeps the last good policies, two commits back too.
	r.push(change{files: map[string]string{"deploy/.shoal/admission.yaml": admissionTypo}, message: "typo again"})
	bad2, _ := r.push(change{files: map[string]string{"deploy/pod.yaml": podAPI}, message: "another pod, file still bad"})
	res, err = s.SyncResult(ctx)
	if err != nil || res.Set == nil || res.Set.Get("Pod", "default", "api") == nil {
		t.Fatalf("the commit with a bad admission file must apply: %v", err)
	}
	if !errors.As(res.AdmissionErr, &ae) || ae.Revision.Commit != bad2 || ae.KeptFrom.Commit != good || !ae.KeptFile ||
		strings.Join(policyNames(res.Admission), ",") != "baseline" {
		t.Fatalf("bad file: %v; policies %v, want baseline of %s", res.AdmissionErr, policyNames(res.Admission), good[:12])
	}
	ds := ae.Diagnostics.Errors()
	if len(ds) != 1 || ds[0].File != "deploy/.shoal/admission.yaml" || ds[0].Line != 7 || !strings.Contains(ds[0].Message, "forbidHostPaths") {
		t.Fatalf("diagnostics %v, want deploy/.shoal/admission.yaml:7 about forbidHostPaths", ae.Diagnostics)
	}
	for _, want := range []string{bad2[:12], "deploy/.shoal/admission.yaml:7: error:", "policies of commit " + good[:12], "fix the file"} {
		if !strings.Contains(ae.Error(), want) {
			t.Errorf("error %q lacks %q", ae.Error(), want)
		}
	}
	// Unchanged: the same answer without reading again.
	if res, _ = s.SyncResult(ctx); res.Outcome != Unchanged || res.AdmissionErr != ae || res.Admission.File == "" {
		t.Errorf("unchanged head: %+v", res)
	}

	// Manifests that do not load list the admission file's errors too.
	r.push(change{files: map[string]string{"deploy/pod.yaml": podBroken}, message: "both broken"})
	_, err = s.SyncResult(ctx)
	var le *LoadError
	if !errors.As(err, &le) || !strings.Contains(err.Error(), "deploy/pod.yaml:4") || !strings.Contains(err.Error(), "deploy/.shoal/admission.yaml:7") {
		t.Fatalf("both broken: %v", err)
	}
}

// TestSyncAdmissionFileFirstCommit: a bad file in a commit with no
// earlier one to take policies from: the commit does not apply.
func TestSyncAdmissionFileFirstCommit(t *testing.T) {
	r := newRig(t, "", "")
	first, _ := r.push(change{files: map[string]string{"pod.yaml": podWeb, ".shoal/admission.yaml": admissionTypo}, message: "first"})
	s := mustNew(t, r.config(t))
	res, err := s.SyncResult(ctxT(t))
	var ae *AdmissionError
	if !errors.As(err, &ae) || res.Set != nil || ae.Revision.Commit != first || ae.KeptFrom.Commit != "" || !IsStalled(err) {
		t.Fatalf("got %+v, %v; want an AdmissionError and no Set", res, err)
	}
	if !strings.Contains(err.Error(), "the commit does not apply") || !strings.Contains(err.Error(), ".shoal/admission.yaml:7") {
		t.Errorf("error %q", err)
	}
	if rev, set := s.LastGood(); rev.Commit != "" || set != nil {
		t.Errorf("LastGood = %s", rev.Short())
	}
}
