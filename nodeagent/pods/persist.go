package pods

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/shoal-run/shoal/nodeagent/runtime"
	corev1 "k8s.io/api/core/v1"
)

// savedRun is what survives an agent restart of one container.
type savedRun struct {
	Name         string          `json:"name"`
	Attempt      int             `json:"attempt"`
	ID           string          `json:"id,omitempty"`
	PrevID       string          `json:"prevID,omitempty"`
	Exited       bool            `json:"exited,omitempty"`
	BackoffDelay time.Duration   `json:"backoffDelay,omitempty"`
	RestartAt    time.Time       `json:"restartAt,omitzero"`
	StartedAt    time.Time       `json:"startedAt,omitzero"`
	Record       ContainerRecord `json:"record"`
}

// savedPod is what survives an agent restart of one pod.
type savedPod struct {
	Pod       *corev1.Pod `json:"pod"`
	Created   time.Time   `json:"created,omitzero"`
	StartTime time.Time   `json:"startTime,omitzero"`
	Init      []savedRun  `json:"init,omitempty"`
	App       []savedRun  `json:"app,omitempty"`
}

const stateFile = "state.json"

// save writes the worker's state atomically, once the pod has a folder, and
// only when it differs from what it last wrote. It runs on the worker's
// goroutine only.
func (w *worker) save() {
	w.mu.Lock()
	sp := savedPod{Pod: w.pod, Created: w.created, StartTime: w.startTime}
	for _, r := range w.init {
		sp.Init = append(sp.Init, r.saved())
	}
	for _, r := range w.app {
		sp.App = append(sp.App, r.saved())
	}
	w.mu.Unlock()
	data, err := json.Marshal(sp)
	if err != nil {
		w.log.Error("save pod state", "error", err)
		return
	}
	if bytes.Equal(data, w.saved) {
		return
	}
	if _, err := os.Stat(w.dir); err != nil {
		return
	}
	tmp := filepath.Join(w.dir, stateFile+".tmp")
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		w.log.Error("save pod state", "error", err)
		return
	}
	if err := os.Rename(tmp, filepath.Join(w.dir, stateFile)); err != nil {
		w.log.Error("save pod state", "error", err)
		return
	}
	w.saved = data
}

func (r *run) saved() savedRun {
	return savedRun{Name: r.spec.Name, Attempt: r.attempt, ID: r.id, PrevID: r.prevID, Exited: r.exited,
		BackoffDelay: r.backoff.Delay, RestartAt: r.restartAt, StartedAt: r.startedAt, Record: *r.rec}
}

// Restore re-adopts the pods a previous agent ran, from their saved state:
// running containers keep running (their exits and probes are watched
// again), and containers that exited while no agent ran report their real
// exit codes. Call it before the first Apply; pods the desired state no
// longer wants are then stopped by Apply.
func (m *Manager) Restore() error {
	dirs, err := os.ReadDir(filepath.Join(m.cfg.DataDir, "pods"))
	if err != nil {
		return err
	}
	var errs []error
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, d := range dirs {
		data, err := os.ReadFile(filepath.Join(m.cfg.DataDir, "pods", d.Name(), stateFile))
		if err != nil {
			if !errors.Is(err, os.ErrNotExist) {
				errs = append(errs, err)
			}
			continue
		}
		var sp savedPod
		if err := json.Unmarshal(data, &sp); err != nil || sp.Pod == nil {
			errs = append(errs, fmt.Errorf("pod state %s: %v", d.Name(), err))
			continue
		}
		w := newWorker(m, sp.Pod)
		w.startTime = sp.StartTime
		if !sp.Created.IsZero() {
			w.created = sp.Created
		}
		restoreRuns(w.init, sp.Init)
		restoreRuns(w.app, sp.App)
		w.adopt()
		m.log.Info("re-adopted pod", "pod", w.key)
		m.startWorker(w)
	}
	return errors.Join(errs...)
}

func restoreRuns(runs []*run, saved []savedRun) {
	byName := map[string]savedRun{}
	for _, s := range saved {
		byName[s.Name] = s
	}
	for _, r := range runs {
		s, ok := byName[r.spec.Name]
		if !ok {
			continue
		}
		rec := s.Record
		r.rec = &rec
		r.attempt, r.id, r.prevID, r.exited = s.Attempt, s.ID, s.PrevID, s.Exited
		r.backoff.Delay, r.restartAt, r.startedAt = s.BackoffDelay, s.RestartAt, s.StartedAt
	}
}

// adopt reconnects the worker's runs to their containers.
func (w *worker) adopt() {
	for _, r := range append(append([]*run(nil), w.init...), w.app...) {
		if r.id == "" || r.exited {
			continue
		}
		st, err := w.m.rt.State(r.id)
		switch {
		case err != nil:
			// The container is gone (the node rebooted, say): it ended
			// while nobody watched, as the kubelet reports it.
			w.finishedLocked(r, runtime.State{ID: r.id, Status: runtime.Exited, ExitCode: 137, StartedAt: r.startedAt,
				FinishedAt: time.Now(), Reason: runtime.ReasonUnknown, Message: "The container could not be located when the pod was re-adopted"})
		case st.Status == runtime.Running || st.Status == runtime.Created:
			r.adopted = true
			w.afterStart(r, r.id)
		case neverStarted(st):
			// The agent stopped inside Start: the command never ran. The
			// run goes back to before that start, and the worker starts it
			// again — not a restart and not an end, as the kubelet starts
			// a container it finds missing.
			w.m.rt.Remove(r.id, runtime.RemoveOptions{})
			w.log.Info("container never started (its agent stopped during Start): starting it again", "container", r.spec.Name, "id", r.id)
			r.id, r.prevID = r.prevID, ""
			r.attempt = max(0, r.attempt-1)
			r.exited = r.id != ""
			if !r.exited {
				r.rec.State = corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: ReasonContainerCreating}}
				r.rec.ContainerID, r.rec.Ready, r.rec.Started = "", false, false
			}
		default:
			w.finishedLocked(r, st)
		}
	}
}

// finishedLocked is finished for use before the worker's loop runs.
func (w *worker) finishedLocked(r *run, st runtime.State) { w.finished(r, st) }

// neverStarted reports whether st is a container whose agent stopped
// inside Start: the runtime knows it, its command never ran.
func neverStarted(st runtime.State) bool {
	return st.Status == runtime.Unknown && st.StartedAt.IsZero()
}

// removeNeverStarted removes container id when it never started, and
// reports whether it did.
func (w *worker) removeNeverStarted(id string) bool {
	st, err := w.m.rt.State(id)
	if err != nil || !neverStarted(st) {
		return false
	}
	if err := w.m.rt.Remove(id, runtime.RemoveOptions{}); err != nil {
		w.log.Warn("removing a container that never started", "id", id, "error", err)
		return false
	}
	return true
}
