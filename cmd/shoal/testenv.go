package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/shoal-run/shoal/testenv"
	"github.com/spf13/cobra"
)

// newTestenvCommand holds the test rig's helpers.
func newTestenvCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "testenv",
		Short: "Test rig helpers (test images)",
	}
	var withApp string
	images := &cobra.Command{
		Use:   "images DIR",
		Short: "Write the test images (busybox from Debian's busybox-static, and the test app) as an OCI layout",
		Long: `Images writes shoal's test images into an OCI image layout at DIR, for
"shoal image import DIR": docker.io/library/busybox:test (from Debian's
busybox-static) and, with --testapp pointing at a shoal source tree (it needs
the go command), docker.io/library/testapp:test.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			root := ""
			if withApp != "" {
				abs, err := filepath.Abs(withApp)
				if err != nil {
					return err
				}
				if _, err := os.Stat(filepath.Join(abs, "testenv", "testapp")); err != nil {
					return fmt.Errorf("--testapp %s is not a shoal source tree: %w", withApp, err)
				}
				root = abs
			}
			names, err := testenv.WriteImages(cmd.Context(), args[0], root)
			if err != nil {
				return err
			}
			for _, n := range names {
				fmt.Fprintf(cmd.OutOrStdout(), "wrote %s\n", n)
			}
			return nil
		},
	}
	images.Flags().StringVar(&withApp, "testapp", "", "shoal source tree to build the test app from")
	cmd.AddCommand(images)
	return cmd
}
