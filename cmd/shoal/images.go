package main

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"text/tabwriter"
	"time"

	"github.com/shoal-run/shoal/nodeagent/images"
	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"
)

// newImageCommand manages the image store of the node whose --data-dir it
// names, whether or not that node runs.
func newImageCommand() *cobra.Command {
	dataDir := defaultNodeConfig().DataDir
	cmd := &cobra.Command{
		Use:   "image",
		Short: "Manage a node's images (import, pull, ls, rm)",
	}
	cmd.PersistentFlags().StringVar(&dataDir, "data-dir", dataDir, "the node's data folder")
	open := func() (*images.Store, error) {
		cfg, err := loadNodeConfig(dataDir)
		if err != nil {
			cfg = defaultNodeConfig()
			cfg.DataDir = dataDir
		}
		return openImages(cfg, slog.Default())
	}
	var name string
	importCmd := &cobra.Command{
		Use:   "import FILE|DIR",
		Short: "Import images from an OCI layout (folder or tar) or a docker-archive tarball",
		Example: `  shoal image import ./busybox-oci --name busybox:1.36
  shoal image import app.tar`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := open()
			if err != nil {
				return err
			}
			imgs, err := s.Import(cmd.Context(), args[0], name)
			if err != nil {
				return err
			}
			for _, img := range imgs {
				fmt.Fprintf(cmd.OutOrStdout(), "imported %s %s\n", img.Ref, shortDigest(img.Digest))
			}
			return nil
		},
	}
	importCmd.Flags().StringVar(&name, "name", "", "name (and tag) for an input image that has none")
	pullCmd := &cobra.Command{
		Use:   "pull REF",
		Short: "Pull an image into the node's store",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := open()
			if err != nil {
				return err
			}
			opts := images.PullOptions{}
			if writerIsTerminal(cmd.ErrOrStderr()) {
				opts.Progress = progressPrinter(cmd.ErrOrStderr())
			}
			img, err := s.Pull(cmd.Context(), args[0], opts)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "pulled %s %s\n", img.Ref, shortDigest(img.Digest))
			return nil
		},
	}
	lsCmd := &cobra.Command{
		Use:     "ls",
		Aliases: []string{"list"},
		Short:   "List the node's images",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := open()
			if err != nil {
				return err
			}
			list, err := s.List()
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 8, 3, ' ', 0)
			fmt.Fprintln(tw, "IMAGE\tDIGEST\tSIZE\tCREATED")
			for _, img := range list {
				created := "-"
				if !img.Created.IsZero() {
					created = img.Created.UTC().Format(time.RFC3339)
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", img.Ref, shortDigest(img.Digest), humanBytes(img.Size), created)
			}
			return tw.Flush()
		},
	}
	rmCmd := &cobra.Command{
		Use:     "rm REF...",
		Aliases: []string{"remove"},
		Short:   "Remove images (layers no other image uses are deleted)",
		Args:    cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := open()
			if err != nil {
				return err
			}
			for _, ref := range args {
				if err := s.Remove(ref); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "removed %s\n", ref)
			}
			return nil
		},
	}
	cmd.AddCommand(importCmd, pullCmd, lsCmd, rmCmd)
	return cmd
}

func shortDigest(d string) string {
	if len(d) > 19 {
		return d[:19]
	}
	return d
}

func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// writerIsTerminal reports whether w is a terminal.
func writerIsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

// progressPrinter draws one line per pull, rewritten in place.
func progressPrinter(w io.Writer) func(images.Progress) {
	return func(p images.Progress) {
		state := fmt.Sprintf("%s / %s", humanBytes(p.Complete), humanBytes(p.Total))
		switch {
		case p.Cached:
			state = "already present"
		case p.Done:
			state = "done " + humanBytes(p.Total)
		}
		fmt.Fprintf(w, "\r\033[K%s: layer %d/%d %s", p.Ref, p.Index+1, p.Count, state)
		if p.Done && p.Index+1 == p.Count {
			fmt.Fprintln(w)
		}
	}
}
