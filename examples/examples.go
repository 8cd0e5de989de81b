// Package examples holds the demo manifests that `shoal up` seeds a new
// local repository with when it is given none.
package examples

import "embed"

// FS holds the example manifests (*.yaml at the top of this folder).
//
//go:embed *.yaml
var FS embed.FS
