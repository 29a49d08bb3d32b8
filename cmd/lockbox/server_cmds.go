package main

import "github.com/spf13/cobra"

// addServerCommands adds the commands that run a server (serve, demo)
// rather than talk to one.
func addServerCommands(root *cobra.Command) {
	root.AddCommand(serverCommands()...)
}
