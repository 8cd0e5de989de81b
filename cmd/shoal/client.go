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
// exec, status, port-forward, proxy, ...), which talk to a node's HTTP API.
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
		newPreviewsCommand(now),
		newRolloutCommand(),
		newQuarantineCommand(),
		newDeleteCommand(),
		newPortForwardCommand(),
		newProxyCommand(),
		newPlanCommand(),
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
	o.bindServer(cmd)
	_ = cmd.RegisterFlagCompletionFunc("namespace", func(cmd *cobra.Command, _ []string, _ string) ([]string, cobra.ShellCompDirective) {
		return o.completeNamespaces(cmd.Context())
	})
}

// bindPod binds the flags of a command whose first argument is a pod (or
// names one), completes that argument, and runs run with it and the
// other arguments.
func (o *connectOptions) bindPod(cmd *cobra.Command, run func(cmd *cobra.Command, pod string, rest []string) error) {
	o.bind(cmd)
	cmd.ValidArgsFunction = func(cmd *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
		return o.completePods(cmd.Context(), args)
	}
	cmd.RunE = func(cmd *cobra.Command, args []string) error { return run(cmd, args[0], args[1:]) }
}

// bindServer binds the flags that name the node API, for a command
// without a namespace.
func (o *connectOptions) bindServer(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&o.server, "server", "", "address of the node API, host:port (default: $SHOAL_SERVER, else "+defaultServer+")")
	f.StringVar(&o.token, "token", "", "bearer token for the node API (default: $SHOAL_TOKEN)")
}

// credentials returns the node API's address and the bearer token the
// flags and environment give.
func (o *connectOptions) credentials() (server, token string) {
	server, token = o.server, o.token
	if server == "" {
		server = os.Getenv("SHOAL_SERVER")
	}
	if server == "" {
		server = defaultServer
	}
	if token == "" {
		token = os.Getenv("SHOAL_TOKEN")
	}
	return server, token
}

// client returns a client of the node API the flags and environment name.
func (o *connectOptions) client() (*api.Client, error) {
	server, token := o.credentials()
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
