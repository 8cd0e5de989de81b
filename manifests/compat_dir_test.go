package manifests

import (
	"os"
	"path/filepath"
)

// compatDir finds the compatibility corpus (../shared/compat beside the
// repository, or $SHOAL_COMPAT_DIR).
func compatDir() (string, bool) {
	dir := os.Getenv("SHOAL_COMPAT_DIR")
	if dir == "" {
		dir = filepath.Join("..", "..", "shared", "compat", "kubernetes-in-action")
	}
	st, err := os.Stat(dir)
	return dir, err == nil && st.IsDir()
}
