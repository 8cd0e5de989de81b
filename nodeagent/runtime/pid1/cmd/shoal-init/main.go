// Command shoal-init is shoal's container init on its own, for tests and for
// nodes that give the runtime a separate init binary. Build it static:
//
//	CGO_ENABLED=0 go build ./nodeagent/runtime/pid1/cmd/shoal-init
package main

import (
	"os"

	"github.com/shoal-run/shoal/nodeagent/runtime/pid1"
)

func main() {
	os.Exit(pid1.Main(os.Args[1:]))
}
