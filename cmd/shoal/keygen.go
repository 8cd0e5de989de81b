package main

import (
	"fmt"

	"github.com/shoal-run/shoal/gossip"
	"github.com/spf13/cobra"
)

// newKeygenCommand makes a cluster key: nodes gossip encrypted with it, and
// a node with another key is refused.
func newKeygenCommand() *cobra.Command {
	var out, tokenOf string
	cmd := &cobra.Command{
		Use:   "keygen",
		Short: "Make a cluster key (AES-256, base64)",
		Long: `Keygen makes a new random cluster key. Give the same key to every node
(shoal agent --cluster-key-file FILE): gossip between nodes is encrypted with it
and a node with another key is refused. With --out the key is written to a new
file readable by its owner only; without, it is printed.

With --print-token KEYFILE it makes no key: it prints the API bearer token the
agents derive from that cluster key (when they run without --token-file), for
the client's --token or SHOAL_TOKEN.`,
		Example: `  shoal keygen --out /etc/shoal/cluster.key
  export SHOAL_TOKEN=$(shoal keygen --print-token /etc/shoal/cluster.key)`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if tokenOf != "" {
				key, err := gossip.ReadKeyFile(tokenOf)
				if err != nil {
					return err
				}
				fmt.Fprintln(cmd.OutOrStdout(), APIToken(key))
				return nil
			}
			key, err := gossip.GenerateKey()
			if err != nil {
				return err
			}
			if out == "" {
				fmt.Fprintln(cmd.OutOrStdout(), gossip.EncodeKey(key))
				return nil
			}
			if err := gossip.WriteKeyFile(out, key); err != nil {
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "wrote a new cluster key to %s\n", out)
			return nil
		},
	}
	cmd.Flags().StringVar(&out, "out", "", "file to write the key to (must not exist)")
	cmd.Flags().StringVar(&tokenOf, "print-token", "", "print the API token derived from this cluster key file instead")
	return cmd
}
