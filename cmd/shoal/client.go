package main

import (
	"context"
	"os"
	"time"

	"github.com/shoal-run/shoal/nodeagent/api"
	"github.com/spf13/cobra"
)

// defaultServer is the node API the client commands talk to when neither
// --server nor SHOAL_SERVER says otherwise: the local node.
const defaultServer = "127.0.0.1:7947"

// clientCommands are the command-line client's verbs (get, describe, logs,
// exec, status), which talk to a node's HTTP API.
func clientCommands() []*cobra.Command {
	return newClientCommands(time.Now, time.Local)
}

// newClientCommands builds the client verbs with the clock (for ages) and
// the time zone (for describe's dates) they print with.
func newClientCommands(now func() time.Time, loc *time.Location) []*cobra.Command {
	return []*cobra.Command{
		newGetCommand(now),
		newDescribeCommand(now, loc),
		newLogsCommand(),
		newExecCommand(),
		newStatusCommand(now),
		newRolloutCommand(),
		newQuarantineCommand(),
		newDeleteCommand(),
	}
}

// connectOptions are the flags every client command takes.
type connectOptions struct {
	namespace string
	server    string
	token     string
}

func (o *connectOptions) bind(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVarP(&o.namespace, "namespace", "n", "default", "namespace of the pods")
	f.StringVar(&o.server, "server", "", "address of the node API, host:port (default: $SHOAL_SERVER, else "+defaultServer+")")
	f.StringVar(&o.token, "token", "", "bearer token for the node API (default: $SHOAL_TOKEN)")
	_ = cmd.RegisterFlagCompletionFunc("namespace", func(cmd *cobra.Command, _ []string, _ string) ([]string, cobra.ShellCompDirective) {
		return o.completeNamespaces(cmd.Context())
	})
}

// client returns a client of the node API the flags and environment name.
func (o *connectOptions) client() (*api.Client, error) {
	server := o.server
	if server == "" {
		server = os.Getenv("SHOAL_SERVER")
	}
	if server == "" {
		server = defaultServer
	}
	token := o.token
	if token == "" {
		token = os.Getenv("SHOAL_TOKEN")
	}
	return api.NewClient(server, api.ClientOptions{Token: token})
}

// completionTimeout bounds the API calls made to complete a command line.
const completionTimeout = 2 * time.Second

// completePods lists the names of the namespace's pods for shell
// completion (nothing once one pod is named).
func (o *connectOptions) completePods(ctx context.Context, args []string) ([]string, cobra.ShellCompDirective) {
	if len(args) > 0 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	return podKind.complete(ctx, o), cobra.ShellCompDirectiveNoFileComp
}

func (o *connectOptions) completeNamespaces(ctx context.Context) ([]string, cobra.ShellCompDirective) {
	seen := map[string]bool{}
	var names []string
	for _, p := range podKind.completionList(ctx, o, "") {
		if !seen[p.Namespace] {
			seen[p.Namespace] = true
			names = append(names, p.Namespace)
		}
	}
	return names, cobra.ShellCompDirectiveNoFileComp
}

// interrupted is the exit status of a command stopped by Ctrl-C (128+SIGINT,
// as a shell reports a process killed by it).
const interrupted = 130
