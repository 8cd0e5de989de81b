// Package volumes materializes the files of a pod's configMap, secret,
// downwardAPI and projected volumes on the node, the way the kubelet does.
//
// # Contracts
//
//   - Building a payload is pure: ConfigMapPayload, SecretPayload,
//     DownwardAPIPayload and ProjectedPayload turn API objects into a
//     map of relative path to FileProjection and do no I/O. Objects are
//     looked up by the caller (or through a Source) beforehand.
//   - Writing is atomic: AtomicWriter projects a payload into a directory
//     with the kubelet's layout, so a reader that resolves "..data" once sees
//     one complete version of the volume, never a mix of two.
//   - Secret volumes live on tmpfs (MountTmpfs), so secret data never
//     reaches the node's disk.
//   - Errors a caller acts on wrap a sentinel: ErrNotFound and ErrMissingKey
//     (waiting: the object or key may appear later, retry with backoff),
//     ErrUnsupported (stalling: the manifest asks for something shoal nodes
//     do not offer) and ErrInvalidPath (stalling: a bad path in the
//     manifest). Their messages are the kubelet's.
//
// # On disk
//
//	<volume dir>/
//	  ..2026_11_27_10_00_00.123456789/   the current version (real files)
//	  ..data -> ..2026_11_27_10_00_00.123456789
//	  key    -> ..data/key               one symlink per top-level name
//	  dir    -> ..data/dir               nested paths go through their first element
package volumes
