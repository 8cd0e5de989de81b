package transport

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/shoal-run/shoal/gossip"
)

var (
	testKey  = bytes.Repeat([]byte{7}, 32)
	otherKey = bytes.Repeat([]byte{8}, 32)

	termA = gossip.NewTerm("a", time.Unix(100, 0))
	termB = gossip.NewTerm("b", time.Unix(200, 0))
)

// testLogger discards logs unless TRANSPORT_TEST_LOG is set.
func testLogger() *slog.Logger {
	if os.Getenv("TRANSPORT_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// node is a Receiver on a real loopback server, with a settable leader
// and a record of the states applied.
type node struct {
	srv    *httptest.Server
	recv   *Receiver
	leader atomic.Value // gossip.Term; "" for none
	mu     sync.Mutex
	apply  []NodeState
}

func startNode(t testing.TB, stateFile string, leader gossip.Term) *node {
	t.Helper()
	n := &node{}
	n.leader.Store(leader)
	r, err := NewReceiver(ReceiverConfig{
		ClusterKey: testKey,
		StateFile:  stateFile,
		Node:       "n1",
		Leader: func() (gossip.Term, bool) {
			l := n.leader.Load().(gossip.Term)
			return l, l != ""
		},
		Apply: func(st NodeState) {
			n.mu.Lock()
			n.apply = append(n.apply, st)
			n.mu.Unlock()
		},
		Logger: testLogger(),
	})
	if err != nil {
		t.Fatalf("NewReceiver: %v", err)
	}
	n.recv = r
	n.srv = httptest.NewServer(r)
	t.Cleanup(n.srv.Close)
	return n
}

func (n *node) addr() string { return n.srv.Listener.Addr().String() }

// applied returns the generations applied so far.
func (n *node) applied() []uint64 {
	n.mu.Lock()
	defer n.mu.Unlock()
	var gs []uint64
	for _, st := range n.apply {
		gs = append(gs, st.Generation)
	}
	return gs
}

func newClient(t testing.TB, mod func(*ClientConfig)) *Client {
	t.Helper()
	cfg := ClientConfig{
		ClusterKey: testKey, MinBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond,
		AttemptTimeout: 10 * time.Second, Logger: testLogger(),
	}
	if mod != nil {
		mod(&cfg)
	}
	c, err := NewClient(cfg)
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	return c
}

// testState is a state for node n1 with pods pods, one ConfigMap and one
// Secret.
func testState(term gossip.Term, gen uint64, pods int) NodeState {
	st := NodeState{
		Term: term, Generation: gen, Node: "n1",
		ConfigMaps: []corev1.ConfigMap{{ObjectMeta: metav1.ObjectMeta{Name: "cfg", Namespace: "default"}, Data: map[string]string{"app.conf": "x=1"}}},
		Secrets:    []corev1.Secret{{ObjectMeta: metav1.ObjectMeta{Name: "pw", Namespace: "default"}, Data: map[string][]byte{"pw": []byte("hunter2")}}},
		Routes:     []byte(`{"services":[]}`),
	}
	for i := range pods {
		st.Pods = append(st.Pods, testPod(i))
	}
	return st
}

// testPod is a realistically sized Deployment pod.
func testPod(i int) corev1.Pod {
	name := fmt.Sprintf("web-%d", i)
	return corev1.Pod{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: metav1.ObjectMeta{
			Name: name, Namespace: "default",
			Labels:      map[string]string{"app": "web", "pod-template-hash": "5d8f7c9b6"},
			Annotations: map[string]string{"shoal.run/commit": "0123456789abcdef0123456789abcdef01234567"},
			OwnerReferences: []metav1.OwnerReference{{
				APIVersion: "apps/v1", Kind: "ReplicaSet", Name: "web-5d8f7c9b6", UID: "3f1c6a2e-0000-4000-8000-000000000001",
			}},
		},
		Spec: corev1.PodSpec{
			NodeName: "n1",
			Containers: []corev1.Container{{
				Name: "web", Image: "registry.local/web:1.2.3",
				Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080, Protocol: corev1.ProtocolTCP}},
				Env:   []corev1.EnvVar{{Name: "POD_INDEX", Value: fmt.Sprint(i)}, {Name: "MODE", Value: "prod"}},
				Resources: corev1.ResourceRequirements{
					Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("64Mi")},
					Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("128Mi")},
				},
				VolumeMounts: []corev1.VolumeMount{{Name: "cfg", MountPath: "/etc/web"}},
				ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{
					HTTPGet: &corev1.HTTPGetAction{Path: "/healthz", Port: intstr.FromString("http")},
				}, PeriodSeconds: 5},
				ImagePullPolicy: corev1.PullIfNotPresent,
			}},
			Volumes: []corev1.Volume{{Name: "cfg", VolumeSource: corev1.VolumeSource{
				ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "cfg"}},
			}}},
			RestartPolicy: corev1.RestartPolicyAlways,
		},
	}
}

// httpBody is a request body for b.
func httpBody(b []byte) io.ReadCloser { return io.NopCloser(bytes.NewReader(b)) }

// newServer serves h on a loopback httptest server and returns its address.
func newServer(t testing.TB, h http.Handler) string {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.Listener.Addr().String()
}
