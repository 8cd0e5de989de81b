package images

import (
	"sort"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// DefaultPath is the PATH given to an image whose config has none, as Docker
// and containerd do.
const DefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// Image is an image in the store, ready for the runtime: its layers are
// unpacked directories that an overlay mount stacks (bottom first).
// An Image is a snapshot; the store never mutates a returned value.
type Image struct {
	// Ref is the normalized reference: "docker.io/library/busybox:1.36"
	// or "docker.io/library/busybox@sha256:...".
	Ref string
	// Digest is the digest of the image manifest ("sha256:...") for this
	// node's platform.
	Digest string
	// IndexDigest is the digest of the multi-platform index Digest was
	// chosen from, "" when the reference named a single image.
	IndexDigest string
	// ID is the digest of the image config, as `docker images` shows it.
	ID string
	// DiffIDs are the uncompressed layer digests from the config, bottom
	// first, duplicates included.
	DiffIDs []string
	// Layers are the absolute paths of the unpacked layer directories,
	// bottom (base) layer first. A layer that occurs twice in DiffIDs (an
	// empty layer, typically) is listed once, at its topmost position, so
	// the list can be given to overlayfs as is (reversed: overlayfs wants
	// the top layer first).
	Layers []string
	// Config is the runtime part of the image config.
	Config ImageConfig
	// Size is the total unpacked size in bytes (sum of regular file sizes
	// over all layers).
	Size int64
	// Created is the creation time in the image config (zero when absent).
	Created time.Time
}

// ImageConfig is what the runtime needs from an image config.
type ImageConfig struct {
	Entrypoint []string
	Cmd        []string
	// Env always has a PATH: DefaultPath when the image sets none.
	Env          []string
	WorkingDir   string
	User         string
	ExposedPorts []string // "80/tcp", sorted
	Labels       map[string]string
	StopSignal   string
}

// imageConfigFrom extracts the runtime config and applies the defaults
// Docker and containerd apply (PATH).
func imageConfigFrom(cf *v1.ConfigFile) ImageConfig {
	c := cf.Config
	ic := ImageConfig{
		Entrypoint: append([]string(nil), c.Entrypoint...),
		Cmd:        append([]string(nil), c.Cmd...),
		Env:        append([]string(nil), c.Env...),
		WorkingDir: c.WorkingDir,
		User:       c.User,
		StopSignal: c.StopSignal,
	}
	hasPath := false
	for _, e := range ic.Env {
		if strings.HasPrefix(e, "PATH=") {
			hasPath = true
			break
		}
	}
	if !hasPath {
		ic.Env = append(ic.Env, "PATH="+DefaultPath)
	}
	for p := range c.ExposedPorts {
		ic.ExposedPorts = append(ic.ExposedPorts, p)
	}
	sort.Strings(ic.ExposedPorts)
	if len(c.Labels) > 0 {
		ic.Labels = make(map[string]string, len(c.Labels))
		for k, v := range c.Labels {
			ic.Labels[k] = v
		}
	}
	return ic
}
