package plan

// Commit names one commit of the repository.
type Commit struct {
	// Ref is the ref it was found by ("refs/heads/main",
	// "refs/pull/7/head"), or the commit hash when asked by hash.
	Ref    string `json:"ref"`
	Commit string `json:"commit"`
	// Message is the first line of the commit message.
	Message string `json:"message,omitempty"`
	Author  string `json:"author,omitempty"`
}

// Short returns the first 12 hex digits of the commit.
func (c Commit) Short() string {
	if len(c.Commit) > 12 {
		return c.Commit[:12]
	}
	return c.Commit
}

// Result is what deploying the proposed commit instead of the current
// one would change: the leader's answer to `shoal plan` (the JSON of
// GET/POST /api/v1/plan).
type Result struct {
	// Ref is the ref as asked.
	Ref string `json:"ref"`
	// Proposed is the commit Ref names; Current the commit in force.
	Proposed Commit `json:"proposed"`
	Current  Commit `json:"current"`
	// Objects are the objects added, changed and removed, sorted by kind,
	// namespace and name.
	Objects []ObjectChange `json:"objects"`
	// Pods are the pods that would start, stop, be replaced or wait, once
	// the rollouts the change begins are done.
	Pods Pods `json:"pods"`
	// Settled says the leader's simulation of its steps reached a state
	// where the pods stop changing; when false, Pods are those of the
	// last step simulated (a rollout too long to follow to its end).
	Settled bool `json:"settled"`
	// Summary counts the changes.
	Summary Summary `json:"summary"`
}

// Summary counts a Result's changes.
type Summary struct {
	Add     int `json:"add"`
	Change  int `json:"change"`
	Remove  int `json:"remove"`
	Start   int `json:"start"`
	Stop    int `json:"stop"`
	Replace int `json:"replace"`
	Pending int `json:"pending"`
}

// Summarize counts the changes of objs and pods.
func Summarize(objs []ObjectChange, pods Pods) Summary {
	s := Summary{Start: len(pods.Start), Stop: len(pods.Stop), Replace: len(pods.Replace), Pending: len(pods.Pending)}
	for _, o := range objs {
		switch o.Op {
		case Add:
			s.Add++
		case Change:
			s.Change++
		case Remove:
			s.Remove++
		}
	}
	return s
}

// Changed reports whether the result holds any change.
func (r Result) Changed() bool {
	return len(r.Objects) > 0 || !r.Pods.Empty()
}
