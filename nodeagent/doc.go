// Package nodeagent will hold what runs on every node: pod lifecycle (the
// kubelet's job) on libcontainer, images, volumes, probes, the pod network,
// service routing, DNS, ingress and the node's HTTP API. See
// docs/ARCHITECTURE.md; it may import manifests, policies and gossip.
package nodeagent
