// Package dns is the resolver every node runs for its pods: the agent binds
// it on the node's pod-bridge gateway address, port 53, UDP and TCP, and
// gives it each cluster routing table (services.Table) the leader sends.
// It answers the cluster domain from that table as CoreDNS's kubernetes
// plugin does (with "pods insecure"), and forwards every other name to the
// node's upstream resolvers.
//
// # Rules
//
// With D the cluster domain (Config.ClusterDomain, "cluster.local" by
// default) and TTL the positive TTL (Config.TTL, 5 s by default):
//
//   - <svc>.<ns>.svc.D: A of the cluster IP; for a headless Service the
//     A records of its published endpoints (the Ready ones, and the others
//     too when PublishNotReady); for an ExternalName Service a CNAME to the
//     target, followed in the same answer by the target's records of the
//     asked type: from the table when the target is in D, else resolved
//     upstream.
//   - <ep>.<svc>.<ns>.svc.D, for a published endpoint of a headless
//     Service: its A record, with <ep> the endpoint's Hostname, or its IP
//     with dashes ("10-244-1-7") when it has none.
//   - _<port>._<proto>.<svc>.<ns>.svc.D, for each named port (proto tcp,
//     udp or sctp): SRV priority 0, weight 100/n. For a Service with a
//     cluster IP one record, the Service's port, target <svc>.<ns>.svc.D;
//     for a headless Service one record per published endpoint serving
//     that port, the endpoint's port, target <ep>.<svc>.<ns>.svc.D. The
//     targets' A records are in the additional section.
//   - <a>-<b>-<c>-<d>.<ns>.pod.D: A a.b.c.d, for any namespace, whatever
//     runs there (CoreDNS's "pods insecure").
//   - PTR for the cluster IPs (<svc>.<ns>.svc.D) and for the published
//     endpoints of headless Services (<ep>.<svc>.<ns>.svc.D), when the
//     address is in a reverse range: the table's ServiceCIDR, its nodes'
//     PodCIDRs and Config.ReverseCIDRs.
//   - dns-version.D: TXT "1.1.0" (the Kubernetes DNS schema version);
//     D: SOA.
//   - A name in D or in a reverse range that has no record of the asked
//     type but has records of another, or names below it (as <ns>.svc.D
//     for a namespace with Services, or svc.D), is NODATA: NOERROR, no
//     answer. A name there that does not exist is NXDOMAIN (so is
//     <ns>.svc.D for a namespace without Services: the table does not
//     list namespaces). Both carry the zone's SOA in the authority
//     section, TTL 5 s (the negative TTL); the zone of a reverse name is
//     the whole-octet zone holding it in the most specific range
//     ("96.10.in-addr.arpa." for 10.96.0.1 in 10.96.0.0/12). Answers
//     from the table are authoritative (AA). An AAAA query for an
//     IPv4-only name is NODATA.
//   - Until the first Update, names in D and in Config.ReverseCIDRs get
//     SERVFAIL, which resolvers do not cache as they cache NXDOMAIN.
//   - Every other name is forwarded to Config.Upstream, in order: UDP
//     first (TCP when the client asked over TCP), again over TCP when the
//     answer is truncated, the next upstream when one times out
//     (Config.UpstreamTimeout), cannot be reached or answers SERVFAIL or
//     REFUSED; SERVFAIL when every upstream failed or there is none. Names
//     in D and in the reverse ranges are never forwarded.
//   - A UDP answer larger than the client's buffer (512 bytes, or its
//     EDNS0 size) is truncated (TC set), so the client retries over TCP.
//   - Update swaps the whole index at once: a query sees the previous
//     table or the new one, never a mix. Names are indexed at Update;
//     a query is a few map look-ups.
//
// What it does not do: caching of forwarded answers, DNSSEC, IPv6 reverse
// zones (ip6.arpa is forwarded), SRV for ExternalName Services, the
// endpoint names of Services that have a cluster IP, and zone transfers.
package dns
