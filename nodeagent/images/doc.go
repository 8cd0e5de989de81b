// Package images is the node's image store. It pulls images from OCI
// registries (directly or through configured mirrors), imports OCI image
// layouts and docker-archive tarballs, and keeps every layer unpacked, once,
// as a directory that can serve as an overlayfs lower dir. A container's
// root file system is an overlay of an Image's Layers plus its own upper
// directory; the store never writes into a layer once it is in place.
//
// # Contracts
//
//   - A layer is identified by its diff ID (the digest of its uncompressed
//     tar) and unpacked into Root/layers/<algo>/<hex>/ exactly once, shared by
//     every image that has it. Concurrent pulls of one layer (goroutines of one
//     process: single flight; several processes: a per-layer flock) unpack it
//     once; the unpack goes to a temporary directory that is verified against
//     the diff ID and renamed into place, so a layer directory that exists is
//     complete.
//   - OCI whiteouts become overlayfs whiteouts while unpacking: ".wh.NAME"
//     becomes a character device 0:0 named NAME, and ".wh..wh..opq" gives its
//     directory the xattr trusted.overlay.opaque=y. Owners, modes, symlinks,
//     hard links within a layer, device nodes, xattrs and times are kept.
//     Unpacking never writes outside the layer directory: ".." in names and
//     paths through symlinks are refused. Unpacking needs root.
//   - Metadata (references, manifests, configs) lives in plain files below
//     Root, each replaced by an atomic rename: readers (Get, List) take no lock
//     and never see a torn file. Writers serialize on flock(2) locks, so the
//     node agent and a CLI may open the same Root at once.
//   - Images no reference names, and layers no image uses, are deleted by
//     Remove (when no pull is in flight) and GC. The store does not know
//     about containers: do not remove an image whose layers are mounted.
//   - An image config without PATH gets DefaultPath, as Docker and containerd do.
//   - Errors a user acts on wrap a sentinel: ErrNotFound (not in the store),
//     ErrImageNotInRegistry, ErrUnauthorized, ErrRegistryUnreachable. Their
//     messages name the image and the registry, and for ErrUnauthorized the
//     credentials that were tried.
//
// # On disk
//
//	Root/
//	  refs.json                          {"version":1,"refs":{"docker.io/library/busybox:1.36":"sha256:<manifest>"}}
//	  images/sha256/<manifest hex>/      one per image (manifest digest)
//	    manifest.json                    the manifest as fetched
//	    config.json                      the image config as fetched
//	    image.json                       {digest, indexDigest, id, diffIDs, size}
//	  layers/sha256/<diff ID hex>/       an unpacked layer (overlayfs lower dir)
//	  layers/sha256/<diff ID hex>.json   {diffID, size}, written before the directory appears
//	  locks/store.lock                   flock: writes of refs.json and images/
//	  locks/gc.lock                      flock: shared by pulls and imports, exclusive for GC
//	  locks/layer-sha256-<hex>.lock      flock: one layer's unpack
//	  tmp/                               staging for unpacks and imports, cleaned when nothing is in flight
package images
