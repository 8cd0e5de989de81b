package network

import (
	"net/netip"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// Conn is a new connection as its first packet shows it, after service
// translation.
type Conn struct {
	Src, Dst netip.Addr
	// Protocol is corev1.ProtocolTCP, ProtocolUDP or ProtocolSCTP. Other
	// protocols match only rules without ports.
	Protocol corev1.Protocol
	DstPort  uint16
}

// String renders the connection as "TCP 10.1.0.4 -> 10.1.0.5:6379".
func (c Conn) String() string {
	return string(c.Protocol) + " " + c.Src.String() + " -> " + netip.AddrPortFrom(c.Dst, c.DstPort).String()
}

// Outcome is how one direction judged a connection.
type Outcome uint8

const (
	// Open: no policy isolates the pod in this direction, or the address is
	// not a pod.
	Open Outcome = iota
	// ByRule: a rule of Decision.Policy allows the connection.
	ByRule
	// Self: the connection is a pod's to itself, which is always allowed.
	Self
	// Node: the connection is between the pod and its own node, which is
	// always allowed.
	Node
	// Denied: policies isolate the pod and none of their rules allows the
	// connection.
	Denied
)

var outcomeNames = [...]string{Open: "open", ByRule: "by rule", Self: "self", Node: "node", Denied: "denied"}

func (o Outcome) String() string {
	if int(o) < len(outcomeNames) {
		return outcomeNames[o]
	}
	return "Outcome(" + strconv.Itoa(int(o)) + ")"
}

// Decision is the judgement of one direction: egress for the connection's
// source, ingress for its destination.
type Decision struct {
	Outcome Outcome
	// Pod is the pod at this end of the connection; zero when the address is
	// not a pod network policy sees.
	Pod Ref
	// Policy and Rule name the rule that allowed the connection (its index in
	// the policy's ingress or egress list), when Outcome is ByRule. When
	// several rules allow it, the first in policy order is named.
	Policy Ref
	Rule   int
	// Policies are the policies that isolate Pod in this direction, in
	// namespace/name order, whenever Outcome is not Open. The slice is shared
	// by every Decision about this pod: read it, never change it.
	Policies []Ref
}

// Allowed reports whether this direction lets the connection through.
func (d Decision) Allowed() bool { return d.Outcome != Denied }

// Verdict is the judgement of a connection. For counters: when Allowed,
// each direction with Outcome ByRule names the policy that accepted it;
// when not, each Denied direction lists the policies that dropped it.
type Verdict struct {
	Conn Conn
	// Allowed is true when both directions allow the connection.
	Allowed bool
	// Egress judges the source pod's egress, Ingress the destination pod's
	// ingress.
	Egress, Ingress Decision
}

// Verdict judges a new connection: the egress of its source, when that is a
// pod, and the ingress of its destination, when that is a pod. It is
// allowed when neither denies it. Verdict does not allocate.
func (s *Set) Verdict(c Conn) Verdict {
	c.Src, c.Dst = c.Src.Unmap(), c.Dst.Unmap()
	v := Verdict{Conn: c, Allowed: true}
	if s == nil {
		return v
	}
	src, dst := s.lookup(c.Src), s.lookup(c.Dst)
	var dstPod *pod
	if dst >= 0 {
		dstPod = &s.pods[dst]
	}
	self := src >= 0 && src == dst
	if src >= 0 {
		p := &s.pods[src]
		v.Egress = judge(p, p.out, self, c.Dst, dst, c, dstPod)
	}
	if dstPod != nil {
		v.Ingress = judge(dstPod, dstPod.in, self, c.Src, src, c, dstPod)
	}
	v.Allowed = v.Egress.Allowed() && v.Ingress.Allowed()
	return v
}

// Selected reports whether the pod at ip is isolated for ingress and for
// egress: the node must queue new connections to it, or from it, for a
// Verdict. An address that is not a pod is never selected.
func (s *Set) Selected(ip netip.Addr) (ingress, egress bool) {
	if s == nil {
		return false, false
	}
	i := s.lookup(ip.Unmap())
	if i < 0 {
		return false, false
	}
	return s.pods[i].in != nil, s.pods[i].out != nil
}

// Len returns the number of policies the Set was compiled from; with none,
// every connection is allowed and nothing needs queueing.
func (s *Set) Len() int {
	if s == nil {
		return 0
	}
	return s.policies
}

// judge decides one direction for pod p, isolated by iso (nil: open).
// peerAddr and peer (a pod index or -1) are the other end; dst is the
// destination pod, whose named ports apply.
func judge(p *pod, iso *isolation, self bool, peerAddr netip.Addr, peer int32, c Conn, dst *pod) Decision {
	d := Decision{Pod: p.ref}
	if iso == nil {
		return d
	}
	d.Policies = iso.policies
	switch {
	case self:
		d.Outcome = Self
		return d
	case slices.Contains(p.hostIPs, peerAddr):
		d.Outcome = Node
		return d
	}
	for _, r := range iso.rules {
		if r.peerMatches(peer, peerAddr) && r.portMatches(c, dst) {
			d.Outcome, d.Policy, d.Rule = ByRule, r.policy, r.index
			return d
		}
	}
	d.Outcome = Denied
	return d
}

func (r *rule) peerMatches(peer int32, addr netip.Addr) bool {
	if r.anyPeer || (peer >= 0 && r.pods != nil && r.pods.has(peer)) {
		return true
	}
	for _, b := range r.blocks {
		if b.contains(addr) {
			return true
		}
	}
	return false
}

func (r *rule) portMatches(c Conn, dst *pod) bool {
	if r.anyPort {
		return true
	}
	for i := range r.ports {
		if r.ports[i].matches(c, dst) {
			return true
		}
	}
	return false
}

func (p *portRange) matches(c Conn, dst *pod) bool {
	if p.proto != c.Protocol {
		return false
	}
	port := int32(c.DstPort)
	switch {
	case p.all:
		return true
	case p.name != "":
		return dst != nil && dst.hasNamedPort(p.name, c.Protocol, port)
	}
	return p.lo <= port && port <= p.hi
}

func (p *pod) hasNamedPort(name string, proto corev1.Protocol, port int32) bool {
	for _, np := range p.ports {
		if np.port == port && np.proto == proto && np.name == name {
			return true
		}
	}
	return false
}

// Reason explains the verdict in one line, for logs and events, e.g.
// "denied TCP default/web (10.1.0.4) -> default/db (10.1.0.5):6380: egress
// of default/web is not isolated; ingress of default/db: no ingress rule of
// default/postgres-netpolicy allows it".
func (v Verdict) Reason() string {
	var b strings.Builder
	if v.Allowed {
		b.WriteString("allowed ")
	} else {
		b.WriteString("denied ")
	}
	b.WriteString(string(v.Conn.Protocol))
	b.WriteString(" ")
	writeEnd(&b, v.Egress.Pod, v.Conn.Src)
	b.WriteString(" -> ")
	writeEnd(&b, v.Ingress.Pod, v.Conn.Dst)
	b.WriteString(":")
	b.WriteString(strconv.Itoa(int(v.Conn.DstPort)))
	b.WriteString(": ")
	v.Egress.explain(&b, "egress", "source", v.Conn.Src)
	b.WriteString("; ")
	v.Ingress.explain(&b, "ingress", "destination", v.Conn.Dst)
	return b.String()
}

// writeEnd writes one end of a connection: the pod and its address, or the
// address alone.
func writeEnd(b *strings.Builder, p Ref, addr netip.Addr) {
	if p.IsZero() {
		b.WriteString(addr.String())
		return
	}
	b.WriteString(p.String() + " (" + addr.String() + ")")
}

// explain writes why d decided as it did; end and addr name its end of the
// connection when that is not a pod.
func (d Decision) explain(b *strings.Builder, direction, end string, addr netip.Addr) {
	if d.Pod.IsZero() {
		b.WriteString(end + " " + addr.String() + " is not a known pod")
		return
	}
	subject := direction + " of " + d.Pod.String()
	switch d.Outcome {
	case Open:
		b.WriteString(subject + " is not isolated")
	case ByRule:
		b.WriteString(subject + " allowed by " + d.Policy.String() + " " + direction + " rule " + strconv.Itoa(d.Rule))
	case Self:
		b.WriteString(subject + ": a pod's connection to itself is always allowed")
	case Node:
		b.WriteString(subject + ": connections between a pod and its own node are always allowed")
	case Denied:
		b.WriteString(subject + ": no " + direction + " rule of ")
		for i, p := range d.Policies {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(p.String())
		}
		b.WriteString(" allows it")
	}
}
