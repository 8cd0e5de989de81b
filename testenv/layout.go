package testenv

import (
	"context"
	"fmt"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
)

// refNameAnnotation names an image inside an OCI layout.
const refNameAnnotation = "org.opencontainers.image.ref.name"

// WriteImages writes the test images into an OCI image layout at dir,
// ready for `shoal image import`: busybox as docker.io/library/busybox:test
// and, when moduleRoot is not empty (it needs the go command), the test app
// as docker.io/library/testapp:test.
func WriteImages(ctx context.Context, dir, moduleRoot string) ([]string, error) {
	imgs := map[string]v1.Image{}
	bb, err := BusyboxImage()
	if err != nil {
		return nil, err
	}
	imgs["docker.io/library/busybox:test"] = bb
	if moduleRoot != "" {
		app, err := TestAppImage(ctx, moduleRoot)
		if err != nil {
			return nil, err
		}
		imgs["docker.io/library/testapp:test"] = app
	}
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		return nil, fmt.Errorf("write OCI layout %s: %w", dir, err)
	}
	var names []string
	for _, name := range []string{"docker.io/library/busybox:test", "docker.io/library/testapp:test"} {
		img, ok := imgs[name]
		if !ok {
			continue
		}
		if err := p.AppendImage(img, layout.WithAnnotations(map[string]string{refNameAnnotation: name})); err != nil {
			return nil, err
		}
		names = append(names, name)
	}
	return names, nil
}
